# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

import pytest

from ansible_collections.kubeops.jenkins.plugins.modules import jenkins_plugin
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_jenkins import (  # pylint: disable=unused-import
    answer, fake_jenkins, run_module)

CATALOG = {
    "kubernetes": ("4423.vb_59f230b_ce53", ["kubernetes-client-api"]),
    "kubernetes-client-api": ("6.10.0-240.v57880ce8b_0b_2", []),
    "git": ("5.7.0", []),
    "broken": ("1.0", []),
}


class PluginManager:
    """A plugin manager and update center that behave as reference §3 describes."""

    def __init__(self, fake, installed=None):
        self.fake = fake
        self.installed = dict(installed or {})
        self.jobs = [{"id": 1, "type": "ConnectionCheckJob", "errorMessage": None}]
        self.restart_needed = False
        self.session = "s1"
        self.down = 0
        fake.on("GET", "/pluginManager/api/json", handler=self.plugins)
        fake.on("GET", "/updateCenter/api/json", handler=self.update_center)
        fake.on("POST", "/pluginManager/installNecessaryPlugins", handler=self.install)
        fake.on("POST", "/safeRestart", handler=self.restart)
        fake.on("POST", "/restart", handler=self.restart)
        fake.on("GET", "/api/json", handler=self.root)
        fake.on("GET", "/login", handler=self.root)
        for name in list(CATALOG) + ["ant"]:
            fake.on("POST", "/pluginManager/plugin/%s/doUninstall" % name, handler=self.uninstall)

    def plugins(self, request):
        assert "plugins[" in request.query.get("tree", "")
        return answer(200, {"plugins": [
            {"shortName": n, "version": v, "active": True, "enabled": True,
             "hasUpdate": n in CATALOG and CATALOG[n][0] != v, "deleted": False}
            for n, v in self.installed.items()]})

    def update_center(self, request):
        if "sites" in request.query.get("tree", ""):
            return answer(200, {"sites": [{"id": "default", "updates": [
                {"name": n, "version": CATALOG[n][0]} for n, v in self.installed.items() if n in CATALOG and CATALOG[n][0] != v]}]})
        assert request.query.get("depth") == "1"
        jobs = []
        for job in self.jobs:
            jobs.append(dict(job))
            if job.get("status", {}).get("type") == "Pending" and "next" in job:
                job["status"] = job.pop("next")  # next poll shows the outcome
        return answer(200, {"jobs": jobs, "restartRequiredForCompletion": self.restart_needed})

    def _add_job(self, name, version, upgrade):
        if name == "broken":
            final = {"type": "Failure", "success": False}
            error = "Failed to download from https://updates.jenkins.io/download/plugins/broken/1.0/broken.hpi"
        else:
            final = {"type": "SuccessButRequiresRestart" if upgrade else "Success", "success": True}
            error = None
            self.installed[name] = version
            self.restart_needed = self.restart_needed or upgrade
        self.jobs.append({"id": len(self.jobs) + 1, "type": "InstallationJob", "name": name,
                          "status": {"type": "Pending", "success": False}, "next": final, "errorMessage": error})

    def install(self, request):
        assert request.headers["Content-Type"].startswith("text/xml")
        for name, version in re.findall(r'<install plugin="([^"@]+)@([^"]+)"\s*/>', request.body):
            if name not in CATALOG:
                continue  # Jenkins only logs a warning
            latest, deps = CATALOG[name]
            for dep in deps:
                if dep not in self.installed:
                    self._add_job(dep, CATALOG[dep][0], False)
            self._add_job(name, latest, name in self.installed)
        return answer(302, "", headers={"Location": "http://jenkins.test:8080/pluginManager/updates/"})

    def uninstall(self, request):
        name = request.path.split("/")[3]
        del self.installed[name]
        return answer(302, "")

    def restart(self, request):  # pylint: disable=unused-argument
        self.down = 2
        return answer(302, "")

    def root(self, request):  # pylint: disable=unused-argument
        if self.down:
            self.down -= 1
            if not self.down:
                self.session = "s2"
                self.restart_needed = False
            return answer(503, "<html><head><title>Starting Jenkins</title></head><body>Jenkins is getting ready "
                               "to work</body></html>", content_type="text/html")
        return answer(200, {"mode": "NORMAL"}, headers={"X-Jenkins-Session": self.session})


def test_install_set_in_one_request_then_idempotent(fake_jenkins):
    pm = PluginManager(fake_jenkins, {"git": "5.7.0"})
    args = dict(name=["kubernetes", "git"])
    result, failed = run_module(jenkins_plugin.main, args, check_mode=True, diff=True)
    assert not failed and result["changed"] and result["installed"] == ["kubernetes"] and result["upgraded"] == []
    assert fake_jenkins.mutating() == []
    assert result["diff"] == {"before": "git: 5.7.0\n", "after": "git: 5.7.0\nkubernetes: latest\n"}
    result, failed = run_module(jenkins_plugin.main, args)
    assert not failed, result
    assert result["changed"] and result["installed"] == ["kubernetes", "kubernetes-client-api"]
    assert [r.path for r in fake_jenkins.mutating()] == ["/pluginManager/installNecessaryPlugins"]
    body = fake_jenkins.mutating()[0].body
    assert '<install plugin="kubernetes@latest"/>' in body and "git" not in body
    assert not result["restart_required"] and not result["restarted"]
    assert result["plugins"] == {"kubernetes": "4423.vb_59f230b_ce53", "git": "5.7.0"}
    # second run: nothing to install, no POST at all
    count = len(fake_jenkins.requests)
    result, failed = run_module(jenkins_plugin.main, args)
    assert not failed and not result["changed"]
    assert [r.method for r in fake_jenkins.requests[count:]] == ["GET"]
    assert pm.installed["kubernetes"] == "4423.vb_59f230b_ce53"


