# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import compare

# ----------------------------------------------------------------------------------------------
# JCasC
# ----------------------------------------------------------------------------------------------

CASC_EQUAL = [
    # (id, desired, live)
    ("identical", {"jenkins": {"numExecutors": 0}}, {"jenkins": {"numExecutors": 0}}),
    ("int vs string", {"jenkins": {"numExecutors": 2}}, {"jenkins": {"numExecutors": "2"}}),
    ("bool vs string", {"a": {"b": True}}, {"a": {"b": "true"}}),
    ("case-insensitive keys", {"jenkins": {"systemMessage": "hi"}}, {"jenkins": {"systemmessage": "hi"}}),
    ("extra live keys ignored", {"jenkins": {"systemMessage": "hi"}},
     {"jenkins": {"systemMessage": "hi", "mode": "NORMAL", "labelString": ""}, "tool": {}}),
    ("symbol scalar vs mapping", {"c": {"podRetention": "never"}}, {"c": {"podRetention": {"never": {}}}}),
    ("symbol mapping vs scalar", {"c": {"podRetention": {"onFailure": {}}}}, {"c": {"podRetention": "onFailure"}}),
    ("symbol case", {"c": {"podRetention": "OnFailure"}}, {"c": {"podRetention": {"onFailure": None}}}),
    ("symbol with empty fields vs scalar", {"c": {"s": {"merge": {"x": False}}}}, {"c": {"s": "merge"}}),
    ("empty section", {"c": {}}, {"c": {}}),
    ("missing false equals default", {"c": {"webSocket": False}}, {"c": {}}),
    ("missing empty string", {"c": {"jenkinsTunnel": ""}}, {"c": {}}),
    ("missing empty list", {"c": {"podLabels": []}}, {"c": {}}),
    ("secret not compared", {"c": {"password": "plain"}}, {"c": {"password": "{AQAAABAAAAAQabcdefghijklmnopqrstuv=}"}}),
    ("interpolated not compared", {"c": {"jenkinsUrl": "${JENKINS_URL}"}}, {"c": {"jenkinsUrl": "http://x:8080"}}),
    ("escaped literal", {"t": {"args": "^${computer.jnlpmac} ^${computer.name}"}},
     {"t": {"args": "${computer.jnlpmac} ${computer.name}"}}),
    ("list subset by name, other items ignored",
     {"jenkins": {"clouds": [{"kubernetes": {"name": "k8s", "namespace": "ci"}}]}},
     {"jenkins": {"clouds": [{"docker": {"name": "d"}}, {"kubernetes": {"name": "k8s", "namespace": "ci", "x": 1}}]}}),
    ("list of mappings keeps relative order",
     {"l": [{"name": "a"}, {"name": "b"}]}, {"l": [{"name": "a"}, {"name": "x"}, {"name": "b"}]}),
    ("list items without identity",
     {"v": [{"hostPathVolume": {"hostPath": "/a", "mountPath": "/b"}}]},
     {"v": [{"hostPathVolume": {"hostPath": "/a", "mountPath": "/b", "readOnly": False}}]}),
    ("scalar list", {"l": ["a", "b"]}, {"l": ["a", "b"]}),
    ("id given, live matched by name when it has no id", {"t": [{"id": "abc", "name": "n", "label": "x"}]},
     {"t": [{"name": "n", "label": "x"}]}),
    ("float integer", {"a": 5.0}, {"a": "5"}),
]

CASC_DIFFERENT = [
    ("scalar changed", {"jenkins": {"numExecutors": 2}}, {"jenkins": {"numExecutors": 0}}, "/jenkins/numExecutors"),
    ("missing key", {"jenkins": {"systemMessage": "hi"}}, {"jenkins": {}}, "/jenkins/systemMessage"),
    ("missing true", {"c": {"webSocket": True}}, {"c": {}}, "/c/webSocket"),
    ("symbol changed", {"c": {"podRetention": "always"}}, {"c": {"podRetention": {"never": {}}}}, "/c/podRetention"),
    ("symbol mapping changed", {"c": {"podRetention": {"always": {}}}}, {"c": {"podRetention": "never"}}, "/c/podRetention"),
    ("symbol with fields vs scalar", {"c": {"s": {"merge": {"x": True}}}}, {"c": {"s": "merge"}}, "/c/s/merge/x"),
    ("polymorphic type changed", {"v": [{"hostPathVolume": {"hostPath": "/a"}}]},
     {"v": [{"emptyDirVolume": {"mountPath": "/a"}}]}, "/v[0]"),
    ("list item missing", {"l": [{"name": "a"}, {"name": "b"}]}, {"l": [{"name": "a"}]}, "/l[1]"),
    ("list order", {"l": [{"name": "b"}, {"name": "a"}]}, {"l": [{"name": "a"}, {"name": "b"}]}, "/l[1]"),
    ("list item field", {"l": [{"name": "a", "v": 1}]}, {"l": [{"name": "a", "v": 2}]}, "/l[0]/v"),
    ("id differs", {"t": [{"id": "new", "name": "n"}]}, {"t": [{"id": "old", "name": "n"}]}, "/t[0]"),
    ("scalar list order", {"l": ["a", "b"]}, {"l": ["b", "a"]}, "/l"),
    ("map vs scalar", {"a": {"b": 1}}, {"a": "x"}, "/a"),
    ("secret equal text is fine but other key differs", {"c": {"n": "1"}}, {"c": {"n": "2"}}, "/c/n"),
]


