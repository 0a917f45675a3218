"""Control plane: the kubelet (volumes, images, probes, env, init containers) and PV/PVC binding."""

import base64
import json
import os
import time

from tests.sandbox.conftest_controlplane import cp, deployment  # noqa: F401  (fixture)


def _pod(cp, ns, label):
    return cp.wait(lambda: next((p for p in cp.pods(ns, label) if not p["metadata"].get("deletionTimestamp")), None),
                   what=f"pod {label}")


def _running_pod(cp, ns, label, exclude_uid=None):
    def check():
        for p in cp.pods(ns, label):
            if p["metadata"].get("deletionTimestamp") or p["metadata"]["uid"] == exclude_uid:
                continue
            if p["status"].get("phase") == "Running" and p["metadata"]["name"] in cp.contexts:
                return p
        return None
    return cp.wait(check, what=f"running pod {label}")


def _mount(cp, pod, path):
    ctx = cp.contexts[pod["metadata"]["name"]][-1]
    return [m for m in ctx.mounts if m.mount_path == path][0]


def _node_root(cp, node_name):
    return [n for n in cp.cluster.nodes if n.name == node_name][0].root


def test_pvc_on_static_hostpath_pv_survives_pod_deletion_emptydir_does_not(cp):
    ns = cp.namespace()
    pv_name = f"pv-{ns}"
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
          "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual",
                   "hostPath": {"path": f"/data/{ns}"}}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "home"},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                    "resources": {"requests": {"storage": "1Gi"}}}}
    dep = deployment("keep", node_selector={"kubernetes.io/hostname": "node1"},
                     volumes=[{"name": "home", "persistentVolumeClaim": {"claimName": "home"}},
                              {"name": "scratch", "emptyDir": {}}],
                     mounts=[{"name": "home", "mountPath": "/var/jenkins_home"},
                             {"name": "scratch", "mountPath": "/tmp/scratch"}])
    cp.apply(pv, pvc, dep, ns=ns)
    cp.kubectl("rollout", "status", "deployment/keep", "-n", ns, "--timeout=30s")
    claim = cp.get("persistentvolumeclaims", ns, "home")
    assert claim["status"]["phase"] == "Bound" and claim["spec"]["volumeName"] == pv_name
    assert claim["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert cp.get("persistentvolumes", None, pv_name)["status"]["phase"] == "Bound"
    pod = _running_pod(cp, ns, "app=keep")
    assert pod["spec"]["nodeName"] == "node1"
    home = _mount(cp, pod, "/var/jenkins_home").host_path
    assert home == _node_root(cp, "node1") / "data" / ns      # hostPath inside the node's root
    scratch = _mount(cp, pod, "/tmp/scratch").host_path
    (home / "config.xml").write_text("<hudson/>")
    (scratch / "tmpfile").write_text("gone soon")
    cp.delete("pod", pod["metadata"]["name"], "-n", ns)
    new = _running_pod(cp, ns, "app=keep", exclude_uid=pod["metadata"]["uid"])
    new_home = _mount(cp, new, "/var/jenkins_home").host_path
    assert new_home == home and (new_home / "config.xml").read_text() == "<hudson/>"
    new_scratch = _mount(cp, new, "/tmp/scratch").host_path
    assert new_scratch != scratch
    assert not (new_scratch / "tmpfile").exists()
    cp.wait(lambda: not scratch.exists(), what="old emptyDir removed")
    # Retain: deleting the claim releases the PV and keeps the data
    cp.delete("deployment", "keep", "-n", ns)
    cp.wait(lambda: not cp.pods(ns, "app=keep"), what="pods gone")
    cp.delete("pvc", "home", "-n", ns)
    cp.wait(lambda: cp.get("persistentvolumes", None, pv_name)["status"]["phase"] == "Released", what="Released")
    assert (home / "config.xml").exists()


def test_unbound_pvc_keeps_pod_pending_with_real_event(cp):
    ns = cp.namespace()
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "nope"},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                    "resources": {"requests": {"storage": "1Gi"}}}}
    dep = deployment("waits", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "nope"}}],
                     mounts=[{"name": "d", "mountPath": "/d"}])
    cp.apply(pvc, dep, ns=ns)
    pod = _pod(cp, ns, "app=waits")
    name = pod["metadata"]["name"]
    ev = cp.wait(lambda: [e for e in cp.events(ns, name) if e["reason"] == "FailedScheduling"], what="event")
    assert ev[0]["type"] == "Warning"
    assert ev[0]["message"] == ("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                                "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..")
    time.sleep(0.5)
    pod = cp.get("pods", ns, name)
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    assert cp.get("persistentvolumeclaims", ns, "nope")["status"]["phase"] == "Pending"
    pvc_events = [e["reason"] for e in cp.events(ns, "nope")]
    assert "FailedBinding" in pvc_events
    # a matching PV appears -> bound -> scheduled -> running
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"late-{ns}"},
          "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                   "storageClassName": "", "hostPath": {"path": f"/srv/{ns}"}}}
    cp.apply(pv)
    cp.kubectl("rollout", "status", "deployment/waits", "-n", ns, "--timeout=30s")


