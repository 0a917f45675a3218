"""A small fabric8-like Kubernetes client for the plugin emulation (real HTTPS to the sandbox API).

Configuration follows fabric8 ``Config.autoConfigure`` as used by the plugin's
``KubernetesFactoryAdapter#createClient``: a blank ``serverUrl`` means in-cluster configuration from
the controller pod (``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT``, token /
``ca.crt`` / ``namespace`` from the mounted ``/var/run/secrets/kubernetes.io/serviceaccount``);
a ``serverUrl`` without credentials keeps the auto-configured token and CA and only replaces the
master URL; ``serverCertificate`` adds a CA, ``skipTlsVerify`` trusts everything; namespace =
cloud namespace, else the service-account namespace, else ``default``.

Host names are resolved through ``cluster.resolver`` (cluster DNS / Service IPs -> loopback) —
the client never connects to a 10.x address.  The TLS server name stays the original host, so
the API server certificate must really match ``10.96.0.1`` / ``kubernetes.default``.

Error texts are fabric8's (fabric8io/kubernetes-client
``kubernetes-client/src/main/java/io/fabric8/kubernetes/client/dsl/internal/OperationSupport.java``
``#assertResponseCode`` / ``#requestFailure``, ``Config`` default ``errorMessages`` for 401/403):
``Failure executing: GET at: https://10.96.0.1/api/v1/namespaces/kube-ops/pods. Message:
Forbidden!Configured service account doesn't have access. Service account may have been revoked.
<Status.message>.`` — with a custom message the Status is client-built, so no "Received status";
otherwise `` Received status: Status(...).`` is appended.  ``#waitForResult`` rethrows a
KubernetesClientException as ``copyAsCause()`` (so callers see it with itself as the cause) and an
IOException as ``new IOException(msg, cause)`` laundered into a KubernetesClientException.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from pathlib import Path
from urllib.parse import quote, urlsplit

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

# io.fabric8.kubernetes.client.Config#errorMessages defaults
ERROR_MESSAGES = {
    401: "Unauthorized! Token may have expired! Please log-in again.",
    403: "Forbidden!Configured service account doesn't have access. Service account may have been revoked.",
}

KCE = "io.fabric8.kubernetes.client.KubernetesClientException"


class KubernetesClientException(Exception):
    def __init__(self, message, code=-1, status=None, cause=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.cause = cause          # (java class name, message) or None

    def cause_text(self):
        return f"{self.cause[0]}: {self.cause[1]}" if self.cause else None


class InClusterContext:
    """What the controller pod gives the plugin: its env and the host dir of its SA mount."""

    def __init__(self, cluster, env, sa_dir, namespace=None):
        self.cluster = cluster
        self.env = dict(env or {})
        self.sa_dir = Path(sa_dir) if sa_dir else None
        self.namespace = namespace      # the pod's namespace (for relative DNS names)

    def _read(self, name):
        if self.sa_dir is None:
            return None
        p = self.sa_dir / name
        try:
            return p.read_text()
        except OSError:
            return None

    def auto_config(self):
        """fabric8 Config.autoConfigure (kubeconfig/system props are not consulted here)."""
        host = self.env.get("KUBERNETES_SERVICE_HOST")
        port = self.env.get("KUBERNETES_SERVICE_PORT")
        cfg = {"master_url": "https://kubernetes.default.svc/", "token": None, "ca_pem": None,
               "namespace": None}
        if host and port:
            h = f"[{host}]" if ":" in host else host
            cfg["master_url"] = f"https://{h}:{port}"
        token = self._read("token")
        if token is not None:
            cfg["token"] = token.strip()
        ca = self._read("ca.crt")
        if ca:
            cfg["ca_pem"] = ca
        ns = self._read("namespace")
        if ns:
            cfg["namespace"] = ns.strip()
        return cfg


def _display_url(master_url, path):
    """okhttp HttpUrl#toString drops the default port (https://10.96.0.1:443 -> https://10.96.0.1)."""
    p = urlsplit(master_url)
    host = p.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if p.port in (None, 443 if p.scheme == "https" else 80) else f"{host}:{p.port}"
    base = f"{p.scheme}://{netloc}{p.path.rstrip('/')}"
    return base + path


def _status_to_string(st):
    """Lombok-style toString of io.fabric8.kubernetes.api.model.Status (as in "Received status")."""
    d = st.get("details")
    details = "null"
    if d:
        causes = ", ".join(
            f"StatusCause(field={c.get('field')}, message={c.get('message')}, reason={c.get('reason')}, additionalProperties={{}})"
            for c in d.get("causes") or [])
        details = (f"StatusDetails(causes=[{causes}], group={d.get('group')}, kind={d.get('kind')}, "
                   f"name={d.get('name')}, retryAfterSeconds={d.get('retryAfterSeconds')}, uid={d.get('uid')}, "
                   f"additionalProperties={{}})")
    md = st.get("metadata") or {}
    return (f"Status(apiVersion={st.get('apiVersion')}, code={st.get('code')}, details={details}, "
            f"kind={st.get('kind')}, message={st.get('message')}, "
            f"metadata=ListMeta(_continue={md.get('continue')}, remainingItemCount={md.get('remainingItemCount')}, "
            f"resourceVersion={md.get('resourceVersion')}, selfLink={md.get('selfLink')}, additionalProperties={{}}), "
            f"reason={st.get('reason')}, status={st.get('status')}, additionalProperties={{}})")


