# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.kubeops.jenkins.plugins.modules import jenkins_build
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_jenkins import (  # pylint: disable=unused-import
    answer, fake_jenkins, run_module)
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_kube import FakeKube, pod

LABELS = {"jenkins/label": "haimaxy-jnlp", "jenkins": "slave"}
POD = "haimaxy-jnlp-x7k2p"


@pytest.fixture
def kube(monkeypatch):
    k = FakeKube()
    monkeypatch.setattr(jenkins_build, "KubeAccess", lambda kubeconfig, context: k)
    return k


class BuildScript:
    """A job whose build goes: quiet period → waiting for an agent pod → running on the pod → done."""

    def __init__(self, fake, kube, result="SUCCESS", queue_polls=None, build_polls=2, delete_pod=True,
                 label="haimaxy-jnlp", parameters=False, console="Building remotely on %s\nFinished: SUCCESS\n" % POD):
        self.kube = kube
        self.delete_pod = delete_pod
        self.queue = queue_polls if queue_polls is not None else [
            {"_class": "hudson.model.Queue$WaitingItem", "id": 17, "why": "In the quiet period. Expires in 4.9 sec"},
            {"_class": "hudson.model.Queue$BuildableItem", "id": 17, "stuck": True,
             "why": "All nodes of label \u2018haimaxy-jnlp\u2019 are offline"},
            {"_class": "hudson.model.Queue$LeftItem", "id": 17, "cancelled": False, "why": None,
             "executable": {"number": 3, "url": "https://jenkins.example.com/job/smoke/3/"}},
        ]
        self.build_polls = build_polls
        self.result = result
        prop = [{"parameterDefinitions": [{"name": "P"}]}] if parameters else [{}]
        fake.on("GET", "/job/smoke/api/json", answer(200, {"name": "smoke", "buildable": True,
                                                           "labelExpression": label, "property": prop}))
        location = {"Location": "http://jenkins.kube-ops.svc:8080/queue/item/17/"}
        fake.on("POST", "/job/smoke/build", answer(201, "", headers=location))
        fake.on("POST", "/job/smoke/buildWithParameters", answer(201, "", headers=location))
        fake.on("GET", "/queue/item/17/api/json", handler=self.queue_item)
        fake.on("GET", "/job/smoke/3/api/json", handler=self.build)
        fake.on("GET", "/job/smoke/3/consoleText", answer(200, console, content_type="text/plain;charset=UTF-8"))
        fake.on("POST", "/job/smoke/3/stop", answer(302, ""))
        fake.on("POST", "/queue/cancelItem", answer(204, ""))
        self.polls = 0

    def queue_item(self, request):  # pylint: disable=unused-argument
        item = self.queue.pop(0) if len(self.queue) > 1 else self.queue[0]
        if "stuck" in item:
            self.kube.push("ADDED", pod(POD, "Pending", labels=LABELS))
            self.kube.push("MODIFIED", pod(POD, "Pending", node="node1", labels=LABELS))
        return answer(200, item)

    def build(self, request):  # pylint: disable=unused-argument
        self.polls += 1
        if self.polls == 1:
            self.kube.push("MODIFIED", pod(POD, "Running", node="node1", labels=LABELS))
        if self.polls < self.build_polls:
            return answer(200, {"number": 3, "building": True, "result": None, "duration": 0, "builtOn": POD,
                                "url": "https://jenkins.example.com/job/smoke/3/"})
        if self.delete_pod and self.polls == self.build_polls:
            self.kube.push("MODIFIED", pod(POD, "Succeeded", node="node1", labels=LABELS))
            self.kube.push("DELETED", pod(POD, "Succeeded", node="node1", labels=LABELS))
        return answer(200, {"number": 3, "building": False, "result": self.result, "duration": 5321, "builtOn": POD,
                            "url": "https://jenkins.example.com/job/smoke/3/"})


ARGS = dict(name="smoke", agent_pods=dict(namespace="kube-ops"), require_pod_deleted=True)


