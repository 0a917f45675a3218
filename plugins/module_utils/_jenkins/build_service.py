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
    sets = params.get("parameter_sets")
    if sets is not None:
        if params.get("parameters"):
            raise BuildInputError(message="parameters and parameter_sets are mutually exclusive")
        if not sets:
            raise BuildInputError(message="parameter_sets must name at least one build")
        seen = {}
        for index, one in enumerate(sets):
            if not isinstance(one, dict) or not one:
                raise BuildInputError(message="parameter_sets[%d] must be a non-empty dict of parameters, got %r"
                                              % (index, one))
            key = tuple(sorted((k, str(v)) for k, v in one.items()))
            if key in seen:
                # Queue#schedule2: an item whose ParametersAction equals a queued one's is merged into it
                raise BuildInputError(message="parameter_sets[%d] repeats parameter_sets[%d]: Jenkins merges a trigger "
                                              "with the same parameters into the queued one, so it would not be a "
                                              "separate build" % (index, seen[key]))
            seen[key] = index


class _Run:
    """State of one triggered build (what the result and the failure messages report)."""

    def __init__(self, client, kube, params, parameters=None, watcher=None):
        self.client = client
        self.kube = kube
        self.params = params
        self.parameters = parameters if parameters is not None else params.get("parameters") or {}
        self.finished = False
        self.name = params["name"]
        self.path = job_path(self.name)
        self.deadline = None
        self.queue_id = None
        self.why = None
        self.number = None
        self.build = {}
        self.watcher = watcher
        self.interval = params.get("poll_interval") or 2

    def result(self, own_pod_only=False):
        out = {"changed": True, "job": self.name, "queue_id": self.queue_id, "number": self.number,
               "url": self.build.get("url"), "result": self.build.get("result"),
               "duration": self.build.get("duration"), "why": self.why, "console": None,
               "console_truncated": False, "pods": []}
        if self.params.get("parameter_sets") is not None:
            out["parameters"] = self.parameters
        if self.watcher is not None:
            built_on = self.build.get("builtOn")
            pods = [dict(p, build_pod=(p["name"] == built_on)) for p in self.watcher.pods()
                    if p["name"] == built_on or not (p["preexisting"] or own_pod_only)]
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
    params = run.parameters
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


def poll_queue(run):
    """One look at the queue item: True once it has become a build (run.number set)."""
    target = "queue item %s of job '%s'" % (run.queue_id, run.name)
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
        return True
    return False


def poll_build(run):
    """One look at the build: True once it has a result."""
    target = "build #%s of job '%s'" % (run.number, run.name)
    build = run.client.get_json("%s/%s/api/json" % (run.path, run.number), params={"tree": BUILD_TREE},
                                action="follow", target=target) or {}
    run.build = build
    return bool(not build.get("building") and build.get("result"))


def pod_deleted(run):
    """True once the watch saw the build's pod deleted."""
    name = run.build.get("builtOn")
    if not name:
        raise BuildFailed("Build #%s of job '%s' ran on the built-in node, not on an agent pod" % (run.number, run.name),
                          run.result())
    return run.watcher.wait_for(lambda records: (records.get(name) or {}).get("deleted"), 0.2)


def advance(run):
    """Move a triggered build on as far as one poll of each stage allows; returns the stage it is
    in: 'queue', 'build', 'pod' (waiting for the agent pod's deletion) or 'done'."""
    if run.number is None and not poll_queue(run):
        return "queue"
    if not run.finished:
        if not poll_build(run):
            return "build"
        run.finished = True
    if run.params.get("require_pod_deleted"):
        if not pod_deleted(run):
            return "pod"
    elif run.watcher is not None and run.build.get("builtOn"):
        name = run.build["builtOn"]
        run.watcher.wait_for(lambda records: name in records, 1.0)  # let the watch thread catch up
    return "done"


def read_console(run):
    response = run.client.request("GET", "%s/%s/consoleText" % (run.path, run.number), expected=(200,),
                                  action="read the console of", target="build #%s of job '%s'" % (run.number, run.name))
    return tail_bytes(response.text, run.params.get("console_max_bytes"))


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


