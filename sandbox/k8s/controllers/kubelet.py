"""One simulated kubelet per node.

A single worker loop per node (woken by pod events, resync every 0.3 s) runs what the real
kubelet's pod workers do (pkg/kubelet/kubelet.go SyncPod / SyncTerminatingPod,
pkg/kubelet/kuberuntime/kuberuntime_manager.go computePodActions):

* pod sandbox: pod IP 10.244.<node index>.<n> (data only), hostIP, startTime;
* volumes (podvolumes.py) before any container, FailedMount events while they cannot be set up
  (PVC not bound, hostPath type check failed, missing ConfigMap/Secret that is not optional);
* init containers one after another, then all app containers; image pulls with the image
  manager's events and back-off (pkg/kubelet/images/image_manager.go: 10 s doubling to 300 s);
* restartPolicy and CrashLoopBackOff (pkg/kubelet/kubelet.go: backOffPeriod 10 s,
  MaxContainerBackOff 300 s; the first restart is immediate);
* probes (pkg/kubelet/prober/prober.go, worker.go): httpGet/tcpSocket really executed against
  the loopback listener the runtime exposed for that containerPort; exec/grpc pass;
  initialDelaySeconds/periodSeconds/timeoutSeconds/success/failureThreshold honoured;
* status: phase from getPhase (pkg/kubelet/kubelet_pods.go), conditions PodReadyToStartContainers,
  Initialized, Ready, ContainersReady (pkg/kubelet/status/generate.go), container statuses;
* ConfigMap/Secret/projected volumes refreshed after a change once ``configmap_sync_delay``
  seconds have passed (real kubelet: up to sync period + cache TTL, pkg/kubelet/configmap/
  configmap_manager.go and the watch-based manager; written by pkg/volume/util/atomic_writer.go);
  subPath mounts of such volumes are copies and never updated, as upstream;
* graceful deletion: deletionTimestamp -> Killing events, runtime.stop(grace) -> the kubelet
  deletes the pod object with grace 0 (pkg/kubelet/status/status_manager.go canBeDeleted).
"""

import http.client
import inspect
import logging
import os
import shutil
import socket
import ssl
import threading
import time
import uuid
from pathlib import Path

from sandbox.k8s import images
from sandbox.k8s.controllers import Controller
from sandbox.k8s.controllers import events as ev
from sandbox.k8s.controllers.envvars import EnvError, build_env, expand
from sandbox.k8s.controllers.podvolumes import (ATOMIC_KINDS, PLUGIN_DIRS, MountError, NotReadyError,
                                                PayloadContext, check_host_path, node_path, pod_dir,
                                                volume_payload, write_payload)
from sandbox.k8s.controllers.scheduler import NODE_CAPACITY, node_index
from sandbox.k8s.controllers.util import get_path, is_terminating, now_iso, set_condition
from sandbox.k8s.controllers.volumes import claim_host_dir
from sandbox.k8s.runtime import ContainerContext, Mount, container_log_path, pod_log_dir

log = logging.getLogger("sandbox.k8s.kubelet")

BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
DEFAULT_CONFIGMAP_SYNC_DELAY = 2.0


def cluster_option(cluster, name, default):
    for holder in (getattr(cluster, "options", None), getattr(cluster, "config", None)):
        if isinstance(holder, dict) and holder.get(name) is not None:
            return holder[name]
    value = getattr(cluster, name, None)
    return default if value is None else value


class ProbeState:
    def __init__(self):
        self.next = 0.0
        self.successes = 0
        self.failures = 0
        self.result = None      # None unknown, True, False


class CState:
    """Kubelet-side state of one container."""

    def __init__(self, spec, is_init, first_reason):
        self.spec = spec
        self.name = spec.get("name")
        self.is_init = is_init
        self.handle = None
        self.ctx = None
        self.state = {"waiting": {"reason": first_reason}}
        self.last_state = {}
        self.restart_count = 0
        self.ready = False
        self.started = False
        self.container_id = ""
        self.image_id = ""
        self.started_at = None
        self.run_started = 0.0
        self.crash_backoff = 0.0
        self.next_start = 0.0
        self.ever_started = False
        self.pull_backoff = 0.0
        self.next_pull = 0.0
        self.done = False          # init container completed successfully
        self.terminal = False      # will not be restarted
        self.probes = {"startup": ProbeState(), "liveness": ProbeState(), "readiness": ProbeState()}
        self.killing = False

    @property
    def sidecar(self):
        return self.is_init and self.spec.get("restartPolicy") == "Always"

    def field_path(self):
        return ("spec.initContainers{%s}" if self.is_init else "spec.containers{%s}") % self.name


class VolumeState:
    def __init__(self, name, kind, path, read_only=False, atomic=False, spec=None):
        self.name = name
        self.kind = kind
        self.path = Path(path)
        self.read_only = read_only
        self.atomic = atomic
        self.spec = spec
        self.payload = None
        self.pending_since = None


