# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import build_service as bs
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import PodWatcher
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_kube import FakeKube, pod


@pytest.mark.parametrize("label, expected", [
    ("haimaxy-jnlp", "haimaxy-jnlp"),
    ("http://jenkins.ci.svc.cluster.local:8080/", "http___jenkins_ci_svc_cluster_local_8080x"),
    ("-a-", "xax"),
    ("a" * 60 + "b", "a" * 56 + "b"),
    ("my.label", "my_label"),
])
def test_sanitize_label(label, expected):
    assert bs.sanitize_label(label) == expected


@pytest.mark.parametrize("expression, selector", [
    ("haimaxy-jnlp", "jenkins/label=haimaxy-jnlp"), (" k8s ", "jenkins/label=k8s"), ("a && b", None),
    ("a||b", None), ("!a", None), ("", None), (None, None), ("a b", None),
])
def test_label_selector_for(expression, selector):
    assert bs.label_selector_for(expression) == selector


@pytest.mark.parametrize("location, queue_id", [
    ("http://jenkins.ci.svc:8080/queue/item/17/", 17), ("https://x/prefix/queue/item/3", 3),
    ("http://x/job/smoke/", None), (None, None), ("", None),
])
def test_queue_id_from(location, queue_id):
    assert bs.queue_id_from(location) == queue_id


@pytest.mark.parametrize("text, limit, expected, truncated", [
    ("hello", 10, "hello", False), ("hello", 3, "llo", True), ("héllo", 4, "llo", True), ("", 5, "", False),
    ("abc", None, "abc", False),
])
def test_tail_bytes(text, limit, expected, truncated):
    assert bs.tail_bytes(text, limit) == (expected, truncated)


def test_pod_watcher_records_lifecycle_and_relists_on_410():
    kube = FakeKube()
    kube.fake_core.pods[("kube-ops", "old")] = pod("old", "Running", labels={"jenkins/label": "x"})
    watcher = PodWatcher(kube, "kube-ops", "jenkins/label=x").start()
    try:
        kube.push("ADDED", pod("p1", "Pending"))
        kube.push("MODIFIED", pod("p1", "Pending", node="node2"))
        kube.push("MODIFIED", pod("p1", "Running", node="node2"))
        kube.push("ERROR", {"code": 410, "message": "too old resource version"})
        kube.push("DELETED", pod("p1", "Running", node="node2"))
        assert watcher.wait_for(lambda records: (records.get("p1") or {}).get("deleted"), 5)
    finally:
        watcher.stop()
    pods = {p["name"]: p for p in watcher.pods()}
    assert pods["old"]["preexisting"] and not pods["p1"]["preexisting"]
    assert pods["p1"]["node"] == "node2"
    assert [t["phase"] for t in pods["p1"]["timeline"]] == ["Pending", "Running", "Deleted"]


def test_validate_accepts_defaults():
    bs.validate({"name": "smoke", "timeout": 600, "poll_interval": 2, "expected_result": ["SUCCESS"]})


@pytest.mark.parametrize("value, expected", [
    ("2026-11-24T15:44:06+00:00", "2026-11-24T15:44:06Z"), ("2026-11-24T15:44:06Z", "2026-11-24T15:44:06Z"),
    ("2026-11-24T16:44:06+01:00", "2026-11-24T15:44:06Z"), (None, None), ("garbage", "garbage"),
])
def test_iso_timestamps(value, expected):
    from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import kube
    assert kube._iso(value) == expected  # pylint: disable=protected-access
