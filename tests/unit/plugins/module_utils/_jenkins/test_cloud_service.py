# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import cloud_service as cs

SEED_TEMPLATE = {
    "name": "haimaxy-jnlp", "label": "haimaxy-jnlp", "service_account": "jenkins", "slave_connect_timeout": 100,
    "containers": [{"name": "jnlp", "image": "jenkins/inbound-agent:latest", "args": "${computer.jnlpmac} ${computer.name}",
                    "env_vars": {"B": "2", "A": "1"}}],
    "volumes": [{"type": "host_path", "host_path": "/var/run/docker.sock", "mount_path": "/var/run/docker.sock"},
                {"type": "host_path", "host_path": "/root/.kube", "mount_path": "/home/jenkins/.kube", "read_only": True}],
    "node_selector": {"b": "2", "a": "1"},
}


def test_render_cloud_uses_plugin_attribute_names():
    cloud = cs.render_cloud({"name": "kubernetes", "namespace": "kube-ops", "server_url": "https://kubernetes.default",
                             "jenkins_url": "http://jenkins.kube-ops.svc.cluster.local:8080",
                             "jenkins_tunnel": "jenkins-agent.kube-ops.svc.cluster.local:50000", "container_cap": 10,
                             "max_requests_per_host": 32, "connect_timeout": 5, "read_timeout": 15,
                             "retention_timeout": 5, "pod_retention": "never", "pod_labels": {"team": "ci"},
                             "websocket": False, "templates": [SEED_TEMPLATE]})
    assert cloud["name"] == "kubernetes" and cloud["serverUrl"] == "https://kubernetes.default"
    assert cloud["jenkinsUrl"].endswith(":8080") and cloud["jenkinsTunnel"].endswith(":50000")
    assert cloud["containerCapStr"] == "10" and cloud["maxRequestsPerHostStr"] == "32"
    assert cloud["podRetention"] == "never" and cloud["podLabels"] == [{"key": "team", "value": "ci"}]
    assert cloud["webSocket"] is False
    template = cloud["templates"][0]
    assert list(template)[0] == "id"
    assert template["serviceAccount"] == "jenkins" and template["slaveConnectTimeout"] == 100
    assert template["nodeSelector"] == "a=1,b=2"
    assert template["containers"][0]["args"] == "^${computer.jnlpmac} ^${computer.name}"
    assert template["containers"][0]["envVars"] == [{"envVar": {"key": "A", "value": "1"}}, {"envVar": {"key": "B", "value": "2"}}]
    assert template["volumes"] == [
        {"hostPathVolume": {"hostPath": "/var/run/docker.sock", "mountPath": "/var/run/docker.sock"}},
        {"hostPathVolume": {"hostPath": "/root/.kube", "mountPath": "/home/jenkins/.kube", "readOnly": True}}]


def test_template_id_is_sha256_of_values_and_stable():
    first = cs.render_template(SEED_TEMPLATE)
    values = {k: v for k, v in first.items() if k != "id"}
    assert first["id"] == hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert cs.render_template(dict(SEED_TEMPLATE))["id"] == first["id"]
    assert cs.render_template(dict(SEED_TEMPLATE, label="other"))["id"] != first["id"]


def test_args_only_when_given():
    template = cs.render_template({"name": "t", "containers": [{"name": "jnlp", "image": "i"}]})
    assert "args" not in template["containers"][0]


@pytest.mark.parametrize("volume, expected", [
    ({"type": "empty_dir", "mount_path": "/m", "memory": True}, {"emptyDirVolume": {"mountPath": "/m", "memory": True}}),
    ({"type": "pvc", "claim_name": "c", "mount_path": "/m"}, {"persistentVolumeClaim": {"claimName": "c", "mountPath": "/m"}}),
    ({"type": "secret", "secret_name": "s", "mount_path": "/m"}, {"secretVolume": {"secretName": "s", "mountPath": "/m"}}),
    ({"type": "config_map", "config_map_name": "c", "mount_path": "/m"}, {"configMapVolume": {"configMapName": "c", "mountPath": "/m"}}),
    ({"type": "nfs", "server_address": "n", "server_path": "/e", "mount_path": "/m"},
     {"nfsVolume": {"serverAddress": "n", "serverPath": "/e", "mountPath": "/m"}}),
])
def test_render_volume(volume, expected):
    assert cs.render_volume(volume) == expected


