"""Control plane: workloads, scheduling, GC and namespace lifecycle, observed with kubectl and the store."""

import json
import time

from tests.sandbox.conftest_controlplane import cp, deployment  # noqa: F401  (fixture)


def _rs_of(cp, ns, deploy_name):
    items = cp.store.list("apps", "v1", "replicasets", namespace=ns)[0]
    return [r for r in items if any(o.get("name") == deploy_name for o in r["metadata"].get("ownerReferences") or [])]


def _kubelet_volume(cp, ns, pod_name, volume):
    pod = cp.get("pods", ns, pod_name)
    for k in cp.cluster.control_plane.kubelets:
        rec = k.pods.get(pod["metadata"]["uid"])
        if rec is not None and rec.volumes:
            return rec.volumes[volume].path
    raise AssertionError(f"no kubelet volume {volume} for {pod_name}")


def test_rollout_status_wait_ready_and_logs(cp):
    ns = cp.namespace()
    cp.apply(deployment("web", replicas=2), ns=ns)
    out = cp.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s").stdout
    assert 'deployment "web" successfully rolled out' in out
    dep = cp.get("deployments", ns, "web", group="apps")
    st = dep["status"]
    assert st["observedGeneration"] == dep["metadata"]["generation"]
    assert st["updatedReplicas"] == st["availableReplicas"] == st["readyReplicas"] == 2
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Available"]["status"] == "True"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    pods = cp.pods(ns, "app=web")
    assert len(pods) == 2
    # scheduled on workers only (master carries the control-plane NoSchedule taint)
    assert {p["spec"]["nodeName"] for p in pods} <= {"node1", "node2"}
    rs = _rs_of(cp, ns, "web")[0]
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{h}"
    assert all(p["metadata"]["name"].startswith(f"web-{h}-") for p in pods)
    assert all(p["status"]["podIP"].startswith("10.244.") for p in pods)
    name = pods[0]["metadata"]["name"]
    cp.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "-n", ns, "--timeout=20s")
    logs = cp.kubectl("logs", name, "-n", ns).stdout
    assert f"hello from {name}/main" in logs
    reasons = [e["reason"] for e in cp.events(ns, name)]
    for r in ("Scheduled", "Pulling", "Pulled", "Created", "Started"):
        assert r in reasons
    assert any(e["reason"] == "SuccessfulCreate" and e["message"] == f"Created pod: {name}"
               for e in cp.events(ns, rs["metadata"]["name"]))


def test_rolling_update_replaces_pods_and_bumps_revision(cp):
    ns = cp.namespace()
    cp.apply(deployment("roll", replicas=2), ns=ns)
    cp.kubectl("rollout", "status", "deployment/roll", "-n", ns, "--timeout=30s")
    old = {p["metadata"]["name"] for p in cp.pods(ns, "app=roll")}
    # (a JSON patch: `kubectl set image` sends a strategic merge patch, which the API server
    # engineer's patch module currently fails on -- reported in the control-plane notes)
    cp.kubectl("patch", "deployment/roll", "-n", ns, "--type=json", "-p",
               '[{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "test/app:2"}]')
    cp.kubectl("rollout", "status", "deployment/roll", "-n", ns, "--timeout=40s")
    cp.wait(lambda: len([p for p in cp.pods(ns, "app=roll") if not p["metadata"].get("deletionTimestamp")]) == 2
            and not any(p["metadata"].get("deletionTimestamp") for p in cp.pods(ns, "app=roll")),
            what="old pods gone")
    new = cp.pods(ns, "app=roll")
    assert not ({p["metadata"]["name"] for p in new} & old)
    assert all(p["spec"]["containers"][0]["image"] == "test/app:2" for p in new)
    dep = cp.get("deployments", ns, "roll", group="apps")
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    rss = _rs_of(cp, ns, "roll")
    assert sorted(r["spec"]["replicas"] for r in rss) == [0, 2]


