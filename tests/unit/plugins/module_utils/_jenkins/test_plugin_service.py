# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import plugin_service as ps


@pytest.mark.parametrize("older, newer", [
    ("1.0", "1.1"), ("1.9", "1.10"), ("4423.vb_59f230b_ce53", "4540.v612369217f87"), ("1.0-beta", "1.0.1"),
    ("2.0", "2.0.1"), ("6.10.0-240.v57880ce8b_0b_2", "6.10.0-241.v1"),
])
def test_is_older(older, newer):
    assert ps.is_older(older, newer)
    assert not ps.is_older(newer, older)


@pytest.mark.parametrize("names, expected", [
    (["git"], {"git": None}),
    (["git@5.0", "kubernetes"], {"git": "5.0", "kubernetes": None}),
    (["git@latest"], {"git": None}),
    ([" git ", "git"], {"git": None}),
])
def test_parse_specs(names, expected):
    assert ps.parse_specs(names) == expected


@pytest.mark.parametrize("names", [["git@"], ["@1"], ["g it"], ["a@1@2"], ["git@1", "git@2"], []])
def test_parse_specs_rejects(names):
    with pytest.raises(ps.PluginSpecError):
        ps.parse_specs(names)


INSTALLED = {"git": {"version": "5.0", "hasUpdate": True}, "ant": {"version": "1.0", "hasUpdate": False}}


@pytest.mark.parametrize("wanted, state, available, install, upgrade, remove", [
    ({"git": None}, "present", None, {}, {}, []),
    ({"git": "5.1"}, "present", None, {}, {"git": "5.1"}, []),
    ({"git": "4.0"}, "present", None, {}, {}, []),
    ({"new": None}, "present", None, {"new": None}, {}, []),
    ({"git": None}, "latest", {"git": "5.7"}, {}, {"git": "5.7"}, []),
    ({"ant": None}, "latest", {"git": "5.7"}, {}, {}, []),
    ({"git": None, "none": None}, "absent", None, {}, {}, ["git"]),
])
def test_plan(wanted, state, available, install, upgrade, remove):
    todo = ps.plan(wanted, INSTALLED, state, available)
    assert (todo["install"], todo["upgrade"], todo["remove"]) == (install, upgrade, remove)


def test_install_document_escapes_and_defaults_to_latest():
    doc = ps.install_document({"git": None, "k": "1.0"})
    assert doc == '<jenkins>\n  <install plugin="git@latest"/>\n  <install plugin="k@1.0"/>\n</jenkins>\n'


def test_plan_latest_without_site_version_warns():
    todo = ps.plan({"git": None}, INSTALLED, "latest", {})
    assert todo["upgrade"] == {} and "list no newer version than 5.0" in todo["warnings"][0]
