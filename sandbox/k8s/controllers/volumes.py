"""PersistentVolume controller: PV/PVC binding, provisioning for the default StorageClass, reclaim.

Modelled on pkg/controller/volume/persistentvolume/pv_controller.go (syncClaim/syncVolume, bind,
reclaimVolume) and index.go (findBestMatchForClaim: class, access modes, volumeMode, selector,
capacity, pre-bound claimRef; the smallest matching volume wins).

Storage on disk:
* static ``hostPath`` / ``local`` PVs: the path is on the NODE, i.e. ``<node root>/<path>`` of the
  node the pod runs on (a pod rescheduled to another node sees that node's directory, as with a
  real hostPath PV; pin it with nodeSelector or PV nodeAffinity).
* PVs provisioned for StorageClass ``standard`` (provisioner ``sandbox.kubeops.io/hostpath``):
  ``<state dir>/storage/pvc-<uid>``, shared by all nodes (like network storage); reclaimPolicy
  Delete removes the directory with the PV.
"""

import logging
import shutil
import time
from pathlib import Path

from sandbox.k8s.controllers import Controller
from sandbox.k8s.controllers import events as ev
from sandbox.k8s.controllers.podvolumes import MountError, NotReadyError, node_path
from sandbox.k8s.controllers.util import (get_path, is_terminating, now_iso, parse_quantity,
                                          selector_matches)

log = logging.getLogger("sandbox.k8s.volumes")

PROVISIONER = "sandbox.kubeops.io/hostpath"
DEFAULT_CLASS = "standard"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
IS_DEFAULT = "storageclass.kubernetes.io/is-default-class"


def storage_root(cluster):
    return Path(cluster.state_dir) / "storage"


def pv_host_dir(cluster, pv, node_root):
    """The real directory behind a PV as a pod on the node with ``node_root`` sees it."""
    spec = pv.get("spec") or {}
    ann = get_path(pv, "metadata", "annotations", default={}) or {}
    if spec.get("hostPath"):
        path = spec["hostPath"].get("path", "")
        if ann.get(PROVISIONED_BY) == PROVISIONER:
            p = Path(path)
            p.mkdir(parents=True, exist_ok=True)
            return p
        real = node_path(node_root, path)
        htype = spec["hostPath"].get("type") or ""
        if htype in ("", "DirectoryOrCreate") and not real.exists():
            # the hostPath volume plugin (and the runtime for type "") creates the directory
            real.mkdir(parents=True, exist_ok=True)
        elif not real.is_dir():
            raise MountError(f"hostPath type check failed: {path} is not a directory")
        return real
    if spec.get("local"):
        path = spec["local"].get("path", "")
        real = node_path(node_root, path)
        if not real.exists():
            # pkg/volume/local/local.go: "path %q does not exist"
            raise MountError(f'path "{path}" does not exist')
        return real
    kinds = [k for k in spec if k not in ("capacity", "accessModes", "claimRef", "storageClassName",
                                          "persistentVolumeReclaimPolicy", "volumeMode",
                                          "nodeAffinity", "mountOptions")]
    raise MountError(f"volume plugin {kinds[0] if kinds else 'unknown'} is not supported by the sandbox")


def claim_host_dir(cluster, store, namespace, claim_name, node_root):
    try:
        pvc = store.get("", "v1", "persistentvolumeclaims", namespace, claim_name)
    except Exception:
        raise NotReadyError(f'persistentvolumeclaim "{claim_name}" not found')
    if get_path(pvc, "status", "phase") != "Bound" or not get_path(pvc, "spec", "volumeName"):
        raise NotReadyError(f"error processing PVC {namespace}/{claim_name}: PVC is not bound")
    try:
        pv = store.get("", "v1", "persistentvolumes", None, pvc["spec"]["volumeName"])
    except Exception:
        raise NotReadyError(f'persistentvolume "{pvc["spec"]["volumeName"]}" not found')
    return pv_host_dir(cluster, pv, node_root), pvc, pv


