"""The sandbox cluster: state directory, PKI, bootstrap objects, API server and control plane.

Layout of the state directory (DIR)::

    DIR/kubeconfig                 admin kubeconfig (certificate-authority-data + token)
    DIR/pki/ca.crt ca.key apiserver.crt apiserver.key sa.key admin.token
    DIR/nodes/<name>/etc/          per-node /etc
    DIR/nodes/<name>/root/         per-node /root (master: root/.kube/config, 0600, as kubeadm leaves it)
    DIR/logs/<ns>_<pod>_<container>.log   container logs (written by the kubelet)
    DIR/sandbox.json               the status JSON of the running sandbox (written by ``serve``)
"""
import datetime
import ipaddress
import json
import logging
import os
import secrets
import threading
from pathlib import Path

import yaml

from .. import observe
from .api.auth import RBACAuthorizer, TokenAuthority, bootstrap_rbac
from .store import Store

log = logging.getLogger("sandbox.k8s.cluster")

API_PORT = 6443
KUBERNETES_SERVICE_IP = "10.96.0.1"


class Node:
    """A node of the sandbox: its name, role (master/worker), root directory and address."""

    def __init__(self, name, role, root, address):
        self.name = name
        self.role = role
        self.root = Path(root)
        self.address = address

    def to_dict(self):
        return {"name": self.name, "role": self.role, "root": str(self.root), "address": self.address}

    def __repr__(self):
        return "Node(%r, %r, %r, %r)" % (self.name, self.role, str(self.root), self.address)


def _write_private(path, data, mode=0o600):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(str(path), mode)


