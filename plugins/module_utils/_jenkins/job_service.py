# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""jenkins_job: render a freestyle spec to config.xml, read/compare/create/update/delete a job.

Wire (reference §8): GET /job/X/config.xml (404 = absent), POST /createItem?name=X with
Content-Type application/xml (200, empty body; 400 + X-Error on failure), POST /job/X/config.xml
(200), POST /job/X/doDelete (302). Folders: "a/b" is /job/a/job/b, created through
/job/a/createItem?name=b.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import quote

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.compare import (
    normalise_job_xml,
)
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError

XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}
# Characters Jenkins refuses in item names (jenkins.model.Jenkins#checkGoodName).
_BAD_NAME = re.compile(r"[?*/\\%!@#$^&|<>\[\]:;]")

PARAMETER_CLASSES = {
    "string": "hudson.model.StringParameterDefinition",
    "boolean": "hudson.model.BooleanParameterDefinition",
    "choice": "hudson.model.ChoiceParameterDefinition",
    "text": "hudson.model.TextParameterDefinition",
}


class JobSpecError(JenkinsError):
    """The job options cannot be turned into a config.xml (raised before any request)."""


def job_path(name):
    """/job/a/job/b for "a/b"."""
    return "".join("/job/%s" % quote(part, safe="") for part in name.strip("/").split("/"))


def validate_name(name):
    parts = name.strip("/").split("/")
    for part in parts:
        if not part or part in (".", "..") or _BAD_NAME.search(part) or part != part.strip():
            raise JobSpecError("Invalid job name %r: each path element must be non-empty, without "
                               "surrounding spaces and without any of ?*/\\%%!@#$^&|<>[]:;" % name)
    return parts


def _text(parent, tag, value):
    element = ET.SubElement(parent, tag)
    if value is not None:
        element.text = value
    return element


def _bool(value):
    return "true" if value else "false"


def _parameter(parent, param):
    kind = param.get("type") or "string"
    name = param.get("name")
    if not name:
        raise JobSpecError("Every entry of parameters needs a name")
    definition = ET.SubElement(parent, PARAMETER_CLASSES[kind])
    _text(definition, "name", name)
    _text(definition, "description", param.get("description") or "")
    default = param.get("default")
    choices = param.get("choices")
    if kind == "choice":
        if not choices:
            raise JobSpecError("Parameter %r of type choice needs choices" % name)
        if default is not None:
            raise JobSpecError("Parameter %r of type choice cannot have a default: the first choice "
                               "is the default" % name)
        holder = ET.SubElement(definition, "choices", {"class": "java.util.Arrays$ArrayList"})
        array = ET.SubElement(holder, "a", {"class": "string-array"})
        for choice in choices:
            _text(array, "string", str(choice))
        return
    if choices:
        raise JobSpecError("Parameter %r: choices are only valid with type choice" % name)
    if kind == "boolean":
        if default is not None and str(default).lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise JobSpecError("Parameter %r of type boolean needs a boolean default, got %r" % (name, default))
        _text(definition, "defaultValue", _bool(str(default).lower() in ("true", "yes", "1")))
        return
    _text(definition, "defaultValue", "" if default is None else str(default))
    if kind == "string":
        _text(definition, "trim", "false")


