"""The Jenkins-side modules against the sandbox, run through ansible-playbook (issue #5).

A sandbox cluster (in process, so the request log can be read) runs a Jenkins controller deployed
with plain manifests (kubectl, no collection code): PVC, RBAC, admin Secret, the base JCasC
ConfigMap and the module-managed ConfigMap `jenkins-casc-managed` (optional) projected into
CASC_JENKINS_CONFIG. Each module goes through create, create again, modify, modify again, delete,
delete something absent; every step runs first with --check, and the sandbox's request log must
show no mutating request for it (read-only POSTs: JCasC check/export and Test Connection). Results
are checked through the sandbox (its store, the Jenkins stand-in's state), not only through what
the module says.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = REPO / ".venv" / "bin" / "ansible-playbook"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
NS = "kube-ops"
ADMIN_PASSWORD = "s3cr3t-Adm1n"
JENKINS_IMAGE = "jenkins/jenkins:2.479.3-lts-jdk17"
AGENT_IMAGE = "jenkins/inbound-agent:3355.v388858a_47b_33-3-jdk21"
READ_ONLY_POSTS = ("/configuration-as-code/check", "/configuration-as-code/export",
                   "/descriptorByName/org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud/testConnection")

pytestmark = pytest.mark.skipif(not PLAYBOOK_BIN.exists(), reason="needs the project venv (make setup)")

BASE_CASC = {
    "jenkins": {
        "quietPeriod": 0,
        "numExecutors": 0,
        "securityRealm": {"local": {"allowsSignup": False,
                                    "users": [{"id": "admin", "password": "${JENKINS_ADMIN_PASSWORD}"}]}},
        "authorizationStrategy": {"loggedInUsersCanDoAnything": {"allowAnonymousRead": False}},
    },
}


def _free_address():
    for _ in range(200):
        addr = "127.%d.%d.%d" % (random.randint(100, 250), random.randint(1, 250), random.randint(2, 250))
        s = socket.socket()
        try:
            s.bind((addr, 6443))
            return addr
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free loopback address")


def wait(fn, timeout=60.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def manifests():
    rules = [{"apiGroups": [""], "resources": ["pods", "pods/exec"],
              "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
             {"apiGroups": [""], "resources": ["pods/log", "events"], "verbs": ["get", "list", "watch"]},
             {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
    pod_spec = {
        "serviceAccountName": "jenkins",
        "nodeSelector": {"kubernetes.io/hostname": "node1"},
        "initContainers": [{
            "name": "install-plugins", "image": JENKINS_IMAGE,
            "command": ["jenkins-plugin-cli", "--plugin-download-directory", "/var/jenkins_home/plugins",
                        "--plugins", "kubernetes", "configuration-as-code"],
            "volumeMounts": [{"name": "jenkins-home", "mountPath": "/var/jenkins_home"}]}],
        "containers": [{
            "name": "jenkins", "image": JENKINS_IMAGE,
            "env": [{"name": "JAVA_OPTS", "value": "-Djenkins.install.runSetupWizard=false"},
                    {"name": "CASC_JENKINS_CONFIG", "value": "/var/jenkins_home/casc_configs"},
                    {"name": "SANDBOX_JENKINS_STARTUP_SECONDS", "value": "0.5"},
                    {"name": "JENKINS_SLAVE_AGENT_PORT", "value": "50000"},
                    {"name": "JENKINS_ADMIN_PASSWORD",
                     "valueFrom": {"secretKeyRef": {"name": "jenkins-admin", "key": "password"}}}],
            "ports": [{"name": "http", "containerPort": 8080}, {"name": "agent", "containerPort": 50000}],
            "readinessProbe": {"httpGet": {"path": "/login", "port": 8080}, "periodSeconds": 1, "failureThreshold": 3},
            "volumeMounts": [{"name": "jenkins-home", "mountPath": "/var/jenkins_home"},
                             {"name": "casc", "mountPath": "/var/jenkins_home/casc_configs"}]}],
        "volumes": [
            {"name": "jenkins-home", "persistentVolumeClaim": {"claimName": "jenkins-home"}},
            {"name": "casc", "projected": {"sources": [
                {"configMap": {"name": "jenkins-casc"}},
                {"configMap": {"name": "jenkins-casc-managed", "optional": True}}]}}],
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "kube-ops-jenkins-home"},
         "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                  "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                  "hostPath": {"path": "/data/kube-ops/jenkins"}, "claimRef": {"namespace": NS, "name": "jenkins-home"}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "jenkins-home", "namespace": NS},
         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "resources": {"requests": {"storage": "2Gi"}},
                  "volumeName": "kube-ops-jenkins-home"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "jenkins", "namespace": NS}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "jenkins", "namespace": NS},
         "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "jenkins", "namespace": NS},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "jenkins"},
         "subjects": [{"kind": "ServiceAccount", "name": "jenkins", "namespace": NS}]},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "jenkins-admin", "namespace": NS}, "type": "Opaque",
         "data": {"password": base64.b64encode(ADMIN_PASSWORD.encode()).decode()}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "jenkins-casc", "namespace": NS},
         "data": {"jenkins.yaml": yaml.safe_dump(BASE_CASC, sort_keys=False)}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "jenkins", "namespace": NS},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "jenkins"}}, "strategy": {"type": "Recreate"},
                  "template": {"metadata": {"labels": {"app": "jenkins"}}, "spec": pod_spec}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "jenkins", "namespace": NS},
         "spec": {"type": "NodePort", "selector": {"app": "jenkins"},
                  "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "jenkins-agent", "namespace": NS},
         "spec": {"selector": {"app": "jenkins"}, "ports": [{"name": "agent", "port": 50000, "targetPort": 50000}]}},
    ]


class Env:
    def __init__(self, cluster, workdir):
        self.cluster = cluster
        self.store = cluster.store
        self.log = cluster.request_log
        self.workdir = workdir
        self.url = None
        self.runs = 0

    def kubectl(self, *args, stdin=None):
        proc = subprocess.run([KUBECTL, "--kubeconfig", str(self.cluster.kubeconfig_path), *args], input=stdin,
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, "kubectl %s: %s\n%s" % (args, proc.stdout, proc.stderr)
        return proc

    def jenkins(self):
        from sandbox.runtimes import jenkins_controller
        with jenkins_controller._lock:  # pylint: disable=protected-access
            instances = list(jenkins_controller._by_agent_addr.values())  # pylint: disable=protected-access
        for inst in instances:
            if inst.ctx.cluster is self.cluster and inst.ctx.namespace == NS:
                return inst
        return None

    def configmap(self, name="jenkins-casc-managed"):
        try:
            return self.store.get("", "v1", "configmaps", NS, name)
        except Exception:  # pylint: disable=broad-except  # ApiError 404
            return None

    def run(self, module, args, check=False, diff=True):
        """Run one task through ansible-playbook; return (result dict, mutating requests it caused)."""
        self.runs += 1
        out = self.workdir / ("result-%d.json" % self.runs)
        play = [{
            "hosts": "localhost", "gather_facts": False,
            "module_defaults": {"group/kubeops.jenkins.jenkins": {
                "url": self.url, "username": "admin", "password": ADMIN_PASSWORD}},
            "tasks": [
                {"name": "module under test", module if "." in module else "kubeops.jenkins.%s" % module: args,
                 "register": "r",
                 "ignore_errors": True},
                {"name": "save the result", "ansible.builtin.copy": {"content": "{{ r | to_nice_json }}",
                                                                     "dest": str(out)}, "check_mode": False},
            ],
        }]
        playbook = self.workdir / ("play-%d.yml" % self.runs)
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", K8S_AUTH_KUBECONFIG=str(self.cluster.kubeconfig_path),
                   ANSIBLE_PYTHON_INTERPRETER=str(REPO / ".venv" / "bin" / "python"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
        command = [str(PLAYBOOK_BIN), "-i", "localhost,", "-c", "local", str(playbook)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        since = self.log.entries()[-1]["seq"] if self.log.entries() else 0
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, check=False, cwd=self.workdir)
        assert out.exists(), "ansible-playbook failed before saving the result:\n%s\n%s" % (proc.stdout, proc.stderr)
        result = json.loads(out.read_text())
        mutating = [(e["component"], e["method"], e["path"]) for e in self.log.entries(since=since)
                    if e["method"] in ("POST", "PUT", "PATCH", "DELETE") and e["path"] not in READ_ONLY_POSTS
                    and not (e["component"] != "jenkins" and e.get("resource") in ("pods", "events"))
                    and "selfsubjectaccessreviews" not in e["path"]]
        return result, mutating

    def cycle_step(self, module, args, expect_changed, check_first=True):
        """--check then real; returns the real result."""
        if check_first:
            result, mutating = self.run(module, args, check=True)
            assert not result.get("failed"), result.get("msg")
            assert result["changed"] is expect_changed, ("check", module, args, result)
            assert mutating == [], "check mode sent mutating requests: %s" % mutating
        result, mutating = self.run(module, args)
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is expect_changed, ("real", module, args, result)
        if not expect_changed:
            assert [m for m in mutating if m[0] == "jenkins"] == [], "unchanged run sent %s" % mutating
        return result, mutating


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import sys
    sys.path.insert(0, str(REPO))
    from sandbox import runtimes
    from sandbox.k8s.cluster import Cluster
    state = tmp_path_factory.mktemp("modules")
    cluster = Cluster(state, address=_free_address(), nodes=2)
    cluster.configmap_sync_delay = 2.0
    cluster.start()
    runtimes.register_all(cluster)
    e = Env(cluster, tmp_path_factory.mktemp("plays"))
    wait(lambda: len(cluster.store.list("", "v1", "nodes")[0]) == 3, what="nodes")
    master_kube = cluster.nodes[0].root / "root" / ".kube"
    shutil.copytree(master_kube, cluster.nodes[1].root / "root" / ".kube", dirs_exist_ok=True)
    e.kubectl("apply", "--validate=false", "-f", "-", stdin=yaml.safe_dump_all(manifests()))
    service = cluster.store.get("", "v1", "services", NS, "jenkins")
    e.url = "http://%s:%s" % (cluster.address, service["spec"]["ports"][0]["nodePort"])

    def up():
        import urllib.request
        try:
            with urllib.request.urlopen(e.url + "/login", timeout=5) as response:
                return response.status == 200
        except Exception:  # pylint: disable=broad-except
            return False
    wait(up, timeout=120, what="Jenkins /login 200")
    yield e
    cluster.stop()
    from sandbox.runtimes import jenkins_controller
    with jenkins_controller._lock:  # pylint: disable=protected-access
        leftover = list(jenkins_controller._by_agent_addr.values())  # pylint: disable=protected-access
    for inst in leftover:
        if inst.ctx.cluster is cluster:
            inst.stop()


# ---------------------------------------------------------------------------------------------


def test_jenkins_casc_cycle(env):
    doc = {"jenkins": {"systemMessage": "managed by ansible"}}
    result, mutating = env.cycle_step("jenkins_casc", {"name": "base", "config": doc, "sync_timeout": 60}, True)
    assert ("jenkins", "POST", "/configuration-as-code/reload") in mutating
    cm = env.configmap()
    assert yaml.safe_load(cm["data"]["base.yaml"]) == doc
    assert result["export"]["jenkins"]["systemMessage"] == "managed by ansible"
    env.cycle_step("jenkins_casc", {"name": "base", "config": doc}, False)
    doc2 = {"jenkins": {"systemMessage": "changed", "labelString": "controller"}}
    env.cycle_step("jenkins_casc", {"name": "base", "config": doc2}, True)
    assert yaml.safe_load(env.configmap()["data"]["base.yaml"]) == doc2
    env.cycle_step("jenkins_casc", {"name": "base", "config": doc2}, False)
    env.cycle_step("jenkins_casc", {"name": "base", "state": "absent"}, True)
    assert "base.yaml" not in (env.configmap()["data"] or {})
    env.cycle_step("jenkins_casc", {"name": "base", "state": "absent"}, False)
    # invalid document: rejected by /check before anything changes
    before = json.dumps(env.configmap()["data"])
    result, mutating = env.run("jenkins_casc", {"name": "bad", "config": {"jenkins": {"noSuchAttribute": 1}}})
    assert result["failed"] and "Failed to validate JCasC document 'bad'" in result["msg"], result["msg"]
    assert json.dumps(env.configmap()["data"]) == before and mutating == []


SEED_CLOUD = {
    "name": "kubernetes", "namespace": NS,
    "jenkins_url": "http://jenkins.kube-ops.svc.cluster.local:8080",
    "jenkins_tunnel": "jenkins-agent.kube-ops.svc.cluster.local:50000",
    "test_connection": True,
    "templates": [{
        "name": "haimaxy-jnlp", "label": "haimaxy-jnlp", "service_account": "jenkins", "slave_connect_timeout": 60,
        "node_selector": {"kubernetes.io/hostname": "node1"},
        "containers": [{"name": "jnlp", "image": AGENT_IMAGE, "working_dir": "/home/jenkins/agent"}],
        "volumes": [{"host_path": "/var/run/docker.sock", "mount_path": "/var/run/docker.sock"},
                    {"host_path": "/root/.kube", "mount_path": "/home/jenkins/.kube"}]}],
}


def test_jenkins_kubernetes_cloud_cycle(env):
    result, mutating = env.cycle_step("jenkins_kubernetes_cloud", SEED_CLOUD, True)
    assert result["connection"]["ok"] is True and result["connection"]["message"].startswith("Connected to Kubernetes")
    doc = yaml.safe_load(env.configmap()["data"]["cloud-kubernetes.yaml"])
    assert doc["jenkins"]["clouds"][0]["kubernetes"]["templates"][0]["name"] == "haimaxy-jnlp"
    env.cycle_step("jenkins_kubernetes_cloud", SEED_CLOUD, False)
    modified = json.loads(json.dumps(SEED_CLOUD))
    modified["templates"][0]["idle_minutes"] = 1
    env.cycle_step("jenkins_kubernetes_cloud", modified, True)
    env.cycle_step("jenkins_kubernetes_cloud", modified, False)
    # back to the seed template for the build test
    env.cycle_step("jenkins_kubernetes_cloud", SEED_CLOUD, True, check_first=False)
    # a second cloud and its deletion leave the seed cloud alone
    other = {"name": "other", "namespace": NS, "jenkins_url": "http://jenkins.kube-ops.svc.cluster.local:8080"}
    env.cycle_step("jenkins_kubernetes_cloud", other, True, check_first=False)
    env.cycle_step("jenkins_kubernetes_cloud", {"name": "other", "state": "absent"}, True)
    env.cycle_step("jenkins_kubernetes_cloud", {"name": "other", "state": "absent"}, False)
    assert "cloud-kubernetes.yaml" in env.configmap()["data"]
    # every option at once (defaults included, as the kubernetes_cloud role passes them): idempotent
    full = {
        "name": "full", "namespace": NS, "sync_timeout": 30, "server_url": "", "skip_tls_verify": False, "credentials_id": "",
        "jenkins_url": "http://jenkins.kube-ops.svc.cluster.local:8080", "websocket": True, "direct_connection": False,
        "container_cap": 10, "max_requests_per_host": 32, "connect_timeout": 5, "read_timeout": 15,
        "retention_timeout": 5, "pod_retention": "never", "pod_labels": {"team": "ci"},
        "templates": [{
            "name": "full", "label": "full linux", "namespace": NS, "service_account": "jenkins",
            "slave_connect_timeout": 100, "idle_minutes": 0, "instance_cap": 3, "active_deadline_seconds": 0,
            "node_selector": {"kubernetes.io/os": "linux"}, "env_vars": {"A": "1"}, "annotations": {"x": "y"},
            "image_pull_secrets": ["regcred"], "yaml": "spec:\n  priorityClassName: low\n",
            "yaml_merge_strategy": "override", "pod_retention": "default",
            "containers": [{"name": "jnlp", "image": AGENT_IMAGE, "args": "${computer.jnlpmac} ${computer.name}",
                            "tty_enabled": False, "working_dir": "/home/jenkins/agent", "privileged": False,
                            "env_vars": {"B": "2"}, "resource_request_cpu": "100m", "resource_request_memory": "256Mi",
                            "resource_limit_cpu": "1", "resource_limit_memory": "1Gi"}],
            "volumes": [{"type": "host_path", "host_path": "/var/run/docker.sock", "mount_path": "/var/run/docker.sock",
                         "read_only": False},
                        {"type": "empty_dir", "mount_path": "/tmp/scratch", "memory": False},
                        {"type": "config_map", "config_map_name": "jenkins-casc", "mount_path": "/casc"},
                        {"type": "secret", "secret_name": "jenkins-admin", "mount_path": "/admin"},
                        {"type": "pvc", "claim_name": "cache", "mount_path": "/cache", "read_only": True},
                        {"type": "nfs", "server_address": "nfs.example", "server_path": "/export", "mount_path": "/nfs"}],
        }],
    }
    env.cycle_step("jenkins_kubernetes_cloud", full, True, check_first=False)
    env.cycle_step("jenkins_kubernetes_cloud", full, False)
    env.cycle_step("jenkins_kubernetes_cloud", {"name": "full", "state": "absent"}, True, check_first=False)
    # invalid options are rejected before any request
    result, mutating = env.run("jenkins_kubernetes_cloud", dict(SEED_CLOUD, connect_timeout=2))
    assert result["failed"] and "connect_timeout must be at least 5" in result["msg"] and mutating == []


def _export(env):
    """The live JCasC export, read directly (password auth: crumb + session cookie)."""
    import http.cookiejar
    import urllib.request
    auth = "Basic " + base64.b64encode(("admin:" + ADMIN_PASSWORD).encode()).decode()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    request = urllib.request.Request(env.url + "/crumbIssuer/api/json", headers={"Authorization": auth})
    with opener.open(request, timeout=30) as response:
        crumb = json.loads(response.read())
    request = urllib.request.Request(env.url + "/configuration-as-code/export", data=b"", method="POST",
                                     headers={"Authorization": auth, crumb["crumbRequestField"]: crumb["crumb"]})
    with opener.open(request, timeout=30) as response:
        return yaml.safe_load(response.read())


def test_cloud_survives_controller_restart(env):
    old = env.store.list("", "v1", "pods", namespace=NS, label_selector="app=jenkins")[0][0]["metadata"]["name"]
    env.kubectl("-n", NS, "delete", "pod", old, "--wait=false")

    def back():
        pods = env.store.list("", "v1", "pods", namespace=NS, label_selector="app=jenkins")[0]
        if not any(p["metadata"]["name"] != old and p["status"].get("phase") == "Running" for p in pods):
            return False
        try:
            return bool(_export(env))
        except Exception:  # pylint: disable=broad-except  # 503 while starting
            return False
    wait(back, timeout=180, what="a new controller pod serving the JCasC export")
    clouds = [c["kubernetes"] for c in _export(env)["jenkins"]["clouds"]]
    seed = [c for c in clouds if c["name"] == "kubernetes"]
    assert len(seed) == 1 and seed[0]["templates"][0]["name"] == "haimaxy-jnlp"
    assert seed[0]["jenkinsTunnel"] == "jenkins-agent.kube-ops.svc.cluster.local:50000"
    # and the module agrees: nothing to change after the restart
    env.cycle_step("jenkins_kubernetes_cloud", SEED_CLOUD, False)


def test_jenkins_job_cycle(env):
    spec = {"name": "smoke", "label": "haimaxy-jnlp", "shell": ["kubectl get pods -n kube-ops"],
            "description": "smoke"}
    env.cycle_step("jenkins_job", {"name": "smoke", "state": "absent"}, False)
    result, mutating = env.cycle_step("jenkins_job", spec, True)
    assert ("jenkins", "POST", "/createItem") in mutating
    env.cycle_step("jenkins_job", spec, False)
    changed = dict(spec, description="smoke v2", build_discarder={"num_to_keep": 3})
    result, _ = env.cycle_step("jenkins_job", changed, True)
    assert "smoke v2" in result["diff"]["after"] and "smoke v2" not in result["diff"]["before"]
    env.cycle_step("jenkins_job", changed, False)
    env.cycle_step("jenkins_job", {"name": "tmp", "shell": ["true"]}, True, check_first=False)
    env.cycle_step("jenkins_job", {"name": "tmp", "state": "absent"}, True)
    env.cycle_step("jenkins_job", {"name": "tmp", "state": "absent"}, False)


def test_jenkins_build_in_agent_pod(env):
    result, mutating = env.run("jenkins_build", {"name": "smoke"}, check=True)
    assert result["changed"] and "would trigger" in result["msg"] and mutating == []
    args = {"name": "smoke", "timeout": 300, "agent_pods": {"namespace": NS}, "require_pod_deleted": True}
    result, mutating = env.run("jenkins_build", args)
    assert not result.get("failed"), result.get("msg")
    assert result["result"] == "SUCCESS", result.get("console")
    (pod,) = [p for p in result["pods"] if p["build_pod"]]
    assert pod["name"].startswith("haimaxy-jnlp-") and pod["deleted"]
    phases = [t["phase"] for t in pod["timeline"]]
    assert phases[-1] == "Deleted" and "Running" in phases
    # the pod is really gone from the cluster
    pods = env.store.list("", "v1", "pods", namespace=NS, label_selector="jenkins/label=haimaxy-jnlp")[0]
    assert pod["name"] not in [p["metadata"]["name"] for p in pods]
    assert [m for m in mutating if m[0] == "jenkins"] == [("jenkins", "POST", "/job/smoke/build")]


def _installed(env):
    import urllib.request
    request = urllib.request.Request(env.url + "/pluginManager/api/json?tree=plugins[shortName,version]")
    request.add_header("Authorization", "Basic " + base64.b64encode(("admin:" + ADMIN_PASSWORD).encode()).decode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return {p["shortName"]: p["version"] for p in json.loads(response.read())["plugins"]}


def test_jenkins_plugin_cycle(env):
    assert "git" not in _installed(env)
    result, mutating = env.cycle_step("jenkins_plugin", {"name": ["git", "kubernetes"]}, True)
    assert result["installed"][:1] and "git" in result["installed"] and "git-client" in result["installed"]
    assert [m for m in mutating if m[0] == "jenkins"] == [("jenkins", "POST", "/pluginManager/installNecessaryPlugins")]
    assert "git" in _installed(env) and not result["restart_required"]
    env.cycle_step("jenkins_plugin", {"name": ["git", "kubernetes"]}, False)
    env.cycle_step("jenkins_plugin", {"name": ["git", "workflow-aggregator"]}, True)
    assert "workflow-aggregator" in _installed(env)
    env.cycle_step("jenkins_plugin", {"name": ["git", "workflow-aggregator"]}, False)
    # unknown plugin: listed as failed with the reason
    result, _ = env.run("jenkins_plugin", {"name": ["no-such-plugin"]})
    assert result["failed"] and result["failures"][0]["name"] == "no-such-plugin"
    assert "scheduled no installation" in result["failures"][0]["message"]
    # removal needs a restart: safe restart, then Jenkins is back and the plugin gone
    result, mutating = env.cycle_step("jenkins_plugin", {"name": ["workflow-aggregator"], "state": "absent"}, True)
    assert result["removed"] == ["workflow-aggregator"] and result["restarted"]
    assert ("jenkins", "POST", "/safeRestart") in mutating
    assert "workflow-aggregator" not in _installed(env)
    env.cycle_step("jenkins_plugin", {"name": ["workflow-aggregator"], "state": "absent"}, False)


def test_faults_retried_or_reported(env):
    spec = {"name": "faulty", "shell": ["true"]}
    # two 503 answers on a read: retried with backoff, the task succeeds
    env.cluster.faults.add(component="jenkins", method="GET", path_regex=r"^/job/faulty/config\.xml$", count=2,
                           status=503)
    result, _ = env.run("jenkins_job", spec)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"]
    # a 500 on the write is reported with the operation and the object, nothing retried
    env.cluster.faults.add(component="jenkins", method="POST", path_regex=r"^/job/faulty/config\.xml$", count=1,
                           status=500, message="disk full")
    result, mutating = env.run("jenkins_job", dict(spec, description="x"))
    assert result["failed"]
    assert result["msg"].startswith("Failed to update the configuration of job 'faulty': HTTP 500"), result["msg"]
    assert [m for m in mutating if m[0] == "jenkins"] == [("jenkins", "POST", "/job/faulty/config.xml")]
    # wrong password: 401 with a hint, and the password never appears in the output
    result, _ = env.run("jenkins_job", dict(spec, password="wrong-password-123"))
    assert result["failed"] and "HTTP 401" in result["msg"]
    assert "wrong-password-123" not in json.dumps(result)
    env.run("jenkins_job", {"name": "faulty", "state": "absent"})
