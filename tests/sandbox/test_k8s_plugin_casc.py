"""JCasC model of the Kubernetes plugin emulation: strictness, clamping, symbols, export, ids."""

import pytest
import yaml

from sandbox.jenkins.extension import ConfigurationContext, ConfiguratorError
from sandbox.jenkins.kubernetes_plugin import casc
from sandbox.jenkins.kubernetes_plugin.casc import configure_cloud, export_cloud

SEED = """
name: kubernetes
namespace: kube-ops
jenkinsUrl: http://jenkins.kube-ops.svc.cluster.local:8080
jenkinsTunnel: jenkins-agent.kube-ops.svc.cluster.local:50000
containerCapStr: "10"
templates:
- name: haimaxy-jnlp
  label: haimaxy-jnlp
  serviceAccount: jenkins
  slaveConnectTimeout: 100
  containers:
  - name: jnlp
    image: jenkins/inbound-agent:3355.v388858a_47b_33-3-jdk21
    workingDir: /home/jenkins/agent
  volumes:
  - hostPathVolume: {hostPath: /var/run/docker.sock, mountPath: /var/run/docker.sock}
  - hostPathVolume: {hostPath: /root/.kube, mountPath: /home/jenkins/.kube}
"""


def ctx(**kw):
    return ConfigurationContext(**kw)


def cfg(text_or_dict, **kw):
    doc = yaml.safe_load(text_or_dict) if isinstance(text_or_dict, str) else text_or_dict
    return configure_cloud(doc, ctx(**kw))


def test_seed_cloud_configures_and_exports_like_jcasc():
    cloud = cfg(SEED)
    assert cloud.name == "kubernetes"
    assert cloud.get("containerCap") == 10
    t = cloud.templates[0]
    assert t.get_slaveConnectTimeout() == 100
    exported = export_cloud(cloud)
    # keys sorted, defaults left out, constructor args included, containerCap + Str both differ
    assert list(exported) == sorted(exported)
    assert exported["containerCap"] == 10 and exported["containerCapStr"] == "10"
    assert "connectTimeout" not in exported and "readTimeout" not in exported
    assert "podLabels" not in exported          # default jenkins=slave equals the reference
    et = exported["templates"][0]
    assert et["id"] == t.id
    assert et["slaveConnectTimeout"] == 100 and et["slaveConnectTimeoutStr"] == "100"
    assert et["volumes"][0] == {"hostPathVolume": {"hostPath": "/var/run/docker.sock",
                                                   "mountPath": "/var/run/docker.sock", "readOnly": False}}
    assert et["containers"] == [{"image": "jenkins/inbound-agent:3355.v388858a_47b_33-3-jdk21",
                                 "name": "jnlp", "workingDir": "/home/jenkins/agent"}]
    assert "nodeUsageMode" not in et and "podRetention" not in et and "workspaceVolume" not in et


def test_export_round_trips():
    cloud = cfg(SEED)
    again = configure_cloud(export_cloud(cloud), ctx())
    assert export_cloud(again) == export_cloud(cloud)


def test_unknown_attribute_lists_available_attributes_of_podtemplate():
    with pytest.raises(ConfiguratorError) as ei:
        cfg({"name": "k", "templates": [{"name": "x", "agentConnectTimeout": 5}]})
    msg = str(ei.value)
    assert msg.startswith("Invalid configuration elements for type: class "
                          "org.csanchez.jenkins.plugins.kubernetes.PodTemplate : agentConnectTimeout.\n"
                          "Available attributes : activeDeadlineSeconds, activeDeadlineSecondsStr, agentContainer")
    avail = msg.split("Available attributes : ")[1].split(", ")
    assert avail == sorted(avail)
    assert "slaveConnectTimeout" in avail and "id" in avail
    # deprecated setters and un-handleable properties are not offered
    for hidden in ("command", "args", "remoteFs", "privileged", "capOnlyOnAlivePods", "listener",
                   "resourceRequestCpu"):
        assert hidden not in avail