def ensure_pki(pki, address):
    """CA + serving certificate (SANs as kubeadm's apiserver cert) + SA signing key + admin token.
    Kept across restarts of the same state dir; the serving cert is reissued if the address changed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    pki = Path(pki)
    pki.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key_p, ca_crt_p = pki / "ca.key", pki / "ca.crt"
    if not ca_crt_p.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
        ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=3650))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=True,
                                           crl_sign=True, content_commitment=False, data_encipherment=False,
                                           key_agreement=False, encipher_only=False, decipher_only=False),
                             critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        _write_private(ca_key_p, ca_key.private_bytes(serialization.Encoding.PEM,
                                                      serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
        ca_crt_p.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    ca_key = serialization.load_pem_private_key(ca_key_p.read_bytes(), None)
    ca = x509.load_pem_x509_certificate(ca_crt_p.read_bytes())
    srv_crt_p, srv_key_p, addr_p = pki / "apiserver.crt", pki / "apiserver.key", pki / "apiserver.address"
    if not srv_crt_p.exists() or not addr_p.exists() or addr_p.read_text() != address:
        key = ec.generate_private_key(ec.SECP256R1())
        sans = [x509.DNSName(n) for n in ("localhost", "kubernetes", "kubernetes.default",
                                          "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                                          "master")]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in (address, KUBERNETES_SERVICE_IP, "127.0.0.1")]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
                .issuer_name(ca.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=365))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        _write_private(srv_key_p, key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        srv_crt_p.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        addr_p.write_text(address)
    if not (pki / "sa.key").exists():
        _write_private(pki / "sa.key", secrets.token_hex(32))
    if not (pki / "admin.token").exists():
        _write_private(pki / "admin.token", secrets.token_urlsafe(32))
    return {"ca_crt": ca_crt_p, "crt": srv_crt_p, "key": srv_key_p,
            "sa_key": (pki / "sa.key").read_text().strip(),
            "admin_token": (pki / "admin.token").read_text().strip()}


def kubeconfig(api_url, ca_pem, token, name="sandbox"):
    import base64
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": {
            "server": api_url,
            "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode()}}],
        "users": [{"name": "kubernetes-admin", "user": {"token": token}}],
        "contexts": [{"name": "kubernetes-admin@" + name,
                      "context": {"cluster": name, "user": "kubernetes-admin", "namespace": "default"}}],
        "current-context": "kubernetes-admin@" + name,
    }


class Cluster:
    """One sandbox cluster (see module docstring and docs/dev/architecture.md §3.1)."""

    def __init__(self, state_dir, address="127.0.0.1", nodes=2, port=API_PORT, name=None,
                 controllers=True):
        self.state_dir = Path(state_dir).resolve()
        self.address = address
        self.port = port
        self.name = name or "sandbox-" + self.state_dir.name
        self.api_url = "https://%s:%d" % (address, port)
        self.api_hostport = "%s:%d" % (address, port)
        self.admin_url = self.api_url + "/_sandbox"
        self.kubeconfig_path = self.state_dir / "kubeconfig"
        self.logs_dir = self.state_dir / "logs"
        self.nodes = [Node("master", "master", self.state_dir / "nodes" / "master", address)]
        for i in range(1, int(nodes) + 1):
            self.nodes.append(Node("node%d" % i, "worker", self.state_dir / "nodes" / ("node%d" % i), address))
        self.store = Store()
        self.request_log = observe.RequestLog()
        self.faults = observe.FaultInjector()
        self.resolver = None     # set by the control plane (sandbox.k8s.controllers.start_all)
        self.runtimes = None
        self.control_plane = None
        self.server = None
        self._started = False
        self.with_controllers = controllers
        self.control_plane_error = None
        self._lock = threading.Lock()
        self._layout()
        pki = ensure_pki(self.state_dir / "pki", address)
        self.ca_path = pki["ca_crt"]
        self.ca_pem = pki["ca_crt"].read_text()
        self._cert, self._key = pki["crt"], pki["key"]
        self.admin_token = pki["admin_token"]
        self.tokens = TokenAuthority(self.store, pki["sa_key"], self.admin_token)
        self.authorizer = RBACAuthorizer(self.store)
        self.store.ca_pem = self.ca_pem
        self.store.token_signer = lambda ns, sa, uid, secret=None: self.tokens.legacy(ns, sa, uid, secret)
        self._write_kubeconfigs()
        self._bootstrap()

    # ------------------------------------------------------------------ files
    def _layout(self):
        for d in (self.state_dir, self.logs_dir, self.state_dir / "pki"):
            d.mkdir(parents=True, exist_ok=True)
        for node in self.nodes:
            for sub in ("etc", "root"):
                (node.root / sub).mkdir(parents=True, exist_ok=True)

    def _write_kubeconfigs(self):
        text = yaml.safe_dump(kubeconfig(self.api_url, self.ca_pem, self.admin_token, self.name),
                              default_flow_style=False, sort_keys=False)
        _write_private(self.kubeconfig_path, text)
        master = self.nodes[0]
        kube_dir = master.root / "root" / ".kube"
        kube_dir.mkdir(parents=True, exist_ok=True)
        _write_private(kube_dir / "config", text)
        # kubeadm also leaves /etc/kubernetes/admin.conf on the control-plane node
        _write_private(master.root / "etc" / "kubernetes" / "admin.conf", text)

    def pod_log_path(self, namespace, pod, container, previous=False):
        """Where the kubelet writes a container's log (contract, architecture.md §3.1)."""
        suffix = ".previous.log" if previous else ".log"
        return self.logs_dir / ("%s_%s_%s%s" % (namespace, pod, container, suffix))

    # ------------------------------------------------------------------ objects
    def _bootstrap(self):
        s = self.store
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            s.create("", "v1", "namespaces", {"metadata": {"name": ns}})
        roles, bindings = bootstrap_rbac()
        for r in roles:
            s.create("rbac.authorization.k8s.io", "v1", "clusterroles", r)
        for b in bindings:
            s.create("rbac.authorization.k8s.io", "v1", "clusterrolebindings", b)
        s.create("", "v1", "services", {
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": KUBERNETES_SERVICE_IP, "type": "ClusterIP",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": self.port}]}})
        s.create("", "v1", "endpoints", {
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": self.address}],
                         "ports": [{"name": "https", "port": self.port, "protocol": "TCP"}]}]})
        s.create("discovery.k8s.io", "v1", "endpointslices", {
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "kubernetes",
                                    "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [self.address], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": self.port, "protocol": "TCP"}]})

    # ------------------------------------------------------------------ lifecycle
    def start(self):
        """Start the API server thread, then the control plane (if present)."""
        with self._lock:
            if self._started:
                return self
            from .api import schema
            from .apiserver import APIServer
            schema.preload()
            self.server = APIServer(self, self.address, self.port, str(self._cert), str(self._key))
            self.server.start()
            self._started = True
        if not self.with_controllers:
            return self
        try:
            from . import controllers
        except ImportError:
            controllers = None
        if controllers is not None and hasattr(controllers, "start_all"):
            try:
                controllers.start_all(self)
            except Exception as exc:
                # the API server keeps serving; status() reports the failure
                log.exception("control plane failed to start")
                self.control_plane_error = "%s: %s" % (type(exc).__name__, exc)
        return self

    def stop(self):
        with self._lock:
            if not self._started:
                return
            self._started = False
        try:
            from . import controllers
            if hasattr(controllers, "stop_all"):
                controllers.stop_all(self)
        except ImportError:
            pass
        except Exception:
            log.exception("control plane failed to stop")
        if self.server is not None:
            self.server.stop()
        self.store.close()

    # ------------------------------------------------------------------ status
    def services(self):
        out = []
        items, _ = self.store.list("", "v1", "services")
        for svc in items:
            spec = svc.get("spec") or {}
            ports = []
            for p in spec.get("ports") or []:
                entry = {"name": p.get("name"), "port": p.get("port"), "protocol": p.get("protocol", "TCP"),
                         "targetPort": p.get("targetPort")}
                if p.get("nodePort"):
                    entry["nodePort"] = p["nodePort"]
                    entry["url"] = "http://%s:%d" % (self.address, p["nodePort"])
                ports.append(entry)
            out.append({"namespace": svc["metadata"]["namespace"], "name": svc["metadata"]["name"],
                        "type": spec.get("type"), "clusterIP": spec.get("clusterIP"), "ports": ports})
        return out

    def info(self):
        """The `up` JSON (architecture.md §3)."""
        return {"name": self.name, "state_dir": str(self.state_dir), "address": self.address,
                "api_url": self.api_url, "kubeconfig": str(self.kubeconfig_path),
                "admin_token": self.admin_token, "admin_url": self.admin_url,
                "ca_file": str(self.ca_path),
                "nodes": [n.to_dict() for n in self.nodes]}

    def status(self):
        """The `status` JSON: info() + services (with NodePort URLs) + object counts."""
        out = self.info()
        out["running"] = self._started
        out["control_plane"] = ("disabled" if not self.with_controllers else
                                "error: " + self.control_plane_error if self.control_plane_error else
                                "running" if self.control_plane is not None else "absent")
        out["pid"] = os.getpid()
        out["services"] = self.services()
        out["objects"] = self.store.object_count()
        out["resourceVersion"] = self.store.resource_version
        return out

    def write_state(self):
        path = self.state_dir / "sandbox.json"
        tmp = path.with_suffix(".json.tmp")
        _write_private(tmp, json.dumps(self.status(), indent=2))
        os.replace(tmp, path)
