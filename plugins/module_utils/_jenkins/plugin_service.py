# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""jenkins_plugin: converge a set of plugins over HTTP (reference §3).

1. GET /pluginManager/api/json?tree=plugins[...] once: what is installed.
2. Plan: install (missing), upgrade (older than asked, or an update exists with state=latest),
   remove (state=absent). Check mode stops here.
3. POST /pluginManager/installNecessaryPlugins with `<jenkins><install plugin="name@version"/>…`
   (version is a minimum; `name@latest` for "whatever the update site has"). The answer is always
   302, even for an unknown plugin, so the outcome is read from the update center:
4. GET /updateCenter/api/json?depth=1 until every new job (id above the ones seen before the POST)
   has left Pending/Installing; Failure jobs give errorMessage per plugin; a requested plugin
   without a job was not scheduled (unknown name, or no such version on the update site).
5. POST /pluginManager/plugin/<name>/doUninstall for removals.
6. Restart only when Jenkins says so (restartRequiredForCompletion, or an uninstall):
   POST /safeRestart or /restart, wait until the controller went down and came back.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import (
    JenkinsError,
    JenkinsTimeout,
)

PLUGINS_TREE = "plugins[shortName,version,active,enabled,hasUpdate,deleted]"
UPDATE_CENTER = "/updateCenter/api/json"
UPDATES_TREE = "sites[id,updates[name,version]]"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
RUNNING = ("Pending", "Installing")
DONE_OK = ("Success", "SuccessButRequiresRestart", "Skipped")


class PluginSpecError(JenkinsError):
    """The plugin list cannot be understood (raised before any request)."""


class PluginInstallError(JenkinsError):
    """One or more plugins failed to install; carries the per-plugin failures and the partial result."""

    def __init__(self, message, result):
        self.result = result
        super().__init__(message=message)

    def to_result(self):
        out = super().to_result()
        out.update(self.result)
        return out


def parse_specs(names):
    """["git", "kubernetes@4423.vb_59"] → ordered dict name → version (None = any)."""
    wanted = {}
    for entry in names or []:
        entry = (entry or "").strip()
        name, sep, version = entry.partition("@")
        name = name.strip()
        version = version.strip() if sep else None
        if not _NAME.match(name) or (sep and not version) or (version and "@" in version):
            raise PluginSpecError("Invalid plugin %r: use 'name' or 'name@version'" % entry)
        if version == "latest":
            version = None
        if name in wanted and wanted[name] != version:
            raise PluginSpecError("Plugin %r is listed twice with different versions (%s, %s)"
                                  % (name, wanted[name] or "any", version or "any"))
        wanted[name] = version
    if not wanted:
        raise PluginSpecError("name must list at least one plugin")
    return wanted


_TOKEN = re.compile(r"\d+|[A-Za-z]+")


def version_key(version):
    """Sort key approximating hudson.util.VersionNumber: numeric parts compare as numbers, textual
    parts lower than numbers (1.0-beta < 1.0 < 1.0.1; 4423.vb_59 < 4540.v61)."""
    key = []
    for token in _TOKEN.findall(version or ""):
        key.append((1, int(token), "") if token.isdigit() else (0, 0, token.lower()))
    return key


def is_older(installed, wanted):
    return version_key(installed) < version_key(wanted)


def read_installed(client):
    data = client.get_json("/pluginManager/api/json", params={"tree": PLUGINS_TREE},
                           action="list the installed plugins of", target="Jenkins") or {}
    return {p["shortName"]: p for p in data.get("plugins") or [] if p.get("shortName") and not p.get("deleted")}


def read_available_versions(client):
    """name → newest version offered by the update sites (for state=latest)."""
    data = client.get_json(UPDATE_CENTER, params={"tree": UPDATES_TREE},
                           action="read the available plugin updates of", target="the update center") or {}
    versions = {}
    for site in data.get("sites") or []:
        for update in site.get("updates") or []:
            name, version = update.get("name"), update.get("version")
            if name and version and (name not in versions or is_older(versions[name], version)):
                versions[name] = version
    return versions