def test_default_storage_class_provisions_and_delete_reclaims(cp):
    ns = cp.namespace()
    sc = json.loads(cp.kubectl("get", "storageclass", "standard", "-o", "json").stdout)
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "dyn"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    cp.apply(pvc, ns=ns)
    claim = cp.wait(lambda: (lambda c: c if c and c.get("status", {}).get("phase") == "Bound" else None)(
        cp.get("persistentvolumeclaims", ns, "dyn")), what="bound")
    pv = cp.get("persistentvolumes", None, claim["spec"]["volumeName"])
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    path = pv["spec"]["hostPath"]["path"]
    assert path.startswith(str(cp.cluster.state_dir)) and os.path.isdir(path)
    assert "ProvisioningSucceeded" in [e["reason"] for e in cp.events(ns, "dyn")]
    cp.delete("pvc", "dyn", "-n", ns)
    cp.wait(lambda: cp.get("persistentvolumes", None, pv["metadata"]["name"]) is None, what="PV deleted")
    assert not os.path.exists(path)


def test_unknown_image_goes_to_image_pull_backoff(cp):
    ns = cp.namespace()
    cp.apply(deployment("ghost", image="example.invalid/ghost:9"), ns=ns)
    pod = _pod(cp, ns, "app=ghost")
    name = pod["metadata"]["name"]

    def waiting():
        p = cp.get("pods", ns, name)
        cs = (p["status"].get("containerStatuses") or [{}])[0]
        return cs.get("state", {}).get("waiting", {}).get("reason") == "ImagePullBackOff" and cs
    cs = cp.wait(waiting, what="ImagePullBackOff")
    assert cs["state"]["waiting"]["message"] == 'Back-off pulling image "example.invalid/ghost:9"'
    assert cs["ready"] is False and cs["restartCount"] == 0
    msgs = {(e["reason"], e["message"]) for e in cp.events(ns, name)}
    assert ("Pulling", 'Pulling image "example.invalid/ghost:9"') in msgs
    assert ("Failed", "Error: ErrImagePull") in msgs
    assert ("BackOff", 'Back-off pulling image "example.invalid/ghost:9"') in msgs
    assert any(r == "Failed" and m.startswith('Failed to pull image "example.invalid/ghost:9": rpc error: '
                                              'code = NotFound') for r, m in msgs)
    out = cp.kubectl("get", "pod", name, "-n", ns).stdout
    assert "ImagePullBackOff" in out or "ErrImagePull" in out
    assert cp.get("pods", ns, name)["status"]["phase"] == "Pending"


def test_configmap_volume_update_arrives_after_sync_delay(cp):
    ns = cp.namespace()
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "casc"},
          "data": {"jenkins.yaml": "v: 1\n", "other.yaml": "o: 1\n"}}
    dep = deployment("cfg", volumes=[
        {"name": "casc", "projected": {"sources": [
            {"configMap": {"name": "casc"}},
            {"configMap": {"name": "casc-managed", "optional": True}}]}},
        {"name": "one", "configMap": {"name": "casc", "items": [{"key": "jenkins.yaml", "path": "sub/j.yaml", "mode": 0o600}]}}],
        mounts=[{"name": "casc", "mountPath": "/var/jenkins_home/casc_configs"},
                {"name": "one", "mountPath": "/etc/one"},
                {"name": "casc", "mountPath": "/etc/pinned.yaml", "subPath": "jenkins.yaml"}])
    cp.apply(cm, dep, ns=ns)
    pod = _running_pod(cp, ns, "app=cfg")
    d = _mount(cp, pod, "/var/jenkins_home/casc_configs").host_path
    # the kubelet's atomic writer layout
    assert os.path.islink(d / "..data") and os.readlink(d / "..data").startswith("..20")
    assert os.readlink(d / "jenkins.yaml") == "..data/jenkins.yaml"
    assert (d / "jenkins.yaml").read_text() == "v: 1\n"
    one = _mount(cp, pod, "/etc/one").host_path
    assert sorted(os.listdir(one)) == ["..2" + os.readlink(one / "..data")[3:], "..data", "sub"]
    assert oct(os.stat(one / "sub" / "j.yaml").st_mode & 0o777) == "0o600"
    pinned = _mount(cp, pod, "/etc/pinned.yaml").host_path
    # change + add the optional ConfigMap
    t0 = time.monotonic()
    cp.kubectl("patch", "configmap", "casc", "-n", ns, "--type=merge", "-p", '{"data": {"jenkins.yaml": "v: 2\\n"}}')
    cp.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "casc-managed"},
              "data": {"cloud-kubernetes.yaml": "c: 1\n"}}, ns=ns)
    time.sleep(0.5)
    assert (d / "jenkins.yaml").read_text() == "v: 1\n", "updated before the sync delay"
    cp.wait(lambda: (d / "jenkins.yaml").read_text() == "v: 2\n", timeout=6, what="update")
    assert time.monotonic() - t0 >= 1.45   # configmap_sync_delay = 1.5 s
    assert (d / "cloud-kubernetes.yaml").read_text() == "c: 1\n"
    assert pinned.read_text() == "v: 1\n"     # subPath mounts never receive updates
    cp.wait(lambda: (one / "sub" / "j.yaml").read_text() == "v: 2\n", timeout=6, what="items update")


