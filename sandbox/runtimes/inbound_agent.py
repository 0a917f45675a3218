"""Runtime of the inbound agent container (the Kubernetes plugin's ``jnlp`` / agentContainer).

What the real container does (jenkinsci/docker-agent ``jenkins-agent`` script turns the env into
``java -jar agent.jar -url $JENKINS_URL [-tunnel $JENKINS_TUNNEL] [-webSocket] -secret … -name …
-workDir …``; jenkinsci/remoting ``hudson.remoting.Engine``, ``org.jenkinsci.remoting.engine.
JnlpAgentEndpointResolver#resolve``, ``RetryUtils#succeedsWithRetries``), done for real here:

1. HTTP ``GET <JENKINS_URL>tcpSlaveAgentListener/`` — the URL host resolved through the cluster
   (``cluster.resolver``, from the pod's namespace: Services, cluster DNS).  Failure ->
   ``IOException("Failed to connect to <url>tcpSlaveAgentListener/: <msg>")``; non-200 ->
   ``"<url> is invalid: <code> <reason>"``; no ``X-Jenkins-JNLP-Port`` -> ``"<url> is not Jenkins"``.
2. Endpoint = ``X-Jenkins-JNLP-Host`` (else the URL host) : ``X-Jenkins-JNLP-Port``, overridden
   by ``-tunnel host:port`` (empty parts keep the advertised ones), then the port must be
   reachable (``"<url> provided port:<p> is not reachable on host <h>"``).
3. TCP connect to that endpoint (again through the resolver) and the handshake the controller's
   agent listener speaks in place of JNLP4-connect (``JNLP4-connect <name> <secret>`` ->
   ``Welcome`` / ``ERROR <why>``, sandbox/jenkins/instance.py ``_agent_conn``); the channel lives
   as long as that socket.  The step executor (``executor.PodExecutor``) is handed to the node of
   the Jenkins instance that owns the listener we really reached.  A refused handshake ends the
   process like ``Launcher$CuiListener#error`` (``System.exit(-1)`` -> exit code 255).
4. Every failure of 1–2 is reported as ``Could not locate server among [<url>]: <msg>`` and retried
   with the exponential back-off of ``RetryUtils.ExponentialRetry`` (1 s, 3 s, 7 s, then 10 s).

Log lines use java.util.logging's default format, as the container log shows them.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import socket
import threading
from urllib.parse import urlsplit

from sandbox.k8s import images
from sandbox.k8s.runtime import RunningContainer

from .executor import PodExecutor

AGENT_REPOSITORIES = {"jenkins/inbound-agent", "jenkins/jnlp-slave", "jenkinsci/jnlp-slave",
                      "jenkinsci/inbound-agent"}
REMOTING_VERSION = "3355.v388858a_47b_33"
CUI = "hudson.remoting.Launcher$CuiListener status"


def matches(image, container, pod):
    """The plugin's agent container: a known agent image, or any pullable image in a container
    that carries the plugin's agent env (``JENKINS_SECRET`` + ``JENKINS_AGENT_NAME``) / is named jnlp
    in a plugin-made pod."""
    init_names = {c.get("name") for c in ((pod.get("spec") or {}).get("initContainers") or [])}
    if container.get("name") in init_names and container in ((pod.get("spec") or {}).get("initContainers") or []):
        return False
    repo = images.normalise(image)[0]
    if repo in AGENT_REPOSITORIES:
        return True
    if not images.is_known(image):
        return False          # the kubelet shows ErrImagePull, as for any unknown image
    env_names = {e.get("name") for e in container.get("env") or []}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if {"JENKINS_SECRET", "JENKINS_AGENT_NAME"} <= env_names:
        return True
    return container.get("name") == "jnlp" and "jenkins/label" in labels


def _ts():
    now = datetime.datetime.now()
    hour = now.hour % 12 or 12
    return f"{now.strftime('%b')} {now.day:02d}, {now.year} {hour}:{now.minute:02d}:{now.second:02d} " \
           f"{'AM' if now.hour < 12 else 'PM'}"


class AgentIOError(OSError):
    pass


def _fingerprint(identity_b64):
    """org.jenkinsci.remoting.util.KeyUtils#fingerprint: MD5 of the encoded key, colon-separated."""
    if not identity_b64:
        return "null"
    try:
        raw = base64.b64decode(identity_b64)
    except ValueError:
        return "null"
    h = hashlib.md5(raw).hexdigest()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


