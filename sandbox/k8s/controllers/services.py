"""Services: the ``kubernetes`` Service, Endpoints / EndpointSlices from selectors, NodePorts.

* Endpoints: pkg/controller/endpoint/endpoints_controller.go syncService: pods matching the
  selector that have a podIP; ready pods -> ``addresses``, others -> ``notReadyAddresses`` (unless
  publishNotReadyAddresses); terminating pods are left out; targetPort names are looked up in
  each pod's container ports (podutil.FindPort); ``hostname`` when pod.spec.hostname is set and
  pod.spec.subdomain equals the Service name. Services without a selector are left alone.
* EndpointSlices: pkg/controller/endpointslice (managed-by endpointslice-controller.k8s.io,
  label kubernetes.io/service-name, conditions ready/serving/terminating, owned by the Service).
* NodePorts: a real TCP listener on the sandbox address (and every distinct node address) per
  nodePort, forwarding each connection to a READY endpoint's runtime listener via the resolver
  (what kube-proxy's NodePort rules do). No ready endpoint: the connection is closed at once
  (kube-proxy would REJECT it).
* ``default/kubernetes``: clusterIP 10.96.0.1, port 443 -> the API server
  (pkg/controlplane/controller/kubernetesservice/controller.go).
"""

import logging
import socket
import threading
from urllib.parse import urlsplit

from sandbox.k8s.controllers import Controller
from sandbox.k8s.controllers.util import (get_path, is_terminating, map_selector_matches, now_iso,
                                          pod_is_ready, rand_suffix)

log = logging.getLogger("sandbox.k8s.services")

MANAGED_BY = "endpointslice-controller.k8s.io"


def find_port(pod, target):
    """podutil.FindPort: a number is used as is; a name is looked up in the containers' ports."""
    if target is None:
        return None
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for c in get_path(pod, "spec", "containers", default=[]) or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p.get("containerPort"))
    return None


