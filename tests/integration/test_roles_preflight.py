# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input is rejected by each role's preflight, before any change, with a message that names
the variable (and nothing is written to the cluster or Jenkins)."""

import pytest

pytestmark = pytest.mark.slow

CASES = [
    ("playbooks/controller.yml", {"controller_namespace": "Kube_Ops"}, "controller_namespace"),
    ("playbooks/controller.yml", {"controller_storage_size": "ten gigs"}, "controller_storage_size"),
    ("playbooks/controller.yml", {"controller_wait_timeout": 5}, "controller_wait_timeout"),
    ("playbooks/controller.yml", {"controller_storage_mode": "nfs"}, "controller_storage_nfs_server"),
    ("playbooks/kubeconfig.yml", {"kubeconfig_master_group": "no_such_group"}, "kubeconfig_master_group"),
    ("playbooks/kubernetes_cloud.yml", {"kubernetes_cloud_read_timeout": 3}, "kubernetes_cloud_read_timeout"),
    ("playbooks/kubernetes_cloud.yml", {"kubernetes_cloud_templates": [{"name": "Bad_Name", "label": "x"}]},
     "kubernetes_cloud_templates"),
    ("playbooks/smoke_build.yml", {"smoke_build_label": "two labels"}, "smoke_build_label"),
]


@pytest.mark.parametrize("playbook,extra,variable", CASES, ids=[c[2] + "-" + c[0].split("/")[1] for c in CASES])
def test_bad_input_fails_before_any_change(converged, playbook, extra, variable):
    seq = converged.log_position()
    result = converged.play(playbook=playbook, extra_vars=extra)
    assert result.rc != 0
    assert variable in result.stdout, result.tail()
    assert converged.writes(converged.requests_since(seq)) == []


def test_survey_strings_for_booleans_are_read_as_booleans(converged):
    # AWX surveys send "false" as a string, and role argument validation does not convert it: a bare
    # `not (websocket and direct_connection)` would read the non-empty string as true and fail.
    result = converged.play(playbook="playbooks/kubernetes_cloud.yml",
                            extra_vars={"kubernetes_cloud_websocket": "false",
                                        "kubernetes_cloud_direct_connection": "false"})
    assert result.rc == 0, result.tail()