def test_build_with_pod_lifecycle(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube)
    result, failed = run_module(jenkins_build.main, ARGS)
    assert not failed, result
    assert result["changed"] and result["result"] == "SUCCESS" and result["number"] == 3 and result["queue_id"] == 17
    assert result["duration"] == 5321 and result["console"].endswith("Finished: SUCCESS\n")
    assert result["label_selector"] == "jenkins/label=haimaxy-jnlp"
    (agent,) = result["pods"]
    assert agent["name"] == POD and agent["node"] == "node1" and agent["build_pod"]
    assert [t["phase"] for t in agent["timeline"]] == ["Pending", "Running", "Succeeded", "Deleted"]
    assert agent["deleted"] and agent["created"] == "2026-11-24T15:00:00Z"
    # the queue item was followed from the Location path, the build never guessed
    paths = [r.path for r in fake_jenkins.requests]
    assert "/queue/item/17/api/json" in paths and not any("nextBuildNumber" in str(r.query) for r in fake_jenkins.requests)
    assert [r.path for r in fake_jenkins.mutating()] == ["/job/smoke/build"]
    assert fake_jenkins.mutating()[0].query == {"delay": "0sec"}
    # polling backs off
    sleeps = fake_jenkins.clock.sleeps
    assert sleeps[0] == 2 and sleeps[1] == 3.0


def test_check_mode_does_not_trigger(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube)
    result, failed = run_module(jenkins_build.main, ARGS, check_mode=True)
    assert not failed and result["changed"] and result["msg"] == "would trigger a build of job 'smoke'"
    assert fake_jenkins.mutating() == [] and not kube.watch_started.is_set()


def test_unexpected_result_fails_with_console(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, result="FAILURE", console="+ docker info\nerror\nFinished: FAILURE\n")
    result, failed = run_module(jenkins_build.main, dict(name="smoke"))
    assert failed and result["msg"] == "Build #3 of job 'smoke' finished FAILURE (expected SUCCESS)"
    assert "Finished: FAILURE" in result["console"] and result["number"] == 3
    result, failed = run_module(jenkins_build.main, dict(name="smoke", expected_result=["SUCCESS", "FAILURE"]))
    assert not failed


def test_parameters(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, parameters=True)
    result, failed = run_module(jenkins_build.main, dict(name="smoke", parameters={"TARGET": "staging", "N": 2}))
    assert not failed
    (trigger,) = fake_jenkins.mutating()
    assert trigger.path == "/job/smoke/buildWithParameters" and trigger.form == {"TARGET": "staging", "N": "2"}
    assert trigger.query == {"delay": "0sec"}, "without delay=0sec the job's quiet period applies"


def test_parameterised_job_without_parameters_uses_defaults(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, parameters=True)
    result, failed = run_module(jenkins_build.main, dict(name="smoke"))
    assert not failed and fake_jenkins.mutating()[0].path == "/job/smoke/buildWithParameters"


def test_wait_false(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube)
    result, failed = run_module(jenkins_build.main, dict(name="smoke", wait=False))
    assert not failed and result["queue_id"] == 17 and result["number"] is None
    assert fake_jenkins.calls("GET", "/queue/item/17/api/json") == []


def test_console_tail_kept(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, console="x" * 1000 + "Finished: SUCCESS\n")
    result, failed = run_module(jenkins_build.main, dict(name="smoke", console_max_bytes=20))
    assert result["console"] == "xxFinished: SUCCESS\n" and result["console_truncated"]


def test_timeout_in_queue_cancels_and_says_why(fake_jenkins, kube):
    stuck = [{"_class": "hudson.model.Queue$BuildableItem", "id": 17, "stuck": True,
              "why": "All nodes of label \u2018haimaxy-jnlp\u2019 are offline"}]
    BuildScript(fake_jenkins, kube, queue_polls=stuck)
    kube.fake_core.events.append({"metadata": {"namespace": "kube-ops"}, "involvedObject": {"name": POD},
                                  "reason": "Failed", "message": 'Failed to pull image "jenkins/inbound-agent:nope"',
                                  "lastTimestamp": "2026-11-24T15:00:03Z"})
    result, failed = run_module(jenkins_build.main, dict(ARGS, timeout=30, on_timeout="cancel"))
    assert failed
    assert result["msg"].startswith("Timed out waiting for job 'smoke': still queued after 30s: All nodes of label "
                                    "\u2018haimaxy-jnlp\u2019 are offline; the queue item was cancelled")
    assert "pod %s: Pending (Failed: Failed to pull image" % POD in result["msg"]
    assert [r.path for r in fake_jenkins.mutating()] == ["/job/smoke/build", "/queue/cancelItem"]
    assert fake_jenkins.mutating()[1].query == {"id": "17"}
    assert sum(fake_jenkins.clock.sleeps) <= 30


