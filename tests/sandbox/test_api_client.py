"""The `kubernetes` Python client (typed and dynamic) against the sandbox API server."""
import json
import threading
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException


def _status(exc):
    return json.loads(exc.body)


def _deployment(name, image="jenkins/jenkins:lts", containers=None):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": containers or [
                                  {"name": "main", "image": image, "env": [{"name": "A", "value": "1"}]},
                                  {"name": "side", "image": "busybox:1.36"}]}}}}


def test_typed_crud_and_optimistic_concurrency(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    cm = core.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="app"), data={"k": "v"}))
    assert cm.metadata.uid and cm.metadata.creation_timestamp
    rv = cm.metadata.resource_version
    cm.data["k"] = "v2"
    updated = core.replace_namespaced_config_map("app", ns, cm)
    assert int(updated.metadata.resource_version) > int(rv)
    cm.data["k"] = "v3"   # still carries the old resourceVersion
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("app", ns, cm)
    st = _status(exc.value)
    assert exc.value.status == 409 and st["reason"] == "Conflict"
    assert st["message"] == ('Operation cannot be fulfilled on configmaps "app": the object has been '
                             'modified; please apply your changes to the latest version and try again')
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="app")))
    assert exc.value.status == 409 and _status(exc.value)["message"] == 'configmaps "app" already exists'
    core.delete_namespaced_config_map("app", ns)
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("app", ns)
    assert exc.value.status == 404 and _status(exc.value)["details"] == {"name": "app", "kind": "configmaps"}
    with pytest.raises(ApiException) as exc:
        client.AppsV1Api(api_sandbox.client()).read_namespaced_deployment("nope", ns)
    assert _status(exc.value)["message"] == 'deployments.apps "nope" not found'


def test_every_patch_type(api_sandbox, ns):
    apps = client.AppsV1Api(api_sandbox.client())
    apps.create_namespaced_deployment(ns, _deployment("web"))
    # strategic merge: containers merge by name, env by name
    d = apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "env": [{"name": "B", "value": "2"}]}]}}}})
    cs = {c.name: c for c in d.spec.template.spec.containers}
    assert set(cs) == {"main", "side"}
    assert [(e.name, e.value) for e in cs["main"].env] == [("A", "1"), ("B", "2")]
    assert d.metadata.generation == 2
    # strategic merge $patch: delete on a list item
    d = apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "side", "$patch": "delete"}]}}}})
    assert [c.name for c in d.spec.template.spec.containers] == ["main"]
    # JSON merge patch (RFC 7386): lists are replaced, null deletes
    deps = api_sandbox.dynamic().resources.get(api_version="apps/v1", kind="Deployment")
    resp = deps.patch(namespace=ns, name="web", body={"metadata": {"labels": {"app": None, "tier": "ci"}}},
                      content_type="application/merge-patch+json").to_dict()
    assert resp["metadata"]["labels"] == {"tier": "ci"}
    # JSON patch (RFC 6902), including a failing test op → 422
    d = apps.patch_namespaced_deployment("web", ns, [
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}}])
    assert d.spec.replicas == 3 and d.metadata.annotations == {"x": "y"}
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment("web", ns, [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert exc.value.status == 422
    # server-side apply through the typed client
    dyn = api_sandbox.dynamic()
    deps = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    applied = deps.server_side_apply(namespace=ns, field_manager="ci", body={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 5}}, force_conflicts=True)
    assert applied.spec.replicas == 5
    mf = {m["manager"]: m for m in applied.to_dict()["metadata"]["managedFields"]}
    assert mf["ci"]["operation"] == "Apply" and mf["ci"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    # the JSON patch's manager lost .spec.replicas to the forced apply
    assert "f:replicas" not in json.dumps(mf["OpenAPI-Generator"]["fieldsV1"])


def test_server_side_apply_create_conflict_and_removal(api_sandbox, ns):
    dyn = api_sandbox.dynamic()
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "labels": {"a": "1"}},
            "data": {"x": "1", "y": "2"}}
    created = cms.server_side_apply(namespace=ns, body=body, field_manager="one")
    assert created.to_dict()["data"] == {"x": "1", "y": "2"}
    again = cms.server_side_apply(namespace=ns, body=body, field_manager="one")
    assert again.metadata.resourceVersion == created.metadata.resourceVersion
    # a second manager changing x conflicts
    other = dict(body, data={"x": "changed"})
    with pytest.raises(Exception) as exc:
        cms.server_side_apply(namespace=ns, body=other, field_manager="two")
    assert exc.value.status == 409
    st = json.loads(exc.value.body)
    assert st["message"] == 'Apply failed with 1 conflict: conflict with "one": .data.x'
    assert st["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                        "message": 'conflict with "one"', "field": ".data.x"}]
    # an Update manager is printed with its apiVersion and time, as upstream
    cms.patch(namespace=ns, name="ssa", body={"data": {"z": "3"}},
              content_type="application/merge-patch+json", field_manager="editor")
    with pytest.raises(Exception) as exc:
        cms.server_side_apply(namespace=ns, body=dict(body, data={"z": "4"}), field_manager="two")
    assert json.loads(exc.value.body)["message"].startswith(
        'Apply failed with 1 conflict: conflict with "editor" using v1 at ')
    # manager "one" stops applying y and the label: both disappear
    cms.server_side_apply(namespace=ns, field_manager="one", body={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"x": "1"}})
    got = cms.get(namespace=ns, name="ssa")
    assert got.to_dict()["data"] == {"x": "1", "z": "3"}
    assert not got.metadata.labels


