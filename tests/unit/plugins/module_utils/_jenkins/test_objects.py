# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import objects
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import KubeError
from ansible_collections.kubeops.jenkins.plugins.modules import kube_objects

LAST = objects.LAST_APPLIED_CONFIG_ANNOTATION

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "jenkins", "namespace": "kube-ops"},
           "spec": {"type": "NodePort", "selector": {"app": "j"},
                    "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}}


def live(desired, **extra_spec):
    """What the API server returns after a kubernetes.core apply of ``desired``: defaults added,
    last-applied annotation set."""
    obj = json.loads(json.dumps(desired))
    obj["metadata"].update(uid="u1", resourceVersion="7", managedFields=[{"manager": "x"}],
                           annotations={LAST: objects.last_applied(desired)})
    obj["spec"]["ports"][0].update(protocol="TCP", nodePort=30080)
    obj["spec"].update(clusterIP="10.96.0.10", sessionAffinity="None", **extra_spec)
    obj["status"] = {"loadBalancer": {}}
    return obj


@pytest.mark.parametrize("desired,actual,expected", [
    ({"a": 1}, {"a": 1, "b": 2}, None),
    ({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2], "c": 3}}, None),
    ({"a": {"b": [1, 2]}}, {"a": {"b": [2, 1]}}, ".a.b[0]"),
    ({"a": {"b": [1]}}, {"a": {"b": [1, 2]}}, ".a.b"),
    ({"a": "1"}, {"a": 1}, None),                      # int-or-string forms
    ({"a": True}, {"a": 1}, ".a"),                     # a bool is not a number
    ({"a": {"x": 1}}, {}, ".a"),
    ({"a": {}}, {}, None),                             # empty values the server drops
    ({"a": [{"n": "x", "v": 1}]}, {"a": [{"n": "x", "v": 2, "w": 0}]}, ".a[0].v"),
])
def test_first_difference(desired, actual, expected):
    assert objects.first_difference(desired, actual) == expected


def test_up_to_date_needs_both_the_annotation_and_the_fields():
    actual = live(SERVICE)
    assert objects.up_to_date(SERVICE, actual) == (True, None)
    drifted = live(SERVICE)
    drifted["spec"]["selector"] = {"app": "other"}
    assert objects.up_to_date(SERVICE, drifted) == (False, "live object differs at .spec.selector.app")
    # a field removed from the definition is still in the live object: the annotation tells
    smaller = json.loads(json.dumps(SERVICE))
    del smaller["spec"]["selector"]
    fresh, reason = objects.up_to_date(smaller, actual)
    assert not fresh and reason == "last-applied configuration differs"
    # an object never applied this way (no annotation) is written once
    unannotated = live(SERVICE)
    del unannotated["metadata"]["annotations"]
    assert objects.up_to_date(SERVICE, unannotated)[0] is False


def test_secret_string_data_is_compared_with_the_stored_data():
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
               "stringData": {"password": "pw1"}}
    stored = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "s", "namespace": "n", "annotations": {LAST: objects.last_applied(desired)}},
              "data": {"password": base64.b64encode(b"pw1").decode()}}
    assert objects.up_to_date(desired, stored) == (True, None)
    stored["data"]["password"] = base64.b64encode(b"pw2").decode()
    assert objects.up_to_date(desired, stored)[0] is False


def test_secret_values_and_display_hide_every_form():
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "pw1"},
              "data": {"q": base64.b64encode(b"pw2").decode()}}
    values = objects.secret_values(secret)
    assert {"pw1", base64.b64encode(b"pw1").decode(), "pw2", base64.b64encode(b"pw2").decode()} <= values
    shown = objects.for_display(secret)
    assert shown["stringData"] == {"p": "<hidden>"} and shown["data"] == {"q": "<hidden>"}
    assert objects.secret_values({"kind": "ConfigMap", "data": {"a": "b"}}) == set()


def test_for_display_drops_bookkeeping_and_status():
    shown = objects.for_display(live(SERVICE))
    assert "status" not in shown and "annotations" not in shown["metadata"]
    assert set(shown["metadata"]) == {"name", "namespace"}


def test_ref():
    assert objects.ref(SERVICE) == "Service kube-ops/jenkins"
    assert objects.ref({"kind": "Namespace", "metadata": {"name": "kube-ops"}}) == "Namespace kube-ops"
    assert objects.ref({"kind": "Role", "name": "r", "namespace": "n"}) == "Role n/r"


# -- ObjectSet with a fake DynamicClient --------------------------------------------------------

class FakeResource:
    def __init__(self, kind, namespaced=True):
        self.kind = kind
        self.namespaced = namespaced


