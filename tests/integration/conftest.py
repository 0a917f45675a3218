# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the role/playbook integration suites: start a sandbox (the helpers of
tests/sandbox/conftest.py), run ansible-playbook against it through inventories/sandbox, and read
what happened through the sandbox itself (Kubernetes API, request log, node directories) and
python-jenkins — never only through what the play says it did.

The suites skip (with the reason) while the sandbox CLI or the modules they drive are missing."""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SANDBOX_CONFTEST = REPO / "tests" / "sandbox" / "conftest.py"
NEEDED = [REPO / "sandbox" / "__main__.py", SANDBOX_CONFTEST] + [
    REPO / "plugins" / "modules" / ("%s.py" % m)
    for m in ("jenkins_info", "jenkins_kubernetes_cloud", "jenkins_job", "jenkins_build")]
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
# Jenkins endpoints that are POST but change nothing (reference/jenkins-api.md §4 and §6): the JCasC
# export and check (validate only), and the Kubernetes cloud's Test Connection (lists pods).
READ_ONLY_POSTS = re.compile(r"^/(configuration-as-code/(export|check|viewExport)"
                             r"|descriptorByName/org\.csanchez\.jenkins\.plugins\.kubernetes\.KubernetesCloud/testConnection)(\?|$)")
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


def _helpers():
    missing = [str(p.relative_to(REPO)) for p in NEEDED if not p.exists()]
    if missing:
        pytest.skip("not landed yet: %s" % ", ".join(missing))
    spec = importlib.util.spec_from_file_location("kubeops_sandbox_fixtures", SANDBOX_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PlayResult:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.recap = {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)),
                                   "unreachable": int(m.group(4)), "failed": int(m.group(5))}
                      for m in RECAP.finditer(proc.stdout)}

    @property
    def changed(self):
        return sum(h["changed"] for h in self.recap.values())

    def tail(self, n=6000):
        return self.stdout[-n:] + "\n" + self.stderr[-2000:]


class Env:
    """A running sandbox plus the helpers the suites need."""

    def __init__(self, sb):
        self.sb = sb
        self.state_dir = Path(sb.state_dir)

    # -- ansible ----------------------------------------------------------------------------
    def play(self, *args, playbook="playbooks/site.yml", extra_vars=None, timeout=1200):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", KUBEOPS_SANDBOX_DIR=str(self.state_dir),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_DEPRECATION_WARNINGS="false")
        cmd = [str(BIN / "ansible-playbook"), "-i", "inventories/sandbox", playbook, *args]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=timeout)
        return PlayResult(proc)

    # -- request log ------------------------------------------------------------------------
    def log_position(self):
        items = self.sb.admin("GET", "requests")["items"]
        return items[-1]["seq"] if items else 0

    def requests_since(self, seq):
        return self.sb.admin("GET", "requests?since=%d" % seq)["items"]

    @staticmethod
    def writes(entries, component=None, user=None):
        """Requests that can change state: mutating methods, minus Kubernetes server-side dry runs
        (dryRun=All) and Jenkins' read-only POST endpoints."""
        return [e for e in entries if e["method"] in MUTATING and "dryRun=" not in e["path"]
                and not (e["component"] == "jenkins" and READ_ONLY_POSTS.match(e["path"]))
                and (component is None or e["component"] == component)
                and (user is None or e["user"] == user)]

    # -- Kubernetes -------------------------------------------------------------------------
    def kubectl_json(self, *args):
        return json.loads(self.sb.kubectl(*args, "-o", "json").stdout)

    # -- Jenkins ----------------------------------------------------------------------------
    def admin_password(self):
        import base64
        secret = self.kubectl_json("-n", "kube-ops", "get", "secret", "jenkins-admin")
        return base64.b64decode(secret["data"]["jenkins-admin-password"]).decode()

    def jenkins_url(self):
        status = self.sb.status()
        for svc in status.get("services", []):
            if svc["namespace"] == "kube-ops" and svc["name"] == "jenkins":
                for port in svc["ports"]:
                    if port.get("url"):
                        return port["url"]
        raise AssertionError("no NodePort URL for kube-ops/jenkins in sandbox status: %s" % status.get("services"))

    def jenkins(self):
        import jenkins as pyjenkins
        return pyjenkins.Jenkins(self.jenkins_url(), username="admin", password=self.admin_password(), timeout=30)

    def wait_jenkins(self, timeout=300):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.jenkins_url() + "/login", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except Exception as exc:  # noqa: BLE001 - starting, restarting, no endpoint yet
                last = exc
            time.sleep(2)
        raise AssertionError("Jenkins did not come back: %s" % last)


@pytest.fixture(scope="session")
def sandbox_helpers():
    return _helpers()


@pytest.fixture
def fresh_env(sandbox_helpers, tmp_path):
    """A new, empty sandbox for one test."""
    sb = sandbox_helpers._up(tmp_path / "sandbox")
    try:
        yield Env(sb)
    finally:
        sandbox_helpers._down(sb)


@pytest.fixture(scope="session")
def converged(sandbox_helpers, tmp_path_factory):
    """One sandbox for the session on which playbooks/site.yml has run once (the first converge)."""
    sb = sandbox_helpers._up(tmp_path_factory.mktemp("site") / "sandbox")
    env = Env(sb)
    try:
        env.first_seq = env.log_position()
        env.first = env.play()
        env.first_end_seq = env.log_position()
        assert env.first.rc == 0, env.first.tail()
        yield env
    finally:
        sandbox_helpers._down(sb)