def test_unknown_attribute_on_cloud_and_container_and_volume():
    with pytest.raises(ConfiguratorError, match=r"class org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud : "
                                                 r"resources\.\nAvailable attributes : addMasterProxyEnvVars"):
        cfg({"name": "k", "resources": {}})
    with pytest.raises(ConfiguratorError, match=r"ContainerTemplate : resources\."):
        cfg({"name": "k", "templates": [{"containers": [{"name": "jnlp", "image": "x", "resources": {}}]}]})
    with pytest.raises(ConfiguratorError, match=r"volumes.HostPathVolume : type\.\nAvailable attributes : "
                                                 r"hostPath, mountPath, readOnly$"):
        cfg({"name": "k", "templates": [{"volumes": [{"hostPathVolume": {"hostPath": "/a", "mountPath": "/b",
                                                                          "type": "Directory"}}]}]})


def test_unknown_attribute_can_be_relaxed():
    c = ctx(unknown="warn")
    cloud = configure_cloud({"name": "k", "bogus": 1}, c)
    assert cloud.name == "k"
    assert any("Invalid configuration elements" in w for w in c.warnings)


@pytest.mark.parametrize("doc, attr", [
    ({"name": "k", "capOnlyOnAlivePods": True}, "capOnlyOnAlivePods"),
    ({"name": "k", "templates": [{"command": "cat"}]}, "command"),
    ({"name": "k", "templates": [{"remoteFs": "/x"}]}, "remoteFs"),
    ({"name": "k", "templates": [{"privileged": True}]}, "privileged"),
    ({"name": "k", "templates": [{"alwaysPullImage": True}]}, "alwaysPullImage"),
    ({"name": "k", "templates": [{"resourceLimitMemory": "1Gi"}]}, "resourceLimitMemory"),
])
def test_deprecated_setters_are_rejected(doc, attr):
    with pytest.raises(ConfiguratorError) as ei:
        cfg(doc)
    assert f"'{attr}' is deprecated" in str(ei.value)
    if "templates" in doc:
        assert str(ei.value) == f"Failed to configure 'templates': '{attr}' is deprecated"


def test_deprecated_relaxed_acts_on_first_container():
    cloud = cfg({"name": "k", "templates": [{"command": "cat", "resourceLimitMemory": "1Gi",
                                            "containers": [{"name": "jnlp", "image": "a"}, {"name": "b", "image": "b"}]}]},
                deprecated="warn")
    c0 = cloud.templates[0].get("containers")[0]
    assert c0.get("command") == "cat" and c0.get("resourceLimitMemory") == "1Gi"


def test_attribute_names_are_case_insensitive():
    cloud = cfg({"NAME": "k", "NameSpace": "ns", "TEMPLATES": [{"Label": "a b", "SLAVECONNECTTIMEOUT": 7}]})
    assert cloud.name == "k" and cloud.get("namespace") == "ns"
    assert cloud.templates[0].label == "a b" and cloud.templates[0].get_slaveConnectTimeout() == 7


def test_clamping_and_defaults():
    cloud = cfg({"name": "k", "connectTimeout": 1, "readTimeout": 3, "retentionTimeout": 0,
                 "maxRequestsPerHostStr": "nope", "templates": [{"slaveConnectTimeout": 0, "instanceCap": -1}]})
    assert cloud.get("connectTimeout") == 5
    assert cloud.get("readTimeout") == 15
    assert cloud.get("retentionTimeout") == 5
    assert cloud.get("maxRequestsPerHost") == 32
    t = cloud.templates[0]
    assert t.get_slaveConnectTimeout() == 1000           # <= 0 falls back to the default
    assert t.get("instanceCap") == 2 ** 31 - 1 and t.get_instanceCapStr() == ""
    cloud = cfg({"name": "k", "connectTimeout": 30, "readTimeout": 60})
    assert cloud.get("connectTimeout") == 30 and cloud.get("readTimeout") == 60
    assert export_cloud(cloud)["connectTimeout"] == 30


def test_string_typed_caps_and_bad_numbers():
    cloud = cfg({"name": "k", "containerCapStr": "", "templates": [{"slaveConnectTimeoutStr": "42",
                                                                    "instanceCapStr": "3"}]})
    assert cloud.get("containerCap") == 2 ** 31 - 1 and cloud.get_containerCapStr() == ""
    assert cloud.templates[0].get_slaveConnectTimeout() == 42 and cloud.templates[0].get("instanceCap") == 3
    with pytest.raises(ConfiguratorError, match="containerCapStr"):
        cfg({"name": "k", "containerCapStr": "ten"})


