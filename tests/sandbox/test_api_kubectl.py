"""kubectl against the sandbox API server: apply (client- and server-side), get (tables, yaml,
selectors), delete."""
import json

import yaml

MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata: {name: casc, namespace: %(ns)s, labels: {app: jenkins, tier: config}}
data: {jenkins.yaml: "jenkins: {}"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: jenkins, namespace: %(ns)s, labels: {app: jenkins}}
spec:
  replicas: 1
  selector: {matchLabels: {app: jenkins}}
  template:
    metadata: {labels: {app: jenkins}}
    spec:
      containers:
        - name: jenkins
          image: jenkins/jenkins:lts
          ports: [{containerPort: 8080}, {containerPort: 50000}]
---
apiVersion: v1
kind: Service
metadata: {name: jenkins, namespace: %(ns)s}
spec:
  type: NodePort
  selector: {app: jenkins}
  ports: [{name: web, port: 8080}, {name: agent, port: 50000}]
"""


def test_client_side_apply_is_idempotent(api_sandbox, ns):
    m = MANIFEST % {"ns": ns}
    out = api_sandbox.kubectl("apply", "--validate=false", "-f", "-", input=m).stdout
    assert "configmap/casc created" in out and "deployment.apps/jenkins created" in out
    assert "service/jenkins created" in out
    out = api_sandbox.kubectl("apply", "--validate=false", "-f", "-", input=m).stdout
    assert out.count("unchanged") == 3, out
    changed = m.replace("replicas: 1", "replicas: 2")
    out = api_sandbox.kubectl("apply", "--validate=false", "-f", "-", input=changed).stdout
    assert "deployment.apps/jenkins configured" in out and "configmap/casc unchanged" in out
    dep = json.loads(api_sandbox.kubectl("get", "deploy", "jenkins", "-n", ns, "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 2 and dep["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in dep["metadata"]["annotations"]
    # defaults the server fills in
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"
    assert dep["spec"]["revisionHistoryLimit"] == 10 and dep["spec"]["progressDeadlineSeconds"] == 600
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent" and c["terminationMessagePath"] == "/dev/termination-log"
    assert c["ports"][0]["protocol"] == "TCP"
    svc = json.loads(api_sandbox.kubectl("get", "svc", "jenkins", "-n", ns, "-o", "json").stdout)
    assert svc["spec"]["ports"][1]["targetPort"] == 50000
    assert svc["spec"]["clusterIP"].startswith("10.")


def test_server_side_apply_conflicts_and_force(api_sandbox, ns):
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: %s}\ndata: {a: '1', b: '2'}\n" % ns
    assert "serverside-applied" in api_sandbox.kubectl("apply", "--validate=false", "--server-side", "-f", "-",
                                                       input=cm).stdout
    rv1 = api_sandbox.kubectl("get", "cm", "ssa", "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}").stdout
    api_sandbox.kubectl("apply", "--validate=false", "--server-side", "-f", "-", input=cm)
    rv2 = api_sandbox.kubectl("get", "cm", "ssa", "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}").stdout
    assert rv1 == rv2, "a no-op apply does not write"
    other = cm.replace("a: '1'", "a: 'X'")
    r = api_sandbox.kubectl("apply", "--validate=false", "--server-side", "--field-manager", "other", "-f", "-",
                            input=other, check=False)
    assert r.returncode != 0
    assert 'Apply failed with 2 conflicts: conflicts with "kubectl":' in r.stderr or \
        'Apply failed with 1 conflict: conflict with "kubectl": .data.a' in r.stderr, r.stderr
    r = api_sandbox.kubectl("apply", "--validate=false", "--server-side", "--field-manager", "other",
                            "--force-conflicts", "-f", "-", input=other)
    got = json.loads(api_sandbox.kubectl("get", "cm", "ssa", "-n", ns, "-o", "json",
                                         "--show-managed-fields").stdout)
    assert got["data"]["a"] == "X"
    managers = {m["manager"]: m for m in got["metadata"]["managedFields"]}
    assert set(managers) == {"kubectl", "other"}
    assert managers["other"]["operation"] == "Apply"
    # "kubectl" applies without b now: the field it alone owned is removed
    api_sandbox.kubectl("apply", "--validate=false", "--server-side", "-f", "-",
                        input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: %s}\n"
                              "data: {}\n" % ns)
    got = json.loads(api_sandbox.kubectl("get", "cm", "ssa", "-n", ns, "-o", "json").stdout)
    # 'b' was owned by both kubectl and other (same value): other still owns it, so it stays
    assert got["data"] == {"a": "X", "b": "2"}
    # "other" drops b too: now nobody owns it and it is removed
    api_sandbox.kubectl("apply", "--validate=false", "--server-side", "--field-manager", "other", "-f", "-",
                        input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: %s}\n"
                              "data: {a: X}\n" % ns)
    got = json.loads(api_sandbox.kubectl("get", "cm", "ssa", "-n", ns, "-o", "json").stdout)
    assert got["data"] == {"a": "X"}


def test_get_tables_yaml_and_selectors(api_sandbox, ns):
    k = api_sandbox.kubectl
    for name, labels in (("a", "tier=web"), ("b", "tier=db"), ("c", "tier=web,skip=yes")):
        k("create", "configmap", name, "-n", ns, "--from-literal=k=v")
        k("label", "configmap", name, "-n", ns, *labels.split(","))
    assert k("get", "cm", "-n", ns, "-l", "tier=web", "-o", "name").stdout.split() == \
        ["configmap/a", "configmap/c"]
    assert k("get", "cm", "-n", ns, "-l", "tier in (web,db),!skip", "-o", "name").stdout.split() == \
        ["configmap/a", "configmap/b"]
    assert k("get", "cm", "-n", ns, "-l", "tier!=web", "-o", "name").stdout.split() == \
        ["configmap/b", "configmap/kube-root-ca.crt"]
    assert k("get", "cm", "-n", ns, "-l", "skip", "-o", "name").stdout.split() == ["configmap/c"]
    table = k("get", "cm", "-n", ns, "-l", "tier").stdout.splitlines()
    assert table[0].split() == ["NAME", "DATA", "AGE"]
    assert table[1].split()[:2] == ["a", "1"]
    # pods: NAME READY STATUS RESTARTS AGE (no control plane here: the pod stays Pending)
    k("run", "web", "-n", ns, "--image=nginx:1.25", "--restart=Never", "--labels=app=web")
    rows = k("get", "pods", "-n", ns).stdout.splitlines()
    assert rows[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows[1].split()[:4] == ["web", "0/1", "Pending", "0"]
    wide = k("get", "pods", "-n", ns, "-o", "wide").stdout.splitlines()[0].split()
    assert wide[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    pod = yaml.safe_load(k("get", "pod", "web", "-n", ns, "-o", "yaml").stdout)
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["dnsPolicy"] == "ClusterFirst"
    assert pod["spec"]["serviceAccountName"] == "default"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 30
    assert pod["status"]["phase"] == "Pending"
    assert pod["metadata"]["uid"] and int(pod["metadata"]["resourceVersion"]) > 0
    svc = k("get", "svc", "kubernetes", "-n", "default").stdout.splitlines()
    assert svc[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert svc[1].split()[:5] == ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    ns_rows = k("get", "ns", ns).stdout.splitlines()
    assert ns_rows[1].split()[:2] == [ns, "Active"]


def test_delete_and_not_found(api_sandbox, ns):
    k = api_sandbox.kubectl
    k("create", "configmap", "gone", "-n", ns)
    assert 'configmap "gone" deleted' in k("delete", "configmap", "gone", "-n", ns).stdout
    r = k("get", "configmap", "gone", "-n", ns, check=False)
    assert r.returncode == 1
    assert 'Error from server (NotFound): configmaps "gone" not found' in r.stderr
    r = k("create", "configmap", "Bad_Name", "-n", ns, check=False)
    assert 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase ' \
           'RFC 1123 subdomain must consist of lower case alphanumeric characters' in r.stderr
    r = k("get", "--raw", "/version")
    assert json.loads(r.stdout)["gitVersion"].startswith("v1.31")


def test_api_resources_and_explain_free_discovery(api_sandbox):
    out = api_sandbox.kubectl("api-resources", "-o", "wide").stdout
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    for name in ("pods", "deployments", "statefulsets", "customresourcedefinitions", "roles",
                 "ingresses", "poddisruptionbudgets", "endpointslices", "storageclasses", "leases"):
        assert name in lines, name
    assert "po " in lines["pods"] and "deploy" in lines["deployments"]
    raw = json.loads(api_sandbox.kubectl("get", "--raw", "/api/v1").stdout)
    names = {r["name"]: r for r in raw["resources"]}
    for sub in ("pods/log", "pods/exec", "pods/status", "pods/eviction", "serviceaccounts/token",
                "namespaces/finalize"):
        assert sub in names, sub
    apps = json.loads(api_sandbox.kubectl("get", "--raw", "/apis/apps/v1").stdout)
    scale = [r for r in apps["resources"] if r["name"] == "deployments/scale"][0]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")


def test_events_table_and_describe(api_sandbox, ns):
    from kubernetes import client
    core = client.CoreV1Api(api_sandbox.client())
    uid = core.create_namespaced_config_map(ns, {"metadata": {"name": "subject"}}).metadata.uid
    core.create_namespaced_event(ns, {
        "metadata": {"name": "subject.1"}, "type": "Warning", "reason": "Testing",
        "message": "something happened", "count": 2,
        "involvedObject": {"kind": "ConfigMap", "name": "subject", "namespace": ns, "apiVersion": "v1",
                           "uid": uid},
        "source": {"component": "pytest"}, "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z"})
    rows = api_sandbox.kubectl("get", "events", "-n", ns).stdout.splitlines()
    assert rows[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert rows[1].split()[1:5] == ["Warning", "Testing", "configmap/subject", "something"]
    # describe finds the events of an object with an involvedObject field selector
    out = api_sandbox.kubectl("describe", "configmap", "subject", "-n", ns).stdout
    assert "Warning  Testing" in out and "something happened" in out


def test_client_side_apply_edits_lists_with_directives(api_sandbox, ns):
    # kubectl computes a strategic merge patch with $setElementOrder and $patch: delete
    base = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: lists, namespace: %s}
spec:
  selector: {matchLabels: {app: lists}}
  template:
    metadata: {labels: {app: lists}}
    spec:
      containers:
      - name: a
        image: nginx:1.25
        env: [{name: FIRST, value: "1"}, {name: SECOND, value: "2"}]
      - name: b
        image: busybox:1.36
""" % ns
    api_sandbox.kubectl("apply", "--validate=false", "-f", "-", input=base)
    edited = base.replace("nginx:1.25", "nginx:1.26").replace('{name: SECOND, value: "2"}',
                                                              '{name: THIRD, value: "3"}')
    edited = edited[:edited.index("      - name: b")]
    out = api_sandbox.kubectl("apply", "--validate=false", "-f", "-", input=edited).stdout
    assert "configured" in out
    dep = json.loads(api_sandbox.kubectl("get", "deploy", "lists", "-n", ns, "-o", "json").stdout)
    cs = dep["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in cs] == ["a"]
    assert cs[0]["image"] == "nginx:1.26"
    assert [(e["name"], e["value"]) for e in cs[0]["env"]] == [("FIRST", "1"), ("THIRD", "3")]
    assert "unchanged" in api_sandbox.kubectl("apply", "--validate=false", "-f", "-", input=edited).stdout
    out = api_sandbox.kubectl("set", "image", "deploy/lists", "-n", ns, "a=nginx:1.27").stdout
    assert "image updated" in out
    out = api_sandbox.kubectl("rollout", "restart", "deploy/lists", "-n", ns).stdout
    assert "restarted" in out
    dep = json.loads(api_sandbox.kubectl("get", "deploy", "lists", "-n", ns, "-o", "json").stdout)
    assert "kubectl.kubernetes.io/restartedAt" in dep["spec"]["template"]["metadata"]["annotations"]
    assert dep["metadata"]["generation"] == 4


def test_plain_kubectl_apply_validates_on_the_server(api_sandbox, ns):
    """Without --validate=false kubectl asks /openapi/v3 whether PATCH takes fieldValidation,
    then sends fieldValidation=Strict and lets the server reject unknown fields."""
    good = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, namespace: %s}\ndata: {x: '1'}\n" % ns
    assert "configmap/plain created" in api_sandbox.kubectl("apply", "-f", "-", input=good).stdout
    assert "configmap/plain configured" in api_sandbox.kubectl(
        "apply", "-f", "-", input=good.replace("'1'", "'2'")).stdout
    typo = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: %s}\ndataa: {x: '1'}\n" % ns
    r = api_sandbox.kubectl("apply", "-f", "-", input=typo, check=False)
    assert r.returncode == 1
    assert ('Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be '
            'handled as a ConfigMap: strict decoding error: unknown field "dataa"') in r.stderr
    r = api_sandbox.kubectl("get", "cm", "typo", "-n", ns, check=False)
    assert r.returncode == 1


def test_kubectl_wait_for_delete_and_watch(api_sandbox, ns):
    import subprocess
    import time
    k = api_sandbox.kubectl
    k("apply", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: %s, "
                                "finalizers: [example.com/hold]}\n" % ns)
    k("delete", "cm", "held", "-n", ns, "--wait=false")
    waiter = subprocess.Popen(["kubectl", "--kubeconfig", api_sandbox.kubeconfig, "wait", "--for=delete",
                               "cm/held", "-n", ns, "--timeout=20s"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    watcher = subprocess.Popen(["kubectl", "--kubeconfig", api_sandbox.kubeconfig, "get", "cm", "-n", ns,
                                "-w", "--request-timeout=4s"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert waiter.poll() is None, "still held by the finalizer"
    k("patch", "cm", "held", "-n", ns, "--type=json", "-p", '[{"op": "remove", "path": "/metadata/finalizers"}]')
    out, err = waiter.communicate(timeout=20)
    assert waiter.returncode == 0, err
    assert "condition met" in out
    wout, _ = watcher.communicate(timeout=20)
    lines = [line.split()[0] for line in wout.splitlines() if line.strip()]
    assert lines[0] == "NAME" and "held" in lines and "kube-root-ca.crt" in lines
