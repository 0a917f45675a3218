# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matrix rows about agent pods, on one converged sandbox, through the collection's own playbooks:

* concurrency: 20 builds triggered at once (one jenkins_build task with parameter_sets) with the cloud's containerCap set
  to 5 by the kubernetes_cloud play: 20 SUCCESS, 20 distinct agent pods, never more than 5 at a time
  (counted by a pod watch of the test, not by the play), none left afterwards;
* faults: an agent that never connects (wrong jenkinsUrl), an agent image that cannot be pulled, a
  ConfigMap change slow to reach the controller pod (the kubelet's sync delay, set through the
  sandbox's run-time options) — within and beyond the cloud role's sync_timeout.

Each fault play runs the kubernetes_cloud and smoke_build playbooks with one variable changed, as a
user would; the last step puts the cloud back and proves it with a smoke build."""

import threading
import time
from pathlib import Path

import pytest
import requests
import yaml
from kubernetes import client, config, watch

from test_faults import error_message, first_error  # noqa: E402  (tests/reliability is on sys.path, see conftest.py)

REPO = Path(__file__).resolve().parents[2]
NS = "kube-ops"
AGENTS = "jenkins/label=haimaxy-jnlp"
BUILDS = 20
CAP = 5

pytestmark = pytest.mark.slow


def playbook(tmp_path, name, plays):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return str(path)


def cloud_and_smoke(tmp_path):
    return playbook(tmp_path, "cloud-and-smoke.yml", [
        {"ansible.builtin.import_playbook": str(REPO / "playbooks" / "kubernetes_cloud.yml")},
        {"ansible.builtin.import_playbook": str(REPO / "playbooks" / "smoke_build.yml")}])


class PodCounter:
    """Watches the agent pods (kubernetes client watch) and keeps the most agents that existed at
    once: pods created and not yet marked for deletion."""

    def __init__(self, kubeconfig):
        self.api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        self.live, self.seen, self.most = set(), set(), 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        listed = self.api.list_namespaced_pod(NS, label_selector=AGENTS)
        self.version = listed.metadata.resource_version
        self.live = {p.metadata.name for p in listed.items if not p.metadata.deletion_timestamp}
        self.most = len(self.live)
        self.thread.start()
        return self

    def run(self):
        while not self.stop.is_set():
            w = watch.Watch()
            for event in w.stream(self.api.list_namespaced_pod, NS, label_selector=AGENTS,
                                  resource_version=self.version, timeout_seconds=5):
                pod = event["object"]
                self.version = pod.metadata.resource_version
                name = pod.metadata.name
                if event["type"] == "ADDED":
                    self.seen.add(name)
                # the cap is on agents (KubernetesProvisioningLimits): a pod marked for deletion
                # (its agent ended, the container is stopping) no longer holds a place
                if event["type"] == "DELETED" or pod.metadata.deletion_timestamp:
                    self.live.discard(name)
                elif name not in self.live:
                    self.live.add(name)
                    self.most = max(self.most, len(self.live))
                if self.stop.is_set():
                    w.stop()

    def close(self):
        self.stop.set()
        self.thread.join(10)


def test_concurrent_builds_with_container_cap(converged, matrix, tmp_path):
    env = converged
    kubeconfig = str(env.sb.kubeconfig)
    cap = env.play(playbook="playbooks/kubernetes_cloud.yml", extra_vars={"kubernetes_cloud_container_cap": CAP})
    assert cap.rc == 0, cap.tail()
    plays = [{"name": "20 builds at once", "hosts": "kube_master[0]", "gather_facts": False, "tasks": [
        {"ansible.builtin.include_role": {"name": "kubeops.jenkins.controller", "tasks_from": "connection"}},
        {"kubeops.jenkins.jenkins_job": {
            "url": "{{ controller_api.url }}", "username": "{{ controller_api.username }}",
            "password": "{{ controller_api.password }}", "name": "concurrent", "label": "haimaxy-jnlp",
            "concurrent": True, "parameters": [{"name": "RUN"}],
            "shell": ['echo "run $RUN on $NODE_NAME"\nsleep 8']}},
        # one task: every build triggered first, then all followed together (parameter_sets)
        {"kubeops.jenkins.jenkins_build": {
            "url": "{{ controller_api.url }}", "username": "{{ controller_api.username }}",
            "password": "{{ controller_api.password }}", "name": "concurrent",
            "parameter_sets": [{"RUN": str(i)} for i in range(BUILDS)],
            "timeout": 600, "agent_pods": {"namespace": NS}, "require_pod_deleted": True, "kubeconfig": kubeconfig},
         "register": "done"},
        {"ansible.builtin.copy": {"dest": str(tmp_path / "builds.yml"), "content": "{{ done.builds | map(attribute="
                                  "'result') | zip(done.builds | map(attribute='pods')) | list | to_nice_yaml }}"}}]}]
    counter = PodCounter(kubeconfig).start()
    t0 = time.monotonic()
    try:
        run = env.play(playbook=playbook(tmp_path, "concurrent.yml", plays))
        seconds = time.monotonic() - t0
    finally:
        counter.close()
    assert run.rc == 0, run.tail()
    results = yaml.safe_load((tmp_path / "builds.yml").read_text())
    succeeded = sum(1 for result, _pods in results if result == "SUCCESS")
    build_pods = {p["name"] for _result, pods in results for p in pods if p["build_pod"] and p["deleted"]}
    left = env.kubectl_json("-n", NS, "get", "pods", "-l", AGENTS)["items"]
    matrix.record("concurrency", "%d builds triggered at once" % BUILDS,
                  "%d SUCCESS on %d distinct agent pods, each deleted, none left" % (BUILDS, BUILDS),
                  "%d SUCCESS; %d distinct build pods seen deleted by jenkins_build; %d agent pods created (watch); "
                  "%d left" % (succeeded, len(build_pods), len(counter.seen), len(left)),
                  seconds, succeeded == BUILDS and len(build_pods) == BUILDS and not left)
    matrix.record("concurrency", "containerCap %d during the %d builds" % (CAP, BUILDS),
                  "%d agent pods at a time, never more (builds wait in the queue)" % CAP,
                  "at most %d agent pods at once, not counting pods already terminating (pod watch): the cap was reached and "
                  "held" % counter.most if counter.most == CAP else "at most %d agent pods at once (pod watch)" % counter.most,
                  seconds, counter.most == CAP)
    assert not matrix.unmet(), matrix.unmet()


def test_agent_faults(converged, matrix, tmp_path):
    env = converged
    both = cloud_and_smoke(tmp_path)
    try:
        # 1. an agent that never connects: jenkinsUrl in a namespace that does not exist
        t0 = time.monotonic()
        run = env.play(playbook=both, extra_vars={
            "kubernetes_cloud_jenkins_url": "http://jenkins.wrong-ns.svc.cluster.local:8080", "smoke_build_timeout": 30})
        seconds = time.monotonic() - t0
        msg = error_message(run.stdout)
        matrix.record("faults", "agent that never connects (wrong jenkinsUrl)",
                      "fail within smoke_build_timeout (30 s, the role's minimum) naming the agent's error",
                      "rc=%d in %.1f s: %s" % (run.rc, seconds, first_error(run.stdout, "last log lines")), seconds,
                      run.rc != 0 and "still queued after 30s" in msg and "Could not locate server" in msg
                      and "jenkins.wrong-ns.svc.cluster.local" in msg and "Traceback" not in run.stdout)

        clear_agents(env)

        # 2. an agent image that cannot be pulled
        image = "jenkins/inbound-agnt:3385.vf1123fb_515da_-1"
        t0 = time.monotonic()
        run = env.play(playbook=both, extra_vars={"kubernetes_cloud_agent_image": image, "smoke_build_timeout": 30})
        seconds = time.monotonic() - t0
        msg = error_message(run.stdout)
        matrix.record("faults", "agent image that cannot be pulled",
                      "fail within smoke_build_timeout (30 s, the role's minimum) naming the pull error and the image",
                      "rc=%d in %.1f s: %s" % (run.rc, seconds, first_error(run.stdout, "Failed to pull")), seconds,
                      run.rc != 0 and "still queued after 30s" in msg and ("ErrImagePull" in msg or "ImagePullBackOff" in msg)
                      and image in msg and "Traceback" not in run.stdout)

        clear_agents(env)

        # 3. a ConfigMap change slow to reach the pod (kubelet sync 10 s; sync_timeout 180 s)
        env.sb.admin("POST", "options", {"configmap_sync_delay": 10})
        seq = env.log_position()
        t0 = time.monotonic()
        run = env.play(playbook="playbooks/kubernetes_cloud.yml", extra_vars={"kubernetes_cloud_container_cap": 7})
        seconds = time.monotonic() - t0
        reloads = [e for e in env.requests_since(seq) if e["method"] == "POST"
                   and e["path"].startswith("/configuration-as-code/reload")]
        cap = live_container_cap(env)
        matrix.record("faults", "ConfigMap change slow to reach the pod (kubelet sync 10 s)",
                      "recover: reload until the live configuration shows the change",
                      "rc=%d in %.1f s; JCasC reloads %d; live containerCap %s" % (run.rc, seconds, len(reloads), cap),
                      seconds, run.rc == 0 and cap == "7" and len(reloads) >= 2 and seconds >= 10)

        # 4. ... slower than the role's sync_timeout (sync 30 s, sync_timeout 10 s)
        env.sb.admin("POST", "options", {"configmap_sync_delay": 30})
        t0 = time.monotonic()
        run = env.play(playbook="playbooks/kubernetes_cloud.yml", extra_vars={
            "kubernetes_cloud_container_cap": 6, "kubernetes_cloud_sync_timeout": 10})
        seconds = time.monotonic() - t0
        msg = error_message(run.stdout)
        matrix.record("faults", "ConfigMap change slower than sync_timeout (sync 30 s, timeout 10 s)",
                      "fail after sync_timeout naming the kubelet sync",
                      "rc=%d in %.1f s: %s" % (run.rc, seconds, first_error(run.stdout, width=300)), seconds,
                      run.rc != 0 and "still differs 10s after writing" in msg and "kubelet has not synced it yet" in msg
                      and "containerCapStr" in msg and seconds < 60)
    finally:
        env.sb.admin("POST", "options", {"configmap_sync_delay": 2})
    # back to the defaults: the same playbooks without the faulty variables, with a smoke build
    t0 = time.monotonic()
    run = env.play(playbook=both, extra_vars={"smoke_build_always": True})
    seconds = time.monotonic() - t0
    cap = live_container_cap(env)
    matrix.record("faults", "re-run after the agent and ConfigMap faults", "cloud back to the defaults, smoke build SUCCESS",
                  "rc=%d in %.1f s; live containerCap %s" % (run.rc, seconds, cap), seconds,
                  run.rc == 0 and cap == "10" and "SUCCESS" in run.stdout)
    assert not matrix.unmet(), matrix.unmet()


def clear_agents(env, timeout=60):
    """Delete the agent pods a failed fault left (the plugin would only after slaveConnectTimeout,
    100 s here): the next row must not find the queue waiting for an earlier row's offline agent."""
    env.sb.kubectl("-n", NS, "delete", "pods", "-l", AGENTS, "--wait=false")
    deadline = time.monotonic() + timeout
    while env.kubectl_json("-n", NS, "get", "pods", "-l", AGENTS)["items"] and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)  # the plugin's Reaper removes the agents of deleted pods


def live_container_cap(env):
    """containerCapStr of the live cloud, from Jenkins' JCasC export (not from the play's output)."""
    server = env.jenkins()
    exported = server.jenkins_request(requests.Request("POST", env.jenkins_url() + "/configuration-as-code/export")).text
    for cloud in (yaml.safe_load(exported).get("jenkins") or {}).get("clouds") or []:
        if "kubernetes" in cloud:
            return str(cloud["kubernetes"].get("containerCapStr"))
    return None
