# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubeops.jenkins.kube_objects / kube_objects_info against a sandbox, through ansible-playbook:
create, again (one GET per object, no write), drift put back, check mode (dry runs only), a
workload that cannot become ready (fails in time, naming the cause), absent; Secret values never
in the output. State is read back with kubectl and the sandbox's request log."""

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NS = "ko-test"
PASSWORD = "Kube-Objects-Secret-77"


def manifests(image="busybox:1.36", data="1"):
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1", "namespace": NS}, "data": {"a": data}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1", "namespace": NS},
         "stringData": {"password": PASSWORD}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": NS},
         "spec": {"type": "NodePort", "selector": {"app": "x"},
                  "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb", "namespace": NS},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
         "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NS}]},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                  "template": {"metadata": {"labels": {"app": "x"}},
                               "spec": {"containers": [{"name": "c", "image": image, "command": ["sleep", "3600"]}]}}}},
    ]


@pytest.fixture(scope="module")
def env(sandbox_helpers, tmp_path_factory):
    work = tmp_path_factory.mktemp("kube_objects")
    sb = sandbox_helpers._up(work / "sandbox")
    try:
        yield sb, work
    finally:
        sandbox_helpers._down(sb)


def play(env, tasks, *args):
    sb, work = env
    path = work / ("play-%d.yml" % time.monotonic_ns())
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path), *args],
                          cwd=str(REPO), capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1",
                                   ANSIBLE_PYTHON_INTERPRETER=sys.executable))
    return proc


def apply_task(sb, definitions, absent=(), **extra):
    args = {"definitions": definitions, "absent": list(absent), "kubeconfig": sb.kubeconfig}
    args.update(extra)
    return [{"kubeops.jenkins.kube_objects": args, "register": "r"},
            {"ansible.builtin.debug": {"msg": "RESULT {{ r | to_json }}"}}]


def result(proc):
    for line in proc.stdout.splitlines():
        if '"msg": "RESULT ' in line:
            return json.loads(json.loads("{" + line.strip().rstrip(",") + "}")["msg"][len("RESULT "):])
    raise AssertionError(proc.stdout[-3000:] + proc.stderr[-2000:])


def requests_since(sb, seq):
    return [e for e in sb.admin("GET", "requests?since=%d" % seq)["items"] if e["user"] == "kubernetes-admin"]


def position(sb):
    items = sb.admin("GET", "requests")["items"]
    return items[-1]["seq"] if items else 0


def kget(sb, *args):
    return json.loads(sb.kubectl("-n", NS, "get", *args, "-o", "json").stdout)


def test_create_again_drift_check_absent(env):
    sb, _ = env
    # create
    proc = play(env, apply_task(sb, manifests()), "--diff")
    assert proc.returncode == 0, proc.stdout[-3000:]
    res = result(proc)
    assert res["changed"] and [o["action"] for o in res["objects"]] == ["created"] * 6
    assert kget(sb, "deployment", "web")["status"]["availableReplicas"] == 1, "waited for the rollout"
    secret = kget(sb, "secret", "s1")
    assert base64.b64decode(secret["data"]["password"]).decode() == PASSWORD
    assert PASSWORD not in proc.stdout and base64.b64encode(PASSWORD.encode()).decode() not in proc.stdout

    # again: one GET per object, nothing written
    versions = {k: kget(sb, k, n)["metadata"]["resourceVersion"] for k, n in
                [("cm", "c1"), ("secret", "s1"), ("svc", "svc"), ("rolebinding", "rb"), ("deployment", "web")]}
    seq = position(sb)
    proc = play(env, apply_task(sb, manifests()))
    res = result(proc)
    assert not res["changed"] and {o["action"] for o in res["objects"]} == {"unchanged"}
    entries = requests_since(sb, seq)
    assert [e["method"] for e in entries] == ["GET"] * 6, [(e["method"], e["path"]) for e in entries]
    assert len({e["path"] for e in entries}) == 6
    assert versions == {k: kget(sb, k, n)["metadata"]["resourceVersion"] for k, n in
                        [("cm", "c1"), ("secret", "s1"), ("svc", "svc"), ("rolebinding", "rb"), ("deployment", "web")]}

    # drift by someone else is put back
    sb.kubectl("-n", NS, "patch", "configmap", "c1", "-p", '{"data":{"a":"someone-else"}}')
    res = result(play(env, apply_task(sb, manifests())))
    assert [o["action"] for o in res["objects"]][1] == "updated"
    assert kget(sb, "configmap", "c1")["data"]["a"] == "1"

    # check mode: a change is reported with its diff, only dry runs are sent
    seq = position(sb)
    proc = play(env, apply_task(sb, manifests(data="2")), "--check", "--diff")
    res = result(proc)
    assert res["changed"] and [o["action"] for o in res["objects"]][1] == "updated"
    assert '"a": "2"' in proc.stdout
    writes = [e for e in requests_since(sb, seq) if e["method"] != "GET"]
    assert writes and all("dryRun=All" in e["path"] for e in writes), writes
    assert kget(sb, "configmap", "c1")["data"]["a"] == "1"

    # absent, twice
    gone = [{"api_version": "v1", "kind": "ConfigMap", "name": "c1", "namespace": NS}]
    res = result(play(env, apply_task(sb, [], absent=gone)))
    assert res["changed"] and res["objects"][0]["action"] == "deleted"
    assert sb.kubectl("-n", NS, "get", "configmap", "c1", check=False).returncode != 0
    res = result(play(env, apply_task(sb, [], absent=gone)))
    assert not res["changed"] and res["objects"][0]["action"] == "absent"


