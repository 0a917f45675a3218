"""Lifecycle semantics of the API server alone (no control plane): deletion, finalizers,
namespaces, subresources, allocation, admission, logs."""
import json
import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

POD = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}


def test_graceful_pod_deletion(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    core.create_namespaced_pod(ns, POD)
    core.delete_namespaced_pod("p", ns)   # not bound to a node: deleted at once
    with pytest.raises(ApiException):
        core.read_namespaced_pod("p", ns)
    bound = json.loads(json.dumps(POD))
    bound["spec"]["nodeName"] = "node1"
    core.create_namespaced_pod(ns, bound)
    out = core.delete_namespaced_pod("p", ns, grace_period_seconds=20)
    assert out.metadata.deletion_timestamp is not None and out.metadata.deletion_grace_period_seconds == 20
    pod = core.read_namespaced_pod("p", ns)
    assert pod.metadata.deletion_timestamp is not None, "the kubelet has not confirmed yet"
    rows = api_sandbox.kubectl("get", "pods", "-n", ns).stdout.splitlines()
    assert rows[1].split()[2] == "Terminating"
    core.delete_namespaced_pod("p", ns, grace_period_seconds=0)   # what the kubelet (or --force) does
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod("p", ns)
    assert exc.value.status == 404


def test_finalizers_and_propagation(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    core.create_namespaced_config_map(ns, {"metadata": {"name": "f", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("f", ns)
    cm = core.read_namespaced_config_map("f", ns)
    assert cm.metadata.deletion_timestamp and cm.metadata.finalizers == ["example.com/hold"]
    core.patch_namespaced_config_map("f", ns, {"metadata": {"deletionTimestamp": None}})
    assert core.read_namespaced_config_map("f", ns).metadata.deletion_timestamp, "cannot be cleared"
    core.patch_namespaced_config_map("f", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("f", ns)
    assert exc.value.status == 404
    apps = client.AppsV1Api(api_sandbox.client())
    apps.create_namespaced_deployment(ns, {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
            "containers": [{"name": "c", "image": "nginx"}]}}}})
    apps.delete_namespaced_deployment("d", ns, propagation_policy="Foreground")
    d = apps.read_namespaced_deployment("d", ns)
    assert d.metadata.finalizers == ["foregroundDeletion"] and d.metadata.deletion_timestamp
    # an immediate delete answers a Status
    core.create_namespaced_config_map(ns, {"metadata": {"name": "g"}})
    status, body = api_sandbox.request("DELETE", "/api/v1/namespaces/%s/configmaps/g" % ns)
    assert status == 200 and body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "g" and body["details"]["kind"] == "configmaps"


def test_namespace_termination(api_sandbox):
    ns = api_sandbox.new_namespace("term")
    core = client.CoreV1Api(api_sandbox.client())
    sa = core.read_namespaced_service_account("default", ns)
    assert sa.metadata.name == "default"
    assert "ca.crt" in core.read_namespaced_config_map("kube-root-ca.crt", ns).data
    core.delete_namespace(ns)
    n = core.read_namespace(ns)
    assert n.status.phase == "Terminating" and n.spec.finalizers == ["kubernetes"]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "late"}})
    assert exc.value.status == 403 and json.loads(exc.value.body)["message"] == (
        'configmaps "late" is forbidden: unable to create new content in namespace %s because it is being '
        'terminated' % ns)
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("no-such-ns", {"metadata": {"name": "x"}})
    assert exc.value.status == 404 and json.loads(exc.value.body)["message"] == 'namespaces "no-such-ns" not found'
    # what the namespace controller does once the content is gone
    status, _ = api_sandbox.request("PUT", "/api/v1/namespaces/%s/finalize" % ns, {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}, "spec": {"finalizers": []}})
    assert status == 200
    with pytest.raises(ApiException) as exc:
        core.read_namespace(ns)
    assert exc.value.status == 404
    with pytest.raises(ApiException) as exc:
        core.delete_namespace("default")
    assert json.loads(exc.value.body)["message"] == 'namespaces "default" is forbidden: this namespace may not be deleted'


