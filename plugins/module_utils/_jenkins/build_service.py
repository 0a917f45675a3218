# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""jenkins_build: trigger a build, follow it to the end, and prove the agent pod's lifecycle.

Wire (reference §8): POST /job/X/build?delay=0sec or /buildWithParameters → 201 (303 when
coalesced) with Location .../queue/item/N/; the queue id is taken from that path (never from
nextBuildNumber, which races with other triggers). GET /queue/item/N/api/json until the item has
left the queue (executable {number, url}) or was cancelled; GET /job/X/N/api/json until result;
GET /job/X/N/consoleText. One overall deadline covers queue, build and pod deletion.

Agent pods (optional): a PodWatcher is started BEFORE the trigger (list for a resourceVersion, then
watch), so the pod's creation is never missed; the build's `builtOn` is the agent/pod name
(reference §7.1). On timeout: abort (POST /job/X/N/stop, or cancel the queue item when the build
has not started), cancel (POST /queue/cancelItem?id=N while queued) or none, and the message says
why: the queue's `why` and the pods' last phase and recent events.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import (
    JenkinsError,
    JenkinsNotFound,
)
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.job_service import job_path, validate_name
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import PodWatcher

RESULTS = ("SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT", "ABORTED")
JOB_TREE = "name,buildable,labelExpression,property[parameterDefinitions[name]]"
BUILD_TREE = "number,url,result,building,duration,builtOn,timestamp"
_QUEUE_ITEM = re.compile(r"/queue/item/(\d+)/?$")
_SIMPLE_LABEL = re.compile(r"^[^\s&|!()<>]+$")
MAX_INTERVAL = 10.0


class BuildInputError(JenkinsError):
    """Bad options (raised before any request that changes something)."""


class BuildFailed(JenkinsError):
    """The build ended with an unexpected result, timed out, or the pod lifecycle was not proven."""

    def __init__(self, message, result):
        self.result = result
        super().__init__(message=message)

    def to_result(self):
        out = super().to_result()
        out.update(self.result)
        return out


def sanitize_label(value):
    """PodTemplateUtils#sanitizeLabel: last 57 chars, [^_a-zA-Z0-9-] → '_', bad first/last char → 'x'."""
    if value is None:
        return None
    value = value[-57:]
    value = re.sub(r"[^_a-zA-Z0-9-]", "_", value)
    if value and not value[0].isalnum():
        value = "x" + value[1:]
    if value and not value[-1].isalnum():
        value = value[:-1] + "x"
    return value


def label_selector_for(label_expression):
    """jenkins/label=<sanitized label> when the job's label expression is a single label."""
    if not label_expression or not _SIMPLE_LABEL.match(label_expression.strip()):
        return None
    return "jenkins/label=%s" % sanitize_label(label_expression.strip())


def queue_id_from(location):
    match = _QUEUE_ITEM.search(urlsplit(location or "").path)
    return int(match.group(1)) if match else None


def tail_bytes(text, limit):
    """(text, truncated): the last `limit` bytes of text (UTF-8), cut on a character boundary."""
    data = (text or "").encode("utf-8")
    if limit is None or len(data) <= limit:
        return text or "", False
    return data[len(data) - limit:].decode("utf-8", errors="ignore"), True


def validate(params):
    validate_name(params["name"])
    for option in ("timeout", "poll_interval"):
        if params.get(option) is not None and params[option] <= 0:
            raise BuildInputError(message="%s must be greater than 0, got %s" % (option, params[option]))
    if (params.get("console_max_bytes") or 0) < 0:
        raise BuildInputError(message="console_max_bytes must not be negative")
    unknown = [r for r in params.get("expected_result") or [] if r not in RESULTS]
    if unknown:
        raise BuildInputError(message="expected_result: unknown result %s (use %s)" % (", ".join(unknown), ", ".join(RESULTS)))
    if params.get("require_pod_deleted") and not params.get("agent_pods"):
        raise BuildInputError(message="require_pod_deleted needs agent_pods (namespace and label selector)")
    if params.get("agent_pods") and not params["agent_pods"].get("namespace"):
        raise BuildInputError(message="agent_pods.namespace is required")


class _Run:
    """State of one triggered build (what the result and the failure messages report)."""

    def __init__(self, client, kube, params):
        self.client = client
        self.kube = kube
        self.params = params
        self.name = params["name"]
        self.path = job_path(self.name)
        self.deadline = None
        self.queue_id = None
        self.why = None
        self.number = None
        self.build = {}
        self.watcher = None
        self.interval = params.get("poll_interval") or 2

    def result(self):
        out = {"changed": True, "job": self.name, "queue_id": self.queue_id, "number": self.number,
               "url": self.build.get("url"), "result": self.build.get("result"),
               "duration": self.build.get("duration"), "why": self.why, "console": None,
               "console_truncated": False, "pods": []}
        if self.watcher is not None:
            built_on = self.build.get("builtOn")
            pods = [dict(p, build_pod=(p["name"] == built_on)) for p in self.watcher.pods()
                    if not p["preexisting"] or p["name"] == built_on]
            out["pods"] = sorted(pods, key=lambda p: (p["created"] or "", p["name"]))
        return out

    def remaining(self):
        return self.deadline - self.client.monotonic()

    def pause(self):
        if self.remaining() <= 0:
            raise _Expired()
        self.client.sleep(min(self.interval, max(self.remaining(), 0.1)))
        self.interval = min(self.interval * 1.5, max(MAX_INTERVAL, self.params.get("poll_interval") or 2))