def render_freestyle(spec):
    """config.xml of a freestyle project (reference §8.1) from the module's spec options."""
    project = ET.Element("project")
    _text(project, "actions", None)
    _text(project, "description", spec.get("description") or "")
    _text(project, "keepDependencies", "false")
    properties = _text(project, "properties", None)
    discarder = spec.get("build_discarder")
    if discarder:
        prop = ET.SubElement(properties, "jenkins.model.BuildDiscarderProperty")
        strategy = ET.SubElement(prop, "strategy", {"class": "hudson.tasks.LogRotator"})
        for tag, key in (("daysToKeep", "days_to_keep"), ("numToKeep", "num_to_keep"),
                         ("artifactDaysToKeep", "artifact_days_to_keep"),
                         ("artifactNumToKeep", "artifact_num_to_keep")):
            value = discarder.get(key)
            _text(strategy, tag, str(-1 if value is None else value))
    parameters = spec.get("parameters") or []
    if parameters:
        names = [p.get("name") for p in parameters]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise JobSpecError("Duplicate parameter names: %s" % ", ".join(duplicates))
        prop = ET.SubElement(properties, "hudson.model.ParametersDefinitionProperty")
        definitions = ET.SubElement(prop, "parameterDefinitions")
        for param in parameters:
            _parameter(definitions, param)
    ET.SubElement(project, "scm", {"class": "hudson.scm.NullSCM"})
    label = spec.get("label")
    if label:
        # canRoam=false + assignedNode=<expr>: only nodes matching the label expression
        # (AbstractProject#getAssignedLabel).
        _text(project, "assignedNode", label)
        _text(project, "canRoam", "false")
    else:
        _text(project, "canRoam", "true")
    _text(project, "disabled", _bool(spec.get("disabled")))
    _text(project, "blockBuildWhenDownstreamBuilding", "false")
    _text(project, "blockBuildWhenUpstreamBuilding", "false")
    _text(project, "triggers", None)
    _text(project, "concurrentBuild", _bool(spec.get("concurrent")))
    builders = _text(project, "builders", None)
    for command in spec.get("shell") or []:
        shell = ET.SubElement(builders, "hudson.tasks.Shell")
        _text(shell, "command", command)
        _text(shell, "configuredLocalRules", None)
    _text(project, "publishers", None)
    _text(project, "buildWrappers", None)
    ET.indent(project, space="  ")
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(project, encoding="unicode") + "\n"


def desired_xml(params):
    if params.get("config_xml"):
        return params["config_xml"]
    return render_freestyle(params)


def read_config(client, name):
    """The job's config.xml, or None when the job does not exist."""
    response = client.request("GET", job_path(name) + "/config.xml", expected=(200, 404),
                              action="read the configuration of job", target="'%s'" % name)
    if response.status == 404:
        return None
    return response.text


def read_builds(client, name):
    """The job's last build ({number, result}) and the number of its last successful build, each
    None when there is none: one GET of the job's JSON API, limited to those two fields."""
    data = client.get_json(job_path(name) + "/api/json",
                           params={"tree": "lastBuild[number,result],lastSuccessfulBuild[number]"},
                           action="read the builds of job", target="'%s'" % name)
    last = data.get("lastBuild") or None
    success = data.get("lastSuccessfulBuild") or None
    return ({"number": last.get("number"), "result": last.get("result")} if last else None,
            success.get("number") if success else None)


def _parent_path(parts):
    return "".join("/job/%s" % quote(p, safe="") for p in parts[:-1])


def ensure(client, params, check_mode=False, diff=False):
    """Converge one job. Returns the module result (changed, name, config_xml, last_build,
    last_successful_build, diff?)."""
    name = params["name"]
    parts = validate_name(name)
    state = params.get("state") or "present"
    desired = None
    desired_norm = None
    if state == "present":
        desired = desired_xml(params)
        try:
            desired_norm = normalise_job_xml(desired)
        except ValueError as exc:
            raise JobSpecError(str(exc)) from exc
    current = read_config(client, name)
    current_norm = None
    if current is not None:
        try:
            current_norm = normalise_job_xml(current)
        except ValueError as exc:
            raise JenkinsError("Failed to read the configuration of job '%s': %s" % (name, exc)) from exc
    result = {"changed": False, "name": name, "config_xml": current}
    if state == "absent":
        if current is not None:
            result["changed"] = True
            if not check_mode:
                client.post(job_path(name) + "/doDelete", expected=(200, 204, 302),
                            action="delete job", target="'%s'" % name)
            result["config_xml"] = None
    elif current is None:
        result["changed"] = True
        if not check_mode:
            client.post(_parent_path(parts) + "/createItem", params={"name": parts[-1]}, data=desired,
                        headers=XML_HEADERS, expected=(200, 302), action="create job", target="'%s'" % name)
        result["config_xml"] = desired
    elif current_norm != desired_norm:
        result["changed"] = True
        if not check_mode:
            client.post(job_path(name) + "/config.xml", data=desired, headers=XML_HEADERS,
                        expected=(200,), action="update the configuration of job", target="'%s'" % name)
        result["config_xml"] = desired
    # the builds are read only for a job that existed before the task (a new one has none): callers
    # such as the smoke_build role decide from them whether a verification build is still needed
    result["last_build"], result["last_successful_build"] = (
        read_builds(client, name) if state == "present" and current is not None else (None, None))
    if diff:
        result["diff"] = {
            "before": current_norm or "",
            "after": desired_norm if state == "present" else "",
            "before_header": "%s (config.xml, normalised)" % name,
            "after_header": "%s (config.xml, normalised)" % name,
        }
    return result