def test_node_selector_is_a_string_and_retention_symbols():
    cloud = cfg({"name": "k", "podRetention": "always",
                 "templates": [{"nodeSelector": "disk=ssd,zone=a", "podRetention": {"onFailure": {}},
                                "yamlMergeStrategy": "merge", "workspaceVolume": {"emptyDir": {"memory": True}}}]})
    t = cloud.templates[0]
    assert t.get("nodeSelector") == "disk=ssd,zone=a"
    ex = export_cloud(cloud)
    assert ex["podRetention"] == "always"
    et = ex["templates"][0]
    assert et["podRetention"] == "onFailure" and et["yamlMergeStrategy"] == "merge"
    assert et["workspaceVolume"] == {"emptyDirWorkspaceVolume": {"memory": True}}
    with pytest.raises(ConfiguratorError, match="No org.csanchez.jenkins.plugins.kubernetes.pod.retention.PodRetention "
                                                "implementation found for sometimes"):
        cfg({"name": "k", "podRetention": "sometimes"})


def test_cloud_default_retention_is_never_and_default_maps_to_never():
    cloud = cfg({"name": "k", "podRetention": "default"})
    assert type(cloud.get("podRetention")).__name__ == "Never"
    assert "podRetention" not in export_cloud(cloud)


def test_env_vars_volumes_labels_annotations():
    doc = {"name": "k", "podLabels": [{"key": "team", "value": "ci"}],
           "templates": [{"envVars": [{"envVar": {"key": "A", "value": "1"}},
                                      {"secretEnvVar": {"key": "B", "secretName": "s", "secretKey": "k"}}],
                          "annotations": [{"key": "x", "value": "y"}],
                          "volumes": [{"emptyDirVolume": {"mountPath": "/e", "memory": False}},
                                      {"persistentVolumeClaim": {"mountPath": "/p", "claimName": "c"}},
                                      {"secretVolume": {"mountPath": "/s", "secretName": "sec"}},
                                      {"configMapVolume": {"mountPath": "/c", "configMapName": "cm", "subPath": "f"}},
                                      {"nfsVolume": {"serverAddress": "n", "serverPath": "/x", "mountPath": "/n"}}]}]}
    cloud = cfg(doc)
    ex = export_cloud(cloud)
    assert ex["podLabels"] == [{"key": "team", "value": "ci"}]
    et = ex["templates"][0]
    assert et["envVars"] == [{"envVar": {"key": "A", "value": "1"}},
                             {"secretEnvVar": {"key": "B", "secretKey": "k", "secretName": "s"}}]
    assert [list(v)[0] for v in et["volumes"]] == ["emptyDirVolume", "persistentVolumeClaim", "secretVolume",
                                                   "configMapVolume", "nfsVolume"]


def test_symbols_obsolete_alias_warns():
    c = ctx()
    cloud = configure_cloud({"name": "k", "templates": [{"envVars": [{"keyValueEnvVar": {"key": "a", "value": "b"}}],
                                                         "workspaceVolume": {"emptyDirWorkspaceVolume": {}}}]}, c)
    assert any("'keyValueEnvVar' is obsolete, please use 'envVar'" in w for w in c.warnings)
    assert cloud.templates[0].get("envVars")[0].key() == "a"


def test_template_ids_random_when_missing_and_stable_when_given():
    a = cfg(SEED).templates[0].id
    b = cfg(SEED).templates[0].id
    assert a != b and len(a) == 36                      # UUID.randomUUID per configure (reload)
    doc = yaml.safe_load(SEED)
    doc["templates"][0]["id"] = "0123abcd"
    assert cfg(doc).templates[0].id == "0123abcd"
    assert export_cloud(cfg(doc))["templates"][0]["id"] == "0123abcd"


def test_missing_name_and_bad_image():
    with pytest.raises(ConfiguratorError):
        cfg({"namespace": "x"})
    with pytest.raises(ConfiguratorError, match="ContainerTemplate"):
        cfg({"name": "k", "templates": [{"containers": [{"name": "jnlp", "image": "bad image"}]}]})


def test_available_attributes_of_cloud_are_java_sorted():
    names = casc.available_attributes(casc.model.KubernetesCloud)
    assert names[:3] == ["addMasterProxyEnvVars", "connectTimeout", "containerCap"]
    assert "capOnlyOnAlivePods" not in names and "labels" not in names
    assert names.index("usageRestricted") < names.index("useJenkinsProxy")
