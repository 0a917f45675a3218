"""Authentication and RBAC for ServiceAccount tokens, with upstream's 401/403 answers."""
import base64
import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException


def _token(sb, ns, sa):
    status, body = sb.request("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (ns, sa),
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                               "spec": {"expirationSeconds": 3600}})
    assert status == 201, body
    assert body["kind"] == "TokenRequest" and body["status"]["expirationTimestamp"]
    return body["status"]["token"]


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}


def test_no_or_bad_token_is_401(api_sandbox):
    for token in (False, "not-a-token", "a.b.c"):
        status, body = api_sandbox.request("GET", "/api/v1/namespaces", token=token)
        assert status == 401
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    status, body = api_sandbox.request("GET", "/version", token=False)
    assert status == 200   # public info, as system:public-info-viewer allows


def test_service_account_without_binding_gets_real_403(api_sandbox, ns):
    api_sandbox.kubectl("create", "serviceaccount", "bot", "-n", ns)
    token = _token(api_sandbox, ns, "bot")
    status, body = api_sandbox.request("POST", "/api/v1/namespaces/%s/pods" % ns, POD, token=token)
    assert status == 403
    assert body["reason"] == "Forbidden" and body["code"] == 403
    assert body["message"] == ('pods is forbidden: User "system:serviceaccount:%s:bot" cannot create '
                               'resource "pods" in API group "" in the namespace "%s"' % (ns, ns))
    assert body["details"] == {"kind": "pods"}
    status, body = api_sandbox.request("GET", "/api/v1/nodes", token=token)
    assert body["message"] == ('nodes is forbidden: User "system:serviceaccount:%s:bot" cannot list '
                               'resource "nodes" in API group "" at the cluster scope' % ns)
    status, body = api_sandbox.request("GET", "/apis/apps/v1/namespaces/%s/deployments/x" % ns, token=token)
    assert body["message"] == ('deployments.apps "x" is forbidden: User "system:serviceaccount:%s:bot" '
                               'cannot get resource "deployments" in API group "apps" in the namespace "%s"'
                               % (ns, ns))
    # discovery is allowed to every authenticated user (system:discovery)
    status, _ = api_sandbox.request("GET", "/apis/apps/v1", token=token)
    assert status == 200
    # and the admin API is not
    status, body = api_sandbox.request("GET", "/_sandbox/requests", token=token)
    assert status == 403


def test_namespace_role_allows_pods_there_and_nowhere_else(api_sandbox, ns):
    other = api_sandbox.new_namespace("other")
    k = api_sandbox.kubectl
    k("create", "serviceaccount", "jenkins", "-n", ns)
    k("create", "role", "pods", "-n", ns, "--verb=create,delete,get,list,watch",
      "--resource=pods", "--resource=pods/log")
    k("create", "rolebinding", "jenkins-pods", "-n", ns, "--role=pods", "--serviceaccount=%s:jenkins" % ns)
    token = _token(api_sandbox, ns, "jenkins")
    core = client.CoreV1Api(api_sandbox.client(token=token))
    created = core.create_namespaced_pod(ns, POD)
    assert created.metadata.name == "p"
    assert [p.metadata.name for p in core.list_namespaced_pod(ns).items] == ["p"]
    core.delete_namespaced_pod("p", ns)
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod(other, POD)
    assert exc.value.status == 403 and json.loads(exc.value.body)["message"] == (
        'pods is forbidden: User "system:serviceaccount:%s:jenkins" cannot create resource "pods" in API '
        'group "" in the namespace "%s"' % (ns, other))
    with pytest.raises(ApiException) as exc:
        core.list_pod_for_all_namespaces()
    assert "at the cluster scope" in json.loads(exc.value.body)["message"]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    assert 'cannot create resource "configmaps"' in json.loads(exc.value.body)["message"]
    # subresources are separate resources: pods/exec is not granted, pods/log is
    status, body = api_sandbox.request("POST", "/api/v1/namespaces/%s/pods/p/exec?command=ls" % ns, token=token)
    assert status == 403 and 'cannot create resource "pods/exec"' in body["message"]
    # SelfSubjectAccessReview agrees
    authz = client.AuthorizationV1Api(api_sandbox.client(token=token))
    for verb, namespace, expect in (("create", ns, True), ("create", other, False), ("update", ns, False)):
        review = authz.create_self_subject_access_review({"spec": {"resourceAttributes": {
            "namespace": namespace, "verb": verb, "resource": "pods"}}})
        assert review.status.allowed is expect, (verb, namespace)