def test_unschedulable_node_selector_gives_failed_scheduling(cp):
    ns = cp.namespace()
    cp.apply(deployment("nowhere", node_selector={"disk": "ssd"}), ns=ns)
    pod = cp.wait(lambda: (cp.pods(ns, "app=nowhere") or [None])[0], what="pod")
    name = pod["metadata"]["name"]
    ev = cp.wait(lambda: [e for e in cp.events(ns, name) if e["reason"] == "FailedScheduling"], what="event")
    assert ev[0]["message"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling..")
    pod = cp.get("pods", ns, name)
    assert pod["status"]["phase"] == "Pending"
    assert not pod["spec"].get("nodeName")
    cond = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"][0]
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    # labelling a node makes it schedulable there
    cp.kubectl("label", "node", "node2", "disk=ssd")
    try:
        cp.wait(lambda: (cp.get("pods", ns, name) or {}).get("spec", {}).get("nodeName") == "node2", what="bound")
    finally:
        cp.kubectl("label", "node", "node2", "disk-")


def test_binding_sets_node_and_scheduled_condition_in_one_write(cp, tmp_path):
    """pods/binding is one atomic write of spec.nodeName and PodScheduled=True, as upstream
    (BindingREST.setPodNodeAndMetadata). A scheduler that wrote them as two updates lost the
    race with the kubelet's first status write: the pod ran, but its Scheduled event was never
    recorded (seen as a flaky test_rollout_status_wait_ready_and_logs)."""
    ns = cp.namespace()
    # a pod for a scheduler that does not exist, so only this test binds it
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "manual"},
           "spec": {"schedulerName": "by-hand", "containers": [{"name": "main", "image": "test/app:1"}]}}
    cp.apply(pod, ns=ns)
    watch = cp.store.watch("", "v1", "pods", namespace=ns,
                           resource_version=cp.get("pods", ns, "manual")["metadata"]["resourceVersion"])
    try:
        binding = tmp_path / "binding.json"
        binding.write_text(json.dumps({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "manual"},
                                       "target": {"apiVersion": "v1", "kind": "Node", "name": "node1"}}))
        cp.kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/manual/binding", "-f", str(binding))
        etype, first = watch.next(timeout=10)
    finally:
        watch.stop()
    assert etype == "MODIFIED"
    assert first["spec"]["nodeName"] == "node1"
    cond = [c for c in first["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert [c["status"] for c in cond] == ["True"]
    # a second binding is refused: the pod is already assigned
    again = cp.kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/manual/binding", "-f", str(binding),
                       check=False)
    assert again.returncode != 0
    assert 'is already assigned to node "node1"' in again.stderr


def test_delete_deployment_garbage_collects_replicasets_and_pods(cp):
    ns = cp.namespace()
    cp.apply(deployment("gc", replicas=2), ns=ns)
    cp.kubectl("rollout", "status", "deployment/gc", "-n", ns, "--timeout=30s")
    assert _rs_of(cp, ns, "gc")
    cp.delete("deployment", "gc", "-n", ns)
    cp.wait(lambda: not cp.store.list("apps", "v1", "replicasets", namespace=ns)[0] and not cp.pods(ns),
            what="replicasets and pods collected")


def test_foreground_and_orphan_cascade(cp):
    ns = cp.namespace()
    cp.apply(deployment("fg"), deployment("orph"), ns=ns)
    cp.kubectl("rollout", "status", "deployment/fg", "-n", ns, "--timeout=30s")
    cp.kubectl("rollout", "status", "deployment/orph", "-n", ns, "--timeout=30s")
    cp.delete("deployment", "fg", "-n", ns, "--cascade=foreground")
    dep = cp.get("deployments", ns, "fg", group="apps")
    # foreground: the owner stays (deletionTimestamp + foregroundDeletion) until dependents are gone
    assert dep is None or "foregroundDeletion" in dep["metadata"].get("finalizers", [])
    cp.wait(lambda: cp.get("deployments", ns, "fg", group="apps") is None, what="owner removed")
    assert not _rs_of(cp, ns, "fg")
    assert not cp.pods(ns, "app=fg")
    cp.delete("deployment", "orph", "-n", ns, "--cascade=orphan")
    rs = cp.wait(lambda: [r for r in cp.store.list("apps", "v1", "replicasets", namespace=ns)[0]
                          if r["metadata"]["name"].startswith("orph-") and not r["metadata"].get("ownerReferences")],
                 what="orphaned replicaset")
    assert rs and len(cp.pods(ns, "app=orph")) == 1


def test_delete_namespace_cascades(cp):
    ns = cp.namespace()
    cp.apply(deployment("inns", replicas=2), ns=ns)
    cp.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}, ns=ns)
    cp.kubectl("rollout", "status", "deployment/inns", "-n", ns, "--timeout=30s")
    out = cp.delete("ns", ns).stdout
    assert f'namespace "{ns}" deleted' in out
    assert cp.get("namespaces", None, ns)["status"]["phase"] == "Terminating" or cp.get("namespaces", None, ns) is None
    cp.wait(lambda: cp.get("namespaces", None, ns) is None, timeout=30, what="namespace removed")
    assert not cp.pods(ns)
    assert not cp.store.list("", "v1", "configmaps", namespace=ns)[0]
    assert cp.kubectl("get", "ns", ns, check=False).returncode != 0