def test_unready_workload_fails_in_time_naming_the_cause(env):
    sb, _ = env
    t0 = time.monotonic()
    proc = play(env, apply_task(sb, manifests(image="registry.invalid/nope:1"), wait_timeout=6, wait_sleep=1))
    elapsed = time.monotonic() - t0
    assert proc.returncode != 0
    assert "Timed out after 6s waiting for Deployment %s/web to become ready" % NS in proc.stdout
    assert "registry.invalid/nope:1" in proc.stdout and ("ImagePullBackOff" in proc.stdout or "ErrImagePull" in proc.stdout)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert elapsed < 60
    # put it back for the other tests of this module
    assert play(env, apply_task(sb, manifests())).returncode == 0


def test_apply_without_waiting_then_wait_for(env):
    sb, _ = env
    web = {"api_version": "apps/v1", "kind": "Deployment", "name": "web2", "namespace": NS}
    deployment = json.loads(json.dumps(manifests()[-1]).replace('"x"', '"web2"'))
    deployment["metadata"]["name"] = "web2"
    res = result(play(env, apply_task(sb, [manifests()[0], deployment], wait=False)))
    assert res["changed"] and "waited" not in res["objects"][1]
    res = result(play(env, apply_task(sb, [], wait=False, wait_for=[web])))
    assert not res["changed"] and res["objects"][0]["action"] == "waited"
    assert res["objects"][0]["object"]["status"]["availableReplicas"] == 1
    assert kget(sb, "deployment", "web2")["status"]["availableReplicas"] == 1
    # a workload that does not exist: named; in check mode only reported
    missing = dict(web, name="nope")
    proc = play(env, apply_task(sb, [], wait_for=[missing]))
    assert proc.returncode != 0 and "Cannot wait for Deployment %s/nope: it does not exist" % NS in proc.stdout
    res = result(play(env, apply_task(sb, [], wait_for=[missing]), "--check"))
    assert res["objects"][0]["reason"] == "does not exist yet (check mode)"
    assert play(env, apply_task(sb, [], absent=[web])).returncode == 0


def test_bad_input_is_rejected_before_any_request(env):
    sb, _ = env
    seq = position(sb)
    bad = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": NS}}]
    proc = play(env, apply_task(sb, bad, wait_timeout=0))
    assert proc.returncode != 0
    assert "Invalid input, nothing was sent to the cluster" in proc.stdout
    assert "definitions[0]: metadata.name is required" in proc.stdout and "wait_timeout must be greater than 0" in proc.stdout
    assert requests_since(sb, seq) == []


def test_info_reads_several_objects_in_one_run(env):
    sb, _ = env
    tasks = [{"kubeops.jenkins.kube_objects_info": {"kubeconfig": sb.kubeconfig, "queries": [
        {"api_version": "v1", "kind": "Service", "name": "svc", "namespace": NS},
        {"api_version": "v1", "kind": "Node"},
        {"api_version": "v1", "kind": "ConfigMap", "name": "missing", "namespace": NS},
        {"api_version": "v1", "kind": "Pod", "namespace": NS, "label_selectors": "app=x"}]}, "register": "r"},
        {"ansible.builtin.debug": {"msg": "RESULT {{ r | to_json }}"}}]
    res = result(play(env, tasks))
    svc, nodes, missing, pods = (q["resources"] for q in res["results"])
    assert svc[0]["spec"]["ports"][0]["nodePort"] >= 30000
    assert sorted(n["metadata"]["name"] for n in nodes) == sorted(n["name"] for n in sb.info["nodes"])
    assert missing == []
    assert [p["metadata"]["labels"]["app"] for p in pods] == ["x"]
