# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matrix rows "faults": a fault injected (sandbox fault injection, on the Jenkins stand-in or the
Kubernetes API server) at the moment a module needs the component, then what the module did: it
recovered by itself, or it failed within its timeout with a message naming the cause. Every row also
checks that no Python traceback reached the user and that nothing hung (each play has a timeout).
The modules run one per small play on one converged sandbox."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NS = "kube-ops"

pytestmark = pytest.mark.slow


class Runner:
    def __init__(self, env, tmp_path):
        self.env = env
        self.tmp = tmp_path
        self.n = 0

    def play(self, tasks, timeout=240, extra=()):
        self.n += 1
        path = self.tmp / ("fault-%d.yml" % self.n)
        path.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                         "tasks": tasks}], sort_keys=False))
        environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                       ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        t0 = time.monotonic()
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(path), *extra], cwd=str(REPO),
                              env=environ, capture_output=True, text=True, timeout=timeout)
        proc.seconds = time.monotonic() - t0
        proc.text = proc.stdout + proc.stderr
        return proc

    def jenkins(self, module, **args):
        base = {"url": self.env.jenkins_url(), "username": "admin", "password": self.env.admin_password()}
        base.update(args)
        return {"kubeops.jenkins.%s" % module: base}

    def kube(self, module, **args):
        args.setdefault("kubeconfig", str(self.env.sb.kubeconfig))
        return {"kubeops.jenkins.%s" % module: args}

    def fault(self, **spec):
        return self.env.sb.admin("POST", "faults", spec)

    def clear(self):
        self.env.sb.admin("DELETE", "faults")

    def since(self, seq, component=None):
        return [e for e in self.env.requests_since(seq) if component is None or e["component"] == component]


def error_message(text):
    """The msg of the first failed task ('fatal: [host]: FAILED! => {...}'), whole."""
    for line in text.splitlines():
        if line.startswith(("fatal:", "failed:")) and "=> {" in line:
            try:
                return str(json.loads(line.split("=> ", 1)[1]).get("msg", ""))
            except ValueError:
                pass
    for line in text.splitlines():
        if '"msg":' in line:
            return line.split('"msg":', 1)[1].strip()
    return text.strip().splitlines()[-1] if text.strip() else ""


def first_error(text, around=None, width=220):
    """error_message() cut to width characters, from its start or around the first of `around`."""
    msg = error_message(text)
    at = msg.find(around) if around else -1
    if at <= 0 or len(msg) <= width:
        return msg[:width]
    return msg[:80] + " … " + msg[max(at - 20, 80):at + width - 100]


@pytest.fixture
def runner(converged, tmp_path):
    r = Runner(converged, tmp_path)
    r.clear()
    yield r
    r.clear()


def record(matrix, row, expected, proc, met, outcome):
    met = met and "Traceback" not in proc.text
    matrix.record("faults", row, expected, outcome + ("" if "Traceback" not in proc.text else " — TRACEBACK shown"),
                  proc.seconds, met)


