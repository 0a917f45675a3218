"""Container runtimes: the plug-in point between the simulated kubelet and "what runs" in a container.

Contract: docs/dev/architecture.md §3.2. There is no container engine in the sandbox. The kubelet
builds a ContainerContext (resolved env, real host directories for every volume mount, a log
file) and asks the RuntimeRegistry which runtime handles the container's image; the runtime's
``start(ctx)`` returns a RunningContainer the kubelet polls.

Logs: each container's output goes to ``cluster.pod_log_path(ns, pod, container)`` (the file the
API server's pods/log reads; the previous instance's log is moved to
``pod_log_path(..., previous=True)`` on a restart). Without that method (a bare test cluster) the
kubelet uses the real kubelet's layout,
``<node root>/var/log/pods/<ns>_<pod>_<uid>/<container>/<restartCount>.log``
(pkg/kubelet/kuberuntime/helpers.go BuildContainerLogsDirectory / buildContainerLogsPath).
Plain text, not the CRI "timestamp stream tag" framing. read_container_log() reads either.
"""

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from sandbox.k8s import images

log = logging.getLogger("sandbox.k8s.runtime")


@dataclass
class Mount:
    """One volumeMount, resolved: ``host_path`` is a real directory or file on this machine."""

    mount_path: str
    host_path: Path
    read_only: bool = False
    sub_path: Optional[str] = None
    volume_name: str = ""


class ContainerContext:
    """What a runtime gets from the kubelet to start one container."""

    def __init__(self, *, pod, container, node, is_init, env, mounts, cluster, state_dir,
                 log_path, registry, restart_count=0):
        self.pod = pod                      # the pod (dict, as stored when the container started)
        self.container = container          # the container spec (dict)
        self.node = node                    # Node(name, role, root, address)
        self.is_init = is_init
        self.env = env                      # dict name -> value, in the order a container sees them
        self.mounts = mounts                # list[Mount]
        self.cluster = cluster
        self.state_dir = Path(state_dir)    # per-container scratch directory (exists)
        self.log_path = Path(log_path)      # the container log file (pods/log reads it)
        self.restart_count = restart_count
        self._registry = registry
        self._log_lock = threading.Lock()

    # -- identity helpers -------------------------------------------------------------------
    @property
    def name(self):
        return self.container.get("name", "")

    @property
    def namespace(self):
        return self.pod["metadata"].get("namespace", "")

    @property
    def pod_name(self):
        return self.pod["metadata"]["name"]

    @property
    def pod_uid(self):
        return self.pod["metadata"].get("uid", "")

    @property
    def image(self):
        return self.container.get("image", "")

    @property
    def listen_host(self):
        """The loopback address a runtime should bind its listeners to (the node's address)."""
        return getattr(self.node, "address", None) or getattr(self.cluster, "address", "127.0.0.1")

    # -- services for the runtime -----------------------------------------------------------
    def log(self, text):
        """Append ``text`` to the container log (a newline is added when missing)."""
        if text is None:
            return
        text = str(text)
        if not text.endswith("\n"):
            text += "\n"
        with self._log_lock:
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(text)

    def expose(self, container_port, host, port):
        """Declare that this container's ``container_port`` is served on loopback ``host:port``.

        Services, NodePorts, httpGet probes and the resolver route to that listener.
        """
        self._registry.expose(self.pod_uid, self.name, int(container_port), host, int(port))

    def host_path(self, container_path):
        """Map a path inside the container to the host path through the mounts (longest match),
        or None when no volume is mounted there (the container's own filesystem is not emulated)."""
        container_path = "/" + str(container_path).strip("/")
        best = None
        for m in self.mounts:
            mp = "/" + m.mount_path.strip("/")
            if container_path == mp or container_path.startswith(mp.rstrip("/") + "/") or mp == "/":
                if best is None or len(mp) > len("/" + best.mount_path.strip("/")):
                    best = m
        if best is None:
            return None
        mp = "/" + best.mount_path.strip("/")
        rest = container_path[len(mp):].lstrip("/")
        return Path(best.host_path) / rest if rest else Path(best.host_path)


class RunningContainer:
    """A started container. Subclass it (or duck-type the three methods)."""

    def poll(self):
        """None while running, else the exit code."""
        return None

    def ready(self):
        """Readiness as the process sees it; httpGet readiness probes are run by the kubelet too."""
        return True

    def stop(self, grace_seconds):
        """Stop (SIGTERM, then SIGKILL after ``grace_seconds``); must return within the grace."""


class DefaultContainer(RunningContainer):
    """The default runtime: a regular container "runs" until stopped and is Ready; an init
    container exits 0 immediately. It serves nothing (no listeners)."""

    def __init__(self, ctx):
        self._stopped = threading.Event()
        self._exit = 0 if ctx.is_init else None

    def poll(self):
        if self._exit is not None:
            return self._exit
        if self._stopped.is_set():
            return 137  # killed (SIGKILL semantics: 128 + 9) -- the kubelet reports its own reason
        return None

    def ready(self):
        return self._exit is None and not self._stopped.is_set()

    def stop(self, grace_seconds):
        self._stopped.set()