BASE = {"name": "kubernetes"}


@pytest.mark.parametrize("params, message", [
    (dict(BASE, connect_timeout=4), "connect_timeout must be at least 5"),
    (dict(BASE, read_timeout=10), "read_timeout must be at least 15"),
    (dict(BASE, retention_timeout=1), "retention_timeout must be at least 5"),
    (dict(BASE, websocket=True, jenkins_tunnel="x:50000"), "jenkins_tunnel cannot be used with websocket"),
    (dict(BASE, websocket=True, direct_connection=True), "mutually exclusive"),
    (dict(BASE, container_cap=-1), "container_cap must not be negative"),
    (dict(BASE, templates=[{"name": "Haimaxy_JNLP"}]), "not a valid DNS-1123 label"),
    (dict(BASE, templates=[{"name": "a"}, {"name": "a"}]), "used twice"),
    (dict(BASE, templates=[{"name": "a", "label": "x && y"}]), "label-expression operators"),
    (dict(BASE, templates=[{"name": "a", "containers": [{"name": "JNLP", "image": "i"}]}]), "container name 'JNLP'"),
    (dict(BASE, templates=[{"name": "a", "volumes": [{"type": "host_path", "mount_path": "/m"}]}]), "needs host_path"),
    (dict(BASE, templates=[{"name": "a", "volumes": [{"type": "empty_dir", "mount_path": "/m", "host_path": "/x"}]}]),
     "host_path not used by a empty_dir volume"),
    (dict(BASE, templates=[{"name": "a", "volumes": [{"type": "empty_dir", "mount_path": "m"}]}]), "must be absolute"),
    (dict(BASE, templates=[{"name": "a", "volumes": [{"type": "empty_dir", "mount_path": "/m"},
                                                     {"type": "empty_dir", "mount_path": "/m"}]}]), "used twice"),
    ({"name": "bad/name"}, "cannot be a ConfigMap key"),
    (dict(BASE, namespace="Kube_Ops"), "namespace 'Kube_Ops' is not a valid Kubernetes namespace name"),
    (dict(BASE, server_url="kubernetes.default"), "server_url must be an http:// or https:// URL"),
    (dict(BASE, jenkins_url="ftp://jenkins"), "jenkins_url must be an http:// or https:// URL"),
    (dict(BASE, jenkins_tunnel="jenkins-agent"), "jenkins_tunnel must be host:port"),
])
def test_validate_rejects(params, message):
    with pytest.raises(cs.CloudSpecError if "ConfigMap" not in message else Exception, match=message):
        cs.validate(params)


@pytest.mark.parametrize("params", [
    dict(BASE, templates=[{"name": "haimaxy-jnlp", "label": "haimaxy-jnlp linux"}]),
    dict(BASE, connect_timeout=5, read_timeout=15, retention_timeout=5),
    dict(BASE, namespace="kube-ops", server_url="https://kubernetes.default", jenkins_url="http://jenkins.kube-ops:8080",
         jenkins_tunnel="jenkins-agent.kube-ops.svc.cluster.local:50000"),
    dict(BASE, jenkins_tunnel=":50000"),
])
def test_validate_accepts(params):
    cs.validate(params)


def test_cloud_differences_uses_defaults_and_aliases():
    cloud = {"name": "k", "connectTimeout": 5, "containerCapStr": "10", "templates": [{"id": "x", "name": "t", "instanceCap": 3}]}
    live = {"jenkins": {"clouds": [{"kubernetes": {"name": "other"}},
                                   {"kubernetes": {"name": "k", "containerCap": 10,
                                                   "templates": [{"id": "x", "name": "t", "instanceCapStr": "3"}]}}]}}
    assert not cs.cloud_differences(cloud, live)
    assert cs.cloud_differences(dict(cloud, readTimeout=20), live)
    assert cs.cloud_differences(cloud, {"jenkins": {"clouds": []}}).describe().startswith("/jenkins/clouds[kubernetes k]")


def test_cloud_differences_duplicate_is_reported():
    live = {"jenkins": {"clouds": [{"kubernetes": {"name": "k"}}, {"kubernetes": {"name": "k"}}]}}
    result = cs.cloud_differences({"name": "k"}, live)
    assert "defined 2 times" in result.warnings()[0]