@pytest.mark.parametrize("desired, live", [c[1:] for c in CASC_EQUAL], ids=[c[0] for c in CASC_EQUAL])
def test_casc_differences_none(desired, live):
    assert not compare.casc_differences(desired, live), compare.casc_differences(desired, live).describe()


@pytest.mark.parametrize("desired, live, path", [c[1:] for c in CASC_DIFFERENT], ids=[c[0] for c in CASC_DIFFERENT])
def test_casc_differences_found(desired, live, path):
    diff = compare.casc_differences(desired, live)
    assert diff
    assert path in [item[0] for item in diff.items], diff.describe()


def test_casc_differences_reports_not_compared():
    diff = compare.casc_differences({"c": {"password": "x", "url": "${U}"}},
                                    {"c": {"password": "{AQAAABAAAAAQ0123456789abcdef==}", "url": "http://u"}})
    assert not diff
    assert diff.warnings() == ["/c/password: secret not compared", "/c/url: interpolated value not compared"]


@pytest.mark.parametrize("desired, live, defaults, different", [
    ({"connectTimeout": 5}, {}, {"connectTimeout": 5}, False),
    ({"connectTimeout": 6}, {}, {"connectTimeout": 5}, True),
    ({"podRetention": "never"}, {}, {"podRetention": "never"}, False),
    ({"readTimeout": "15"}, {}, {"READTIMEOUT": 15}, False),
    ({"readTimeout": 15}, {}, {}, True),
    ({"podRetention": "default"}, {}, {"podRetention": ("never", "default")}, False),
    ({"podRetention": "always"}, {}, {"podRetention": ("never", "default")}, True),
])
def test_casc_differences_defaults(desired, live, defaults, different):
    assert bool(compare.casc_differences(desired, live, defaults)) is different


@pytest.mark.parametrize("left, right, equal", [
    ({"a": 1}, {"A": "1"}, True),
    ({"a": {"never": {}}}, {"a": "never"}, True),
    ({"a": 1}, {"a": 1, "b": 2}, False),
    ({"l": [1, 2]}, {"l": [2, 1]}, False),
    (None, None, True),
    (None, {}, False),
])
def test_casc_equal(left, right, equal):
    assert compare.casc_equal(left, right) is equal


def test_casc_project_keeps_only_desired_parts():
    desired = {"jenkins": {"clouds": [{"kubernetes": {"name": "k8s", "namespace": "a"}}]}}
    clouds = [{"docker": {"name": "d"}}, {"kubernetes": {"name": "k8s", "namespace": "b", "x": 1}}]
    live = {"jenkins": {"numExecutors": 0, "clouds": clouds}, "tool": {"git": {}}}
    assert compare.casc_project(desired, live) == {
        "jenkins": {"clouds": [{"kubernetes": {"name": "k8s", "namespace": "b"}}]}}


def test_casc_project_missing_parts():
    assert compare.casc_project({"jenkins": {"systemMessage": "x"}}, {"tool": {}}) == {}


@pytest.mark.parametrize("value, expected", [
    (None, ""), (True, "true"), (False, "false"), (5, "5"), (5.0, "5"), (5.5, "5.5"), ("x", "x"),
])
def test_scalar_text(value, expected):
    assert compare.scalar_text(value) == expected


@pytest.mark.parametrize("value, expected", [
    ({"a": 1}, {"a": "1"}), (True, "true"), (None, None), (5.0, "5"), ([{"x": False}], [{"x": "false"}]),
])
def test_normalise_casc(value, expected):
    assert compare.normalise_casc(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("never", "never"), ({"never": {}}, "NEVER"), ({"x": None}, "x"), ({"x": {"a": 1}}, None),
    ({"a": {}, "b": {}}, None), ("", None), (["x"], None),
])
def test_symbol_of(value, expected):
    assert compare.symbol_of(value) == expected