class Instance:
    def __init__(self, obj):
        self.obj = obj

    def to_dict(self):
        return json.loads(json.dumps(self.obj))


class ApiError(objects.DynamicApiError):
    def __init__(self, status, message="boom"):  # pylint: disable=super-init-not-called
        # DynamicApiError wraps an ApiException; only the fields the module reads are set here
        self.status = status
        self.reason = "Error"
        self.body = json.dumps({"message": message})


class FakeDynamic:
    def __init__(self, store, fail=None):
        self.store = store            # {(kind, ns, name): obj}
        self.calls = []
        self.bodies = []
        self.fail = list(fail or [])  # [(method, status)] consumed in order
        self.resources = self

    def get(self, res=None, name=None, namespace=None, api_version=None, kind=None, **kw):
        if api_version is not None:   # resources.get(api_version=..., kind=...)
            return FakeResource(kind, namespaced=kind not in ("Namespace", "ClusterRole"))
        self._maybe_fail("GET")
        self.calls.append(("GET", res.kind, name))
        obj = self.store.get((res.kind, namespace, name))
        if obj is None:
            raise objects.NotFoundError(objects.ApiException(status=404, reason="Not Found"))
        return Instance(obj)

    def create(self, res, body=None, namespace=None, **kw):
        self._maybe_fail("POST")
        self.calls.append(("POST", res.kind, body["metadata"]["name"], kw.get("dry_run")))
        if not kw.get("dry_run"):
            self.store[(res.kind, namespace, body["metadata"]["name"])] = body
        return Instance(body)

    def patch(self, res, body=None, name=None, namespace=None, **kw):
        self._maybe_fail("PATCH")
        self.calls.append(("PATCH", res.kind, name, kw.get("dry_run")))
        self.bodies.append(json.loads(json.dumps(body)))
        merged = objects.dict_merge(self.store[(res.kind, namespace, name)], body)
        if not kw.get("dry_run"):
            self.store[(res.kind, namespace, name)] = merged
        return Instance(merged)

    def delete(self, res, name=None, namespace=None, **kw):
        self.calls.append(("DELETE", res.kind, name))
        self.store.pop((res.kind, namespace, name), None)

    def _maybe_fail(self, method):
        if self.fail and self.fail[0][0] == method:
            raise ApiError(self.fail.pop(0)[1])


def object_set(store, check_mode=False, fail=None):
    obj_set = objects.ObjectSet(kube=None, check_mode=check_mode, sleep=lambda s: None)
    obj_set._dynamic = FakeDynamic(store, fail)
    return obj_set


def test_present_creates_then_leaves_alone_then_updates():
    store = {}
    obj_set = object_set(store)
    entry, before, after = obj_set.present(json.loads(json.dumps(SERVICE)))
    assert entry["action"] == "created" and before is None
    assert LAST in after["metadata"]["annotations"]
    store[("Service", "kube-ops", "jenkins")] = live(SERVICE)
    obj_set._dynamic.calls.clear()
    entry = obj_set.present(json.loads(json.dumps(SERVICE)))[0]
    assert entry["action"] == "unchanged"
    assert obj_set._dynamic.calls == [("GET", "Service", "jenkins")], "one read, no write"
    changed = json.loads(json.dumps(SERVICE))
    changed["spec"]["selector"] = {"app": "k"}
    entry, after = obj_set.present(changed)[::2]
    assert entry["action"] == "updated" and entry["reason"] == "last-applied configuration differs"
    assert after["spec"]["selector"] == {"app": "k"}


DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "jenkins", "namespace": "kube-ops"},
              "spec": {"strategy": {"type": "Recreate"}, "selector": {"matchLabels": {"app": "j"}},
                       "template": {"metadata": {"labels": {"app": "j"}}, "spec": {
                           "containers": [{"name": "jenkins", "image": "jenkins/jenkins:2.568.2-lts-jdk21"}],
                           "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "jenkins-home"}},
                                       {"name": "casc", "configMap": {"name": "casc"}}]}}}}