def test_jenkins_faults(runner, matrix):
    env = runner.env
    # 1. 503 while Jenkins starts: the first answers of /login and /api/json are 503
    seq = env.log_position()
    runner.fault(component="jenkins", method="GET", path_regex="^/(login|api/json)", status=503, count=3,
                 message="Please wait while Jenkins is getting ready to work")
    proc = runner.play([runner.jenkins("jenkins_info", wait=True, wait_timeout=60)])
    codes = [e["status"] for e in runner.since(seq, "jenkins")]
    record(matrix, "Jenkins 503 while starting (3 answers)", "recover", proc,
           proc.returncode == 0 and codes.count(503) == 3,
           "rc=%d; Jenkins answers in order: %s" % (proc.returncode, codes[:8]))

    # 2. connection reset on the module's first read of the Jenkins API. Only its /api/json
    # requests are looked at: the kubelet probes GET /login (anonymous) every few seconds.
    seq = env.log_position()
    runner.fault(component="jenkins", method="GET", path_regex="^/api/json$", drop=True, count=1)
    proc = runner.play([runner.jenkins("jenkins_info")])
    reads = [e["status"] for e in runner.since(seq, "jenkins") if e["path"] == "/api/json"]
    record(matrix, "connection reset on the first Jenkins API read", "recover: the GET is sent again", proc,
           proc.returncode == 0 and reads == [0, 200],
           "rc=%d; GET /api/json answers in order: %s (0 = connection dropped)" % (proc.returncode, reads))

    # 3. crumb expired between two POSTs: the first POST is answered as Jenkins' CrumbFilter does
    seq = env.log_position()
    runner.fault(component="jenkins", method="POST", path_regex="/createItem", status=403, count=1,
                 message="No valid crumb was included in the request")
    proc = runner.play([runner.jenkins("jenkins_job", name="fault-crumb", shell=["true"], label="haimaxy-jnlp")])
    entries = runner.since(seq, "jenkins")
    crumbs = [e for e in entries if e["path"].startswith("/crumbIssuer")]
    posts = [(e["path"].split("?")[0], e["status"]) for e in entries if e["method"] == "POST"]
    exists = "fault-crumb" in [j["name"] for j in env.jenkins().get_jobs()]
    record(matrix, "crumb expired mid-play (403 No valid crumb)", "recover (one crumb refresh)", proc,
           proc.returncode == 0 and exists and len(crumbs) == 2 and [s for _p, s in posts] == [403, 200],
           "rc=%d; crumb requests %d; POSTs %s; job created: %s" % (proc.returncode, len(crumbs), posts, exists))
    runner.play([runner.jenkins("jenkins_job", name="fault-crumb", state="absent")])

    # 4. wrong password: fails at once, names the authentication, does not retry
    seq = env.log_position()
    proc = runner.play([runner.jenkins("jenkins_info", password="Wrong-Password-1")])
    refused = [e for e in runner.since(seq, "jenkins") if e["status"] == 401]
    msg = first_error(proc.stdout)
    record(matrix, "401 with a wrong password", "fail naming authentication, without retrying", proc,
           proc.returncode != 0 and "401" in msg and "Wrong-Password-1" not in proc.text
           and 0 < len(refused) == len({e["path"] for e in refused}) <= 2,  # no request sent again
           "failed in %.1f s; refused: %s; %s" % (proc.seconds, [e["path"] for e in refused], msg))

    # 5. 503 after a restart: Jenkins restarts (safeRestart) and the next task of the same play
    # reads and writes at once, while the restarted Jenkins is still loading
    seq = env.log_position()
    auth = {"user": "admin", "password": env.admin_password(), "force_basic_auth": True}
    proc = runner.play([
        # a password-authenticated POST needs a crumb of the same web session (CrumbFilter)
        dict({"ansible.builtin.uri": dict(auth, url=env.jenkins_url() + "/crumbIssuer/api/json")}, register="crumb"),
        {"ansible.builtin.uri": dict(auth, url=env.jenkins_url() + "/safeRestart", method="POST", status_code=[200, 302, 303],
                                     headers={"Jenkins-Crumb": "{{ crumb.json.crumb }}",
                                              "Cookie": "{{ crumb.cookies_string }}"})},
        runner.jenkins("jenkins_job", name="fault-restart", shell=["true"], label="haimaxy-jnlp")], timeout=300)
    entries = runner.since(seq, "jenkins")
    answers_503 = sum(1 for e in entries if e["status"] == 503)
    exists = "fault-restart" in [j["name"] for j in env.jenkins().get_jobs()]
    record(matrix, "Jenkins 503 after a restart (safeRestart, then the module in the next task)", "recover", proc,
           proc.returncode == 0 and exists and answers_503 > 0,
           "rc=%d; 503 answers while the restarted Jenkins loaded: %d; job created after the restart: %s" % (
               proc.returncode, answers_503, exists))
    env.wait_jenkins()
    runner.play([runner.jenkins("jenkins_job", name="fault-restart", state="absent")])
    assert not matrix.unmet(), matrix.unmet()


def deployment(name, image, claim=None):
    spec = {"containers": [{"name": "c", "image": image, "command": ["sleep", "3600"]}]}
    if claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
        spec["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "fault-test"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fault-test"}}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fault-cm", "namespace": "fault-test"},
             "data": {"a": "1"}}


