#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubeconfig_info
short_description: Read and check a kubeconfig directory in one module run
version_added: 0.3.0
description:
  - Reads every file under O(path) (the sub-directories in O(exclude_dirs) left out), checks that
    C(config) is a kubeconfig (kind C(Config), at least one cluster, each with an http(s) C(server)),
    optionally rewrites every cluster's server (O(server)) and optionally checks that the server
    answers HTTP from this host (O(verify_server)).
  - The kubeops.jenkins.kubeconfig role runs it on the master host and writes the result to every
    node with M(kubeops.jenkins.kubeconfig_files).
  - The contents are credentials. Use C(no_log) on the task, or keep the result out of the output.
author:
  - kubeops.jenkins maintainers (@kubeops)
requirements:
  - PyYAML on the host the module runs on (a dependency of the C(kubernetes) client the other
    modules of this collection need there).
extends_documentation_fragment:
  - kubeops.jenkins.attributes
  - kubeops.jenkins.attributes.INFO_MODULE
options:
  path:
    description: Absolute path of the kubeconfig directory, for example C(/root/.kube).
    type: path
    required: true
  exclude_dirs:
    description: Sub-directories of O(path) that are not read (kubectl's caches).
    type: list
    elements: str
    default: [cache, http-cache]
  server:
    description:
      - When set, every cluster's C(server) in the returned C(config) is replaced by this http(s) URL
        (for example a load-balanced API address the nodes can reach).
    type: str
    default: ""
  verify_server:
    description:
      - Check that the (first) server answers C(GET /version) from this host. Any HTTP answer of 200, 401
        or 403 counts, since the check is about reachability, not about the credentials.
    type: bool
    default: false
  verify_timeout:
    description: Seconds to wait for that answer.
    type: int
    default: 10
  validate_certs:
    description:
      - Verify the server's TLS certificate in that check, against the cluster's own CA from the
        kubeconfig (C(certificate-authority-data) or C(certificate-authority)) when it has one.
    type: bool
    default: true
seealso:
  - module: kubeops.jenkins.kubeconfig_files
"""

EXAMPLES = r"""
- name: Read the master's kubeconfig and check its server answers
  kubeops.jenkins.kubeconfig_info:
    path: /root/.kube
    verify_server: true
  register: kubeconfig
  no_log: true
"""

RETURN = r"""
files:
  description: Contents of the files read, by path relative to O(path) (C(config) rewritten when O(server) is set).
  returned: success
  type: dict
  sample: {"config": "apiVersion: v1\nkind: Config\n..."}
servers:
  description: The clusters' servers, after the rewrite.
  returned: success
  type: list
  elements: str
  sample: ["https://10.0.0.10:6443"]
server_check:
  description: The reachability check, or V(null) when O(verify_server=false).
  returned: success
  type: dict
  sample: {"url": "https://10.0.0.10:6443/version", "status": 200}
reason:
  description:
    - Why the module failed, for a caller that explains it in its own words.
    - V(missing) (no C(config)), V(invalid) (not a usable kubeconfig, or not text),
      V(unreachable) (O(verify_server) got no accepted answer).
  returned: failure
  type: str
  sample: missing
"""

import base64
import os
import re
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.urls import open_url

try:
    import yaml
except ImportError:
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    YAML_IMPORT_ERROR = None

HTTP_URL = re.compile(r"^https?://[^/\s]+")
ACCEPTED = (200, 401, 403)


def read_tree(path, exclude_dirs):
    """{relative path: text} of every file under path, excluded top-level directories left out."""
    files = {}
    for root, dirs, names in os.walk(path):
        rel_root = os.path.relpath(root, path)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d not in exclude_dirs]
        for name in names:
            full = os.path.join(root, name)
            rel = name if rel_root == "." else os.path.join(rel_root, name)
            with open(full, "rb") as handle:
                files[rel] = handle.read()
    return files


def parse(text):
    """The kubeconfig document, or None when it is not a usable one."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict) or doc.get("kind") != "Config" or not isinstance(doc.get("clusters"), list):
        return None
    if not doc["clusters"] or not all(isinstance(c, dict) and isinstance(c.get("cluster"), dict) for c in doc["clusters"]):
        return None
    return doc


def ca_file(cluster, tmpdir):
    """A CA bundle path for the cluster, or None."""
    if cluster.get("certificate-authority-data"):
        path = os.path.join(tmpdir, "ca.crt")
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(cluster["certificate-authority-data"]))
        return path
    return cluster.get("certificate-authority") or None


