"""The sandbox's object store: an in-memory stand-in for etcd + the generic registry.

Thread-safe. Objects are plain dicts in their API JSON form; everything returned is a deep copy,
so callers may modify results freely.

Contract (docs/dev/architecture.md §3.1)::

    store.get(group, version, plural, namespace, name) -> dict            # ApiError 404
    store.list(group, version, plural, namespace=None, label_selector=None,
               field_selector=None) -> (items, resource_version)
    store.create(group, version, plural, obj, dry_run=False) -> dict
    store.update(group, version, plural, obj, subresource=None, dry_run=False) -> dict
    store.delete(group, version, plural, namespace, name, propagation=None,
                 grace_period=None) -> dict
    store.watch(group, version, plural, namespace=None, resource_version=None,
                label_selector=None) -> Watch   # iterate (type, obj); .stop()
    store.subscribe(callback)   # callback(event_type, group, version, plural, obj)

Semantics worth knowing (all modelled on the upstream generic registry,
staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go):

* ``resourceVersion`` is one global counter (like the etcd revision); every write bumps it.
  A write that changes nothing (after defaulting) is a no-op: no new resourceVersion, no event
  (etcd3 store GuaranteedUpdate skips identical data).
* ``update`` with ``metadata.resourceVersion`` set must match the stored one, else 409 Conflict
  ("the object has been modified; ..."); without it the update is unconditional.
* For kinds with a status subresource, a main-resource update keeps the stored ``status`` and an
  update with ``subresource="status"`` changes only ``status`` (plus labels/annotations are NOT
  taken from a status update, as upstream's PrepareForUpdate of status strategies).
* ``metadata.generation`` starts at 1 and is bumped when anything outside metadata/status changes
  (for kinds that keep a generation: workloads, CRDs, custom resources ...).
* ``delete``: objects with finalizers, and pods bound to a node and not terminated (graceful
  deletion, pkg/registry/core/pod/strategy.go CheckGracefulDelete), only get
  ``deletionTimestamp`` (+ ``deletionGracePeriodSeconds``) and stay until the finalizers are
  removed / the kubelet deletes them again with ``grace_period=0``. ``propagation="Foreground"``
  adds the ``foregroundDeletion`` finalizer, ``"Orphan"`` the ``orphan`` finalizer (the garbage
  collector removes them). An update that empties the finalizers of an object being deleted with
  grace 0 removes it (store.go ShouldDeleteDuringUpdate).
* Namespaces: delete sets ``deletionTimestamp`` and ``status.phase: Terminating``; the namespace
  controller empties ``spec.finalizers`` with ``update(..., subresource="finalize")``, which removes
  the namespace once metadata.finalizers is empty too. Creating objects in a missing namespace is
  404, in a terminating one 403 (NamespaceLifecycle admission).
* Creating a Namespace also creates its ``default`` ServiceAccount and the ``kube-root-ca.crt``
  ConfigMap (the serviceaccounts and root-ca-cert-publisher controllers do that upstream).
* Watch: ``resource_version=None`` or ``"0"`` first replays the current objects as ADDED;
  ``"N"`` replays history after N from a ring buffer, or raises 410 Gone
  ("too old resource version: N (M)") when N was compacted away (``store.compact()``).
"""
import copy
import datetime
import json
import queue
import random
import threading
import uuid
from collections import deque

from .api import errors
from .api import strategy
from .api.errors import ApiError  # noqa: F401  (part of the contract: store.ApiError)
from .api.resources import Registry
from .api.selectors import parse_field_selector, parse_label_selector


def now_rfc3339(offset_seconds=0):
    t = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    t += datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _random_suffix(n=5):
    # apiserver names.SimpleNameGenerator: utilrand.String(5) alphabet "bcdfghjklmnpqrstvwxz2456789"
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


