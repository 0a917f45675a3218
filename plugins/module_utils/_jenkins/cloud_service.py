# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""jenkins_kubernetes_cloud: structured options → the Kubernetes plugin's JCasC (reference §5).

The cloud is one document `jenkins: clouds: [ {kubernetes: {...}} ]` stored as key
`cloud-<name>.yaml` of the managed ConfigMap and applied through casc_service.converge(); JCasC
concatenates `jenkins.clouds` across files, so other clouds (other keys, other sources) stay.

Pod templates get a stable `id` = sha256 of the template's rendered values (as the Helm chart
does): a random id on every reload orphans running agents ("Unable to resolve pod template from
id=...", helm-charts #270), and a changed template gets a new id.
"""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import urlsplit

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import casc_service
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.compare import (
    Differences,
    casc_differences,
    casc_project,
)
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import (
    JenkinsError,
    html_to_text,
)

TEST_CONNECTION = "/descriptorByName/org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud/testConnection"
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Characters of label expressions (&& || ! -> <-> parentheses) cannot be part of a template label.
_LABEL_BAD = re.compile(r"[&|!()<>\"']")
_OK_DIV = re.compile(r"<div[^>]*class=[\"']ok[\"'][^>]*>(.*?)</div>", re.IGNORECASE | re.DOTALL)

# Minimums the plugin silently enforces (KubernetesCloud#setConnectTimeout etc.: Math.max).
MINIMUMS = {"connect_timeout": 5, "read_timeout": 15, "retention_timeout": 5}

# What the export leaves out because it is the default (compared as equal when absent).
DEFAULTS = {
    "connectTimeout": 5, "readTimeout": 15, "retentionTimeout": 5, "maxRequestsPerHostStr": "32",
    "podRetention": ("never", "default"), "slaveConnectTimeout": 1000, "idleMinutes": 0, "workingDir": "/home/jenkins/agent",
    "yamlMergeStrategy": "override", "instanceCap": 2147483647, "activeDeadlineSeconds": 0,
}

CLOUD_FIELDS = (
    ("server_url", "serverUrl"), ("server_certificate", "serverCertificate"), ("skip_tls_verify", "skipTlsVerify"),
    ("namespace", "namespace"), ("jenkins_url", "jenkinsUrl"), ("jenkins_tunnel", "jenkinsTunnel"),
    ("websocket", "webSocket"), ("direct_connection", "directConnection"), ("credentials_id", "credentialsId"),
    ("connect_timeout", "connectTimeout"), ("read_timeout", "readTimeout"), ("retention_timeout", "retentionTimeout"),
)
TEMPLATE_FIELDS = (
    ("name", "name"), ("label", "label"), ("namespace", "namespace"), ("service_account", "serviceAccount"),
    ("slave_connect_timeout", "slaveConnectTimeout"), ("idle_minutes", "idleMinutes"),
    ("instance_cap", "instanceCap"), ("active_deadline_seconds", "activeDeadlineSeconds"),
)
CONTAINER_FIELDS = (
    ("name", "name"), ("image", "image"), ("command", "command"), ("args", "args"), ("tty_enabled", "ttyEnabled"),
    ("working_dir", "workingDir"), ("privileged", "privileged"),
    ("resource_request_cpu", "resourceRequestCpu"), ("resource_request_memory", "resourceRequestMemory"),
    ("resource_limit_cpu", "resourceLimitCpu"), ("resource_limit_memory", "resourceLimitMemory"),
)
# volume type → (JCasC symbol, {option: attribute}, required options)
VOLUMES = {
    "host_path": ("hostPathVolume", {"host_path": "hostPath", "mount_path": "mountPath", "read_only": "readOnly"},
                  ("host_path", "mount_path")),
    "empty_dir": ("emptyDirVolume", {"mount_path": "mountPath", "memory": "memory"}, ("mount_path",)),
    "pvc": ("persistentVolumeClaim", {"claim_name": "claimName", "mount_path": "mountPath", "read_only": "readOnly"},
            ("claim_name", "mount_path")),
    "secret": ("secretVolume", {"secret_name": "secretName", "mount_path": "mountPath"}, ("secret_name", "mount_path")),
    "config_map": ("configMapVolume", {"config_map_name": "configMapName", "mount_path": "mountPath"},
                   ("config_map_name", "mount_path")),
    "nfs": ("nfsVolume", {"server_address": "serverAddress", "server_path": "serverPath", "read_only": "readOnly",
                          "mount_path": "mountPath"}, ("server_address", "server_path", "mount_path")),
}
VOLUME_OPTIONS = ("host_path", "mount_path", "read_only", "claim_name", "secret_name", "config_map_name",
                  "server_address", "server_path", "memory")
# Counters the plugin offers both as int and as string (xStr); the export may use either.
_STR_ALIASES = ("containerCap", "maxRequestsPerHost", "instanceCap", "idleMinutes", "slaveConnectTimeout",
                "activeDeadlineSeconds")


class CloudSpecError(JenkinsError):
    """The cloud options are invalid (raised before any request)."""


class CloudConnectionError(JenkinsError):
    """Test Connection did not answer "Connected"."""

    def __init__(self, message, connection):
        self.connection = connection
        super().__init__(message=message)

    def to_result(self):
        out = super().to_result()
        out["connection"] = self.connection
        return out


# -- validation and rendering ------------------------------------------------------------------

def _escape(value):
    """Escape JCasC interpolation: ${computer.jnlpmac} must reach the plugin literally (^${...})."""
    if not isinstance(value, str):
        return value
    return re.sub(r"(?<!\^)\$\{", "^${", value)


def _check_dns(kind, name):
    if not name or len(name) > 63 or not DNS1123_LABEL.match(name):
        raise CloudSpecError(message="%s name %r is not a valid DNS-1123 label (lower case letters, digits and '-', "
                                     "starting and ending with a letter or digit, at most 63 characters)" % (kind, name))


def _key_values(mapping):
    return [{"key": str(k), "value": "" if v is None else _escape(str(v))} for k, v in sorted((mapping or {}).items())]


def _env_vars(mapping):
    return [{"envVar": {"key": str(k), "value": "" if v is None else _escape(str(v))}}
            for k, v in sorted((mapping or {}).items())]


def _check_url(option, value):
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CloudSpecError(message="%s must be an http:// or https:// URL with a host name, got %r" % (option, value))


def validate(params):
    casc_service.document_key("cloud-%s" % params["name"])
    if params.get("namespace"):
        # the namespace agent pods are created in (a Kubernetes namespace name is a DNS-1123 label)
        if len(params["namespace"]) > 63 or not DNS1123_LABEL.match(params["namespace"]):
            raise CloudSpecError(message="namespace %r is not a valid Kubernetes namespace name (DNS-1123 label: lower "
                                         "case letters, digits and '-', at most 63 characters)" % params["namespace"])
    for option in ("server_url", "jenkins_url"):
        if params.get(option):
            _check_url(option, params[option])
    tunnel = params.get("jenkins_tunnel")
    if tunnel and not re.match(r"^[^\s:/]*:[0-9]{1,5}$", tunnel):
        raise CloudSpecError(message="jenkins_tunnel must be host:port or :port (the agent's TCP endpoint), got %r" % tunnel)
    for option, minimum in MINIMUMS.items():
        value = params.get(option)
        if value is not None and value < minimum:
            raise CloudSpecError(message="%s must be at least %s (the Kubernetes plugin raises smaller values to %s), "
                                         "got %s" % (option, minimum, minimum, value))
    if params.get("websocket") and params.get("jenkins_tunnel"):
        raise CloudSpecError(message="jenkins_tunnel cannot be used with websocket: WebSocket agents only use jenkins_url")
    if params.get("websocket") and params.get("direct_connection"):
        raise CloudSpecError(message="websocket and direct_connection are mutually exclusive")
    for option in ("container_cap", "max_requests_per_host"):
        if params.get(option) is not None and params[option] < 0:
            raise CloudSpecError(message="%s must not be negative, got %s" % (option, params[option]))
    names = set()
    for index, template in enumerate(params.get("templates") or []):
        where = "templates[%d]" % index
        _check_dns("%s: pod template" % where, template.get("name"))
        if template["name"] in names:
            raise CloudSpecError(message="%s: pod template name %r is used twice" % (where, template["name"]))
        names.add(template["name"])
        label = template.get("label")
        if label is not None and (not label.strip() or _LABEL_BAD.search(label)):
            raise CloudSpecError(message="%s: label %r must be one or more labels separated by spaces, without "
                                         "label-expression operators (&&, ||, !, ->, parentheses)" % (where, label))
        containers = set()
        for c_index, container in enumerate(template.get("containers") or []):
            _check_dns("%s.containers[%d]: container" % (where, c_index), container.get("name"))
            if container["name"] in containers:
                raise CloudSpecError(message="%s: container name %r is used twice" % (where, container["name"]))
            containers.add(container["name"])
        mounts = set()
        for v_index, volume in enumerate(template.get("volumes") or []):
            _validate_volume("%s.volumes[%d]" % (where, v_index), volume)
            if volume["mount_path"] in mounts:
                raise CloudSpecError(message="%s.volumes[%d]: mount_path %s is used twice (the plugin would skip it)"
                                             % (where, v_index, volume["mount_path"]))
            mounts.add(volume["mount_path"])
        for option in ("slave_connect_timeout", "idle_minutes", "active_deadline_seconds"):
            if template.get(option) is not None and template[option] < 0:
                raise CloudSpecError(message="%s: %s must not be negative, got %s" % (where, option, template[option]))


def _validate_volume(where, volume):
    kind = volume.get("type") or "host_path"
    _symbol, fields, required = VOLUMES[kind]
    missing = [o for o in required if volume.get(o) in (None, "")]
    if missing:
        raise CloudSpecError(message="%s: a %s volume needs %s" % (where, kind, ", ".join(missing)))
    extra = [o for o in VOLUME_OPTIONS if volume.get(o) is not None and o not in fields]
    if extra:
        raise CloudSpecError(message="%s: %s not used by a %s volume" % (where, ", ".join(extra), kind))
    if not str(volume["mount_path"]).startswith("/"):
        raise CloudSpecError(message="%s: mount_path must be absolute, got %s" % (where, volume["mount_path"]))


def _put(target, params, fields):
    for option, attribute in fields:
        value = params.get(option)
        if value is not None:
            target[attribute] = value


def render_container(container):
    out = {}
    _put(out, container, CONTAINER_FIELDS)
    for key in ("command", "args"):
        if key in out:
            out[key] = _escape(out[key])
    if container.get("env_vars"):
        out["envVars"] = _env_vars(container["env_vars"])
    return out


def render_volume(volume):
    symbol, fields, _required = VOLUMES[volume.get("type") or "host_path"]
    return {symbol: {attribute: volume[option] for option, attribute in fields.items()
                     if volume.get(option) is not None}}


def template_id(values):
    """sha256 of the template's rendered values (canonical JSON), as the Helm chart's
    `id: {{ sha256sum (toYaml $agent) }}` (helm-charts _helpers.tpl jenkins.casc.podTemplate)."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def render_template(template):
    values = {}
    _put(values, template, TEMPLATE_FIELDS)
    if template.get("node_selector"):
        values["nodeSelector"] = ",".join("%s=%s" % (k, v) for k, v in sorted(template["node_selector"].items()))
    if template.get("containers"):
        values["containers"] = [render_container(c) for c in template["containers"]]
    if template.get("volumes"):
        values["volumes"] = [render_volume(v) for v in template["volumes"]]
    if template.get("env_vars"):
        values["envVars"] = _env_vars(template["env_vars"])
    if template.get("annotations"):
        values["annotations"] = _key_values(template["annotations"])
    if template.get("image_pull_secrets"):
        values["imagePullSecrets"] = [{"name": n} for n in template["image_pull_secrets"]]
    if template.get("yaml"):
        values["yaml"] = _escape(template["yaml"])
    if template.get("yaml_merge_strategy"):
        values["yamlMergeStrategy"] = template["yaml_merge_strategy"]
    if template.get("pod_retention"):
        values["podRetention"] = template["pod_retention"]
    rendered = {"id": template_id(values)}
    rendered.update(values)
    return rendered


def render_cloud(params):
    """The `kubernetes:` mapping of the cloud (without the symbol wrapper)."""
    cloud = {"name": params["name"]}
    _put(cloud, params, CLOUD_FIELDS)
    if params.get("container_cap") is not None:
        cloud["containerCapStr"] = str(params["container_cap"])
    if params.get("max_requests_per_host") is not None:
        cloud["maxRequestsPerHostStr"] = str(params["max_requests_per_host"])
    if params.get("pod_retention"):
        cloud["podRetention"] = params["pod_retention"]
    if params.get("pod_labels"):
        cloud["podLabels"] = _key_values(params["pod_labels"])
    if params.get("templates") is not None:
        cloud["templates"] = [render_template(t) for t in params["templates"]]
    return cloud


def document(cloud):
    return {"jenkins": {"clouds": [{"kubernetes": cloud}]}}


# -- live comparison ---------------------------------------------------------------------------

def live_clouds(export, name):
    """The `kubernetes` clouds named `name` in the export (normally one)."""
    jenkins = {}
    for key, value in (export or {}).items():
        if str(key).lower() == "jenkins" and isinstance(value, dict):
            jenkins = value
    clouds = next((v for k, v in jenkins.items() if str(k).lower() == "clouds"), None) or []
    found = []
    for item in clouds:
        if isinstance(item, dict) and len(item) == 1:
            (symbol, body), = item.items()
            if str(symbol).lower() == "kubernetes" and isinstance(body, dict) and body.get("name") == name:
                found.append(body)
    return found


def _with_aliases(value):
    """Give both spellings of the int/string counters (containerCap and containerCapStr ...)."""
    if isinstance(value, list):
        return [_with_aliases(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _with_aliases(v) for k, v in value.items()}
    for base in _STR_ALIASES:
        if base in out and base + "Str" not in out:
            out[base + "Str"] = str(out[base])
        elif base + "Str" in out and base not in out:
            out[base] = out[base + "Str"]
    return out


def cloud_differences(cloud, export):
    found = live_clouds(export, cloud["name"])
    if not found:
        missing = Differences()
        missing.add("/jenkins/clouds[kubernetes %s]" % cloud["name"], cloud, None)
        return missing
    result = casc_differences(cloud, _with_aliases(found[-1]), defaults=DEFAULTS)
    if len(found) > 1:
        result.skip("/jenkins/clouds", "cloud '%s' is defined %d times in the live configuration (another JCasC "
                                       "source defines it too); only the last one was compared" % (cloud["name"], len(found)))
    return result


# -- Test Connection ---------------------------------------------------------------------------

def test_connection(client, params):
    """POST the plugin's Test Connection form (reference §6); returns {ok, message}."""
    form = {
        "name": params["name"],
        "serverUrl": params.get("server_url") or "",
        "credentialsId": params.get("credentials_id") or "",
        "serverCertificate": params.get("server_certificate") or "",
        "skipTlsVerify": "true" if params.get("skip_tls_verify") else "false",
        "namespace": params.get("namespace") or "",
        # The form field is connectTimeout, the Java parameter connectionTimeout: send both.
        "connectTimeout": str(params.get("connect_timeout") or 5),
        "connectionTimeout": str(params.get("connect_timeout") or 5),
        "readTimeout": str(params.get("read_timeout") or 15),
        "useJenkinsProxy": "false",
    }
    response = client.post(TEST_CONNECTION, data=form, expected=(200,), action="test the connection of cloud",
                           target="'%s'" % params["name"])
    match = _OK_DIV.search(response.text)
    if match:
        message = html_to_text(match.group(1))
        return {"ok": message.lower().startswith("connected"), "message": message}
    return {"ok": False, "message": html_to_text(response.text) or "empty answer"}


# -- ensure ------------------------------------------------------------------------------------

def ensure(client, kube, params, check_mode=False, diff=False):
    validate(params)
    name = params["name"]
    state = params.get("state") or "present"
    cloud = render_cloud(params) if state == "present" else None
    desired = document(cloud) if cloud is not None else None
    doc = casc_service.Document(
        subject="cloud '%s'" % name, key=casc_service.document_key("cloud-%s" % name),
        configmap=casc_service.configmap_of(params), desired=desired,
        live_differences=lambda live: cloud_differences(cloud, live),
        live_project=lambda live: casc_project(desired, {"jenkins": {"clouds": [
            {"kubernetes": c} for c in live_clouds(live, name)]}}))
    if params.get("write_only"):
        result = casc_service.write_source(kube, doc, check_mode=check_mode, diff=diff)
        result.update(cloud=cloud, connection=None)
        return result
    connection = None
    if state == "present" and params.get("test_connection"):
        exists = None
        if check_mode:
            exists = bool(live_clouds(casc_service.export(client), name))
        if not check_mode or exists:
            connection = test_connection(client, params)
            if not connection["ok"]:
                raise CloudConnectionError("Failed to test the connection of cloud '%s': %s (nothing was changed)"
                                           % (name, connection["message"]), connection)
        else:
            connection = {"ok": None, "message": "not tested in check mode: the cloud does not exist yet"}
    result = casc_service.converge(client, kube, doc, reload_after=True, sync_timeout=params.get("sync_timeout") or 180,
                                   check_mode=check_mode, diff=diff)
    result.pop("export", None)
    result["cloud"] = cloud
    result["connection"] = connection
    return result
