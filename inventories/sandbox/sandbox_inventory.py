#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dynamic inventory of a running sandbox (docs/dev/architecture.md §3).

Reads ``python -m sandbox status --state-dir $KUBEOPS_SANDBOX_DIR`` (default ``.sandbox/demo`` of
the repository) and emits:

* ``kube_master``: the master node; ``kube_nodes``: every node (the seed copies /root/.kube to all
  of them, the master included; copying onto the master itself is a no-op).
* every host: ``ansible_connection: local`` with this repository's venv Python, and
  ``kubeconfig_root_prefix`` = the node's root directory (each sandbox node's filesystem — hostPath
  volumes, /root/.kube, /var/run/docker.sock — lives under it).
* group ``all``: the sandbox kubeconfig for kubernetes.core and the modules, and a state-dir-local
  file for the generated Jenkins admin password.

Without a running sandbox it exits 1 with the command to start one, unless
``KUBEOPS_SANDBOX_ALLOW_MISSING=1`` (molecule's create step), where it emits empty groups.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def venv_python():
    candidate = REPO / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def state_dir():
    raw = os.environ.get("KUBEOPS_SANDBOX_DIR") or ".sandbox/demo"
    path = Path(raw)
    return path if path.is_absolute() else (REPO / path)


def sandbox_status(directory):
    proc = subprocess.run(
        [venv_python(), "-m", "sandbox", "status", "--state-dir", str(directory)],
        cwd=str(REPO), capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        return None, (proc.stderr or proc.stdout).strip()
    try:
        return json.loads(proc.stdout), ""
    except ValueError as exc:
        return None, "sandbox status did not print JSON: %s" % exc


def empty():
    return {"_meta": {"hostvars": {}}, "all": {"children": ["kube_master", "kube_nodes"]},
            "kube_master": {"hosts": []}, "kube_nodes": {"hosts": []}}


def build(status):
    python = venv_python()
    hostvars = {}
    masters, nodes = [], []
    for node in status.get("nodes", []):
        name = node["name"]
        hostvars[name] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": python,
            "kubeconfig_root_prefix": str(node["root"]),
            "sandbox_node_role": node.get("role", "worker"),
            "sandbox_node_address": node.get("address", ""),
        }
        if node.get("role") == "master":
            masters.append(name)
        nodes.append(name)
    kubeconfig = status["kubeconfig"]
    state = status.get("state_dir") or str(state_dir())
    return {
        "_meta": {"hostvars": hostvars},
        "all": {
            "children": ["kube_master", "kube_nodes"],
            "vars": {
                "kubeops_sandbox_state_dir": state,
                "kubeops_sandbox_api_url": status.get("api_url", ""),
                "controller_kubeconfig": kubeconfig,
                "kubernetes_cloud_kubeconfig": kubeconfig,
                "smoke_build_kubeconfig": kubeconfig,
                "controller_admin_password_file": str(Path(state) / "jenkins-admin-password"),
            },
        },
        "kube_master": {"hosts": masters[:1]},
        "kube_nodes": {"hosts": nodes},
    }


def main(argv):
    if "--host" in argv:
        print("{}")
        return 0
    directory = state_dir()
    status, error = sandbox_status(directory)
    if status is None:
        if os.environ.get("KUBEOPS_SANDBOX_ALLOW_MISSING") == "1":
            print(json.dumps(empty()))
            return 0
        sys.stderr.write(
            "kubeops.jenkins sandbox inventory: no running sandbox in %s (%s).\n"
            "Start one with: .venv/bin/python -m sandbox up --state-dir %s\n" % (directory, error, directory))
        return 1
    print(json.dumps(build(status), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
