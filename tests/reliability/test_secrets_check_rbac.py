# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matrix rows "secrets", "check mode" and "least privilege".

* secrets: the admin password, a Jenkins API token, the controller's ServiceAccount token and the
  kubeconfig's credentials (the bearer token the play copies to every node) never appear in the
  play's output at -vvv, nor in the bodies the sandbox's request log recorded; each value is looked
  for as is and base64-encoded.
* check mode: the whole site.yml with --check (and --diff) on a converged and on a fresh sandbox
  sends no mutating request (Kubernetes dry runs and Jenkins' read-only POSTs aside).
* least privilege: a token of the controller's ServiceAccount can do what the Kubernetes plugin
  needs in kube-ops and is refused elsewhere (the sandbox enforces RBAC with upstream's rules); the
  broad ClusterRole exists only when controller_rbac_mode asks for it."""

import base64
import collections
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NS = "kube-ops"

pytestmark = pytest.mark.slow


def forms(value):
    return {value, base64.b64encode(value.encode()).decode()}


def api_token(env):
    """A new API token of the admin user (Jenkins' generateNewToken, as a user or AWX would make one)."""
    password = env.admin_password()
    auth = "Basic " + base64.b64encode(("admin:%s" % password).encode()).decode()
    crumb_req = urllib.request.Request(env.jenkins_url() + "/crumbIssuer/api/json", headers={"Authorization": auth})
    with urllib.request.urlopen(crumb_req, timeout=30) as resp:
        cookie = resp.headers.get("Set-Cookie", "").split(";")[0]
        crumb = json.load(resp)
    req = urllib.request.Request(
        env.jenkins_url() + "/user/admin/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
        data=urllib.parse.urlencode({"newTokenName": "reliability"}).encode(), method="POST",
        headers={"Authorization": auth, crumb["crumbRequestField"]: crumb["crumb"], "Cookie": cookie})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)["data"]["tokenValue"]


def sa_token(env):
    return env.sb.kubectl("-n", NS, "create", "token", "jenkins").stdout.strip()


def test_secrets_never_in_output_or_request_log(converged, matrix, tmp_path):
    kubeconfig = yaml.safe_load(Path(converged.sb.kubeconfig).read_text())
    kube_token = kubeconfig["users"][0]["user"]["token"]
    token = api_token(converged)
    secrets = {"admin password": converged.admin_password(), "Jenkins API token": token,
               "kubeconfig bearer token (copied to the nodes)": kube_token}
    seq = converged.log_position()
    t0 = time.monotonic()
    # the whole play at -vvv, with a build (jenkins_build watches pods through the API) ...
    site = converged.play("-vvv", extra_vars={"smoke_build_always": True})
    # ... and the Jenkins modules authenticated with the API token instead of the password
    probe = tmp_path / "token.yml"
    probe.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"kubeops.jenkins.jenkins_info": {"url": converged.jenkins_url(), "username": "admin", "token": token,
                                          "gather": ["plugins"]}},
        {"kubeops.jenkins.jenkins_job": {"url": converged.jenkins_url(), "username": "admin", "token": token,
                                         "name": "haimaxy-jnlp-smoke-copy", "shell": ["true"], "label": "haimaxy-jnlp"}},
        {"kubeops.jenkins.jenkins_job": {"url": converged.jenkins_url(), "username": "admin", "token": token,
                                         "name": "haimaxy-jnlp-smoke-copy", "state": "absent"}}]}]))
    tok = converged.play("-vvv", playbook=str(probe))
    elapsed = time.monotonic() - t0
    assert site.rc == 0, site.tail()
    assert tok.rc == 0, tok.tail()
    output = site.stdout + site.stderr + tok.stdout + tok.stderr
    logged = json.dumps(converged.requests_since(seq))
    # the controller's ServiceAccount token as the cluster knows it: a new token of that account and
    # the projected token the controller pod uses (the kubelet's file under the node root)
    sa = {"ServiceAccount token (TokenRequest)": sa_token(converged)}
    for path in Path(converged.sb.state_dir).glob("nodes/*/root/var/lib/kubelet/pods/*/volumes/**/token"):
        sa["ServiceAccount token (projected, %s)" % path.parent.name] = path.read_text().strip()
    secrets.update(sa)
    for name, value in secrets.items():
        in_output = [f for f in forms(value) if f and f in output]
        in_log = [f for f in forms(value) if f and f in logged]
        matrix.record("secrets", name, "never in -vvv output nor in the request log",
                      "output: %s; request log: %s (%d bytes of -vvv output, %d bytes of log)" % (
                          "FOUND" if in_output else "absent", "FOUND" if in_log else "absent", len(output), len(logged)),
                      elapsed, not in_output and not in_log)
    assert "ESTABLISH LOCAL CONNECTION" in site.stdout, "the play was not run at -vvv"
    assert not matrix.unmet(), matrix.unmet()


def writes_by_method(env, entries):
    writes = env.writes(entries)
    reads = collections.Counter("%s %s" % (e["component"], e["method"]) for e in entries
                                if e["user"] in ("kubernetes-admin", "admin"))
    return writes, dict(reads)


def check_row(matrix, env, label, seq, result, seconds):
    entries = env.requests_since(seq)
    writes, counts = writes_by_method(env, entries)
    dry = sum(1 for e in entries if "dryRun=" in e["path"])
    outcome = "rc=%d, changed=%d, %s; %d server-side dry runs; writes: %s" % (
        result.rc, result.changed, ", ".join("%s %d" % kv for kv in sorted(counts.items())), dry,
        [(w["method"], w["path"]) for w in writes][:4] or "none")
    matrix.record("check mode", label, "no mutating request", outcome, seconds, result.rc == 0 and not writes)