def test_status_and_scale_subresources(api_sandbox, ns):
    apps = client.AppsV1Api(api_sandbox.client())
    apps.create_namespaced_deployment(ns, {"metadata": {"name": "d"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}})
    # status in a main-resource update is ignored; the status subresource changes only status
    d = apps.patch_namespaced_deployment("d", ns, {"status": {"replicas": 7}, "metadata": {"labels": {"x": "y"}}})
    assert not d.status.replicas and d.metadata.labels == {"x": "y"}
    d = apps.patch_namespaced_deployment_status("d", ns, {"status": {"replicas": 2, "readyReplicas": 1},
                                                          "metadata": {"labels": {"ignored": "yes"}}})
    assert d.status.replicas == 2 and d.metadata.labels == {"x": "y"} and d.metadata.generation == 1
    scale = apps.read_namespaced_deployment_scale("d", ns)
    assert scale.spec.replicas == 2 and scale.status.selector == "a=b"
    scale = apps.patch_namespaced_deployment_scale("d", ns, {"spec": {"replicas": 4}})
    assert scale.spec.replicas == 4
    d = apps.read_namespaced_deployment("d", ns)
    assert d.spec.replicas == 4 and d.metadata.generation == 2
    assert "deployment.apps/d scaled" in api_sandbox.kubectl("scale", "deploy/d", "-n", ns, "--replicas=1").stdout
    assert apps.read_namespaced_deployment("d", ns).spec.replicas == 1


def test_service_allocation_and_pod_admission(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "jenkins"}, "spec": {
        "type": "NodePort", "selector": {"app": "jenkins"},
        "ports": [{"name": "http", "port": 8080}, {"name": "agent", "port": 50000, "nodePort": 30500}]}})
    ip = svc.spec.cluster_ip
    assert ip.startswith("10.") and svc.spec.cluster_ips == [ip]
    ports = {p.name: p for p in svc.spec.ports}
    assert 30000 <= ports["http"].node_port <= 32767 and ports["agent"].node_port == 30500
    assert ports["http"].target_port == 8080 and ports["http"].protocol == "TCP"
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_service(ns, {"metadata": {"name": "clash"}, "spec": {
            "type": "NodePort", "ports": [{"port": 1, "nodePort": 30500}]}})
    assert "provided port is already allocated" in json.loads(exc.value.body)["message"]
    # an update that omits clusterIP / nodePort keeps the allocated ones (kubectl replace, apply)
    body = {"metadata": {"name": "jenkins", "resourceVersion": svc.metadata.resource_version},
            "spec": {"type": "NodePort", "selector": {"app": "jenkins"},
                     "ports": [{"name": "http", "port": 8080}, {"name": "agent", "port": 50000}]}}
    again = core.replace_namespaced_service("jenkins", ns, body)
    assert again.spec.cluster_ip == ip
    assert {p.name: p.node_port for p in again.spec.ports} == {n: p.node_port for n, p in ports.items()}
    # pods get the ServiceAccount token volume (ServiceAccount admission)
    pod = core.create_namespaced_pod(ns, POD)
    vol = [v for v in pod.spec.volumes if v.name.startswith("kube-api-access-")][0]
    sources = vol.projected.sources
    assert sources[0].service_account_token.path == "token"
    assert sources[1].config_map.name == "kube-root-ca.crt"
    mount = pod.spec.containers[0].volume_mounts[0]
    assert mount.mount_path == "/var/run/secrets/kubernetes.io/serviceaccount" and mount.read_only
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod(ns, {"metadata": {"name": "q"}, "spec": {
            "serviceAccountName": "ghost", "containers": [{"name": "c", "image": "nginx"}]}})
    assert exc.value.status == 403 and json.loads(exc.value.body)["message"] == (
        'pods "q" is forbidden: error looking up service account %s/ghost: serviceaccount "ghost" not found' % ns)
    # the default StorageClass is filled into PVCs (DefaultStorageClass admission)
    client.StorageV1Api(api_sandbox.client()).create_storage_class({
        "metadata": {"name": "default-%s" % ns, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "sandbox.local/hostpath"})
    try:
        pvc = core.create_namespaced_persistent_volume_claim(ns, {"metadata": {"name": "home"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
        assert pvc.spec.storage_class_name == "default-%s" % ns and pvc.status.phase == "Pending"
    finally:
        client.StorageV1Api(api_sandbox.client()).delete_storage_class("default-%s" % ns)


def test_pod_logs_from_the_kubelet_log_files(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    two = {"metadata": {"name": "logs"}, "spec": {"containers": [
        {"name": "a", "image": "nginx"}, {"name": "b", "image": "nginx"}]}}
    core.create_namespaced_pod(ns, two)
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod_log("logs", ns)
    assert json.loads(exc.value.body)["message"] == \
        "a container name must be specified for pod logs, choose one of: [a b]"
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod_log("logs", ns, container="a")
    assert 'container "a" in pod "logs" is waiting to start' in json.loads(exc.value.body)["message"]
    # the kubelet writes DIR/logs/<ns>_<pod>_<container>.log (architecture.md §3.1)
    path = api_sandbox.state_dir / "logs" / ("%s_logs_a.log" % ns)
    path.write_text("one\ntwo\nthree\n")
    assert core.read_namespaced_pod_log("logs", ns, container="a") == "one\ntwo\nthree\n"
    assert core.read_namespaced_pod_log("logs", ns, container="a", tail_lines=2) == "two\nthree\n"
    out = api_sandbox.kubectl("logs", "logs", "-n", ns, "-c", "a", "--tail=1").stdout
    assert out == "three\n"
    status, body = api_sandbox.request("POST", "/api/v1/namespaces/%s/pods/logs/exec?command=ls" % ns)
    assert status == 400 and body["message"] == "Upgrade request required"


def test_generate_name_and_generation(api_sandbox, ns):
    core = client.CoreV1Api(api_sandbox.client())
    cm = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "gen-"}})
    assert cm.metadata.name.startswith("gen-") and len(cm.metadata.name) == 9
    apps = client.AppsV1Api(api_sandbox.client())
    d = apps.create_namespaced_deployment(ns, {"metadata": {"name": "g"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
            "containers": [{"name": "c", "image": "x:1"}]}}}})
    assert d.metadata.generation == 1 and d.spec.replicas == 1
    d = apps.patch_namespaced_deployment("g", ns, {"metadata": {"annotations": {"a": "b"}}})
    assert d.metadata.generation == 1, "metadata changes do not bump the generation"
    rv = d.metadata.resource_version
    d = apps.patch_namespaced_deployment("g", ns, {"metadata": {"annotations": {"a": "b"}}})
    assert d.metadata.resource_version == rv, "a no-op patch does not write"
    d = apps.patch_namespaced_deployment("g", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "x:2"}]}}}})
    assert d.metadata.generation == 2