class Watch:
    """A watch on one resource type. Iterate for ``(type, obj)``; ``next(timeout)`` returns
    ``None`` on timeout; ``stop()`` ends it. ``type`` is ADDED, MODIFIED, DELETED or ERROR."""

    _STOP = object()

    def __init__(self, store, key, namespace, label_selector, field_selector):
        self._store = store
        self.key = key
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self._queue = queue.Queue()
        self.stopped = False

    def _matches(self, obj):
        if obj is None:
            return False
        meta = obj.get("metadata", {})
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if self.label_selector and not self.label_selector.matches(meta.get("labels")):
            return False
        if self.field_selector and not self.field_selector.matches(obj):
            return False
        return True

    def _offer(self, etype, obj, old):
        # Selector transitions become ADDED/DELETED, as the apiserver's cacher does
        # (staging/src/k8s.io/apiserver/pkg/storage/cacher/cache_watcher.go convertToWatchEvent).
        cur = self._matches(obj)
        prev = self._matches(old) if old is not None else False
        if etype == "MODIFIED":
            if cur and prev:
                self._queue.put(("MODIFIED", obj))
            elif cur:
                self._queue.put(("ADDED", obj))
            elif prev:
                self._queue.put(("DELETED", obj))
        elif cur:
            self._queue.put((etype, obj))

    def next(self, timeout=None):
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is self._STOP:
            self.stopped = True
            return StopIteration
        return item[0], copy.deepcopy(item[1])

    def __iter__(self):
        while not self.stopped:
            item = self.next()
            if item is StopIteration:
                return
            if item is not None:
                yield item

    def stop(self):
        self._store._remove_watch(self)
        self._queue.put(self._STOP)