class NodePortListener:
    """Accepts on (host, nodePort) and pipes each connection to the service's ready endpoint."""

    def __init__(self, cluster, host, node_port, namespace, service, port):
        self.cluster = cluster
        self.host = host
        self.node_port = node_port
        self.namespace = namespace
        self.service = service
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, node_port))
        self.sock.listen(64)
        self.sock.settimeout(0.5)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True,
                                       name=f"nodeport-{host}:{node_port}")
        self.thread.start()

    def key(self):
        return (self.namespace, self.service, self.port, self.node_port)

    def close(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            threading.Thread(target=self._forward, args=(conn,), daemon=True).start()

    def _forward(self, conn):
        try:
            target = self.cluster.resolver.resolve(
                f"{self.service}.{self.namespace}.svc.cluster.local", self.port)
            upstream = socket.create_connection(target, timeout=5)
            upstream.settimeout(None)
        except Exception:
            try:
                conn.close()
            except OSError:
                pass
            return
        conn.settimeout(None)

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        t = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
        t.start()
        pump(conn, upstream)
        t.join()
        for s in (conn, upstream):
            try:
                s.close()
            except OSError:
                pass


class ServiceController(Controller):
    name = "endpoint-controller"
    watches = ("services", "pods", "endpoints")
    resync = 1.0

    def __init__(self, cluster, recorder):
        super().__init__(cluster, recorder)
        self.listeners = {}        # (host, nodePort) -> NodePortListener
        self._managed_eps = set()  # (ns, name) of Endpoints this controller wrote
        self._api_service_ok = False
        self._bind_errors = {}

    # -- the kubernetes service ---------------------------------------------------------------
    def ensure_api_service(self):
        parts = urlsplit(getattr(self.cluster, "api_url", "") or "https://127.0.0.1:6443")
        host, port = parts.hostname, parts.port or 443
        try:
            self.store.get("", "v1", "services", "default", "kubernetes")
        except Exception as exc:
            if getattr(exc, "code", None) != 404:
                raise
            svc = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "kubernetes", "namespace": "default",
                                "labels": {"component": "apiserver", "provider": "kubernetes"}},
                   "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                            "sessionAffinity": "None", "ipFamilies": ["IPv4"],
                            "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
                            "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                       "targetPort": port}]}}
            try:
                self.store.create("", "v1", "services", svc)
            except Exception as exc2:
                if getattr(exc2, "code", None) != 409:
                    raise
        subsets = [{"addresses": [{"ip": host}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]
        self._write_endpoints("default", "kubernetes", {"endpointslice.kubernetes.io/skip-mirror": "true"},
                              subsets, managed=False)
        self._api_service_ok = True

    # -- sync --------------------------------------------------------------------------------
    def sync(self):
        self.ensure_api_service()
        services, _ = self.store.list("", "v1", "services")
        pods, _ = self.store.list("", "v1", "pods")
        by_ns = {}
        for p in pods:
            by_ns.setdefault(p["metadata"].get("namespace"), []).append(p)
        live = set()
        wanted_listeners = {}
        for svc in services:
            ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
            live.add((ns, name))
            spec = svc.get("spec") or {}
            if spec.get("type") in ("NodePort", "LoadBalancer"):
                for p in spec.get("ports") or []:
                    if p.get("nodePort") and (p.get("protocol") or "TCP") == "TCP":
                        for host in self._listen_hosts():
                            wanted_listeners[(host, int(p["nodePort"]))] = (ns, name, int(p["port"]))
            if (ns, name) == ("default", "kubernetes"):
                continue
            if not spec.get("selector") or spec.get("type") == "ExternalName":
                continue
            try:
                self.sync_endpoints(svc, by_ns.get(ns, []))
            except Exception:
                log.exception("endpoints for %s/%s", ns, name)
        for ns, name in list(self._managed_eps):
            if (ns, name) not in live:
                self._delete("", "v1", "endpoints", ns, name)
                self._managed_eps.discard((ns, name))
        self.sync_listeners(wanted_listeners)

    def _listen_hosts(self):
        hosts = []
        for h in [getattr(self.cluster, "address", None)] + [n.address for n in self.cluster.nodes]:
            if h and h not in hosts:
                hosts.append(h)
        return hosts

    def sync_endpoints(self, svc, pods):
        spec = svc["spec"]
        selector = spec["selector"]
        publish = bool(spec.get("publishNotReadyAddresses"))
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        groups = {}   # tuple(ports) -> {"addresses": [], "notReadyAddresses": []}
        slice_eps = []
        for pod in pods:
            if not map_selector_matches(selector, get_path(pod, "metadata", "labels", default={})):
                continue
            ip = get_path(pod, "status", "podIP")
            if not ip or get_path(pod, "status", "phase") in ("Succeeded", "Failed"):
                continue
            terminating = is_terminating(pod)
            if terminating and not publish:
                ready = False
            else:
                ready = pod_is_ready(pod) or publish
            addr = {"ip": ip, "nodeName": get_path(pod, "spec", "nodeName"),
                    "targetRef": {"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"],
                                  "uid": pod["metadata"]["uid"]}}
            hostname = get_path(pod, "spec", "hostname")
            if hostname and get_path(pod, "spec", "subdomain") == name:
                addr["hostname"] = hostname
            ports = []
            for sp in spec.get("ports") or []:
                target = sp.get("targetPort", sp.get("port"))
                num = find_port(pod, target)
                if num is None:
                    continue
                entry = {"port": num, "protocol": sp.get("protocol") or "TCP"}
                if sp.get("name"):
                    entry["name"] = sp["name"]
                ports.append(entry)
            if not ports and spec.get("ports"):
                continue
            key = tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))
            g = groups.setdefault(key, {"ports": ports, "addresses": [], "notReadyAddresses": []})
            if terminating and not publish:
                pass   # terminating pods are dropped from Endpoints
            elif ready:
                g["addresses"].append(addr)
            else:
                g["notReadyAddresses"].append(addr)
            slice_eps.append((ports, {
                "addresses": [ip],
                "conditions": {"ready": bool(ready and not terminating),
                               "serving": bool(pod_is_ready(pod)), "terminating": terminating},
                "nodeName": addr["nodeName"],
                "targetRef": addr["targetRef"],
                **({"hostname": addr["hostname"]} if "hostname" in addr else {}),
            }))
        subsets = []
        for key in sorted(groups):
            g = groups[key]
            subset = {}
            if g["addresses"]:
                subset["addresses"] = sorted(g["addresses"], key=lambda a: a["ip"])
            if g["notReadyAddresses"]:
                subset["notReadyAddresses"] = sorted(g["notReadyAddresses"], key=lambda a: a["ip"])
            if not subset:
                continue
            subset["ports"] = g["ports"]
            subsets.append(subset)
        labels = dict(get_path(svc, "metadata", "labels", default={}) or {})
        self._write_endpoints(ns, name, labels, subsets, managed=True)
        self._write_slice(svc, slice_eps)

    def _write_endpoints(self, ns, name, labels, subsets, managed):
        try:
            cur = self.store.get("", "v1", "endpoints", ns, name)
        except Exception:
            cur = None
        if managed:
            self._managed_eps.add((ns, name))
        if cur is None:
            obj = {"apiVersion": "v1", "kind": "Endpoints",
                   "metadata": {"name": name, "namespace": ns, "labels": labels,
                                "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": now_iso()}}}
            if subsets:
                obj["subsets"] = subsets
            try:
                self.store.create("", "v1", "endpoints", obj)
            except Exception as exc:
                if getattr(exc, "code", None) not in (409, 403, 404):
                    raise
            return
        if (cur.get("subsets") or []) == subsets and (cur["metadata"].get("labels") or {}) == labels:
            return
        cur["metadata"]["labels"] = labels
        cur["metadata"].setdefault("annotations", {})["endpoints.kubernetes.io/last-change-trigger-time"] = now_iso()
        if subsets:
            cur["subsets"] = subsets
        else:
            cur.pop("subsets", None)
        cur["metadata"].pop("resourceVersion", None)
        self.store.update("", "v1", "endpoints", cur)

    def _write_slice(self, svc, slice_eps):
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        items, _ = self.store.list("discovery.k8s.io", "v1", "endpointslices", namespace=ns,
                                   label_selector=f"kubernetes.io/service-name={name}")
        items = [i for i in items if get_path(i, "metadata", "labels", "endpointslice.kubernetes.io/managed-by") == MANAGED_BY]
        ports = slice_eps[0][0] if slice_eps else []
        endpoints = [e for _, e in slice_eps]
        endpoints.sort(key=lambda e: e["addresses"][0])
        body = {
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [dict(p) for p in ports] if ports else [],
        }
        labels = dict(get_path(svc, "metadata", "labels", default={}) or {})
        labels.update({"kubernetes.io/service-name": name,
                       "endpointslice.kubernetes.io/managed-by": MANAGED_BY})
        if items:
            cur = items[0]
            if {k: cur.get(k) for k in body} == body and cur["metadata"].get("labels") == labels:
                return
            cur.update(body)
            cur["metadata"]["labels"] = labels
            cur["metadata"].pop("resourceVersion", None)
            self.store.update("discovery.k8s.io", "v1", "endpointslices", cur)
            return
        obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": f"{name}-{rand_suffix()}", "namespace": ns, "labels": labels,
                            "generateName": f"{name}-",
                            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                                 "uid": svc["metadata"]["uid"], "controller": True,
                                                 "blockOwnerDeletion": True}]},
               **body}
        try:
            self.store.create("discovery.k8s.io", "v1", "endpointslices", obj)
        except Exception as exc:
            if getattr(exc, "code", None) not in (409, 403, 404):
                raise

    def _delete(self, group, version, plural, ns, name):
        try:
            self.store.delete(group, version, plural, ns, name)
        except Exception as exc:
            if getattr(exc, "code", None) != 404:
                log.warning("delete %s %s/%s: %s", plural, ns, name, exc)

    # -- node ports --------------------------------------------------------------------------
    def sync_listeners(self, wanted):
        for key in list(self.listeners):
            lst = self.listeners[key]
            want = wanted.get(key)
            if want is None or (lst.namespace, lst.service, lst.port) != want:
                lst.close()
                del self.listeners[key]
        for key, (ns, name, port) in wanted.items():
            if key in self.listeners:
                continue
            host, node_port = key
            try:
                self.listeners[key] = NodePortListener(self.cluster, host, node_port, ns, name, port)
                self._bind_errors.pop(key, None)
            except OSError as exc:
                if key not in self._bind_errors:
                    log.error("cannot listen on %s:%s for service %s/%s: %s", host, node_port, ns, name, exc)
                self._bind_errors[key] = str(exc)

    def shutdown(self):
        for lst in self.listeners.values():
            lst.close()
        self.listeners.clear()
