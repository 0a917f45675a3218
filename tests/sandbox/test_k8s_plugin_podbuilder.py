"""Agent pods as PodTemplateBuilder builds them: names, labels, env, volumes, defaults."""

import hashlib
import re

import yaml

from sandbox.jenkins.extension import ConfigurationContext
from sandbox.jenkins.kubernetes_plugin.casc import configure_cloud
from sandbox.jenkins.kubernetes_plugin.naming import sanitize_label, slave_name
from sandbox.jenkins.kubernetes_plugin.podbuilder import DEFAULT_AGENT_IMAGE, build_pod

JENKINS_URL = "http://jenkins.kube-ops.svc.cluster.local:8080/"


def cloud_of(doc):
    return configure_cloud(yaml.safe_load(doc), ConfigurationContext())


SEED = """
name: kubernetes
namespace: kube-ops
jenkinsUrl: http://jenkins.kube-ops.svc.cluster.local:8080
jenkinsTunnel: jenkins-agent.kube-ops.svc.cluster.local:50000
templates:
- name: haimaxy-jnlp
  label: haimaxy-jnlp
  serviceAccount: jenkins
  containers:
  - name: jnlp
    image: cnych/jenkins:jnlp6
    args: ${computer.jnlpmac} ${computer.name}
    workingDir: /home/jenkins/agent
  volumes:
  - hostPathVolume: {hostPath: /var/run/docker.sock, mountPath: /var/run/docker.sock}
  - hostPathVolume: {hostPath: /root/.kube, mountPath: /home/jenkins/.kube}
  - hostPathVolume: {hostPath: /other, mountPath: /home/jenkins/.kube/}
"""