def test_http_readiness_probe_runs_against_the_runtime(cp):
    ns = cp.namespace()
    dep = deployment("probe", ports=[{"name": "http", "containerPort": 8080}], container_extra={
        "readinessProbe": {"httpGet": {"path": "/login", "port": "http"}, "periodSeconds": 1,
                           "failureThreshold": 1}})
    cp.apply(dep, ns=ns)
    pod = _running_pod(cp, ns, "app=probe")
    name = pod["metadata"]["name"]
    # first answer 503 (a Jenkins still starting): Running but not Ready
    cp.http_status[name] = 503
    cp.wait(lambda: [e for e in cp.events(ns, name) if e["reason"] == "Unhealthy"], what="Unhealthy")
    p = cp.get("pods", ns, name)
    ready = [c for c in p["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    ev = [e for e in cp.events(ns, name) if e["reason"] == "Unhealthy"][0]
    assert ev["message"] == "Readiness probe failed: HTTP probe failed with statuscode: 503"
    cp.http_status[name] = 200
    cp.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "-n", ns, "--timeout=20s")


def test_env_service_links_and_service_account_mount(cp):
    ns = cp.namespace()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "admin"},
              "data": {"password": base64.b64encode(b"s3cret").decode()}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"MODE": "test"}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "jenkins-agent"},
           "spec": {"selector": {"app": "none"}, "ports": [{"name": "agent", "port": 50000}]}}
    dep = deployment("envy", container_extra={
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "admin", "key": "password"}}},
                {"name": "URL", "value": "http://$(POD_NAME):8080"}],
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CM_"}]})
    cp.apply(secret, cm, svc, dep, ns=ns)
    pod = _running_pod(cp, ns, "app=envy")
    env = cp.contexts[pod["metadata"]["name"]][-1].env
    assert env["POD_NAME"] == pod["metadata"]["name"] and env["POD_NS"] == ns
    assert env["NODE"] == pod["spec"]["nodeName"] and env["IP"] == pod["status"]["podIP"]
    assert env["PASS"] == "s3cret" and env["CM_MODE"] == "test"
    assert env["URL"] == f"http://{pod['metadata']['name']}:8080"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT"] == "443"
    agent = cp.get("services", ns, "jenkins-agent")
    assert env["JENKINS_AGENT_SERVICE_HOST"] == agent["spec"]["clusterIP"]
    assert env["JENKINS_AGENT_SERVICE_PORT_AGENT"] == "50000"
    assert env["JENKINS_AGENT_PORT_50000_TCP"] == f"tcp://{agent['spec']['clusterIP']}:50000"
    sa = _mount(cp, pod, "/var/run/secrets/kubernetes.io/serviceaccount")
    assert sa.read_only
    assert (sa.host_path / "namespace").read_text() == ns
    assert (sa.host_path / "ca.crt").read_text() == cp.cluster.ca_pem
    token = (sa.host_path / "token").read_text()
    user = cp.cluster.tokens.authenticate(token)
    assert user.name == f"system:serviceaccount:{ns}:default"
    # a missing secret key -> CreateContainerConfigError
    bad = deployment("envbad", container_extra={
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "admin", "key": "nokey"}}}]})
    cp.apply(bad, ns=ns)
    p = _pod(cp, ns, "app=envbad")

    def cfg_error():
        cs = (cp.get("pods", ns, p["metadata"]["name"])["status"].get("containerStatuses") or [{}])[0]
        return cs.get("state", {}).get("waiting", {}).get("reason") == "CreateContainerConfigError" and cs
    cs = cp.wait(cfg_error, what="CreateContainerConfigError")
    assert cs["state"]["waiting"]["message"] == f"couldn't find key nokey in Secret {ns}/admin"


