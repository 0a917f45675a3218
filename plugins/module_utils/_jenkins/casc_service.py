# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""Durable JCasC (architecture §2), shared by jenkins_casc and jenkins_kubernetes_cloud.

The collection owns one key of the managed ConfigMap per document; the ConfigMap is mounted in the
controller's CASC_JENKINS_CONFIG folder. converge():

1. POST /configuration-as-code/check with the document: a non-empty list means invalid → fail,
   nothing changed (check is read-only and also runs in check mode).
2. Read the ConfigMap key (what we wrote last time) and POST /configuration-as-code/export (what
   Jenkins runs now); compare both with the desired document (compare.py).
3. Write only when something differs and not in check mode: merge-patch data.<key> (create the
   ConfigMap if missing), POST /configuration-as-code/reload (302 = applied; 200 = JCasC error page
   → restore the previous key and fail with the page's message), export again; the kubelet needs
   a while (up to its sync period) to update a mounted ConfigMap, so reload + export repeat with
   backoff until the export shows the document or sync_timeout passes.

/apply and /configure are not used: they merge the posted YAML with the standard sources, so list
values such as jenkins.clouds would be concatenated, and the next reload or restart drops it.
"""

from __future__ import annotations

import json
import re

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.compare import (
    casc_differences,
    casc_equal,
    casc_project,
)
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import (
    JenkinsError,
    JenkinsTimeout,
    page_main_text,
)

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False

CASC = "/configuration-as-code"
YAML_HEADERS = {"Content-Type": "application/x-yaml; charset=utf-8"}
DEFAULT_CONFIGMAP = {"name": "jenkins-casc-managed", "namespace": "kube-ops"}
_KEY = re.compile(r"^[A-Za-z0-9][-._A-Za-z0-9]*$")


class CascError(JenkinsError):
    """The document is invalid, or Jenkins rejected it on reload."""


class CascInputError(JenkinsError):
    """Bad options (raised before any request)."""


def dump_yaml(document):
    return yaml.safe_dump(document, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1000)


def parse_config(config):
    """The desired document from a dict or a YAML string."""
    if isinstance(config, str):
        try:
            config = yaml.safe_load(config)
        except yaml.YAMLError as exc:
            raise CascInputError(message="config is not valid YAML: %s" % exc) from exc
    if not isinstance(config, dict) or not config:
        raise CascInputError(message="config must be a non-empty mapping of JCasC root elements "
                                     "(jenkins, unclassified, security, ...), got %s" % type(config).__name__)
    return json.loads(json.dumps(config))  # plain types only (no Ansible tagged strings)


def document_key(name):
    key = "%s.yaml" % name
    if not _KEY.match(name) or len(key) > 253:
        raise CascInputError(message="name %r cannot be a ConfigMap key: use letters, digits, '-', '_' and '.', "
                                     "not starting with '.' (JCasC skips hidden files)" % name)
    return key


def configmap_of(params):
    cm = dict(DEFAULT_CONFIGMAP)
    cm.update({k: v for k, v in (params.get("configmap") or {}).items() if v})
    return cm


# -- Jenkins calls -----------------------------------------------------------------------------

def check(client, text, subject):
    response = client.request("POST", CASC + "/check", data=text, headers=YAML_HEADERS, expected=(200, 400),
                              action="validate", target=subject)
    try:
        problems = response.json()
    except JenkinsError:
        problems = [{"line": -1, "message": page_main_text(response.text)[:300]}] if response.status != 200 else []
    if response.status == 400 and not problems:
        problems = [{"line": -1, "message": "HTTP 400"}]
    if problems:
        details = "; ".join(
            ("line %s: %s" % (p.get("line"), p.get("message")) if (p.get("line") or -1) >= 0 else str(p.get("message")))
            if isinstance(p, dict) else str(p) for p in problems)
        raise CascError(message="Failed to validate %s: %s" % (subject, details), action="validate", target=subject)


def export(client):
    response = client.request("POST", CASC + "/export", expected=(200,), action="export the configuration of",
                              target="Jenkins")
    try:
        return yaml.safe_load(response.text) or {}
    except yaml.YAMLError as exc:
        raise JenkinsError(message="Failed to export the configuration of Jenkins: the export is not YAML: %s"
                                   % exc) from exc


def reload(client):
    """POST /configuration-as-code/reload → None when applied, else the error page's message."""
    response = client.request("POST", CASC + "/reload", expected=(200, 301, 302, 303), action="reload",
                              target="configuration-as-code")
    if response.status != 200:
        return None
    # CASC ConfigurationAsCode#handleExceptionOnReloading renders error.jelly with HTTP 200.
    text = page_main_text(response.text)
    index = text.lower().find("error loading configuration")
    if index >= 0:
        text = text[index + len("error loading configuration"):]
    return text.strip(" :-") or "configuration-as-code reported an error"


# -- converge ----------------------------------------------------------------------------------

class Document:
    """One document owned by a module: where it lives and how the live export is checked."""

    def __init__(self, subject, key, configmap, desired, live_differences, live_project):
        self.subject = subject            # "JCasC document 'x'", "cloud 'kubernetes'"
        self.key = key
        self.configmap = configmap        # {"namespace", "name"}
        self.desired = desired            # dict or None (absent)
        self.live_differences = live_differences  # callable(export) -> Differences
        self.live_project = live_project  # callable(export) -> the relevant subtree for the diff


def _stored(kube, doc):
    """The document's key in the managed ConfigMap: (text or None, parsed document or None)."""
    previous = (kube.read_configmap_data(doc.configmap["namespace"], doc.configmap["name"]) or {}).get(doc.key)
    try:
        return previous, (yaml.safe_load(previous) if previous else None)
    except yaml.YAMLError:
        return previous, {"unparseable": previous}


def converge(client, kube, doc, reload_after=True, sync_timeout=180, check_mode=False, diff=False):
    ns, cm_name = doc.configmap["namespace"], doc.configmap["name"]
    text = dump_yaml(doc.desired) if doc.desired is not None else None
    previous, previous_doc = _stored(kube, doc)
    live = export(client)
    result = {"changed": False, "configmap": {"namespace": ns, "name": cm_name, "key": doc.key}, "warnings": []}
    if doc.desired is None:
        result["changed"] = previous is not None
        if result["changed"] and not check_mode:
            kube.set_configmap_key(ns, cm_name, doc.key, None)
            if reload_after:
                message = reload(client)
                if message:
                    raise CascError(message="Failed to reload configuration-as-code after removing %s: %s"
                                            % (doc.subject, message))
                live = export(client)
        result["export"] = live
        if diff:
            result["diff"] = {"before": previous or "", "after": "",
                              "before_header": "%s/%s:%s" % (ns, cm_name, doc.key), "after_header": "(removed)"}
        return result
    differences = doc.live_differences(live)
    source_changed = not casc_equal(previous_doc, doc.desired)
    result["changed"] = source_changed or (reload_after and bool(differences))
    result["warnings"] = differences.warnings()
    if diff:
        before = doc.live_project(live)
        result["diff"] = {
            "before": dump_yaml(before) if before else "",
            "after": dump_yaml(doc.desired),
            "before_header": "%s (live export)" % doc.subject,
            "after_header": "%s (%s/%s:%s)" % (doc.subject, ns, cm_name, doc.key),
        }
        if source_changed and not differences:
            result["diff"]["before"] = "# %s/%s:%s %s\n" % (
                ns, cm_name, doc.key, "differs" if previous else "is missing") + result["diff"]["before"]
    if result["changed"]:
        # validated by Jenkins before anything is written (also in check mode); a document that is
        # already live and stored needs no check
        check(client, text, doc.subject)
    if result["changed"] and not check_mode:
        if source_changed:
            kube.set_configmap_key(ns, cm_name, doc.key, text)
        if reload_after:
            live = _reload_until_visible(client, kube, doc, previous, sync_timeout)
            result["warnings"] = doc.live_differences(live).warnings()
    result["export"] = live
    return result


def write_source(kube, doc, check_mode=False, diff=False):
    """Only the document's key in the managed ConfigMap, no request to Jenkins: for a controller that
    has not read its configuration yet (a starting pod reads the mounted files when Jenkins boots, so
    no reload and no wait for the kubelet's sync of a mounted ConfigMap are needed). Jenkins has not
    checked the document: run converge() once it answers to verify that it is live."""
    ns, cm_name = doc.configmap["namespace"], doc.configmap["name"]
    text = dump_yaml(doc.desired) if doc.desired is not None else None
    previous, previous_doc = _stored(kube, doc)
    if doc.desired is None:
        changed = previous is not None
    else:
        changed = not casc_equal(previous_doc, doc.desired)
    result = {"changed": changed, "configmap": {"namespace": ns, "name": cm_name, "key": doc.key}, "warnings": []}
    if changed and not check_mode:
        kube.set_configmap_key(ns, cm_name, doc.key, text)
    if diff:
        where = "%s/%s:%s" % (ns, cm_name, doc.key)
        result["diff"] = {"before": previous or "", "after": text or "", "before_header": where,
                          "after_header": where if text is not None else "(removed)"}
    return result


def _reload_until_visible(client, kube, doc, previous, sync_timeout):
    ns, cm_name = doc.configmap["namespace"], doc.configmap["name"]
    deadline = client.monotonic() + sync_timeout
    interval = 2.0
    while True:
        message = reload(client)
        if message:
            kube.set_configmap_key(ns, cm_name, doc.key, previous)
            raise CascError(message="Failed to reload configuration-as-code with %s (%s/%s:%s): %s; the previous "
                                    "content of the key was restored" % (doc.subject, ns, cm_name, doc.key, message))
        live = export(client)
        differences = doc.live_differences(live)
        if not differences:
            return live
        if client.monotonic() + interval > deadline:
            raise JenkinsTimeout(
                message="Failed to verify %s: the live configuration still differs %ss after writing %s/%s:%s (%s). "
                        "Either the ConfigMap is not mounted in the controller's CASC_JENKINS_CONFIG folder (or the "
                        "kubelet has not synced it yet: raise sync_timeout), or another JCasC source sets the same "
                        "value: sources are merged in path order and a later file's scalar wins"
                        % (doc.subject, sync_timeout, ns, cm_name, doc.key, differences.describe()))
        client.sleep(interval)
        interval = min(interval * 1.5, 10.0)


def ensure(client, kube, params, check_mode=False, diff=False):
    """jenkins_casc: one named JCasC document."""
    name = params["name"]
    key = document_key(name)
    state = params.get("state") or "present"
    desired = None
    if state == "present":
        if params.get("config") is None:
            raise CascInputError(message="config is required when state is present")
        desired = parse_config(params["config"])
    doc = Document(
        subject="JCasC document '%s'" % name, key=key, configmap=configmap_of(params), desired=desired,
        live_differences=lambda live: casc_differences(desired, live),
        live_project=lambda live: casc_project(desired, live))
    return converge(client, kube, doc, reload_after=params.get("reload", True),
                    sync_timeout=params.get("sync_timeout") or 180, check_mode=check_mode, diff=diff)
