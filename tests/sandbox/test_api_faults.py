"""Fault injection and the request log (admin API and Python objects)."""
import http.client
import json
import ssl
import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sandbox.observe import FaultInjector, RequestLog, redact


def test_injected_500_is_seen_by_the_client_and_logged(api_sandbox, ns):
    api_sandbox.admin("POST", "reset")
    core = client.CoreV1Api(api_sandbox.client())
    core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}})
    fault = api_sandbox.admin("POST", "faults", {"method": "GET", "path_regex": "/configmaps/cm$",
                                                 "status": 500, "count": 1, "message": "etcd is down"})
    assert fault["items"][0]["remaining"] == 1
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("cm", ns)
    assert exc.value.status == 500
    body = json.loads(exc.value.body)
    assert body["kind"] == "Status" and body["reason"] == "InternalError" and body["message"] == "etcd is down"
    assert core.read_namespaced_config_map("cm", ns).metadata.name == "cm", "only the next request fails"
    entries = [e for e in api_sandbox.admin("GET", "requests")["items"] if e["path"].endswith("/configmaps/cm")]
    assert [(e["method"], e["status"]) for e in entries] == [("GET", 500), ("GET", 200)]
    assert entries[0]["fault"]["status"] == 500 and entries[1]["fault"] is None
    assert entries[0]["user"] == "kubernetes-admin" and entries[0]["resource"] == "configmaps"
    assert entries[0]["verb"] == "get" and entries[0]["namespace"] == ns
    counts = api_sandbox.admin("GET", "counts")
    assert counts["by_method"]["GET"] >= 2 and counts["by_method"]["POST"] >= 1
    assert counts["by_resource"]["configmaps"] >= 3 and counts["by_user"]["kubernetes-admin"] >= 3
    assert counts["by_status"]["500"] == 1
    assert api_sandbox.admin("GET", "faults")["items"] == []


def test_dropped_connection_latency_and_reset(api_sandbox, ns):
    api_sandbox.admin("POST", "faults", {"path_regex": "^/api/v1/namespaces/%s/secrets$" % ns, "drop": True})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError, OSError)):
        api_sandbox.request("GET", "/api/v1/namespaces/%s/secrets" % ns)
    assert api_sandbox.request("GET", "/api/v1/namespaces/%s/secrets" % ns)[0] == 200
    api_sandbox.admin("POST", "faults", {"path_regex": "^/api/v1/namespaces/%s$" % ns, "status": None,
                                         "latency": 0.6, "count": 1})
    t0 = time.monotonic()
    assert api_sandbox.request("GET", "/api/v1/namespaces/%s" % ns)[0] == 200
    assert time.monotonic() - t0 >= 0.6
    # a 429 with a count of 2, then success
    api_sandbox.admin("POST", "faults", {"method": "POST", "path_regex": "/configmaps$", "status": 429, "count": 2})
    codes = [api_sandbox.request("POST", "/api/v1/namespaces/%s/configmaps" % ns,
                                 {"metadata": {"name": "x%d" % i}})[0] for i in range(3)]
    assert codes == [429, 429, 201]
    status, body = api_sandbox.request("POST", "/_sandbox/faults", {"bogus": 1})
    assert status == 400
    api_sandbox.admin("POST", "reset")
    assert api_sandbox.admin("GET", "requests")["items"] == []
    assert api_sandbox.admin("GET", "counts")["total"] == 0


def test_mutating_requests_are_visible_and_secrets_redacted(api_sandbox, ns):
    api_sandbox.admin("POST", "reset")
    core = client.CoreV1Api(api_sandbox.client())
    core.read_namespace(ns)
    assert [e for e in api_sandbox.admin("GET", "requests")["items"]
            if e["method"] in ("POST", "PUT", "PATCH", "DELETE")] == []
    core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}})
    posts = [e for e in api_sandbox.admin("GET", "requests")["items"] if e["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["resource"] == "secrets"
    assert "hunter2" not in json.dumps(posts[0]) and "<redacted>" in posts[0]["body"]


def test_python_objects():
    log = RequestLog()
    log.record("jenkins", "GET", "/api/json", 200, user="admin")
    log.record("jenkins", "POST", "/createItem", 302, user="admin", body='{"password": "x"}')
    log.record("k8s", "GET", "/api/v1/pods", 200, user="sa", resource="pods", verb="list")
    assert log.counts("jenkins")["by_method"] == {"GET": 1, "POST": 1}
    assert [e["path"] for e in log.mutating()] == ["/createItem"]
    assert log.entries("jenkins")[1]["body"] == '{"password": "<redacted>"}'
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer <redacted>"
    log.reset()
    assert log.counts()["total"] == 0
    faults = FaultInjector()
    fid = faults.add(component="jenkins", method="post", path_regex="^/job/", count=2, status=503)
    assert faults.match("k8s", "POST", "/job/x") is None
    assert faults.match("jenkins", "GET", "/job/x") is None
    assert faults.match("jenkins", "POST", "/job/x").status == 503
    assert faults.match("jenkins", "POST", "/job/y").id == fid
    assert faults.match("jenkins", "POST", "/job/z") is None and faults.list() == []
    forever = faults.add(count=None, latency=0.1, status=None)
    assert faults.match("any", "GET", "/").latency == 0.1 and faults.list()[0]["id"] == forever


def test_run_time_options_set_read_and_validated(api_sandbox):
    default = api_sandbox.admin("GET", "options")["configmap_sync_delay"]
    try:
        assert api_sandbox.admin("POST", "options", {"configmap_sync_delay": 0.25}) == {"configmap_sync_delay": 0.25}
        assert api_sandbox.admin("GET", "options")["configmap_sync_delay"] == 0.25
        status, body = api_sandbox.request("POST", "/_sandbox/options", {"image_pull_delay": 1})
        assert status == 400 and "unknown options: image_pull_delay" in json.dumps(body), body
        status, body = api_sandbox.request("POST", "/_sandbox/options", {"configmap_sync_delay": -1})
        assert status == 400 and "must not be negative" in json.dumps(body), body
        assert api_sandbox.admin("GET", "options")["configmap_sync_delay"] == 0.25, "a rejected request changes nothing"
    finally:
        api_sandbox.admin("POST", "options", {"configmap_sync_delay": default})
