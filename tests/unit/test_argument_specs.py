# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/argument_specs.yml is each role's single documented interface: its keys must equal the keys
of defaults/main.yml, every option must be documented and typed, and documented defaults must be the
real ones (STYLE.md §4, the prometheus.prometheus check)."""

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file())
TYPES = {"str", "int", "bool", "dict", "list", "path", "raw", "float"}


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def spec(role):
    return load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]


def defaults(role):
    return load(ROLES_DIR / role / "defaults" / "main.yml")


def test_every_public_role_has_a_spec():
    public = sorted(p.name for p in ROLES_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))
    assert public == ROLES


@pytest.mark.parametrize("role", ROLES)
def test_spec_keys_equal_defaults_keys(role):
    options = set(spec(role)["main"]["options"])
    default_keys = set(defaults(role))
    assert options - default_keys == set(), "documented but missing from defaults/main.yml"
    assert default_keys - options == set(), "in defaults/main.yml but not documented in meta/argument_specs.yml"


@pytest.mark.parametrize("role", ROLES)
def test_documented_defaults_are_the_real_ones(role):
    real = defaults(role)
    for name, option in spec(role)["main"]["options"].items():
        assert option.get("default") == real[name], name


@pytest.mark.parametrize("role", ROLES)
def test_options_are_documented_typed_and_consistent(role):
    for entry_name, entry in spec(role).items():
        assert entry.get("short_description"), entry_name
        for name, option in entry.get("options", {}).items():
            assert option.get("description"), "%s.%s has no description" % (entry_name, name)
            assert option.get("type") in TYPES, "%s.%s type %r" % (entry_name, name, option.get("type"))
            if option["type"] == "list":
                assert option.get("elements") in TYPES, "%s.%s needs elements" % (entry_name, name)
            choices = option.get("choices")
            default = option.get("default")
            if choices and default is not None and not (isinstance(default, str) and "{{" in default):
                values = default if isinstance(default, list) else [default]
                assert set(values) <= set(choices), "%s.%s default %r not in choices" % (entry_name, name, default)


@pytest.mark.parametrize("role", ROLES)
def test_variables_are_prefixed(role):
    for name in defaults(role):
        assert name.startswith(role + "_"), name
    for entry in spec(role).values():
        for name in entry.get("options", {}):
            assert name.startswith(role + "_"), name
    internal = ROLES_DIR / role / "vars" / "main.yml"
    if internal.is_file():
        for name in load(internal):
            assert name.startswith("__" + role + "_"), name


@pytest.mark.parametrize("role", ROLES)
def test_main_only_includes_tagged_phases(role):
    tasks = load(ROLES_DIR / role / "tasks" / "main.yml")

    def includes(items):
        for task in items:
            if "block" in task:
                yield from includes(task["block"])
            else:
                yield task

    found = list(includes(tasks))
    assert found
    for task in found:
        action = next(k for k in task if k.startswith("ansible.builtin."))
        assert action in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks"), task
        tags = task.get("tags", [])
        assert tags and all(t.startswith(role + "_") for t in tags), task
        assert (ROLES_DIR / role / "tasks" / task[action]).is_file(), task[action]