class InboundAgent(RunningContainer):
    def __init__(self, ctx):
        self.ctx = ctx
        self.env = dict(ctx.env)
        self._stop = threading.Event()
        self._exit = None
        self._sock = None
        self._jenkins = None
        self.name = self.env.get("JENKINS_AGENT_NAME") or self.env.get("JENKINS_NAME")
        self.secret = self.env.get("JENKINS_SECRET")
        self.url = self.env.get("JENKINS_URL")
        self.tunnel = self.env.get("JENKINS_TUNNEL") or None
        self.executor = PodExecutor(ctx.mounts, ctx.env, ctx.state_dir / "executor",
                                    name=self.name or ctx.name, resolver=ctx.cluster.resolver,
                                    namespace=ctx.namespace)
        self._thread = threading.Thread(target=self._run, name=f"inbound-agent {ctx.pod_name}", daemon=True)
        self._thread.start()

    # -- logging ---------------------------------------------------------------------------------
    def _log(self, where, level, msg):
        self.ctx.log(f"{_ts()} {where}\n{level}: {msg}")

    def status(self, msg):
        self._log(CUI, "INFO", msg)

    # -- RunningContainer --------------------------------------------------------------------------
    def poll(self):
        return self._exit

    def ready(self):
        return self._exit is None and not self._stop.is_set()

    def stop(self, grace_seconds):
        self._stop.set()
        self.executor.kill_all()
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
        # closing the channel socket is what the controller notices (agent_disconnect there)
        if self._exit is None:
            self._exit = 143      # SIGTERM

    # -- the engine --------------------------------------------------------------------------------
    def _sleep(self, seconds):
        return self._stop.wait(seconds)

    def _resolve(self, host, port):
        return self.ctx.cluster.resolver.resolve(host, port, namespace=self.ctx.namespace)

    def _discover(self):
        """JnlpAgentEndpointResolver#resolve -> (host, port, identity)."""
        base = self.url if self.url.endswith("/") else self.url + "/"
        sal = base + "tcpSlaveAgentListener/"
        p = urlsplit(sal)
        port = p.port or (443 if p.scheme == "https" else 80)
        try:
            lhost, lport = self._resolve(p.hostname, port)
            conn = http.client.HTTPConnection(lhost, lport, timeout=30)
            conn.putrequest("GET", p.path or "/", skip_host=True)
            conn.putheader("Host", p.netloc)
            conn.putheader("User-Agent", f"Java/21 remoting/{REMOTING_VERSION}")
            conn.endheaders()
            resp = conn.getresponse()
            resp.read()
            conn.close()
        except OSError as exc:
            raise AgentIOError(f"Failed to connect to {sal}: {exc}")
        if resp.status != 200:
            raise AgentIOError(f"{sal} is invalid: {resp.status} {resp.reason}")
        port_str = resp.getheader("X-Jenkins-JNLP-Port") or resp.getheader("X-Hudson-JNLP-Port")
        host = resp.getheader("X-Jenkins-JNLP-Host") or p.hostname
        protocols = resp.getheader("X-Jenkins-Agent-Protocols")
        identity = resp.getheader("X-Instance-Identity")
        if protocols:
            self._log("org.jenkinsci.remoting.engine.JnlpAgentEndpointResolver resolve", "INFO",
                      f"Remoting server accepts the following protocols: [{', '.join(x.strip() for x in protocols.split(','))}]")
        if port_str is None:
            raise AgentIOError(f"{self.url} is not Jenkins")
        try:
            ep_port = int(port_str)
        except ValueError:
            raise AgentIOError(f"{self.url} is publishing an invalid port")
        if ep_port <= 0 or ep_port >= 65536:
            raise AgentIOError(f"{self.url} is publishing an invalid port")
        if self.tunnel:
            tokens = self.tunnel.split(":", 2)
            if len(tokens) != 2:
                raise AgentIOError(f"Illegal tunneling parameter: {self.tunnel}")
            if tokens[0]:
                host = tokens[0]
            if tokens[1]:
                ep_port = int(tokens[1])
        # JnlpAgentEndpointResolver#isPortVisible
        try:
            target = self._resolve(host, ep_port)
            s = socket.create_connection(target, timeout=5)
            s.close()
        except OSError as exc:
            self._log("org.jenkinsci.remoting.engine.JnlpAgentEndpointResolver isPortVisible", "WARNING", str(exc))
            raise AgentIOError(f"{self.url} provided port:{ep_port} is not reachable on host {host}")
        return host, ep_port, identity

    def _websocket_endpoint(self):
        """-webSocket: only JENKINS_URL is used (hudson.remoting.Engine#runWebSocket, ``<url>wsagents/``).
        The channel is carried by the controller's agent listener here (an internal detail: no
        agent port/Service is needed, as with a real WebSocket agent)."""
        from . import jenkins_controller
        base = self.url if self.url.endswith("/") else self.url + "/"
        p = urlsplit(base)
        port = p.port or (443 if p.scheme == "https" else 80)
        try:
            target = self._resolve(p.hostname, port)
            socket.create_connection(target, timeout=5).close()
        except OSError as exc:
            raise AgentIOError(f"Failed to connect to {base}wsagents/: {exc}")
        inst = jenkins_controller.instance_for_http_address(target)
        if inst is None or inst.agent_address is None:
            raise AgentIOError(f"{base}wsagents/ is invalid: 404 Not Found")
        self.status("WebSocket connection open")
        host, aport = inst.agent_address
        return host, aport, None

    def _run(self):
        from . import jenkins_controller
        ctx = self.ctx
        self._log("hudson.remoting.Launcher createEngine", "INFO", f"Setting up agent: {self.name}")
        self._log("hudson.remoting.Engine startEngine", "INFO", f"Using Remoting version: {REMOTING_VERSION}")
        workdir = self.env.get("JENKINS_AGENT_WORKDIR") or "/home/jenkins/agent"
        self._log("org.jenkinsci.remoting.engine.WorkDirManager initializeWorkDir", "INFO",
                  f"Using {workdir}/remoting as a remoting work directory")
        direct = self.env.get("JENKINS_DIRECT_CONNECTION") or None
        websocket = (self.env.get("JENKINS_WEB_SOCKET") or "").lower() == "true"
        if not (self.url or direct) or not self.secret or not self.name:
            # agent.jar argument checks: no -url / -direct, or missing secret/name
            missing = "-url or -direct" if not (self.url or direct) else ("-secret" if not self.secret else "-name")
            self.ctx.log(f"{missing} is required")
            self._exit = 1
            return
        delay = 0
        while not self._stop.is_set():
            if not direct:
                self.status(f"Locating server among [{self.url}]")
            try:
                if direct:
                    # -direct host:port: no HTTP at all (Engine#innerRun with directConnection)
                    host, _, p = direct.rpartition(":")
                    host, port, identity = host, int(p), self.env.get("JENKINS_INSTANCE_IDENTITY")
                elif websocket:
                    host, port, identity = self._websocket_endpoint()
                else:
                    host, port, identity = self._discover()
            except (AgentIOError, ValueError) as exc:
                self.status(f"Could not locate server among [{self.url}]: {exc}")
                delay = min(10, delay * 2 + 1)        # RetryUtils.ExponentialRetry
                self.status(f"Waiting {delay} second{'s' if delay != 1 else ''} before retry")
                if self._sleep(delay):
                    return
                continue
            delay = 0
            if not websocket:
                self.status("Agent discovery successful\n"
                            f"  Agent address: {host}\n  Agent port:    {port}\n  Identity:      {_fingerprint(identity)}")
                self.status("Handshaking")
                self.status(f"Connecting to {host}:{port}")
            try:
                target = (host, port) if websocket else self._resolve(host, port)
                sock = socket.create_connection(target, timeout=10)
            except OSError as exc:
                self.status(f"Could not connect to {host}:{port}: {exc}")
                if self._sleep(1):
                    return
                continue
            self.status("Trying protocol: JNLP4-connect")
            jenkins = jenkins_controller.instance_for_agent_address(target)
            if jenkins is not None:
                # the channel's executor (what runs steps "in this container") is known to the
                # controller before the handshake completes, so no build can see the node online
                # without it
                node = jenkins.get_node(self.name)
                if node is not None and getattr(node, "jenkins", None) is jenkins:
                    node.executor = self.executor
            try:
                sock.settimeout(30)
                sock.sendall(f"JNLP4-connect {self.name} {self.secret}\n".encode())
                answer = sock.makefile("rb").readline(4096).decode("utf-8", "replace").strip()
            except OSError as exc:
                answer = f"ERROR {exc}"
            if answer != "Welcome":
                sock.close()
                reason = answer[len("ERROR "):] if answer.startswith("ERROR ") else (answer or "connection closed")
                self.status("Protocol JNLP4-connect encountered an unexpected exception\n"
                            "java.util.concurrent.ExecutionException: "
                            f"org.jenkinsci.remoting.protocol.impl.ConnectionRefusalException: {reason}")
                self._log("hudson.remoting.Launcher$CuiListener error", "SEVERE",
                          "The server rejected the connection: None of the protocols were accepted\n"
                          "java.lang.Exception: The server rejected the connection: None of the protocols were accepted")
                self._exit = 255      # CuiListener#error -> System.exit(-1)
                return
            self._sock = sock
            self._jenkins = jenkins
            self.status(f"Remote identity confirmed: {_fingerprint(identity)}")
            self.status("Connected")
            sock.settimeout(0.5)
            closed = False
            while not self._stop.is_set():
                try:
                    data = sock.recv(4096)
                    if data == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
                    break
                if jenkins is not None and not jenkins_controller.node_exists(jenkins, self.name):
                    break
            if self._stop.is_set():
                return
            self._jenkins = None
            self._sock = None
            try:
                sock.close()
            except OSError:
                pass
            if jenkins is not None and not jenkins_controller.node_exists(jenkins, self.name):
                # the controller terminated this agent (SlaveDisconnector): remoting exits quietly
                self.status("Terminated")
                self._exit = 0
                return
            self.status("Terminated" if not closed else "Connection closed, trying to reconnect")
            if self._sleep(1):
                return


def start(ctx):
    return InboundAgent(ctx)