def env_of(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_names_follow_podutils():
    for _ in range(50):
        n = slave_name("haimaxy-jnlp")
        assert re.fullmatch(r"haimaxy-jnlp-[bcdfghjklmnpqrstvwxz0-9]{5}", n)
    assert re.fullmatch(r"my-agent-x-[a-z0-9]{5}", slave_name("My Agent_X"))
    assert len(slave_name("a" * 100)) == 63
    assert slave_name(None).startswith("jenkins-agent-")
    assert slave_name("bad.name.").startswith("jenkins-agent-")      # invalid -> fallback


def test_sanitize_label():
    assert sanitize_label(JENKINS_URL) == "http___jenkins_kube-ops_svc_cluster_local_8080x"
    assert sanitize_label("http://jenkins.ci.svc.cluster.local:8080/") == "http___jenkins_ci_svc_cluster_local_8080x"
    long = "x" * 70 + "-end"
    assert sanitize_label(long) == long[-57:]


def test_seed_pod_shape():
    cloud = cloud_of(SEED)
    t = cloud.templates[0]
    pod = build_pod(t, cloud, "haimaxy-jnlp-abcde", "f" * 64, JENKINS_URL, now_ms=1234)
    md = pod["metadata"]
    assert md["name"] == "haimaxy-jnlp-abcde" and md["namespace"] == "kube-ops"
    assert md["labels"] == {"jenkins": "slave", "jenkins/label": "haimaxy-jnlp",
                            "jenkins/label-digest": hashlib.sha1(b"haimaxy-jnlp").hexdigest(),
                            "kubernetes.jenkins.io/controller": "http___jenkins_kube-ops_svc_cluster_local_8080x"}
    assert md["annotations"] == {"kubernetes.jenkins.io/last-refresh": "1234"}
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert spec["serviceAccountName"] == "jenkins"
    vols = {v["name"]: v for v in spec["volumes"]}
    # duplicate mount path (after normalisation) skipped: only volume-0, volume-1
    assert set(vols) == {"volume-0", "volume-1", "workspace-volume"}
    assert vols["volume-0"]["hostPath"] == {"path": "/var/run/docker.sock"}
    assert vols["volume-1"]["hostPath"] == {"path": "/root/.kube"}
    assert vols["workspace-volume"] == {"name": "workspace-volume", "emptyDir": {"medium": ""}}
    [jnlp] = spec["containers"]
    assert jnlp["image"] == "cnych/jenkins:jnlp6" and jnlp["imagePullPolicy"] == "IfNotPresent"
    assert jnlp["args"] == ["f" * 64, "haimaxy-jnlp-abcde"]       # ${computer.jnlpmac} ${computer.name}
    mounts = {m["mountPath"]: m["name"] for m in jnlp["volumeMounts"]}
    assert mounts == {"/var/run/docker.sock": "volume-0", "/home/jenkins/.kube": "volume-1",
                      "/home/jenkins/agent": "workspace-volume"}
    env = env_of(jnlp)
    assert env == {"JENKINS_SECRET": "f" * 64, "JENKINS_NAME": "haimaxy-jnlp-abcde",
                   "JENKINS_AGENT_NAME": "haimaxy-jnlp-abcde", "JENKINS_AGENT_WORKDIR": "/home/jenkins/agent",
                   "JENKINS_TUNNEL": "jenkins-agent.kube-ops.svc.cluster.local:50000",
                   "JENKINS_URL": JENKINS_URL, "REMOTING_OPTS": "-noReconnectAfter 1d"}
    assert jnlp["resources"] == {}     # container templates always carry (empty) resources


def test_default_jnlp_container_added_with_defaults():
    cloud = cloud_of("""
name: k
namespace: ns
webSocket: true
podLabels: [{key: a, value: b}]
templates:
- name: t
  label: one two
  nodeSelector: "disk=ssd,bogus,=x"
  envVars: [{envVar: {key: FOO, value: bar}}]
  containers:
  - {name: maven, image: maven:3, command: /bin/sh -c, args: cat, ttyEnabled: true}
  volumes:
  - emptyDirVolume: {mountPath: /cache, memory: true}
""")
    pod = build_pod(cloud.templates[0], cloud, "t-12345", "s", "http://j:8080/")
    spec = pod["spec"]
    names = [c["name"] for c in spec["containers"]]
    assert names == ["maven", "jnlp"]
    maven, jnlp = spec["containers"]
    assert maven["command"] == ["/bin/sh", "-c"] and maven["args"] == ["cat"] and maven["tty"] is True
    assert "JENKINS_SECRET" not in env_of(maven) and env_of(maven)["FOO"] == "bar"
    assert jnlp["image"] == DEFAULT_AGENT_IMAGE
    assert jnlp["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}}
    env = env_of(jnlp)
    assert env["JENKINS_WEB_SOCKET"] == "true" and env["FOO"] == "bar" and "JENKINS_TUNNEL" not in env
    assert spec["nodeSelector"] == {"disk": "ssd"}
    assert pod["metadata"]["labels"]["a"] == "b" and "jenkins" not in pod["metadata"]["labels"]
    assert pod["metadata"]["labels"]["jenkins/label"] == "one_two"
    # every container mounts the pod volumes and the workspace at /home/jenkins/agent
    for c in spec["containers"]:
        mp = {m["mountPath"] for m in c["volumeMounts"]}
        assert {"/cache", "/home/jenkins/agent"} <= mp
    assert {"name": "volume-0", "emptyDir": {"medium": "Memory"}} in spec["volumes"]


def test_namespace_precedence_and_retention_fields():
    cloud = cloud_of("""
name: k
namespace: cloud-ns
templates:
- {name: a, namespace: tmpl-ns, activeDeadlineSeconds: 30, yaml: "metadata: {namespace: yaml-ns}"}
- {name: b}
""")
    a, b = cloud.templates
    pa = build_pod(a, cloud, "a-1", "s", "http://j/")
    assert pa["metadata"]["namespace"] == "yaml-ns" and pa["spec"]["activeDeadlineSeconds"] == 30
    pb = build_pod(b, cloud, "b-1", "s", "http://j/")
    assert pb["metadata"]["namespace"] == "cloud-ns"
    assert pb["metadata"]["labels"]["jenkins/label"] == "slave-default"
    assert pb["metadata"]["labels"]["jenkins/label-digest"] == "0"


def test_yaml_merge_keeps_template_container_fields():
    cloud = cloud_of("""
name: k
templates:
- name: y
  yaml: |
    spec:
      nodeSelector: {pool: builds}
      containers:
      - name: jnlp
        resources: {limits: {memory: 1Gi}}
""")
    pod = build_pod(cloud.templates[0], cloud, "y-1", "s", "http://j/")
    assert pod["spec"]["nodeSelector"] == {"pool": "builds"}
    [jnlp] = pod["spec"]["containers"]
    assert jnlp["resources"] == {"limits": {"memory": "1Gi"}}   # yaml gave resources: no default requests
    assert env_of(jnlp)["JENKINS_URL"] == "http://j/"


def test_test_connection_outside_a_cluster_fails_like_fabric8():
    from sandbox.jenkins.kubernetes_plugin.connection import render, test_connection

    class J:          # a controller not running in a pod: no in-cluster context
        env = {}
    ok, msg = test_connection({"name": "k", "serverUrl": ""}, J())
    assert not ok
    assert msg == ("Error testing connection : java.io.IOException: kubernetes.default.svc: "
                   "Name or service not known")
    r = render(ok, msg)
    assert r.status == 200 and r.body.startswith('<div class="error">Error testing connection')
    assert test_connection({"name": "  "}, J()) == (False, "name is required")


def test_inherit_from_combines_parent_templates():
    from sandbox.jenkins.kubernetes_plugin.unwrap import unwrap
    cloud = cloud_of("""
name: k
namespace: ns
templates:
- name: base
  label: base
  serviceAccount: builder
  idleMinutes: 3
  envVars: [{envVar: {key: A, value: parent}}, {envVar: {key: B, value: parent}}]
  containers:
  - {name: jnlp, image: jenkins/inbound-agent:latest, workingDir: /home/jenkins/agent, resourceRequestCpu: 200m}
  volumes:
  - hostPathVolume: {hostPath: /root/.kube, mountPath: /home/jenkins/.kube}
- name: child
  label: child
  inheritFrom: base
  envVars: [{envVar: {key: B, value: child}}]
  containers:
  - {name: jnlp, image: jenkins/inbound-agent:other}
  - {name: tools, image: busybox}
""")
    base, child = cloud.templates
    t = unwrap(child, cloud.templates)
    assert t.id == child.id and t.name == "child" and t.label == "child"
    assert t.get("serviceAccount") == "builder" and t.get("idleMinutes") == 3
    assert {e.key(): e.get("value") for e in t.get("envVars")} == {"A": "parent", "B": "child"}
    jnlp = next(c for c in t.get("containers") if c.name == "jnlp")
    assert jnlp.get("image") == "jenkins/inbound-agent:other"
    assert jnlp.get("resourceRequestCpu") == "200m" and jnlp.get("workingDir") == "/home/jenkins/agent"
    assert [c.name for c in t.get("containers")] == ["jnlp", "tools"]
    pod = build_pod(t, cloud, "child-1", "s", "http://j/")
    assert pod["spec"]["serviceAccountName"] == "builder"
    assert any(v.get("hostPath", {}).get("path") == "/root/.kube" for v in pod["spec"]["volumes"])
    assert unwrap(base, cloud.templates) is base
