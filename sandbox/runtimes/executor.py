"""Shell steps executed "inside" an agent container: ``sh -xe`` in a user+mount namespace.

What the step sees (``unshare -Urm``: we are root only inside a new user namespace, with a private
mount namespace, so nothing leaks to the host):

* a fresh tmpfs on ``/home`` (the image's ``/home/jenkins``) and on ``/run`` (= ``/var/run``),
* every volume mount of the container bind-mounted at its ``mountPath`` from the real host
  directory the kubelet prepared (hostPath -> the *node's* root directory, emptyDir -> the pod
  dir, …) — so ``/home/jenkins/.kube`` is the node's ``root/.kube`` and ``/var/run/docker.sock`` is
  whatever the kubelet found or created there (an empty directory on sandbox nodes: ``docker info``
  then fails like a client without a daemon),
* the container's own ``/tmp`` (a per-container scratch directory) holding the step script,
* ``HOME=/home/jenkins``, the image's default env, the container env, then the build env.

The rest of the filesystem (binaries such as ``sh``, ``kubectl``, ``docker``) is this machine's:
image contents are not emulated.

The command line follows ``hudson.tasks.Shell#buildCommandLine`` (``/bin/sh -xe <tmp script>``, or
the ``#!`` interpreter); the script file is ``FilePath#createTextTempFile(…, "jenkins", ".sh", …)``
in the temp directory.  The ``[<workspace dir name>] $ /bin/sh -xe /tmp/jenkins123.sh`` echo
(``hudson.Launcher#printCommandLine``) is written by the core before it calls ``run_shell``.
"""

from __future__ import annotations