def test_resource_names_groups_and_cluster_roles(api_sandbox, ns):
    k = api_sandbox.kubectl
    k("create", "serviceaccount", "reader", "-n", ns)
    k("create", "configmap", "allowed", "-n", ns)
    k("create", "configmap", "secret-ish", "-n", ns)
    k("create", "role", "one-cm", "-n", ns, "--verb=get", "--resource=configmaps", "--resource-name=allowed")
    k("create", "rolebinding", "one-cm", "-n", ns, "--role=one-cm", "--serviceaccount=%s:reader" % ns)
    token = _token(api_sandbox, ns, "reader")
    st, _ = api_sandbox.request("GET", "/api/v1/namespaces/%s/configmaps/allowed" % ns, token=token)
    assert st == 200
    st, body = api_sandbox.request("GET", "/api/v1/namespaces/%s/configmaps/secret-ish" % ns, token=token)
    assert st == 403 and body["message"].startswith('configmaps "secret-ish" is forbidden')
    # a ClusterRole bound to the group of all service accounts of the namespace
    k("create", "rolebinding", "view-all", "-n", ns, "--clusterrole=view", "--group=system:serviceaccounts:%s" % ns)
    st, _ = api_sandbox.request("GET", "/api/v1/namespaces/%s/configmaps" % ns, token=token)
    assert st == 200
    st, _ = api_sandbox.request("GET", "/api/v1/namespaces/default/configmaps", token=token)
    assert st == 403
    # a ClusterRoleBinding makes it cluster-wide; wildcard verbs
    k("create", "clusterrole", "ns-reader-%s" % ns, "--verb=*", "--resource=namespaces")
    k("create", "clusterrolebinding", "ns-reader-%s" % ns, "--clusterrole=ns-reader-%s" % ns,
      "--serviceaccount=%s:reader" % ns)
    st, _ = api_sandbox.request("GET", "/api/v1/namespaces", token=token)
    assert st == 200


def test_legacy_token_secret_and_revocation(api_sandbox, ns):
    k = api_sandbox.kubectl
    k("create", "serviceaccount", "legacy", "-n", ns)
    k("apply", "--validate=false", "-f", "-", input=(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: legacy-token\n  namespace: %s\n  annotations:\n"
        "    kubernetes.io/service-account.name: legacy\ntype: kubernetes.io/service-account-token\n" % ns))
    secret = json.loads(k("get", "secret", "legacy-token", "-n", ns, "-o", "json").stdout)
    assert base64.b64decode(secret["data"]["namespace"]).decode() == ns
    assert base64.b64decode(secret["data"]["ca.crt"]).decode() == open(api_sandbox.ca_file).read()
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert token.count(".") == 2   # JWT-shaped
    status, body = api_sandbox.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                       {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                       token=token)
    assert status == 201
    assert body["status"]["userInfo"]["username"] == "system:serviceaccount:%s:legacy" % ns
    assert "system:serviceaccounts:%s" % ns in body["status"]["userInfo"]["groups"]
    k("delete", "secret", "legacy-token", "-n", ns)
    status, _ = api_sandbox.request("GET", "/api", token=token)
    assert status == 401, "a deleted token Secret revokes its token"
    bound = _token(api_sandbox, ns, "legacy")
    assert api_sandbox.request("GET", "/api", token=bound)[0] == 200
    k("delete", "serviceaccount", "legacy", "-n", ns)
    assert api_sandbox.request("GET", "/api", token=bound)[0] == 401, "tokens die with their ServiceAccount"


def test_kubectl_with_a_service_account_kubeconfig(api_sandbox, ns, tmp_path):
    k = api_sandbox.kubectl
    k("create", "serviceaccount", "agent", "-n", ns)
    token = k("create", "token", "agent", "-n", ns).stdout.strip()
    cfg = tmp_path / "sa.kubeconfig"
    k("config", "view", "--raw", "--minify", "-o", "json")
    raw = json.loads(k("config", "view", "--raw", "--minify", "-o", "json").stdout)
    raw["users"][0]["user"] = {"token": token}
    cfg.write_text(json.dumps(raw))
    import subprocess
    r = subprocess.run(["kubectl", "--kubeconfig", str(cfg), "get", "pods", "-n", ns],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert ('Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:%s:agent" cannot '
            'list resource "pods" in API group "" in the namespace "%s"' % (ns, ns)) in r.stderr
    r = subprocess.run(["kubectl", "--kubeconfig", str(cfg), "auth", "can-i", "list", "pods", "-n", ns],
                       capture_output=True, text=True)
    assert r.stdout.strip() == "no"
