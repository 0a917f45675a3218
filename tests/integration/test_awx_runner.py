# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml run the way AWX runs a job template, against a sandbox.

AWX hands ansible-runner a private data directory; this test builds the same one:

* ``project/``     the project checkout: this repository's ``playbooks/`` (job template playbook
                   ``playbooks/site.yml``);
* collections      the *built* collection tarball installed next to kubernetes.core, as AWX's
                   project update installs ``collections/requirements.yml`` (ANSIBLE_COLLECTIONS_PATH);
* ``inventory/``   a static inventory, as an inventory sync of the sandbox's dynamic inventory
                   leaves it, without any kubeconfig variable;
* ``env/envvars``  what the attached credentials inject: the kubeconfig credential type of
                   ``extensions/awx/credential_type_kubeconfig.yml``, rendered as AWX renders
                   injectors (a file in the private data dir, its path in K8S_AUTH_KUBECONFIG) -
                   the only way the roles and modules learn how to reach the cluster;
* ``env/extravars`` survey answers, typed as AWX sends them (integers as numbers).

Asserted from the runner's artifacts (status, rc, per-host stats, job events) and from the sandbox
itself (kubectl), never only from what the play says: the first job converges with no failed or
unreachable host and proves the agent pod's lifecycle; the second job changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

ansible_runner = pytest.importorskip("ansible_runner")

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
KUBECONFIG_VARS = ("controller_kubeconfig", "kubernetes_cloud_kubeconfig", "smoke_build_kubeconfig")


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=kw.pop("timeout", 300), **kw)
    assert proc.returncode == 0, f"{cmd!r} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    state = tmp_path_factory.mktemp("awx-sandbox") / "state"
    proc = _run([sys.executable, "-m", "sandbox", "up", "--state-dir", str(state)], cwd=str(REPO), timeout=180)
    info = json.loads(proc.stdout)
    try:
        yield info
    finally:
        subprocess.run([sys.executable, "-m", "sandbox", "down", "--state-dir", str(state)], cwd=str(REPO),
                       capture_output=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def private_data_dir(sandbox, tmp_path_factory):
    base = tmp_path_factory.mktemp("awx-job")
    pdd = base / "pdd"
    (pdd / "env").mkdir(parents=True)
    (pdd / "inventory").mkdir()

    # project update: the checkout, and the collections it requires (the built artifact)
    shutil.copytree(REPO / "playbooks", pdd / "project" / "playbooks")
    collections = base / "collections"
    _run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(base / "dist"), str(REPO)])
    (tarball,) = (base / "dist").glob("kubeops-jenkins-*.tar.gz")
    _run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force", "-p", str(collections),
          str(tarball)], env=dict(os.environ, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false"))
    (collections / "ansible_collections" / "kubernetes").mkdir(parents=True, exist_ok=True)
    (collections / "ansible_collections" / "kubernetes" / "core").symlink_to(
        REPO / ".collections" / "ansible_collections" / "kubernetes" / "core")

    # inventory sync: the sandbox inventory script's output, frozen, minus the kubeconfig paths
    proc = _run([sys.executable, str(REPO / "inventories" / "sandbox" / "sandbox_inventory.py"), "--list"],
                env=dict(os.environ, KUBEOPS_SANDBOX_DIR=sandbox["state_dir"]))
    inventory = json.loads(proc.stdout)
    for var in KUBECONFIG_VARS:
        inventory["all"]["vars"].pop(var, None)
    hosts = {}
    for group in ("kube_master", "kube_nodes"):
        hosts[group] = {"hosts": {h: inventory["_meta"]["hostvars"][h] for h in inventory[group]["hosts"]}}
    group_vars = yaml.safe_load((REPO / "inventories" / "sandbox" / "group_vars" / "all.yml").read_text()) or {}
    static = {"all": {"vars": {**group_vars, **inventory["all"]["vars"]}, "children": hosts}}
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump(static, sort_keys=False))

    # credential: the kubeconfig type, injected as AWX does (file + env)
    ctype = yaml.safe_load((REPO / "extensions" / "awx" / "credential_type_kubeconfig.yml").read_text())
    kubeconfig_file = pdd / "env" / "tmp_kubeconfig"
    jinja = ImmutableSandboxedEnvironment()
    inputs = {"kubeconfig": Path(sandbox["kubeconfig"]).read_text()}
    kubeconfig_file.write_text(jinja.from_string(ctype["injectors"]["file"]["template.kubeconfig"]).render(**inputs))
    kubeconfig_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    names = {"filename": {"kubeconfig": str(kubeconfig_file)}}
    envvars = {k: jinja.from_string(v).render(tower=names, awx=names, **inputs)
               for k, v in ctype["injectors"]["env"].items()}
    envvars.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_ROLES_PATH=str(base / "no-roles"),
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_NOCOLOR="true",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        HOME=str(base / "home"),
    )
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(envvars))

    # survey answers of the job template (awx.rst): integers are numbers in AWX's extra vars
    survey = {"controller_wait_timeout": 900, "controller_storage_hostpath_node": "node1", "smoke_build_timeout": 600}
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(survey))
    (pdd / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 1800, "idle_timeout": 900}))
    return pdd


