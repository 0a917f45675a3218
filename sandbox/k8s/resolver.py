"""Cluster DNS + Service routing for code that "runs inside" the sandbox (contract: architecture.md §3.3).

``cluster.resolver.resolve(host, port, namespace=None) -> (loopback_host, loopback_port)``

What a client inside a pod would do, step by step, with the same failure modes:

* DNS (CoreDNS ``kubernetes`` plugin, schema in kubernetes/dns docs/specification.md): ``svc``
  and ``svc.ns`` work through the pod's resolv.conf search path (``<ns>.svc.cluster.local
  svc.cluster.local cluster.local``), ``svc.ns.svc`` and ``svc.ns.svc.cluster.local`` directly;
  ``<hostname>.<headless-svc>.<ns>.svc.cluster.local`` names a pod behind a headless Service.
  Unknown names fail like getaddrinfo: ``<host>: Name or service not known``.
* kube-proxy: clusterIP:port -> a READY endpoint (Endpoints of the Service, built from the selector
  by the endpoints controller) -> the endpoint's targetPort -> the loopback listener that the
  pod's container runtime exposed (``ctx.expose``). No ready endpoint, an unknown port or no
  listener: ``Connection refused`` (kube-proxy installs a REJECT rule for Services without
  endpoints: pkg/proxy/iptables/proxier.go, "has no endpoints" -> REJECT).
* ``kubernetes`` / ``kubernetes.default`` / its clusterIP -> the API server.
* Loopback addresses pass through unchanged; nothing ever connects to a 10.x address.
"""

import ipaddress
import itertools
import threading
from urllib.parse import urlsplit, urlunsplit

CLUSTER_DOMAIN = "cluster.local"


