"""Node registration (what each kubelet does at start) and the default scheduler.

Scheduler: filters in the default plugin order (pkg/scheduler/apis/config/v1/default_plugins.go):
NodeUnschedulable, TaintToleration, NodeAffinity (nodeSelector + required nodeAffinity),
NodeResourcesFit, VolumeBinding; then picks the feasible node with the fewest pods (ties by name,
standing for NodeResourcesBalancedAllocation/LeastAllocated scoring) and binds.
FailedScheduling messages are built like framework.FitError.Error()
(pkg/scheduler/framework/types.go): "0/N nodes are available: <prefilter msg>. <histogram>.
preemption: ..." including upstream's double full stop at the end.
"""

import logging
import platform
import time

from sandbox.k8s.controllers import Controller
from sandbox.k8s.controllers import events as ev
from sandbox.k8s.controllers.util import (get_path, is_terminating, now_iso, parse_quantity,
                                          selector_matches, set_condition)

log = logging.getLogger("sandbox.k8s.scheduler")

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}

NODE_CAPACITY = {"cpu": "4", "memory": "8141240Ki", "pods": "110", "ephemeral-storage": "61202244Ki",
                 "hugepages-1Gi": "0", "hugepages-2Mi": "0"}


def api_version_info(cluster):
    """The API server's version dict (kubeletVersion must match gitVersion)."""
    for attr in ("version_info", "version"):
        value = getattr(cluster, attr, None)
        if isinstance(value, dict) and value.get("gitVersion"):
            return value
    try:
        from sandbox.k8s import apiserver  # VERSION_INFO is what /version answers
        value = getattr(apiserver, "VERSION_INFO", None)
        if isinstance(value, dict) and value.get("gitVersion"):
            return value
    except Exception:
        pass
    return {"gitVersion": "v1.31.0", "major": "1", "minor": "31"}


def node_index(cluster, name):
    for i, node in enumerate(cluster.nodes):
        if node.name == name:
            return i
    return 0


