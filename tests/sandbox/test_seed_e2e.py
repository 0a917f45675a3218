"""The seed scenario end to end on an in-process sandbox, with plain kubectl + python-jenkins.

No collection code: the namespace, RBAC, storage, JCasC ConfigMap, controller Deployment and
Services are applied with kubectl; the job and build go through python-jenkins against the
NodePort.  The runtimes of sandbox/runtimes (jenkins/jenkins, jenkins-plugin-cli init container,
inbound agent) do the rest, and the Kubernetes plugin emulation creates the agent pods.

Also the failure paths of issue #4: wrong jenkinsUrl (agent never connects, pod deleted after the
template's connect timeout), a ServiceAccount without pod rights (403 in the log, Test Connection
error), a node without /root/.kube (the step fails on kubectl), an unknown JCasC attribute (503
boot failure), and a controller pod restart on a PV (kept) vs emptyDir (lost).
"""

import base64
import http.client
import http.cookiejar
import json
import random
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import jenkins as pyjenkins
import pytest
import yaml

from sandbox import runtimes

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
NS = "kube-ops"
ADMIN_PASSWORD = "s3cr3t-Adm1n"
JENKINS_IMAGE = "jenkins/jenkins:2.479.3-lts-jdk17"
AGENT_IMAGE = "jenkins/inbound-agent:3355.v388858a_47b_33-3-jdk21"


def _free_address():
    for _ in range(200):
        addr = "127.%d.%d.%d" % (random.randint(100, 250), random.randint(1, 250), random.randint(2, 250))
        s = socket.socket()
        try:
            s.bind((addr, 6443))
            return addr
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free loopback address")