def test_timeout_with_agent_that_never_connects_quotes_its_log(fake_jenkins, kube):
    """An agent pod that runs but never comes online (wrong jenkinsUrl): its log says why."""
    BuildScript(fake_jenkins, kube)
    offline = {"_class": "hudson.model.Queue$BuildableItem", "id": 17, "why": "\u2018%s\u2019 is offline" % POD}

    def queue_item(request):  # pylint: disable=unused-argument
        kube.push("ADDED", pod(POD, "Pending", labels=LABELS))
        kube.push("MODIFIED", pod(POD, "Running", node="node1", labels=LABELS))
        return answer(200, offline)
    fake_jenkins.on("GET", "/queue/item/17/api/json", handler=queue_item)
    kube.fake_core.logs[("kube-ops", POD)] = (
        "INFO: Locating server among [http://jenkins.wrong-ns.svc.cluster.local:8080/]\n\n"
        "SEVERE: Could not locate server among [http://jenkins.wrong-ns.svc.cluster.local:8080/]: "
        "jenkins.wrong-ns.svc.cluster.local: Name or service not known\n")
    result, failed = run_module(jenkins_build.main, dict(ARGS, timeout=30))
    assert failed
    assert ("pod %s: Running; last log lines of jnlp: INFO: Locating server among "
            "[http://jenkins.wrong-ns.svc.cluster.local:8080/] | SEVERE: Could not locate server" % POD) in result["msg"]
    assert "log" in kube.fake_core.calls


def test_timeout_names_a_preexisting_offline_agent_the_queue_waits_for(fake_jenkins, kube):
    stale = "haimaxy-jnlp-old01"
    kube.fake_core.pods[("kube-ops", stale)] = pod(stale, "Running", node="node2", labels=LABELS)
    kube.fake_core.pods[("kube-ops", "unrelated")] = pod("unrelated", "Running", node="node2", labels=LABELS)
    kube.fake_core.logs[("kube-ops", stale)] = "SEVERE: Could not locate server among [http://wrong/]\n"
    stuck = [{"_class": "hudson.model.Queue$BuildableItem", "id": 17, "why": "\u2018%s\u2019 is offline" % stale}]
    BuildScript(fake_jenkins, kube)
    fake_jenkins.on("GET", "/queue/item/17/api/json", answer(200, stuck[0]))
    result, failed = run_module(jenkins_build.main, dict(ARGS, timeout=30))
    assert failed
    assert "pod %s: Running; last log lines of jnlp: SEVERE: Could not locate server" % stale in result["msg"]
    assert "unrelated" not in result["msg"] and "no agent pod" not in result["msg"]


def test_timeout_log_unreadable_is_left_out(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, delete_pod=False)
    args = dict(ARGS, timeout=40, agent_pods=dict(namespace="kube-ops", container="agent"))
    result, failed = run_module(jenkins_build.main, args)
    assert failed and "pod %s: Running" % POD in result["msg"] and "last log lines" not in result["msg"]
    assert "log" in kube.fake_core.calls, "the log was asked for (404 here) and its absence not reported as a failure"


def test_timeout_while_building_aborts(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, build_polls=10 ** 6)
    result, failed = run_module(jenkins_build.main, dict(name="smoke", timeout=60))
    assert failed and "build #3 still running after 60s; the build was aborted" in result["msg"]
    assert fake_jenkins.mutating()[-1].path == "/job/smoke/3/stop"
    assert result["console"] is not None


def test_timeout_none_leaves_build(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, build_polls=10 ** 6)
    result, failed = run_module(jenkins_build.main, dict(name="smoke", timeout=20, on_timeout="none"))
    assert failed and "nothing was stopped" in result["msg"]
    assert [r.path for r in fake_jenkins.mutating()] == ["/job/smoke/build"]


def test_pod_not_deleted_fails(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, delete_pod=False)
    result, failed = run_module(jenkins_build.main, dict(ARGS, timeout=40))
    assert failed
    assert "agent pod %s was not deleted within 40s" % POD in result["msg"]
    assert "pod %s: Running" % POD in result["msg"]
    assert result["result"] == "SUCCESS" and result["pods"][0]["deleted"] is None


def test_cancelled_in_queue(fake_jenkins, kube):
    cancelled = [{"_class": "hudson.model.Queue$LeftItem", "id": 17, "cancelled": True, "executable": None, "why": None}]
    BuildScript(fake_jenkins, kube, queue_polls=cancelled)
    result, failed = run_module(jenkins_build.main, dict(name="smoke"))
    assert failed and "was cancelled while queued (queue item 17)" in result["msg"]


