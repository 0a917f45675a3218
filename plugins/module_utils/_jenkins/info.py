# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""Read-only facts about a Jenkins controller (service behind the jenkins_info module)."""

from __future__ import annotations

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.client import (
    STATE_CASC_BOOT_FAILURE,
    STATE_READY,
)
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

GATHER_CHOICES = ["plugins", "nodes", "clouds"]
READY_PATH = "/login"  # anonymously readable; the Helm chart probes the same path

# ?tree= keeps the answers small (the root lists every job) and independent of depth rules.
ROOT_TREE = "mode,url,useSecurity,useCrumbs,quietingDown,quietDownReason,slaveAgentPort"
PLUGINS_TREE = "plugins[shortName,longName,version,active,enabled,hasUpdate]"
NODES_TREE = "computer[displayName,offline,temporarilyOffline,idle,numExecutors,assignedLabels[name]]"


def gather_info(client, gather=None, wait=False, wait_timeout=300, wait_interval=2.0):
    """Return the jenkins_info result (without 'changed'); warnings are in result['warnings'].

    wait=False: one probe; a controller that is starting or restarting gives ready=false instead
    of an error. wait=True: poll until ready (or raise JenkinsTimeout). Either way the JCasC boot
    failure page raises JenkinsCascBootError, because that 503 never ends on its own.
    """
    gather = GATHER_CHOICES if gather is None else gather
    result = {"ready": False, "warnings": []}
    if wait:
        ready_response = client.wait_until_ready(timeout=wait_timeout, interval=wait_interval, path=READY_PATH)
    else:
        state, message, ready_response = client.probe(READY_PATH)
        if state == STATE_CASC_BOOT_FAILURE:
            raise client.casc_boot_error(message, ready_response)
        if state != STATE_READY:
            result["state"] = state
            result["message"] = message
            return result
        if ready_response.status >= 400 and ready_response.status not in (401, 403):
            # Jenkins answered, but not as Jenkins does on /login (wrong context path, proxy error page)
            raise client.error_from_response(ready_response, "reach Jenkins at", client.base_url)

    response = client.request("GET", "/api/json", params={"tree": ROOT_TREE},
                              action="read", target="the Jenkins root (/api/json)")
    root = response.json() or {}
    result.update(
        ready=True,
        version=response.headers.get("X-Jenkins") or ready_response.headers.get("X-Jenkins"),
        mode=root.get("mode"),
        url=root.get("url"),
        use_security=root.get("useSecurity"),
        use_crumbs=root.get("useCrumbs"),
        quieting_down=root.get("quietingDown"),
        slave_agent_port=root.get("slaveAgentPort"),
    )
    if "plugins" in gather:
        result["plugins"] = read_plugins(client)
    if "nodes" in gather:
        result["nodes"] = read_nodes(client)
    if "clouds" in gather:
        clouds, warning = read_clouds(client)
        if warning:
            result["warnings"].append(warning)
        else:
            result["clouds"] = clouds
    return result


def read_plugins(client):
    document = client.get_json("/pluginManager/api/json", params={"tree": PLUGINS_TREE},
                               action="list the plugins of", target="Jenkins (/pluginManager/api/json)") or {}
    plugins = [
        {
            "name": item.get("shortName"),
            "version": item.get("version"),
            "active": item.get("active"),
            "enabled": item.get("enabled"),
            "has_update": item.get("hasUpdate"),
            "long_name": item.get("longName"),
        }
        for item in document.get("plugins") or []
    ]
    return sorted(plugins, key=lambda plugin: plugin["name"] or "")


def read_nodes(client):
    document = client.get_json("/computer/api/json", params={"tree": NODES_TREE},
                               action="list the nodes of", target="Jenkins (/computer/api/json)") or {}
    return [
        {
            "name": item.get("displayName"),
            "offline": item.get("offline"),
            "temporarily_offline": item.get("temporarilyOffline"),
            "idle": item.get("idle"),
            "num_executors": item.get("numExecutors"),
            "labels": [label.get("name") for label in item.get("assignedLabels") or [] if label.get("name")],
            "class": item.get("_class"),
        }
        for item in document.get("computer") or []
    ]


def read_clouds(client):
    """(cloud names, None) from the live JCasC export, or (None, warning) if it cannot be read.

    POST /configuration-as-code/export is read-only despite the method (ConfigurationAsCode#doExport).
    """
    if not HAS_YAML:
        return None, "clouds not gathered: the PyYAML Python library is missing"
    try:
        response = client.post("/configuration-as-code/export", expected=(200,),
                               action="export the configuration-as-code of", target="Jenkins")
    except JenkinsError as exc:
        return None, "clouds not gathered: %s" % exc
    try:
        document = yaml.safe_load(response.text) or {}
    except yaml.YAMLError as exc:
        return None, "clouds not gathered: the configuration-as-code export is not valid YAML (%s)" % (
            str(exc).splitlines()[0])
    return cloud_names(document), None


def cloud_names(document):
    """Names of jenkins.clouds entries; each entry is {<symbol>: {name: ..., ...}}."""
    clouds = ((document or {}).get("jenkins") or {}).get("clouds") or []
    names = []
    for entry in clouds:
        if not isinstance(entry, dict):
            continue
        for symbol, settings in entry.items():
            name = settings.get("name") if isinstance(settings, dict) else None
            names.append(name or symbol)
    return names