def wait(fn, timeout=60.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


CASC = {
    "jenkins": {
        "systemMessage": "kubeops seed",
        "quietPeriod": 0,
        "numExecutors": 0,
        "securityRealm": {"local": {"allowsSignup": False,
                                    "users": [{"id": "admin", "password": "${JENKINS_ADMIN_PASSWORD}"}]}},
        "authorizationStrategy": {"loggedInUsersCanDoAnything": {"allowAnonymousRead": False}},
        "clouds": [
            {"kubernetes": {
                "name": "kubernetes",
                "namespace": NS,
                "jenkinsUrl": "http://jenkins.kube-ops.svc.cluster.local:8080",
                "jenkinsTunnel": "jenkins-agent.kube-ops.svc.cluster.local:50000",
                "templates": [
                    {"name": "haimaxy-jnlp", "label": "haimaxy-jnlp", "serviceAccount": "jenkins",
                     "slaveConnectTimeout": 60, "nodeSelector": "kubernetes.io/hostname=node1",
                     "containers": [{"name": "jnlp", "image": AGENT_IMAGE, "workingDir": "/home/jenkins/agent"}],
                     "volumes": [
                         {"hostPathVolume": {"hostPath": "/var/run/docker.sock", "mountPath": "/var/run/docker.sock"}},
                         {"hostPathVolume": {"hostPath": "/root/.kube", "mountPath": "/home/jenkins/.kube"}}]},
                    {"name": "keep-pod", "label": "keep-pod", "podRetention": "always",
                     "nodeSelector": "kubernetes.io/hostname=node1"},
                    {"name": "idle", "label": "idle", "idleMinutes": 10,
                     "nodeSelector": "kubernetes.io/hostname=node1"},
                    {"name": "capped", "label": "capped", "instanceCap": 1,
                     "nodeSelector": "kubernetes.io/hostname=node1"},
                    {"name": "no-kube", "label": "no-kube", "serviceAccount": "default",
                     "slaveConnectTimeout": 60, "nodeSelector": "kubernetes.io/hostname=node2",
                     "volumes": [{"hostPathVolume": {"hostPath": "/root/.kube", "mountPath": "/home/jenkins/.kube"}}]},
                ]}},
            {"kubernetes": {
                "name": "wrong-url",
                "namespace": NS,
                "jenkinsUrl": "http://jenkins.wrong-ns.svc.cluster.local:8080",
                "jenkinsTunnel": "jenkins-agent.kube-ops.svc.cluster.local:50000",
                "templates": [{"name": "bad-url", "label": "bad-url", "slaveConnectTimeout": 4,
                               "nodeSelector": "kubernetes.io/hostname=node1"}]}},
            {"kubernetes": {
                "name": "websocket",
                "namespace": NS,
                "webSocket": True,
                "jenkinsUrl": "http://jenkins.kube-ops:8080",
                "templates": [{"name": "ws-agent", "label": "ws-agent",
                               "nodeSelector": "kubernetes.io/hostname=node1"}]}},
            {"kubernetes": {
                "name": "no-rbac",
                "namespace": "default",
                "jenkinsUrl": "http://jenkins.kube-ops.svc.cluster.local:8080",
                "templates": [{"name": "no-rbac", "label": "no-rbac"}]}},
        ],
    },
}


def manifests(casc=CASC, storage="pvc", name="jenkins", ns=NS):
    vol = ({"name": "jenkins-home", "persistentVolumeClaim": {"claimName": "jenkins-home"}} if storage == "pvc"
           else {"name": "jenkins-home", "emptyDir": {}})
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "jenkins", "namespace": ns}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "jenkins", "namespace": ns},
         "rules": [{"apiGroups": [""], "resources": ["pods"],
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
                   {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
                   {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
                   {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
                   {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "jenkins", "namespace": ns},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "jenkins"},
         "subjects": [{"kind": "ServiceAccount", "name": "jenkins", "namespace": ns}]},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "jenkins-admin", "namespace": ns},
         "type": "Opaque", "data": {"password": base64.b64encode(ADMIN_PASSWORD.encode()).decode()}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-casc", "namespace": ns},
         "data": {"jenkins.yaml": yaml.safe_dump(casc, sort_keys=False)}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                  "strategy": {"type": "Recreate"},
                  "template": {"metadata": {"labels": {"app": name}}, "spec": {
                      "serviceAccountName": "jenkins",
                      "nodeSelector": {"kubernetes.io/hostname": "node1"},
                      "initContainers": [{
                          "name": "install-plugins", "image": JENKINS_IMAGE,
                          "command": ["jenkins-plugin-cli", "--plugin-download-directory", "/var/jenkins_home/plugins",
                                      "--plugins", "kubernetes", "configuration-as-code"],
                          "volumeMounts": [{"name": "jenkins-home", "mountPath": "/var/jenkins_home"}]}],
                      "containers": [{
                          "name": "jenkins", "image": JENKINS_IMAGE,
                          "env": [{"name": "JAVA_OPTS", "value": "-Djenkins.install.runSetupWizard=false"},
                                  {"name": "CASC_JENKINS_CONFIG", "value": "/var/jenkins_home/casc_configs"},
                                  {"name": "SANDBOX_JENKINS_STARTUP_SECONDS", "value": "0.5"},
                                  {"name": "JENKINS_SLAVE_AGENT_PORT", "value": "50000"},
                                  {"name": "JENKINS_ADMIN_PASSWORD",
                                   "valueFrom": {"secretKeyRef": {"name": "jenkins-admin", "key": "password"}}}],
                          "ports": [{"name": "http", "containerPort": 8080}, {"name": "agent", "containerPort": 50000}],
                          "readinessProbe": {"httpGet": {"path": "/login", "port": 8080},
                                             "periodSeconds": 1, "failureThreshold": 3},
                          "volumeMounts": [{"name": "jenkins-home", "mountPath": "/var/jenkins_home"},
                                           {"name": "casc", "mountPath": "/var/jenkins_home/casc_configs"}]}],
                      "volumes": [vol, {"name": "casc", "configMap": {"name": f"{name}-casc"}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
         "spec": {"type": "NodePort", "selector": {"app": name},
                  "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"{name}-agent", "namespace": ns},
         "spec": {"selector": {"app": name}, "ports": [{"name": "agent", "port": 50000, "targetPort": 50000}]}},
    ]
    if storage == "pvc":
        docs[1:1] = [
            {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"{ns}-{name}-home"},
             "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                      "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                      "hostPath": {"path": f"/data/{ns}/{name}"},
                      "claimRef": {"namespace": ns, "name": "jenkins-home"}}},
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "jenkins-home", "namespace": ns},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                      "resources": {"requests": {"storage": "2Gi"}}, "volumeName": f"{ns}-{name}-home"}},
        ]
    return docs


