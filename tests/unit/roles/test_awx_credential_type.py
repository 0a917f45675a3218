# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX credential types in extensions/awx/ feed the modules.

The injectors are rendered the way AWX renders them (a sandboxed Jinja2 environment over the
credential's inputs), and a real module run (`ansible -m kubeops.jenkins.jenkins_info`) gets its
connection from that environment alone, against a small local HTTP server that insists on the
injected user and token.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
AWX = ROOT / "extensions" / "awx"
# `make pytest` and ansible-test (`make units`, which runs from a copy under build/) both export
# a collections path that resolves kubeops.jenkins and kubernetes.core; else the checkout's.
COLLECTIONS_PATH = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(ROOT / ".collections")
USER, TOKEN, VERSION = "ci-bot", "11a0a2b3c4d5e6f708192a3b4c5d6e7f8a", "2.568.2"


def _load(name):
    return yaml.safe_load((AWX / name).read_text())


def render_env(credential_type, inputs, filenames=None):
    """AWX: each env injector is a Jinja2 template over the inputs (+ tower.filename.<name>)."""
    env = ImmutableSandboxedEnvironment()
    context = dict(inputs, tower={"filename": filenames or {}}, awx={"filename": filenames or {}})
    return {k: env.from_string(v).render(**context) for k, v in credential_type["injectors"].get("env", {}).items()}


def _env_fallbacks():
    spec = importlib.util.spec_from_file_location("kubeops_args", ROOT / "plugins/module_utils/_jenkins/args.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = {opt: s["fallback"][1][0] for opt, s in {**module.CONNECTION_ARGSPEC, **module.KUBE_ARGSPEC}.items()
             if "fallback" in s}
    # token/password are read from the environment by JenkinsModule (only when the task sets neither)
    found.update(dict(module.CONNECTION_SECRET_ENV))
    return found


@pytest.mark.parametrize("name", ["credential_type_jenkins.yml", "credential_type_kubeconfig.yml"])
def test_credential_type_shape(name):
    ct = _load(name)
    assert set(ct) == {"name", "description", "kind", "inputs", "injectors"}  # awx.awx.credential_type arguments
    assert ct["kind"] == "cloud"
    ids = [f["id"] for f in ct["inputs"]["fields"]]
    assert len(ids) == len(set(ids))
    assert set(ct["inputs"]["required"]) <= set(ids)
    # every secret input is marked secret and never copied into extra vars (shown in job details)
    secrets = {f["id"] for f in ct["inputs"]["fields"] if f.get("secret")}
    assert secrets
    for value in ct["injectors"].get("extra_vars", {}).values():
        assert not any(s in value for s in secrets), value


def test_jenkins_injectors_match_module_env_fallbacks():
    ct = _load("credential_type_jenkins.yml")
    env = render_env(ct, {"url": "https://ci.example.com", "username": USER, "token": TOKEN})
    fallbacks = _env_fallbacks()
    assert env == {fallbacks["url"]: "https://ci.example.com", fallbacks["username"]: USER, fallbacks["token"]: TOKEN}
    assert [f["id"] for f in ct["inputs"]["fields"] if f.get("secret")] == ["token"]


def test_kubeconfig_injector_is_what_modules_and_kubernetes_core_read():
    ct = _load("credential_type_kubeconfig.yml")
    assert set(ct["injectors"]["file"]) == {"template.kubeconfig"}
    env = render_env(ct, {"kubeconfig": "apiVersion: v1"}, filenames={"kubeconfig": "/runner/env/tmpabc"})
    assert env == {_env_fallbacks()["kubeconfig"]: "/runner/env/tmpabc"}


class _FakeJenkins(BaseHTTPRequestHandler):
    seen = []

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        self.seen.append((self.path, self.headers.get("Authorization")))
        expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
        if self.path.startswith("/login"):
            return self._send(200, b"<html>login</html>", "text/html")
        if self.headers.get("Authorization") != expected:
            return self._send(401, b"Unauthorized", "text/plain")
        if self.path.startswith("/api/json"):
            body = {"mode": "NORMAL", "url": f"http://{self.headers['Host']}/", "useSecurity": True, "useCrumbs": True}
            return self._send(200, json.dumps(body).encode(), "application/json")
        return self._send(404, b"Not found", "text/plain")

    def _send(self, status, body, ctype):
        self.send_response(status)
        self.send_header("X-Jenkins", VERSION)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_jenkins():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeJenkins)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeJenkins.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _ansible_info(extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JENKINS_", "K8S_AUTH_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal",
               ANSIBLE_HOST_KEY_CHECKING="false", ANSIBLE_LOCALHOST_WARNING="false", **extra_env)
    proc = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
         "-m", "kubeops.jenkins.jenkins_info", "-a", '{"gather": []}'],
        capture_output=True, text=True, check=False, timeout=120, env=env, cwd=str(ROOT),
    )
    # minimal callback: "localhost | SUCCESS => {...}" / "localhost | FAILED! => {...}"
    match = re.search(r"^localhost \| ([A-Z!]+) => ", proc.stdout, re.M)
    assert match, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.JSONDecoder().raw_decode(proc.stdout, match.end())[0]
    result["_status"] = match.group(1)
    return proc, result


def test_module_connects_with_injected_env_only(fake_jenkins):
    ct = _load("credential_type_jenkins.yml")
    env = render_env(ct, {"url": fake_jenkins, "username": USER, "token": TOKEN})
    proc, result = _ansible_info(env)
    assert proc.returncode == 0 and result["_status"] == "SUCCESS", proc.stdout[-3000:] + proc.stderr[-3000:]
    assert result["version"] == VERSION and result["use_security"] is True
    auth = [a for p, a in _FakeJenkins.seen if p.startswith("/api/json")]
    assert auth == ["Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()]
    assert TOKEN not in proc.stdout and TOKEN not in proc.stderr


def test_without_the_credential_the_module_says_what_is_missing(fake_jenkins):
    proc, result = _ansible_info({})
    assert proc.returncode != 0
    assert result["_status"] == "FAILED!" and result["msg"] == "missing required arguments: url"
    assert _FakeJenkins.seen == []
