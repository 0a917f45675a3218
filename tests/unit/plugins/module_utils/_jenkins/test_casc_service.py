# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import casc_service as cs
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import KubeError
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_jenkins import (  # pylint: disable=unused-import
    answer, fake_jenkins, make_client)
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_kube import FakeKube


@pytest.mark.parametrize("status, body, message", [
    (200, [{"line": 4, "message": "Invalid configuration elements"}], "line 4: Invalid configuration elements"),
    (400, [{"line": -1, "message": "Request body cannot be empty."}], ": Request body cannot be empty."),
    (200, [{"line": 2, "message": "a"}, {"line": 5, "message": "b"}], "line 2: a; line 5: b"),
    (400, "<html><body>boom</body></html>", "boom"),
])
def test_check_failures(fake_jenkins, status, body, message):
    fake_jenkins.on("POST", "/configuration-as-code/check",
                    answer(status, body, content_type=None if not isinstance(body, str) else "text/html"))
    with pytest.raises(cs.CascError) as info:
        cs.check(make_client(fake_jenkins), "jenkins: {}\n", "JCasC document 'x'")
    assert str(info.value).startswith("Failed to validate JCasC document 'x': ")
    assert message in str(info.value)


def test_check_ok(fake_jenkins):
    fake_jenkins.on("POST", "/configuration-as-code/check", answer(200, []))
    cs.check(make_client(fake_jenkins), "jenkins: {}\n", "x")
    assert fake_jenkins.requests[0].headers["Content-Type"].startswith("application/x-yaml")


@pytest.mark.parametrize("status, body, expected", [
    (302, "", None),
    (200, "<html><head><title>Error loading configuration</title></head><body><div id='main-panel'>"
          "<h1>Error loading configuration</h1><p>No configurator for the following root elements: jenkinss</p>"
          "</div></body></html>", "No configurator for the following root elements: jenkinss"),
])
def test_reload(fake_jenkins, status, body, expected):
    fake_jenkins.on("POST", "/configuration-as-code/reload", answer(status, body, content_type="text/html"))
    assert cs.reload(make_client(fake_jenkins)) == expected


def test_reload_forbidden_raises(fake_jenkins):
    fake_jenkins.on("POST", "/configuration-as-code/reload", answer(403, "<html><body>admin is missing the "
                                                                         "Overall/Manage permission</body></html>",
                                                                    content_type="text/html"))
    with pytest.raises(cs.JenkinsError, match="Failed to reload configuration-as-code: HTTP 403"):
        cs.reload(make_client(fake_jenkins))


@pytest.mark.parametrize("name, ok", [("base", True), ("cloud-kubernetes", True), (".x", False), ("a/b", False),
                                      ("", False), ("a b", False)])
def test_document_key(name, ok):
    if ok:
        assert cs.document_key(name) == name + ".yaml"
    else:
        with pytest.raises(cs.CascInputError):
            cs.document_key(name)


@pytest.mark.parametrize("config, expected", [
    ({"jenkins": {"a": 1}}, {"jenkins": {"a": 1}}),
    ("jenkins:\n  a: 1\n", {"jenkins": {"a": 1}}),
])
def test_parse_config(config, expected):
    assert cs.parse_config(config) == expected


def test_configmap_set_key_creates_then_patches_and_removes():
    kube = FakeKube()
    assert kube.read_configmap_data("ns", "cm") is None
    del kube.fake_core.calls[:]
    kube.set_configmap_key("ns", "cm", "a.yaml", "x: 1\n")
    assert kube.fake_core.calls == ["patch", "create"]
    assert kube.fake_core.configmaps[("ns", "cm")]["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubeops.jenkins"}
    kube.set_configmap_key("ns", "cm", "b.yaml", "y: 2\n")
    assert kube.read_configmap_data("ns", "cm") == {"a.yaml": "x: 1\n", "b.yaml": "y: 2\n"}
    kube.set_configmap_key("ns", "cm", "a.yaml", None)
    assert kube.read_configmap_data("ns", "cm") == {"b.yaml": "y: 2\n"}
    assert kube.set_configmap_key("ns", "missing", "a.yaml", None) is None
    assert ("ns", "missing") not in kube.fake_core.configmaps


def test_kube_error_message():
    kube = FakeKube()
    kube.fake_core.forbidden = True
    with pytest.raises(KubeError) as info:
        kube.set_configmap_key("ns", "cm", "a.yaml", "x")
    assert str(info.value).startswith("Failed to update key a.yaml of ConfigMap ns/cm: HTTP 403 Forbidden: configmaps")