def _modes_ok(pvc_modes, pv_modes):
    return set(pvc_modes or []).issubset(set(pv_modes or []))


def _class_of(obj):
    return get_path(obj, "spec", "storageClassName") or ""


class VolumeController(Controller):
    name = "persistentvolume-controller"
    watches = ("persistentvolumes", "persistentvolumeclaims", "storageclasses", "pods")
    resync = 1.0

    def __init__(self, cluster, recorder):
        super().__init__(cluster, recorder)
        self._class_created = False
        self._event_times = {}

    def _event(self, obj, etype, reason, message, kind, component=ev.PV_CONTROLLER, every=15.0):
        key = (get_path(obj, "metadata", "uid"), reason, message)
        now = time.monotonic()
        if now - self._event_times.get(key, -1e9) < every:
            return
        if len(self._event_times) > 10000:
            self._event_times.clear()
        self._event_times[key] = now
        self.recorder.record(obj, etype, reason, message, component, kind=kind)

    def ensure_default_class(self):
        if self._class_created:
            return
        sc = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": DEFAULT_CLASS, "annotations": {IS_DEFAULT: "true"}},
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": False,
        }
        try:
            self.store.create("storage.k8s.io", "v1", "storageclasses", sc)
        except Exception as exc:
            if getattr(exc, "code", None) != 409:
                raise
        self._class_created = True

    def sync(self):
        self.ensure_default_class()
        pvs, _ = self.store.list("", "v1", "persistentvolumes")
        pvcs, _ = self.store.list("", "v1", "persistentvolumeclaims")
        classes = {c["metadata"]["name"]: c for c in self.store.list("storage.k8s.io", "v1", "storageclasses")[0]}
        claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in pvcs}
        for pv in pvs:
            try:
                self.sync_volume(pv, claims)
            except Exception:
                log.exception("sync volume %s", pv["metadata"]["name"])
        pvs, _ = self.store.list("", "v1", "persistentvolumes")
        for pvc in pvcs:
            try:
                self.sync_claim(pvc, pvs, classes)
            except Exception:
                log.exception("sync claim %s/%s", pvc["metadata"]["namespace"], pvc["metadata"]["name"])

    # -- volumes ----------------------------------------------------------------------------
    def _set_pv_phase(self, pv, phase, message=None):
        status = pv.setdefault("status", {})
        if status.get("phase") == phase and status.get("message") == message:
            return pv
        status["phase"] = phase
        status["lastPhaseTransitionTime"] = now_iso()
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
        return self.store.update("", "v1", "persistentvolumes", pv, subresource="status")

    def sync_volume(self, pv, claims):
        spec = pv.get("spec") or {}
        ref = spec.get("claimRef")
        phase = get_path(pv, "status", "phase")
        if is_terminating(pv):
            return
        if not ref:
            if phase != "Available":
                self._set_pv_phase(pv, "Available")
            return
        claim = claims.get((ref.get("namespace"), ref.get("name")))
        if claim is not None and (not ref.get("uid") or ref.get("uid") == claim["metadata"]["uid"]):
            if ref.get("uid") and get_path(claim, "spec", "volumeName") == pv["metadata"]["name"] \
                    and phase != "Bound":
                self._set_pv_phase(pv, "Bound")
            elif not ref.get("uid") and phase != "Available":
                self._set_pv_phase(pv, "Available")   # pre-bound to a claim, waiting for it
            return
        if not ref.get("uid"):
            if phase != "Available":
                self._set_pv_phase(pv, "Available")   # pre-bound to a claim that doesn't exist yet
            return
        # the claim is gone: reclaim (pv_controller.go reclaimVolume)
        policy = spec.get("persistentVolumeReclaimPolicy") or "Retain"
        if policy == "Retain":
            if phase != "Released":
                self._set_pv_phase(pv, "Released")
            return
        if policy == "Recycle":
            self._recycle(pv)
            return
        # Delete
        if phase == "Failed":
            return
        ann = get_path(pv, "metadata", "annotations", default={}) or {}
        if ann.get(PROVISIONED_BY) == PROVISIONER and spec.get("hostPath"):
            path = Path(spec["hostPath"]["path"])
            root = storage_root(self.cluster)
            if root in path.parents:
                shutil.rmtree(path, ignore_errors=True)
            try:
                self.store.delete("", "v1", "persistentvolumes", None, pv["metadata"]["name"])
            except Exception as exc:
                if getattr(exc, "code", None) != 404:
                    raise
            return
        if spec.get("hostPath"):
            # pkg/volume/hostpath/host_path.go hostPathDeleter: only /tmp/.+ can be deleted
            path = spec["hostPath"].get("path", "")
            import re
            if not re.match(r"^/tmp/.+", path):
                msg = f"host_path deleter only supports /tmp/.+ but received provided {path}"
                pv = self._set_pv_phase(pv, "Failed", msg)
                self._event(pv, ev.WARNING, "VolumeFailedDelete", msg, "PersistentVolume")
                return
            for node in self.cluster.nodes:
                shutil.rmtree(node_path(node.root, path), ignore_errors=True)
            self.store.delete("", "v1", "persistentvolumes", None, pv["metadata"]["name"])
            return
        msg = "error getting deleter volume plugin for volume \"%s\": no deletable volume plugin matched" % pv["metadata"]["name"]
        pv = self._set_pv_phase(pv, "Failed", msg)
        self._event(pv, ev.WARNING, "VolumeFailedDelete", msg, "PersistentVolume")

    def _recycle(self, pv):
        spec = pv.get("spec") or {}
        if spec.get("hostPath"):
            path = spec["hostPath"].get("path", "")
            for node in self.cluster.nodes:
                d = node_path(node.root, path)
                if d.is_dir():
                    for child in d.iterdir():
                        if child.is_dir() and not child.is_symlink():
                            shutil.rmtree(child, ignore_errors=True)
                        else:
                            child.unlink(missing_ok=True)
        pv["spec"].pop("claimRef", None)
        pv = self.store.update("", "v1", "persistentvolumes", pv)
        self._set_pv_phase(pv, "Available")
        self._event(pv, ev.NORMAL, "RecyclerPod", "Recycler pod: Successfully assigned recycler", "PersistentVolume")

    # -- claims -----------------------------------------------------------------------------
    def sync_claim(self, pvc, pvs, classes):
        if is_terminating(pvc):
            return
        ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
        phase = get_path(pvc, "status", "phase")
        vname = get_path(pvc, "spec", "volumeName")
        if phase == "Bound":
            pv = next((p for p in pvs if p["metadata"]["name"] == vname), None)
            if pv is None:
                self._set_claim_status(pvc, "Lost")
                self._event(pvc, ev.WARNING, "ClaimLost",
                            "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                            "PersistentVolumeClaim")
            elif get_path(pv, "status", "phase") != "Bound":
                self._set_pv_phase(pv, "Bound")
            return
        if phase == "Lost":
            return
        cls = _class_of(pvc)
        if vname:
            pv = next((p for p in pvs if p["metadata"]["name"] == vname), None)
            if pv is None:
                self._set_claim_status(pvc, "Pending")
                return
            ref = get_path(pv, "spec", "claimRef")
            if ref and (ref.get("namespace"), ref.get("name")) != (ns, name):
                self._set_claim_status(pvc, "Pending")
                self._event(pvc, ev.WARNING, "FailedBinding",
                            "volume \"%s\" already bound to a different claim." % vname,
                            "PersistentVolumeClaim")
                return
            if _class_of(pv) != cls:
                self._event(pvc, ev.WARNING, "VolumeMismatch",
                            "Cannot bind to requested volume \"%s\": storageClassName does not match" % vname,
                            "PersistentVolumeClaim")
                self._set_claim_status(pvc, "Pending")
                return
            self.bind(pv, pvc, by_controller=False)
            return
        sc = classes.get(cls) if cls else None
        selected = get_path(pvc, "metadata", "annotations", "volume.kubernetes.io/selected-node")
        cp = getattr(self.cluster, "control_plane", None)
        if not selected and cp is not None:
            selected = getattr(cp, "selected_nodes", {}).get((ns, name))
        delayed = sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        if delayed and not selected:
            # pv_controller.go syncUnboundClaim: delayed binding is left to the scheduler
            self._set_claim_status(pvc, "Pending")
            self._event(pvc, ev.NORMAL, "WaitForFirstConsumer",
                        "waiting for first consumer to be created before binding",
                        "PersistentVolumeClaim")
            return
        pv = self.find_match(pvc, pvs, node_name=selected if delayed else None)
        if pv is not None:
            self.bind(pv, pvc, by_controller=True, selected_node=selected if delayed else None)
            return
        self._set_claim_status(pvc, "Pending")
        if not cls:
            self._event(pvc, ev.NORMAL, "FailedBinding",
                        "no persistent volumes available for this claim and no storage class is set",
                        "PersistentVolumeClaim")
            return
        if sc is None:
            self._event(pvc, ev.WARNING, "ProvisioningFailed",
                        'storageclass.storage.k8s.io "%s" not found' % cls, "PersistentVolumeClaim")
            return
        if sc.get("provisioner") == PROVISIONER:
            self.provision(pvc, sc, selected if delayed else None)
        elif sc.get("provisioner") == "kubernetes.io/no-provisioner":
            self._event(pvc, ev.NORMAL, "FailedBinding",
                        "no persistent volumes available for this claim and no storage class is set"
                        if not cls else "no persistent volumes available for this claim",
                        "PersistentVolumeClaim")
        else:
            self._event(pvc, ev.NORMAL, "ExternalProvisioning",
                        "Waiting for a volume to be created either by the external provisioner '%s' "
                        "or manually by the system administrator. If volume creation is delayed, "
                        "please verify that the provisioner is running and correctly registered."
                        % sc.get("provisioner"), "PersistentVolumeClaim")

    def _node_ok(self, pv, node_name):
        required = get_path(pv, "spec", "nodeAffinity", "required")
        if not required or not node_name:
            return True
        from sandbox.k8s.controllers.scheduler import _node_selector_term_matches
        try:
            node = self.store.get("", "v1", "nodes", None, node_name)
        except Exception:
            return False
        return any(_node_selector_term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])

    def find_match(self, pvc, pvs, node_name=None):
        ns, name, uid = pvc["metadata"]["namespace"], pvc["metadata"]["name"], pvc["metadata"]["uid"]
        want = parse_quantity(get_path(pvc, "spec", "resources", "requests", "storage"))
        modes = get_path(pvc, "spec", "accessModes", default=[])
        vmode = get_path(pvc, "spec", "volumeMode") or "Filesystem"
        cls = _class_of(pvc)
        selector = get_path(pvc, "spec", "selector")
        best = None
        for pv in pvs:
            if is_terminating(pv):
                continue
            ref = get_path(pv, "spec", "claimRef")
            if ref:
                if (ref.get("namespace"), ref.get("name")) != (ns, name):
                    continue
                if ref.get("uid") and ref.get("uid") != uid:
                    continue
            elif get_path(pv, "status", "phase") not in (None, "Available", "Pending"):
                continue
            if _class_of(pv) != cls:
                continue
            if (get_path(pv, "spec", "volumeMode") or "Filesystem") != vmode:
                continue
            if not _modes_ok(modes, get_path(pv, "spec", "accessModes", default=[])):
                continue
            cap = parse_quantity(get_path(pv, "spec", "capacity", "storage"))
            if cap < want:
                continue
            if selector and not selector_matches(selector, get_path(pv, "metadata", "labels", default={})):
                continue
            if not self._node_ok(pv, node_name):
                continue
            if ref:
                return pv      # pre-bound volume wins (index.go: claimRef match first)
            if best is None or cap < parse_quantity(get_path(best, "spec", "capacity", "storage")):
                best = pv
        return best

    def bind(self, pv, pvc, by_controller, selected_node=None):
        ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
        pv_name = pv["metadata"]["name"]
        # bindVolumeToClaim
        ref = {
            "kind": "PersistentVolumeClaim", "namespace": ns, "name": name,
            "uid": pvc["metadata"]["uid"], "apiVersion": "v1",
            "resourceVersion": pvc["metadata"].get("resourceVersion"),
        }
        cur = get_path(pv, "spec", "claimRef") or {}
        if cur.get("uid") != ref["uid"]:
            if not cur:
                pv["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bound-by-controller"] = "yes"
            pv["spec"]["claimRef"] = ref
            pv = self.store.update("", "v1", "persistentvolumes", pv)
        pv = self._set_pv_phase(pv, "Bound")
        # bindClaimToVolume
        fresh = self.store.get("", "v1", "persistentvolumeclaims", ns, name)
        ann = fresh["metadata"].setdefault("annotations", {})
        changed = False
        if get_path(fresh, "spec", "volumeName") != pv_name:
            fresh["spec"]["volumeName"] = pv_name
            if by_controller:
                ann["pv.kubernetes.io/bound-by-controller"] = "yes"
            changed = True
        if ann.get("pv.kubernetes.io/bind-completed") != "yes":
            ann["pv.kubernetes.io/bind-completed"] = "yes"
            changed = True
        if selected_node and ann.get("volume.kubernetes.io/selected-node") != selected_node:
            ann["volume.kubernetes.io/selected-node"] = selected_node
            changed = True
        if changed:
            fresh = self.store.update("", "v1", "persistentvolumeclaims", fresh)
        status = fresh.setdefault("status", {})
        status["phase"] = "Bound"
        status["accessModes"] = get_path(pv, "spec", "accessModes", default=[])
        status["capacity"] = dict(get_path(pv, "spec", "capacity", default={}))
        self.store.update("", "v1", "persistentvolumeclaims", fresh, subresource="status")

    def _set_claim_status(self, pvc, phase):
        if get_path(pvc, "status", "phase") == phase:
            return
        pvc.setdefault("status", {})["phase"] = phase
        try:
            self.store.update("", "v1", "persistentvolumeclaims", pvc, subresource="status")
        except Exception:
            pass

    def provision(self, pvc, sc, selected_node=None):
        ns, name, uid = pvc["metadata"]["namespace"], pvc["metadata"]["name"], pvc["metadata"]["uid"]
        pv_name = f"pvc-{uid}"
        self._event(pvc, ev.NORMAL, "Provisioning",
                    f'External provisioner is provisioning volume for claim "{ns}/{name}"',
                    "PersistentVolumeClaim", component=PROVISIONER)
        path = storage_root(self.cluster) / pv_name
        path.mkdir(parents=True, exist_ok=True)
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": pv_name,
                "annotations": {PROVISIONED_BY: PROVISIONER},
            },
            "spec": {
                "capacity": {"storage": get_path(pvc, "spec", "resources", "requests", "storage")},
                "accessModes": get_path(pvc, "spec", "accessModes", default=["ReadWriteOnce"]),
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                "storageClassName": sc["metadata"]["name"],
                "volumeMode": get_path(pvc, "spec", "volumeMode") or "Filesystem",
                "hostPath": {"path": str(path), "type": ""},
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": name,
                             "uid": uid, "apiVersion": "v1",
                             "resourceVersion": pvc["metadata"].get("resourceVersion")},
            },
        }
        try:
            created = self.store.create("", "v1", "persistentvolumes", pv)
        except Exception as exc:
            if getattr(exc, "code", None) != 409:
                raise
            created = self.store.get("", "v1", "persistentvolumes", None, pv_name)
        self._event(pvc, ev.NORMAL, "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}",
                    "PersistentVolumeClaim", component=PROVISIONER)
        self.bind(created, pvc, by_controller=True, selected_node=selected_node)

    def shutdown(self):
        pass