def _deployment(name, volume, strategy=None):
    spec = {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}], "volumes": [volume]}}}
    if strategy:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def test_volume_with_two_sources_and_recreate_with_rolling_update_are_refused(api_sandbox, ns):
    """validateVolumeSource and ValidateDeploymentStrategy: a volume switched from emptyDir to a PVC
    by a merge that keeps both is refused (422), as are Recreate + rollingUpdate; $retainKeys (what
    kubectl apply sends for these retainKeys fields) clears the other keys and is accepted."""
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    status, _ = api_sandbox.request("POST", path, _deployment("d", {"name": "home", "emptyDir": {}}))
    assert status == 201
    both = {"spec": {"template": {"spec": {"volumes": [
        {"name": "home", "emptyDir": {}, "persistentVolumeClaim": {"claimName": "c"}}]}}}}
    status, body = api_sandbox.request("PATCH", path + "/d", both, headers={"Content-Type": "application/merge-patch+json"})
    assert status == 422, body
    assert ('spec.template.spec.volumes[0].persistentVolumeClaim: Forbidden: may not specify more than 1 volume type'
            in body["message"]), body
    status, body = api_sandbox.request("PATCH", path + "/d", {"spec": {"strategy": {"type": "Recreate"}}},
                                       headers={"Content-Type": "application/merge-patch+json"})
    assert status == 422 and "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is " \
                             "'Recreate'" in body["message"], body
    retain = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}, "template": {"spec": {"volumes": [
        {"$retainKeys": ["name", "persistentVolumeClaim"], "name": "home", "persistentVolumeClaim": {"claimName": "c"}}]}}}}
    status, body = api_sandbox.request("PATCH", path + "/d", retain,
                                       headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert status == 200, body
    assert body["spec"]["template"]["spec"]["volumes"] == [{"name": "home", "persistentVolumeClaim": {"claimName": "c"}}]
    assert body["spec"]["strategy"] == {"type": "Recreate"}
    # a volume without any source is defaulted to emptyDir (SetDefaults_Volume)
    status, body = api_sandbox.request("POST", path, _deployment("e", {"name": "scratch"}))
    assert status == 201 and body["spec"]["template"]["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {}}], body
