# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy

import pytest
import yaml

from ansible_collections.kubeops.jenkins.plugins.modules import jenkins_kubernetes_cloud as module
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_jenkins import (  # pylint: disable=unused-import
    answer, fake_jenkins, run_module)
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_kube import FakeCascJenkins, FakeKube

TEST_PATH = "/descriptorByName/org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud/testConnection"
CM = ("kube-ops", "jenkins-casc-managed")

SEED = dict(
    name="kubernetes", namespace="kube-ops", server_url="https://kubernetes.default",
    jenkins_url="http://jenkins.kube-ops.svc.cluster.local:8080",
    jenkins_tunnel="jenkins-agent.kube-ops.svc.cluster.local:50000", connect_timeout=5,
    templates=[dict(
        name="haimaxy-jnlp", label="haimaxy-jnlp", service_account="jenkins", slave_connect_timeout=100,
        containers=[dict(name="jnlp", image="jenkins/inbound-agent:3355.v388858a_47b_33-3-jdk21",
                         args="${computer.jnlpmac} ${computer.name}")],
        volumes=[dict(host_path="/var/run/docker.sock", mount_path="/var/run/docker.sock"),
                 dict(host_path="/root/.kube", mount_path="/home/jenkins/.kube")],
    )],
)


@pytest.fixture
def kube(monkeypatch):
    k = FakeKube()
    monkeypatch.setattr(module, "KubeAccess", lambda kubeconfig, context: k)
    return k


@pytest.fixture
def casc(fake_jenkins, kube):
    base = {"jenkins": {"clouds": [{"kubernetes": {"name": "other-cluster", "namespace": "x"}}]}}
    fake = FakeCascJenkins(fake_jenkins, kube, base=base, sync_delay=1)
    original = fake.exported

    def exported():
        # Export as Jenkins does: escaped literals unescaped, defaults left out, int counters.
        out = original()
        for cloud in out["jenkins"].get("clouds", []):
            body = cloud["kubernetes"]
            if body.get("connectTimeout") == 5:
                del body["connectTimeout"]
            for template in body.get("templates", []):
                for container in template.get("containers", []):
                    if "args" in container:
                        container["args"] = container["args"].replace("^${", "${")
        return out

    fake.exported = exported
    return fake


def connected(request):
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = request.form
    assert form["name"] == "kubernetes" and form["namespace"] == "kube-ops"
    assert form["serverUrl"] == "https://kubernetes.default" and form["connectionTimeout"] == "5"
    return answer(200, '<div class="ok">Connected to Kubernetes v1.30.2</div>', content_type="text/html;charset=UTF-8")


def _cloud_doc(kube):
    return yaml.safe_load(kube.fake_core.configmaps[CM]["data"]["cloud-kubernetes.yaml"])


def test_cycle_with_connection_test(fake_jenkins, kube, casc):
    fake_jenkins.on("POST", TEST_PATH, handler=connected)
    args = dict(SEED, test_connection=True)
    # create in check mode: the cloud does not exist yet → no test, no write
    result, failed = run_module(module.main, args, check_mode=True, diff=True)
    assert not failed and result["changed"], result
    assert result["connection"]["ok"] is None and fake_jenkins.calls("POST", TEST_PATH) == []
    assert fake_jenkins.mutating() == [] and kube.fake_core.configmaps == {}
    assert "haimaxy-jnlp" in result["diff"]["after"]
    # create
    result, failed = run_module(module.main, args)
    assert not failed, result
    assert result["changed"] and result["connection"] == {"ok": True, "message": "Connected to Kubernetes v1.30.2"}
    doc = _cloud_doc(kube)
    cloud = doc["jenkins"]["clouds"][0]["kubernetes"]
    assert cloud["jenkinsTunnel"] == "jenkins-agent.kube-ops.svc.cluster.local:50000"
    template = cloud["templates"][0]
    assert template["containers"][0]["args"] == "^${computer.jnlpmac} ^${computer.name}"
    assert template["volumes"][1] == {"hostPathVolume": {"hostPath": "/root/.kube", "mountPath": "/home/jenkins/.kube"}}
    names = [c["kubernetes"]["name"] for c in casc.running["jenkins"]["clouds"]]
    assert names == ["other-cluster", "kubernetes"]  # the other cloud is untouched
    assert result["cloud"]["templates"][0]["id"] == template["id"]
    # again: no change, connection still tested (read-only), no write
    count = len(fake_jenkins.mutating())
    result, failed = run_module(module.main, args)
    assert not failed and not result["changed"], result
    assert len(fake_jenkins.mutating()) == count and len(fake_jenkins.calls("POST", TEST_PATH)) == 2
    # check mode on an existing cloud runs the test
    result, failed = run_module(module.main, args, check_mode=True)
    assert result["connection"]["ok"] is True and len(fake_jenkins.calls("POST", TEST_PATH)) == 3
    # modify a template: new id, other cloud still there
    modified = copy.deepcopy(args)
    modified["templates"][0]["idle_minutes"] = 5
    result, failed = run_module(module.main, modified, check_mode=True, diff=True)
    assert result["changed"] and len(fake_jenkins.mutating()) == count
    assert "idleMinutes: 5" in result["diff"]["after"] and "idleMinutes" not in result["diff"]["before"]
    result, failed = run_module(module.main, modified)
    assert result["changed"] and _cloud_doc(kube)["jenkins"]["clouds"][0]["kubernetes"]["templates"][0]["idleMinutes"] == 5
    assert _cloud_doc(kube)["jenkins"]["clouds"][0]["kubernetes"]["templates"][0]["id"] != template["id"]
    result, failed = run_module(module.main, modified)
    assert not result["changed"]
    # delete
    result, failed = run_module(module.main, dict(name="kubernetes", state="absent"), check_mode=True)
    assert result["changed"] and "cloud-kubernetes.yaml" in kube.fake_core.configmaps[CM]["data"]
    result, failed = run_module(module.main, dict(name="kubernetes", state="absent"))
    assert result["changed"] and "cloud-kubernetes.yaml" not in kube.fake_core.configmaps[CM]["data"]
    result, failed = run_module(module.main, dict(name="kubernetes", state="absent"))
    assert not failed and not result["changed"]