def test_hostpath_types_and_init_containers(cp):
    ns = cp.namespace()
    dep = deployment("hp", node_selector={"kubernetes.io/hostname": "node2"}, volumes=[
        {"name": "kube", "hostPath": {"path": f"/root/.kube-{ns}", "type": "DirectoryOrCreate"}},
        {"name": "sock", "hostPath": {"path": f"/var/run/docker-{ns}.sock"}}],
        mounts=[{"name": "kube", "mountPath": "/home/jenkins/.kube"},
                {"name": "sock", "mountPath": "/var/run/docker.sock"}],
        extra_spec={"initContainers": [{"name": "prep", "image": "busybox:1.36"}]})
    cp.apply(dep, ns=ns)
    pod = _running_pod(cp, ns, "app=hp")
    root = _node_root(cp, "node2")
    assert _mount(cp, pod, "/home/jenkins/.kube").host_path == root / "root" / f".kube-{ns}"
    assert (root / "root" / f".kube-{ns}").is_dir()
    # type "": a missing source becomes an empty directory, as docker/containerd do
    assert (root / "var" / "run" / f"docker-{ns}.sock").is_dir()
    p = cp.get("pods", ns, pod["metadata"]["name"])
    init = p["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed"
    assert [c for c in p["status"]["conditions"] if c["type"] == "Initialized"][0]["status"] == "True"
    # type Directory that does not exist -> FailedMount, pod stays ContainerCreating
    bad = deployment("hpbad", volumes=[{"name": "x", "hostPath": {"path": "/does/not/exist", "type": "Directory"}}],
                     mounts=[{"name": "x", "mountPath": "/x"}])
    cp.apply(bad, ns=ns)
    bp = _pod(cp, ns, "app=hpbad")
    ev = cp.wait(lambda: [e for e in cp.events(ns, bp["metadata"]["name"]) if e["reason"] == "FailedMount"],
                 what="FailedMount")
    assert ev[0]["message"] == ('MountVolume.SetUp failed for volume "x" : hostPath type check failed: '
                                '/does/not/exist is not a directory')
    cs = cp.get("pods", ns, bp["metadata"]["name"])["status"]["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "ContainerCreating"


def test_failing_init_container_crash_loops(cp):
    ns = cp.namespace()
    dep = deployment("initfail", extra_spec={"initContainers": [
        {"name": "setup", "image": "test/exit:1", "env": [{"name": "EXIT_CODE", "value": "1"}]}]})
    cp.apply(dep, ns=ns)
    pod = _pod(cp, ns, "app=initfail")
    name = pod["metadata"]["name"]

    def crash():
        p = cp.get("pods", ns, name)
        st = (p["status"].get("initContainerStatuses") or [{}])[0]
        return st.get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff" and p
    p = cp.wait(crash, what="Init:CrashLoopBackOff")
    init = p["status"]["initContainerStatuses"][0]
    assert init["restartCount"] >= 1
    assert init["lastState"]["terminated"]["exitCode"] == 1
    assert p["status"]["phase"] == "Pending"
    assert p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"
    out = cp.kubectl("get", "pod", name, "-n", ns).stdout
    assert "Init:CrashLoopBackOff" in out
    assert any(e["reason"] == "BackOff" and e["message"].startswith("Back-off restarting failed container setup")
               for e in cp.events(ns, name))
    assert "exiting with 1" in cp.kubectl("logs", name, "-c", "setup", "-n", ns).stdout


def test_wait_for_first_consumer_local_pv_follows_node_affinity(cp):
    ns = cp.namespace()
    sc_name = f"local-{ns}"
    (_node_root(cp, "node2") / "mnt" / ns).mkdir(parents=True)
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": sc_name},
          "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"}
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"local-{ns}"},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": sc_name,
                   "local": {"path": f"/mnt/{ns}"},
                   "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                       {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node2"]}]}]}}}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "loc"},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": sc_name,
                    "resources": {"requests": {"storage": "1Gi"}}}}
    cp.apply(sc, pv, pvc, ns=ns)
    cp.wait(lambda: [e for e in cp.events(ns, "loc") if e["reason"] == "WaitForFirstConsumer"], what="WFFC event")
    assert cp.get("persistentvolumeclaims", ns, "loc")["status"]["phase"] == "Pending"
    cp.apply(deployment("local", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "loc"}}],
                        mounts=[{"name": "d", "mountPath": "/d"}]), ns=ns)
    cp.kubectl("rollout", "status", "deployment/local", "-n", ns, "--timeout=30s")
    pod = _running_pod(cp, ns, "app=local")
    assert pod["spec"]["nodeName"] == "node2"
    claim = cp.get("persistentvolumeclaims", ns, "loc")
    assert claim["status"]["phase"] == "Bound"
    assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "node2"
    assert _mount(cp, pod, "/d").host_path == _node_root(cp, "node2") / "mnt" / ns