class _Expired(Exception):
    pass


def _read_job(client, name, path):
    try:
        return client.get_json(path + "/api/json", params={"tree": JOB_TREE}, action="read job", target="'%s'" % name)
    except JenkinsNotFound as exc:
        raise JenkinsNotFound(message="Failed to trigger job '%s': no such job" % name, status=404) from exc


def _has_parameters(job):
    for prop in job.get("property") or []:
        if prop and prop.get("parameterDefinitions"):
            return True
    return False


def trigger(run, job):
    params = run.params.get("parameters") or {}
    if params or _has_parameters(job):
        # delay=0sec as for /build: without it the job's quiet period (5 s by default) applies
        # (ParametersDefinitionProperty#_doBuild takes the same TimeDuration delay parameter)
        response = run.client.post(run.path + "/buildWithParameters", params={"delay": "0sec"},
                                   data={k: str(v) for k, v in params.items()},
                                   expected=(200, 201, 303), action="trigger a build of job", target="'%s'" % run.name)
    else:
        response = run.client.post(run.path + "/build", params={"delay": "0sec"}, expected=(200, 201),
                                   action="trigger a build of job", target="'%s'" % run.name)
    run.queue_id = queue_id_from(response.location)
    if run.queue_id is None:
        raise JenkinsError(message="Failed to trigger a build of job '%s': HTTP %s without a queue item Location "
                                   "(got %r)" % (run.name, response.status, response.location))


def follow_queue(run):
    target = "queue item %s of job '%s'" % (run.queue_id, run.name)
    while True:
        try:
            item = run.client.get_json("/queue/item/%s/api/json" % run.queue_id, action="follow", target=target)
        except JenkinsNotFound as exc:
            raise JenkinsError(message="Failed to follow %s: it is gone (Jenkins forgets items 5 minutes after they "
                                       "left the queue)" % target) from exc
        item = item or {}
        if item.get("why"):
            run.why = item["why"]
        if item.get("cancelled"):
            raise BuildFailed("Build of job '%s' was cancelled while queued (queue item %s)%s"
                              % (run.name, run.queue_id, "; last reason: %s" % run.why if run.why else ""), run.result())
        executable = item.get("executable")
        if executable and executable.get("number") is not None:
            run.number = executable["number"]
            run.build = {"url": executable.get("url")}
            run.why = None
            return
        run.pause()


def follow_build(run):
    target = "build #%s of job '%s'" % (run.number, run.name)
    while True:
        build = run.client.get_json("%s/%s/api/json" % (run.path, run.number), params={"tree": BUILD_TREE},
                                    action="follow", target=target) or {}
        run.build = build
        if not build.get("building") and build.get("result"):
            return
        run.pause()


def read_console(run):
    response = run.client.request("GET", "%s/%s/consoleText" % (run.path, run.number), expected=(200,),
                                  action="read the console of", target="build #%s of job '%s'" % (run.number, run.name))
    return tail_bytes(response.text, run.params.get("console_max_bytes"))


def wait_pod_deleted(run):
    name = run.build.get("builtOn")
    if not name:
        raise BuildFailed("Build #%s of job '%s' ran on the built-in node, not on an agent pod" % (run.number, run.name),
                          run.result())
    while True:
        if run.watcher.wait_for(lambda records: (records.get(name) or {}).get("deleted"), 0.2):
            return
        if run.remaining() <= 0:
            raise _Expired()
        run.pause()


def _pod_story(run):
    """'pod P: Pending (Scheduled: ..., Failed: ...)' for the pods seen, newest first."""
    if run.watcher is None:
        return ""
    # give the watch thread a moment to deliver what the API server already sent
    run.watcher.wait_for(lambda records: any(not r["preexisting"] for r in records.values()), 0.5)
    stories = []
    for pod in sorted(run.watcher.pods(), key=lambda p: p["created"] or "", reverse=True)[:3]:
        # a pod that existed before the trigger counts when the build ran on it or the queue waits
        # for it ("'haimaxy-jnlp-x' is offline": an agent left by an earlier build that never connected)
        if pod["preexisting"] and pod["name"] != run.build.get("builtOn") and pod["name"] not in (run.why or ""):
            continue
        phase = pod["timeline"][-1]["phase"] if pod["timeline"] else "unknown"
        try:
            events = run.kube.pod_events(run.watcher.namespace, pod["name"])
        except JenkinsError as exc:
            events = ["events unavailable: %s" % exc]
        story = "pod %s: %s%s" % (pod["name"], phase, " (%s)" % "; ".join(events) if events else "")
        if not pod["deleted"] and phase in ("Running", "Succeeded", "Failed"):
            story += _agent_log(run, pod["name"])
        stories.append(story)
    if run.watcher.error:
        stories.append("the pod watch failed: %s" % run.watcher.error)
    if not stories:
        return "no agent pod matching %s appeared in namespace %s" % (run.watcher.label_selector, run.watcher.namespace)
    return "; ".join(stories)


