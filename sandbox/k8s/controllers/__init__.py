"""The simulated control plane: scheduler, kubelets, workload controllers, GC, volumes, services.

``start_all(cluster)`` is called by Cluster at start, ``stop_all(cluster)`` at shutdown.

Every controller is a thread with one loop: it wakes on store events for the resources it
watches (``store.subscribe``) and on a periodic resync, then reconciles everything it owns
(level-triggered, like the informer-based controllers upstream, with their periodic resync).
No loop may die: exceptions are logged to the sandbox log and the loop continues.
"""

import logging
import threading
import time

log = logging.getLogger("sandbox.k8s.controllers")

DEFAULT_RESYNC = 0.5


class Controller:
    """Base: a named thread that calls ``sync()`` when woken or every ``resync`` seconds."""

    name = "controller"
    watches = ()            # plurals whose events wake this controller
    resync = DEFAULT_RESYNC

    def __init__(self, cluster, recorder):
        self.cluster = cluster
        self.store = cluster.store
        self.recorder = recorder
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self.errors = 0

    def start(self):
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.name}", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()

    def join(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)

    def notify(self, event_type, group, version, plural, obj):
        if plural in self.watches:
            self._wake.set()

    def wake(self):
        self._wake.set()

    @property
    def stopping(self):
        return self._stop.is_set()

    def _run(self):
        while not self._stop.is_set():
            self._wake.wait(self.resync)
            if self._stop.is_set():
                break
            self._wake.clear()
            time.sleep(0.01)    # let a burst of events settle into one pass
            try:
                self.sync()
            except Exception as exc:
                self.errors += 1
                if getattr(exc, "code", None) == 409:
                    # optimistic-concurrency conflict with another writer: the next pass retries
                    log.debug("%s: conflict (%s), retrying", self.name, exc)
                    self._wake.set()
                else:
                    log.exception("%s: sync failed (continuing)", self.name)
        try:
            self.shutdown()
        except Exception:
            log.exception("%s: shutdown failed", self.name)

    def sync(self):
        raise NotImplementedError

    def shutdown(self):
        pass


class ControlPlane:
    def __init__(self, cluster):
        from sandbox.k8s.controllers.events import EventRecorder
        from sandbox.k8s.controllers import (gc, kubelet, scheduler, serviceaccounts, services,
                                             volumes, workloads)

        self.cluster = cluster
        self.recorder = EventRecorder(cluster.store)
        self.controllers = [
            scheduler.NodeController(cluster, self.recorder),
            serviceaccounts.ServiceAccountController(cluster, self.recorder),
            services.ServiceController(cluster, self.recorder),
            volumes.VolumeController(cluster, self.recorder),
            scheduler.Scheduler(cluster, self.recorder),
            workloads.DeploymentController(cluster, self.recorder),
            workloads.ReplicaSetController(cluster, self.recorder),
            workloads.StatefulSetController(cluster, self.recorder),
            workloads.DaemonSetController(cluster, self.recorder),
            workloads.JobController(cluster, self.recorder),
            gc.GarbageCollector(cluster, self.recorder),
            gc.NamespaceController(cluster, self.recorder),
        ]
        self.kubelets = [kubelet.Kubelet(cluster, self.recorder, node) for node in cluster.nodes]
        self.selected_nodes = {}    # (ns, claim) -> node chosen by the scheduler (delayed binding)
        self._subscribed = False
        self._stopped = False

    def all(self):
        return self.controllers + self.kubelets

    def dispatch(self, event_type, group, version, plural, obj):
        if self._stopped:
            return
        for c in self.all():
            try:
                c.notify(event_type, group, version, plural, obj)
            except Exception:
                log.exception("notify %s failed", c.name)

    def start(self):
        # Node objects first, so the scheduler sees nodes on its first pass.
        try:
            self.controllers[0].sync()
        except Exception:
            log.exception("node registration failed")
        # the default StorageClass must exist before the first PVC is admitted (the
        # DefaultStorageClass admission plugin only sets storageClassName at creation)
        try:
            self.get("persistentvolume-controller").ensure_default_class()
        except Exception:
            log.exception("default StorageClass")
        self.cluster.store.subscribe(self.dispatch)
        self._subscribed = True
        for c in self.all():
            c.start()

    def stop(self, timeout=10.0):
        self._stopped = True
        unsubscribe = getattr(self.cluster.store, "unsubscribe", None)
        if unsubscribe is not None:
            try:
                unsubscribe(self.dispatch)
            except Exception:
                pass
        for c in self.all():
            c.stop()
        deadline = time.monotonic() + timeout
        for c in self.all():
            c.join(max(0.1, deadline - time.monotonic()))

    def get(self, name):
        for c in self.all():
            if c.name == name:
                return c
        return None


def start_all(cluster):
    """Create the resolver/runtime registry when the Cluster did not, then start every loop."""
    from sandbox.k8s.resolver import Resolver
    from sandbox.k8s.runtime import RuntimeRegistry

    if getattr(cluster, "runtimes", None) is None:
        cluster.runtimes = RuntimeRegistry()
    if getattr(cluster, "resolver", None) is None:
        cluster.resolver = Resolver(cluster)
    existing = getattr(cluster, "control_plane", None)
    if existing is not None:
        return existing
    # the image runtimes of the other sandbox parts (Jenkins controller, inbound agent, ...),
    # registered before any kubelet starts a container (sandbox/runtimes/__init__.py contract)
    try:
        from sandbox import runtimes as image_runtimes
    except ImportError:
        image_runtimes = None
    if image_runtimes is not None and hasattr(image_runtimes, "register_all"):
        try:
            image_runtimes.register_all(cluster)
        except Exception:
            log.exception("registering the sandbox image runtimes failed")
    cp = ControlPlane(cluster)
    cluster.control_plane = cp
    cp.start()
    return cp


def stop_all(cluster):
    cp = getattr(cluster, "control_plane", None)
    if cp is not None:
        cp.stop()
        cluster.control_plane = None