def test_write_only_for_a_starting_controller_then_verified_without_reload(fake_jenkins, kube, casc):
    args = dict(SEED, write_only=True, test_connection=True)
    # check mode: nothing written, Jenkins not asked
    result, failed = run_module(module.main, args, check_mode=True, diff=True)
    assert not failed and result["changed"], result
    assert kube.fake_core.configmaps == {} and "haimaxy-jnlp" in result["diff"]["after"]
    # written: only the ConfigMap, not one request to Jenkins (it may not answer yet)
    result, failed = run_module(module.main, args)
    assert not failed and result["changed"] and result["connection"] is None
    assert fake_jenkins.requests == []
    assert _cloud_doc(kube)["jenkins"]["clouds"][0]["kubernetes"]["name"] == "kubernetes"
    result, failed = run_module(module.main, args)
    assert not failed and not result["changed"] and fake_jenkins.requests == []
    # the pod starts with the file: the normal run finds the cloud live, tests it and reloads nothing
    casc.boot()
    fake_jenkins.on("POST", TEST_PATH, handler=connected)
    result, failed = run_module(module.main, dict(SEED, test_connection=True))
    assert not failed and not result["changed"], result
    assert casc.reloads == 0 and result["connection"]["ok"] is True
    assert fake_jenkins.mutating() == []


def test_write_only_before_the_pod_read_it_is_reloaded_by_the_normal_run(fake_jenkins, kube, casc):
    # Jenkins booted before the file was there: the normal run reloads until the export shows it
    casc.boot()
    result, failed = run_module(module.main, dict(SEED, write_only=True))
    assert not failed and result["changed"]
    result, failed = run_module(module.main, dict(SEED))
    assert not failed and result["changed"] and casc.reloads >= 1
    assert [c["kubernetes"]["name"] for c in casc.running["jenkins"]["clouds"]] == ["other-cluster", "kubernetes"]


def test_connection_failure_changes_nothing(fake_jenkins, kube, casc):
    fake_jenkins.on("POST", TEST_PATH, answer(
        200, '<div class="error">Error testing connection https://kubernetes.default: Failure executing: GET at: '
             'https://kubernetes.default/api/v1/namespaces/kube-ops/pods. Message: Forbidden!Configured service account '
             'doesn&#039;t have access.</div>', content_type="text/html;charset=UTF-8"))
    result, failed = run_module(module.main, dict(SEED, test_connection=True))
    assert failed
    assert result["msg"].startswith("Failed to test the connection of cloud 'kubernetes': Error testing connection "
                                    "https://kubernetes.default: Failure executing")
    assert "doesn't have access" in result["msg"] and result["connection"]["ok"] is False
    assert fake_jenkins.mutating() == [] and kube.fake_core.configmaps == {}


@pytest.mark.parametrize("args, message", [
    (dict(SEED, connect_timeout=3), "connect_timeout must be at least 5"),
    (dict(SEED, read_timeout=1), "read_timeout must be at least 15"),
    (dict(SEED, retention_timeout=2), "retention_timeout must be at least 5"),
    (dict(SEED, templates=[dict(name="Haimaxy JNLP")]), "DNS-1123"),
    (dict(SEED, templates=[dict(name="a", containers=[dict(name="jnlp", image="i", bogus=1)])]), "bogus"),
    (dict(SEED, templates=[dict(name="a", unknown_key=1)]), "unknown_key"),
    (dict(SEED, pod_retention="sometimes"), "pod_retention"),
])
def test_bad_input_rejected_before_any_request(fake_jenkins, kube, args, message):
    result, failed = run_module(module.main, args)
    assert failed and message in result["msg"]
    assert fake_jenkins.requests == [] and kube.fake_core.calls == []