def test_dynamic_client_with_a_crd(api_sandbox, ns):
    dyn = api_sandbox.dynamic()
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body={
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]}})
    crd = crds.get(name="widgets.example.com")
    assert {c["type"]: c["status"] for c in crd.status.conditions}["Established"] == "True"
    dyn = api_sandbox.dynamic()   # fresh discovery
    widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
    w = widgets.create(namespace=ns, body={"apiVersion": "example.com/v1", "kind": "Widget",
                                          "metadata": {"name": "w1"}, "spec": {"size": 1},
                                          "status": {"ignored": True}})
    assert w.metadata.generation == 1 and not w.get("status")
    w = widgets.patch(namespace=ns, name="w1", body={"spec": {"size": 2}},
                      content_type="application/merge-patch+json")
    assert w.spec.size == 2 and w.metadata.generation == 2
    with pytest.raises(Exception) as exc:
        widgets.patch(namespace=ns, name="w1", body={"spec": {"size": 3}},
                      content_type="application/strategic-merge-patch+json")
    assert exc.value.status == 415
    out = api_sandbox.kubectl("get", "wd", "-n", ns).stdout.split()
    assert out[:3] == ["NAME", "AGE", "w1"]
    assert [i.metadata.name for i in widgets.get(namespace=ns).items] == ["w1"]
    crds.delete(name="widgets.example.com")
    status, _ = api_sandbox.request("GET", "/apis/example.com/v1/namespaces/%s/widgets" % ns)
    assert status == 404


