# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml against a sandbox: the state it leaves, observed through the sandbox's
Kubernetes API, request log and node directories and through python-jenkins; a second run
reports changed=0 and writes nothing; a deleted controller pod comes back with jobs and build
history and the play reports no change."""

import collections
import os
import re
import stat
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NS = "kube-ops"
JENKINS_SA = "system:serviceaccount:kube-ops:jenkins"
AGENT_POD = re.compile(r"/api/v1/namespaces/kube-ops/pods/(haimaxy-jnlp-[a-z0-9]{5})$")
JOB = "haimaxy-jnlp-smoke"


def test_first_run_changes_and_hides_the_password(converged):
    assert converged.first.changed > 0
    assert converged.admin_password() not in converged.first.stdout
    assert "haimaxy-jnlp" in converged.first.stdout


def test_kubernetes_objects(converged):
    k = converged.kubectl_json
    deploy = k("-n", NS, "get", "deployment", "jenkins")
    assert deploy["spec"]["strategy"]["type"] == "Recreate"
    assert deploy["status"].get("availableReplicas") == 1
    pod_spec = deploy["spec"]["template"]["spec"]
    assert pod_spec["securityContext"]["fsGroup"] == 1000
    assert pod_spec["initContainers"][0]["command"] == ["jenkins-plugin-cli"]

    pvc = k("-n", NS, "get", "pvc", "jenkins-home")
    assert pvc["status"]["phase"] == "Bound"
    pv = k("get", "pv", pvc["spec"]["volumeName"])
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["hostPath"]["path"] == "/data/jenkins-home"

    role = k("-n", NS, "get", "role", "jenkins")
    rules = {(tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in role["rules"]}
    assert rules == {
        (("pods",), ("create", "delete", "get", "list", "patch", "update", "watch")),
        (("pods/exec",), ("create", "get")),
        (("pods/log",), ("get", "list", "watch")),
        (("events",), ("get", "list", "watch")),
    }
    cluster_roles = k("get", "clusterrole")["items"]
    assert not [r for r in cluster_roles if r["metadata"]["name"] == "kube-ops-jenkins"]

    svc = k("-n", NS, "get", "service", "jenkins")
    assert svc["spec"]["type"] == "NodePort"
    agent = k("-n", NS, "get", "service", "jenkins-agent")
    assert agent["spec"]["type"] == "ClusterIP" and agent["spec"]["ports"][0]["port"] == 50000

    casc = k("-n", NS, "get", "configmap", "jenkins-casc")
    assert "${JENKINS_ADMIN_PASSWORD}" in casc["data"]["jenkins.yaml"]
    managed = k("-n", NS, "get", "configmap", "jenkins-casc-managed")
    assert "cloud-kubernetes.yaml" in managed["data"]
    assert "haimaxy-jnlp" in managed["data"]["cloud-kubernetes.yaml"]

    # the generated password is kept where the sandbox inventory says (state dir), equal to the Secret
    stored = (converged.state_dir / "jenkins-admin-password").read_text().split()[0]
    assert stored == converged.admin_password()


def test_jenkins_state(converged):
    server = converged.jenkins()
    plugins = server.get_plugins(depth=1).values()
    versions = {p["shortName"]: p["version"] for p in plugins if p["active"]}
    assert versions["kubernetes"] == "4540.v612369217f87"
    assert versions["configuration-as-code"] == "2115.vf6de120eef70"
    config = server.get_job_config(JOB)
    assert "<assignedNode>haimaxy-jnlp</assignedNode>" in config
    assert "kubectl get pods" in config and "docker info" not in config
    info = server.get_job_info(JOB)
    last = info["lastCompletedBuild"]["number"]
    build = server.get_build_info(JOB, last)
    assert build["result"] == "SUCCESS"
    console = server.get_build_console_output(JOB, last)
    assert re.search(r"Building remotely on haimaxy-jnlp-[a-z0-9]{5}", console)
    assert "+ kubectl get pods" in console


def test_agent_pod_lifecycle_in_the_request_log(converged):
    entries = converged.requests_since(converged.first_seq)
    created = [e for e in entries if e["method"] == "POST" and e["path"].split("?")[0] == "/api/v1/namespaces/kube-ops/pods"
               and e["user"] == JENKINS_SA and e["status"] == 201]
    deleted = [AGENT_POD.match(e["path"].split("?")[0]).group(1) for e in entries
               if e["method"] == "DELETE" and e["user"] == JENKINS_SA and AGENT_POD.match(e["path"].split("?")[0])]
    assert created, "the Kubernetes plugin never created an agent pod"
    assert deleted, "the agent pod was never deleted"
    left = converged.kubectl_json("-n", NS, "get", "pods", "-l", "jenkins/label=haimaxy-jnlp")["items"]
    assert [p["metadata"]["name"] for p in left if p["metadata"]["name"] in deleted] == []


def test_kubeconfig_on_every_node(converged):
    status = converged.sb.status()
    master = next(n for n in status["nodes"] if n["role"] == "master")
    source = (Path(master["root"]) / "root" / ".kube" / "config").read_bytes()
    for node in status["nodes"]:
        kube = Path(node["root"]) / "root" / ".kube"
        assert stat.S_IMODE(kube.stat().st_mode) == 0o700, node["name"]
        config = kube / "config"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600, node["name"]
        assert config.read_bytes() == source, node["name"]



def test_docker_socket_warning_names_only_nodes_without_one(converged):
    # the check looks for a socket, not for any file: the kubelet leaves a directory at a hostPath
    # of type "" once an agent pod mounted it there, and that must still count as missing
    status = converged.sb.status()
    node = next(n for n in status["nodes"] if n["role"] != "master")
    sock = Path(node["root"]) / "var" / "run" / "docker.sock"
    kept = sock.is_dir()
    if kept:
        sock.rename(sock.with_name("docker.sock.kept"))
    sock.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(str(sock), stat.S_IFSOCK | 0o600)
    try:
        result = converged.play(playbook="playbooks/kubernetes_cloud.yml")
    finally:
        sock.unlink()
        if kept:
            sock.with_name("docker.sock.kept").rename(sock)
    assert result.rc == 0, result.tail()
    warning = re.search(r"WARNING: node host\(s\) ([^\n]*?) have no socket at /var/run/docker.sock", result.stdout)
    assert warning, result.tail()
    named = {h.strip() for h in warning.group(1).split(",")}
    assert named == {n["name"] for n in status["nodes"]} - {node["name"]}, warning.group(0)

MANAGED = [("namespace", "kube-ops", None), ("serviceaccount", "jenkins", NS), ("role", "jenkins", NS),
           ("rolebinding", "jenkins", NS), ("pv", "kube-ops-jenkins-home", None), ("pvc", "jenkins-home", NS),
           ("secret", "jenkins-admin", NS), ("configmap", "jenkins-casc", NS), ("configmap", "jenkins-plugins", NS),
           ("configmap", "jenkins-casc-managed", NS), ("service", "jenkins", NS), ("service", "jenkins-agent", NS),
           ("deployment", "jenkins", NS)]


def resource_versions(env):
    out = {}
    for kind, name, namespace in MANAGED:
        args = ["-n", namespace] if namespace else []
        out[(kind, name)] = env.kubectl_json(*args, "get", kind, name)["metadata"]["resourceVersion"]
    return out


def test_second_run_reports_no_change_and_writes_nothing(converged):
    before = resource_versions(converged)
    seq = converged.log_position()
    second = converged.play()
    end = converged.log_position()
    assert second.rc == 0, second.tail()
    assert second.changed == 0, second.recap
    assert resource_versions(converged) == before
    entries = [e for e in converged.requests_since(seq) if e["seq"] <= end]
    # nothing to change: not one write to Kubernetes (kube_objects compares before writing) nor to
    # Jenkins (no job update, no JCasC reload, and no smoke build: nothing it verifies changed)
    assert converged.writes(entries, user="kubernetes-admin") == []
    assert converged.writes(entries, component="jenkins") == []
    # at most one read per managed object
    k8s_gets = [e["path"] for e in entries if e["component"] == "k8s" and e["user"] == "kubernetes-admin"
                and e["method"] == "GET"]
    assert {p: n for p, n in collections.Counter(k8s_gets).items() if n > 1} == {}
    assert converged.admin_password() not in second.stdout


def test_changed_admin_password_rolls_the_controller(converged):
    pods = converged.kubectl_json("-n", NS, "get", "pods", "-l", "app.kubernetes.io/component=jenkins-controller")["items"]
    old = {p["metadata"]["name"] for p in pods}
    new_password = "Changed-by-the-test-42"
    changed = converged.play(extra_vars={"controller_admin_password": new_password})
    assert changed.rc == 0, changed.tail()
    assert changed.changed > 0
    assert new_password not in changed.stdout
    assert converged.admin_password() == new_password
    pods = converged.kubectl_json("-n", NS, "get", "pods", "-l", "app.kubernetes.io/component=jenkins-controller")["items"]
    assert {p["metadata"]["name"] for p in pods}.isdisjoint(old), "the pod was not rolled"
    assert converged.jenkins().get_whoami()["id"] == "admin"
    # without the variable the password is read back from the Secret: nothing to change
    again = converged.play()
    assert again.rc == 0, again.tail()
    assert again.changed == 0, again.recap


def test_controller_pod_deleted_keeps_jobs_and_history(converged):
    server = converged.jenkins()
    before = sorted(b["number"] for b in server.get_job_info(JOB)["builds"])
    assert before
    pods = converged.kubectl_json("-n", NS, "get", "pods", "-l", "app.kubernetes.io/component=jenkins-controller")["items"]
    old = {p["metadata"]["name"] for p in pods}
    converged.sb.kubectl("-n", NS, "delete", "pod", *old, "--wait=true")
    # nothing changed, so only a health-check build proves the new pod works
    again = converged.play(extra_vars={"smoke_build_always": True})
    assert again.rc == 0, again.tail()
    assert again.changed == 0, again.recap
    pods = converged.kubectl_json("-n", NS, "get", "pods", "-l", "app.kubernetes.io/component=jenkins-controller")["items"]
    assert {p["metadata"]["name"] for p in pods}.isdisjoint(old)
    server = converged.jenkins()
    after = sorted(b["number"] for b in server.get_job_info(JOB)["builds"])
    assert set(before) <= set(after), (before, after)
    assert max(after) > max(before)
    assert server.get_build_info(JOB, max(after))["result"] == "SUCCESS"


def test_switching_rbac_mode_and_ingress_removes_the_objects_no_longer_wanted(converged):
    """The objects a setting switches off are deleted by the next run: the namespaced Role and
    RoleBinding after switching to cluster-admin-like (and the broad ClusterRole and its binding
    after switching back), the Ingress after disabling it. Neither switch restarts Jenkins."""
    def names(kind, *ns):
        return {o["metadata"]["name"] for o in converged.kubectl_json(*ns, "get", kind)["items"]}

    def workload_generation():
        return converged.kubectl_json("-n", NS, "get", "deployment", "jenkins")["metadata"]["generation"]

    generation = workload_generation()
    broad = converged.play("--tags", "controller_preflight,controller_apply", playbook="playbooks/controller.yml",
                           extra_vars={"controller_rbac_mode": "cluster-admin-like",
                                       "controller_ingress_enabled": True,
                                       "controller_ingress_host": "jenkins.example.com",
                                       # the root URL the defaults give, so JCasC (and the pod) stay as they are
                                       "controller_root_url": "http://jenkins.kube-ops.svc.cluster.local:8080"})
    assert broad.rc == 0, broad.tail()
    assert "kube-ops-jenkins" in names("clusterrole") and "kube-ops-jenkins" in names("clusterrolebinding")
    assert "jenkins" not in names("role", "-n", NS) and "jenkins" not in names("rolebinding", "-n", NS)
    assert names("ingress", "-n", NS) == {"jenkins"}

    back = converged.play("--tags", "controller_preflight,controller_apply", playbook="playbooks/controller.yml")
    assert back.rc == 0, back.tail()
    assert "kube-ops-jenkins" not in names("clusterrole") and "kube-ops-jenkins" not in names("clusterrolebinding")
    assert "jenkins" in names("role", "-n", NS) and "jenkins" in names("rolebinding", "-n", NS)
    assert names("ingress", "-n", NS) == set()
    assert workload_generation() == generation


def test_absent_keeps_the_volume_and_a_reinstall_finds_the_jobs(converged):
    server = converged.jenkins()
    before = sorted(b["number"] for b in server.get_job_info(JOB)["builds"])
    removed = converged.play(playbook="playbooks/controller.yml", extra_vars={"controller_state": "absent"})
    assert removed.rc == 0, removed.tail()
    assert removed.changed > 0
    deployments = converged.kubectl_json("-n", NS, "get", "deployments")["items"]
    assert [d["metadata"]["name"] for d in deployments] == []
    pvc = converged.kubectl_json("-n", NS, "get", "pvc", "jenkins-home")
    assert pvc["status"]["phase"] == "Bound"
    reinstalled = converged.play()
    assert reinstalled.rc == 0, reinstalled.tail()
    after = sorted(b["number"] for b in converged.jenkins().get_job_info(JOB)["builds"])
    assert set(before) <= set(after) and max(after) > max(before)