import os
import random
import shlex
import subprocess
import threading
from pathlib import Path

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Env of the jenkins/inbound-agent image (jenkinsci/docker-agent Dockerfile: ENV AGENT_WORKDIR,
# user jenkins with HOME /home/jenkins; LANG C.UTF-8).  JAVA_HOME's bin is not on PATH here: no JDK.
AGENT_IMAGE_ENV = {"PATH": DEFAULT_PATH, "HOME": "/home/jenkins", "AGENT_WORKDIR": "/home/jenkins/agent",
                   "LANG": "C.UTF-8", "USER": "jenkins"}

_OVERLAY_ROOTS = ("/home", "/run", "/tmp")


def _under(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def _container_path(path):
    p = "/" + str(path).strip("/")
    if _under(p, "/var/run"):
        p = "/run" + p[len("/var/run"):]
    return p


class PodExecutor:
    """``Executor`` of an agent node: runs a Jenkins shell step in the agent container's view."""

    def __init__(self, mounts, container_env, scratch_dir, image_env=None, name="", resolver=None,
                 namespace=None):
        self.mounts = list(mounts)               # list of runtime.Mount (mount_path, host_path, read_only, sub_path)
        self.container_env = dict(container_env or {})
        self.scratch = Path(scratch_dir)
        self.image_env = dict(AGENT_IMAGE_ENV if image_env is None else image_env)
        self.name = name
        self.resolver = resolver
        self.namespace = namespace
        self._lock = threading.Lock()
        self.procs = {}          # pid -> Popen (the core kills these when the controller dies)

    # -- namespace set-up ---------------------------------------------------------------------
    def _setup_script(self, tmp_dir, workspace, argv):
        stage = self.scratch / "stage"
        lines = ["set -e", f"mkdir -p {shlex.quote(str(stage))}"]
        binds = []
        for i, m in enumerate(sorted(self.mounts, key=lambda m: len(_container_path(m.mount_path)))):
            src = Path(m.host_path)
            if not src.exists():
                continue
            target = _container_path(m.mount_path)
            if not any(_under(target, r) for r in _OVERLAY_ROOTS):
                # Outside the tmpfs overlays we only mount onto what already exists on this machine
                # (never create paths on the real filesystem).
                if not os.path.exists(target):
                    continue
            st = stage / str(i)
            is_dir = src.is_dir()
            lines.append(f"mkdir -p {shlex.quote(str(st))}" if is_dir else f": > {shlex.quote(str(st))}")
            lines.append(f"mount --bind {shlex.quote(str(src))} {shlex.quote(str(st))}")
            binds.append((st, target, is_dir, m.read_only))
        lines += ["mount -t tmpfs -o mode=755 tmpfs /home", "mount -t tmpfs -o mode=755 tmpfs /run"]
        for st, target, is_dir, ro in binds:
            q = shlex.quote(target)
            if target == "/tmp":
                continue
            if is_dir:
                lines.append(f"mkdir -p {q}")
            else:
                lines.append(f"mkdir -p $(dirname {q}); [ -e {q} ] || : > {q}")
            lines.append(f"mount --bind {shlex.quote(str(st))} {q}")
            if ro:
                lines.append(f"mount -o remount,bind,ro {q} 2>/dev/null || true")
        lines.append("mkdir -p /home/jenkins")
        lines.append(f"mount --bind {shlex.quote(str(tmp_dir))} /tmp")
        lines.append(f"mkdir -p {shlex.quote(workspace)}")
        lines.append(f"cd {shlex.quote(workspace)}")
        lines.append("exec " + " ".join(shlex.quote(a) for a in argv))
        return "\n".join(lines)

    def _service_vips(self, env):
        """kube-proxy stand-in for processes of the step: ``<SVC>_SERVICE_HOST``/``_SERVICE_PORT``
        pairs (the kubelet's service env, e.g. KUBERNETES_SERVICE_HOST=10.96.0.1) are rewritten to
        the loopback address the resolver routes that Service VIP to, because cluster IPs are not
        routable here.  So in-cluster clients (kubectl/client-go without a kubeconfig) reach the
        API server exactly when a real pod would."""
        if self.resolver is None:
            return env
        for key in [k for k in env if k.endswith("_SERVICE_HOST")]:
            pkey = key[: -len("_HOST")] + "_PORT"
            host, port = env.get(key), env.get(pkey)
            if not host or not port:
                continue
            try:
                lhost, lport = self.resolver.resolve(host, int(port), namespace=self.namespace)
            except (OSError, ValueError):
                continue
            env[key], env[pkey] = lhost, str(lport)
        return env

    def build_env(self, env):
        out = dict(self.image_env)
        out.update(self.container_env)
        out.update(env or {})
        out = self._service_vips(out)
        out["HOME"] = "/home/jenkins"
        if not out.get("PATH"):
            out["PATH"] = DEFAULT_PATH
        return {k: str(v) for k, v in out.items() if v is not None}

    # -- Executor protocol ----------------------------------------------------------------------
    def run_shell(self, script, env, workspace, listener=None):
        tmp_dir = self.scratch / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp_dir, 0o1777)
        fname = f"jenkins{random.randrange(10**17, 10**19)}.sh"
        (tmp_dir / fname).write_text(script.replace("\r\n", "\n"))
        remote = f"/tmp/{fname}"
        if script.startswith("#!"):
            first = script.split("\n", 1)[0][2:].strip()
            argv = shlex.split(first) + [remote]
        else:
            argv = ["/bin/sh", "-xe", remote]
        out_parts = []

        def emit(text):
            if listener is not None:
                listener.write(text)
            else:
                out_parts.append(text)

        # The "[<ws>] $ /bin/sh -xe /tmp/jenkinsN.sh" echo (Launcher#printCommandLine) is written
        # by the core before it calls run_shell.
        setup = self._setup_script(tmp_dir, workspace, argv)
        proc = subprocess.Popen(["unshare", "-Urm", "--propagation", "private", "sh", "-c", setup],
                                env=self.build_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd="/")
        with self._lock:
            self.procs[proc.pid] = proc
        try:
            for raw in iter(proc.stdout.readline, b""):
                emit(raw.decode("utf-8", "replace"))
            rc = proc.wait()
        finally:
            with self._lock:
                self.procs.pop(proc.pid, None)
            try:
                (tmp_dir / fname).unlink()
            except OSError:
                pass
        return rc, (None if listener is not None else "".join(out_parts))

    def kill_all(self):
        with self._lock:
            procs = list(self.procs.values())
        for p in procs:
            try:
                p.kill()
            except OSError:
                pass
