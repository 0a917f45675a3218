# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode: on a fresh sandbox `site.yml --check` succeeds and sends no request that changes
state (sandbox request log; server-side dry runs excluded, they persist nothing), writes no file on
the nodes; on a converged sandbox `--check --diff` after changing variables shows the change and
writes nothing."""

import pytest

pytestmark = pytest.mark.slow


def test_check_on_a_fresh_sandbox_writes_nothing(fresh_env):
    seq = fresh_env.log_position()
    result = fresh_env.play("--check")
    assert result.rc == 0, result.tail()
    assert result.changed > 0, "check mode must report what it would create"
    writes = fresh_env.writes(fresh_env.requests_since(seq))
    assert writes == [], writes
    namespaces = [n["metadata"]["name"] for n in fresh_env.kubectl_json("get", "namespaces")["items"]]
    assert "kube-ops" not in namespaces
    for node in fresh_env.sb.status()["nodes"]:
        if node["role"] != "master":
            assert not (fresh_env.state_dir / "nodes" / node["name"] / "root" / ".kube" / "config").exists()
    assert not (fresh_env.state_dir / "jenkins-admin-password").exists()


def test_check_diff_after_changing_variables(converged):
    seq = converged.log_position()
    result = converged.play("--check", "--diff", extra_vars={
        "controller_system_message": "changed by the check-mode test",
        "smoke_build_script": "kubectl get pods -A\n",
    })
    assert result.rc == 0, result.tail()
    assert result.changed >= 2, result.recap
    assert "changed by the check-mode test" in result.stdout       # jenkins-casc ConfigMap diff
    assert "+      <command>kubectl get pods -A</command>" in result.stdout   # job config.xml diff
    assert converged.writes(converged.requests_since(seq)) == []
    casc = converged.kubectl_json("-n", "kube-ops", "get", "configmap", "jenkins-casc")
    assert "changed by the check-mode test" not in casc["data"]["jenkins.yaml"]
