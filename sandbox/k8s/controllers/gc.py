"""Garbage collector (ownerReferences) and namespace lifecycle.

Garbage collector, after pkg/controller/garbagecollector/garbagecollector.go:
* attemptToDeleteItem: an object none of whose owners exists any more (by uid) is deleted
  (background); owners that are gone are dropped from an object that still has a live owner;
  dependents of an owner that is being deleted in the foreground (``foregroundDeletion``
  finalizer) are deleted, in the foreground themselves when they have dependents.
* processDeletingDependentsItem: the ``foregroundDeletion`` finalizer is removed once no
  dependent with ``blockOwnerDeletion: true`` is left.
* orphanDependents: the ``orphan`` finalizer -> the owner's reference is removed from every
  dependent, then the finalizer.

Namespace controller, after pkg/controller/namespace/deletion/namespaced_resources_deleter.go:
a Terminating namespace has every namespaced object deleted (deletecollection per resource),
the NamespaceContentRemaining / NamespaceFinalizersRemaining conditions say what is left, and the
``kubernetes`` finalizer is removed through namespaces/<ns>/finalize when nothing is left.
"""

import logging

from sandbox.k8s.controllers import Controller
from sandbox.k8s.controllers.util import get_path, is_terminating, now_iso

log = logging.getLogger("sandbox.k8s.gc")


def storage_resources(store, namespaced=None):
    out = []
    for res in store.registry.all():
        if not getattr(res, "storage", True) or "list" not in res.verbs or "delete" not in res.verbs:
            continue
        if namespaced is not None and res.namespaced != namespaced:
            continue
        out.append(res)
    return out


class GarbageCollector(Controller):
    name = "garbage-collector"
    watches = ()
    resync = 1.0

    def notify(self, event_type, group, version, plural, obj):
        md = (obj or {}).get("metadata") or {}
        if event_type == "DELETED" or md.get("deletionTimestamp"):
            self._wake.set()

    def _all_objects(self):
        objs = []
        for res in storage_resources(self.store):
            if res.plural in ("events",):
                continue
            try:
                items, _ = self.store.list(res.group, res.version, res.plural)
            except Exception:
                continue
            for o in items:
                objs.append((res, o))
        return objs

    def sync(self):
        objs = self._all_objects()
        by_uid = {o["metadata"].get("uid"): (res, o) for res, o in objs}
        dependents = {}
        for res, o in objs:
            for ref in get_path(o, "metadata", "ownerReferences", default=[]) or []:
                dependents.setdefault(ref.get("uid"), []).append((res, o, ref))
        # owners being deleted: foreground / orphan finalizers
        for res, o in objs:
            md = o["metadata"]
            fins = md.get("finalizers") or []
            if not md.get("deletionTimestamp"):
                continue
            deps = dependents.get(md.get("uid"), [])
            if "orphan" in fins:
                for dres, dep, _ref in deps:
                    self._drop_owner(dres, dep, md.get("uid"))
                self._remove_finalizer(res, o, "orphan")
                continue
            if "foregroundDeletion" in fins:
                blocking = [d for d in deps if d[2].get("blockOwnerDeletion")]
                for dres, dep, _ref in deps:
                    if is_terminating(dep):
                        continue
                    has_own = bool(dependents.get(dep["metadata"].get("uid")))
                    self._delete(dres, dep, "Foreground" if has_own else "Background")
                if not blocking:
                    self._remove_finalizer(res, o, "foregroundDeletion")
        # dependents whose owners are gone
        for res, o in objs:
            refs = get_path(o, "metadata", "ownerReferences", default=[]) or []
            if not refs or is_terminating(o):
                continue
            alive = []
            for ref in refs:
                owner = by_uid.get(ref.get("uid"))
                if owner is not None and self._ref_matches(owner, ref, o):
                    alive.append(ref)
                elif self._owner_alive(ref, o):
                    # not in this pass's snapshot (created meanwhile): a live read decides,
                    # as attemptToDeleteItem's isDangling does
                    alive.append(ref)
            if not alive:
                self._delete(res, o, "Background")
            elif len(alive) != len(refs):
                self._set_refs(res, o, alive)

    def _owner_alive(self, ref, dependent):
        res = self.store.registry.by_api_version_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if res is None:
            res = self.store.registry.find_kind(ref.get("apiVersion", "").rpartition("/")[0], ref.get("kind", ""))
        if res is None:
            return False
        ns = dependent["metadata"].get("namespace") if res.namespaced else None
        try:
            owner = self.store.get(res.group, res.version, res.plural, ns, ref.get("name"))
        except Exception:
            return False
        return owner["metadata"].get("uid") == ref.get("uid")

    @staticmethod
    def _ref_matches(owner, ref, dependent):
        ores, oobj = owner
        if ores.kind != ref.get("kind"):
            return False
        if ores.namespaced and oobj["metadata"].get("namespace") != dependent["metadata"].get("namespace"):
            return False
        return True

    def _delete(self, res, obj, propagation):
        md = obj["metadata"]
        try:
            self.store.delete(res.group, res.version, res.plural, md.get("namespace"), md["name"],
                              propagation=propagation)
        except Exception as exc:
            if getattr(exc, "code", None) not in (404, 409):
                log.warning("gc delete %s %s: %s", res.plural, md["name"], exc)

    def _set_refs(self, res, obj, refs):
        md = obj["metadata"]
        try:
            fresh = self.store.get(res.group, res.version, res.plural, md.get("namespace"), md["name"])
            if refs:
                fresh["metadata"]["ownerReferences"] = refs
            else:
                fresh["metadata"].pop("ownerReferences", None)
            self.store.update(res.group, res.version, res.plural, fresh)
        except Exception as exc:
            if getattr(exc, "code", None) not in (404, 409):
                log.warning("gc update refs %s %s: %s", res.plural, md["name"], exc)

    def _drop_owner(self, res, obj, owner_uid):
        refs = [r for r in get_path(obj, "metadata", "ownerReferences", default=[]) or []
                if r.get("uid") != owner_uid]
        self._set_refs(res, obj, refs)

    def _remove_finalizer(self, res, obj, finalizer):
        md = obj["metadata"]
        try:
            fresh = self.store.get(res.group, res.version, res.plural, md.get("namespace"), md["name"])
            fins = [f for f in fresh["metadata"].get("finalizers") or [] if f != finalizer]
            if fins:
                fresh["metadata"]["finalizers"] = fins
            else:
                fresh["metadata"]["finalizers"] = []
            self.store.update(res.group, res.version, res.plural, fresh)
        except Exception as exc:
            if getattr(exc, "code", None) not in (404, 409):
                log.warning("gc finalizer %s %s: %s", res.plural, md["name"], exc)