class PodRecord:
    def __init__(self, pod):
        md = pod["metadata"]
        self.uid = md["uid"]
        self.namespace = md.get("namespace", "")
        self.name = md["name"]
        self.pod = pod
        spec = pod.get("spec") or {}
        self.init = [CState(c, True, "PodInitializing") for c in spec.get("initContainers") or []]
        first = "PodInitializing" if self.init else "ContainerCreating"
        self.containers = [CState(c, False, first) for c in spec.get("containers") or []]
        self.ip = None
        self.start_time = None
        self.volumes = None
        self.volumes_ready = False
        self.init_failed = False
        self.final_phase = None
        self.terminating = False
        self.terminated = threading.Event()
        self.last_status = None
        self.tokens = {}
        self.last_mount_event = 0.0
        self.event_times = {}

    def all(self):
        return self.init + self.containers


class Kubelet(Controller):
    watches = ("pods",)
    resync = 0.3

    def __init__(self, cluster, recorder, node):
        super().__init__(cluster, recorder)
        self.node = node
        self.name = f"kubelet-{node.name}"
        self.index = node_index(cluster, node.name)
        self.pods = {}
        self.images = set()
        self._ips = set()

    # -- helpers -----------------------------------------------------------------------------
    @property
    def runtimes(self):
        return self.cluster.runtimes

    def event(self, rec, etype, reason, message, cs=None, every=None):
        """Record an event; with ``every``, the same event is recorded at most that often
        (the pod worker of a real kubelet re-syncs a pod that cannot start every ~10 s)."""
        if every:
            key = (cs.name if cs else None, reason, message)
            now = time.monotonic()
            if now - rec.event_times.get(key, -1e9) < every:
                return
            rec.event_times[key] = now
        self.recorder.record(rec.pod, etype, reason, message, ev.KUBELET, host=self.node.name,
                             field_path=cs.field_path() if cs else None, kind="Pod")

    def _alloc_ip(self, pod):
        if get_path(pod, "spec", "hostNetwork"):
            return self.node.address
        existing = get_path(pod, "status", "podIP")
        if existing and existing.startswith(f"10.244.{self.index}."):
            self._ips.add(existing)
            return existing
        for n in range(2, 255):
            ip = f"10.244.{self.index}.{n}"
            if ip not in self._ips:
                self._ips.add(ip)
                return ip
        return f"10.244.{self.index}.255"

    # -- main loop ---------------------------------------------------------------------------
    def sync(self):
        items, _ = self.store.list("", "v1", "pods")
        mine = [p for p in items if get_path(p, "spec", "nodeName") == self.node.name]
        seen = set()
        for pod in mine:
            uid = pod["metadata"].get("uid")
            seen.add(uid)
            rec = self.pods.get(uid)
            if rec is None:
                if get_path(pod, "status", "phase") in ("Succeeded", "Failed") and not is_terminating(pod):
                    continue   # finished before this kubelet (re)started
                rec = PodRecord(pod)
                self.pods[uid] = rec
            try:
                self.sync_pod(rec, pod)
            except Exception:
                log.exception("%s: sync pod %s/%s", self.name, rec.namespace, rec.name)
        for uid in [u for u in self.pods if u not in seen]:
            rec = self.pods.pop(uid)
            try:
                self.teardown(rec, grace=2)
            except Exception:
                log.exception("%s: teardown %s/%s", self.name, rec.namespace, rec.name)

    def shutdown(self):
        for rec in list(self.pods.values()):
            for cs in rec.all():
                if cs.handle is not None:
                    try:
                        cs.handle.stop(1)
                    except Exception:
                        log.exception("stopping %s", cs.name)
                    cs.handle = None
            self.runtimes.unexpose_pod(rec.uid)

    # -- one pod -----------------------------------------------------------------------------
    def sync_pod(self, rec, pod):
        rec.pod = pod
        if is_terminating(pod):
            self.terminate(rec, pod)
            return
        if rec.final_phase:
            return
        self._apply_spec_changes(rec, pod)
        if rec.ip is None:
            rec.ip = self._alloc_ip(pod)
            rec.start_time = get_path(pod, "status", "startTime") or now_iso()
            self.write_status(rec)
        if not rec.volumes_ready:
            if not self.setup_volumes(rec):
                self.write_status(rec)
                return
        else:
            self.refresh_volumes(rec)
        initialized = True
        for cs in rec.init:
            if cs.done:
                continue
            self.step_container(rec, cs)
            if rec.init_failed:
                break
            if cs.sidecar and cs.started:
                continue
            if not cs.done:
                initialized = False
                break
        if initialized and not rec.init_failed:
            for cs in rec.containers:
                if cs.state.get("waiting", {}).get("reason") == "PodInitializing":
                    cs.state = {"waiting": {"reason": "ContainerCreating"}}
                self.step_container(rec, cs)
        self.write_status(rec)

    def _apply_spec_changes(self, rec, pod):
        """Only images may change in a pod's containers; a changed image means the kubelet
        kills the container and starts it again with the new image
        (kuberuntime_manager.go computePodActions: "Container %s definition changed")."""
        specs = {c.get("name"): c for c in get_path(pod, "spec", "containers", default=[]) or []}
        specs.update({c.get("name"): c for c in get_path(pod, "spec", "initContainers", default=[]) or []})
        for cs in rec.all():
            new = specs.get(cs.name)
            if new is None or new.get("image") == cs.spec.get("image"):
                continue
            cs.spec = new
            if cs.is_init and cs.done:
                continue
            if cs.handle is not None:
                self.kill_container(rec, cs, f"Container {cs.name} definition changed, will be restarted",
                                    self._grace(rec))
                cs.next_start = 0.0
            cs.terminal = False
            cs.pull_backoff = 0.0
            cs.next_pull = 0.0

    # -- volumes -----------------------------------------------------------------------------
    def _token_source(self, rec):
        def source(audience, expiration):
            key = (audience, expiration)
            cached = rec.tokens.get(key)
            now = time.time()
            if cached and now < cached[1]:
                return cached[0]
            signer = getattr(self.store, "token_signer", None)
            sa_name = get_path(rec.pod, "spec", "serviceAccountName") or "default"
            try:
                sa = self.store.get("", "v1", "serviceaccounts", rec.namespace, sa_name)
            except Exception:
                raise MountError(f'failed to fetch token: serviceaccounts "{sa_name}" not found')
            authority = getattr(self.cluster, "tokens", None)
            if authority is not None and hasattr(authority, "issue_ex"):
                # TokenRequest bound to the pod, as the kubelet's token manager requests it
                token, expiry = authority.issue_ex(rec.namespace, sa_name, expiration,
                                                   [audience] if audience else None, rec.pod)
                rec.tokens[key] = (token, now + 0.8 * max(1, expiry - now))
                return token
            if signer is None:
                raise MountError("failed to fetch token: the API server has no token signer")
            kwargs = {}
            try:
                params = inspect.signature(signer).parameters
            except (TypeError, ValueError):
                params = {}
            extra = {"pod": rec.pod, "pod_name": rec.name, "pod_uid": rec.uid,
                     "audience": audience, "audiences": [audience] if audience else None,
                     "expiration": expiration, "expiration_seconds": expiration}
            for k, v in extra.items():
                if k in params and v is not None:
                    kwargs[k] = v
            token = signer(rec.namespace, sa_name, sa["metadata"]["uid"], **kwargs)
            # the kubelet's token manager refreshes at 80% of the TTL (pkg/kubelet/token/token_manager.go)
            rec.tokens[key] = (token, now + 0.8 * expiration)
            return token
        return source

    def _pod_dir(self, rec):
        return pod_dir(self.node.root, rec.uid)

    def setup_volumes(self, rec):
        pod = rec.pod
        vols = {}
        pctx = PayloadContext(self.store, pod, self.node, self._token_source(rec))
        for vol in get_path(pod, "spec", "volumes", default=[]) or []:
            name = vol.get("name")
            try:
                vols[name] = self._setup_volume(rec, vol, pctx)
            except NotReadyError as exc:
                self._mount_event(rec, "Unable to attach or mount volumes: unmounted volumes=[%s], "
                                       "unattached volumes=[%s]: %s" % (name, name, exc))
                return False
            except MountError as exc:
                self._mount_event(rec, f'MountVolume.SetUp failed for volume "{name}" : {exc}')
                return False
            except OSError as exc:
                self._mount_event(rec, f'MountVolume.SetUp failed for volume "{name}" : {exc}')
                return False
        rec.volumes = vols
        rec.volumes_ready = True
        return True

    def _mount_event(self, rec, message):
        now = time.monotonic()
        if now - rec.last_mount_event < 10:
            return
        rec.last_mount_event = now
        self.event(rec, ev.WARNING, "FailedMount", message)

    def _setup_volume(self, rec, vol, pctx):
        name = vol.get("name")
        base = self._pod_dir(rec) / "volumes"
        if vol.get("hostPath") is not None:
            hp = vol["hostPath"]
            real = node_path(self.node.root, hp.get("path", "/"))
            check_host_path(real, hp.get("path"), hp.get("type") or "")
            return VolumeState(name, "hostPath", real, spec=vol)
        if vol.get("emptyDir") is not None:
            d = base / PLUGIN_DIRS["emptyDir"] / name
            d.mkdir(parents=True, exist_ok=True)
            return VolumeState(name, "emptyDir", d, spec=vol)
        claim = get_path(vol, "persistentVolumeClaim", "claimName")
        if not claim and vol.get("ephemeral") is not None:
            claim = f"{rec.name}-{name}"
        if claim:
            path, _pvc, _pv = claim_host_dir(self.cluster, self.store, rec.namespace, claim, self.node.root)
            ro = bool(get_path(vol, "persistentVolumeClaim", "readOnly"))
            return VolumeState(name, "persistentVolumeClaim", path, read_only=ro, spec=vol)
        for kind in ATOMIC_KINDS:
            if vol.get(kind) is not None:
                d = base / PLUGIN_DIRS[kind] / name
                payload = volume_payload(pctx, vol)
                write_payload(d, payload)
                st = VolumeState(name, kind, d, read_only=True, atomic=True, spec=vol)
                st.payload = payload
                return st
        kinds = [k for k in vol if k != "name"]
        raise MountError(f"volume type {kinds[0] if kinds else '?'} is not supported by the sandbox")

    def refresh_volumes(self, rec):
        delay = float(cluster_option(self.cluster, "configmap_sync_delay", DEFAULT_CONFIGMAP_SYNC_DELAY))
        pctx = None
        now = time.monotonic()
        for st in (rec.volumes or {}).values():
            if not st.atomic:
                continue
            if pctx is None:
                pctx = PayloadContext(self.store, rec.pod, self.node, self._token_source(rec))
            try:
                payload = volume_payload(pctx, st.spec)
            except MountError as exc:
                # the kubelet keeps the old content and reports the error
                self._mount_event(rec, f'MountVolume.SetUp failed for volume "{st.name}" : {exc}')
                continue
            if payload == st.payload:
                st.pending_since = None
                continue
            if st.pending_since is None:
                st.pending_since = now
            if now - st.pending_since >= delay:
                write_payload(st.path, payload)
                st.payload = payload
                st.pending_since = None

    def container_mounts(self, rec, cs, env):
        mounts = []
        for i, m in enumerate(cs.spec.get("volumeMounts") or []):
            st = (rec.volumes or {}).get(m.get("name"))
            if st is None:
                raise MountError(f'volume "{m.get("name")}" not found')
            host = st.path
            sub = m.get("subPath") or ""
            if m.get("subPathExpr"):
                sub = expand(m["subPathExpr"], env)
            if st.kind == "hostPath" and not host.exists() and not (st.spec["hostPath"].get("type")):
                host.mkdir(parents=True, exist_ok=True)   # docker/containerd create a missing bind source
            if sub:
                if ".." in Path(sub).parts or sub.startswith("/"):
                    raise MountError(f"subPath {sub!r} must not contain '..' or start with '/'")
                if st.atomic:
                    # kubelet bind-mounts the resolved file once: later updates never reach it
                    src = (st.path / sub).resolve()
                    dst = self._pod_dir(rec) / "volume-subpaths" / st.name / cs.name / str(i)
                    if dst.exists() or dst.is_symlink():
                        if dst.is_dir() and not dst.is_symlink():
                            shutil.rmtree(dst)
                        else:
                            dst.unlink()
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    if src.is_dir():
                        shutil.copytree(src, dst)
                    elif src.exists():
                        shutil.copy2(src, dst)
                    else:
                        dst.mkdir()
                    host = dst
                else:
                    host = st.path / sub
                    if not host.exists():
                        host.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(m.get("mountPath"), host, bool(m.get("readOnly") or st.read_only),
                                sub or None, st.name))
        return mounts

    # -- containers --------------------------------------------------------------------------
    def _policy(self, rec):
        return get_path(rec.pod, "spec", "restartPolicy") or "Always"

    def _log_path(self, rec, cs, restart):
        """The container's log file. With the Cluster's pod_log_path (what the API server's
        pods/log reads): the current instance's file; on a restart the old one becomes the
        ``previous`` file (kubectl logs --previous). Otherwise the kubelet layout under the node."""
        pod_log_path = getattr(self.cluster, "pod_log_path", None)
        if pod_log_path is not None:
            cur = Path(pod_log_path(rec.namespace, rec.name, cs.name))
            prev = Path(pod_log_path(rec.namespace, rec.name, cs.name, previous=True))
            cur.parent.mkdir(parents=True, exist_ok=True)
            if restart == 0:
                # a new pod with the same name (StatefulSet) must not show the old pod's log
                for p in (cur, prev):
                    if p.exists():
                        p.unlink()
            elif cur.exists():
                os.replace(cur, prev)
            cur.touch()
            return cur
        path = container_log_path(self.node.root, rec.pod, cs.name, restart)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return path

    def ensure_image(self, rec, cs):
        image = cs.spec.get("image", "")
        policy = cs.spec.get("imagePullPolicy") or "IfNotPresent"
        entry = self.runtimes.select(image, cs.spec, rec.pod)
        present = image in self.images
        if policy == "Never" and not present:
            msg = f'Container image "{image}" is not present with pull policy of Never'
            cs.state = {"waiting": {"reason": "ErrImageNeverPull", "message": msg}}
            self.event(rec, ev.WARNING, "ErrImageNeverPull", msg, cs, every=10)
            return None
        if present and policy != "Always":
            self.event(rec, ev.NORMAL, "Pulled", f'Container image "{image}" already present on machine', cs)
            return entry
        now = time.monotonic()
        if now < cs.next_pull:
            msg = f'Back-off pulling image "{image}"'
            cs.state = {"waiting": {"reason": "ImagePullBackOff", "message": msg}}
            if getattr(cs, "backoff_event_for", None) != cs.next_pull:
                # one BackOff per back-off window (the pod worker re-syncs the pod then)
                cs.backoff_event_for = cs.next_pull
                self.event(rec, ev.NORMAL, "BackOff", msg, cs)
                self.event(rec, ev.WARNING, "Failed", "Error: ImagePullBackOff", cs)
            return None
        self.event(rec, ev.NORMAL, "Pulling", f'Pulling image "{image}"', cs)
        pull_started = time.monotonic()
        if entry is None:
            full = images.pull_error_message(image)
            cri = full.split(": ", 1)[1] if ": " in full else full
            self.event(rec, ev.WARNING, "Failed", full, cs)
            self.event(rec, ev.WARNING, "Failed", "Error: ErrImagePull", cs)
            cs.state = {"waiting": {"reason": "ErrImagePull", "message": cri}}
            cs.pull_backoff = BACKOFF_INITIAL if not cs.pull_backoff else min(cs.pull_backoff * 2, BACKOFF_MAX)
            cs.next_pull = now + cs.pull_backoff
            return None
        cs.pull_backoff = 0.0
        self.images.add(image)
        size = images.image_size(image)
        # there is no registry: the "pull" takes as long as the lookup did (Go duration format)
        took = "%.6gms" % ((time.monotonic() - pull_started) * 1000)
        self.event(rec, ev.NORMAL, "Pulled",
                   f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
                   f"Image size: {size} bytes.", cs)
        return entry

    def step_container(self, rec, cs):
        if cs.handle is None:
            if cs.terminal or cs.done:
                return
            now = time.monotonic()
            if now < cs.next_start:
                msg = (f"back-off {getattr(cs, 'crash_backoff_shown', int(cs.crash_backoff))}s restarting failed container={cs.name} "
                       f"pod={rec.name}_{rec.namespace}({rec.uid})")
                cs.state = {"waiting": {"reason": "CrashLoopBackOff", "message": msg}}
                return
            self.start_container(rec, cs)
            return
        try:
            code = cs.handle.poll()
        except Exception as exc:
            log.exception("poll %s", cs.name)
            code = 255
            self.event(rec, ev.WARNING, "Failed", f"Error: {exc}", cs)
        if code is None:
            self.run_probes(rec, cs)
            return
        self.container_exited(rec, cs, int(code), "Completed" if int(code) == 0 else "Error")

    def start_container(self, rec, cs):
        entry = self.ensure_image(rec, cs)
        if entry is None:
            return
        # the sandbox (IP) exists before any container is created: fieldRefs see it
        pod = dict(rec.pod)
        pod["status"] = dict(pod.get("status") or {}, podIP=rec.ip, podIPs=[{"ip": rec.ip}],
                             hostIP=self.node.address, hostIPs=[{"ip": self.node.address}])
        cs.image_id = images.image_id(cs.spec.get("image", ""))
        try:
            services, _ = self.store.list("", "v1", "services")
            env = build_env(pod, cs.spec, self.store, services, node_address=self.node.address,
                            node_capacity=NODE_CAPACITY,
                            enable_service_links=get_path(pod, "spec", "enableServiceLinks") is not False)
            mounts = self.container_mounts(rec, cs, env)
        except (EnvError, MountError) as exc:
            cs.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}}
            self.event(rec, ev.WARNING, "Failed", f"Error: {exc}", cs, every=10)
            return
        restart = cs.restart_count + (1 if cs.ever_started else 0)
        log_path = self._log_path(rec, cs, restart)
        state_dir = self._pod_dir(rec) / "containers" / cs.name
        state_dir.mkdir(parents=True, exist_ok=True)
        ctx = ContainerContext(pod=pod, container=cs.spec, node=self.node, is_init=cs.is_init,
                               env=env, mounts=mounts, cluster=self.cluster, state_dir=state_dir,
                               log_path=log_path, registry=self.runtimes, restart_count=restart)
        cs.container_id = "sandbox://" + uuid.uuid4().hex + uuid.uuid4().hex
        if cs.ever_started:
            cs.restart_count += 1
        cs.ever_started = True
        self.event(rec, ev.NORMAL, "Created", f"Created container {cs.name}", cs)
        ts = now_iso()
        try:
            handle = entry.start(ctx)
        except Exception as exc:
            log.warning("%s: starting %s/%s:%s failed: %s", self.name, rec.namespace, rec.name, cs.name, exc)
            self.event(rec, ev.WARNING, "Failed", f"Error: {exc}", cs)
            cs.started_at = ts
            self.container_exited(rec, cs, 128, "StartError", message=str(exc))
            return
        cs.handle = handle
        cs.ctx = ctx
        cs.started_at = ts
        cs.run_started = time.monotonic()
        cs.state = {"running": {"startedAt": ts}}
        cs.probes = {"startup": ProbeState(), "liveness": ProbeState(), "readiness": ProbeState()}
        cs.started = not cs.spec.get("startupProbe")
        cs.ready = False
        self.event(rec, ev.NORMAL, "Started", f"Started container {cs.name}", cs)
        self.run_probes(rec, cs)

    def container_exited(self, rec, cs, code, reason, message=None):
        term = {"exitCode": code, "reason": reason, "startedAt": cs.started_at or now_iso(),
                "finishedAt": now_iso(), "containerID": cs.container_id}
        if message:
            term["message"] = message
        if cs.handle is not None:
            cs.handle = None
        self.runtimes.unexpose_container(rec.uid, cs.name)
        cs.ready = False
        cs.started = False
        cs.state = {"terminated": term}
        policy = self._policy(rec)
        if cs.is_init and not cs.sidecar:
            if code == 0:
                cs.done = True
                return
            if policy == "Never":
                cs.terminal = True
                rec.init_failed = True
                return
        elif not cs.sidecar:
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                cs.terminal = True
                return
        # restart with back-off (the first restart is immediate)
        cs.last_state = {"terminated": term}
        now = time.monotonic()
        if cs.run_started and now - cs.run_started > 600:
            cs.crash_backoff = 0.0     # ran long enough: the back-off is reset
        if cs.crash_backoff:
            cs.next_start = now + cs.crash_backoff
            self.event(rec, ev.WARNING, "BackOff",
                       f"Back-off restarting failed container {cs.name} in pod "
                       f"{rec.name}_{rec.namespace}({rec.uid})", cs)
            cs.crash_backoff = min(cs.crash_backoff * 2, BACKOFF_MAX)
            # show CrashLoopBackOff while waiting, with the back-off that applies now
            cs.state = {"waiting": {"reason": "CrashLoopBackOff", "message":
                                    f"back-off {int(cs.next_start - now)}s restarting failed container="
                                    f"{cs.name} pod={rec.name}_{rec.namespace}({rec.uid})"}}
            cs.crash_backoff_shown = int(cs.next_start - now)
        else:
            cs.crash_backoff = BACKOFF_INITIAL
            cs.next_start = now

    def kill_container(self, rec, cs, reason_message, grace):
        handle = cs.handle
        self.event(rec, ev.NORMAL, "Killing", reason_message, cs)
        if handle is not None:
            threading.Thread(target=self._stop_handle, args=(handle, grace, cs.name),
                             daemon=True, name=f"stop-{cs.name}").start()
        self.container_exited(rec, cs, 137, "Error")

    @staticmethod
    def _stop_handle(handle, grace, name):
        try:
            handle.stop(grace)
        except Exception:
            log.exception("stopping container %s", name)

    # -- probes ------------------------------------------------------------------------------
    def _probe_port(self, cs, port):
        if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
            return int(port)
        for p in cs.spec.get("ports") or []:
            if p.get("name") == port:
                return int(p.get("containerPort"))
        return None

    def run_probe(self, rec, cs, probe):
        timeout = float(probe.get("timeoutSeconds") or 1)
        ip = rec.ip or ""
        if probe.get("exec") is not None:
            return True, ""
        if probe.get("httpGet") is not None:
            hg = probe["httpGet"]
            port = self._probe_port(cs, hg.get("port"))
            scheme = (hg.get("scheme") or "HTTP").upper()
            path = hg.get("path") or "/"
            url = f"{scheme.lower()}://{ip}:{port}{path}"
            target = self.runtimes.lookup(rec.uid, port) if port else None
            if target is None:
                return False, f'Get "{url}": dial tcp {ip}:{port}: connect: connection refused'
            try:
                if scheme == "HTTPS":
                    conn = http.client.HTTPSConnection(target[0], target[1], timeout=timeout,
                                                       context=ssl._create_unverified_context())
                else:
                    conn = http.client.HTTPConnection(target[0], target[1], timeout=timeout)
                headers = {"User-Agent": "kube-probe/1.31", "Accept": "*/*"}
                for h in hg.get("httpHeaders") or []:
                    headers[h.get("name")] = h.get("value")
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read(10240)
                conn.close()
            except ConnectionRefusedError:
                return False, f'Get "{url}": dial tcp {ip}:{port}: connect: connection refused'
            except (socket.timeout, TimeoutError):
                return False, (f'Get "{url}": context deadline exceeded (Client.Timeout exceeded '
                               f'while awaiting headers)')
            except Exception as exc:
                return False, f'Get "{url}": {exc}'
            if 200 <= resp.status < 400:
                return True, ""
            return False, f"HTTP probe failed with statuscode: {resp.status}"
        if probe.get("tcpSocket") is not None or probe.get("grpc") is not None:
            spec = probe.get("tcpSocket") or probe.get("grpc")
            port = self._probe_port(cs, spec.get("port"))
            target = self.runtimes.lookup(rec.uid, port) if port else None
            if target is None:
                return False, f"dial tcp {ip}:{port}: connect: connection refused"
            try:
                with socket.create_connection(target, timeout=timeout):
                    pass
            except OSError:
                return False, f"dial tcp {ip}:{port}: connect: connection refused"
            return True, ""
        return True, ""

    def run_probes(self, rec, cs):
        if cs.handle is None:
            return
        now = time.monotonic()
        for kind, key in (("startup", "startupProbe"), ("liveness", "livenessProbe"),
                          ("readiness", "readinessProbe")):
            probe = cs.spec.get(key)
            if not probe or cs.handle is None:
                continue
            if kind != "startup" and not cs.started:
                continue
            if kind == "startup" and cs.started:
                continue
            ps = cs.probes[kind]
            if now < cs.run_started + float(probe.get("initialDelaySeconds") or 0):
                continue
            if now < ps.next:
                continue
            ps.next = now + float(probe.get("periodSeconds") or 10)
            ok, msg = self.run_probe(rec, cs, probe)
            if ok:
                ps.failures = 0
                ps.successes += 1
                if ps.successes >= int(probe.get("successThreshold") or 1):
                    ps.result = True
            else:
                ps.successes = 0
                ps.failures += 1
                self.event(rec, ev.WARNING, "Unhealthy", f"{kind.capitalize()} probe failed: {msg}", cs)
                if ps.failures >= int(probe.get("failureThreshold") or 3):
                    ps.result = False
            if kind == "startup":
                if ps.result is True:
                    cs.started = True
                elif ps.result is False:
                    self.kill_container(rec, cs, f"Container {cs.name} failed startup probe, will be restarted",
                                        self._grace(rec))
                    return
            elif kind == "liveness" and ps.result is False:
                self.kill_container(rec, cs, f"Container {cs.name} failed liveness probe, will be restarted",
                                    self._grace(rec))
                return
        if cs.handle is None:
            return
        try:
            runtime_ready = bool(cs.handle.ready())
        except Exception:
            log.exception("ready() of %s", cs.name)
            runtime_ready = False
        if cs.spec.get("readinessProbe"):
            cs.ready = cs.started and runtime_ready and cs.probes["readiness"].result is True
        else:
            cs.ready = cs.started and runtime_ready

    def _grace(self, rec):
        g = get_path(rec.pod, "spec", "terminationGracePeriodSeconds")
        return 30 if g is None else int(g)

    # -- status ------------------------------------------------------------------------------
    def _cstatus(self, cs):
        st = {
            "name": cs.name,
            "state": cs.state,
            "lastState": cs.last_state,
            "ready": bool(cs.ready),
            "restartCount": cs.restart_count,
            "image": cs.spec.get("image", ""),
            "imageID": cs.image_id if cs.ever_started else "",
            "started": bool(cs.handle is not None and cs.started),
        }
        if cs.container_id and cs.ever_started:
            st["containerID"] = cs.container_id
        return st

    def compute_phase(self, rec):
        if rec.init_failed:
            return "Failed"
        for cs in rec.init:
            if not cs.done and not (cs.sidecar and cs.started):
                return "Pending"
        running = waiting = stopped = succeeded = 0
        for cs in rec.containers:
            if "running" in cs.state:
                running += 1
            elif "terminated" in cs.state:
                stopped += 1
                if cs.state["terminated"].get("exitCode") == 0:
                    succeeded += 1
            elif "waiting" in cs.state:
                if cs.last_state.get("terminated"):
                    stopped += 1
                else:
                    waiting += 1
        if waiting > 0:
            return "Pending"
        if running > 0:
            return "Running"
        if stopped > 0:
            policy = self._policy(rec)
            if policy == "Always":
                return "Running"
            if stopped == succeeded and all(cs.terminal for cs in rec.containers):
                return "Succeeded"
            if policy == "Never" and all(cs.terminal for cs in rec.containers):
                return "Failed"
            return "Running"
        return "Pending"

    def write_status(self, rec, phase=None):
        pod = rec.pod
        status = dict(pod.get("status") or {})
        phase = phase or self.compute_phase(rec)
        status["phase"] = phase
        status["hostIP"] = self.node.address
        status["hostIPs"] = [{"ip": self.node.address}]
        if rec.ip:
            status["podIP"] = rec.ip
            status["podIPs"] = [{"ip": rec.ip}]
        status["startTime"] = rec.start_time or now_iso()
        conds = [dict(c) for c in status.get("conditions") or []]
        set_condition(conds, "PodReadyToStartContainers", "True" if rec.volumes_ready else "False", probe=True)
        incomplete = [cs.name for cs in rec.init if not cs.done and not (cs.sidecar and cs.started)]
        if phase == "Succeeded":
            set_condition(conds, "Initialized", "True", "PodCompleted", probe=True)
            set_condition(conds, "Ready", "False", "PodCompleted", probe=True)
            set_condition(conds, "ContainersReady", "False", "PodCompleted", probe=True)
        else:
            if incomplete or rec.init_failed:
                names = incomplete or [cs.name for cs in rec.init if cs.terminal]
                set_condition(conds, "Initialized", "False", "ContainersNotInitialized",
                              "containers with incomplete status: [%s]" % " ".join(names), probe=True)
            else:
                set_condition(conds, "Initialized", "True", probe=True)
            unready = [cs.name for cs in rec.containers if not cs.ready]
            if unready:
                msg = "containers with unready status: [%s]" % " ".join(unready)
                set_condition(conds, "Ready", "False", "ContainersNotReady", msg, probe=True)
                set_condition(conds, "ContainersReady", "False", "ContainersNotReady", msg, probe=True)
            else:
                set_condition(conds, "Ready", "True", probe=True)
                set_condition(conds, "ContainersReady", "True", probe=True)
        if not any(c.get("type") == "PodScheduled" for c in conds):
            set_condition(conds, "PodScheduled", "True", probe=True)
        order = {"PodReadyToStartContainers": 0, "Initialized": 1, "Ready": 2, "ContainersReady": 3,
                 "PodScheduled": 4}
        conds.sort(key=lambda c: order.get(c.get("type"), 9))
        status["conditions"] = conds
        if rec.init:
            status["initContainerStatuses"] = [self._cstatus(cs) for cs in rec.init]
        status["containerStatuses"] = [self._cstatus(cs) for cs in rec.containers]
        if status == rec.last_status:
            return
        obj = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": rec.name, "namespace": rec.namespace}, "status": status}
        try:
            self.store.update("", "v1", "pods", obj, subresource="status")
        except Exception as exc:
            if getattr(exc, "code", None) != 404:
                log.warning("%s: status of %s/%s: %s", self.name, rec.namespace, rec.name, exc)
            return
        rec.last_status = status
        if phase in ("Succeeded", "Failed"):
            rec.final_phase = phase
            for cs in rec.all():
                if cs.handle is not None:
                    self._stop_handle(cs.handle, 1, cs.name)
                    cs.handle = None
            self.runtimes.unexpose_pod(rec.uid)

    # -- deletion ----------------------------------------------------------------------------
    def terminate(self, rec, pod):
        if not rec.terminating:
            rec.terminating = True
            grace = get_path(pod, "metadata", "deletionGracePeriodSeconds")
            if grace is None:
                grace = self._grace(rec)
            handles = []
            for cs in rec.all():
                if cs.handle is not None:
                    self.event(rec, ev.NORMAL, "Killing", f"Stopping container {cs.name}", cs)
                    handles.append((cs, cs.handle))
            threading.Thread(target=self._terminate_worker, args=(rec, handles, int(grace)),
                             daemon=True, name=f"terminate-{rec.name}").start()
            return
        if not rec.terminated.is_set():
            return
        for cs in rec.all():
            if cs.handle is not None:
                cs.handle = None
            if "running" in cs.state:
                cs.state = {"terminated": {"exitCode": 0 if cs.ready else 137,
                                           "reason": "Completed" if cs.ready else "Error",
                                           "startedAt": cs.started_at, "finishedAt": now_iso(),
                                           "containerID": cs.container_id}}
                cs.ready = False
        try:
            self.store.delete("", "v1", "pods", rec.namespace, rec.name, grace_period=0)
        except Exception as exc:
            if getattr(exc, "code", None) != 404:
                raise

    def _terminate_worker(self, rec, handles, grace):
        try:
            threads = [threading.Thread(target=self._stop_handle, args=(h, grace, cs.name), daemon=True)
                       for cs, h in handles]
            for t in threads:
                t.start()
            for t in threads:
                t.join(grace + 5)
        finally:
            self.runtimes.unexpose_pod(rec.uid)
            rec.terminated.set()
            self.wake()

    def teardown(self, rec, grace=2):
        """The pod object is gone: make sure nothing runs and clean the pod's directories."""
        for cs in rec.all():
            if cs.handle is not None:
                threading.Thread(target=self._stop_handle, args=(cs.handle, grace, cs.name),
                                 daemon=True).start()
                cs.handle = None
        self.runtimes.unexpose_pod(rec.uid)
        if rec.ip:
            self._ips.discard(rec.ip)
        # kubelet housekeeping removes orphaned pod directories (emptyDir data goes with them)
        # and the pod's logs (pkg/kubelet/kubelet_pods.go cleanupOrphanedPodDirs)
        shutil.rmtree(self._pod_dir(rec), ignore_errors=True)
        shutil.rmtree(pod_log_dir(self.node.root, rec.pod), ignore_errors=True)