def test_job_missing(fake_jenkins, kube):
    result, failed = run_module(jenkins_build.main, dict(name="smoke"))
    assert failed and result["msg"] == "Failed to trigger job 'smoke': no such job"
    assert fake_jenkins.mutating() == []


def test_label_expression_needs_selector(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, label="linux && docker")
    result, failed = run_module(jenkins_build.main, ARGS)
    assert failed and "agent_pods.label_selector is required" in result["msg"]
    assert fake_jenkins.mutating() == []


def test_trigger_without_location(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube)
    fake_jenkins.on("POST", "/job/smoke/build", answer(201, ""))
    result, failed = run_module(jenkins_build.main, dict(name="smoke"))
    assert failed and "without a queue item Location" in result["msg"]


@pytest.mark.parametrize("args, message", [
    (dict(name="smoke", timeout=0), "timeout must be greater than 0"),
    (dict(name="smoke", poll_interval=-1), "poll_interval must be greater than 0"),
    (dict(name="smoke", expected_result=["GREEN"]), "unknown result GREEN"),
    (dict(name="smoke", require_pod_deleted=True), "require_pod_deleted needs agent_pods"),
    (dict(name="smoke", agent_pods=dict(label_selector="a=b")), "namespace"),
    (dict(name="smoke", agent_pods=dict(namespace="x", bogus=1)), "bogus"),
    (dict(name="smoke", on_timeout="kill"), "on_timeout"),
])
def test_bad_input_rejected_before_any_request(fake_jenkins, kube, args, message):
    result, failed = run_module(jenkins_build.main, args)
    assert failed and message in result["msg"]
    assert fake_jenkins.requests == []


def test_watch_failure_is_reported(fake_jenkins, kube):
    BuildScript(fake_jenkins, kube, delete_pod=False)

    def broken(*args, **kwargs):
        raise RuntimeError('pods is forbidden: User "ci" cannot watch resource "pods"')
        yield  # pragma: no cover  # pylint: disable=unreachable

    kube.stream_pods = broken
    result, failed = run_module(jenkins_build.main, dict(ARGS, timeout=20))
    assert failed and "agent pod %s was not deleted within 20s" % POD in result["msg"]
    assert 'the pod watch failed: pods is forbidden: User "ci" cannot watch resource "pods"' in result["msg"]


class ManyBuilds:
    """A concurrent, parameterised job: trigger i gets queue item 100+i, which becomes build i+1 on
    pod agent-i after `queue_polls` looks; builds of RUN=fail end FAILURE; RUN=stuck never leaves the queue."""

    def __init__(self, fake, kube, queue_polls=2):
        self.fake, self.kube, self.queue_polls = fake, kube, queue_polls
        self.triggers, self.looks = [], {}
        fake.on("GET", "/job/load/api/json", answer(200, {"name": "load", "buildable": True, "labelExpression": "haimaxy-jnlp",
                                                          "property": [{"parameterDefinitions": [{"name": "RUN"}]}]}))
        fake.on("POST", "/job/load/buildWithParameters", handler=self.trigger)
        fake.on("POST", "/queue/cancelItem", answer(204, ""))
        for i in range(4):
            fake.on("GET", "/queue/item/%d/api/json" % (100 + i), handler=self.queue_item)
            fake.on("GET", "/job/load/%d/api/json" % (i + 1), handler=self.build)
            fake.on("GET", "/job/load/%d/consoleText" % (i + 1), answer(200, "run %d\n" % i, content_type="text/plain"))

    def trigger(self, request):
        self.triggers.append(dict(request.form))
        return answer(201, "", headers={"Location": "http://j/queue/item/%d/" % (99 + len(self.triggers))})

    def queue_item(self, request):
        qid = int(request.path.split("/")[3])
        i = qid - 100
        self.looks[qid] = self.looks.get(qid, 0) + 1
        if self.triggers[i]["RUN"] == "stuck" or self.looks[qid] < self.queue_polls:
            return answer(200, {"id": qid, "why": "Waiting for next available executor on \u2018haimaxy-jnlp\u2019"})
        if self.looks[qid] == self.queue_polls:
            self.kube.push("ADDED", pod("agent-%d" % i, "Running", node="node1", labels=LABELS))
        return answer(200, {"id": qid, "executable": {"number": i + 1, "url": "http://j/job/load/%d/" % (i + 1)}})

    def build(self, request):
        number = int(request.path.split("/")[3])
        i = number - 1
        self.kube.push("DELETED", pod("agent-%d" % i, "Succeeded", node="node1", labels=LABELS))
        result = "FAILURE" if self.triggers[i]["RUN"] == "fail" else "SUCCESS"
        return answer(200, {"number": number, "building": False, "result": result, "duration": 10,
                            "builtOn": "agent-%d" % i, "url": "http://j/job/load/%d/" % number})