def test_check_mode_on_a_converged_sandbox(converged, matrix):
    seq = converged.log_position()
    t0 = time.monotonic()
    result = converged.play("--check", "--diff")
    check_row(matrix, converged, "site.yml --check --diff, converged sandbox", seq, result, time.monotonic() - t0)
    seq = converged.log_position()
    t0 = time.monotonic()
    changed = converged.play("--check", "--diff", extra_vars={"kubernetes_cloud_agent_connect_timeout": 200})
    check_row(matrix, converged, "site.yml --check --diff with a changed variable", seq, changed, time.monotonic() - t0)
    assert changed.changed > 0 and "slaveConnectTimeout: 200" in changed.stdout, changed.tail()
    assert not matrix.unmet(), matrix.unmet()


def test_check_mode_on_a_fresh_sandbox(fresh_env, matrix):
    seq = fresh_env.log_position()
    t0 = time.monotonic()
    result = fresh_env.play("--check")
    check_row(matrix, fresh_env, "site.yml --check, fresh sandbox", seq, result, time.monotonic() - t0)
    assert fresh_env.kubectl_json("get", "namespaces", "-l", "kubernetes.io/metadata.name=%s" % NS)["items"] == []
    assert not matrix.unmet(), matrix.unmet()


# (verb, resource, namespace, subresource, expected allowed) for the controller's ServiceAccount
ACCESS = [
    ("create", "pods", NS, None, True), ("delete", "pods", NS, None, True), ("watch", "pods", NS, None, True),
    ("get", "pods", NS, "log", True), ("create", "pods", NS, "exec", True), ("list", "events", NS, None, True),
    ("list", "pods", "default", None, False), ("create", "pods", "kube-system", None, False),
    ("get", "secrets", NS, None, False), ("list", "secrets", "kube-system", None, False),
    ("list", "nodes", None, None, False), ("create", "clusterrolebindings", None, None, False),
    ("create", "deployments", NS, None, False),
]


def test_controller_service_account_has_least_privilege(converged, matrix, tmp_path):
    token = sa_token(converged)
    for verb, resource, namespace, sub, allowed in ACCESS:
        t0 = time.monotonic()
        args = ["auth", "can-i", verb, resource + ("/" + sub if sub else ""), "--token", token]
        args += ["-n", namespace] if namespace else []
        proc = converged.sb.kubectl(*args, check=False)
        answer = proc.stdout.strip()
        where = ("in %s" % namespace) if namespace else "cluster-wide"
        matrix.record("least privilege", "ServiceAccount jenkins: %s %s%s %s" % (verb, resource, "/" + sub if sub else "", where),
                      "allowed" if allowed else "refused", "kubectl auth can-i: %s" % (answer or proc.stderr.strip()[:100]),
                      time.monotonic() - t0, answer == ("yes" if allowed else "no"))
    # a request made with that token: allowed in kube-ops, 403 with upstream's text elsewhere
    t0 = time.monotonic()
    denied = converged.sb.kubectl("get", "pods", "-n", "kube-system", "--token", token, check=False)
    matrix.record("least privilege", "ServiceAccount jenkins: real request for pods in kube-system", "403 Forbidden",
                  denied.stderr.strip()[:160], time.monotonic() - t0,
                  denied.returncode != 0 and "forbidden" in denied.stderr.lower())
    # the broad ClusterRole: absent after the default converge, rendered only when asked for
    t0 = time.monotonic()
    cluster_roles = [r["metadata"]["name"] for r in converged.kubectl_json("get", "clusterroles")["items"]]
    bindings = [b["metadata"]["name"] for b in converged.kubectl_json("get", "clusterrolebindings")["items"]]
    matrix.record("least privilege", "default converge: no ClusterRole/ClusterRoleBinding for Jenkins",
                  "none created", "ClusterRoles with 'jenkins': %s; bindings: %s" % (
                      [r for r in cluster_roles if "jenkins" in r], [b for b in bindings if "jenkins" in b]),
                  time.monotonic() - t0, not [n for n in cluster_roles + bindings if "jenkins" in n])
    kinds = {}
    for mode in ("namespaced", "cluster-admin-like"):
        out = tmp_path / mode
        play = tmp_path / ("render-%s.yml" % mode)
        play.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
            {"ansible.builtin.include_role": {"name": "kubeops.jenkins.controller", "tasks_from": "render"},
             "vars": {"controller_rbac_mode": mode, "controller_render_dir": str(out)}}]}]))
        t0 = time.monotonic()
        result = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-e",
                                 "ansible_python_interpreter=%s" % sys.executable, str(play)], cwd=str(REPO),
                                capture_output=True, text=True, timeout=300,
                                env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                                         ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false"))
        assert result.returncode == 0, result.stdout[-3000:]
        kinds[mode] = [d["kind"] for d in yaml.safe_load_all((out / "manifests.yaml").read_text()) if d]
        kinds[mode + "_s"] = time.monotonic() - t0
    matrix.record("least privilege", "controller_rbac_mode=cluster-admin-like renders the broad ClusterRole, namespaced does not",
                  "only when asked for", "namespaced: %s; cluster-admin-like: %s" % (
                      sorted({k for k in kinds["namespaced"] if "Role" in k}),
                      sorted({k for k in kinds["cluster-admin-like"] if "Role" in k})),
                  kinds["namespaced_s"] + kinds["cluster-admin-like_s"],
                  "ClusterRole" not in kinds["namespaced"] and "ClusterRole" in kinds["cluster-admin-like"]
                  and "Role" in kinds["namespaced"])
    assert not matrix.unmet(), matrix.unmet()