def _clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("JENKINS_", "K8S_AUTH_", "ANSIBLE_")) or name == "KUBECONFIG":
            monkeypatch.delenv(name, raising=False)


def _job(pdd, ident):
    runner = ansible_runner.run(private_data_dir=str(pdd), playbook="playbooks/site.yml", ident=ident, quiet=True)
    artifacts = pdd / "artifacts" / ident
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").is_file() else ""
    return runner, artifacts, stdout


def _kubectl(sandbox, *args):
    return _run([KUBECTL, "--kubeconfig", sandbox["kubeconfig"], *args])


def test_site_as_awx_job_converges_then_changes_nothing(private_data_dir, sandbox, monkeypatch):
    _clean_env(monkeypatch)

    runner, artifacts, stdout = _job(private_data_dir, "site-1")
    assert runner.status == "successful" and runner.rc == 0, stdout[-8000:]
    assert (artifacts / "status").read_text().strip() == "successful"
    assert (artifacts / "rc").read_text().strip() == "0"
    stats = runner.stats
    inventory = yaml.safe_load((private_data_dir / "inventory" / "hosts.yml").read_text())
    all_hosts = set(inventory["all"]["children"]["kube_master"]["hosts"]) | set(inventory["all"]["children"]["kube_nodes"]["hosts"])
    assert stats["failures"] == {} and stats["dark"] == {}, stats
    assert set(stats["ok"]) == all_hosts, stats
    assert sum(stats["changed"].values()) > 0, stats

    # the smoke build's result, as AWX shows it in the job events
    builds = [e["event_data"]["res"] for e in runner.events
              if e.get("event") == "runner_on_ok" and "kubeops.jenkins.jenkins_build" in (e["event_data"].get("resolved_action"), e["event_data"].get("task_action"))]
    assert builds and builds[-1]["result"] == "SUCCESS", builds
    pods = builds[-1]["pods"]
    assert pods and all(p["name"].startswith("haimaxy-jnlp-") and p["created"] and p["deleted"] for p in pods), pods

    # ... and as the cluster shows it: the controller runs, no agent pod is left behind
    deploy = json.loads(_kubectl(sandbox, "-n", "kube-ops", "get", "deploy,statefulset", "-o", "json").stdout)
    ready = [d for d in deploy["items"] if d.get("status", {}).get("readyReplicas") == 1]
    assert len(ready) == 1, deploy
    agents = json.loads(_kubectl(sandbox, "-n", "kube-ops", "get", "pods", "-l", "jenkins/label=haimaxy-jnlp",
                                 "-o", "json").stdout)["items"]
    assert agents == []

    # the kubeconfig reached the run only through the credential's file
    assert not any(v in json.dumps(inventory) for v in KUBECONFIG_VARS)

    runner2, artifacts2, stdout2 = _job(private_data_dir, "site-2")
    assert runner2.status == "successful" and runner2.rc == 0, stdout2[-8000:]
    assert runner2.stats["failures"] == {} and runner2.stats["dark"] == {}, runner2.stats
    assert runner2.stats["changed"] == {}, stdout2[-8000:]
