# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import job_service
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.compare import parse_job_xml


def _root(spec):
    return parse_job_xml(job_service.render_freestyle(spec))


def test_render_minimal_runs_anywhere():
    root = _root({})
    assert root.tag == "project"
    assert root.find("canRoam").text == "true" and root.find("assignedNode") is None
    assert root.find("scm").get("class") == "hudson.scm.NullSCM"
    assert job_service.render_freestyle({}).startswith("<?xml version='1.1' encoding='UTF-8'?>")


def test_render_label_and_steps():
    root = _root({"label": "haimaxy-jnlp", "shell": ["docker info", "kubectl get pods"], "concurrent": True,
                  "disabled": True, "description": "d"})
    assert root.find("assignedNode").text == "haimaxy-jnlp" and root.find("canRoam").text == "false"
    assert [c.text for c in root.findall("builders/hudson.tasks.Shell/command")] == ["docker info", "kubectl get pods"]
    assert root.find("concurrentBuild").text == "true" and root.find("disabled").text == "true"
    assert root.find("description").text == "d"


def test_render_parameters():
    root = _root({"parameters": [
        {"name": "S", "type": "string", "default": "x", "description": "s"},
        {"name": "B", "type": "boolean", "default": "yes"},
        {"name": "C", "type": "choice", "choices": ["a", "b"]},
        {"name": "T", "type": "text"},
    ]})
    defs = root.find("properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions")
    assert [d.tag for d in defs] == ["hudson.model.StringParameterDefinition", "hudson.model.BooleanParameterDefinition",
                                     "hudson.model.ChoiceParameterDefinition", "hudson.model.TextParameterDefinition"]
    assert defs[0].find("defaultValue").text == "x" and defs[0].find("trim").text == "false"
    assert defs[1].find("defaultValue").text == "true"
    assert [s.text for s in defs[2].findall("choices/a/string")] == ["a", "b"]
    assert defs[3].find("defaultValue").text is None


def test_render_build_discarder():
    root = _root({"build_discarder": {"days_to_keep": 3}})
    strategy = root.find("properties/jenkins.model.BuildDiscarderProperty/strategy")
    assert strategy.get("class") == "hudson.tasks.LogRotator"
    assert strategy.find("daysToKeep").text == "3" and strategy.find("numToKeep").text == "-1"


@pytest.mark.parametrize("name, path", [
    ("smoke", "/job/smoke"), ("folder/smoke", "/job/folder/job/smoke"), ("a b", "/job/a%20b"),
])
def test_job_path(name, path):
    assert job_service.job_path(name) == path


@pytest.mark.parametrize("name", ["", "a//b", "../x", "a?b", " a", "x:y"])
def test_validate_name_rejects(name):
    with pytest.raises(job_service.JobSpecError):
        job_service.validate_name(name)


def test_render_escapes_xml():
    text = job_service.render_freestyle({"shell": ["echo '<a>' && true"]})
    assert ET.fromstring(text.split("\n", 1)[1]).find("builders/hudson.tasks.Shell/command").text == "echo '<a>' && true"