class NamespaceController(Controller):
    name = "namespace-controller"
    watches = ("namespaces",)
    resync = 0.5

    def notify(self, event_type, group, version, plural, obj):
        if plural == "namespaces" or event_type == "DELETED":
            self._wake.set()

    def sync(self):
        namespaces, _ = self.store.list("", "v1", "namespaces")
        for ns in namespaces:
            if not is_terminating(ns):
                continue
            try:
                self.delete_contents(ns)
            except Exception:
                log.exception("namespace %s", ns["metadata"]["name"])

    def delete_contents(self, ns):
        name = ns["metadata"]["name"]
        remaining = {}
        finalizers_left = {}
        for res in storage_resources(self.store, namespaced=True):
            try:
                items, _ = self.store.list(res.group, res.version, res.plural, namespace=name)
            except Exception:
                continue
            if not items:
                continue
            remaining[res.plural if not res.group else f"{res.plural}.{res.group}"] = len(items)
            for o in items:
                fins = o["metadata"].get("finalizers") or []
                for f in fins:
                    finalizers_left[f] = finalizers_left.get(f, 0) + 1
                if is_terminating(o):
                    continue
                try:
                    self.store.delete(res.group, res.version, res.plural, name, o["metadata"]["name"],
                                      propagation="Background")
                except Exception as exc:
                    if getattr(exc, "code", None) not in (404, 409):
                        log.warning("namespace %s: delete %s %s: %s", name, res.plural, o["metadata"]["name"], exc)
        if remaining:
            self._conditions(ns, remaining, finalizers_left)
            return
        spec_fins = get_path(ns, "spec", "finalizers", default=[]) or []
        if spec_fins:
            fresh = self.store.get("", "v1", "namespaces", None, name)
            fresh.setdefault("spec", {})["finalizers"] = [f for f in spec_fins if f != "kubernetes"]
            self.store.update("", "v1", "namespaces", fresh, subresource="finalize")
        else:
            try:
                self.store.delete("", "v1", "namespaces", None, name)
            except Exception as exc:
                if getattr(exc, "code", None) != 404:
                    raise

    def _conditions(self, ns, remaining, finalizers_left):
        ts = now_iso()
        content = ", ".join(f"{k} has {v} resource instances" for k, v in sorted(remaining.items()))
        conds = [
            {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "lastTransitionTime": ts,
             "reason": "ResourcesDiscovered", "message": "All resources successfully discovered"},
            {"type": "NamespaceDeletionGroupVersionParsingFailure", "status": "False", "lastTransitionTime": ts,
             "reason": "ParsedGroupVersions", "message": "All legacy kube types successfully parsed"},
            {"type": "NamespaceDeletionContentFailure", "status": "False", "lastTransitionTime": ts,
             "reason": "ContentDeleted", "message": "All content successfully deleted, may be waiting on finalization"},
            {"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": ts,
             "reason": "SomeResourcesRemain", "message": f"Some resources are remaining: {content}"},
        ]
        if finalizers_left:
            fmsg = ", ".join(f"{k} in {v} resource instances" for k, v in sorted(finalizers_left.items()))
            conds.append({"type": "NamespaceFinalizersRemaining", "status": "True", "lastTransitionTime": ts,
                          "reason": "SomeFinalizersRemain", "message": f"Some content in the namespace has finalizers remaining: {fmsg}"})
        else:
            conds.append({"type": "NamespaceFinalizersRemaining", "status": "False", "lastTransitionTime": ts,
                          "reason": "ContentHasNoFinalizers", "message": "All content-preserving finalizers finished"})
        old = get_path(ns, "status", "conditions", default=[]) or []
        strip = lambda cs: [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in cs]  # noqa: E731
        if strip(old) == strip(conds):
            return
        for c in conds:
            prev = next((o for o in old if o.get("type") == c["type"]), None)
            if prev and prev.get("status") == c["status"]:
                c["lastTransitionTime"] = prev.get("lastTransitionTime", ts)
        try:
            fresh = self.store.get("", "v1", "namespaces", None, ns["metadata"]["name"])
            fresh.setdefault("status", {})["conditions"] = conds
            self.store.update("", "v1", "namespaces", fresh, subresource="status")
        except Exception:
            pass
