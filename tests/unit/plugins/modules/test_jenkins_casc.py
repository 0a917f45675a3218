# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
import yaml

from ansible_collections.kubeops.jenkins.plugins.modules import jenkins_casc
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_jenkins import (  # pylint: disable=unused-import
    fake_jenkins, run_module)
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_kube import FakeCascJenkins, FakeKube

CM = ("kube-ops", "jenkins-casc-managed")


@pytest.fixture
def kube(monkeypatch):
    k = FakeKube()
    monkeypatch.setattr(jenkins_casc, "KubeAccess", lambda kubeconfig, context: k)
    return k


@pytest.fixture
def casc(fake_jenkins, kube):
    return FakeCascJenkins(fake_jenkins, kube, sync_delay=1)


DOC = {"jenkins": {"systemMessage": "Managed by Ansible", "numExecutors": 2}}


def _key(kube, key="base.yaml"):
    return ((kube.fake_core.configmaps.get(CM) or {}).get("data") or {}).get(key)


def test_cycle(fake_jenkins, kube, casc):
    args = dict(name="base", config=DOC)
    result, failed = run_module(jenkins_casc.main, args, check_mode=True, diff=True)
    assert not failed and result["changed"]
    assert fake_jenkins.mutating() == [] and kube.fake_core.configmaps == {}
    assert "from the chart" in result["diff"]["before"] and "Managed by Ansible" in result["diff"]["after"]
    # real run: ConfigMap created, reload repeated until the kubelet synced, export verified
    result, failed = run_module(jenkins_casc.main, args)
    assert not failed, result
    assert result["changed"] and yaml.safe_load(_key(kube)) == DOC
    assert casc.running["jenkins"]["systemMessage"] == "Managed by Ansible"
    assert casc.reloads == 2 and fake_jenkins.clock.sleeps == [2.0]
    assert result["export"]["jenkins"]["numExecutors"] == 2
    assert result["configmap"] == {"namespace": "kube-ops", "name": "jenkins-casc-managed", "key": "base.yaml"}
    # again: nothing written, nothing reloaded
    count, calls = len(fake_jenkins.mutating()), len(kube.fake_core.calls)
    result, failed = run_module(jenkins_casc.main, dict(args, config=yaml.safe_dump(DOC)))
    assert not failed and not result["changed"]
    assert len(fake_jenkins.mutating()) == count and kube.fake_core.calls[calls:] == ["get"]
    # modify
    changed = {"jenkins": {"systemMessage": "v2"}}
    result, failed = run_module(jenkins_casc.main, dict(args, config=changed), check_mode=True, diff=True)
    assert result["changed"] and len(fake_jenkins.mutating()) == count
    assert "Managed by Ansible" in result["diff"]["before"] and "v2" in result["diff"]["after"]
    result, failed = run_module(jenkins_casc.main, dict(args, config=changed))
    assert result["changed"] and casc.running["jenkins"]["systemMessage"] == "v2"
    # numExecutors back from the chart's source: the document no longer sets it
    assert casc.running["jenkins"]["numExecutors"] == 0
    result, failed = run_module(jenkins_casc.main, dict(args, config=changed))
    assert not result["changed"]
    # delete
    count = len(fake_jenkins.mutating())
    result, failed = run_module(jenkins_casc.main, dict(name="base", state="absent"), check_mode=True)
    assert result["changed"] and _key(kube) is not None and len(fake_jenkins.mutating()) == count
    result, failed = run_module(jenkins_casc.main, dict(name="base", state="absent"))
    assert result["changed"] and _key(kube) is None
    result, failed = run_module(jenkins_casc.main, dict(name="base", state="absent"))
    assert not failed and not result["changed"]


def test_other_keys_untouched(fake_jenkins, kube, casc):
    kube.fake_core.configmaps[CM] = {"metadata": {"name": CM[1]}, "data": {"cloud-kubernetes.yaml": "jenkins: {}\n"}}
    result, failed = run_module(jenkins_casc.main, dict(name="base", config=DOC))
    assert not failed
    assert kube.fake_core.configmaps[CM]["data"]["cloud-kubernetes.yaml"] == "jenkins: {}\n"