def test_image_change_on_pod_restarts_container(cp):
    ns = cp.namespace()
    cp.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo"},
              "spec": {"containers": [{"name": "main", "image": "test/app:1"}]}}, ns=ns)
    cp.kubectl("wait", "--for=condition=Ready", "pod/solo", "-n", ns, "--timeout=20s")
    cp.kubectl("patch", "pod", "solo", "-n", ns, "--type=json", "-p",
               '[{"op": "replace", "path": "/spec/containers/0/image", "value": "test/app:2"}]')

    def restarted():
        cs = cp.get("pods", ns, "solo")["status"]["containerStatuses"][0]
        return cs["restartCount"] == 1 and cs["image"] == "test/app:2" and "running" in cs["state"] and cs
    cp.wait(restarted, what="restart with the new image")
    assert cp.contexts["solo"][-1].image == "test/app:2"
    assert any(e["reason"] == "Killing" and "definition changed" in e["message"] for e in cp.events(ns, "solo"))


def test_liveness_failure_restarts_container_and_previous_log(cp):
    ns = cp.namespace()
    cp.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "live"},
              "spec": {"containers": [{"name": "main", "image": "test/app:1",
                                       "ports": [{"containerPort": 8080}],
                                       "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                                         "periodSeconds": 1, "failureThreshold": 2}}]}}, ns=ns)
    cp.kubectl("wait", "--for=condition=Ready", "pod/live", "-n", ns, "--timeout=20s")
    first = cp.contexts["live"][-1]
    cp.http_status["live"] = 500

    def restarted():
        cs = cp.get("pods", ns, "live")["status"]["containerStatuses"][0]
        return cs["restartCount"] >= 1 and cs
    cs = cp.wait(restarted, timeout=15, what="liveness restart")
    cp.http_status["live"] = 200
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    msgs = [(e["reason"], e["message"]) for e in cp.events(ns, "live")]
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500") in msgs
    assert ("Killing", "Container main failed liveness probe, will be restarted") in msgs
    assert cp.contexts["live"][-1] is not first
    cp.wait(lambda: len(cp.contexts["live"]) >= 2, what="second start")
    prev = cp.kubectl("logs", "live", "-n", ns, "--previous").stdout
    assert "hello from live/main" in prev


def test_broken_runtime_does_not_break_the_kubelet(cp):
    """A runtime whose start() raises gives StartError (exit 128) and CrashLoopBackOff; the
    node's other pods keep being served."""
    def boom(ctx):
        raise RuntimeError("exec: \"/usr/local/bin/jenkins.sh\": stat /usr/local/bin/jenkins.sh: no such file or directory")
    cp.cluster.runtimes.register("test-boom", lambda image, c, p: image.startswith("test/boom"), boom)
    ns = cp.namespace()
    cp.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "boom"},
              "spec": {"nodeName": "node1", "containers": [{"name": "main", "image": "test/boom:1"}]}},
             {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fine"},
              "spec": {"nodeName": "node1", "containers": [{"name": "main", "image": "test/app:1"}]}}, ns=ns)
    cp.kubectl("wait", "--for=condition=Ready", "pod/fine", "-n", ns, "--timeout=20s")

    def crashloop():
        cs = cp.get("pods", ns, "boom")["status"].get("containerStatuses") or [{}]
        return cs[0].get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff" and cs[0]
    cs = cp.wait(crashloop, what="CrashLoopBackOff")
    term = cs["lastState"]["terminated"]
    assert term["reason"] == "StartError" and term["exitCode"] == 128
    assert "no such file or directory" in term["message"]
    assert any(e["reason"] == "Failed" and "no such file or directory" in e["message"] for e in cp.events(ns, "boom"))
    assert cp.cluster.control_plane.get("kubelet-node1")._thread.is_alive()
