"""Runtime for ``jenkins/jenkins`` containers: the Jenkins controller stand-in in a pod.

What the official image does at start (jenkinsci/docker ``jenkins.sh``): JENKINS_HOME defaults to
``/var/jenkins_home``; files under ``/usr/share/jenkins/ref`` are copied into JENKINS_HOME
(``copy_reference_file``: only when missing, plugins also when the reference copy differs — the
path used when an init container installed plugins into a shared ``ref/plugins`` volume); then
``java $JAVA_OPTS -jar jenkins.war $JENKINS_OPTS`` (``--httpPort=``, ``--prefix=``).

Here the core's ``JenkinsInstance`` is started with the container env as the kubelet resolved it,
container paths mapped to the host directories of the container's volume mounts:
* ``JENKINS_HOME`` -> the host dir behind the mount at that path (no volume: the container's own
  writable layer, a scratch dir that a container restart does not keep — like a real one);
* every local entry of ``CASC_JENKINS_CONFIG`` (comma list) likewise.
It listens on the node's loopback address on free ports and declares them with
``ctx.expose(<http containerPort>, …)`` and, once booted, ``ctx.expose(<slaveAgentPort>, …)`` so
Services, NodePorts, probes and the resolver reach it.  The pod's in-cluster context (env with
KUBERNETES_SERVICE_HOST/PORT, the host dir of the ServiceAccount token mount) is handed to the
Kubernetes plugin as ``instance.kubernetes_in_cluster``.
"""

from __future__ import annotations

import shlex
import shutil
import socket
import threading
from pathlib import Path

from sandbox.k8s import images
from sandbox.k8s.runtime import RunningContainer

SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
REF_DIR = "/usr/share/jenkins/ref"

_lock = threading.Lock()
_by_agent_addr = {}       # (host, port) -> JenkinsInstance
_by_http_addr = {}        # (host, port) -> JenkinsInstance


def matches(image, container, pod):
    if images.normalise(image)[0] != "jenkins/jenkins":
        return False
    inits = (pod.get("spec") or {}).get("initContainers") or []
    return not any(c is container or c == container for c in inits)


def instance_for_agent_address(addr):
    with _lock:
        return _by_agent_addr.get(tuple(addr))


def instance_for_http_address(addr):
    with _lock:
        return _by_http_addr.get(tuple(addr))


def node_exists(jenkins, name):
    try:
        return jenkins.get_node(name) is not None
    except Exception:
        return False


def _free_port(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _http_port(env):
    for w in shlex.split(env.get("JENKINS_OPTS") or ""):
        if w.startswith("--httpPort="):
            try:
                return int(w.split("=", 1)[1])
            except ValueError:
                pass
    return 8080


def _copy_reference_files(ref: Path, home: Path):
    if not ref.is_dir():
        return
    for src in ref.rglob("*"):
        if not src.is_file():
            continue
        rel = src.relative_to(ref)
        dst = home / rel
        override = src.name.endswith(".override")
        if override:
            dst = home / rel.parent / src.name[: -len(".override")]
        if dst.exists() and not override:
            if not (rel.parts and rel.parts[0] == "plugins" and src.suffix in (".jpi", ".hpi")
                    and src.read_bytes() != dst.read_bytes()):
                continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


class ControllerContainer(RunningContainer):
    def __init__(self, ctx):
        from sandbox.jenkins.instance import JenkinsInstance
        from sandbox.jenkins.kubernetes_plugin.kubeclient import InClusterContext
        self.ctx = ctx
        self._exit = None
        env = dict(ctx.env)
        home_c = env.get("JENKINS_HOME") or "/var/jenkins_home"
        home = self._map(home_c)
        home.mkdir(parents=True, exist_ok=True)
        ref = ctx.host_path(REF_DIR)
        if ref is not None:
            _copy_reference_files(Path(ref), home)
        env["JENKINS_HOME"] = str(home)
        casc = env.get("CASC_JENKINS_CONFIG")
        if casc:
            parts = []
            for item in casc.split(","):
                item = item.strip()
                if not item:
                    continue
                if item.startswith(("http://", "https://")):
                    parts.append(item)
                    continue
                raw = item[len("file:"):] if item.startswith("file:") else item
                parts.append(str(self._map(raw)))
            env["CASC_JENKINS_CONFIG"] = ",".join(parts)
        self.http_container_port = _http_port(env)
        try:
            self.agent_container_port = int(env.get("JENKINS_SLAVE_AGENT_PORT") or 50000)
        except ValueError:
            self.agent_container_port = 50000
        host = ctx.listen_host
        self.agent_loopback_port = _free_port(host)
        self.instance = JenkinsInstance(home, env=env, listen_host=host, http_port=0,
                                        agent_port=self.agent_loopback_port, ctx=ctx)
        sa = ctx.host_path(SA_MOUNT)
        self.instance.kubernetes_in_cluster = InClusterContext(ctx.cluster, ctx.env, sa, namespace=ctx.namespace)
        self.instance.start()
        ctx.expose(self.http_container_port, host, self.instance.http_port)
        threading.Thread(target=self._track_agent_port, name=f"agent-port {ctx.pod_name}", daemon=True).start()
        with _lock:
            _by_agent_addr[(host, self.agent_loopback_port)] = self.instance
            _by_http_addr[(host, self.instance.http_port)] = self.instance

    def _map(self, container_path):
        p = self.ctx.host_path(container_path)
        if p is None:
            p = self.ctx.state_dir / "rootfs" / str(container_path).lstrip("/")
        return Path(p)

    def _track_agent_port(self):
        """Inside the container the TCP agent listener is on ``slaveAgentPort`` (system property from
        JENKINS_SLAVE_AGENT_PORT, JCasC ``slaveAgentPort``; 0 = random, -1 = off).  Expose exactly
        that containerPort, so a Service targeting 50000 reaches it only if Jenkins really listens
        on 50000 — and follow changes (JCasC reload, restart)."""
        import time
        ctx, inst = self.ctx, self.instance
        registry = ctx.cluster.runtimes
        exposed = None                       # (containerPort, host, port) of the agent listener
        while self._exit is None:
            addr = inst.agent_address if inst.state == "up" else None
            sap = inst.slave_agent_port
            want = None
            if addr is not None and sap != -1:
                want = (sap if sap > 0 else addr[1], addr[0], addr[1])   # random: the bound port
            if want != exposed and (want is not None or inst.state == "up"):
                if exposed is not None:
                    # the registry unexposes per container: drop both, re-add HTTP at once
                    registry.unexpose_container(ctx.pod_uid, ctx.name)
                    ctx.expose(self.http_container_port, ctx.listen_host, inst.http_port)
                if want is not None:
                    ctx.expose(*want)
                exposed = want
            time.sleep(0.2)

    def poll(self):
        return self._exit

    def ready(self):
        return self._exit is None

    def stop(self, grace_seconds):
        if self._exit is not None:
            return
        with _lock:
            for table in (_by_agent_addr, _by_http_addr):
                for k in [k for k, v in table.items() if v is self.instance]:
                    del table[k]
        try:
            self.instance.stop()
        finally:
            self._exit = 143


def start(ctx):
    return ControllerContainer(ctx)