def test_upgrade_requires_safe_restart_and_waits(fake_jenkins):
    pm = PluginManager(fake_jenkins, {"kubernetes": "4000.v1", "kubernetes-client-api": "6.10.0-240.v57880ce8b_0b_2"})
    result, failed = run_module(jenkins_plugin.main, dict(name=["kubernetes@4423.vb_59f230b_ce53"]))
    assert not failed, result
    assert result["upgraded"] == ["kubernetes"] and result["installed"] == []
    assert result["restarted"] and not result["restart_required"]
    assert [r.path for r in fake_jenkins.mutating()] == ["/pluginManager/installNecessaryPlugins", "/safeRestart"]
    assert pm.session == "s2"


@pytest.mark.parametrize("restart, required, restarted", [("never", True, False), ("safe", False, True)])
def test_check_mode_predicts_restart(fake_jenkins, restart, required, restarted):
    PluginManager(fake_jenkins, {"kubernetes": "4000.v1", "kubernetes-client-api": "6"})
    result, failed = run_module(jenkins_plugin.main, dict(name=["kubernetes@4423.vb_59f230b_ce53"], restart=restart),
                                check_mode=True)
    assert not failed and (result["restart_required"], result["restarted"]) == (required, restarted)
    assert fake_jenkins.mutating() == []


def test_restart_never_reports(fake_jenkins):
    PluginManager(fake_jenkins, {"kubernetes": "4000.v1", "kubernetes-client-api": "6"})
    result, failed = run_module(jenkins_plugin.main, dict(name=["kubernetes@4423.vb_59f230b_ce53"], restart="never"))
    assert not failed and result["restart_required"] and not result["restarted"]
    assert "/safeRestart" not in [r.path for r in fake_jenkins.mutating()]


def test_immediate_restart(fake_jenkins):
    PluginManager(fake_jenkins, {"kubernetes": "4000.v1", "kubernetes-client-api": "6"})
    result, failed = run_module(jenkins_plugin.main, dict(name=["kubernetes@4423.vb_59f230b_ce53"], restart="immediate"))
    assert not failed and result["restarted"]
    assert fake_jenkins.mutating()[-1].path == "/restart"


def test_failures_listed_per_plugin(fake_jenkins):
    PluginManager(fake_jenkins)
    result, failed = run_module(jenkins_plugin.main, dict(name=["git", "broken", "nosuchplugin"]))
    assert failed
    failures = {f["name"]: f["message"] for f in result["failures"]}
    assert "Failed to download" in failures["broken"]
    assert "scheduled no installation for nosuchplugin@latest" in failures["nosuchplugin"]
    assert "git" not in failures and result["installed"] == ["git"]
    assert result["msg"].startswith("Failed to install plugins: ")


def test_latest_upgrades_from_update_site(fake_jenkins):
    PluginManager(fake_jenkins, {"git": "5.0.0"})
    result, failed = run_module(jenkins_plugin.main, dict(name=["git"], state="latest"), check_mode=True)
    assert result["upgraded"] == ["git"] and result["plugins"] == {"git": "5.7.0"}
    result, failed = run_module(jenkins_plugin.main, dict(name=["git"], state="present"))
    assert not failed and not result["changed"]


def test_newer_installed_is_kept_with_warning(fake_jenkins):
    PluginManager(fake_jenkins, {"git": "5.7.0"})
    result, failed = run_module(jenkins_plugin.main, dict(name=["git@5.0"]))
    assert not failed and not result["changed"]
    assert "does not downgrade" in " ".join(result["warnings"])


def test_absent(fake_jenkins):
    pm = PluginManager(fake_jenkins, {"git": "5.7.0"})
    result, failed = run_module(jenkins_plugin.main, dict(name=["git", "ant"], state="absent", restart="never"),
                                check_mode=True)
    assert result["removed"] == ["git"] and fake_jenkins.mutating() == []
    result, failed = run_module(jenkins_plugin.main, dict(name=["git", "ant"], state="absent", restart="never"))
    assert not failed and result["removed"] == ["git"] and result["restart_required"]
    assert "git" not in pm.installed
    result, failed = run_module(jenkins_plugin.main, dict(name=["git"], state="absent"))
    assert not result["changed"]


def test_install_timeout(fake_jenkins):
    pm = PluginManager(fake_jenkins)
    original = pm.update_center

    def stuck(request):
        for job in pm.jobs:
            job.pop("next", None)
        return original(request)

    fake_jenkins.on("GET", "/updateCenter/api/json", handler=stuck)
    result, failed = run_module(jenkins_plugin.main, dict(name=["git"], install_timeout=30))
    assert failed and "still installing after 30s: git" in result["msg"]


@pytest.mark.parametrize("names, message", [
    (["git@"], "Invalid plugin 'git@'"),
    (["a b"], "Invalid plugin"),
    (["git@1", "git@2"], "listed twice"),
    ([], "at least one plugin"),
])
def test_bad_names_rejected_before_any_request(fake_jenkins, names, message):
    result, failed = run_module(jenkins_plugin.main, dict(name=names))
    assert failed and message in result["msg"]
    assert fake_jenkins.requests == []


def test_auth_error_message(fake_jenkins):
    fake_jenkins.on("GET", "/pluginManager/api/json", answer(401, "", headers={"WWW-Authenticate": 'Basic realm="Jenkins"'}))
    result, failed = run_module(jenkins_plugin.main, dict(name=["git"]))
    assert failed and result["msg"].startswith("Failed to list the installed plugins of Jenkins: HTTP 401")
