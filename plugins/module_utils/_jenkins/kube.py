# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""Kubernetes access for the modules, through the `kubernetes` Python client.

Only two jobs (everything else about Kubernetes objects is kubernetes.core's):

* the managed JCasC ConfigMap (architecture §2): read it, merge-patch one key, create it if missing;
* agent pods of a build: list, watch (PodWatcher, a thread), events of a pod.

Options are named as in kubernetes.core: kubeconfig (env K8S_AUTH_KUBECONFIG), context
(env K8S_AUTH_CONTEXT). Without a kubeconfig: in-cluster service account if present, else
~/.kube/config.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes import watch as k8s_watch
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - depends on the environment
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = _exc

    class ApiException(Exception):  # type: ignore[no-redef]
        status = None

    class ConfigException(Exception):  # type: ignore[no-redef]
        pass

_SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


class KubeError(JenkinsError):
    """A Kubernetes API call failed (or the client could not be configured)."""


def _status_message(exc):
    """'HTTP 403 Forbidden: <Status.message>' from an ApiException."""
    import json
    message = ""
    try:
        message = (json.loads(exc.body or "{}") or {}).get("message") or ""
    except (ValueError, TypeError, AttributeError):
        message = (exc.body or "") if isinstance(exc.body, str) else ""
    text = "HTTP %s %s" % (exc.status, exc.reason or "")
    return text.rstrip() + (": %s" % message if message else "")


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        return _iso(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return str(value)


class KubeAccess:
    """Lazily configured Kubernetes client. Nothing is read or connected before the first call."""

    def __init__(self, kubeconfig=None, context=None):
        self.kubeconfig = kubeconfig
        self.context = context
        self._api_client = None

    # -- configuration ----------------------------------------------------------------------

    def api_client(self):
        if self._api_client is None:
            if not HAS_KUBERNETES:
                raise KubeError(message=missing_required_lib("kubernetes"))
            try:
                if self.kubeconfig:
                    if not os.path.exists(self.kubeconfig):
                        raise KubeError(message="kubeconfig %s does not exist" % self.kubeconfig)
                    self._api_client = k8s_config.new_client_from_config(config_file=self.kubeconfig,
                                                                         context=self.context)
                elif os.environ.get("KUBERNETES_SERVICE_HOST") and os.path.exists(_SA_TOKEN) and not self.context:
                    configuration = k8s_client.Configuration()
                    k8s_config.load_incluster_config(client_configuration=configuration)
                    self._api_client = k8s_client.ApiClient(configuration)
                else:
                    self._api_client = k8s_config.new_client_from_config(context=self.context)
            except ConfigException as exc:
                raise KubeError(message="Failed to configure the Kubernetes client: %s" % exc) from exc
        return self._api_client

    def _call(self, action, target, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ApiException as exc:
            raise KubeError(message="Failed to %s %s: %s" % (action, target, _status_message(exc)),
                            action=action, target=target, status=exc.status) from exc
        except (OSError, ValueError) as exc:
            raise KubeError(message="Failed to %s %s: %s" % (action, target, exc), action=action,
                            target=target) from exc

    # -- requests -----------------------------------------------------------------------------

    def send(self, method, path, query=None, body=None, content_type="application/json", accept="application/json",
             timeout=None):
        """One API request without the generated typed API: importing CoreV1Api loads every model
        class (a second or more of a module's run), and plain dicts are all the modules need.
        Returns the urllib3 response, unread (stream it, or read ``.data``); raises ApiException for
        an answer outside 2xx, as the typed API does."""
        api = self.api_client()
        headers = {"Accept": accept, "Content-Type": content_type}
        query = [(key, str(value)) for key, value in (query or {}).items() if value is not None]
        if hasattr(api, "param_serialize"):  # kubernetes >= 35 (pydantic-based generated client)
            request = api.param_serialize(method, path, query_params=query, header_params=headers, body=body,
                                          auth_settings=["BearerToken"])
            response = api.call_api(*request, _request_timeout=timeout)
            if not 200 <= response.status <= 299:
                response.read()
                api.response_deserialize(response, {})  # raises ApiException with the Status body
            return response.response
        # older clients raise ApiException themselves
        return api.call_api(path, method, query_params=query, header_params=headers, body=body,
                            auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True,
                            _request_timeout=timeout)

    def request_json(self, method, path, body=None, content_type="application/json", query=None):
        """send() with a JSON answer, decoded."""
        data = self.send(method, path, query=query, body=body, content_type=content_type).data
        return json.loads(data) if data else None

    # -- ConfigMap ----------------------------------------------------------------------------

    def read_configmap_data(self, namespace, name):
        """data of the ConfigMap, or None when it does not exist."""
        target = "ConfigMap %s/%s" % (namespace, name)
        try:
            obj = self.request_json("GET", "/api/v1/namespaces/%s/configmaps/%s" % (namespace, name))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise KubeError(message="Failed to read %s: %s" % (target, _status_message(exc)),
                            action="read", target=target, status=exc.status) from exc
        except (OSError, ValueError) as exc:
            raise KubeError(message="Failed to read %s: %s" % (target, exc), action="read", target=target) from exc
        return dict((obj or {}).get("data") or {})

    def set_configmap_key(self, namespace, name, key, value, labels=None):
        """Merge-patch data.<key> (None removes it); create the ConfigMap when missing."""
        target = "ConfigMap %s/%s" % (namespace, name)
        body = {"data": {key: value}}
        try:
            return self.request_json("PATCH", "/api/v1/namespaces/%s/configmaps/%s" % (namespace, name), body,
                                     content_type="application/merge-patch+json")
        except ApiException as exc:
            if exc.status != 404:
                raise KubeError(message="Failed to update key %s of %s: %s" % (key, target, _status_message(exc)),
                                action="update", target=target, status=exc.status) from exc
        if value is None:
            return None
        manifest = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": namespace,
                                 "labels": dict(labels or {"app.kubernetes.io/managed-by": "kubeops.jenkins"})},
                    "data": {key: value}}
        return self._call("create", target, self.request_json, "POST", "/api/v1/namespaces/%s/configmaps" % namespace,
                          manifest)

    # -- pods -----------------------------------------------------------------------------------

    def list_pods(self, namespace, label_selector):
        """The PodList (a dict) of the pods matching label_selector."""
        return self._call("list pods in", "namespace %s (%s)" % (namespace, label_selector), self.request_json,
                          "GET", "/api/v1/namespaces/%s/pods" % namespace, query={"labelSelector": label_selector})

    def pod_events(self, namespace, pod_name, limit=5):
        """The most recent events of a pod as 'Reason: message' strings."""
        events = self._call("list events of", "pod %s/%s" % (namespace, pod_name), self.request_json,
                            "GET", "/api/v1/namespaces/%s/events" % namespace,
                            query={"fieldSelector": "involvedObject.name=%s" % pod_name})
        out = []
        for event in (events or {}).get("items") or []:
            stamp = event.get("lastTimestamp") or event.get("eventTime") or \
                (event.get("metadata") or {}).get("creationTimestamp") or ""
            out.append((str(stamp), "%s: %s" % (event.get("reason"), (event.get("message") or "").strip())))
        return [text for _stamp, text in sorted(out)[-limit:]]

    def pod_log_tail(self, namespace, pod_name, container=None, lines=3):
        """The last non-empty lines of a container's log (GET pods/log with tailLines)."""
        response = self._call("read the log of", "pod %s/%s" % (namespace, pod_name), self.send,
                              "GET", "/api/v1/namespaces/%s/pods/%s/log" % (namespace, pod_name),
                              query={"container": container, "tailLines": max(lines, 1) * 4}, accept="*/*")
        text = response.data.decode("utf-8", errors="replace") if isinstance(response.data, bytes) else response.data
        return [line.rstrip() for line in (text or "").splitlines() if line.strip()][-lines:]

    def stream_pods(self, namespace, label_selector, resource_version, timeout_seconds):
        """Watch events (type, pod dict) from resource_version on; ends after timeout_seconds."""
        response = self.send("GET", "/api/v1/namespaces/%s/pods" % namespace,
                             query={"watch": "true", "labelSelector": label_selector,
                                    "resourceVersion": resource_version, "timeoutSeconds": timeout_seconds,
                                    "allowWatchBookmarks": "false"},
                             timeout=timeout_seconds + 30)
        try:
            for line in k8s_watch.watch.iter_resp_lines(response):
                event = json.loads(line)
                yield event.get("type"), event.get("object") or {}
        finally:
            response.close()
            response.release_conn()

    def list_pods_raw(self, namespace, label_selector):
        """(pods as dicts, resourceVersion) for starting a watch."""
        result = self.list_pods(namespace, label_selector) or {}
        return result.get("items") or [], (result.get("metadata") or {}).get("resourceVersion")


def pod_summary(pod):
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    return meta.get("name"), spec.get("nodeName"), status.get("phase"), meta.get("creationTimestamp")


class PodWatcher:
    """Watches pods matching a selector in a background thread and records their lifecycle.

    start() lists the pods (to get a resourceVersion and the pods that already exist) and starts the
    watch thread; call it BEFORE triggering the build so that no event is missed. pods() gives
    [{name, node, timeline: [{phase, time}], created, deleted, preexisting}].
    """

    def __init__(self, kube, namespace, label_selector, clock=time.time, chunk_seconds=5):
        self.kube = kube
        self.namespace = namespace
        self.label_selector = label_selector
        self.chunk_seconds = chunk_seconds
        self._records = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread = None
        self.error = None
        self._resource_version = None
        self._clock = clock

    def start(self):
        items, self._resource_version = self.kube.list_pods_raw(self.namespace, self.label_selector)
        for pod in items:
            self._record("EXISTING", pod)
        self._thread = threading.Thread(target=self._run, name="kubeops-pod-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, wait=2.0):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait)

    def _run(self):
        failures = 0
        while not self._stop.is_set():
            try:
                for kind, pod in self.kube.stream_pods(self.namespace, self.label_selector, self._resource_version,
                                                       self.chunk_seconds):
                    if kind == "ERROR":
                        if (pod or {}).get("code") == 410:  # resourceVersion too old: list again
                            items, self._resource_version = self.kube.list_pods_raw(self.namespace, self.label_selector)
                            for item in items:
                                self._record("RELISTED", item)
                        break
                    self._record(kind, pod)
                    self._resource_version = (pod.get("metadata") or {}).get("resourceVersion") or self._resource_version
                    if self._stop.is_set():
                        return
                failures = 0
            except Exception as exc:  # pylint: disable=broad-except  # keep watching; report the last error
                failures += 1
                self.error = str(exc)
                if failures > 5:
                    return
                self._stop.wait(min(2 ** failures, 10))

    def _record(self, kind, pod):
        name, node, phase, created = pod_summary(pod)
        if not name:
            return
        stamp = now_iso()
        with self._lock:
            record = self._records.get(name)
            if record is None:
                record = {"name": name, "node": node, "timeline": [], "created": _iso(created), "deleted": None,
                          "preexisting": kind == "EXISTING"}
                self._records[name] = record
            if node:
                record["node"] = node
            if phase and (not record["timeline"] or record["timeline"][-1]["phase"] != phase):
                record["timeline"].append({"phase": phase, "time": stamp})
            if kind == "DELETED":
                record["deleted"] = stamp
                record["timeline"].append({"phase": "Deleted", "time": stamp})
            self._changed.notify_all()

    def wait_for(self, predicate, timeout):
        """Wait (real time, at most timeout seconds) until predicate(records by pod name) is true."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            while True:
                if predicate(self._records):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)

    def pods(self):
        with self._lock:
            return [dict(r, timeline=list(r["timeline"])) for r in self._records.values()]

    def pod(self, name):
        with self._lock:
            record = self._records.get(name)
            return dict(record, timeline=list(record["timeline"])) if record else None