class _Conn(http.client.HTTPSConnection):
    def __init__(self, host, port, target, context, timeout):
        super().__init__(host, port, context=context, timeout=timeout)
        self._target = target

    def connect(self):
        sock = socket.create_connection(self._target, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class KubernetesClient:
    def __init__(self, in_cluster: InClusterContext, server_url=None, server_certificate=None,
                 skip_tls_verify=False, namespace=None, token=None, connect_timeout=5, read_timeout=15):
        auto = in_cluster.auto_config() if in_cluster is not None else {
            "master_url": "https://kubernetes.default.svc/", "token": None, "ca_pem": None, "namespace": None}
        self.in_cluster = in_cluster
        self.master_url = (server_url or auto["master_url"]).rstrip("/")
        self.token = token if token is not None else auto["token"]
        self.ca_pems = [p for p in (auto["ca_pem"], server_certificate) if p]
        self.skip_tls_verify = skip_tls_verify
        self.namespace = namespace or auto["namespace"] or "default"
        self.connect_timeout = connect_timeout or None
        self.read_timeout = read_timeout

    # ------------------------------------------------------------------------------------
    def _ssl_context(self):
        if self.skip_tls_verify:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        ctx = ssl.create_default_context(cadata="\n".join(self.ca_pems)) if self.ca_pems else \
            ssl.create_default_context()
        return ctx

    def request(self, method, path, body=None, query=None):
        """Returns the decoded JSON body; raises KubernetesClientException like fabric8."""
        display = _display_url(self.master_url, path)
        p = urlsplit(self.master_url)
        port = p.port or 443
        qs = ""
        if query:
            qs = "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items())
            display += qs
        ns = self.in_cluster.namespace if self.in_cluster else None
        resolver = getattr(getattr(self.in_cluster, "cluster", None), "resolver", None)
        if resolver is None:
            # a controller that does not run in a sandbox pod has no cluster DNS at all
            raise self._io_failure(method, path, OSError(f"{p.hostname}: Name or service not known"))
        try:
            target = resolver.resolve(p.hostname, port, namespace=ns)
        except OSError as exc:
            raise self._io_failure(method, path, exc)
        try:
            conn = _Conn(p.hostname, port, target, self._ssl_context(),
                         timeout=max(self.read_timeout or 15, 1))
            headers = {"Accept": "application/json", "User-Agent": "fabric8-kubernetes-client/6.10.0"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json; charset=utf-8"
            conn.request(method, p.path.rstrip("/") + path + qs, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            conn.close()
        except ssl.SSLCertVerificationError as exc:
            raise self._io_failure(method, path, OSError(
                "PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: "
                f"unable to find valid certification path to requested target ({exc.verify_message})"))
        except OSError as exc:
            raise self._io_failure(method, path, exc)
        if 200 <= resp.status < 300:
            try:
                return json.loads(raw or b"null")
            except ValueError:
                return None
        status = None
        try:
            status = json.loads(raw)
            if not isinstance(status, dict) or status.get("kind") != "Status":
                status = None
        except ValueError:
            status = None
        custom = ERROR_MESSAGES.get(resp.status)
        msg = f"Failure executing: {method} at: {display}."
        if custom is not None:
            smsg = custom + (" " + status["message"] if status and status.get("message") else "")
            msg += f" Message: {smsg}."
        else:
            if status is None:
                status = {"code": resp.status, "message": resp.reason}
                if status["message"]:
                    msg += f" Message: {status['message']}."
            else:
                if status.get("message"):
                    msg += f" Message: {status['message']}."
                msg += f" Received status: {_status_to_string(status)}."
        # OperationSupport#waitForResult -> copyAsCause(): the thrown exception has the original
        # (same message) as its cause.
        return_exc = KubernetesClientException(msg, resp.status, status, cause=(KCE, msg))
        raise return_exc

    def _io_failure(self, method, path, exc):
        # OperationSupport#waitForResult: "throw new IOException(t.getMessage(), t)", laundered by
        # KubernetesClientException#launderThrowable into "An error has occurred." + that cause.
        return KubernetesClientException("An error has occurred.", -1, None,
                                         cause=("java.io.IOException", str(exc)))

    # ------------------------------------------------------------------------------------
    def list_pods(self, namespace=None, label_selector=None):
        q = {"labelSelector": label_selector} if label_selector else None
        return self.request("GET", f"/api/v1/namespaces/{namespace or self.namespace}/pods", query=q)

    def get_pod(self, namespace, name):
        try:
            return self.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
        except KubernetesClientException as exc:
            if exc.code == 404:
                return None
            raise

    def create_pod(self, namespace, pod):
        return self.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=pod)

    def delete_pod(self, namespace, name):
        """Returns True if deleted, False if not found (fabric8 delete().size() == 1)."""
        try:
            self.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}")
            return True
        except KubernetesClientException as exc:
            if exc.code == 404:
                return False
            raise

    def pod_log(self, namespace, name, container, tail_lines=30):
        try:
            return self._raw_get(f"/api/v1/namespaces/{namespace}/pods/{name}/log",
                                 {"container": container, "tailLines": tail_lines})
        except Exception:
            return None

    def _raw_get(self, path, query):
        p = urlsplit(self.master_url)
        port = p.port or 443
        target = self.in_cluster.cluster.resolver.resolve(p.hostname, port,
                                                         namespace=self.in_cluster.namespace)
        conn = _Conn(p.hostname, port, target, self._ssl_context(), timeout=15)
        qs = "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items())
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        conn.request("GET", p.path.rstrip("/") + path + qs, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        return raw.decode("utf-8", "replace") if resp.status == 200 else None

    def get_version(self):
        return self.request("GET", "/version")
