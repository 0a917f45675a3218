# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""A set of Kubernetes objects in one pass (modules kube_objects and kube_objects_info).

What kubernetes.core.k8s does per object and per module run, done for a whole set in one run:

* read each object once (GET), and write only those that differ. "Differ" is decided before any
  request is sent: the object's last-applied annotation (the one kubernetes.core and ``kubectl
  apply`` keep) must equal the desired object, and every field of the desired object must be in the
  live object with the same value. kubernetes.core's apply sends a PATCH even when nothing differs
  (its merge re-sends list fields it has no merge key for), which the server then treats as a no-op;
* the write itself is kubernetes.core's client-side apply (``apply_patch``: three-way merge of
  last-applied, desired and live, sent as a JSON merge patch), so objects stay compatible with
  kubernetes.core.k8s ``apply: true`` and ``kubectl apply``;
* workloads are waited for with kubernetes.core's readiness predicates, and a workload that does not
  become ready is explained (pod conditions, container waiting reasons, unbound claims, events).

The client is the ``kubernetes`` package's DynamicClient (discovery cached on disk by the library).
"""

from __future__ import annotations

import base64
import copy
import json
import time

from ansible.module_utils.common.dict_transformations import dict_merge

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import KubeError, _status_message

try:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError
    HAS_DYNAMIC = True
except ImportError:  # pragma: no cover - reported by the module (missing_required_lib)
    HAS_DYNAMIC = False

    class DynamicApiError(Exception):  # type: ignore[no-redef]
        status = None

    class NotFoundError(DynamicApiError):  # type: ignore[no-redef]
        pass

    class ResourceNotFoundError(Exception):  # type: ignore[no-redef]
        pass

    class ApiException(Exception):  # type: ignore[no-redef]
        status = None

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.apply import (
        LAST_APPLIED_CONFIG_ANNOTATION, annotate, apply_patch)
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.waiter import (
        daemonset_ready, deployment_ready, pod_ready, statefulset_ready)
    HAS_KUBERNETES_CORE = True
except ImportError:  # pragma: no cover - kubernetes.core is a dependency of this collection
    HAS_KUBERNETES_CORE = False
    LAST_APPLIED_CONFIG_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

READY = {
    "Deployment": "deployment_ready",
    "StatefulSet": "statefulset_ready",
    "DaemonSet": "daemonset_ready",
    "Pod": "pod_ready",
}
# Answers worth another try: the API server or a proxy in front of it was briefly unable to answer.
RETRY_STATUS = (429, 500, 502, 503, 504)
MASK = "<hidden>"
NOISE = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")


def ref(obj):
    """'Kind namespace/name' (or 'Kind name' for cluster-scoped objects)."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or obj.get("namespace")
    name = meta.get("name") or obj.get("name")
    return "%s %s" % (obj.get("kind"), "%s/%s" % (ns, name) if ns else name)


def last_applied(desired):
    """The value kubernetes.core's apply (and kubectl) store in the last-applied annotation."""
    return json.dumps(desired, separators=(",", ":"), indent=None, sort_keys=True)


def _scalar_equal(want, have):
    # the API server keeps strings and numbers apart, except for quantities and int-or-string fields
    # it may hand back in the other form; booleans are never equal to numbers (in Python True == 1)
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if want == have:
        return True
    if isinstance(want, (int, float, str)) and isinstance(have, (int, float, str)):
        return str(want) == str(have)
    return False


def first_difference(desired, actual, path=""):
    """The first path where ``actual`` does not carry ``desired`` (a field missing or different),
    or None when every field of ``desired`` is in ``actual`` with the same value. Lists must have
    the same length and match item by item (the server keeps list order)."""
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return path or "."
        for key, value in desired.items():
            if key not in actual:
                if value in (None, {}, []):
                    continue  # an empty value the server drops
                return "%s.%s" % (path, key)
            diff = first_difference(value, actual[key], "%s.%s" % (path, key))
            if diff:
                return diff
        return None
    if isinstance(desired, list):
        if not isinstance(actual, list) or len(desired) != len(actual):
            return path
        for i, (want, have) in enumerate(zip(desired, actual)):
            diff = first_difference(want, have, "%s[%d]" % (path, i))
            if diff:
                return diff
        return None
    return None if _scalar_equal(desired, actual) else (path or ".")