def plan(wanted, installed, state, available=None):
    """What to do: {"install": {name: version|None}, "upgrade": {name: version}, "remove": [names],
    "warnings": [...]}"""
    todo = {"install": {}, "upgrade": {}, "remove": [], "warnings": []}
    for name, version in wanted.items():
        current = installed.get(name)
        if state == "absent":
            if current is not None:
                todo["remove"].append(name)
            continue
        if current is None:
            todo["install"][name] = version
            continue
        if version and is_older(current.get("version"), version):
            todo["upgrade"][name] = version
        elif version and is_older(version, current.get("version")) and state == "present":
            todo["warnings"].append(
                "Plugin %s %s is installed, newer than the requested %s; it is kept (Jenkins installs "
                "requested versions as minimums and does not downgrade)" % (name, current.get("version"), version))
        elif state == "latest" and not version and current.get("hasUpdate"):
            target = (available or {}).get(name)
            if target and is_older(current.get("version"), target):
                todo["upgrade"][name] = target
            else:
                todo["warnings"].append("Plugin %s reports an update, but the update sites list no newer version "
                                        "than %s; it was not upgraded" % (name, current.get("version")))
    return todo


def install_document(requests):
    """The XML body of installNecessaryPlugins: one <install plugin="name@version"/> per plugin."""
    lines = ["<jenkins>"]
    for name, version in requests.items():
        lines.append("  <install plugin=%s/>" % quoteattr("%s@%s" % (name, version or "latest")))
    lines.append("</jenkins>")
    return "\n".join(lines) + "\n"


def _update_center(client, action="read the update center of"):
    return client.get_json(UPDATE_CENTER, params={"depth": 1}, action=action, target="Jenkins") or {}


def _job_name(job):
    name = job.get("name")
    if not name and isinstance(job.get("plugin"), dict):
        name = job["plugin"].get("name")
    return name


def wait_for_jobs(client, requested, known_ids, timeout, interval=0.5):
    """Poll the update center until the jobs created after known_ids are done.

    Returns (outcomes, restart_required): outcomes maps plugin name → (status type, errorMessage).
    """
    deadline = client.monotonic() + timeout
    while True:
        center = _update_center(client, "follow the plugin installation on")
        outcomes = {}
        running = []
        for job in center.get("jobs") or []:
            if job.get("id") in known_ids:
                continue
            name = _job_name(job)
            status = job.get("status") or {}
            kind = status.get("type") if isinstance(status, dict) else None
            if not name or kind is None:
                continue
            outcomes[name] = (kind, job.get("errorMessage"))
            if kind in RUNNING:
                running.append(name)
        if not running:
            return outcomes, bool(center.get("restartRequiredForCompletion"))
        if client.monotonic() + interval > deadline:
            raise JenkinsTimeout(
                message="Failed to install plugins on Jenkins: still %s after %ss: %s"
                        % ("installing", timeout, ", ".join(sorted(running))))
        # first look soon (a small plugin installs in well under a second), then back off
        client.sleep(interval)
        interval = min(interval * 1.5, 10.0)


def _session(client):
    response = client.request("GET", "/api/json", params={"tree": "mode"}, expected=None,
                              action="read", target="Jenkins")
    return response.headers.get("X-Jenkins-Session")


def restart(client, how, timeout, interval=2.0):
    """POST /safeRestart or /restart, wait until Jenkins went away (or changed session) and is back."""
    before = _session(client)
    path = "/safeRestart" if how == "safe" else "/restart"
    client.post(path, expected=(200, 302, 503), action="restart" if how != "safe" else "safely restart",
                target="Jenkins")
    deadline = client.monotonic() + timeout
    while True:
        state, _message, response = client.probe("/api/json")
        if state != "ready":
            break
        session = response.headers.get("X-Jenkins-Session") if response is not None else None
        if before and session and session != before:
            return
        if client.monotonic() + interval > deadline:
            raise JenkinsTimeout(message="Failed to restart Jenkins: it was still serving requests %ss after "
                                         "POST %s (a safe restart waits for running builds)" % (timeout, path))
        client.sleep(interval)
    remaining = max(1, deadline - client.monotonic())
    client.wait_until_ready(timeout=remaining)