@dataclass
class _Entry:
    name: str
    matcher: Callable
    start: Callable
    priority: int = 0
    seq: int = 0


@dataclass
class Exposed:
    pod_uid: str
    container: str
    container_port: int
    host: str
    port: int


class RuntimeRegistry:
    """Registry of image runtimes plus the table of listeners containers exposed."""

    DEFAULT = "default"

    def __init__(self):
        self._lock = threading.RLock()
        self._entries = []
        self._seq = 0
        self._exposed = {}          # (pod_uid, container_port) -> Exposed

    # -- runtimes ---------------------------------------------------------------------------
    def register(self, name, matcher, start, priority=0):
        """Register (or replace, by name) a runtime. ``matcher(image, container, pod) -> bool``;
        ``start(ctx) -> RunningContainer``. Higher priority wins; ties: last registered wins."""
        with self._lock:
            self._entries = [e for e in self._entries if e.name != name]
            self._seq += 1
            self._entries.append(_Entry(name, matcher, start, priority, self._seq))

    def unregister(self, name):
        with self._lock:
            self._entries = [e for e in self._entries if e.name != name]

    def names(self):
        with self._lock:
            return [e.name for e in self._entries]

    def select(self, image, container, pod):
        """The runtime entry for a container: a registered runtime whose matcher accepts it, else
        the default runtime for known images, else None (the image cannot be pulled)."""
        with self._lock:
            entries = sorted(self._entries, key=lambda e: (e.priority, e.seq), reverse=True)
        for entry in entries:
            try:
                if entry.matcher(image, container, pod):
                    return entry
            except Exception:  # a broken matcher must not break the kubelet
                log.exception("runtime matcher %s failed", entry.name)
        if images.is_known(image):
            return _Entry(self.DEFAULT, lambda *a: True, DefaultContainer)
        return None

    def can_pull(self, image, container, pod):
        return self.select(image, container, pod) is not None

    # -- exposed listeners ------------------------------------------------------------------
    def expose(self, pod_uid, container, container_port, host, port):
        with self._lock:
            self._exposed[(pod_uid, int(container_port))] = Exposed(
                pod_uid, container, int(container_port), host, int(port))

    def unexpose_container(self, pod_uid, container):
        with self._lock:
            for key in [k for k, v in self._exposed.items()
                        if v.pod_uid == pod_uid and v.container == container]:
                del self._exposed[key]

    def unexpose_pod(self, pod_uid):
        with self._lock:
            for key in [k for k in self._exposed if k[0] == pod_uid]:
                del self._exposed[key]

    def lookup(self, pod_uid, container_port):
        """(host, port) of the listener for that pod's containerPort, or None."""
        with self._lock:
            e = self._exposed.get((pod_uid, int(container_port)))
            return (e.host, e.port) if e else None

    def exposed_for_pod(self, pod_uid):
        with self._lock:
            return [e for k, e in self._exposed.items() if k[0] == pod_uid]


# -- container logs (shared with the API server's pods/log) -----------------------------------

def pod_log_dir(node_root, pod):
    md = pod["metadata"]
    return Path(node_root) / "var/log/pods" / f"{md.get('namespace', '')}_{md['name']}_{md.get('uid', '')}"


def container_log_path(node_root, pod, container, restart_count):
    return pod_log_dir(node_root, pod) / container / f"{int(restart_count)}.log"


def _node_root(cluster, node_name):
    for node in getattr(cluster, "nodes", []) or []:
        if node.name == node_name:
            return node.root
    return None


def read_container_log(cluster, pod, container=None, previous=False):
    """Text of a container's log as pods/log returns it.

    ``container`` defaults to the only container (the API server should answer 400 itself when
    the pod has several, like upstream: 'a container name must be specified for pod …').
    Returns None when there is no log (container never started) -- upstream then answers 400
    'container "x" in pod "y" is waiting to start: …'. ``previous`` reads the prior instance.
    """
    if container is None:
        containers = (pod.get("spec") or {}).get("containers") or []
        if not containers:
            return None
        container = containers[0]["name"]
    pod_log_path = getattr(cluster, "pod_log_path", None)
    if pod_log_path is not None:
        md = pod["metadata"]
        path = Path(pod_log_path(md.get("namespace", ""), md["name"], container, previous=previous))
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    root = _node_root(cluster, (pod.get("spec") or {}).get("nodeName"))
    if root is None:
        return None
    cdir = pod_log_dir(root, pod) / container
    try:
        files = sorted((int(p.stem), p) for p in cdir.glob("*.log") if p.stem.isdigit())
    except OSError:
        return None
    if not files:
        return None
    if previous:
        if len(files) < 2:
            return None
        path = files[-2][1]
    else:
        path = files[-1][1]
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def ensure_dir(path):
    os.makedirs(path, exist_ok=True)
    return Path(path)