def test_drift_of_retain_keys_fields_is_undone_not_merged():
    """A volume switched to emptyDir and a strategy switched to RollingUpdate by hand: the patch
    carries only the volume source and the strategy keys of the definition (retainKeys), so the API
    server is not sent a volume with two sources or Recreate with rollingUpdate."""
    drifted = json.loads(json.dumps(DEPLOYMENT))
    drifted["metadata"]["annotations"] = {LAST: objects.last_applied(DEPLOYMENT)}
    drifted["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    drifted["spec"]["template"]["spec"]["volumes"] = [{"name": "home", "emptyDir": {}},
                                                      {"name": "casc", "configMap": {"name": "casc", "defaultMode": 420}}]
    store = {("Deployment", "kube-ops", "jenkins"): drifted}
    obj_set = object_set(store)
    entry = obj_set.present(json.loads(json.dumps(DEPLOYMENT)))[0]
    assert entry["action"] == "updated"
    (body,) = obj_set._dynamic.bodies
    assert body["spec"]["template"]["spec"]["volumes"] == [
        {"name": "home", "persistentVolumeClaim": {"claimName": "jenkins-home"}},
        {"name": "casc", "configMap": {"name": "casc", "defaultMode": 420}}], "server defaults inside a kept key stay"
    assert body["spec"]["strategy"] == {"type": "Recreate", "rollingUpdate": None}


def test_retain_keys_follows_the_pod_spec_of_each_kind():
    cron = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "volumes": [{"name": "v", "secret": {"secretName": "s"}}]}}}}}}
    patch = {"spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "volumes": [{"name": "v", "secret": {"secretName": "s"}, "hostPath": {"path": "/x"}}, {"name": "other", "emptyDir": {}}]}}}}}}
    out = objects.retain_keys(patch, cron, {})
    assert out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"] == [
        {"name": "v", "secret": {"secretName": "s"}}, {"name": "other", "emptyDir": {}}]
    service_patch = {"spec": {"ports": [{"port": 1}]}}
    assert objects.retain_keys(json.loads(json.dumps(service_patch)), SERVICE, {}) == service_patch


def test_check_mode_dry_runs_and_skips_objects_of_a_namespace_to_be_created():
    store = {}
    obj_set = object_set(store, check_mode=True)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-ops"}}
    assert obj_set.present(ns)[0]["action"] == "created"
    entry, after = obj_set.present(json.loads(json.dumps(SERVICE)))[::2]
    assert entry["action"] == "created" and "would be created first" in entry["reason"]
    assert after == SERVICE
    assert store == {}
    assert obj_set._dynamic.calls == [("GET", "Namespace", "kube-ops"), ("POST", "Namespace", "kube-ops", "All")]


def test_transient_errors_are_retried_and_others_name_the_object():
    store = {("Service", "kube-ops", "jenkins"): live(SERVICE)}
    obj_set = object_set(store, fail=[("GET", 500), ("GET", 503)])
    assert obj_set.present(json.loads(json.dumps(SERVICE)))[0]["action"] == "unchanged"
    obj_set = object_set(store, fail=[("GET", 403)])
    with pytest.raises(KubeError) as exc:
        obj_set.present(json.loads(json.dumps(SERVICE)))
    assert str(exc.value) == "Failed to read Service kube-ops/jenkins: HTTP 403 Error: boom"
    obj_set = object_set(store, fail=[("GET", 500)] * 4)
    with pytest.raises(KubeError, match="HTTP 500"):
        obj_set.present(json.loads(json.dumps(SERVICE)))


def test_absent_deletes_only_what_exists():
    store = {("ClusterRole", None, "broad"): {"kind": "ClusterRole", "metadata": {"name": "broad"}}}
    obj_set = object_set(store)
    spec = {"api_version": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "name": "broad"}
    assert obj_set.absent(spec)[0]["action"] == "deleted"
    assert obj_set.absent(spec)[0]["action"] == "absent"
    assert [c[0] for c in obj_set._dynamic.calls] == ["GET", "DELETE", "GET"]


def test_module_input_is_validated_before_any_request():
    params = {"wait_timeout": 0, "wait_sleep": 1, "definitions": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}},
        {"kind": "ConfigMap", "metadata": {"name": "b"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}},
    ]}
    assert kube_objects.validate(params) == [
        "wait_timeout must be greater than 0, got 0",
        "definitions[1]: apiVersion is required (a string)",
        "definitions[2]: metadata.name is required (a string)",
        "definitions[3]: ConfigMap n/a is also definitions[0]",
    ]


def test_an_object_read_earlier_in_the_play_is_not_read_again():
    store = {("Service", "kube-ops", "jenkins"): live(SERVICE)}
    obj_set = object_set(store)
    obj_set.remember(live(SERVICE))
    assert obj_set.present(json.loads(json.dumps(SERVICE)))[0]["action"] == "unchanged"
    assert obj_set._dynamic.calls == []
    # used once: a second present() of the same object reads it
    obj_set.present(json.loads(json.dumps(SERVICE)))
    assert obj_set._dynamic.calls == [("GET", "Service", "jenkins")]