def test_live_drift_is_a_change(fake_jenkins, kube, casc):
    run_module(jenkins_casc.main, dict(name="base", config=DOC))
    casc.running["jenkins"]["systemMessage"] = "changed in the UI"
    result, failed = run_module(jenkins_casc.main, dict(name="base", config=DOC), check_mode=True)
    assert result["changed"]
    result, failed = run_module(jenkins_casc.main, dict(name="base", config=DOC))
    assert result["changed"] and casc.running["jenkins"]["systemMessage"] == "Managed by Ansible"


def test_check_rejects_before_any_change(fake_jenkins, kube, casc):
    bad = "jenkins:\n  systemMessage: x\n  unknownKey: 1\n"
    result, failed = run_module(jenkins_casc.main, dict(name="base", config=bad))
    assert failed
    assert result["msg"].startswith("Failed to validate JCasC document 'base': line 3: Invalid configuration elements")
    assert fake_jenkins.mutating() == [] and kube.fake_core.configmaps == {}


def test_reload_error_restores_previous(fake_jenkins, kube, casc):
    run_module(jenkins_casc.main, dict(name="base", config=DOC))
    previous = _key(kube)
    casc.sync_delay = 0
    result, failed = run_module(jenkins_casc.main, dict(name="base", config={"jenkins": {"failOnReload": True}}))
    assert failed
    assert "Failed to reload configuration-as-code with JCasC document 'base'" in result["msg"]
    assert "Invalid configuration elements for type: class KubernetesCloud : failOnReload" in result["msg"]
    assert "restored" in result["msg"] and _key(kube) == previous


def test_sync_timeout(fake_jenkins, kube, casc):
    casc.sync_delay = 1000
    result, failed = run_module(jenkins_casc.main, dict(name="base", config=DOC, sync_timeout=30))
    assert failed
    assert "Failed to verify JCasC document 'base': the live configuration still differs 30s" in result["msg"]
    assert "/jenkins/systemMessage" in result["msg"]
    assert sum(fake_jenkins.clock.sleeps) <= 30


def test_reload_false_only_writes_configmap(fake_jenkins, kube, casc):
    result, failed = run_module(jenkins_casc.main, dict(name="base", config=DOC, reload=False))
    assert result["changed"] and _key(kube) is not None and casc.reloads == 0
    result, failed = run_module(jenkins_casc.main, dict(name="base", config=DOC, reload=False))
    assert not result["changed"]


def test_secret_and_symbol_forms(fake_jenkins, kube, casc):
    doc = {"jenkins": {"clouds": [{"kubernetes": {"name": "k", "podRetention": "never"}}]},
           "credentials": {"password": "hunter2"}}
    result, failed = run_module(jenkins_casc.main, dict(name="c", config=doc))
    assert not failed, result
    result, failed = run_module(jenkins_casc.main, dict(name="c", config=doc))
    assert not result["changed"]
    assert "/credentials/password: secret not compared" in result["warnings"]


def test_custom_configmap(fake_jenkins, kube):
    FakeCascJenkins(fake_jenkins, kube, namespace="ci", name="casc")
    result, failed = run_module(jenkins_casc.main, dict(name="base", config=DOC, configmap=dict(name="casc", namespace="ci")))
    assert not failed and ("ci", "casc") in kube.fake_core.configmaps


def test_kubernetes_forbidden(fake_jenkins, kube, casc):
    kube.fake_core.forbidden = True
    result, failed = run_module(jenkins_casc.main, dict(name="base", config=DOC))
    assert failed and result["msg"].startswith("Failed to read ConfigMap kube-ops/jenkins-casc-managed: HTTP 403 Forbidden")
    assert "cannot get resource" in result["msg"]


@pytest.mark.parametrize("args, message", [
    (dict(name=".hidden", config=DOC), "cannot be a ConfigMap key"),
    (dict(name="a/b", config=DOC), "cannot be a ConfigMap key"),
    (dict(name="x", config="- a\n- b\n"), "must be a non-empty mapping"),
    (dict(name="x", config="a: [\n"), "not valid YAML"),
    (dict(name="x"), "config"),
    (dict(name="x", config=DOC, configmap=dict(bogus=1)), "bogus"),
])
def test_bad_input_rejected_before_any_request(fake_jenkins, kube, args, message):
    result, failed = run_module(jenkins_casc.main, args)
    assert failed and message in result["msg"]
    assert fake_jenkins.requests == [] and kube.fake_core.calls == []