class Store:
    """In-memory, thread-safe API object store. See module docstring."""

    def __init__(self, history=5000):
        self.registry = Registry()
        self._lock = threading.RLock()
        self._objects = {}        # (group, plural) -> {(namespace, name): obj}
        self._rv = 0
        self._history = deque(maxlen=history)   # (rv, type, key, obj, old)
        self._compacted_rv = 0   # can resume a watch from any rv >= this
        self._watches = []
        self._subscribers = []
        self._dispatch_q = queue.Queue()
        self._dispatcher = None
        # set by the Cluster
        self.ca_pem = ""
        self.token_signer = None          # callable(namespace, sa_name, sa_uid, secret=None) -> token
        self.cluster_ip_range = ("10.96.0.0", 12)
        self._ips = set()
        self._node_ports = set()

    # ------------------------------------------------------------------ helpers
    @property
    def resource_version(self):
        """The current global resourceVersion (string)."""
        with self._lock:
            return str(self._rv)

    def resource(self, group, version, plural):
        res = self.registry.get(group, version, plural)
        if res is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return res

    def _bucket(self, res):
        return self._objects.setdefault(res.key, {})

    def _stored(self, res, namespace, name):
        ns = namespace if res.namespaced else ""
        return self._objects.get(res.key, {}).get((ns or "", name))

    def _emit(self, etype, res, obj, old=None):
        rv = self._rv
        # watch events carry apiVersion/kind like every API object (clients decoding
        # unstructured events, e.g. kubectl's informers, need them)
        obj = self._out(res, obj)
        if old is not None:
            old = self._out(res, old)
        self._history.append((rv, etype, res.key, obj, old))
        if len(self._history) == self._history.maxlen:
            self._compacted_rv = self._history[0][0] - 1
        for w in list(self._watches):
            if w.key == res.key:
                w._offer(etype, obj, old)
        if self._subscribers:
            self._dispatch_q.put((etype, res.group, res.version, res.plural, obj))

    def _out(self, res, obj):
        out = copy.deepcopy(obj)
        out["apiVersion"] = res.api_version
        out["kind"] = res.kind
        return out

    # ------------------------------------------------------------------ read
    def get(self, group, version, plural, namespace, name):
        """One object (deep copy); ApiError 404 NotFound if absent."""
        res = self.resource(group, version, plural)
        with self._lock:
            obj = self._stored(res, namespace, name)
            if obj is None:
                raise errors.not_found(group, plural, name)
            return self._out(res, obj)

    def list(self, group, version, plural, namespace=None, label_selector=None, field_selector=None):
        """(items sorted by namespace/name, resourceVersion string). Selectors are strings in
        the URL syntax (or parsed selector objects)."""
        res = self.resource(group, version, plural)
        lsel = parse_label_selector(label_selector) if label_selector else None
        fsel = parse_field_selector(field_selector, group, plural) if field_selector else None
        with self._lock:
            items = []
            for (ns, _name), obj in sorted(self._objects.get(res.key, {}).items()):
                if namespace and res.namespaced and ns != namespace:
                    continue
                if lsel and not lsel.matches(obj["metadata"].get("labels")):
                    continue
                if fsel and not fsel.matches(obj):
                    continue
                items.append(self._out(res, obj))
            return items, str(self._rv)

    # ------------------------------------------------------------------ create
    def create(self, group, version, plural, obj, dry_run=False, field_manager=None):
        """Create ``obj``; sets uid, resourceVersion, creationTimestamp, generation, defaults.
        409 AlreadyExists, 422 Invalid, 404/403 for a missing/terminating namespace."""
        res = self.resource(group, version, plural)
        obj = copy.deepcopy(obj)
        with self._lock:
            created = self._create_locked(res, obj, dry_run, field_manager)
            return self._out(res, created)

    def _create_locked(self, res, obj, dry_run, field_manager, managed_fields=None):
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if res.namespaced:
            ns = meta.get("namespace") or ""
            if not ns:
                raise errors.bad_request("the namespace of the provided object does not match "
                                         "the namespace sent on the request")
            self._admit_namespace(res, ns, meta.get("name") or meta.get("generateName") or "")
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            for _ in range(10):
                meta["name"] = meta["generateName"] + _random_suffix()
                if self._stored(res, meta.get("namespace"), meta["name"]) is None:
                    break
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        strategy.prepare_create(self, res, obj)
        strategy.validate_create(self, res, obj)
        name = meta["name"]
        key = (meta.get("namespace", "") if res.namespaced else "", name)
        if key in self._bucket(res):
            raise errors.already_exists(res.group, res.plural, name)
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(k, None)
        if res.generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if managed_fields is not None:
            meta["managedFields"] = managed_fields
        elif field_manager:
            from .api import managedfields
            meta["managedFields"] = managedfields.update_managed_fields(
                res, None, obj, field_manager, subresource=None)
        else:
            meta.pop("managedFields", None)
        if not meta.get("managedFields"):
            meta.pop("managedFields", None)
        strategy.allocate(self, res, obj, None, dry_run)
        if dry_run:
            meta["resourceVersion"] = ""
            return obj
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        stored = self._strip(obj)
        self._bucket(res)[key] = stored
        self._emit("ADDED", res, stored)
        strategy.after_create(self, res, stored)
        return stored

    def _strip(self, obj):
        obj = copy.deepcopy(obj)
        obj.pop("apiVersion", None)
        obj.pop("kind", None)
        return obj

    def _admit_namespace(self, res, ns, name):
        # plugin/pkg/admission/namespace/lifecycle/admission.go
        nsobj = self._objects.get(("", "namespaces"), {}).get(("", ns))
        if nsobj is None:
            raise errors.not_found("", "namespaces", ns)
        if nsobj["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(res.group, res.plural, name,
                                   "unable to create new content in namespace %s because it is "
                                   "being terminated" % ns)

    # ------------------------------------------------------------------ update
    def update(self, group, version, plural, obj, subresource=None, dry_run=False, field_manager=None):
        """Replace an object (PUT semantics). 404 if absent; 409 on a stale resourceVersion;
        ``subresource`` is None, "status", "finalize" (namespaces) or "scale"-style callers
        should use ``guaranteed_update``."""
        res = self.resource(group, version, plural)
        obj = copy.deepcopy(obj)
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") if res.namespaced else ""
        name = meta.get("name")
        if not name:
            raise errors.invalid(res.group, res.kind, "", [errors.FieldError(
                "Required", "metadata.name", detail="name is required")])
        with self._lock:
            old = self._stored(res, ns, name)
            if old is None:
                raise errors.not_found(group, plural, name)
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.stale(group, plural, name)
            return self._out(res, self._update_locked(res, old, obj, subresource, dry_run, field_manager))

    def guaranteed_update(self, group, version, plural, namespace, name, fn, subresource=None,
                          dry_run=False, field_manager=None, create_if_missing=False):
        """Atomically read-modify-write: ``fn(current_copy_or_None) -> new object`` runs under
        the store lock (used for patches and server-side apply). If the object does not exist
        and ``create_if_missing``, ``fn(None)``'s result is created. ``fn`` may return
        ``(obj, managed_fields)`` to set managedFields explicitly."""
        res = self.resource(group, version, plural)
        with self._lock:
            old = self._stored(res, namespace, name)
            if old is None and not create_if_missing:
                raise errors.not_found(group, plural, name)
            cur = self._out(res, old) if old is not None else None
            result = fn(cur)
            managed = None
            if isinstance(result, tuple):
                result, managed = result
            if old is None:
                result.setdefault("metadata", {})
                if res.namespaced:
                    result["metadata"]["namespace"] = namespace
                result["metadata"]["name"] = result["metadata"].get("name") or name
                return self._out(res, self._create_locked(res, result, dry_run, field_manager, managed))
            rv = (result.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.stale(group, plural, name)
            return self._out(res, self._update_locked(res, old, result, subresource, dry_run,
                                                      field_manager, managed))

    def _update_locked(self, res, old, new, subresource, dry_run, field_manager, managed=None):
        new = copy.deepcopy(new)
        new["apiVersion"] = res.api_version
        new["kind"] = res.kind
        oldc = self._out(res, old)
        meta = new.setdefault("metadata", {})
        ometa = oldc["metadata"]
        # identity and server-owned fields cannot be changed by updates
        for k in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "selfLink"):
            if k in ometa:
                meta[k] = ometa[k]
            else:
                meta.pop(k, None)
        if "generation" in ometa:
            meta["generation"] = ometa["generation"]
        if managed is None and "managedFields" not in meta and "managedFields" in ometa:
            meta["managedFields"] = ometa["managedFields"]
        if subresource in ("status",) and res.has_status:
            # status strategies: only status changes (pkg/registry/*/strategy.go statusStrategy)
            merged = copy.deepcopy(oldc)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            if managed is not None or "managedFields" in meta:
                merged["metadata"]["managedFields"] = meta.get("managedFields")
            new = merged
            meta = new["metadata"]
        elif subresource == "binding" and res.plural == "pods":
            # only the fields the binding sets (see bind)
            merged = copy.deepcopy(oldc)
            merged.setdefault("spec", {})["nodeName"] = (new.get("spec") or {}).get("nodeName")
            merged["status"] = new.get("status") or {}
            new = merged
            meta = new["metadata"]
        elif subresource == "finalize" and res.plural == "namespaces":
            merged = copy.deepcopy(oldc)
            merged.setdefault("spec", {})["finalizers"] = (new.get("spec") or {}).get("finalizers") or []
            new = merged
            meta = new["metadata"]
        elif subresource is None or subresource in ("scale",):
            if res.has_status:
                if "status" in oldc:
                    new["status"] = oldc["status"]
                else:
                    new.pop("status", None)
        strategy.prepare_update(self, res, oldc, new, subresource)
        strategy.validate_update(self, res, oldc, new, subresource)
        if res.generation and subresource not in ("status",):
            if strategy.spec_of(oldc) != strategy.spec_of(new):
                meta["generation"] = ometa.get("generation", 1) + 1
        if managed is not None:
            meta["managedFields"] = managed
        elif field_manager:
            from .api import managedfields
            meta["managedFields"] = managedfields.update_managed_fields(
                res, oldc, new, field_manager, subresource=subresource)
        strategy.allocate(self, res, new, oldc, dry_run)
        meta["resourceVersion"] = ometa["resourceVersion"]
        if meta.get("managedFields") in (None, []):
            meta.pop("managedFields", None)
        if self._strip(new) == self._strip(oldc):
            return old  # no-op update: no new resourceVersion, no event
        if dry_run:
            return new
        key = (ometa.get("namespace", "") if res.namespaced else "", ometa["name"])
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        stored = self._strip(new)
        # store.go ShouldDeleteDuringUpdate: finalizers emptied on an object deleted with grace 0
        if (meta.get("deletionTimestamp") and not meta.get("finalizers")
                and (meta.get("deletionGracePeriodSeconds") in (0, None))
                and self._finalized(res, stored)):
            del self._bucket(res)[key]
            self._emit("DELETED", res, stored, old)
            strategy.after_delete(self, res, stored)
            return stored
        self._bucket(res)[key] = stored
        self._emit("MODIFIED", res, stored, old)
        strategy.after_update(self, res, old, stored)
        return stored

    def _finalized(self, res, obj):
        if res.plural == "namespaces":
            return not (obj.get("spec") or {}).get("finalizers")
        return True

    # ------------------------------------------------------------------ pods/binding
    def bind(self, namespace, name, node_name, dry_run=False):
        """POST pods/{name}/binding: one atomic update that sets spec.nodeName and the
        PodScheduled=True condition (BindingREST.setPodNodeAndMetadata in
        pkg/registry/core/pod/storage/storage.go runs both in a single GuaranteedUpdate, so a
        kubelet or controller writing the pod's status in between cannot split them)."""
        def fn(cur):
            assigned = (cur.get("spec") or {}).get("nodeName")
            if assigned:
                raise errors.conflict("", "pods", name, 'pod %s is already assigned to node "%s"'
                                      % (name, assigned))
            cur["spec"]["nodeName"] = node_name
            status = cur.setdefault("status", {})
            status.setdefault("phase", "Pending")
            conds = status.setdefault("conditions", [])
            cond = next((c for c in conds if c.get("type") == "PodScheduled"), None)
            if cond is None:
                cond = {"type": "PodScheduled"}
                conds.append(cond)
            if cond.get("status") != "True":
                cond["lastTransitionTime"] = now_rfc3339()
            cond.update(status="True", lastProbeTime=None)
            cond.pop("reason", None)
            cond.pop("message", None)
            return cur
        return self.guaranteed_update("", "v1", "pods", namespace, name, fn, subresource="binding",
                                      dry_run=dry_run)

    # ------------------------------------------------------------------ delete
    def delete(self, group, version, plural, namespace, name, propagation=None, grace_period=None,
               dry_run=False, preconditions=None):
        """Delete (or start deleting) an object; returns its last state. See module docstring."""
        return self.delete_ex(group, version, plural, namespace, name, propagation, grace_period,
                              dry_run, preconditions)[0]

    def delete_ex(self, group, version, plural, namespace, name, propagation=None,
                  grace_period=None, dry_run=False, preconditions=None):
        """Like delete(); returns ``(object, deleted_now)``."""
        res = self.resource(group, version, plural)
        with self._lock:
            old = self._stored(res, namespace, name)
            if old is None:
                raise errors.not_found(group, plural, name)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
                raise errors.conflict(group, plural, name,
                                      "Precondition failed: UID in precondition: %s, UID in object "
                                      "meta: %s" % (pre["uid"], old["metadata"].get("uid")))
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise errors.conflict(group, plural, name,
                                      "Precondition failed: ResourceVersion in precondition: %s, "
                                      "ResourceVersion in object meta: %s"
                                      % (pre["resourceVersion"], old["metadata"]["resourceVersion"]))
            strategy.validate_delete(self, res, old)
            obj = copy.deepcopy(old)
            meta = obj["metadata"]
            key = (meta.get("namespace", "") if res.namespaced else "", name)
            finalizers = list(meta.get("finalizers") or [])
            if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            if propagation == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            grace = strategy.graceful_delete_seconds(res, old, grace_period)
            if res.plural == "namespaces" and res.group == "":
                # pkg/registry/core/namespace/storage/storage.go Delete
                if meta.get("deletionTimestamp") and not finalizers and not (obj.get("spec") or {}).get("finalizers"):
                    return self._remove(res, key, old, dry_run), True
                if not meta.get("deletionTimestamp"):
                    meta["deletionTimestamp"] = now_rfc3339()
                    meta["deletionGracePeriodSeconds"] = 0
                    obj.setdefault("status", {})["phase"] = "Terminating"
                    meta["finalizers"] = finalizers
                    if not meta["finalizers"]:
                        meta.pop("finalizers")
                    return self._write(res, key, obj, old, dry_run), False
                return self._out(res, old), False
            if meta.get("deletionTimestamp"):
                # already being deleted: a shorter grace period (0 = force) may finish it
                cur = meta.get("deletionGracePeriodSeconds")
                if grace == 0 and not finalizers:
                    return self._remove(res, key, old, dry_run), True
                if grace is not None and cur is not None and grace < cur:
                    meta["deletionGracePeriodSeconds"] = grace
                    meta["deletionTimestamp"] = now_rfc3339(grace)
                if finalizers != (meta.get("finalizers") or []):
                    meta["finalizers"] = finalizers
                return self._write(res, key, obj, old, dry_run), False
            if not finalizers and not grace:
                return self._remove(res, key, old, dry_run), True
            meta["deletionTimestamp"] = now_rfc3339(grace or 0)
            meta["deletionGracePeriodSeconds"] = grace or 0
            if finalizers:
                meta["finalizers"] = finalizers
            return self._write(res, key, obj, old, dry_run), False

    def _write(self, res, key, obj, old, dry_run):
        if dry_run:
            return self._out(res, obj)
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._bucket(res)[key] = obj
        self._emit("MODIFIED", res, obj, old)
        return self._out(res, obj)

    def _remove(self, res, key, old, dry_run):
        if dry_run:
            return self._out(res, old)
        del self._bucket(res)[key]
        self._rv += 1
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = str(self._rv)
        self._emit("DELETED", res, gone, old)
        strategy.after_delete(self, res, gone)
        return self._out(res, gone)

    def delete_collection(self, group, version, plural, namespace=None, label_selector=None,
                          field_selector=None, propagation=None, grace_period=None, dry_run=False):
        """Delete every matching object; returns the list of their last states."""
        items, _ = self.list(group, version, plural, namespace, label_selector, field_selector)
        out = []
        for item in items:
            try:
                out.append(self.delete(group, version, plural, item["metadata"].get("namespace"),
                                       item["metadata"]["name"], propagation, grace_period, dry_run))
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return out

    # ------------------------------------------------------------------ watch
    def watch(self, group, version, plural, namespace=None, resource_version=None,
              label_selector=None, field_selector=None):
        """A Watch. ``resource_version`` None/""/"0": current objects as ADDED first; "N":
        the events after N (410 Gone if compacted)."""
        res = self.resource(group, version, plural)
        lsel = parse_label_selector(label_selector) if label_selector else None
        fsel = parse_field_selector(field_selector, group, plural) if field_selector else None
        w = Watch(self, res.key, namespace if res.namespaced else None, lsel, fsel)
        with self._lock:
            if resource_version in (None, "", "0"):
                for (ns, _n), obj in sorted(self._objects.get(res.key, {}).items()):
                    w._offer("ADDED", self._out(res, obj), None)
            else:
                try:
                    rv = int(resource_version)
                except ValueError:
                    raise errors.bad_request('invalid resource version "%s"' % resource_version)
                if rv < self._compacted_rv:
                    # storage/etcd3 watcher: "too old resource version: %d (%d)"
                    raise errors.gone("too old resource version: %d (%d)" % (rv, self._compacted_rv + 1))
                for hrv, etype, key, obj, old in self._history:
                    if hrv > rv and key == res.key:
                        w._offer(etype, obj, old)
            self._watches.append(w)
        return w

    def _remove_watch(self, w):
        with self._lock:
            if w in self._watches:
                self._watches.remove(w)

    def compact(self):
        """Forget the watch history (like an etcd compaction): older resourceVersions now
        answer 410 Gone. Returns the compaction revision."""
        with self._lock:
            self._history.clear()
            self._compacted_rv = self._rv
            return self._rv

    # ------------------------------------------------------------------ subscribe
    def subscribe(self, callback):
        """Call ``callback(event_type, group, version, plural, obj)`` for every committed change,
        in commit order, from one dispatcher thread (never under the store lock)."""
        with self._lock:
            self._subscribers.append(callback)
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch, name="store-dispatch",
                                                    daemon=True)
                self._dispatcher.start()

    def unsubscribe(self, callback):
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def _dispatch(self):
        while True:
            item = self._dispatch_q.get()
            if item is None:
                return
            etype, group, version, plural, obj = item
            for cb in list(self._subscribers):
                try:
                    cb(etype, group, version, plural, copy.deepcopy(obj))
                except Exception:  # a broken controller must not stop the others
                    import traceback
                    traceback.print_exc()

    def close(self):
        with self._lock:
            for w in list(self._watches):
                w.stop()
            self._dispatch_q.put(None)

    # ------------------------------------------------------------------ persistence helpers
    def dump(self):
        """A JSON-able snapshot of every object (for debugging / state files)."""
        with self._lock:
            out = []
            for res in self.registry.all():
                for obj in self._objects.get(res.key, {}).values():
                    out.append(self._out(res, obj))
            return out

    def object_count(self):
        with self._lock:
            return sum(len(b) for b in self._objects.values())


def dumps(obj):
    return json.dumps(obj, sort_keys=True)
