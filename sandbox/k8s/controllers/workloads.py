"""Workload controllers: Deployment -> ReplicaSet -> Pods, StatefulSet, DaemonSet, Job.

Each follows its upstream controller in pkg/controller/ closely enough for kubectl (rollout
status, get, describe) and kubernetes.core (wait: true) to see the same states:

* deployment/: sync.go (getNewReplicaSet: name "<deploy>-<pod-template-hash>", revision
  annotations), rolling.go (maxSurge/maxUnavailable, 25% defaults: surge rounded up, unavailable
  rounded down), recreate.go, progress.go (Progressing/Available conditions and reasons
  NewReplicaSetCreated, ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded,
  MinimumReplicasAvailable), sync.go cleanupDeployment (revisionHistoryLimit).
  kubectl rollout status reads exactly these (kubectl/pkg/polymorphichelpers/rollout_status.go).
* replicaset/replica_set.go (manageReplicas; getPodsToDelete ranking: unscheduled < pending <
  not ready < ready, newer first; events SuccessfulCreate "Created pod: %v").
* statefulset/stateful_set_control.go (OrderedReady / Parallel, ordinals, volumeClaimTemplates
  claims "<template>-<set>-<ordinal>" created before the pod and kept (retention policy Retain),
  rolling update from the highest ordinal, partition; currentRevision/updateRevision;
  ControllerRevisions "<set>-<hash>").
* daemon/daemon_controller.go (one pod per eligible node, placed with required node affinity
  matchFields metadata.name, default tolerations from util/daemonset_util.go).
* job/job_controller.go (parallelism, completions, backoffLimit -> BackoffLimitExceeded,
  activeDeadlineSeconds -> DeadlineExceeded, Complete/SuccessCriteriaMet conditions) and the
  TTL-after-finished controller.
"""

import logging
import math
import time

from sandbox.k8s.controllers import Controller
from sandbox.k8s.controllers import events as ev
from sandbox.k8s.controllers.scheduler import node_affinity_matches, tolerates
from sandbox.k8s.controllers.util import (controller_ref, deep, get_path, is_terminating, now_iso,
                                          parse_time, pod_is_active, pod_is_available, pod_is_ready,
                                          selector_matches, set_condition, template_hash)

log = logging.getLogger("sandbox.k8s.workloads")

POD_TEMPLATE_HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def _owned(items, owner):
    uid = owner["metadata"]["uid"]
    return [i for i in items if (controller_ref(i) or {}).get("uid") == uid]