# ----------------------------------------------------------------------------------------------
# Job config.xml
# ----------------------------------------------------------------------------------------------

BASE = """<?xml version='1.1' encoding='UTF-8'?>
<project>
  <description>smoke</description>
  <keepDependencies>false</keepDependencies>
  <properties/>
  <scm class="hudson.scm.NullSCM"/>
  <assignedNode>k8s</assignedNode>
  <canRoam>false</canRoam>
  <disabled>false</disabled>
  <triggers/>
  <concurrentBuild>false</concurrentBuild>
  <builders>
    <hudson.tasks.Shell>
      <command>echo one</command>
    </hudson.tasks.Shell>
    <hudson.tasks.Shell>
      <command>echo two</command>
    </hudson.tasks.Shell>
  </builders>
  <publishers/>
  <buildWrappers/>
</project>
"""

XML_EQUAL = [
    ("prolog 1.0 vs 1.1", BASE.replace("version='1.1'", 'version="1.0"')),
    ("no prolog", BASE.split("\n", 1)[1]),
    ("whitespace", BASE.replace("\n  ", "\n      ").replace("<command>echo one</command>", "<command>\n echo one \n</command>")),
    ("plugin attribute", BASE.replace('<hudson.tasks.Shell>', '<hudson.tasks.Shell plugin="shell@1.0">', 1)
     .replace("<project>", '<project plugin="core@2.578">')),
    ("empty vs self-closed", BASE.replace("<triggers/>", "<triggers></triggers>")),
    ("default elements added", BASE.replace("<triggers/>", "<triggers/>\n  <blockBuildWhenDownstreamBuilding>false"
                                                           "</blockBuildWhenDownstreamBuilding>\n  <actions/>")),
    ("default elements removed", BASE.replace("  <keepDependencies>false</keepDependencies>\n", "")
     .replace('  <scm class="hudson.scm.NullSCM"/>\n', "")),
    ("field order", BASE.replace("  <assignedNode>k8s</assignedNode>\n", "").replace(
        "<publishers/>", "<publishers/>\n  <assignedNode>k8s</assignedNode>")),
    ("entities", BASE.replace("echo one", "echo &#x6f;ne")),
]

XML_DIFFERENT = [
    ("step order", BASE.replace("echo one", "echo TMP").replace("echo two", "echo one").replace("echo TMP", "echo two")),
    ("label", BASE.replace("<assignedNode>k8s</assignedNode>", "<assignedNode>other</assignedNode>")),
    ("true flag", BASE.replace("<disabled>false</disabled>", "<disabled>true</disabled>")),
    ("description", BASE.replace("smoke", "other")),
    ("scm", BASE.replace('<scm class="hudson.scm.NullSCM"/>', '<scm class="hudson.plugins.git.GitSCM"/>')),
    ("step removed", BASE.replace("<hudson.tasks.Shell>\n      <command>echo two</command>\n    </hudson.tasks.Shell>", "")),
]


@pytest.mark.parametrize("other", [c[1] for c in XML_EQUAL], ids=[c[0] for c in XML_EQUAL])
def test_job_xml_equal(other):
    assert compare.normalise_job_xml(BASE) == compare.normalise_job_xml(other)
    assert compare.job_xml_equal(other, BASE)


@pytest.mark.parametrize("other", [c[1] for c in XML_DIFFERENT], ids=[c[0] for c in XML_DIFFERENT])
def test_job_xml_different(other):
    assert not compare.job_xml_equal(BASE, other)


def test_normalise_job_xml_output_is_readable():
    text = compare.normalise_job_xml(BASE)
    assert text.startswith("<project>\n  <assignedNode>k8s</assignedNode>")
    assert "plugin=" not in text and "<?xml" not in text
    assert "<command>echo one</command>" in text


def test_parse_job_xml_error():
    with pytest.raises(ValueError, match="not well-formed"):
        compare.parse_job_xml("<project><a></project>")


@pytest.mark.parametrize("xml, default", [
    ("<x/>", True), ("<x>false</x>", True), ("<x> </x>", True), ("<x>true</x>", False), ("<x>0</x>", False),
    ('<x class="a"/>', False), ('<scm class="hudson.scm.NullSCM"/>', True), ("<x><y/></x>", False),
    ('<x plugin="p@1"/>', True),
])
def test_is_default_leaf(xml, default):
    import xml.etree.ElementTree as ET
    assert compare._is_default_leaf(ET.fromstring(xml)) is default