def _agent_log(run, pod_name):
    """'; log of jnlp: ...' — an agent that started but never came online tells why in its log
    (e.g. 'Could not locate server among [...]' for a wrong jenkinsUrl)."""
    container = (run.params.get("agent_pods") or {}).get("container") or "jnlp"
    try:
        lines = run.kube.pod_log_tail(run.watcher.namespace, pod_name, container=container, lines=3)
    except JenkinsError:
        return ""  # no log (container not started, no pods/log right): the events tell the rest
    return "; last log lines of %s: %s" % (container, " | ".join(line[:300] for line in lines)) if lines else ""


def _on_timeout(run, stage):
    action = run.params.get("on_timeout") or "abort"
    done = "nothing was stopped"
    if action in ("abort", "cancel") and stage == "queue":
        run.client.post("/queue/cancelItem", params={"id": run.queue_id}, expected=(200, 204, 302, 404),
                        action="cancel", target="queue item %s" % run.queue_id)
        done = "the queue item was cancelled"
    elif action == "abort" and stage == "build":
        run.client.post("%s/%s/stop" % (run.path, run.number), expected=(200, 302), action="abort",
                        target="build #%s of job '%s'" % (run.number, run.name))
        done = "the build was aborted"
    timeout = run.params.get("timeout")
    if stage == "queue":
        reason = "still queued after %ss: %s" % (timeout, run.why or "no reason given by the queue")
    elif stage == "build":
        reason = "build #%s still running after %ss" % (run.number, timeout)
    else:
        reason = "agent pod %s was not deleted within %ss" % (run.build.get("builtOn"), timeout)
    story = _pod_story(run)
    message = "Timed out waiting for job '%s': %s; %s%s" % (run.name, reason, done, "; " + story if story else "")
    result = run.result()
    result["why"] = reason if stage != "queue" else run.why
    if run.number is not None:
        try:
            result["console"], result["console_truncated"] = read_console(run)
        except JenkinsError:
            pass  # the timeout is the failure to report
    raise BuildFailed(message, result)


def ensure(client, kube, params, check_mode=False):
    validate(params)
    run = _Run(client, kube, params)
    job = _read_job(client, run.name, run.path) or {}
    if not job.get("buildable", True):
        raise JenkinsError(message="Failed to trigger job '%s': the job is not buildable (disabled?)" % run.name)
    agent_pods = params.get("agent_pods")
    selector = None
    if agent_pods:
        selector = agent_pods.get("label_selector") or label_selector_for(job.get("labelExpression"))
        if not selector:
            raise BuildInputError(message="agent_pods.label_selector is required: the label expression of job '%s' "
                                          "(%r) does not map to a single pod label" % (run.name, job.get("labelExpression")))
    if check_mode:
        out = run.result()
        out["msg"] = "would trigger a build of job '%s'" % run.name
        out["label_selector"] = selector
        return out
    if agent_pods:
        run.watcher = PodWatcher(kube, agent_pods["namespace"], selector).start()
    try:
        return _run(run, job, selector)
    finally:
        if run.watcher is not None:
            run.watcher.stop()


def _run(run, job, selector):
    params = run.params
    trigger(run, job)
    if not params.get("wait", True):
        out = run.result()
        out["label_selector"] = selector
        return out
    run.deadline = run.client.monotonic() + (params.get("timeout") or 600)
    stage = "queue"
    try:
        follow_queue(run)
        stage = "build"
        follow_build(run)
        stage = "pod"
        if params.get("require_pod_deleted"):
            wait_pod_deleted(run)
        elif run.watcher is not None and run.build.get("builtOn"):
            name = run.build["builtOn"]
            run.watcher.wait_for(lambda records: name in records, 1.0)  # let the watch thread catch up
    except _Expired:
        _on_timeout(run, stage)
    out = run.result()
    out["label_selector"] = selector
    out["console"], out["console_truncated"] = read_console(run)
    expected = params.get("expected_result") or ["SUCCESS"]
    if out["result"] not in expected:
        raise BuildFailed("Build #%s of job '%s' finished %s (expected %s)" % (
            run.number, run.name, out["result"], " or ".join(expected)), out)
    return out
