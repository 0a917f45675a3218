"""Control plane: Services, Endpoints/EndpointSlices, NodePorts and the cluster-DNS resolver."""

import http.client
import json
import socket
import ssl

import pytest

from sandbox.k8s.resolver import ResolveError
from tests.sandbox.conftest_controlplane import cp, deployment  # noqa: F401  (fixture)


def _http_get(host, port, path="/"):
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def _jenkins(cp, ns, replicas=1, svc_type="NodePort"):
    dep = deployment("jenkins", replicas=replicas, ports=[{"name": "http", "containerPort": 8080},
                                                           {"name": "agent", "containerPort": 50000}])
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "jenkins"},
           "spec": {"type": svc_type, "selector": {"app": "jenkins"},
                    "ports": [{"name": "web", "port": 8080, "targetPort": "http"},
                              {"name": "agent", "port": 50000, "targetPort": 50000}]}}
    cp.apply(dep, svc, ns=ns)
    cp.kubectl("rollout", "status", "deployment/jenkins", "-n", ns, "--timeout=30s")
    return cp.get("services", ns, "jenkins")


def test_endpoints_follow_ready_pods(cp):
    ns = cp.namespace()
    svc = _jenkins(cp, ns, replicas=2, svc_type="ClusterIP")
    assert svc["spec"]["clusterIP"].startswith("10.")

    def ready_eps():
        ep = cp.get("endpoints", ns, "jenkins")
        subsets = (ep or {}).get("subsets") or []
        return len(subsets) == 1 and len(subsets[0].get("addresses") or []) == 2 and ep
    ep = cp.wait(ready_eps, what="2 ready endpoints")
    subset = ep["subsets"][0]
    assert sorted((p["name"], p["port"]) for p in subset["ports"]) == [("agent", 50000), ("web", 8080)]
    pods = {p["metadata"]["name"]: p for p in cp.pods(ns, "app=jenkins")}
    for a in subset["addresses"]:
        assert a["targetRef"]["kind"] == "Pod" and a["targetRef"]["name"] in pods
        assert a["ip"] == pods[a["targetRef"]["name"]]["status"]["podIP"]
    slices = cp.store.list("discovery.k8s.io", "v1", "endpointslices", namespace=ns,
                           label_selector="kubernetes.io/service-name=jenkins")[0]
    assert len(slices) == 1 and len(slices[0]["endpoints"]) == 2
    assert all(e["conditions"]["ready"] for e in slices[0]["endpoints"])
    # a pod that stops being ready moves to notReadyAddresses
    name = sorted(pods)[0]
    cp.kubectl("patch", "deployment/jenkins", "-n", ns, "--type=json", "-p", json.dumps([
        {"op": "add", "path": "/spec/template/spec/containers/0/readinessProbe",
         "value": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1}}]))
    cp.kubectl("rollout", "status", "deployment/jenkins", "-n", ns, "--timeout=40s")
    new = sorted(p["metadata"]["name"] for p in cp.pods(ns, "app=jenkins") if not p["metadata"].get("deletionTimestamp"))
    cp.http_status[new[0]] = 503

    def split():
        ep = cp.get("endpoints", ns, "jenkins")
        s = (ep.get("subsets") or [{}])[0]
        return [a["targetRef"]["name"] for a in s.get("notReadyAddresses") or []] == [new[0]] and s
    s = cp.wait(split, what="notReadyAddresses")
    assert [a["targetRef"]["name"] for a in s["addresses"]] == [new[1]]
    assert name not in [a["targetRef"]["name"] for a in s["addresses"]]