def _on_timeout(run, stage, story=True):
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
    story = _pod_story(run) if story else ""
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
    sets = params.get("parameter_sets")
    runs = [_Run(client, kube, params, parameters=one) for one in sets] if sets is not None \
        else [_Run(client, kube, params)]
    name, path = runs[0].name, runs[0].path
    job = _read_job(client, name, path) or {}
    if not job.get("buildable", True):
        raise JenkinsError(message="Failed to trigger job '%s': the job is not buildable (disabled?)" % name)
    agent_pods = params.get("agent_pods")
    selector = None
    if agent_pods:
        selector = agent_pods.get("label_selector") or label_selector_for(job.get("labelExpression"))
        if not selector:
            raise BuildInputError(message="agent_pods.label_selector is required: the label expression of job '%s' "
                                          "(%r) does not map to a single pod label" % (name, job.get("labelExpression")))
    if check_mode:
        if sets is not None:
            return {"changed": True, "job": name, "label_selector": selector, "pods": [],
                    "builds": [run.result() for run in runs],
                    "msg": "would trigger %d builds of job '%s'" % (len(runs), name)}
        out = runs[0].result()
        out["msg"] = "would trigger a build of job '%s'" % name
        out["label_selector"] = selector
        return out
    watcher = PodWatcher(kube, agent_pods["namespace"], selector).start() if agent_pods else None
    for run in runs:
        run.watcher = watcher  # one watch for every build: it was started before the first trigger
    try:
        if sets is None:
            return _run(runs[0], job, selector)
        return _run_many(runs, job, selector)
    finally:
        if watcher is not None:
            watcher.stop()


def _finish(run, selector, own_pod_only=False):
    """The result of a build that ended: console read, result checked against expected_result."""
    out = run.result(own_pod_only=own_pod_only)
    out["label_selector"] = selector
    out["console"], out["console_truncated"] = read_console(run)
    expected = run.params.get("expected_result") or ["SUCCESS"]
    if out["result"] not in expected:
        raise BuildFailed("Build #%s of job '%s' finished %s (expected %s)" % (
            run.number, run.name, out["result"], " or ".join(expected)), out)
    return out


def _run(run, job, selector):
    trigger(run, job)
    if not run.params.get("wait", True):
        out = run.result()
        out["label_selector"] = selector
        return out
    run.deadline = run.client.monotonic() + (run.params.get("timeout") or 600)
    stage = advance(run)
    while stage != "done":
        try:
            run.pause()
        except _Expired:
            _on_timeout(run, stage)
        stage = advance(run)
    return _finish(run, selector)


def _label(run):
    return "%s(%s)" % ("#%s " % run.number if run.number is not None else "",
                       ", ".join("%s=%s" % (k, v) for k, v in sorted(run.parameters.items())))


def _run_many(runs, job, selector):
    """parameter_sets: every build triggered first, then all of them followed together (one poll
    of each per round, one deadline), so N builds take about as long as the slowest one."""
    client, params = runs[0].client, runs[0].params
    for run in runs:
        trigger(run, job)
    out = {"changed": True, "job": runs[0].name, "label_selector": selector}
    if not params.get("wait", True):
        out.update(builds=[dict(run.result(own_pod_only=True), label_selector=selector) for run in runs], pods=[])
        return out
    deadline = client.monotonic() + (params.get("timeout") or 600)
    for run in runs:
        run.deadline = deadline
    interval = params.get("poll_interval") or 2
    stages, failures, timed_out = {}, {}, False
    pending = list(range(len(runs)))
    while True:
        for index in list(pending):
            try:
                stages[index] = advance(runs[index])
            except BuildFailed as exc:
                failures[index] = exc
                stages[index] = "failed"
            if stages[index] in ("done", "failed"):
                pending.remove(index)
        remaining = deadline - client.monotonic()
        if not pending:
            break
        if remaining <= 0:
            timed_out = True
            for index in pending:
                try:
                    _on_timeout(runs[index], stages[index], story=False)
                except BuildFailed as exc:
                    failures[index] = exc
            break
        client.sleep(min(interval, max(remaining, 0.1)))
        interval = min(interval * 1.5, max(MAX_INTERVAL, params.get("poll_interval") or 2))
    builds, problems = [], []
    for index, run in enumerate(runs):
        if index not in failures:
            try:
                builds.append(_finish(run, selector, own_pod_only=True))
                continue
            except BuildFailed as exc:
                failures[index] = exc
        entry = dict(failures[index].result)
        built_on = run.build.get("builtOn")
        entry["pods"] = [p for p in entry.get("pods") or [] if p["name"] == built_on]
        builds.append(entry)
        problems.append("%s: %s" % (_label(run), failures[index].message))
    watched = runs[0].watcher.pods() if runs[0].watcher is not None else []
    built = {run.build.get("builtOn") for run in runs}
    out["builds"] = builds
    out["pods"] = sorted((dict(p, build_pod=p["name"] in built) for p in watched
                          if not p["preexisting"] or p["name"] in built), key=lambda p: (p["created"] or "", p["name"]))
    if problems:
        story = _pod_story(runs[0]) if timed_out else ""
        raise BuildFailed("%d of %d builds of job '%s' did not end as expected: %s%s" % (
            len(problems), len(runs), runs[0].name, "; ".join(problems), "; " + story if story else ""), out)
    return out
