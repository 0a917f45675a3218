"""core/v1 Events as the control-plane components record them.

Shape and naming follow client-go tools/record/event.go (makeEvent: name "<obj>.<unixnano hex>",
involvedObject from the reference, source component/host, count, first/lastTimestamp) and the
aggregation of identical events of events_cache.go (EventCorrelator: same object, reason, message
and source -> count++ and lastTimestamp instead of a new object).
"""

import logging
import threading
import time

from sandbox.k8s.controllers.util import now_iso

log = logging.getLogger("sandbox.k8s.events")

NORMAL = "Normal"
WARNING = "Warning"

# well-known components
SCHEDULER = "default-scheduler"
KUBELET = "kubelet"
RS_CONTROLLER = "replicaset-controller"
DEPLOYMENT_CONTROLLER = "deployment-controller"
STS_CONTROLLER = "statefulset-controller"
DS_CONTROLLER = "daemonset-controller"
JOB_CONTROLLER = "job-controller"
PV_CONTROLLER = "persistentvolume-controller"
EP_CONTROLLER = "endpoint-controller"
NS_CONTROLLER = "namespace-controller"
GC_CONTROLLER = "garbage-collector-controller"

_KIND_API = {
    "Pod": "v1", "Node": "v1", "PersistentVolume": "v1", "PersistentVolumeClaim": "v1",
    "Service": "v1", "Namespace": "v1", "Endpoints": "v1",
    "Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1", "Job": "batch/v1",
}


class EventRecorder:
    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._cache = {}        # key -> (namespace, event name, count)

    def record(self, obj, event_type, reason, message, component, host=None, field_path=None,
               kind=None):
        """Create (or aggregate into) an Event about ``obj``. Never raises."""
        try:
            self._record(obj, event_type, reason, message, component, host, field_path, kind)
        except Exception as exc:  # events are best effort, as in client-go (dropped on error)
            if getattr(exc, "code", None) in (403, 404, 409):
                log.debug("event %s dropped: %s", reason, exc)   # e.g. namespace terminating
            else:
                log.exception("recording event %s/%s failed", reason, message)

    def _record(self, obj, event_type, reason, message, component, host, field_path, kind):
        md = obj.get("metadata") or {}
        kind = kind or obj.get("kind") or "Pod"
        namespace = md.get("namespace") or "default"
        involved = {
            "kind": kind,
            "namespace": md.get("namespace") or "",
            "name": md.get("name"),
            "uid": md.get("uid"),
            "apiVersion": obj.get("apiVersion") or _KIND_API.get(kind, "v1"),
            "resourceVersion": md.get("resourceVersion"),
        }
        if not md.get("namespace"):
            involved.pop("namespace")
        if field_path:
            involved["fieldPath"] = field_path
        source = {"component": component}
        if host:
            source["host"] = host
        key = (involved["uid"], kind, involved["name"], field_path, reason, message, component, host)
        ts = now_iso()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            ns, name, count = cached
            try:
                ev = self.store.get("", "v1", "events", ns, name)
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = ts
                self.store.update("", "v1", "events", ev)
                with self._lock:
                    self._cache[key] = (ns, name, ev["count"])
                return
            except Exception:
                pass   # gone (namespace deleted, TTL) -> create a new one
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "%s.%x" % (md.get("name"), time.time_ns()), "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": ts,
            "lastTimestamp": ts,
            "count": 1,
            "type": event_type,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        created = self.store.create("", "v1", "events", event)
        with self._lock:
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = (namespace, created["metadata"]["name"], 1)