def test_statefulset_stable_names_and_claims(cp):
    ns = cp.namespace()
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"serviceName": "db", "replicas": 2, "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 # no volumeMount of "data": the API server's validation
                                 # does not yet count volumeClaimTemplates as volumes
                                 # (reported); the kubelet's volume is checked instead
                                 "spec": {"containers": [{"name": "main", "image": "test/app:1"}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                              "spec": {"accessModes": ["ReadWriteOnce"],
                                                       "resources": {"requests": {"storage": "1Gi"}}}}]}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
           "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 80}]}}
    cp.apply(svc, sts, ns=ns)
    out = cp.kubectl("rollout", "status", "statefulset/db", "-n", ns, "--timeout=40s").stdout
    assert "partitioned roll out complete" in out or "rolling update complete" in out
    pods = sorted(p["metadata"]["name"] for p in cp.pods(ns, "app=db"))
    assert pods == ["db-0", "db-1"]
    # ordered: db-0 was created (and Ready) before db-1
    created = {p["metadata"]["name"]: p["metadata"]["creationTimestamp"] for p in cp.pods(ns, "app=db")}
    assert created["db-0"] <= created["db-1"]
    for i in (0, 1):
        pvc = cp.get("persistentvolumeclaims", ns, f"data-db-{i}")
        assert pvc["status"]["phase"] == "Bound"
        assert pvc["spec"]["storageClassName"] == "standard"
        pv = cp.get("persistentvolumes", None, pvc["spec"]["volumeName"])
        assert pv["spec"]["claimRef"]["name"] == f"data-db-{i}"
        vol = _kubelet_volume(cp, ns, f"db-{i}", "data")
        assert str(vol) == pv["spec"]["hostPath"]["path"]
        assert vol.is_dir()
    pod0 = cp.get("pods", ns, "db-0")
    assert pod0["spec"]["hostname"] == "db-0" and pod0["spec"]["subdomain"] == "db"
    assert pod0["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-0"
    st = cp.get("statefulsets", ns, "db", group="apps")["status"]
    assert st["readyReplicas"] == 2 and st["currentRevision"] == st["updateRevision"]
    # a replacement pod keeps its name and its claim
    (_kubelet_volume(cp, ns, "db-0", "data") / "marker").write_text("x")
    uid = pod0["metadata"]["uid"]
    cp.delete("pod", "db-0", "-n", ns)
    new = cp.wait(lambda: (lambda p: p if p and p["metadata"]["uid"] != uid and any(
        c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])) else None)(
        cp.get("pods", ns, "db-0")), what="db-0 back")
    assert new
    assert (_kubelet_volume(cp, ns, "db-0", "data") / "marker").read_text() == "x"
    # scale down: claims are retained (persistentVolumeClaimRetentionPolicy default Retain)
    cp.kubectl("scale", "statefulset/db", "--replicas=1", "-n", ns)
    cp.wait(lambda: cp.get("pods", ns, "db-1") is None, what="db-1 deleted")
    assert cp.get("persistentvolumeclaims", ns, "data-db-1") is not None