def test_kubernetes_faults(runner, matrix):
    env = runner.env
    assert runner.play([runner.kube("kube_objects", definitions=[NAMESPACE, CONFIGMAP])]).returncode == 0
    read = runner.kube("kube_objects_info", queries=[{"api_version": "v1", "kind": "Secret", "name": "jenkins-admin",
                                                     "namespace": NS}])
    # 6. API 500 once on a read
    seq = env.log_position()
    runner.fault(component="k8s", method="GET", path_regex="/secrets/jenkins-admin$", status=500, count=1,
                 message="etcdserver: request timed out")
    proc = runner.play([read])
    codes = [e["status"] for e in runner.since(seq, "k8s") if e["path"].endswith("/secrets/jenkins-admin")]
    record(matrix, "Kubernetes API 500 once on a read", "recover", proc, proc.returncode == 0 and codes == [500, 200],
           "rc=%d; answers %s" % (proc.returncode, codes))

    # 7. 409 Conflict on an update
    changed = dict(CONFIGMAP, data={"a": "2"})
    runner.fault(component="k8s", method="PATCH", path_regex="/configmaps/fault-cm$", status=409, count=1,
                 message='Operation cannot be fulfilled on configmaps "fault-cm": the object has been modified; '
                         'please apply your changes to the latest version and try again')
    proc = runner.play([runner.kube("kube_objects", definitions=[changed])])
    msg = first_error(proc.stdout)
    record(matrix, "Kubernetes API 409 Conflict on an update", "fail naming the conflict and the object", proc,
           proc.returncode != 0 and "409" in msg and "fault-test/fault-cm" in msg,
           "failed in %.1f s: %s" % (proc.seconds, msg))

    # 8. latency: 3 s on the reads
    runner.fault(component="k8s", method="GET", path_regex="/configmaps/fault-cm$", status=None, latency=3, count=1)
    proc = runner.play([runner.kube("kube_objects", definitions=[changed])])
    cm = env.kubectl_json("-n", "fault-test", "get", "configmap", "fault-cm")
    record(matrix, "Kubernetes API latency of 3 s", "complete, slower", proc,
           proc.returncode == 0 and cm["data"] == {"a": "2"} and proc.seconds >= 3,
           "rc=%d in %.1f s; ConfigMap updated: %s" % (proc.returncode, proc.seconds, cm["data"]))

    # 9. a PersistentVolumeClaim that never binds (no such StorageClass)
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "never", "namespace": "fault-test"},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "no-such-class",
                    "resources": {"requests": {"storage": "1Gi"}}}}
    proc = runner.play([runner.kube("kube_objects", definitions=[pvc, deployment("unbound", "busybox:1.36", "never")],
                                    wait_timeout=8, wait_sleep=1)])
    msg = first_error(proc.stdout)
    record(matrix, "PersistentVolumeClaim that never binds", "fail within wait_timeout (8 s) naming the claim", proc,
           proc.returncode != 0 and "PersistentVolumeClaim fault-test/never is Pending" in proc.stdout and proc.seconds < 60,
           "failed in %.1f s: %s" % (proc.seconds, msg))

    # 10. an image that cannot be pulled (the controller's case: a Deployment with a wrong tag)
    proc = runner.play([runner.kube("kube_objects", definitions=[deployment("badimage", "jenkins/jenkins-lts-typo:2.479.3")],
                                    wait_timeout=8, wait_sleep=1)])
    msg = first_error(proc.stdout)
    record(matrix, "image that cannot be pulled (controller Deployment, misspelt repository)", "fail within wait_timeout naming the pull error",
           proc, proc.returncode != 0 and ("ImagePullBackOff" in msg or "ErrImagePull" in msg)
           and "jenkins/jenkins-lts-typo:2.479.3" in msg and proc.seconds < 60,
           "failed in %.1f s: %s" % (proc.seconds, msg))
    runner.play([runner.kube("kube_objects", absent=[{"api_version": "v1", "kind": "Namespace", "name": "fault-test"}],
                             wait=False)])
    assert not matrix.unmet(), matrix.unmet()


def test_node_without_kubeconfig_is_restored(converged, matrix):
    node = [n for n in converged.sb.info["nodes"] if n["role"] != "master"][0]
    kube_dir = Path(node["root"]) / "root" / ".kube"
    shutil.rmtree(kube_dir)
    t0 = time.monotonic()
    result = converged.play(playbook="playbooks/kubeconfig.yml")
    seconds = time.monotonic() - t0
    config = kube_dir / "config"
    mode = oct(config.stat().st_mode & 0o777) if config.exists() else None
    matrix.record("faults", "node without /root/.kube", "recover (the kubeconfig play copies it back)",
                  "rc=%d, changed=%d; %s/root/.kube/config back with mode %s" % (result.rc, result.changed, node["name"], mode),
                  seconds, result.rc == 0 and result.changed > 0 and mode == "0o600" and "Traceback" not in result.stdout)
    assert not matrix.unmet(), matrix.unmet()