def test_watch_selectors_timeout_resume_and_gone(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    rv0 = core.list_namespaced_config_map(ns).metadata.resource_version

    def make():
        time.sleep(0.3)
        for name, tier in (("w1", "web"), ("w2", "db"), ("w3", "web")):
            core.create_namespaced_config_map(ns, client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=name, labels={"tier": tier})))
        core.patch_namespaced_config_map("w1", ns, {"data": {"k": "v"}})
        core.delete_namespaced_config_map("w3", ns)
    t = threading.Thread(target=make)
    t.start()
    seen = []
    started = time.monotonic()
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, ns, label_selector="tier=web",
                       resource_version=rv0, timeout_seconds=3):
        seen.append((ev["type"], ev["object"].metadata.name))
        last_rv = ev["object"].metadata.resource_version
    t.join()
    assert 2.5 < time.monotonic() - started < 15, "timeoutSeconds ends the stream"
    assert seen == [("ADDED", "w1"), ("ADDED", "w3"), ("MODIFIED", "w1"), ("DELETED", "w3")]
    # resume from a resourceVersion in the middle: only the later events
    mid = None
    for ev in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv0,
                                   timeout_seconds=1):
        if ev["object"].metadata.name == "w2":
            mid = ev["object"].metadata.resource_version
    later = [(ev["type"], ev["object"].metadata.name) for ev in watch.Watch().stream(
        core.list_namespaced_config_map, ns, resource_version=mid, timeout_seconds=1)]
    assert later == [("ADDED", "w3"), ("MODIFIED", "w1"), ("DELETED", "w3")]
    # field selector on a watch
    named = [(ev["type"], ev["object"].metadata.name) for ev in watch.Watch().stream(
        core.list_namespaced_config_map, ns, resource_version=rv0, field_selector="metadata.name=w2",
        timeout_seconds=1)]
    assert named == [("ADDED", "w2")]
    # after a compaction the old resourceVersion is gone: 410 as an ERROR event
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w4")))
    api_sandbox.admin("POST", "compact")
    with pytest.raises(ApiException) as exc:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=last_rv,
                                      timeout_seconds=2):
            pass
    assert exc.value.status == 410
    assert "too old resource version" in exc.value.reason


def test_watch_bookmarks_raw(api_sandbox, ns):
    rv = api_sandbox.request("GET", "/api/v1/namespaces/%s/configmaps" % ns)[1]["metadata"]["resourceVersion"]
    api_sandbox.request("POST", "/api/v1/namespaces/%s/configmaps" % ns, {"metadata": {"name": "ev"}})
    api_sandbox.request("DELETE", "/api/v1/namespaces/%s/configmaps/ev" % ns)
    status, body = api_sandbox.request(
        "GET", "/api/v1/namespaces/%s/configmaps?watch=1&resourceVersion=%s&timeoutSeconds=1" % (ns, rv))
    events = [json.loads(x) for x in body.strip().splitlines()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "ev"), ("DELETED", "ev")]
    for e in events:   # unstructured decoders (kubectl's informers) need kind/apiVersion
        assert (e["object"]["kind"], e["object"]["apiVersion"]) == ("ConfigMap", "v1")
    status, body = api_sandbox.request(
        "GET", "/api/v1/namespaces/%s/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=2" % ns)
    assert status == 200
    lines = [json.loads(x) for x in body.strip().splitlines()] if isinstance(body, str) else [body]
    types = [e["type"] for e in lines]
    assert types[0] == "ADDED"   # kube-root-ca.crt: no resourceVersion → current state first
    assert "BOOKMARK" in types
    bm = [e for e in lines if e["type"] == "BOOKMARK"][0]["object"]
    assert bm["kind"] == "ConfigMap" and int(bm["metadata"]["resourceVersion"]) > 0