MANY = dict(name="load", agent_pods=dict(namespace="kube-ops"), require_pod_deleted=True)


def test_parameter_sets_trigger_all_first_then_follow_them_together(fake_jenkins, kube):
    script = ManyBuilds(fake_jenkins, kube)
    result, failed = run_module(jenkins_build.main, dict(MANY, parameter_sets=[{"RUN": "0"}, {"RUN": "1"}, {"RUN": 2}]))
    assert not failed, result
    assert script.triggers == [{"RUN": "0"}, {"RUN": "1"}, {"RUN": "2"}]
    paths = [r.path for r in fake_jenkins.requests]
    assert all(p.endswith("buildWithParameters") for p in paths[1:4]), "every trigger before the first poll"
    assert [(b["parameters"], b["number"], b["result"], b["console"]) for b in result["builds"]] == [
        ({"RUN": "0"}, 1, "SUCCESS", "run 0\n"), ({"RUN": "1"}, 2, "SUCCESS", "run 1\n"), ({"RUN": 2}, 3, "SUCCESS", "run 2\n")]
    assert [[p["name"] for p in b["pods"]] for b in result["builds"]] == [["agent-0"], ["agent-1"], ["agent-2"]]
    assert all(b["pods"][0]["deleted"] and b["pods"][0]["build_pod"] for b in result["builds"])
    assert sorted(p["name"] for p in result["pods"]) == ["agent-0", "agent-1", "agent-2"]
    # followed together: one round of polls per sleep, not one build after the other
    assert len(fake_jenkins.clock.sleeps) == 1, fake_jenkins.clock.sleeps


def test_parameter_sets_failure_names_each_build_and_keeps_the_others(fake_jenkins, kube):
    ManyBuilds(fake_jenkins, kube)
    result, failed = run_module(jenkins_build.main, dict(MANY, timeout=30, parameter_sets=[
        {"RUN": "0"}, {"RUN": "fail"}, {"RUN": "stuck"}]))
    assert failed
    assert result["msg"].startswith("2 of 3 builds of job 'load' did not end as expected: ")
    assert "#2 (RUN=fail): Build #2 of job 'load' finished FAILURE (expected SUCCESS)" in result["msg"]
    assert "(RUN=stuck): Timed out waiting for job 'load': still queued after 30s" in result["msg"]
    assert [b["result"] for b in result["builds"]] == ["SUCCESS", "FAILURE", None]
    assert [r.path for r in fake_jenkins.mutating()].count("/queue/cancelItem") == 1
    assert sum(fake_jenkins.clock.sleeps) <= 30


@pytest.mark.parametrize("args,message", [
    (dict(parameter_sets=[{"RUN": "1"}, {"RUN": 1}]), "parameter_sets[1] repeats parameter_sets[0]"),
    (dict(parameter_sets=[]), "parameter_sets must name at least one build"),
    (dict(parameter_sets=[{}]), "parameter_sets[0] must be a non-empty dict"),
    (dict(parameter_sets=[{"RUN": "1"}], parameters={"RUN": "2"}), "mutually exclusive"),
])
def test_parameter_sets_rejected_before_any_request(fake_jenkins, kube, args, message):
    ManyBuilds(fake_jenkins, kube)
    result, failed = run_module(jenkins_build.main, dict(MANY, **args))
    assert failed and message in result["msg"], result["msg"]
    assert fake_jenkins.requests == []


def test_parameter_sets_check_mode(fake_jenkins, kube):
    script = ManyBuilds(fake_jenkins, kube)
    result, failed = run_module(jenkins_build.main, dict(MANY, parameter_sets=[{"RUN": "0"}, {"RUN": "1"}]),
                                check_mode=True)
    assert not failed and result["changed"] and result["msg"] == "would trigger 2 builds of job 'load'"
    assert script.triggers == [] and fake_jenkins.mutating() == []