class NodeController(Controller):
    """Registers a Node object per sandbox node and keeps its status (kubelet node status +
    the node lifecycle controller's unschedulable taint)."""

    name = "nodes"
    watches = ("nodes",)
    resync = 5.0

    def __init__(self, cluster, recorder):
        super().__init__(cluster, recorder)
        self._registered = set()
        self._heartbeats = {}

    def node_object(self, i, node):
        version = api_version_info(self.cluster).get("gitVersion", "v1.31.0")
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": node.name,
            "kubernetes.io/os": "linux",
        }
        taints = []
        if node.role == "master":
            labels["node-role.kubernetes.io/control-plane"] = ""
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
            taints.append(dict(CONTROL_PLANE_TAINT))
        ts = now_iso()
        conds = [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
        obj = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": node.name,
                "labels": labels,
                "annotations": {
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                },
            },
            "spec": {"podCIDR": f"10.244.{i}.0/24", "podCIDRs": [f"10.244.{i}.0/24"]},
            "status": {
                "capacity": dict(NODE_CAPACITY),
                "allocatable": dict(NODE_CAPACITY),
                "conditions": [
                    {"type": t, "status": s, "reason": r, "message": m,
                     "lastHeartbeatTime": ts, "lastTransitionTime": ts}
                    for t, s, r, m in conds
                ],
                "addresses": [
                    {"type": "InternalIP", "address": node.address},
                    {"type": "Hostname", "address": node.name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "machineID": f"{i:032x}",
                    "systemUUID": f"{i:08x}-0000-0000-0000-000000000000",
                    "bootID": f"{i:08x}-b007-0000-0000-000000000000",
                    "kernelVersion": platform.release(),
                    "osImage": "Sandbox Linux (kubeops.jenkins)",
                    # No container engine exists here; say so instead of pretending containerd.
                    "containerRuntimeVersion": "sandbox://1.0.0",
                    "kubeletVersion": version,
                    "kubeProxyVersion": version,
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
                "images": [],
            },
        }
        if taints:
            obj["spec"]["taints"] = taints
        return obj

    def sync(self):
        for i, node in enumerate(self.cluster.nodes):
            if node.name not in self._registered:
                self._register(i, node)
                continue
            try:
                obj = self.store.get("", "v1", "nodes", None, node.name)
            except Exception:
                continue   # deleted by a user: a real kubelet re-registers only when restarted
            self._lifecycle(obj)

    def _register(self, i, node):
        obj = self.node_object(i, node)
        try:
            created = self.store.create("", "v1", "nodes", {k: v for k, v in obj.items() if k != "status"})
        except Exception as exc:
            if getattr(exc, "code", None) != 409:
                raise
            created = self.store.get("", "v1", "nodes", None, node.name)
        created["status"] = obj["status"]
        try:
            self.store.update("", "v1", "nodes", created, subresource="status")
        except Exception:
            log.exception("node status for %s", node.name)
            return
        self._registered.add(node.name)
        self.recorder.record(created, ev.NORMAL, "Starting", "Starting kubelet.", ev.KUBELET,
                             host=node.name, kind="Node")
        self.recorder.record(created, ev.NORMAL, "NodeReady",
                             f"Node {node.name} status is now: NodeReady", ev.KUBELET,
                             host=node.name, kind="Node")

    def _lifecycle(self, obj):
        """Taint node.kubernetes.io/unschedulable while spec.unschedulable (TaintNodesByCondition,
        pkg/controller/nodelifecycle/node_lifecycle_controller.go); refresh heartbeats."""
        spec = obj.setdefault("spec", {})
        taints = spec.get("taints") or []
        has = any(t.get("key") == UNSCHEDULABLE_TAINT["key"] for t in taints)
        changed = False
        if spec.get("unschedulable") and not has:
            taints.append(dict(UNSCHEDULABLE_TAINT, timeAdded=now_iso()))
            changed = True
        elif not spec.get("unschedulable") and has:
            taints = [t for t in taints if t.get("key") != UNSCHEDULABLE_TAINT["key"]]
            changed = True
        if changed:
            spec["taints"] = taints
            if not taints:
                spec.pop("taints", None)
            try:
                obj = self.store.update("", "v1", "nodes", obj)
            except Exception:
                return
        # heartbeat: the kubelet reports node status when it changes and at least every
        # nodeStatusReportFrequency (default 5 min; liveness goes through Leases, not modelled)
        name = obj["metadata"]["name"]
        now = time.monotonic()
        if now - self._heartbeats.get(name, 0) < 60:
            return
        self._heartbeats[name] = now
        ts = now_iso()
        for c in get_path(obj, "status", "conditions", default=[]) or []:
            c["lastHeartbeatTime"] = ts
        try:
            self.store.update("", "v1", "nodes", obj, subresource="status")
        except Exception:
            pass


def tolerates(tolerations, taint):
    """v1helper.TolerationsTolerateTaint (pkg/apis/core/v1/helper/helpers.go)."""
    for tol in tolerations or []:
        effect = tol.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        op = tol.get("operator") or "Equal"
        key = tol.get("key")
        if not key:
            if op == "Exists":
                return True
            continue
        if key != taint.get("key"):
            continue
        if op == "Exists" or (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _node_selector_term_matches(term, node):
    labels = get_path(node, "metadata", "labels", default={}) or {}
    for expr in term.get("matchExpressions") or []:
        if not selector_matches({"matchExpressions": [expr]}, labels):
            return False
    for expr in term.get("matchFields") or []:
        fields = {"metadata.name": node["metadata"]["name"]}
        if not selector_matches({"matchExpressions": [expr]}, fields):
            return False
    return bool(term.get("matchExpressions") or term.get("matchFields"))


def node_affinity_matches(pod, node):
    labels = get_path(node, "metadata", "labels", default={}) or {}
    for k, v in (get_path(pod, "spec", "nodeSelector", default={}) or {}).items():
        if labels.get(k) != v:
            return False
    required = get_path(pod, "spec", "affinity", "nodeAffinity",
                        "requiredDuringSchedulingIgnoredDuringExecution")
    if required:
        terms = required.get("nodeSelectorTerms") or []
        if not any(_node_selector_term_matches(t, node) for t in terms):
            return False
    return True


def pod_requests(pod):
    cpu = mem = 0.0
    for c in get_path(pod, "spec", "containers", default=[]) or []:
        req = get_path(c, "resources", "requests", default={}) or {}
        cpu += parse_quantity(req.get("cpu"))
        mem += parse_quantity(req.get("memory"))
    for c in get_path(pod, "spec", "initContainers", default=[]) or []:
        req = get_path(c, "resources", "requests", default={}) or {}
        cpu = max(cpu, parse_quantity(req.get("cpu")))
        mem = max(mem, parse_quantity(req.get("memory")))
    return cpu, mem


def _node_ready(node):
    for c in get_path(node, "status", "conditions", default=[]) or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


class Scheduler(Controller):
    name = "scheduler"
    watches = ("pods", "nodes", "persistentvolumeclaims", "persistentvolumes")
    resync = 1.0

    def __init__(self, cluster, recorder):
        super().__init__(cluster, recorder)
        self._last_failure = {}     # pod uid -> (message, time)

    def sync(self):
        pods, _ = self.store.list("", "v1", "pods")
        pending = [p for p in pods
                   if not get_path(p, "spec", "nodeName")
                   and (get_path(p, "spec", "schedulerName") or "default-scheduler") == "default-scheduler"
                   and not is_terminating(p)
                   and get_path(p, "status", "phase") in (None, "Pending")]
        if not pending:
            return
        nodes, _ = self.store.list("", "v1", "nodes")
        nodes.sort(key=lambda n: n["metadata"]["name"])
        bound = [p for p in pods if get_path(p, "spec", "nodeName")
                 and get_path(p, "status", "phase") not in ("Succeeded", "Failed")]
        pending.sort(key=lambda p: p["metadata"].get("creationTimestamp") or "")
        for pod in pending:
            try:
                node_name = self.schedule_one(pod, nodes, bound)
            except Exception:
                log.exception("scheduling %s/%s", pod["metadata"].get("namespace"), pod["metadata"]["name"])
                continue
            if node_name:
                pod["spec"]["nodeName"] = node_name
                bound.append(pod)

    # -- one pod -----------------------------------------------------------------------------
    def schedule_one(self, pod, nodes, bound):
        n = len(nodes)
        prefilter, wait_for_binding, wffc_claims = self._volume_prefilter(pod)
        if prefilter:
            self._fail(pod, f"0/{n} nodes are available: {prefilter}. preemption: 0/{n} nodes are "
                            f"available: {n} Preemption is not helpful for scheduling..")
            return None
        reasons = {}
        feasible = []
        for node in nodes:
            reason, resolvable = self._filter(pod, node, bound)
            if reason is None:
                reason = self._volume_filter(pod, node, wffc_claims)
                resolvable = False
            if reason is None:
                feasible.append(node)
            else:
                reasons[node["metadata"]["name"]] = (reason, resolvable)
        if not feasible:
            hist = {}
            pre = {}
            for reason, resolvable in reasons.values():
                hist[reason] = hist.get(reason, 0) + 1
                key = ("No preemption victims found for incoming pod" if resolvable
                       else "Preemption is not helpful for scheduling")
                pre[key] = pre.get(key, 0) + 1
            parts = sorted(f"{c} {r}" for r, c in hist.items())
            pparts = sorted(f"{c} {r}" for r, c in pre.items())
            msg = (f"0/{n} nodes are available: {', '.join(parts)}. preemption: 0/{n} nodes are "
                   f"available: {', '.join(pparts)}..") if n else \
                "no nodes available to schedule pods"
            self._fail(pod, msg)
            return None
        # score: fewest pods on the node, then name
        counts = {}
        for p in bound:
            nn = get_path(p, "spec", "nodeName")
            counts[nn] = counts.get(nn, 0) + 1
        feasible.sort(key=lambda nd: (counts.get(nd["metadata"]["name"], 0), nd["metadata"]["name"]))
        chosen = feasible[0]["metadata"]["name"]
        if wffc_claims:
            # Delayed binding: AssumePodVolumes + BindPodVolumes (volume_binding.go PreBind):
            # annotate the claims with the selected node, wait for the PV controller to bind them.
            selected = getattr(self.cluster.control_plane, "selected_nodes", None) \
                if getattr(self.cluster, "control_plane", None) is not None else None
            for claim in wffc_claims:
                key = (claim["metadata"]["namespace"], claim["metadata"]["name"])
                if selected is not None:
                    selected.setdefault(key, chosen)
                ann = claim["metadata"].setdefault("annotations", {})
                if ann.get("volume.kubernetes.io/selected-node") != chosen:
                    ann["volume.kubernetes.io/selected-node"] = chosen
                    try:
                        self.store.update("", "v1", "persistentvolumeclaims", claim)
                    except Exception as exc:
                        # (the API server may refuse metadata-only updates of unbound claims;
                        # the PV controller also reads control_plane.selected_nodes)
                        log.debug("annotating claim %s: %s", key, exc)
            return None
        if wait_for_binding:
            return None
        self._bind(pod, chosen)
        return chosen

    def _volume_prefilter(self, pod):
        """VolumeBinding PreFilter (pkg/scheduler/framework/plugins/volumebinding/volume_binding.go,
        binder.go GetPodVolumeClaims): missing / terminating / unbound-immediate claims."""
        ns = pod["metadata"].get("namespace")
        wffc = []
        waiting = False
        unbound_immediate = False
        for vol in get_path(pod, "spec", "volumes", default=[]) or []:
            claim_name = get_path(vol, "persistentVolumeClaim", "claimName")
            if not claim_name and vol.get("ephemeral"):
                claim_name = f"{pod['metadata']['name']}-{vol['name']}"
            if not claim_name:
                continue
            try:
                pvc = self.store.get("", "v1", "persistentvolumeclaims", ns, claim_name)
            except Exception:
                return f'persistentvolumeclaim "{claim_name}" not found', False, []
            if is_terminating(pvc):
                return f'persistentvolumeclaim "{claim_name}" is being deleted', False, []
            if get_path(pvc, "status", "phase") == "Bound" or get_path(pvc, "spec", "volumeName"):
                if get_path(pvc, "status", "phase") != "Bound":
                    waiting = True
                continue
            sc_name = get_path(pvc, "spec", "storageClassName")
            mode = "Immediate"
            if sc_name:
                try:
                    sc = self.store.get("storage.k8s.io", "v1", "storageclasses", None, sc_name)
                    mode = sc.get("volumeBindingMode") or "Immediate"
                except Exception:
                    mode = "Immediate"
            if mode == "WaitForFirstConsumer":
                if get_path(pvc, "metadata", "annotations", "volume.kubernetes.io/selected-node"):
                    waiting = True
                wffc.append(pvc)
            else:
                unbound_immediate = True
        if unbound_immediate:
            return "pod has unbound immediate PersistentVolumeClaims", False, []
        return None, waiting, wffc

    def _volume_filter(self, pod, node, wffc_claims=()):
        """VolumeBinding Filter: bound PVs with nodeAffinity (local volumes) must fit the node;
        delayed-binding claims without a provisioner need an available PV usable on the node
        (binder.go FindPodVolumes: "node(s) didn't find available persistent volumes to bind")."""
        ns = pod["metadata"].get("namespace")
        if wffc_claims:
            from sandbox.k8s.controllers.volumes import PROVISIONER
            cp = getattr(self.cluster, "control_plane", None)
            vc = cp.get("persistentvolume-controller") if cp is not None else None
            pvs = None
            for claim in wffc_claims:
                sc_name = get_path(claim, "spec", "storageClassName")
                try:
                    sc = self.store.get("storage.k8s.io", "v1", "storageclasses", None, sc_name)
                except Exception:
                    sc = {}
                if sc.get("provisioner") == PROVISIONER or vc is None:
                    continue
                if pvs is None:
                    pvs = self.store.list("", "v1", "persistentvolumes")[0]
                if vc.find_match(claim, pvs, node_name=node["metadata"]["name"]) is None:
                    return "node(s) didn't find available persistent volumes to bind"
        for vol in get_path(pod, "spec", "volumes", default=[]) or []:
            claim_name = get_path(vol, "persistentVolumeClaim", "claimName")
            if not claim_name:
                continue
            try:
                pvc = self.store.get("", "v1", "persistentvolumeclaims", ns, claim_name)
                pv_name = get_path(pvc, "spec", "volumeName")
                if not pv_name:
                    continue
                pv = self.store.get("", "v1", "persistentvolumes", None, pv_name)
            except Exception:
                continue
            required = get_path(pv, "spec", "nodeAffinity", "required")
            if required:
                terms = required.get("nodeSelectorTerms") or []
                if not any(_node_selector_term_matches(t, node) for t in terms):
                    return "node(s) had volume node affinity conflict"
        return None

    def _filter(self, pod, node, bound):
        """(reason, resolvable_by_preemption) of the first failing filter plugin, or (None, _)."""
        spec = node.get("spec") or {}
        tolerations = get_path(pod, "spec", "tolerations", default=[]) or []
        if spec.get("unschedulable") and not tolerates(tolerations, UNSCHEDULABLE_TAINT):
            return "node(s) were unschedulable", False
        taints = list(spec.get("taints") or [])
        if not _node_ready(node):
            taints.append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
        for taint in taints:
            if taint.get("effect") not in ("NoSchedule", "NoExecute"):
                continue
            if not tolerates(tolerations, taint):
                return "node(s) had untolerated taint {%s: %s}" % (taint.get("key"), taint.get("value") or ""), False
        if not node_affinity_matches(pod, node):
            return "node(s) didn't match Pod's node affinity/selector", False
        name = node["metadata"]["name"]
        alloc = get_path(node, "status", "allocatable", default={}) or {}
        on_node = [p for p in bound if get_path(p, "spec", "nodeName") == name]
        if len(on_node) + 1 > parse_quantity(alloc.get("pods", "110")):
            return "Too many pods", True
        cpu, mem = pod_requests(pod)
        used_cpu = sum(pod_requests(p)[0] for p in on_node)
        used_mem = sum(pod_requests(p)[1] for p in on_node)
        if cpu and used_cpu + cpu > parse_quantity(alloc.get("cpu")):
            return "Insufficient cpu", True
        if mem and used_mem + mem > parse_quantity(alloc.get("memory")):
            return "Insufficient memory", True
        return None, False

    def _fail(self, pod, message):
        uid = pod["metadata"].get("uid")
        last = self._last_failure.get(uid)
        now = time.monotonic()
        # upstream retries unschedulable pods with backoff (1s..10s) and on cluster events
        if last and last[0] == message and now - last[1] < 10:
            return
        self._last_failure[uid] = (message, now)
        if len(self._last_failure) > 10000:
            self._last_failure.clear()
        self.recorder.record(pod, ev.WARNING, "FailedScheduling", message, ev.SCHEDULER, kind="Pod")
        # the PodScheduled=False condition (schedule_one.go handleSchedulingFailure)
        try:
            fresh = self.store.get("", "v1", "pods", pod["metadata"].get("namespace"), pod["metadata"]["name"])
            status = fresh.setdefault("status", {})
            status.setdefault("phase", "Pending")
            conds = status.setdefault("conditions", [])
            before = [dict(c) for c in conds]
            set_condition(conds, "PodScheduled", "False", "Unschedulable", message, probe=True)
            if conds != before:
                self.store.update("", "v1", "pods", fresh, subresource="status")
        except Exception:
            pass

    def _bind(self, pod, node_name):
        """POST pods/binding (DefaultBinder): sets spec.nodeName and PodScheduled=True."""
        ns, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
        self.store.bind(ns, name, node_name)
        self._last_failure.pop(pod["metadata"].get("uid"), None)
        self.recorder.record(pod, ev.NORMAL, "Scheduled",
                             f"Successfully assigned {ns}/{name} to {node_name}", ev.SCHEDULER,
                             kind="Pod")