class Env:
    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store

    def kubectl(self, *args, input=None, check=True):
        p = subprocess.run([KUBECTL, "--kubeconfig", str(self.cluster.kubeconfig_path), *args], input=input,
                           capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, f"kubectl {args}: {p.stdout}\n{p.stderr}"
        return p

    def apply(self, docs):
        return self.kubectl("apply", "--validate=false", "-f", "-", input=yaml.safe_dump_all(docs))

    def pods(self, ns, selector=None):
        return self.store.list("", "v1", "pods", namespace=ns, label_selector=selector)[0]

    def node_port_url(self, ns, svc):
        s = self.store.get("", "v1", "services", ns, svc)
        return f"http://{self.cluster.address}:{s['spec']['ports'][0]['nodePort']}"

    def http(self, url, method="GET", data=None, auth=True, headers=None, opener=None):
        req = urllib.request.Request(url, method=method, data=data, headers=dict(headers or {}))
        if auth:
            tok = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
            req.add_header("Authorization", "Basic " + tok)
        try:
            with (opener or urllib.request.build_opener()).open(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()
        except (OSError, http.client.HTTPException) as e:     # refused / reset while nothing listens
            return 0, {}, str(e)

    def jenkins_instance(self, ns=NS, app="jenkins"):
        from sandbox.runtimes import jenkins_controller
        with jenkins_controller._lock:
            insts = list(jenkins_controller._by_agent_addr.values())
        for i in insts:
            ctx = i.ctx
            if ctx.namespace == ns and (ctx.pod.get("metadata", {}).get("labels") or {}).get("app") == app:
                return i
        return None


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from sandbox.k8s.cluster import Cluster
    state = tmp_path_factory.mktemp("seed")
    cluster = Cluster(state, address=_free_address(), nodes=2)
    cluster.configmap_sync_delay = 0.5
    cluster.start()
    runtimes.register_all(cluster)
    e = Env(cluster)
    wait(lambda: len(cluster.store.list("", "v1", "nodes")[0]) == 3, what="nodes")
    # the kubeconfig role: /root/.kube from the master to node1 (node2 deliberately left without)
    master_kube = cluster.nodes[0].root / "root" / ".kube"
    shutil.copytree(master_kube, cluster.nodes[1].root / "root" / ".kube", dirs_exist_ok=True)
    e.apply(manifests())
    e.url = e.node_port_url(NS, "jenkins")

    def up():
        st, _, _ = e.http(e.url + "/login", auth=False)
        return st == 200
    wait(up, timeout=90, what="Jenkins /login 200")
    e.server = pyjenkins.Jenkins(e.url, username="admin", password=ADMIN_PASSWORD, timeout=30)
    yield e
    cluster.stop()
    from sandbox.runtimes import jenkins_controller
    with jenkins_controller._lock:
        leftover = list(jenkins_controller._by_agent_addr.values())
    for inst in leftover:
        if inst.ctx.cluster is cluster:
            inst.stop()


def crumb_post(e, path, form):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    st, _, body = e.http(e.url + "/crumbIssuer/api/json", opener=opener)
    assert st == 200, body
    c = json.loads(body)
    data = urllib.parse.urlencode(form).encode()
    return e.http(e.url + path, method="POST", data=data, opener=opener,
                  headers={c["crumbRequestField"]: c["crumb"], "Content-Type": "application/x-www-form-urlencoded"})


def freestyle(label, command):
    return f"""<?xml version='1.1' encoding='UTF-8'?>
<project>
  <keepDependencies>false</keepDependencies>
  <properties/>
  <scm class="hudson.scm.NullSCM"/>
  <assignedNode>{label}</assignedNode>
  <canRoam>false</canRoam>
  <disabled>false</disabled>
  <triggers/>
  <concurrentBuild>false</concurrentBuild>
  <builders>
    <hudson.tasks.Shell>
      <command>{command}</command>
    </hudson.tasks.Shell>
  </builders>
  <publishers/>
  <buildWrappers/>
</project>"""


def run_build(e, job, timeout=120):
    qid = e.server.build_job(job)
    item = wait(lambda: (e.server.get_queue_item(qid) or {}).get("executable"), timeout=timeout,
                what=f"{job} leaves the queue")
    number = item["number"]
    info = wait(lambda: (lambda i: i if i.get("result") else None)(e.server.get_build_info(job, number)),
                timeout=timeout, what=f"{job} #{number} finishes")
    return info, e.server.get_build_console_output(job, number)


# ---------------------------------------------------------------------------------------------


def test_plugins_installed_by_init_container_and_cloud_configured(env):
    plugins = env.server.get_plugins_info(depth=1)
    names = {p["shortName"] for p in plugins}
    assert {"kubernetes", "configuration-as-code", "kubernetes-client-api"} <= names
    st, _, text = crumb_post(env, "/configuration-as-code/export", {})
    assert st == 200
    exported = yaml.safe_load(text)
    clouds = [c["kubernetes"] for c in exported["jenkins"]["clouds"]]
    seed = next(c for c in clouds if c["name"] == "kubernetes")
    assert seed["jenkinsTunnel"] == "jenkins-agent.kube-ops.svc.cluster.local:50000"
    assert seed["templates"][0]["name"] == "haimaxy-jnlp"
    assert len(seed["templates"][0]["id"]) == 36


def test_test_connection(env):
    path = "/descriptorByName/org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud/testConnection"
    st, hdrs, body = crumb_post(env, path, {"name": "kubernetes", "serverUrl": "", "credentialsId": "",
                                            "serverCertificate": "", "skipTlsVerify": "false",
                                            "namespace": NS, "connectTimeout": "5", "readTimeout": "15",
                                            "useJenkinsProxy": "false"})
    assert st == 200 and body.startswith('<div class="ok">Connected to Kubernetes v1.'), body
    assert hdrs.get("Content-Security-Policy") == "sandbox; default-src 'none';"
    # the ServiceAccount has no rights in "default": the real 403 text
    st, _, body = crumb_post(env, path, {"name": "kubernetes", "serverUrl": "", "namespace": "default"})
    assert st == 200
    assert body == ('<div class="error">Error testing connection : io.fabric8.kubernetes.client.'
                    'KubernetesClientException: Failure executing: GET at: https://10.96.0.1/api/v1/namespaces/'
                    'default/pods. Message: Forbidden!Configured service account doesn&#x27;t have access. '
                    'Service account may have been revoked. pods is forbidden: User '
                    '&quot;system:serviceaccount:kube-ops:jenkins&quot; cannot list resource &quot;pods&quot; '
                    'in API group &quot;&quot; in the namespace &quot;default&quot;.</div>'), body
    # explicit serverUrl without credentials keeps the auto-configured token and CA
    st, _, body = crumb_post(env, path, {"name": "k", "serverUrl": "https://kubernetes.default.svc",
                                         "namespace": NS})
    assert body.startswith('<div class="ok">Connected to Kubernetes v1.'), body
    st, _, body = crumb_post(env, path, {"name": "k", "serverUrl": "https://kubernetes.nowhere.svc",
                                         "namespace": NS})
    assert body == ('<div class="error">Error testing connection https://kubernetes.nowhere.svc: '
                    'java.io.IOException: kubernetes.nowhere.svc: Name or service not known</div>'), body
    st, _, body = crumb_post(env, path, {"name": ""})
    assert body == '<div class="error">name is required</div>'
    st, hdrs, _ = env.http(env.url + path)
    assert st == 405 and hdrs.get("Allow") == "POST"


def test_seed_build_in_dynamic_agent(env):
    events = []
    stop = threading.Event()

    errors = []
    from kubernetes import client, config, watch as kwatch
    api = client.CoreV1Api(config.new_client_from_config(str(env.cluster.kubeconfig_path)))
    rv = api.list_namespaced_pod(NS, label_selector="jenkins/label=haimaxy-jnlp").metadata.resource_version

    def watch():
        try:
            w = kwatch.Watch()
            for ev in w.stream(api.list_namespaced_pod, NS, label_selector="jenkins/label=haimaxy-jnlp",
                               resource_version=rv, timeout_seconds=100):
                events.append((ev["type"], ev["object"].metadata.name, dict(ev["object"].metadata.labels or {}),
                               ev["object"].status.phase))
                if stop.is_set() or (ev["type"] == "DELETED"):
                    w.stop()
                    break
        except Exception as exc:   # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    time.sleep(0.3)
    env.server.create_job("seed", freestyle("haimaxy-jnlp", "docker info || true\nkubectl get pods -n kube-ops"))
    info, console = run_build(env, "seed")
    assert info["result"] == "SUCCESS", console
    pod = info["builtOn"]
    assert pod.startswith("haimaxy-jnlp-") and len(pod) == len("haimaxy-jnlp-") + 5
    assert f"Agent {pod} is provisioned from template haimaxy-jnlp" in console
    # (real core drops the node's self label from the list: "(haimaxy-jnlp)"; the core stand-in decides)
    assert f"Building remotely on {pod} (haimaxy-jnlp" in console
    assert "in workspace /home/jenkins/agent/workspace/seed" in console
    assert "+ kubectl get pods -n kube-ops" in console
    assert pod in console.split("+ kubectl get pods -n kube-ops", 1)[1]       # the agent sees itself Running
    assert "Cannot connect to the Docker daemon" in console
    assert "JENKINS_SECRET" in console and "********" in console            # raw YAML, secret masked
    t.join(timeout=60)
    stop.set()
    kinds = [e[0] for e in events if e[1] == pod]
    assert kinds and kinds[0] == "ADDED" and kinds[-1] == "DELETED", (events, errors)
    labels = next(e[2] for e in events if e[1] == pod)
    assert labels["jenkins"] == "slave" and labels["jenkins/label"] == "haimaxy-jnlp"
    assert labels["kubernetes.jenkins.io/controller"] == "http___jenkins_kube-ops_svc_cluster_local_8080x"
    assert len(labels["jenkins/label-digest"]) == 40
    # node gone, agent log had the plugin's lines
    wait(lambda: pod not in [n["name"] for n in env.server.get_nodes()], timeout=20, what="node removed")
    j = env.jenkins_instance()
    wait(lambda: any(f"Terminated Kubernetes instance for agent kube-ops/{pod}" in line for line in j.logs),
         timeout=10, what="termination logged")


def test_node_without_kubeconfig_fails_the_step(env):
    env.server.create_job("nokube", freestyle("no-kube", "kubectl get pods"))
    info, console = run_build(env, "nokube")
    assert info["result"] == "FAILURE", console
    assert info["builtOn"].startswith("no-kube-")
    assert "+ kubectl get pods" in console
    assert "Build step 'Execute shell' marked build as failure" in console
    # no kubeconfig on node2: kubectl falls back to the in-cluster config (client-go
    # rest.InClusterConfig via KUBERNETES_SERVICE_HOST + the mounted SA token) of the pod's
    # ServiceAccount "default", which may not list pods
    assert ('pods is forbidden: User "system:serviceaccount:kube-ops:default" cannot list resource "pods" '
            'in API group "" in the namespace "kube-ops"') in console, console


def test_wrong_jenkins_url_never_connects_and_pod_is_deleted(env):
    env.server.create_job("badurl", freestyle("bad-url", "true"))
    qid = env.server.build_job("badurl")
    seen = {}

    def pod_appeared():
        pods = env.pods(NS, "jenkins/label=bad-url")
        if pods:
            seen["name"] = pods[0]["metadata"]["name"]
        return pods
    wait(pod_appeared, timeout=30, what="bad-url agent pod")
    name = seen["name"]
    st, _, computer_log = env.http(f"{env.url}/computer/{name}/log")
    assert st == 200 and f"Created Pod: wrong-url kube-ops/{name}" in computer_log, computer_log
    whys = ("All nodes of label \u2018bad-url\u2019 are offline", f"\u2018{name}\u2019 is offline")
    wait(lambda: env.server.get_queue_item(qid)["why"] in whys, timeout=5, what="queue why")
    # the agent keeps failing to locate the server (wrong namespace in the URL)
    log = wait(lambda: (lambda p: p.stdout if "Could not locate server" in p.stdout else None)(
        env.kubectl("logs", "-n", NS, name, check=False)), timeout=20, what="agent log")
    assert ("Could not locate server among [http://jenkins.wrong-ns.svc.cluster.local:8080/]: Failed to connect to "
            "http://jenkins.wrong-ns.svc.cluster.local:8080/tcpSlaveAgentListener/: "
            "jenkins.wrong-ns.svc.cluster.local: Name or service not known") in log
    # after slaveConnectTimeout (4 s) the plugin gives up and deletes the pod; the item stays queued
    wait(lambda: not any(p["metadata"]["name"] == name for p in env.pods(NS, "jenkins/label=bad-url")),
         timeout=40, what="bad pod deleted")
    j = env.jenkins_instance()
    wait(lambda: any("Agent is not connected after 4 seconds, status: Running" in line for line in j.logs),
         timeout=10, what="launch failure logged")
    wait(lambda: any(f"Terminated Kubernetes instance for agent kube-ops/{name}" in line for line in j.logs),
         timeout=10, what="termination logged")
    item = env.server.get_queue_item(qid)
    assert "executable" not in item or not item.get("executable")
    assert item["_class"] == "hudson.model.Queue$BuildableItem"
    env.server.cancel_queue(qid)


def test_service_account_without_pod_rights_logs_403(env):
    env.server.create_job("norbac", freestyle("no-rbac", "true"))
    qid = env.server.build_job("norbac")
    j = env.jenkins_instance()
    line = wait(lambda: next((l for l in j.logs if "Error in provisioning" in l and "no-rbac-" in l), None),
                timeout=30, what="provisioning failure in the log")
    assert ('Failure executing: GET at: https://10.96.0.1/api/v1/namespaces/default/pods/no-rbac-' in line)
    assert ('pods "no-rbac-' in line and 'is forbidden: User "system:serviceaccount:kube-ops:jenkins" cannot get '
            'resource "pods" in API group "" in the namespace "default"' in line), line
    item = env.server.get_queue_item(qid)
    assert item["_class"] == "hudson.model.Queue$BuildableItem" and not item.get("cancelled")
    assert not env.pods("default", "jenkins/label=no-rbac")
    env.server.cancel_queue(qid)


def test_unknown_casc_attribute_is_a_503_boot_failure(env):
    bad = json.loads(json.dumps(CASC))
    bad["jenkins"]["clouds"] = [{"kubernetes": {"name": "kubernetes", "templates": [{"name": "x", "agentTimeout": 5}]}}]
    env.apply(manifests(bad, storage="emptyDir", name="jenkins-bad", ns="casc-bad"))
    # the readiness probe (/login) never passes, so the Service has no ready endpoint; talk to the
    # pod IP directly (as kubectl port-forward would)
    pod = wait(lambda: next((p for p in env.pods("casc-bad", "app=jenkins-bad")
                             if (p.get("status") or {}).get("podIP")), None), timeout=30, what="pod IP")
    addr = {}

    def failed():
        try:
            addr["hp"] = env.cluster.resolver.resolve(pod["status"]["podIP"], 8080)
        except OSError:
            return None       # container not started yet: nothing listens on the pod IP
        st, _, body = env.http("http://%s:%d/login" % addr["hp"], auth=False)
        return body if st == 503 and "Invalid configuration elements" in body else None
    body = wait(failed, timeout=60, what="JCasC boot failure page")
    host, port = addr["hp"]
    assert "PodTemplate : agentTimeout" in body
    time.sleep(1.5)
    st, _, _ = env.http(f"http://{host}:{port}/api/json")
    assert st == 503
    ev = wait(lambda: [e for e in env.store.list("", "v1", "events", namespace="casc-bad")[0]
                       if e.get("reason") == "Unhealthy"], timeout=30, what="Unhealthy event")
    assert "503" in ev[0]["message"], ev
    assert not env.pods("casc-bad", "app=jenkins-bad")[0]["status"]["containerStatuses"][0]["ready"]


def test_controller_restart_keeps_jobs_on_pv_and_loses_them_on_emptydir(env):
    # PV-backed seed controller: delete the pod, the Deployment brings a new one on the same PV
    old = env.pods(NS, "app=jenkins")[0]["metadata"]["name"]
    env.kubectl("delete", "pod", "-n", NS, old, "--wait=false")

    def new_up():
        pods = env.pods(NS, "app=jenkins")
        if [p for p in pods if p["metadata"]["name"] == old] or not pods:
            return False
        st, _, _ = env.http(env.url + "/api/json")
        return st == 200
    wait(new_up, timeout=90, what="new controller pod up")
    # a fresh client: the old one's kept-alive connection belonged to the killed controller
    server = pyjenkins.Jenkins(env.url, username="admin", password=ADMIN_PASSWORD, timeout=30)
    env.server = server          # (its cached crumb belonged to the old controller's session)
    assert server.job_exists("seed")
    assert server.get_job_info("seed")["lastBuild"]["number"] == 1
    # emptyDir controller: jobs are gone with the pod
    docs = manifests(storage="emptyDir", name="jenkins-tmp", ns="tmp-home")
    env.apply(docs)
    url = env.node_port_url("tmp-home", "jenkins-tmp")
    wait(lambda: env.http(url + "/login", auth=False)[0] == 200, timeout=90, what="emptyDir controller up")
    srv = pyjenkins.Jenkins(url, username="admin", password=ADMIN_PASSWORD, timeout=30)
    srv.create_job("ephemeral", freestyle("haimaxy-jnlp", "true"))
    assert srv.job_exists("ephemeral")
    assert env.http(url + "/job/ephemeral/api/json")[0] == 200
    old = env.pods("tmp-home", "app=jenkins-tmp")[0]["metadata"]["name"]
    env.kubectl("delete", "pod", "-n", "tmp-home", old, "--wait=false")

    def tmp_up_again():
        pods = env.pods("tmp-home", "app=jenkins-tmp")
        if [p for p in pods if p["metadata"]["name"] == old] or not pods:
            return False
        return env.http(url + "/api/json")[0] == 200
    wait(tmp_up_again, timeout=90, what="emptyDir controller back")
    assert env.http(url + "/job/ephemeral/api/json")[0] == 404


def test_pod_retention_always_keeps_the_pod(env):
    env.server.create_job("keep", freestyle("keep-pod", "echo kept"))
    info, console = run_build(env, "keep")
    assert info["result"] == "SUCCESS", console
    pod = info["builtOn"]
    wait(lambda: pod not in [n["name"] for n in env.server.get_nodes()], timeout=20, what="node removed")
    j = env.jenkins_instance()
    wait(lambda: any(f"Agent pod {pod} was not deleted due to retention policy Always." in l for l in j.logs),
         timeout=10, what="retention logged")
    time.sleep(1)
    [p] = [p for p in env.pods(NS, "jenkins/label=keep-pod") if p["metadata"]["name"] == pod]
    assert not p["metadata"].get("deletionTimestamp")
    env.kubectl("delete", "pod", "-n", NS, pod, "--wait=false")


def test_instance_cap_limits_concurrent_agent_pods(env):
    env.server.create_job("capped-a", freestyle("capped", "sleep 1"))
    env.server.create_job("capped-b", freestyle("capped", "sleep 1"))
    seen = set()
    peak = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            live = [p["metadata"]["name"] for p in env.pods(NS, "jenkins/label=capped")
                    if not p["metadata"].get("deletionTimestamp")]
            seen.update(live)
            peak.append(len(live))
            time.sleep(0.05)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    qa, qb = env.server.build_job("capped-a"), env.server.build_job("capped-b")
    for job, q in (("capped-a", qa), ("capped-b", qb)):
        item = wait(lambda: (env.server.get_queue_item(q) or {}).get("executable"), timeout=90, what=job)
        wait(lambda: (lambda i: i if i.get("result") else None)(env.server.get_build_info(job, item["number"])),
             timeout=90, what=f"{job} result")
    stop.set()
    t.join()
    assert max(peak) == 1, peak                 # instanceCap 1: never two capped pods at once
    assert len(seen) == 2                        # one one-shot pod per build


def test_websocket_agent_needs_only_the_http_url(env):
    # no jenkinsTunnel and the "jenkins" Service has no port 50000: a TCP agent would fail with
    # "provided port:50000 is not reachable"; a WebSocket agent only needs JENKINS_URL
    env.server.create_job("ws", freestyle("ws-agent", "echo ws=$JENKINS_WEB_SOCKET"))
    info, console = run_build(env, "ws")
    assert info["result"] == "SUCCESS", console
    assert "ws=true" in console and "JENKINS_TUNNEL" not in console


def test_idle_agent_is_reused_and_reaped_when_its_pod_is_deleted(env):
    env.server.create_job("idle-a", freestyle("idle", "echo one"))
    info1, _ = run_build(env, "idle-a")
    info2, _ = run_build(env, "idle-a")
    assert info1["result"] == info2["result"] == "SUCCESS"
    pod = info1["builtOn"]
    assert info2["builtOn"] == pod                        # CloudRetentionStrategy: kept while idle
    assert [p for p in env.pods(NS, "jenkins/label=idle") if p["metadata"]["name"] == pod]
    env.kubectl("delete", "pod", "-n", NS, pod, "--wait=false")
    wait(lambda: pod not in [n["name"] for n in env.server.get_nodes()], timeout=30,
         what="node removed after its pod was deleted")