def _versions_text(versions):
    return "".join("%s: %s\n" % (name, versions[name]) for name in sorted(versions))


def ensure(client, params, check_mode=False, diff=False):
    result = _ensure(client, params, check_mode)
    if diff:
        result["diff"] = {"before": _versions_text(result["_before"]), "after": _versions_text(result["plugins"])}
    result.pop("_before", None)
    return result


def _ensure(client, params, check_mode):
    wanted = parse_specs(params["name"])
    state = params.get("state") or "present"
    installed = read_installed(client)
    available = None
    if state == "latest" and any(not v and installed.get(n, {}).get("hasUpdate") for n, v in wanted.items()):
        available = read_available_versions(client)
    todo = plan(wanted, installed, state, available)
    result = {
        "changed": bool(todo["install"] or todo["upgrade"] or todo["remove"]),
        "installed": sorted(todo["install"]),
        "upgraded": sorted(todo["upgrade"]),
        "removed": list(todo["remove"]),
        "failures": [],
        "restart_required": False,
        "restarted": False,
        "warnings": todo["warnings"],
        "_before": {n: installed[n].get("version") for n in wanted if n in installed},
    }
    if check_mode or not result["changed"]:
        # Upgrades always end "SuccessButRequiresRestart" and removals need one (reference §3.2).
        if check_mode and (todo["upgrade"] or todo["remove"]):
            restart_needed = True
            result["restart_required"] = restart_needed and params.get("restart") == "never"
            result["restarted"] = restart_needed and params.get("restart") != "never"
        result["plugins"] = _summary(installed, wanted, todo)
        return result
    restart_required = False
    requests = dict(todo["install"])
    requests.update(todo["upgrade"])
    if requests:
        known = {job.get("id") for job in _update_center(client).get("jobs") or []}
        client.post("/pluginManager/installNecessaryPlugins", data=install_document(requests),
                    headers={"Content-Type": "text/xml; charset=utf-8"}, expected=(200, 302),
                    action="install plugins", target=", ".join(sorted(requests)))
        outcomes, restart_required = wait_for_jobs(client, requests, known, params.get("install_timeout") or 600)
        _record_outcomes(result, requests, outcomes, installed)
    for name in todo["remove"]:
        client.post("/pluginManager/plugin/%s/doUninstall" % name, expected=(200, 302),
                    action="uninstall plugin", target=name)
        restart_required = True
    result["restart_required"] = restart_required
    if result["failures"]:
        result.pop("_before", None)
        raise PluginInstallError(
            "Failed to install plugins: %s" % "; ".join("%s: %s" % (f["name"], f["message"]) for f in result["failures"]),
            result)
    how = params.get("restart") or "safe"
    if restart_required and how != "never":
        restart(client, how, params.get("restart_timeout") or 600)
        result["restarted"] = True
        result["restart_required"] = False
    result["plugins"] = _summary(read_installed(client), wanted, None)
    return result


def _record_outcomes(result, requests, outcomes, installed):
    installed_names, upgraded = [], []
    for name, (kind, message) in sorted(outcomes.items()):
        if kind == "Failure":
            result["failures"].append({"name": name, "message": message or "installation failed"})
        elif kind in DONE_OK and kind != "Skipped":
            (upgraded if name in installed else installed_names).append(name)
    for name in requests:
        if name not in outcomes:
            result["failures"].append({
                "name": name,
                "message": "Jenkins scheduled no installation for %s@%s (unknown plugin, or the update site "
                           "does not offer that version)" % (name, requests[name] or "latest")})
    result["installed"] = installed_names
    result["upgraded"] = upgraded
    result["changed"] = bool(installed_names or upgraded or result["removed"] or result["changed"])


def _summary(installed, wanted, todo):
    """name → version for the plugins this task is about (predicted versions in check mode)."""
    out = {}
    for name, version in wanted.items():
        current = installed.get(name)
        if todo is not None and name in todo["install"]:
            out[name] = version or "latest"
        elif todo is not None and name in todo["upgrade"]:
            out[name] = todo["upgrade"][name]
        elif todo is not None and name in todo["remove"]:
            continue
        elif current is not None:
            out[name] = current.get("version")
    return out
