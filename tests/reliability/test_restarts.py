# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matrix rows "restarts": the controller pod is deleted three times (twice while idle, once during
a running build); each time the new pod's Jenkins must come back with the jobs, the build history
and the Kubernetes cloud that were there before (JENKINS_HOME on the PersistentVolume, JCasC from
the ConfigMaps). The fate of the build that was running is stated as observed."""

import json
import time

import pytest

from test_faults import Runner  # noqa: E402  (tests/reliability is on sys.path, see conftest.py)

NS = "kube-ops"
SELECTOR = "app.kubernetes.io/component=jenkins-controller"
JOB = "haimaxy-jnlp-smoke"

pytestmark = pytest.mark.slow


def state(env, runner):
    server = env.jenkins()
    jobs = sorted(j["name"] for j in server.get_jobs())
    builds = sorted(b["number"] for b in server.get_job_info(JOB)["builds"])
    proc = runner.play([dict(runner.jenkins("jenkins_info", gather=["clouds"]), register="r"),
                        {"ansible.builtin.debug": {"msg": "CLOUDS {{ r.clouds | to_json }}"}}])
    assert proc.returncode == 0, proc.stdout[-2000:]
    clouds = [ln for ln in proc.stdout.splitlines() if '"msg": "CLOUDS' in ln]
    return {"jobs": jobs, "builds": builds, "clouds": clouds[-1].split("CLOUDS", 1)[1].strip(' "') if clouds else None}


def delete_pod(env):
    pods = env.kubectl_json("-n", NS, "get", "pods", "-l", SELECTOR)["items"]
    old = [p["metadata"]["name"] for p in pods]
    env.sb.kubectl("-n", NS, "delete", "pod", *old, "--wait=false")
    return old


def back(env, old, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = env.kubectl_json("-n", NS, "get", "pods", "-l", SELECTOR)["items"]
        if any(p["metadata"]["name"] not in old for p in pods):
            break
        time.sleep(1)
    env.wait_jenkins(timeout=timeout)


def test_controller_pod_deleted_three_times(converged, matrix, tmp_path):
    env = converged
    runner = Runner(env, tmp_path)
    before = state(env, runner)
    assert JOB in before["jobs"] and before["builds"] and "kubernetes" in (before["clouds"] or ""), before
    for attempt in (1, 2):
        t0 = time.monotonic()
        old = delete_pod(env)
        back(env, old)
        seconds = time.monotonic() - t0
        after = state(env, runner)
        matrix.record("restarts", "controller pod deleted while idle (%d of 3)" % attempt,
                      "Jenkins back with jobs, history and cloud (PV)",
                      "back in %.1f s; jobs %s; builds %s; clouds %s" % (seconds, after["jobs"], after["builds"], after["clouds"]),
                      seconds, after == before)
    # the third time while a build runs: a job whose step sleeps, on an agent pod
    assert runner.play([runner.jenkins("jenkins_job", name="restart-long", label="haimaxy-jnlp",
                                       shell=["sleep 30"])]).returncode == 0
    server = env.jenkins()
    server.build_job("restart-long")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = [b for b in server.get_running_builds() if b["name"] == "restart-long"]
        if running:
            break
        time.sleep(1)
    assert running, "the build never started on an agent"
    t0 = time.monotonic()
    old = delete_pod(env)
    back(env, old)
    seconds = time.monotonic() - t0
    after = state(env, runner)
    server = env.jenkins()
    info = server.get_job_info("restart-long")
    last = info.get("lastBuild") or {}
    fate = server.get_build_info("restart-long", last["number"]) if last else {}
    agents = env.kubectl_json("-n", NS, "get", "pods", "-l", "jenkins/label=haimaxy-jnlp")["items"]
    matrix.record("restarts", "controller pod deleted during a running build (3 of 3)",
                  "Jenkins back with jobs, history and cloud; the running build's fate stated",
                  "back in %.1f s; jobs, history, cloud intact: %s; the running build #%s: result %s, building %s; "
                  "agent pods left: %d" % (seconds, {k: after[k] for k in ("builds", "clouds")} == {k: before[k] for k in ("builds", "clouds")},
                                           last.get("number"), fate.get("result"), fate.get("building"), len(agents)),
                  seconds, after["builds"] == before["builds"] and after["clouds"] == before["clouds"]
                  and set(before["jobs"]) <= set(after["jobs"]))
    runner.play([runner.jenkins("jenkins_job", name="restart-long", state="absent")])
    assert not matrix.unmet(), matrix.unmet()


def wait_rollout(env, old, timeout=300):
    """Until every controller pod is new and Jenkins answers through the Service."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = env.kubectl_json("-n", NS, "get", "pods", "-l", SELECTOR)["items"]
        if pods and not any(p["metadata"]["name"] in old for p in pods):
            break
        time.sleep(1)
    env.wait_jenkins(timeout=timeout)


def jobs_of(env):
    return sorted(j["name"] for j in env.jenkins().get_jobs())


def test_emptydir_control_case_loses_jobs_and_the_play_puts_the_volume_back(converged, matrix, tmp_path):
    """The control case: JENKINS_HOME switched by hand from the PVC to an emptyDir. A job created
    there is gone after the pod is deleted (what the PV prevents); the controller play then puts the
    PVC back (undoing the drift, not merging it) and the PV's jobs and history return."""
    env = converged
    runner = Runner(env, tmp_path)
    before = state(env, runner)
    deployment = env.kubectl_json("-n", NS, "get", "deployment", "jenkins")
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    index = [v["name"] for v in volumes].index("jenkins-home")
    old = [p["metadata"]["name"] for p in env.kubectl_json("-n", NS, "get", "pods", "-l", SELECTOR)["items"]]
    env.sb.kubectl("-n", NS, "patch", "deployment", "jenkins", "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/template/spec/volumes/%d" % index,
          "value": {"name": "jenkins-home", "emptyDir": {}}}]))
    wait_rollout(env, old)
    on_emptydir = jobs_of(env)
    assert runner.play([runner.jenkins("jenkins_job", name="control-job", shell=["true"],
                                       label="haimaxy-jnlp")]).returncode == 0
    created = "control-job" in jobs_of(env)
    t0 = time.monotonic()
    old = delete_pod(env)
    wait_rollout(env, old)
    seconds = time.monotonic() - t0
    after = jobs_of(env)
    matrix.record("restarts", "control case: JENKINS_HOME on an emptyDir, pod deleted",
                  "jobs and build history lost (what the PV prevents)",
                  "on the emptyDir: jobs %s (the PV's %s not there); control-job created: %s; after the pod was "
                  "deleted: jobs %s" % (on_emptydir, before["jobs"], created, after),
                  seconds, created and "control-job" not in after and JOB not in after)
    t0 = time.monotonic()
    run = env.play(playbook="playbooks/controller.yml")
    wait_rollout(env, [p for p in old])
    seconds = time.monotonic() - t0
    live = env.kubectl_json("-n", NS, "get", "deployment", "jenkins")["spec"]["template"]["spec"]["volumes"][index]
    restored = state(env, runner)
    matrix.record("restarts", "controller play after the control case",
                  "the PVC back in place of the emptyDir (not both); jobs, history, cloud from the PV",
                  "rc=%d; volume %s; jobs %s, builds %s" % (run.rc, json.dumps(live, sort_keys=True), restored["jobs"],
                                                             restored["builds"]),
                  seconds, run.rc == 0 and "emptyDir" not in live and live.get("persistentVolumeClaim")
                  and restored == before)
    assert not matrix.unmet(), matrix.unmet()
