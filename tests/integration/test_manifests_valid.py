# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every manifest the controller role renders is valid against the real Kubernetes OpenAPI schemas
(kubernetes-validate, strict: unknown fields are errors) for each Kubernetes version the collection
claims (1.29-1.33), for the default settings and for every storage/RBAC/workload/network variant.

The manifests come from the role itself (tasks_from: render, the same templates the apply tasks
use), rendered by ansible-playbook; no cluster is needed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

REPO = Path(__file__).resolve().parents[2]
VERSIONS = ["1.29.0", "1.30.0", "1.31.0", "1.32.0", "1.33.0"]
BIN = Path(sys.executable).parent

VARIANTS = {
    "defaults": {},
    "statefulset-hostpath-pinned-cluster-admin-ingress": {
        "controller_workload_kind": "StatefulSet",
        "controller_storage_hostpath_node": "node1",
        "controller_rbac_mode": "cluster-admin-like",
        "controller_ingress_enabled": True,
        "controller_ingress_host": "jenkins.example.com",
        "controller_ingress_class_name": "nginx",
        "controller_ingress_tls_secret": "jenkins-tls",
        "controller_ingress_annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "50m"},
        "controller_service_node_port": 30080,
        "controller_casc_extra": {"welcome": {"jenkins": {"systemMessage": "hi"}}, "raw": "unclassified: {}\n"},
        "controller_additional_plugins": ["timestamper:1.27"],
        "controller_admin_password": "s3cret-enough",
    },
    "nfs-clusterip": {
        "controller_storage_mode": "nfs",
        "controller_storage_nfs_server": "192.0.2.20",
        "controller_storage_nfs_path": "/exports/jenkins",
        "controller_service_type": "ClusterIP",
        "controller_rbac_read_secrets": True,
        "controller_rbac_extra_rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    },
    "storageclass-loadbalancer": {
        "controller_storage_mode": "storageclass",
        "controller_storage_class": "fast",
        "controller_service_type": "LoadBalancer",
        "controller_node_selector": {"disk": "ssd"},
        "controller_tolerations": [{"key": "ci", "operator": "Exists", "effect": "NoSchedule"}],
        "controller_extra_objects": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-ops"}, "data": {}},
        ],
    },
}

def render_all(tmp_path):
    """One ansible-playbook run, one play per variant (each play has its own variables)."""
    plays = []
    for name, extra in VARIANTS.items():
        variables = dict(extra, controller_render_dir=str(tmp_path / name))
        plays.append({
            "name": "Render %s" % name, "hosts": "localhost", "gather_facts": False, "vars": variables,
            "tasks": [{"name": "Render", "ansible.builtin.include_role": {
                "name": "kubeops.jenkins.controller", "tasks_from": "render"}}],
        })
    play = tmp_path / "render.yml"
    play.write_text(json.dumps(plays))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", HOME=str(tmp_path))
    proc = subprocess.run([str(BIN / "ansible-playbook"), str(play)],
                          cwd=str(REPO), env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    rendered = {}
    for name in VARIANTS:
        docs = []
        with open(tmp_path / name / "manifests.yaml", encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if doc:
                    docs.append(("%s/%s" % (doc.get("kind"), doc.get("metadata", {}).get("name")), doc))
        rendered[name] = docs
    return rendered


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_all(tmp_path_factory.mktemp("manifests"))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_valid(rendered, variant, version):
    docs = rendered[variant]
    assert docs
    for name, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail("%s (%s) is invalid for Kubernetes %s: %s at %s"
                        % (name, variant, version, exc.message, "/".join(str(p) for p in exc.path)))


def kinds(docs):
    return sorted(doc["kind"] for _, doc in docs)


def test_default_objects(rendered):
    assert kinds(rendered["defaults"]) == sorted([
        "Namespace", "ServiceAccount", "Role", "RoleBinding", "PersistentVolume", "PersistentVolumeClaim",
        "ConfigMap", "ConfigMap", "Service", "Service", "Secret", "Deployment"])


def test_variant_objects(rendered):
    assert "ClusterRole" in kinds(rendered["statefulset-hostpath-pinned-cluster-admin-ingress"])
    assert "Role" not in kinds(rendered["statefulset-hostpath-pinned-cluster-admin-ingress"])
    assert "Ingress" in kinds(rendered["statefulset-hostpath-pinned-cluster-admin-ingress"])
    assert "StatefulSet" in kinds(rendered["statefulset-hostpath-pinned-cluster-admin-ingress"])
    assert "PersistentVolume" not in kinds(rendered["storageclass-loadbalancer"])


def test_workload_follows_the_design(rendered):
    deployment = next(doc for _, doc in rendered["defaults"] if doc["kind"] == "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["fsGroup"] == 1000 and pod["securityContext"]["runAsUser"] == 1000
    init = pod["initContainers"][0]
    jenkins = pod["containers"][0]
    assert init["image"] == jenkins["image"] and jenkins["image"].startswith("jenkins/jenkins:")
    assert init["command"] == ["jenkins-plugin-cli"]
    env = {e["name"]: e for e in jenkins["env"]}
    assert "-Djenkins.install.runSetupWizard=false" in env["JAVA_OPTS"]["value"]
    assert env["CASC_JENKINS_CONFIG"]["value"] == "/var/jenkins_home/casc_configs"
    assert env["JENKINS_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "jenkins-admin"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert jenkins[probe]["httpGet"]["path"] == "/login"
    casc = next(v for v in pod["volumes"] if v["name"] == "casc-config")["projected"]["sources"]
    assert [s["configMap"]["name"] for s in casc] == ["jenkins-casc", "jenkins-casc-managed"]
    assert casc[1]["configMap"]["optional"] is True
    assert "checksum/config" in spec["template"]["metadata"]["annotations"]


def test_casc_document(rendered):
    casc_cm = next(doc for _, doc in rendered["defaults"]
                   if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "jenkins-casc")
    casc = yaml.safe_load(casc_cm["data"]["jenkins.yaml"])
    assert casc["jenkins"]["numExecutors"] == 0
    assert casc["jenkins"]["slaveAgentPort"] == 50000
    assert casc["jenkins"]["securityRealm"]["local"]["users"][0]["password"] == "${JENKINS_ADMIN_PASSWORD}"
    assert casc["jenkins"]["authorizationStrategy"] == {"loggedInUsersCanDoAnything": {"allowAnonymousRead": False}}
    assert casc["unclassified"]["location"]["url"] == "http://jenkins.kube-ops.svc.cluster.local:8080/"
    extra = next(doc for _, doc in rendered["statefulset-hostpath-pinned-cluster-admin-ingress"]
                 if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "jenkins-casc")
    assert set(extra["data"]) == {"jenkins.yaml", "welcome.yaml", "raw.yaml"}


def test_secret_is_not_the_placeholder_when_given(rendered):
    secret = next(doc for _, doc in rendered["statefulset-hostpath-pinned-cluster-admin-ingress"] if doc["kind"] == "Secret")
    import base64
    assert base64.b64decode(secret["data"]["jenkins-admin-password"]).decode() == "s3cret-enough"
