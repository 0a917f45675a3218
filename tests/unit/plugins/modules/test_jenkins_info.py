# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""jenkins_info main() end to end: real AnsibleModule (argument parsing, no_log, exit/fail JSON on
stdout), real JenkinsClient, and FakeJenkins in place of open_url."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import client as client_module
from ansible_collections.kubeops.jenkins.plugins.modules import jenkins_info
from ansible_collections.kubeops.jenkins.tests.unit.plugins.module_utils._jenkins.test_client import (
    CRUMB,
    PASSWORD,
    TOKEN,
    FakeClock,
    FakeJenkins,
    assert_no_secret,
    fixture_json,
    html_answer,
    json_answer,
    starting_page,
)

URL = "http://jenkins.kube-ops.svc.cluster.local:8080"
EXPORT = fixture_json("casc_export.json")


@pytest.fixture
def fake(monkeypatch):
    for name in ("JENKINS_URL", "JENKINS_USERNAME", "JENKINS_TOKEN", "JENKINS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    transport = FakeJenkins()
    monkeypatch.setattr(client_module, "open_url", transport)
    clock = FakeClock()
    monkeypatch.setattr(client_module.time, "sleep", clock.sleep)
    monkeypatch.setattr(client_module.time, "monotonic", clock.monotonic)
    transport.clock = clock
    return transport


def serve_healthy_jenkins(fake, export=True):
    fake.add("GET", "/login", (200, {"Content-Type": "text/html;charset=utf-8", "X-Jenkins": "2.578"}, "<html/>"))
    fake.add("GET", "/api/json", json_answer(fixture_json("jenkins_root.json")))
    fake.add("GET", "/pluginManager/api/json", json_answer(fixture_json("plugin_manager.json")))
    fake.add("GET", "/computer/api/json", json_answer(fixture_json("computers.json")))
    if export:
        fake.add("POST", "/configuration-as-code/export",
                 (200, {"Content-Type": EXPORT["content_type"]}, EXPORT["body"]))


def run(args, capsys, check_mode=False):
    """Run main() and return (result dict, raw stdout)."""
    module_args = dict(args)
    if check_mode:
        module_args["_ansible_check_mode"] = True
    with patch_module_args(module_args):
        with pytest.raises(SystemExit):
            jenkins_info.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def token_args(**extra):
    args = dict(url=URL, username="admin", token=TOKEN)
    args.update(extra)
    return args


def test_reads_everything_with_token_auth(fake, capsys):
    serve_healthy_jenkins(fake)

    result, out = run(token_args(), capsys)

    assert result["changed"] is False
    assert "failed" not in result
    assert result["ready"] is True
    assert result["version"] == "2.578"
    assert result["mode"] == "NORMAL"
    assert result["url"] == "http://jenkins.kube-ops.svc.cluster.local:8080/"
    assert result["use_security"] is True
    assert result["use_crumbs"] is True
    assert result["quieting_down"] is False
    assert result["slave_agent_port"] == 50000
    assert [p["name"] for p in result["plugins"]] == ["configuration-as-code", "git", "kubernetes"]
    assert result["plugins"][2] == {"name": "kubernetes", "version": "4423.vb_59f230b_ce53", "active": True,
                                    "enabled": True, "has_update": True, "long_name": "Kubernetes plugin"}
    assert result["plugins"][1]["active"] is False
    assert result["nodes"] == [
        {"name": "Built-In Node", "offline": False, "temporarily_offline": False, "idle": True, "num_executors": 0,
         "labels": ["built-in"], "class": "hudson.model.Hudson$MasterComputer"},
        {"name": "haimaxy-jnlp-x7k2p", "offline": False, "temporarily_offline": False, "idle": False,
         "num_executors": 1, "labels": ["haimaxy-jnlp", "haimaxy-jnlp-x7k2p"],
         "class": "org.csanchez.jenkins.plugins.kubernetes.KubernetesComputer"},
    ]
    assert result["clouds"] == ["kubernetes", "second-cluster"]
    assert "warnings" not in result
    # wire: token auth, no crumb, tree queries, only the read-only export is a POST
    assert fake.calls_to("GET", "/crumbIssuer/api/json") == []
    assert fake.calls_to("GET", "/api/json")[0].query["tree"][0].startswith("mode,")
    assert [c.path for c in fake.calls if c.method == "POST"] == ["/configuration-as-code/export"]
    assert_no_secret(out)


def test_check_mode_gives_the_same_facts(fake, capsys):
    serve_healthy_jenkins(fake)
    result, _out = run(token_args(gather=["plugins"]), capsys, check_mode=True)
    assert result["changed"] is False
    assert result["version"] == "2.578"
    assert len(result["plugins"]) == 3
    assert "nodes" not in result and "clouds" not in result
    assert all(c.method == "GET" for c in fake.calls)


def test_gather_nothing_reads_only_the_root(fake, capsys):
    serve_healthy_jenkins(fake)
    result, _out = run(token_args(gather=[]), capsys)
    assert result["ready"] is True
    assert "plugins" not in result and "nodes" not in result and "clouds" not in result
    assert sorted({c.path for c in fake.calls}) == ["/api/json", "/login"]


def test_unreadable_export_is_a_warning_not_a_failure(fake, capsys):
    serve_healthy_jenkins(fake, export=False)
    fake.add("POST", "/configuration-as-code/export", html_answer(403, "access_denied"))

    result, _out = run(token_args(gather=["clouds"]), capsys)

    assert "failed" not in result
    assert "clouds" not in result
    (warning,) = result["warnings"]
    if isinstance(warning, dict):  # ansible-core >= 2.19 wraps warnings in a WarningSummary
        warning = warning["event"]["msg"]
    assert "clouds not gathered" in warning
    assert "HTTP 403 Forbidden" in warning


def test_password_auth_uses_crumb_and_never_prints_secrets(fake, capsys):
    serve_healthy_jenkins(fake)
    fake.add("GET", "/crumbIssuer/api/json",
             json_answer(fixture_json("crumb.json"), headers={"Set-Cookie": "JSESSIONID.1=abc; Path=/"}))

    result, out = run(dict(url=URL, username="admin", password=PASSWORD), capsys)

    assert result["clouds"] == ["kubernetes", "second-cluster"]
    (export,) = fake.calls_to("POST", "/configuration-as-code/export")
    assert export.headers["jenkins-crumb"] == CRUMB
    assert export.cookie == "JSESSIONID.1=abc"
    assert_no_secret(out)


def test_wait_polls_through_503_then_reads(fake, capsys):
    serve_healthy_jenkins(fake)
    fake.routes[("GET", "/login")] = [starting_page(), starting_page(), starting_page(),
                                      (200, {"Content-Type": "text/html", "X-Jenkins": "2.578"}, "<html/>")]

    result, _out = run(token_args(wait=True, wait_timeout=60, gather=[]), capsys)

    assert result["ready"] is True
    assert result["version"] == "2.578"
    assert len(fake.calls_to("GET", "/login")) == 4
    assert fake.clock.sleeps == [2.0, 2.0, 2.0]


def test_wait_times_out_with_the_starting_message(fake, capsys):
    fake.add("GET", "/login", starting_page())

    result, _out = run(token_args(wait=True, wait_timeout=10), capsys)

    assert result["failed"] is True
    assert "was not ready after 10s" in result["msg"]
    assert "Jenkins is starting" in result["msg"]
    assert result["error_class"] == "JenkinsTimeout"
    assert fake.calls_to("GET", "/api/json") == []


def test_not_waiting_while_starting_returns_ready_false(fake, capsys):
    fake.add("GET", "/login", starting_page())

    result, _out = run(token_args(), capsys)

    assert "failed" not in result
    assert result["ready"] is False
    assert result["state"] == "starting"
    assert "getting ready to work" in result["message"]
    assert len(fake.calls) == 1


@pytest.mark.parametrize("wait", [True, False])
def test_casc_boot_failure_fails_with_the_jcasc_message(fake, capsys, wait):
    fake.add("GET", "/login", html_answer(503, "casc_boot_failure"))

    result, _out = run(token_args(wait=wait), capsys)

    assert result["failed"] is True
    assert result["error_class"] == "JenkinsCascBootError"
    assert "failed to boot because of its configuration-as-code (JCasC) configuration" in result["msg"]
    assert "Invalid configuration elements for type: class org.csanchez.jenkins.plugins.kubernetes" \
        ".KubernetesCloud : serverURL" in result["msg"]
    assert "serverURL" in result["casc_error"]
    assert result["status"] == 503
    assert len(fake.calls) == 1


def test_bad_token_fails_with_401_and_no_secret(fake, capsys):
    fake.add("GET", "/login", html_answer(401, "unauthorized"))
    fake.add("GET", "/api/json", html_answer(401, "unauthorized"))

    result, out = run(token_args(), capsys)

    assert result["failed"] is True
    assert result["status"] == 401
    assert result["msg"].startswith("Failed to read the Jenkins root (/api/json): HTTP 401 Unauthorized")
    assert "check username and token/password" in result["msg"]
    assert result["error_class"] == "JenkinsAuthError"
    assert_no_secret(out)


def test_forbidden_plugins_fail_with_403_message(fake, capsys):
    serve_healthy_jenkins(fake)
    fake.routes[("GET", "/pluginManager/api/json")] = [html_answer(403, "access_denied")]

    result, out = run(token_args(), capsys)

    assert result["failed"] is True
    assert result["status"] == 403
    assert "Failed to list the plugins of Jenkins (/pluginManager/api/json): HTTP 403 Forbidden: " \
        "Access Denied alice is missing the Overall/Administer permission" == result["msg"]
    assert_no_secret(out)


def test_wrong_context_path_fails_clearly(fake, capsys):
    result, _out = run(token_args(url=URL + "/wrong"), capsys)
    assert result["failed"] is True
    assert result["status"] == 404
    assert "Failed to reach Jenkins at http://jenkins.kube-ops.svc.cluster.local:8080/wrong: HTTP 404" \
        in result["msg"]


@pytest.mark.parametrize("args, message", [
    (dict(url="ftp://jenkins:8080"), "url must be an http:// or https:// URL"),
    (dict(url="jenkins:8080"), "url must be an http:// or https:// URL"),
    (dict(url=URL, timeout=0), "timeout must be greater than 0"),
    (dict(url=URL, wait_timeout=0), "wait_timeout must be greater than 0"),
    (dict(url=URL, username="admin", token=TOKEN, password=PASSWORD), "mutually exclusive"),
    (dict(url=URL, token=TOKEN), "missing parameter(s) required by 'token': username"),
    (dict(url="http://admin:%s@jenkins:8080" % PASSWORD), "url must not contain credentials"),
])
def test_bad_input_fails_before_any_request(fake, capsys, args, message):
    result, out = run(args, capsys)
    assert result["failed"] is True
    assert message in result["msg"]
    assert fake.calls == []
    assert_no_secret(out)


def test_url_from_environment(fake, capsys, monkeypatch):
    serve_healthy_jenkins(fake)
    monkeypatch.setenv("JENKINS_URL", URL + "/")
    monkeypatch.setenv("JENKINS_USERNAME", "admin")
    monkeypatch.setenv("JENKINS_TOKEN", TOKEN)

    result, out = run({"gather": []}, capsys)

    assert result["ready"] is True
    assert fake.calls[0].url == URL + "/login"
    assert fake.calls[0].authorization is not None
    assert_no_secret(out)


def test_password_in_the_task_wins_over_a_token_in_the_environment(fake, capsys, monkeypatch):
    # An AWX credential injects JENKINS_TOKEN while a role passes password: no "mutually exclusive".
    serve_healthy_jenkins(fake)
    fake.add("GET", "/crumbIssuer/api/json",
             json_answer(fixture_json("crumb.json"), headers={"Set-Cookie": "JSESSIONID.1=abc; Path=/"}))
    monkeypatch.setenv("JENKINS_TOKEN", TOKEN)

    result, out = run(dict(url=URL, username="admin", password=PASSWORD, gather=["clouds"]), capsys)

    assert result["ready"] is True
    # password auth: the crumb was fetched, which token auth never does
    assert fake.calls_to("GET", "/crumbIssuer/api/json")
    assert_no_secret(out)


def test_secret_from_the_environment_needs_a_user(fake, capsys, monkeypatch):
    monkeypatch.setenv("JENKINS_TOKEN", TOKEN)

    result, out = run(dict(url=URL), capsys)

    assert result["failed"] is True
    assert "JENKINS_TOKEN is set in the environment but username" in result["msg"]
    assert fake.calls == []
    assert_no_secret(out)