def test_job_completes_and_daemonset_covers_workers(cp):
    ns = cp.namespace()
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
           "spec": {"completions": 2, "parallelism": 1, "template": {"spec": {
               "restartPolicy": "Never", "containers": [{"name": "main", "image": "test/exit:1"}]}}}}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "main", "image": "test/app:1"}]}}}}
    cp.apply(job, ds, ns=ns)
    cp.kubectl("wait", "--for=condition=complete", "job/once", "-n", ns, "--timeout=30s")
    j = cp.get("jobs", ns, "once", group="batch")
    assert j["status"]["succeeded"] == 2 and j["status"].get("completionTime")
    assert all(p["status"]["phase"] == "Succeeded" for p in cp.pods(ns, "job-name=once"))
    cp.kubectl("rollout", "status", "daemonset/agent", "-n", ns, "--timeout=30s")
    pods = cp.pods(ns, "app=agent")
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node1", "node2"]
    st = cp.get("daemonsets", ns, "agent", group="apps")["status"]
    assert st["desiredNumberScheduled"] == st["numberReady"] == 2


def test_job_backoff_limit_fails(cp):
    ns = cp.namespace()
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bad"},
           "spec": {"backoffLimit": 1, "template": {"spec": {
               "restartPolicy": "Never",
               "containers": [{"name": "main", "image": "test/exit:1", "env": [{"name": "EXIT_CODE", "value": "3"}]}]}}}}
    cp.apply(job, ns=ns)
    cp.kubectl("wait", "--for=condition=failed", "job/bad", "-n", ns, "--timeout=30s")
    j = cp.get("jobs", ns, "bad", group="batch")
    failed = [c for c in j["status"]["conditions"] if c["type"] == "Failed"][0]
    assert failed["reason"] == "BackoffLimitExceeded"
    pod = cp.pods(ns, "job-name=bad")[0]
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 3 and term["reason"] == "Error"
    assert "exiting with 3" in cp.kubectl("logs", pod["metadata"]["name"], "-n", ns).stdout


def test_kubectl_get_pods_table_shows_status(cp):
    ns = cp.namespace()
    cp.apply(deployment("tbl"), ns=ns)
    cp.kubectl("rollout", "status", "deployment/tbl", "-n", ns, "--timeout=30s")
    out = cp.kubectl("get", "pods", "-n", ns, "-o", "wide").stdout
    line = [l for l in out.splitlines() if l.startswith("tbl-")][0]
    assert "1/1" in line and "Running" in line and "10.244." in line
    nodes = json.loads(cp.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    master = [n for n in nodes if n["metadata"]["name"] == "master"][0]
    assert master["spec"]["taints"][0]["key"] == "node-role.kubernetes.io/control-plane"
    assert all(c["status"] == "True" for n in nodes for c in n["status"]["conditions"] if c["type"] == "Ready")
    version = json.loads(cp.kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"]
    assert master["status"]["nodeInfo"]["kubeletVersion"] == version


def test_out_of_process_sandbox_runs_the_control_plane(sandbox_session):
    """The same control plane in `python -m sandbox up` (the tests' shared sandbox)."""
    sb = sandbox_session
    ns = sb.new_namespace("cp")
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}}
    sb.kubectl("apply", "--validate=false", "-f", "-", input=json.dumps(manifest))
    sb.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s")
    pods = json.loads(sb.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
    assert pods[0]["status"]["phase"] == "Running" and pods[0]["spec"]["nodeName"] in ("node1", "node2")
    sb.kubectl("delete", "ns", ns, "--wait=false")
    deadline = time.monotonic() + 30
    while sb.kubectl("get", "ns", ns, check=False).returncode == 0:
        assert time.monotonic() < deadline, "namespace not removed"
        time.sleep(0.3)
    assert "NotFound" in sb.kubectl("get", "ns", ns, check=False).stderr


def test_rollout_status_fails_after_progress_deadline(cp):
    ns = cp.namespace()
    dep = deployment("stuck", image="example.invalid/nothing:1")
    dep["spec"]["progressDeadlineSeconds"] = 2
    cp.apply(dep, ns=ns)
    proc = cp.kubectl("rollout", "status", "deployment/stuck", "-n", ns, "--timeout=30s", check=False)
    assert proc.returncode != 0
    assert 'deployment "stuck" exceeded its progress deadline' in proc.stderr
    cond = [c for c in cp.get("deployments", ns, "stuck", group="apps")["status"]["conditions"]
            if c["type"] == "Progressing"][0]
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