class ResolveError(OSError):
    """Raised when a name does not resolve or nothing accepts the connection.

    ``reason`` is ``unknown_host``, ``connection_refused`` or ``no_route``; the message is what
    glibc / the JDK print for the same failure.
    """

    def __init__(self, message, reason, host=None, port=None):
        super().__init__(message)
        self.reason = reason
        self.host = host
        self.port = port

    def __str__(self):
        return self.args[0]


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Resolver:
    def __init__(self, cluster):
        self.cluster = cluster
        self._rr = itertools.count()
        self._lock = threading.Lock()

    # -- helpers -----------------------------------------------------------------------------
    @property
    def store(self):
        return self.cluster.store

    def _unknown(self, host, port):
        return ResolveError(f"{host}: Name or service not known", "unknown_host", host, port)

    def _refused(self, host, port):
        return ResolveError(f"Connection refused (connect to {host}:{port})", "connection_refused",
                            host, port)

    def api_server_address(self):
        parts = urlsplit(self.cluster.api_url)
        return parts.hostname, parts.port or 443

    def _get(self, plural, namespace, name):
        try:
            return self.store.get("", "v1", plural, namespace, name)
        except Exception:
            return None

    # -- name -> service ---------------------------------------------------------------------
    def parse_name(self, host, namespace=None):
        """(service, namespace, pod_hostname) for a cluster DNS name, or None."""
        name = host.rstrip(".").lower()
        suffix = "." + CLUSTER_DOMAIN
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            parts = name.split(".")
            # FQDN must be <svc>.<ns>.svc or <host>.<svc>.<ns>.svc
            if len(parts) == 3 and parts[2] == "svc":
                return parts[0], parts[1], None
            if len(parts) == 4 and parts[3] == "svc":
                return parts[1], parts[2], parts[0]
            return None
        parts = name.split(".")
        if len(parts) == 1:
            return parts[0], namespace or "default", None
        if len(parts) == 2:
            # "<svc>.<ns>" via search "svc.cluster.local"; "<host>.<svc>" via "<ns>.svc.cluster.local"
            return parts[0], parts[1], None
        if len(parts) == 3 and parts[2] == "svc":
            return parts[0], parts[1], None
        if len(parts) == 4 and parts[3] == "svc":
            return parts[1], parts[2], parts[0]
        return None

    def _service_by_cluster_ip(self, ip):
        items, _ = self.store.list("", "v1", "services")
        for svc in items:
            spec = svc.get("spec") or {}
            ips = spec.get("clusterIPs") or [spec.get("clusterIP")]
            if ip in ips:
                return svc
        return None

    def _pod_by_ip(self, ip):
        items, _ = self.store.list("", "v1", "pods")
        for pod in items:
            status = pod.get("status") or {}
            if status.get("podIP") == ip and not (pod.get("spec") or {}).get("hostNetwork"):
                return pod
        return None

    # -- public API --------------------------------------------------------------------------
    def resolve(self, host, port, namespace=None):
        """Loopback (host, port) that a connection to ``host:port`` from inside ``namespace``
        reaches, or ResolveError."""
        host = (host or "").strip().strip("[]")
        port = int(port)
        if _is_loopback(host):
            return host, port
        if _is_ip(host):
            svc = self._service_by_cluster_ip(host)
            if svc is not None:
                return self._route_service(svc, port, host)
            pod = self._pod_by_ip(host)
            if pod is not None:
                return self._route_pod(pod, port, host)
            raise ResolveError(f"No route to host (connect to {host}:{port})", "no_route", host, port)
        parsed = self.parse_name(host, namespace)
        if parsed is None:
            raise self._unknown(host, port)
        svc_name, ns, pod_hostname = parsed
        svc = self._get("services", ns, svc_name)
        if svc is None:
            raise self._unknown(host, port)
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            target = spec.get("externalName", "")
            if target and target.rstrip(".") != host.rstrip("."):
                return self.resolve(target, port, namespace)
            raise self._unknown(host, port)
        if pod_hostname is not None:
            if spec.get("clusterIP") not in (None, "None"):
                raise self._unknown(host, port)   # per-pod records exist for headless services only
            return self._route_headless(svc, port, host, pod_hostname)
        if spec.get("clusterIP") == "None":
            return self._route_headless(svc, port, host, None)
        return self._route_service(svc, port, host)

    def resolve_url(self, url, namespace=None):
        """Rewrite ``scheme://host:port/path`` to the loopback address it reaches."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        lhost, lport = self.resolve(parts.hostname, port, namespace)
        userinfo = ""
        if parts.username:
            userinfo = parts.username + (":" + parts.password if parts.password else "") + "@"
        return urlunsplit((parts.scheme, f"{userinfo}{lhost}:{lport}", parts.path, parts.query,
                           parts.fragment))

    # -- routing -----------------------------------------------------------------------------
    def _is_api_service(self, svc):
        md = svc["metadata"]
        return md.get("namespace") == "default" and md.get("name") == "kubernetes"

    def _route_service(self, svc, port, host):
        spec = svc.get("spec") or {}
        sport = next((p for p in spec.get("ports") or [] if int(p.get("port", 0)) == port), None)
        if sport is None:
            raise self._refused(host, port)
        if self._is_api_service(svc):
            return self.api_server_address()
        return self._pick_endpoint(svc, sport.get("name"), host, port)

    def _route_headless(self, svc, port, host, pod_hostname):
        if self._is_api_service(svc):
            return self.api_server_address()
        ep = self._get("endpoints", svc["metadata"]["namespace"], svc["metadata"]["name"])
        candidates = []
        for subset in (ep or {}).get("subsets") or []:
            for addr in subset.get("addresses") or []:
                if pod_hostname is not None and addr.get("hostname") != pod_hostname:
                    continue
                ref = addr.get("targetRef") or {}
                listener = self.cluster.runtimes.lookup(ref.get("uid", ""), port)
                if listener:
                    candidates.append(listener)
        if pod_hostname is not None and not candidates and not self._has_hostname(ep, pod_hostname):
            raise self._unknown(host, port)
        return self._choose(candidates, host, port)

    @staticmethod
    def _has_hostname(ep, hostname):
        for subset in (ep or {}).get("subsets") or []:
            for addr in (subset.get("addresses") or []) + (subset.get("notReadyAddresses") or []):
                if addr.get("hostname") == hostname:
                    return True
        return False

    def _pick_endpoint(self, svc, port_name, host, port):
        ep = self._get("endpoints", svc["metadata"]["namespace"], svc["metadata"]["name"])
        candidates = []
        for subset in (ep or {}).get("subsets") or []:
            eport = None
            for p in subset.get("ports") or []:
                if (p.get("name") or None) == (port_name or None) or len(subset.get("ports")) == 1:
                    eport = p
                    break
            if eport is None:
                continue
            for addr in subset.get("addresses") or []:
                ref = addr.get("targetRef") or {}
                listener = self.cluster.runtimes.lookup(ref.get("uid", ""), int(eport["port"]))
                if listener:
                    candidates.append(listener)
        return self._choose(candidates, host, port)

    def _route_pod(self, pod, port, host):
        listener = self.cluster.runtimes.lookup(pod["metadata"].get("uid", ""), port)
        if not listener:
            raise self._refused(host, port)
        return listener

    def _choose(self, candidates, host, port):
        if not candidates:
            raise self._refused(host, port)
        with self._lock:
            i = next(self._rr)
        return candidates[i % len(candidates)]