def check_server(module, cluster):
    url = cluster["server"].rstrip("/") + "/version"
    with tempfile.TemporaryDirectory(prefix="kubeconfig_info.") as tmpdir:
        kwargs = dict(method="GET", timeout=module.params["verify_timeout"],
                      validate_certs=module.params["validate_certs"], follow_redirects="none")
        if module.params["validate_certs"]:
            kwargs["ca_path"] = ca_file(cluster, tmpdir)
        try:
            response = open_url(url, **kwargs)
            status = response.getcode()
        except HTTPError as exc:
            status = exc.code
        except Exception as exc:  # pylint: disable=broad-except  # any transport error is the answer we report
            return {"url": url, "status": -1, "msg": to_native(exc)}
    return {"url": url, "status": status, "msg": "HTTP %d" % status}


def run(module):
    params = module.params
    path = params["path"]
    source = os.path.join(path, "config")
    if params["server"] and not HTTP_URL.match(params["server"]):
        module.fail_json(msg="server must be empty or an http(s)://host[:port] URL (got %r)" % params["server"])
    if params["verify_timeout"] <= 0:
        module.fail_json(msg="verify_timeout must be a positive number of seconds (got %s)" % params["verify_timeout"])
    if not os.path.isdir(path) or not os.path.isfile(source):
        found = sorted(read_tree(path, params["exclude_dirs"])) if os.path.isdir(path) else None
        module.fail_json(msg="%s does not exist (%s)" % (
            source, "the directory does not exist" if found is None else "found: %s" % (", ".join(found) or "nothing")),
            reason="missing")
    try:
        raw = read_tree(path, params["exclude_dirs"])
    except OSError as exc:
        module.fail_json(msg="Failed to read %s: %s" % (path, to_native(exc)), reason="missing")
    files = {}
    for rel, data in raw.items():
        try:
            files[rel] = data.decode("utf-8")
        except UnicodeDecodeError:
            module.fail_json(msg="%s is not UTF-8 text; only text files can be copied" % os.path.join(path, rel), reason="invalid")
    doc = parse(files["config"])
    servers = [c["cluster"].get("server") for c in doc["clusters"]] if doc else []
    if doc is None or not all(isinstance(s, str) and HTTP_URL.match(s) for s in servers):
        module.fail_json(msg="%s is not a usable kubeconfig: it must be YAML of kind Config with at least one cluster whose "
                             "'server' is an http(s) URL (servers found: %s)" % (source, servers), reason="invalid")
    if params["server"]:
        for cluster in doc["clusters"]:
            cluster["cluster"]["server"] = params["server"]
        files["config"] = yaml.safe_dump(doc, default_flow_style=False, indent=2, sort_keys=False)
        servers = [params["server"]] * len(servers)
    check = None
    if params["verify_server"]:
        check = check_server(module, doc["clusters"][0]["cluster"])
        if check["status"] not in ACCEPTED:
            module.fail_json(msg="%s names server %s, which does not answer GET /version from this host (%s)" % (
                source, servers[0], check["msg"]), reason="unreachable", server_check=check)
    return {"changed": False, "files": files, "servers": servers, "server_check": check}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            exclude_dirs=dict(type="list", elements="str", default=["cache", "http-cache"]),
            server=dict(type="str", default=""),
            verify_server=dict(type="bool", default=False),
            verify_timeout=dict(type="int", default=10),
            validate_certs=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