# Where the pod spec sits in each workload kind.
POD_SPEC_PATHS = {"Pod": ("spec",), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}
POD_SPEC_PATHS.update(dict.fromkeys(("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                                     "ReplicationController", "PodTemplate"), ("spec", "template", "spec")))


def _at(obj, path):
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else None


def retain_keys(patch, desired, actual):
    """Give the merge patch the retainKeys semantics of the API's fields that have it (k8s.io/api:
    PodSpec.Volumes ``patchStrategy:"merge,retainKeys"``, apps/v1 DeploymentSpec.Strategy
    ``patchStrategy:"retainKeys"``): keys the definition does not set are cleared, as kubectl apply's
    ``$retainKeys`` directive does. kubernetes.core's apply_patch merges the live item into the patch
    instead, so a volume changed back from emptyDir to its PVC by hand would carry both sources and
    the API server refuses the object ("may not specify more than 1 volume type"); a strategy set
    back to Recreate would keep rollingUpdate ("may not be specified when strategy type is
    'Recreate'")."""
    kind = desired.get("kind")
    path = POD_SPEC_PATHS.get(kind)
    patch_spec = _at(patch, path) if path else None
    if patch_spec and isinstance(patch_spec.get("volumes"), list):
        wanted = {v.get("name"): v for v in (_at(desired, path) or {}).get("volumes") or [] if isinstance(v, dict)}
        patch_spec["volumes"] = [{k: v for k, v in item.items() if k in wanted[item.get("name")]}
                                 if isinstance(item, dict) and item.get("name") in wanted else item
                                 for item in patch_spec["volumes"]]
    if kind == "Deployment":
        strategy = _at(patch, ("spec", "strategy"))
        wanted = _at(desired, ("spec", "strategy"))
        live = _at(actual, ("spec", "strategy")) or {}
        if strategy is not None and wanted is not None:
            for key in live:
                if key not in wanted:
                    strategy[key] = None  # JSON merge patch: null removes the key
    return patch


def secret_as_stored(desired):
    """A Secret as the API server stores it: stringData merged into data (base64), as the
    apiserver's conversion does (k8s.io/kubernetes pkg/apis/core/v1/conversion.go,
    Convert_v1_Secret_To_core_Secret)."""
    if desired.get("kind") != "Secret" or not desired.get("stringData"):
        return desired
    out = copy.deepcopy(desired)
    data = dict(out.get("data") or {})
    for key, value in out.pop("stringData").items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    out["data"] = data
    return out


def up_to_date(desired, actual):
    """(True, None) when no write is needed; else (False, reason)."""
    annotations = (actual.get("metadata") or {}).get("annotations") or {}
    if annotations.get(LAST_APPLIED_CONFIG_ANNOTATION) != last_applied(desired):
        return False, "last-applied configuration differs"
    diff = first_difference(secret_as_stored(desired), actual)
    if diff:
        return False, "live object differs at %s" % diff
    return True, None


def secret_values(obj):
    """Every secret value of a Secret definition (plain and base64), for no_log."""
    values = set()
    if obj.get("kind") != "Secret":
        return values
    for key in ("data", "stringData"):
        for value in (obj.get(key) or {}).values():
            if value in (None, ""):
                continue
            value = str(value)
            values.add(value)
            if key == "data":
                try:
                    values.add(base64.b64decode(value).decode())
                except (ValueError, UnicodeDecodeError):
                    pass
            else:
                values.add(base64.b64encode(value.encode()).decode())
    return values


def for_display(obj):
    """A copy without server bookkeeping and status, Secret values masked."""
    if not obj:
        return {}
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    for key in NOISE:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop(LAST_APPLIED_CONFIG_ANNOTATION, None)
    if not annotations:
        meta.pop("annotations", None)
    out.pop("status", None)
    if out.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if out.get(key):
                out[key] = dict((k, MASK) for k in out[key])
    return out


class ObjectSet:
    """Reads, applies and removes Kubernetes objects through one DynamicClient."""

    def __init__(self, kube, check_mode=False, sleep=time.sleep, clock=time.monotonic, retries=3):
        self.kube = kube
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock
        self.retries = retries
        self._dynamic = None
        self.namespaces_to_create = set()
        # live objects the caller read earlier in the play: used once instead of a GET
        self.known = {}

    def remember(self, obj):
        meta = obj.get("metadata") or {}
        self.known[(obj.get("kind"), meta.get("namespace"), meta.get("name"))] = obj

    # -- plumbing -----------------------------------------------------------------------------

    def dynamic(self):
        if self._dynamic is None:
            if not HAS_DYNAMIC:
                raise KubeError(message="the kubernetes Python library is required")
            if not HAS_KUBERNETES_CORE:
                raise KubeError(message="the kubernetes.core collection is required")
            self._dynamic = self._call("discover the API of", "the cluster",
                                       lambda: DynamicClient(self.kube.api_client()))
        return self._dynamic

    def _call(self, action, target, func):
        """Run one API call; transient answers (429, 5xx, a dropped connection) are tried again up to
        ``retries`` times with a short backoff; anything else fails naming the action, the object
        and what the server answered."""
        delay = 0.5
        for attempt in range(self.retries + 1):
            try:
                return func()
            except NotFoundError:
                raise
            except (DynamicApiError, ApiException) as exc:
                status = getattr(exc, "status", None)
                if status in RETRY_STATUS and attempt < self.retries:
                    self.sleep(delay)
                    delay *= 2
                    continue
                raise KubeError(message="Failed to %s %s: %s" % (action, target, _status_message(exc)),
                                action=action, target=target, status=status) from exc
            except ResourceNotFoundError as exc:
                raise KubeError(message="Failed to %s %s: the API server does not serve this kind (%s)"
                                % (action, target, exc), action=action, target=target) from exc
            except (OSError, ValueError) as exc:
                # urllib3 already retried the connection; a reset after that is worth one more try
                if attempt < self.retries and isinstance(exc, OSError):
                    self.sleep(delay)
                    delay *= 2
                    continue
                raise KubeError(message="Failed to %s %s: %s" % (action, target, exc),
                                action=action, target=target) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def resource(self, api_version, kind, target):
        return self._call("look up the API resource of", target,
                          lambda: self.dynamic().resources.get(api_version=api_version, kind=kind))

    def get(self, api_version, kind, name, namespace, target=None):
        """The live object as a dict, or None when it does not exist."""
        target = target or ref({"kind": kind, "metadata": {"name": name, "namespace": namespace}})
        res = self.resource(api_version, kind, target)
        try:
            inst = self._call("read", target, lambda: self.dynamic().get(
                res, name=name, namespace=namespace if res.namespaced else None))
        except NotFoundError:
            return None
        return inst.to_dict()

    # -- read -------------------------------------------------------------------------------

    def read(self, query):
        """kube_objects_info: one object by name, or a list (label/field selector)."""
        target = ref({"kind": query["kind"], "metadata": {"name": query.get("name") or "*",
                                                          "namespace": query.get("namespace")}})
        res = self.resource(query["api_version"], query["kind"], target)
        namespace = query.get("namespace") if res.namespaced else None
        if query.get("name"):
            obj = self.get(query["api_version"], query["kind"], query["name"], namespace, target)
            return [obj] if obj else []
        try:
            listed = self._call("list", target, lambda: self.dynamic().get(
                res, namespace=namespace, label_selector=query.get("label_selectors") or None,
                field_selector=query.get("field_selectors") or None))
        except NotFoundError:
            return []
        return listed.to_dict().get("items") or []

    # -- present ------------------------------------------------------------------------------

    def present(self, desired):
        """Bring one object to ``desired``. Returns (entry, live object before or None, object after)."""
        target = ref(desired)
        meta = desired.get("metadata") or {}
        res = self.resource(desired["apiVersion"], desired["kind"], target)
        namespace = meta.get("namespace") if res.namespaced else None
        if res.namespaced and not namespace:
            raise KubeError(message="Failed to apply %s: metadata.namespace is required for a namespaced kind"
                            % target, action="apply", target=target)
        dry = {"dry_run": "All"} if self.check_mode else {}
        entry = {"api_version": desired["apiVersion"], "kind": desired["kind"], "name": meta.get("name"),
                 "namespace": namespace}
        if namespace and namespace in self.namespaces_to_create:
            # check mode: the namespace itself would be created first, so the server cannot dry-run
            # objects in it (it answers 404 namespace not found, as a real API server does)
            entry.update(action="created", reason="namespace %s would be created first" % namespace)
            return entry, None, dict(desired)
        actual = self.known.pop((desired["kind"], namespace, meta.get("name")), None)
        if actual is None:
            actual = self.get(desired["apiVersion"], desired["kind"], meta.get("name"), namespace, target)
        if actual is None:
            if self.check_mode and desired["kind"] == "Namespace":
                self.namespaces_to_create.add(meta.get("name"))
            body = dict_merge(desired, annotate(desired))
            try:
                after = self._call("create", target, lambda: self.dynamic().create(
                    res, body=body, namespace=namespace, **dry)).to_dict()
            except NotFoundError as exc:
                raise KubeError(message="Failed to create %s: %s" % (target, _status_message(exc)),
                                action="create", target=target, status=404) from exc
            entry.update(action="created")
            return entry, None, after
        fresh, reason = up_to_date(desired, actual)
        if fresh:
            entry.update(action="unchanged")
            return entry, actual, actual
        patch = retain_keys(apply_patch(actual, desired)[1], desired, actual)
        try:
            after = self._call("update", target, lambda: self.dynamic().patch(
                res, body=patch, name=meta.get("name"), namespace=namespace,
                content_type="application/merge-patch+json", **dry)).to_dict()
        except NotFoundError as exc:
            raise KubeError(message="Failed to update %s: it was deleted while being updated (%s)"
                            % (target, _status_message(exc)), action="update", target=target, status=404) from exc
        changed = for_display(after) != for_display(actual)
        entry.update(action="updated" if changed else "unchanged", reason=reason)
        return entry, actual, after

    # -- absent -------------------------------------------------------------------------------

    def absent(self, spec):
        target = ref(spec)
        res = self.resource(spec["api_version"], spec["kind"], target)
        namespace = spec.get("namespace") if res.namespaced else None
        entry = {"api_version": spec["api_version"], "kind": spec["kind"], "name": spec["name"],
                 "namespace": namespace}
        actual = self.get(spec["api_version"], spec["kind"], spec["name"], namespace, target)
        if actual is None:
            entry.update(action="absent")
            return entry, None
        if not self.check_mode:
            try:
                self._call("delete", target, lambda: self.dynamic().delete(
                    res, name=spec["name"], namespace=namespace,
                    body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}))
            except NotFoundError:
                pass
        entry.update(action="deleted")
        return entry, actual

    def wait_gone(self, spec, timeout):
        deadline = self.clock() + timeout
        while True:
            if self.get(spec["api_version"], spec["kind"], spec["name"], spec.get("namespace")) is None:
                return
            if self.clock() >= deadline:
                raise KubeError(message="Timed out after %ss waiting for %s to be deleted (finalizers or "
                                "dependents still present)" % (timeout, ref(spec)), action="delete", target=ref(spec))
            self.sleep(1)

    # -- wait ---------------------------------------------------------------------------------

    @staticmethod
    def is_ready(obj):
        predicate = READY.get(obj.get("kind"))
        if predicate is None:
            return True
        from kubernetes.dynamic.resource import ResourceInstance
        check = {"deployment_ready": deployment_ready, "statefulset_ready": statefulset_ready,
                 "daemonset_ready": daemonset_ready, "pod_ready": pod_ready}[predicate]
        return check(ResourceInstance(None, obj))

    def wait_ready(self, obj, timeout, sleep=2):
        """Poll until the workload is ready; on timeout fail with what keeps it from being ready."""
        deadline = self.clock() + timeout
        start = self.clock()
        meta = obj["metadata"]
        while not self.is_ready(obj):
            if self.clock() >= deadline:
                raise KubeError(message="Timed out after %ss waiting for %s to become ready: %s"
                                % (timeout, ref(obj), self.explain(obj)), action="wait for", target=ref(obj))
            self.sleep(sleep)
            obj = self.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")) or obj
        return obj, round(self.clock() - start, 1)

    def explain(self, obj):
        """Why a workload is not ready, from its pods, their claims and events (best effort)."""
        try:
            return "; ".join(self._reasons(obj)) or "no pod reports a reason (status: %s)" % json.dumps(
                obj.get("status") or {}, sort_keys=True)[:300]
        except KubeError as exc:
            return "(could not read the pods: %s)" % exc

    def _reasons(self, obj):
        ns = obj["metadata"].get("namespace")
        if obj["kind"] == "Pod":
            pods = [obj]
        else:
            labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            selector = ",".join("%s=%s" % kv for kv in sorted(labels.items()))
            pods = self.read({"api_version": "v1", "kind": "Pod", "namespace": ns, "label_selectors": selector})
        if not pods:
            return ["no pod was created (%s)" % self._events(obj)]
        out = []
        claims = set()
        for pod in pods:
            name = pod["metadata"]["name"]
            status = pod.get("status") or {}
            for cond in status.get("conditions") or []:
                # Ready/ContainersReady "ContainersNotReady" only repeat what the containers say
                if cond.get("status") == "False" and cond.get("reason") not in (None, "ContainersNotReady"):
                    out.append("pod %s %s: %s %s" % (name, cond.get("type"), cond.get("reason"), cond.get("message") or ""))
            for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                state = cs.get("state") or {}
                waiting = state.get("waiting")
                if waiting and waiting.get("reason") not in (None, "PodInitializing", "ContainerCreating"):
                    out.append("container %s of pod %s is waiting: %s %s" % (
                        cs.get("name"), name, waiting.get("reason"), waiting.get("message") or ""))
                last = (cs.get("lastState") or {}).get("terminated")
                if last and last.get("exitCode"):
                    out.append("container %s of pod %s exited with %s (%s)" % (
                        cs.get("name"), name, last.get("exitCode"), last.get("reason") or ""))
            for vol in (pod.get("spec") or {}).get("volumes") or []:
                claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
                if claim:
                    claims.add(claim)
            events = self._events(pod, warnings_only=True)
            if events:
                out.append("events of pod %s: %s" % (name, events))
        for claim in sorted(claims):
            pvc = self.get("v1", "PersistentVolumeClaim", claim, ns)
            if pvc is None:
                out.append("PersistentVolumeClaim %s/%s does not exist" % (ns, claim))
            elif (pvc.get("status") or {}).get("phase") != "Bound":
                out.append("PersistentVolumeClaim %s/%s is %s (%s)" % (
                    ns, claim, (pvc.get("status") or {}).get("phase"), self._events(pvc) or "no events"))
        return [line.strip() for line in out]

    def _events(self, obj, warnings_only=False):
        meta = obj["metadata"]
        selector = "involvedObject.name=%s,involvedObject.kind=%s" % (meta["name"], obj["kind"])
        events = self.read({"api_version": "v1", "kind": "Event", "namespace": meta.get("namespace"),
                            "field_selectors": selector})
        if warnings_only:
            events = [e for e in events if e.get("type") == "Warning"]
        events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return "; ".join("%s: %s" % (e.get("reason"), e.get("message")) for e in events[-3:])