def test_validation_messages(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    apps = client.AppsV1Api(api_sandbox.client())
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_service(ns, {"metadata": {"name": "1bad"}, "spec": {"ports": [{"port": 80}]}})
    assert _status(exc.value)["message"] == (
        'Service "1bad" is invalid: metadata.name: Invalid value: "1bad": a DNS-1035 label must consist of '
        "lower case alphanumeric characters or '-', start with an alphabetic character, and end with an "
        "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
        "'[a-z]([-a-z0-9]*[a-z0-9])?')")
    with pytest.raises(ApiException) as exc:
        core.create_namespace({"metadata": {"name": "a.b"}})
    assert "a lowercase RFC 1123 label must consist of" in _status(exc.value)["message"]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}})
    st = _status(exc.value)
    assert exc.value.status == 422 and st["message"] == \
        'Pod "p" is invalid: spec.containers[0].image: Required value'
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}})
    assert svc.spec.cluster_ip.startswith("10.") and svc.spec.type == "ClusterIP"
    svc.spec.cluster_ip = "10.96.200.200"
    svc.spec.cluster_ips = ["10.96.200.200"]
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_service("svc", ns, svc)
    assert 'spec.clusterIPs[0]: Invalid value: ["10.96.200.200"]: may not change once set' in \
        _status(exc.value)["message"]
    apps.create_namespaced_deployment(ns, _deployment("d"))
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment("d", ns, {"spec": {"selector": {"matchLabels": {"app": "x"}},
                                                            "template": {"metadata": {"labels": {"app": "x"}}}}})
    assert "spec.selector: Invalid value" in _status(exc.value)["message"]
    assert "field is immutable" in _status(exc.value)["message"]
    apps.create_namespaced_stateful_set(ns, {
        "metadata": {"name": "s"}, "spec": {"serviceName": "s", "selector": {"matchLabels": {"a": "b"}},
                                            "template": {"metadata": {"labels": {"a": "b"}},
                                                         "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}})
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_stateful_set("s", ns, {"spec": {"serviceName": "other"}})
    assert "updates to statefulset spec for fields other than 'replicas'" in _status(exc.value)["message"]
    core.create_namespaced_config_map(ns, {"metadata": {"name": "frozen"}, "data": {"a": "b"}, "immutable": True})
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map("frozen", ns, {"data": {"a": "c"}})
    assert 'data: Forbidden: field is immutable when `immutable` is set' in _status(exc.value)["message"]
    core.create_namespaced_persistent_volume_claim(ns, {
        "metadata": {"name": "pvc"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                              "resources": {"requests": {"storage": "1Gi"}}}})
    pvc = core.read_namespaced_persistent_volume_claim("pvc", ns)
    assert pvc.status.phase == "Pending"
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_persistent_volume_claim("pvc", ns, {"spec": {"accessModes": ["ReadWriteMany"]}})
    assert "spec: Forbidden: spec is immutable after creation" in _status(exc.value)["message"]
    # 415 for an unknown body type
    status, body = api_sandbox.request("POST", "/api/v1/namespaces/%s/configmaps" % ns, body="x: y",
                                       headers={"Content-Type": "text/plain"})
    assert status == 415 and body["reason"] == "UnsupportedMediaType"
    status, body = api_sandbox.request("PATCH", "/api/v1/namespaces/%s/configmaps/frozen" % ns, body="{}",
                                       headers={"Content-Type": "application/json"})
    assert status == 415
    # 405 for a verb a resource does not have
    status, body = api_sandbox.request("DELETE", "/api/v1/namespaces")
    assert status == 405 and body["reason"] == "MethodNotAllowed"


def test_dry_run_writes_nothing(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    rv_before = core.list_namespaced_config_map(ns).metadata.resource_version
    out = core.create_namespaced_config_map(ns, {"metadata": {"name": "dry"}, "data": {"a": "b"}}, dry_run="All")
    assert out.metadata.name == "dry" and out.metadata.uid
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("dry", ns)
    assert exc.value.status == 404
    core.create_namespaced_config_map(ns, {"metadata": {"name": "real"}, "data": {"a": "b"}})
    core.patch_namespaced_config_map("real", ns, {"data": {"a": "z"}}, dry_run="All")
    core.delete_namespaced_config_map("real", ns, dry_run="All")
    assert core.read_namespaced_config_map("real", ns).data == {"a": "b"}
    assert int(core.list_namespaced_config_map(ns).metadata.resource_version) == int(rv_before) + 1


def test_list_paging_and_field_selectors(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    for i in range(5):
        core.create_namespaced_config_map(ns, {"metadata": {"name": "p%d" % i}})
    page = core.list_namespaced_config_map(ns, limit=2)
    names = [i.metadata.name for i in page.items]
    while page.metadata._continue:
        page = core.list_namespaced_config_map(ns, limit=2, _continue=page.metadata._continue)
        names += [i.metadata.name for i in page.items]
    assert names == ["kube-root-ca.crt", "p0", "p1", "p2", "p3", "p4"]
    assert [i.metadata.name for i in core.list_namespaced_config_map(
        ns, field_selector="metadata.name=p3").items] == ["p3"]
    assert len(core.list_namespaced_config_map(ns, field_selector="metadata.name!=p3").items) == 5
    core.create_namespaced_pod(ns, {"metadata": {"name": "bound"}, "spec": {
        "nodeName": "node1", "containers": [{"name": "c", "image": "nginx"}]}})
    core.create_namespaced_pod(ns, {"metadata": {"name": "free"}, "spec": {
        "containers": [{"name": "c", "image": "nginx"}]}})
    assert [p.metadata.name for p in core.list_namespaced_pod(
        ns, field_selector="spec.nodeName=node1").items] == ["bound"]
    assert [p.metadata.name for p in core.list_namespaced_pod(
        ns, field_selector="spec.nodeName=,status.phase=Pending").items] == ["free"]
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod(ns, field_selector="spec.bogus=1")
    assert exc.value.status == 400 and "field label not supported: spec.bogus" in _status(exc.value)["message"]


def test_table_output_negotiation(api_sandbox, ns):
    client.CoreV1Api(api_sandbox.client()).create_namespaced_pod(ns, {"metadata": {"name": "t"}, "spec": {
        "containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "nginx"}]}})
    status, table = api_sandbox.request("GET", "/api/v1/namespaces/%s/pods" % ns, headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    assert status == 200 and table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == \
        ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["cells"][:4] == ["t", "0/2", "Pending", 0]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_typed_decoding_like_go_structs(api_sandbox, ns):
    """Wrong JSON types are 400s and unknown fields are dropped with a warning, as upstream's
    decoder does (a templated `replicas: "2"` or an env `value: 1` fail on a real cluster too)."""
    dep = _deployment("typed")
    dep["metadata"]["namespace"] = ns
    bad = json.loads(json.dumps(dep))
    bad["spec"]["replicas"] = "2"
    status, body = api_sandbox.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, bad)
    assert status == 400 and body["reason"] == "BadRequest"
    assert body["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
                               'unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32')
    bad = json.loads(json.dumps(dep))
    bad["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = 1
    status, body = api_sandbox.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, bad)
    assert status == 400 and body["message"].endswith(
        "cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string")
    typo = json.loads(json.dumps(dep))
    typo["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    typo["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": 1, "memory": "1Gi"}}
    ctx = __import__("ssl").create_default_context(cafile=api_sandbox.ca_file)
    import http.client
    conn = http.client.HTTPSConnection(api_sandbox.address, 6443, context=ctx, timeout=10)
    conn.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, body=json.dumps(typo),
                 headers={"Authorization": "Bearer " + api_sandbox.admin_token,
                          "Content-Type": "application/json"})
    resp = conn.getresponse()
    created = json.loads(resp.read())
    assert resp.status == 201
    assert resp.getheader("Warning") == \
        '299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolicyy\\""'
    c = created["spec"]["template"]["spec"]["containers"][0]
    assert "imagePullPolicyy" not in c and c["resources"]["requests"]["cpu"] == 1
    status, body = api_sandbox.request(
        "POST", "/apis/apps/v1/namespaces/%s/deployments?fieldValidation=Strict" % ns,
        dict(typo, metadata={"name": "strict"}))
    assert status == 400 and body["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field '
        '"spec.template.spec.containers[0].imagePullPolicyy"')
    # server-side apply rejects both
    cms = api_sandbox.dynamic().resources.get(api_version="v1", kind="ConfigMap")
    with pytest.raises(Exception) as exc:
        cms.server_side_apply(namespace=ns, field_manager="t", body={
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-typo"}, "dataa": {"a": "b"}})
    assert json.loads(exc.value.body)["message"] == (
        "failed to create typed patch object (%s/ssa-typo; /v1, Kind=ConfigMap): .dataa: field not declared "
        "in schema" % ns)
    # kubectl --validate=false sends fieldValidation=Ignore: dropped silently
    r = api_sandbox.kubectl("apply", "--validate=false", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "warned", "namespace": ns},
         "data": {"a": "b"}, "dataa": {"x": "y"}}))
    assert r.stderr == ""
    got = json.loads(api_sandbox.kubectl("get", "cm", "warned", "-n", ns, "-o", "json").stdout)
    assert got["data"] == {"a": "b"} and "dataa" not in got