def test_resolver_dns_forms_cluster_ip_and_errors(cp):
    ns = cp.namespace()
    svc = _jenkins(cp, ns, svc_type="ClusterIP")
    r = cp.cluster.resolver
    pod = cp.pods(ns, "app=jenkins")[0]
    cp.wait(lambda: (cp.get("endpoints", ns, "jenkins").get("subsets") or [{}])[0].get("addresses"), what="eps")
    target = cp.cluster.runtimes.lookup(pod["metadata"]["uid"], 8080)
    assert target is not None
    for host, kw in ((f"jenkins", {"namespace": ns}), (f"jenkins.{ns}", {}), (f"jenkins.{ns}.svc", {}),
                     (f"jenkins.{ns}.svc.cluster.local", {}), (f"jenkins.{ns}.svc.cluster.local.", {}),
                     (svc["spec"]["clusterIP"], {})):
        assert r.resolve(host, 8080, **kw) == target, host
    # the resolved address really serves the pod
    assert _http_get(*r.resolve(f"jenkins.{ns}.svc.cluster.local", 8080)) == (200, pod["metadata"]["name"])
    assert r.resolve_url(f"http://jenkins.{ns}.svc.cluster.local:8080/login") == \
        f"http://{target[0]}:{target[1]}/login"
    # agent port (numeric targetPort)
    assert r.resolve(f"jenkins.{ns}", 50000) == cp.cluster.runtimes.lookup(pod["metadata"]["uid"], 50000)
    # kubernetes.default -> the API server, which answers over TLS
    host, port = r.resolve("kubernetes.default.svc", 443)
    assert (host, port) == (cp.cluster.address, 6443)
    assert r.resolve("10.96.0.1", 443) == (host, port)
    ctx = ssl.create_default_context(cadata=cp.cluster.ca_pem)
    with socket.create_connection((host, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="kubernetes.default.svc"):
            pass
    # failures as a client sees them
    with pytest.raises(ResolveError) as e:
        r.resolve(f"jenkins.wrong-{ns}.svc.cluster.local", 8080)
    assert e.value.reason == "unknown_host"
    assert str(e.value) == f"jenkins.wrong-{ns}.svc.cluster.local: Name or service not known"
    with pytest.raises(ResolveError) as e:
        r.resolve("jenkins", 8080)           # relative name from the default namespace
    assert e.value.reason == "unknown_host"
    with pytest.raises(ResolveError) as e:
        r.resolve(f"jenkins.{ns}", 9999)     # port the Service does not have
    assert e.value.reason == "connection_refused"
    with pytest.raises(ResolveError):
        r.resolve("updates.jenkins.io", 443)
    # no ready endpoint -> connection refused
    cp.kubectl("scale", "deployment/jenkins", "--replicas=0", "-n", ns)
    cp.wait(lambda: not (cp.get("endpoints", ns, "jenkins").get("subsets")), what="no endpoints")
    with pytest.raises(ResolveError) as e:
        r.resolve(f"jenkins.{ns}.svc.cluster.local", 8080)
    assert e.value.reason == "connection_refused"
    assert "Connection refused" in str(e.value)


def test_nodeport_forwards_to_the_runtime_listener(cp):
    ns = cp.namespace()
    svc = _jenkins(cp, ns, svc_type="NodePort")
    node_port = [p for p in svc["spec"]["ports"] if p["name"] == "web"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    pod = cp.pods(ns, "app=jenkins")[0]
    status, body = cp.wait(lambda: _try_get(cp.cluster.address, node_port), what="NodePort answers")
    assert (status, body) == (200, pod["metadata"]["name"])
    cp.http_status[pod["metadata"]["name"]] = 503
    assert _http_get(cp.cluster.address, node_port)[0] == 503
    # service deleted -> the port is closed
    cp.kubectl("delete", "service", "jenkins", "-n", ns)
    cp.wait(lambda: _refused(cp.cluster.address, node_port), what="listener closed")


def test_headless_service_pod_dns(cp):
    ns = cp.namespace()
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
           "spec": {"serviceName": "web", "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "main", "image": "test/app:1",
                                                          "ports": [{"containerPort": 80}]}]}}}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]}}
    cp.apply(svc, sts, ns=ns)
    cp.kubectl("rollout", "status", "statefulset/web", "-n", ns, "--timeout=30s")
    pod = cp.get("pods", ns, "web-0")
    expect = cp.cluster.runtimes.lookup(pod["metadata"]["uid"], 80)
    r = cp.cluster.resolver
    cp.wait(lambda: (cp.get("endpoints", ns, "web").get("subsets") or [{}])[0].get("addresses"), what="eps")
    assert r.resolve(f"web-0.web.{ns}.svc.cluster.local", 80) == expect
    assert r.resolve(f"web.{ns}", 80) == expect
    with pytest.raises(ResolveError) as e:
        r.resolve(f"web-7.web.{ns}.svc.cluster.local", 80)
    assert e.value.reason == "unknown_host"
    ep = cp.get("endpoints", ns, "web")
    assert ep["subsets"][0]["addresses"][0]["hostname"] == "web-0"


def _try_get(host, port):
    try:
        return _http_get(host, port)
    except OSError:
        return None


def _refused(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return False
    except OSError:
        return True
