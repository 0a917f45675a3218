"""Fixtures for the control-plane tests (imported by tests/sandbox/test_controlplane_*.py).

``cp`` is one in-process sandbox Cluster per test module (API server + control plane) on its own
loopback address, with test runtimes registered:

* image ``test/app``: runs until stopped, logs a line, and -- when the container declares ports --
  serves HTTP on a loopback port per containerPort (answer: ``cp.http_status[pod name]``,
  default 200; body: the pod name), exposed with ``ctx.expose``. Every ContainerContext is kept in
  ``cp.contexts[pod name]`` (list, one per container start).
* image ``test/exit``: exits at once with the code in env ``EXIT_CODE`` (default 0).
"""

import http.server
import json
import random
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest
import yaml

from sandbox.k8s.runtime import RunningContainer

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def _free_address():
    for _ in range(200):
        addr = "127.%d.%d.%d" % (random.randint(100, 250), random.randint(1, 250), random.randint(2, 250))
        s = socket.socket()
        try:
            s.bind((addr, 6443))
            return addr
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free loopback address")


class AppContainer(RunningContainer):
    def __init__(self, ctx, harness):
        self.ctx = ctx
        self.harness = harness
        self.stopped = threading.Event()
        self.servers = []
        pod_name = ctx.pod_name
        ctx.log(f"hello from {pod_name}/{ctx.name}")
        for port in ctx.container.get("ports") or []:
            cport = int(port["containerPort"])
            harness_ref = harness

            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):  # noqa: N802
                    status = harness_ref.http_status.get(pod_name, 200)
                    body = pod_name.encode()
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, *args):
                    pass

            srv = http.server.ThreadingHTTPServer((ctx.listen_host, 0), Handler)
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self.servers.append(srv)
            ctx.expose(cport, ctx.listen_host, srv.server_address[1])

    def poll(self):
        return 137 if self.stopped.is_set() else None

    def ready(self):
        return not self.stopped.is_set()

    def stop(self, grace_seconds):
        self.stopped.set()
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


class ExitContainer(RunningContainer):
    def __init__(self, ctx):
        self.code = int(ctx.env.get("EXIT_CODE", "0"))
        ctx.log(f"exiting with {self.code}")

    def poll(self):
        return self.code

    def ready(self):
        return False


class Harness:
    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.contexts = {}
        self.http_status = {}
        self._lock = threading.Lock()

    # -- runtimes
    def start_app(self, ctx):
        with self._lock:
            self.contexts.setdefault(ctx.pod_name, []).append(ctx)
        return AppContainer(ctx, self)

    def start_exit(self, ctx):
        with self._lock:
            self.contexts.setdefault(ctx.pod_name, []).append(ctx)
        return ExitContainer(ctx)

    # -- helpers
    def kubectl(self, *args, check=True, timeout=60):
        proc = subprocess.run([KUBECTL, "--kubeconfig", str(self.cluster.kubeconfig_path), *args],
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def delete(self, *args):
        """`kubectl delete ... --wait=false`; callers wait on the store themselves.

        (kubectl's own --wait watches the object, and the API server currently sends watch
        events without kind/apiVersion for updates -- "Object 'Kind' is missing" -- which makes
        kubectl's wait fail intermittently; reported to the API-server part.)"""
        return self.kubectl("delete", *args, "--wait=false")

    def apply(self, *docs, ns=None):
        text = yaml.safe_dump_all(docs)
        args = ["apply", "--validate=false", "-f", "-"]
        if ns:
            args += ["-n", ns]
        proc = subprocess.run([KUBECTL, "--kubeconfig", str(self.cluster.kubeconfig_path), *args],
                              input=text, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc

    def namespace(self, prefix="t"):
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.store.create("", "v1", "namespaces", {"metadata": {"name": name}})
        return name

    def get(self, plural, ns, name, group="", version="v1"):
        try:
            return self.store.get(group, version, plural, ns, name)
        except Exception:
            return None

    def pods(self, ns, selector=None):
        return self.store.list("", "v1", "pods", namespace=ns, label_selector=selector)[0]

    def events(self, ns, name=None):
        items = self.store.list("", "v1", "events", namespace=ns)[0]
        return [e for e in items if name is None or e["involvedObject"].get("name") == name]

    def wait(self, fn, timeout=20.0, interval=0.1, what="condition"):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def cp(tmp_path_factory):
    from sandbox.k8s.cluster import Cluster

    state = tmp_path_factory.mktemp("cp")
    cluster = Cluster(state, address=_free_address(), nodes=2)
    cluster.configmap_sync_delay = 1.5
    cluster.start()
    harness = Harness(cluster)
    cluster.runtimes.register("test-app", lambda image, c, p: image.startswith("test/app"), harness.start_app)
    cluster.runtimes.register("test-exit", lambda image, c, p: image.startswith("test/exit"), harness.start_exit)
    harness.wait(lambda: len(cluster.store.list("", "v1", "nodes")[0]) == 3, what="nodes")
    yield harness
    cluster.stop()


def deployment(name, image="test/app:1", replicas=1, labels=None, volumes=None, mounts=None,
               node_selector=None, ports=None, extra_spec=None, container_extra=None):
    labels = labels or {"app": name}
    container = {"name": "main", "image": image}
    if mounts:
        container["volumeMounts"] = mounts
    if ports:
        container["ports"] = ports
    if container_extra:
        container.update(container_extra)
    spec = {"containers": [container]}
    if volumes:
        spec["volumes"] = volumes
    if node_selector:
        spec["nodeSelector"] = node_selector
    if extra_spec:
        spec.update(extra_spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}
