# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX survey tables in docs/docsite/rst/awx.rst agree with the roles' argument specs.

Each survey row names a variable and an AWX survey type; the variable must be an option of that
job template's role (meta/argument_specs.yml, entry point main) and the survey type must fit its
type: str -> text/textarea/password (multiplechoice only with choices), int -> integer,
bool -> multiplechoice (true/false). Every playbook named as a job template must exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
AWX_RST = ROOT / "docs" / "docsite" / "rst" / "awx.rst"

ROLE_REF = re.compile(r":ansplugin:`kubeops\.jenkins\.(\w+)#role`")
ROW_VAR = re.compile(r"^   \* - ``(\w+)``\s*$")
ROW_CELL = re.compile(r"^     - (.+?)\s*$")


def survey_rows():
    rows, playbook, role = [], None, None
    lines = AWX_RST.read_text().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^Playbook ``kubeops\.jenkins\.(\w+)``", line)
        if m:
            playbook = m.group(1)
            ref = ROLE_REF.search(line + " " + lines[i + 1])
            role = ref.group(1) if ref else None
            continue
        m = ROW_VAR.match(line)
        if m and role:
            survey = ROW_CELL.match(lines[i + 1]).group(1)
            rows.append((playbook, role, m.group(1), survey))
    return rows


ROWS = survey_rows()


def _options(role):
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


def test_every_job_template_has_a_survey():
    playbooks = {row[0] for row in ROWS}
    assert playbooks == {"controller", "kubeconfig", "kubernetes_cloud", "smoke_build"}
    for playbook in playbooks | {"site"}:
        assert (ROOT / "playbooks" / f"{playbook}.yml").is_file()


@pytest.mark.parametrize("playbook,role,var,survey", ROWS, ids=[r[2] for r in ROWS])
def test_survey_row_matches_argument_spec(playbook, role, var, survey):
    options = _options(role)
    assert var in options, f"{var} is not an option of role {role}"
    option = options[var]
    kind = option.get("type", "str")
    if kind == "bool":
        assert survey == "multiplechoice (``true``/``false``)"
    elif kind == "int":
        assert survey == "integer"
    elif kind == "str" and option.get("choices"):
        assert survey == "multiplechoice"
    elif kind == "str":
        assert survey in ("text", "textarea", "password")
    else:
        pytest.fail(f"{var}: type {kind} has no survey type; keep it out of the survey tables")
    if survey == "password":
        assert option.get("no_log", True) is not False