def _ref(owner, kind, api_version):
    return {"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def pod_from_template(template, namespace, owner_ref, name=None, generate_name=None, labels=None):
    tmd = template.get("metadata") or {}
    md = {"namespace": namespace,
          "labels": dict(tmd.get("labels") or {}),
          "ownerReferences": [owner_ref]}
    if tmd.get("annotations"):
        md["annotations"] = dict(tmd["annotations"])
    if labels:
        md["labels"].update(labels)
    if name:
        md["name"] = name
    else:
        md["generateName"] = generate_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": deep(template.get("spec") or {})}


def _int_or_percent(value, total, round_up):
    if value is None:
        return None
    if isinstance(value, int):
        return value
    s = str(value)
    if s.endswith("%"):
        v = float(s[:-1]) * total / 100.0
        return int(math.ceil(v)) if round_up else int(math.floor(v))
    return int(s)


class _Base(Controller):
    resync = 0.5
    kind = ""
    api_version = "apps/v1"
    component = ""

    def event(self, obj, etype, reason, message):
        self.recorder.record(obj, etype, reason, message, self.component, kind=self.kind)

    def update_status(self, group, plural, obj, status):
        if obj.get("status") == status:
            return
        out = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
               "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"].get("namespace")},
               "status": status}
        try:
            self.store.update(group, "v1", plural, out, subresource="status")
        except Exception as exc:
            if getattr(exc, "code", None) != 404:
                raise

    def create_pod(self, owner, pod):
        try:
            created = self.store.create("", "v1", "pods", pod)
        except Exception as exc:
            self.event(owner, ev.WARNING, "FailedCreate", f"Error creating: {getattr(exc, 'message', exc)}")
            return None
        return created

    def delete_pod(self, pod):
        try:
            self.store.delete("", "v1", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
            return True
        except Exception as exc:
            if getattr(exc, "code", None) != 404:
                log.warning("delete pod %s: %s", pod["metadata"]["name"], exc)
            return False


# ---------------------------------------------------------------------------------------------
class ReplicaSetController(_Base):
    name = "replicaset-controller"
    kind = "ReplicaSet"
    component = ev.RS_CONTROLLER
    watches = ("replicasets", "pods")

    def sync(self):
        rss, _ = self.store.list("apps", "v1", "replicasets")
        if not rss:
            return
        pods, _ = self.store.list("", "v1", "pods")
        by_owner = {}
        for p in pods:
            ref = controller_ref(p)
            if ref:
                by_owner.setdefault(ref.get("uid"), []).append(p)
        for rs in rss:
            try:
                self.sync_one(rs, by_owner.get(rs["metadata"]["uid"], []))
            except Exception:
                log.exception("replicaset %s/%s", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def sync_one(self, rs, pods):
        if is_terminating(rs):
            return
        ns = rs["metadata"]["namespace"]
        active = [p for p in pods if pod_is_active(p)]
        want = int(get_path(rs, "spec", "replicas", default=1))
        diff = len(active) - want
        if diff < 0:
            for _ in range(min(-diff, 500)):
                pod = pod_from_template(rs["spec"].get("template") or {}, ns, _ref(rs, "ReplicaSet", "apps/v1"),
                                        generate_name=rs["metadata"]["name"] + "-")
                created = self.create_pod(rs, pod)
                if created is None:
                    break
                active.append(created)
                self.event(rs, ev.NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        elif diff > 0:
            def rank(p):
                scheduled = 1 if get_path(p, "spec", "nodeName") else 0
                phase = {"Pending": 0, "Unknown": 1, "Running": 2}.get(get_path(p, "status", "phase"), 0)
                ready = 1 if pod_is_ready(p) else 0
                return (scheduled, phase, ready, "".join(chr(255 - ord(c)) for c in
                                                      (p["metadata"].get("creationTimestamp") or "")))
            victims = sorted(active, key=rank)[:diff]
            for p in victims:
                if self.delete_pod(p):
                    self.event(rs, ev.NORMAL, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}")
            names = {v["metadata"]["name"] for v in victims}
            active = [p for p in active if p["metadata"]["name"] not in names]
        min_ready = int(get_path(rs, "spec", "minReadySeconds", default=0) or 0)
        now = time.time()
        labels_sel = get_path(rs, "spec", "selector")
        status = {
            "replicas": len(active),
            "fullyLabeledReplicas": len([p for p in active if selector_matches(
                labels_sel or {}, get_path(p, "metadata", "labels", default={}))]),
            "readyReplicas": len([p for p in active if pod_is_ready(p)]),
            "availableReplicas": len([p for p in active if pod_is_available(p, min_ready, now)]),
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        for k in ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            if not status[k]:
                status.pop(k)
        self.update_status("apps", "replicasets", rs, status)


# ---------------------------------------------------------------------------------------------
class DeploymentController(_Base):
    name = "deployment-controller"
    kind = "Deployment"
    component = ev.DEPLOYMENT_CONTROLLER
    watches = ("deployments", "replicasets", "pods")

    def sync(self):
        deps, _ = self.store.list("apps", "v1", "deployments")
        if not deps:
            return
        rss, _ = self.store.list("apps", "v1", "replicasets")
        for d in deps:
            try:
                self.sync_one(d, _owned(rss, d))
            except Exception:
                log.exception("deployment %s/%s", d["metadata"]["namespace"], d["metadata"]["name"])

    @staticmethod
    def _template_key(template):
        t = deep(template or {})
        (t.get("metadata") or {}).get("labels", {}).pop(POD_TEMPLATE_HASH, None)
        return t

    def _scale(self, d, rs, replicas):
        cur = int(get_path(rs, "spec", "replicas", default=0))
        if cur == replicas:
            return rs
        fresh = self.store.get("apps", "v1", "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
        fresh["spec"]["replicas"] = replicas
        ann = fresh["metadata"].setdefault("annotations", {})
        ann["deployment.kubernetes.io/desired-replicas"] = str(get_path(d, "spec", "replicas", default=1))
        updated = self.store.update("apps", "v1", "replicasets", fresh)
        word = "up" if replicas > cur else "down"
        self.event(d, ev.NORMAL, "ScalingReplicaSet",
                   f"Scaled {word} replica set {rs['metadata']['name']} from {cur} to {replicas}")
        return updated

    def sync_one(self, d, rss):
        if is_terminating(d):
            return
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        spec = d.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        key = self._template_key(template)
        new_rs = None
        for rs in rss:
            if self._template_key(get_path(rs, "spec", "template")) == key:
                new_rs = rs
                break
        old = [rs for rs in rss if rs is not new_rs]
        max_rev = max([int(get_path(rs, "metadata", "annotations", REVISION, default="0") or 0) for rs in rss] or [0])
        strategy = get_path(spec, "strategy", "type") or "RollingUpdate"
        surge = _int_or_percent(get_path(spec, "strategy", "rollingUpdate", "maxSurge", default="25%"), replicas, True)
        unavail = _int_or_percent(get_path(spec, "strategy", "rollingUpdate", "maxUnavailable", default="25%"), replicas, False)
        if strategy == "Recreate":
            surge, unavail = 0, replicas
        elif surge == 0 and unavail == 0:
            unavail = 1
        created_new = False
        if new_rs is None and not spec.get("paused"):
            h = template_hash(key, get_path(d, "status", "collisionCount"))
            rs_template = deep(template)
            rs_template.setdefault("metadata", {}).setdefault("labels", {})[POD_TEMPLATE_HASH] = h
            selector = deep(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = h
            start = 0
            if strategy != "Recreate":
                total = sum(int(get_path(r, "spec", "replicas", default=0)) for r in old)
                start = max(0, min(replicas, replicas + surge - total)) if old else replicas
            elif not any(int(get_path(r, "spec", "replicas", default=0)) for r in old):
                start = replicas
            rs = {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{name}-{h}", "namespace": ns,
                    "labels": dict(rs_template["metadata"]["labels"]),
                    "annotations": {
                        REVISION: str(max_rev + 1),
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                        "deployment.kubernetes.io/max-replicas": str(replicas + surge),
                    },
                    "ownerReferences": [_ref(d, "Deployment", "apps/v1")],
                },
                "spec": {"replicas": start, "minReadySeconds": spec.get("minReadySeconds", 0),
                         "selector": selector, "template": rs_template},
            }
            try:
                new_rs = self.store.create("apps", "v1", "replicasets", rs)
            except Exception as exc:
                if getattr(exc, "code", None) != 409:
                    raise
                # hash collision with a foreign RS (sync.go: bump status.collisionCount)
                st = dict(d.get("status") or {})
                st["collisionCount"] = int(st.get("collisionCount") or 0) + 1
                self.update_status("apps", "deployments", d, st)
                return
            created_new = True
            self.event(d, ev.NORMAL, "ScalingReplicaSet",
                       f"Scaled up replica set {new_rs['metadata']['name']} from 0 to {start}")
        elif new_rs is not None:
            rev = int(get_path(new_rs, "metadata", "annotations", REVISION, default="0") or 0)
            if rev < max_rev:
                fresh = self.store.get("apps", "v1", "replicasets", ns, new_rs["metadata"]["name"])
                fresh["metadata"].setdefault("annotations", {})[REVISION] = str(max_rev + 1)
                new_rs = self.store.update("apps", "v1", "replicasets", fresh)
        # deployment revision annotation
        if new_rs is not None:
            rev = get_path(new_rs, "metadata", "annotations", REVISION)
            if get_path(d, "metadata", "annotations", REVISION) != rev:
                fresh = self.store.get("apps", "v1", "deployments", ns, name)
                fresh["metadata"].setdefault("annotations", {})[REVISION] = rev
                d = self.store.update("apps", "v1", "deployments", fresh)
        if spec.get("paused") and new_rs is not None:
            # a paused Deployment still scales its current ReplicaSet (sync.go sync())
            self._scale(d, new_rs, replicas)
        elif new_rs is not None:
            if strategy == "Recreate":
                self._recreate(d, new_rs, old, replicas)
            else:
                self._rolling(d, new_rs, old, replicas, surge, unavail)
        self._cleanup(d, old)
        self._status(d, new_rs, old, replicas, unavail, created_new)

    def _recreate(self, d, new_rs, old, replicas):
        running_old = False
        for rs in old:
            if int(get_path(rs, "spec", "replicas", default=0)):
                self._scale(d, rs, 0)
                running_old = True
            if int(get_path(rs, "status", "replicas", default=0)):
                running_old = True
        if not running_old:
            self._scale(d, new_rs, replicas)

    def _rolling(self, d, new_rs, old, replicas, surge, unavail):
        new_count = int(get_path(new_rs, "spec", "replicas", default=0))
        all_rs = [new_rs] + old
        total = sum(int(get_path(r, "spec", "replicas", default=0)) for r in all_rs)
        # reconcileNewReplicaSet
        if new_count > replicas:
            new_rs = self._scale(d, new_rs, replicas)
        elif new_count < replicas:
            allowed = replicas + surge - total
            if allowed > 0:
                new_rs = self._scale(d, new_rs, new_count + min(allowed, replicas - new_count))
        # reconcileOldReplicaSets
        old_total = sum(int(get_path(r, "spec", "replicas", default=0)) for r in old)
        if old_total == 0:
            return
        all_count = sum(int(get_path(r, "spec", "replicas", default=0)) for r in [new_rs] + old)
        min_available = replicas - unavail
        new_unavailable = int(get_path(new_rs, "spec", "replicas", default=0)) - \
            int(get_path(new_rs, "status", "availableReplicas", default=0))
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        # cleanupUnhealthyReplicas, then scaleDownOldReplicaSetsForRollingUpdate
        old_sorted = sorted(old, key=lambda r: r["metadata"].get("creationTimestamp") or "")
        budget = max_scaled_down
        for rs in old_sorted:
            if budget <= 0:
                break
            cur = int(get_path(rs, "spec", "replicas", default=0))
            unhealthy = cur - int(get_path(rs, "status", "availableReplicas", default=0))
            if cur and unhealthy > 0:
                step = min(budget, unhealthy)
                self._scale(d, rs, cur - step)
                budget -= step
        total_available = sum(int(get_path(r, "status", "availableReplicas", default=0)) for r in [new_rs] + old)
        can_down = total_available - min_available
        for rs in old_sorted:
            if can_down <= 0:
                break
            try:
                rs = self.store.get("apps", "v1", "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
            except Exception:
                continue
            cur = int(get_path(rs, "spec", "replicas", default=0))
            if not cur:
                continue
            step = min(cur, can_down)
            self._scale(d, rs, cur - step)
            can_down -= step

    def _cleanup(self, d, old):
        limit = get_path(d, "spec", "revisionHistoryLimit")
        limit = 10 if limit is None else int(limit)
        dead = [rs for rs in old if not int(get_path(rs, "spec", "replicas", default=0))
                and not int(get_path(rs, "status", "replicas", default=0)) and not is_terminating(rs)]
        dead.sort(key=lambda r: int(get_path(r, "metadata", "annotations", REVISION, default="0") or 0))
        for rs in dead[:max(0, len(dead) - limit)]:
            try:
                self.store.delete("apps", "v1", "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
            except Exception:
                pass

    def _status(self, d, new_rs, old, replicas, unavail, created_new):
        d = self.store.get("apps", "v1", "deployments", d["metadata"]["namespace"], d["metadata"]["name"])
        all_rs = ([new_rs] if new_rs is not None else []) + old
        fresh_all = []
        for rs in all_rs:
            try:
                fresh_all.append(self.store.get("apps", "v1", "replicasets", rs["metadata"]["namespace"],
                                                rs["metadata"]["name"]))
            except Exception:
                pass
        new_fresh = next((r for r in fresh_all if new_rs is not None
                          and r["metadata"]["uid"] == new_rs["metadata"]["uid"]), None)

        def s(rs, k):
            return int(get_path(rs, "status", k, default=0) or 0)

        total = sum(s(r, "replicas") for r in fresh_all)
        updated = s(new_fresh, "replicas") if new_fresh else 0
        ready = sum(s(r, "readyReplicas") for r in fresh_all)
        available = sum(s(r, "availableReplicas") for r in fresh_all)
        status = dict(d.get("status") or {})
        status.update({
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(0, replicas - available) if total or replicas else 0,
        })
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"):
            if not status[k]:
                status.pop(k)
        conds = [dict(c) for c in status.get("conditions") or []]
        ts = now_iso()

        def put(ctype, st, reason, message, touch=False):
            for c in conds:
                if c["type"] == ctype:
                    if c.get("status") != st:
                        c["lastTransitionTime"] = ts
                    if touch or (c.get("status"), c.get("reason"), c.get("message")) != (st, reason, message):
                        c["lastUpdateTime"] = ts
                    c.update(status=st, reason=reason, message=message)
                    return
            conds.append({"type": ctype, "status": st, "lastUpdateTime": ts, "lastTransitionTime": ts,
                          "reason": reason, "message": message})

        if available >= replicas - unavail:
            put("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            put("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        rs_name = new_fresh["metadata"]["name"] if new_fresh else ""
        complete = (new_fresh is not None and updated == replicas and total == replicas
                    and available >= replicas and d["metadata"].get("generation", 1) == status["observedGeneration"])
        prog = next((c for c in conds if c["type"] == "Progressing"), None)
        deadline = get_path(d, "spec", "progressDeadlineSeconds")
        deadline = 600 if deadline is None else int(deadline)
        if get_path(d, "spec", "paused"):
            put("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
        elif complete:
            put("Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
        elif created_new:
            put("Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"')
        else:
            progressed = (status != (d.get("status") or {}) and
                          {k: status.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")}
                          != {k: (d.get("status") or {}).get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")})
            last = parse_time(prog.get("lastUpdateTime")) if prog else None
            if progressed or prog is None or prog.get("reason") == "NewReplicaSetAvailable":
                # progress.go: every observed progress refreshes lastUpdateTime (the deadline clock)
                put("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.',
                    touch=progressed)
            elif last is not None and time.time() - last > deadline and prog.get("reason") != "ProgressDeadlineExceeded":
                put("Progressing", "False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.')
        order = {"Available": 0, "Progressing": 1}
        conds.sort(key=lambda c: order.get(c["type"], 9))
        status["conditions"] = conds
        self.update_status("apps", "deployments", d, status)


# ---------------------------------------------------------------------------------------------
class StatefulSetController(_Base):
    name = "statefulset-controller"
    kind = "StatefulSet"
    component = ev.STS_CONTROLLER
    watches = ("statefulsets", "pods", "persistentvolumeclaims")

    def sync(self):
        sets, _ = self.store.list("apps", "v1", "statefulsets")
        if not sets:
            return
        pods, _ = self.store.list("", "v1", "pods")
        for s in sets:
            try:
                self.sync_one(s, _owned(pods, s))
            except Exception:
                log.exception("statefulset %s/%s", s["metadata"]["namespace"], s["metadata"]["name"])

    def _revision(self, s):
        return f"{s['metadata']['name']}-{template_hash(get_path(s, 'spec', 'template', default={}))}"

    def _ensure_revision(self, s, rev):
        ns = s["metadata"]["namespace"]
        try:
            self.store.get("apps", "v1", "controllerrevisions", ns, rev)
            return
        except Exception:
            pass
        items, _ = self.store.list("apps", "v1", "controllerrevisions", namespace=ns)
        mine = _owned(items, s)
        number = max([int(i.get("revision") or 0) for i in mine] or [0]) + 1
        cr = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
              "metadata": {"name": rev, "namespace": ns,
                           "labels": dict(get_path(s, "spec", "selector", "matchLabels", default={}) or {}),
                           "ownerReferences": [_ref(s, "StatefulSet", "apps/v1")]},
              "data": {"spec": {"template": deep(get_path(s, "spec", "template", default={}))}},
              "revision": number}
        cr["metadata"]["labels"]["controller.kubernetes.io/hash"] = rev.rsplit("-", 1)[-1]
        try:
            self.store.create("apps", "v1", "controllerrevisions", cr)
        except Exception as exc:
            if getattr(exc, "code", None) not in (409, 404, 403):
                raise

    def _claims(self, s, ordinal, pod_name):
        ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
        out = {}
        for tpl in get_path(s, "spec", "volumeClaimTemplates", default=[]) or []:
            tname = get_path(tpl, "metadata", "name")
            claim = f"{tname}-{name}-{ordinal}"
            out[tname] = claim
            try:
                self.store.get("", "v1", "persistentvolumeclaims", ns, claim)
                continue
            except Exception:
                pass
            md = {"name": claim, "namespace": ns,
                  "labels": dict(get_path(s, "spec", "selector", "matchLabels", default={}) or {})}
            for k in ("labels", "annotations"):
                if get_path(tpl, "metadata", k):
                    md.setdefault(k, {}).update(get_path(tpl, "metadata", k))
            policy = get_path(s, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted") or "Retain"
            if policy == "Delete":
                md["ownerReferences"] = [dict(_ref(s, "StatefulSet", "apps/v1"), controller=False)]
            pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md,
                   "spec": deep(tpl.get("spec") or {})}
            try:
                self.store.create("", "v1", "persistentvolumeclaims", pvc)
                self.event(s, ev.NORMAL, "SuccessfulCreate",
                           f"create Claim {claim} Pod {pod_name} in StatefulSet {name} success")
            except Exception as exc:
                if getattr(exc, "code", None) != 409:
                    self.event(s, ev.WARNING, "FailedCreate",
                               f"create Claim {claim} for Pod {pod_name} in StatefulSet {name} failed error: "
                               f"{getattr(exc, 'message', exc)}")
                    raise
        return out

    def _new_pod(self, s, ordinal, rev):
        name = s["metadata"]["name"]
        pod_name = f"{name}-{ordinal}"
        claims = self._claims(s, ordinal, pod_name)
        template = deep(get_path(s, "spec", "template", default={}))
        pod = pod_from_template(template, s["metadata"]["namespace"], _ref(s, "StatefulSet", "apps/v1"),
                                name=pod_name, labels={
                                    "controller-revision-hash": rev,
                                    "statefulset.kubernetes.io/pod-name": pod_name,
                                    "apps.kubernetes.io/pod-index": str(ordinal)})
        vols = [v for v in pod["spec"].get("volumes") or [] if v.get("name") not in claims]
        for tname, claim in claims.items():
            vols.append({"name": tname, "persistentVolumeClaim": {"claimName": claim}})
        if vols:
            pod["spec"]["volumes"] = vols
        pod["spec"]["hostname"] = pod_name
        if get_path(s, "spec", "serviceName"):
            pod["spec"]["subdomain"] = s["spec"]["serviceName"]
        return pod

    def sync_one(self, s, pods):
        if is_terminating(s):
            return
        ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
        replicas = int(get_path(s, "spec", "replicas", default=1))
        parallel = get_path(s, "spec", "podManagementPolicy") == "Parallel"
        rev = self._revision(s)
        self._ensure_revision(s, rev)
        by_ord = {}
        for p in pods:
            try:
                by_ord[int(p["metadata"]["name"].rsplit("-", 1)[1])] = p
            except (ValueError, IndexError):
                continue
        status = dict(s.get("status") or {})
        current_rev = status.get("currentRevision") or rev

        def running_ready(p):
            return get_path(p, "status", "phase") == "Running" and pod_is_ready(p) and not is_terminating(p)

        # create / replace
        blocked = False
        for i in range(replicas):
            p = by_ord.get(i)
            if p is not None and get_path(p, "status", "phase") == "Failed" and not is_terminating(p):
                self.delete_pod(p)
                self.event(s, ev.NORMAL, "SuccessfulDelete", f"delete Pod {p['metadata']['name']} in StatefulSet {name} successful")
                by_ord.pop(i)
                p = None
            if p is None:
                if blocked:
                    break
                use_rev = rev
                pod = self._new_pod(s, i, use_rev)
                created = self.create_pod(s, pod)
                if created is not None:
                    self.event(s, ev.NORMAL, "SuccessfulCreate", f"create Pod {pod['metadata']['name']} in StatefulSet {name} successful")
                    by_ord[i] = created
                if not parallel:
                    blocked = True
                    break
                continue
            if not parallel and not running_ready(p):
                blocked = True
                break
        # scale down (highest ordinal first; OrderedReady: one at a time, all others healthy)
        extras = sorted([o for o in by_ord if o >= replicas], reverse=True)
        if extras:
            ok = parallel or all(running_ready(by_ord[o]) for o in by_ord if o < replicas)
            for o in extras:
                p = by_ord[o]
                if is_terminating(p):
                    if not parallel:
                        break
                    continue
                if not ok:
                    break
                self.delete_pod(p)
                self.event(s, ev.NORMAL, "SuccessfulDelete", f"delete Pod {p['metadata']['name']} in StatefulSet {name} successful")
                if not parallel:
                    break
        # rolling update
        strategy = get_path(s, "spec", "updateStrategy", "type") or "RollingUpdate"
        partition = int(get_path(s, "spec", "updateStrategy", "rollingUpdate", "partition", default=0) or 0)
        live = {o: p for o, p in by_ord.items() if o < replicas}
        if strategy == "RollingUpdate" and len(live) == replicas and all(running_ready(p) for p in live.values()):
            for o in sorted(live, reverse=True):
                if o < partition:
                    break
                p = live[o]
                if get_path(p, "metadata", "labels", "controller-revision-hash") != rev:
                    self.delete_pod(p)
                    self.event(s, ev.NORMAL, "SuccessfulDelete", f"delete Pod {p['metadata']['name']} in StatefulSet {name} successful")
                    break
        # status
        pods_now = [p for p in _owned(self.store.list("", "v1", "pods", namespace=ns)[0], s)]
        min_ready = int(get_path(s, "spec", "minReadySeconds", default=0) or 0)
        now = time.time()
        active = [p for p in pods_now if not get_path(p, "status", "phase") in ("Failed", "Succeeded")]
        updated = [p for p in active if get_path(p, "metadata", "labels", "controller-revision-hash") == rev]
        current = [p for p in active if get_path(p, "metadata", "labels", "controller-revision-hash") == current_rev]
        ready = [p for p in active if pod_is_ready(p)]
        if len(updated) == replicas and len([p for p in updated if pod_is_ready(p)]) == replicas:
            current_rev = rev
            current = updated
        new_status = {
            "observedGeneration": s["metadata"].get("generation", 1),
            "replicas": len(active),
            "readyReplicas": len(ready),
            "currentReplicas": len(current),
            "updatedReplicas": len(updated),
            "availableReplicas": len([p for p in active if pod_is_available(p, min_ready, now)]),
            "currentRevision": current_rev,
            "updateRevision": rev,
            "collisionCount": int(status.get("collisionCount") or 0),
        }
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not new_status[k]:
                new_status.pop(k)
        self.update_status("apps", "statefulsets", s, new_status)


# ---------------------------------------------------------------------------------------------
DS_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


class DaemonSetController(_Base):
    name = "daemonset-controller"
    kind = "DaemonSet"
    component = ev.DS_CONTROLLER
    watches = ("daemonsets", "pods", "nodes")

    def sync(self):
        sets, _ = self.store.list("apps", "v1", "daemonsets")
        if not sets:
            return
        pods, _ = self.store.list("", "v1", "pods")
        nodes, _ = self.store.list("", "v1", "nodes")
        for s in sets:
            try:
                self.sync_one(s, _owned(pods, s), nodes)
            except Exception:
                log.exception("daemonset %s/%s", s["metadata"]["namespace"], s["metadata"]["name"])

    def _eligible(self, template, node):
        spec = template.get("spec") or {}
        tolerations = (spec.get("tolerations") or []) + DS_TOLERATIONS
        for taint in get_path(node, "spec", "taints", default=[]) or []:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
                return False
        return node_affinity_matches({"spec": spec}, node)

    def sync_one(self, s, pods, nodes):
        if is_terminating(s):
            return
        ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
        template = get_path(s, "spec", "template", default={})
        h = template_hash(template)
        gen = str(s["metadata"].get("generation", 1))
        by_node = {}
        for p in pods:
            if is_terminating(p):
                continue
            node = get_path(p, "spec", "nodeName") or self._target(p)
            by_node.setdefault(node, []).append(p)
        eligible = [n for n in nodes if self._eligible(template, n)]
        names = {n["metadata"]["name"] for n in eligible}
        for n in eligible:
            nn = n["metadata"]["name"]
            have = [p for p in by_node.get(nn, []) if get_path(p, "status", "phase") != "Failed"]
            for p in by_node.get(nn, []):
                if get_path(p, "status", "phase") == "Failed":
                    self.delete_pod(p)
            if have:
                continue
            pod = pod_from_template(template, ns, _ref(s, "DaemonSet", "apps/v1"),
                                    generate_name=f"{name}-",
                                    labels={"controller-revision-hash": h, "pod-template-generation": gen})
            spec = pod["spec"]
            spec["tolerations"] = (spec.get("tolerations") or []) + [
                t for t in DS_TOLERATIONS if t not in (spec.get("tolerations") or [])]
            spec.setdefault("affinity", {})["nodeAffinity"] = {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [nn]}]}]}}
            created = self.create_pod(s, pod)
            if created is not None:
                self.event(s, ev.NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        for nn, ps in by_node.items():
            if nn not in names:
                for p in ps:
                    if self.delete_pod(p):
                        self.event(s, ev.NORMAL, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}")
        # rolling update: one outdated pod at a time, when all are ready
        if (get_path(s, "spec", "updateStrategy", "type") or "RollingUpdate") == "RollingUpdate":
            live = [p for nn in names for p in by_node.get(nn, [])]
            if live and all(pod_is_ready(p) for p in live):
                for p in live:
                    if get_path(p, "metadata", "labels", "controller-revision-hash") != h:
                        if self.delete_pod(p):
                            self.event(s, ev.NORMAL, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}")
                        break
        pods_now = [p for p in _owned(self.store.list("", "v1", "pods", namespace=ns)[0], s) if not is_terminating(p)]
        scheduled = [p for p in pods_now if get_path(p, "spec", "nodeName") in names]
        ready = [p for p in scheduled if pod_is_ready(p)]
        updated = [p for p in scheduled if get_path(p, "metadata", "labels", "controller-revision-hash") == h]
        status = {
            "currentNumberScheduled": len(scheduled),
            "desiredNumberScheduled": len(eligible),
            "numberMisscheduled": len([p for p in pods_now if get_path(p, "spec", "nodeName")
                                       and get_path(p, "spec", "nodeName") not in names]),
            "numberReady": len(ready),
            "numberAvailable": len(ready),
            "updatedNumberScheduled": len(updated),
            "observedGeneration": s["metadata"].get("generation", 1),
        }
        if len(eligible) - len(ready) > 0:
            status["numberUnavailable"] = len(eligible) - len(ready)
        if not status["numberAvailable"]:
            status.pop("numberAvailable")
        self.update_status("apps", "daemonsets", s, status)

    @staticmethod
    def _target(pod):
        terms = get_path(pod, "spec", "affinity", "nodeAffinity",
                         "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", default=[]) or []
        for t in terms:
            for f in t.get("matchFields") or []:
                if f.get("key") == "metadata.name" and f.get("values"):
                    return f["values"][0]
        return None


# ---------------------------------------------------------------------------------------------
class JobController(_Base):
    name = "job-controller"
    kind = "Job"
    api_version = "batch/v1"
    component = ev.JOB_CONTROLLER
    watches = ("jobs", "pods")

    def sync(self):
        jobs, _ = self.store.list("batch", "v1", "jobs")
        if not jobs:
            return
        pods, _ = self.store.list("", "v1", "pods")
        for j in jobs:
            try:
                self.sync_one(j, _owned(pods, j))
            except Exception:
                log.exception("job %s/%s", j["metadata"]["namespace"], j["metadata"]["name"])

    def _finished(self, j):
        for c in get_path(j, "status", "conditions", default=[]) or []:
            if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
                return c
        return None

    def sync_one(self, j, pods):
        if is_terminating(j):
            return
        ns, name = j["metadata"]["namespace"], j["metadata"]["name"]
        spec = j.get("spec") or {}
        status = dict(j.get("status") or {})
        done = self._finished(j)
        if done:
            ttl = spec.get("ttlSecondsAfterFinished")
            fin = parse_time(status.get("completionTime") or done.get("lastTransitionTime"))
            if ttl is not None and fin is not None and time.time() >= fin + int(ttl):
                try:
                    self.store.delete("batch", "v1", "jobs", ns, name, propagation="Background")
                except Exception:
                    pass
            return
        if get_path(spec, "suspend"):
            return
        completions = spec.get("completions")
        parallelism = int(spec.get("parallelism", 1) if spec.get("parallelism") is not None else 1)
        backoff_limit = int(spec.get("backoffLimit", 6) if spec.get("backoffLimit") is not None else 6)
        active = [p for p in pods if pod_is_active(p)]
        succeeded = len([p for p in pods if get_path(p, "status", "phase") == "Succeeded"])
        failed = len([p for p in pods if get_path(p, "status", "phase") == "Failed"])
        # restarts of OnFailure pods count against the backoff limit too
        restarts = sum(int(cs.get("restartCount") or 0) for p in active
                       for cs in get_path(p, "status", "containerStatuses", default=[]) or [])
        status.setdefault("startTime", now_iso())
        conds = [dict(c) for c in status.get("conditions") or []]
        finished = None
        if completions is not None and succeeded >= int(completions):
            finished = ("Complete", None, None)
        elif completions is None and succeeded > 0 and not active:
            finished = ("Complete", None, None)
        elif failed + restarts > backoff_limit:
            finished = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif spec.get("activeDeadlineSeconds") is not None:
            start = parse_time(status.get("startTime"))
            if start is not None and time.time() - start >= int(spec["activeDeadlineSeconds"]):
                finished = ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
        if finished:
            for p in active:
                self.delete_pod(p)
            ctype, reason, message = finished
            if ctype == "Complete":
                set_condition(conds, "SuccessCriteriaMet", "True", "CompletionsReached",
                              "Reached expected number of succeeded pods", probe=True)
                set_condition(conds, "Complete", "True", "CompletionsReached",
                              "Reached expected number of succeeded pods", probe=True)
                status["completionTime"] = now_iso()
                self.event(j, ev.NORMAL, "Completed", "Job completed")
            else:
                set_condition(conds, "FailureTarget", "True", reason, message, probe=True)
                set_condition(conds, "Failed", "True", reason, message, probe=True)
                self.event(j, ev.WARNING, reason, message)
            active = []
        else:
            remaining = (int(completions) - succeeded) if completions is not None else parallelism
            want = min(parallelism, max(0, remaining))
            for _ in range(max(0, want - len(active))):
                pod = pod_from_template(spec.get("template") or {}, ns, _ref(j, "Job", "batch/v1"),
                                        generate_name=f"{name}-")
                pod["metadata"]["labels"].setdefault("batch.kubernetes.io/job-name", name)
                pod["metadata"]["labels"].setdefault("job-name", name)
                created = self.create_pod(j, pod)
                if created is None:
                    break
                active.append(created)
                self.event(j, ev.NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        status["active"] = len(active)
        status["succeeded"] = succeeded
        status["failed"] = failed
        status["ready"] = len([p for p in active if pod_is_ready(p)])
        status["terminating"] = len([p for p in pods if is_terminating(p)])
        status["uncountedTerminatedPods"] = {}
        for k in ("active", "succeeded", "failed"):
            if not status[k]:
                status.pop(k)
        if conds:
            status["conditions"] = conds
        self.update_status("batch", "jobs", j, status)
