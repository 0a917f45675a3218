"""Fixtures that start a sandbox (``python -m sandbox up``) and stop it afterwards.

* ``sandbox``          — a fresh sandbox per test (tmp state dir), full control plane.
* ``sandbox_session``  — one sandbox for the whole session, full control plane.
* ``api_sandbox``      — one sandbox for the session with ``--no-controllers``: the API server
                         alone, for tests of API semantics that controllers would disturb.

Each yields a ``Sandbox`` with ``info`` (the `up` JSON), ``kubeconfig``, ``kubectl(...)``,
``admin(method, path, body)``, ``client()`` (kubernetes.client.ApiClient), ``dynamic()``,
``status()`` and ``new_namespace()``.
"""
import http.client
import json
import os
import ssl
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")


class Sandbox:
    def __init__(self, state_dir, info):
        self.state_dir = Path(state_dir)
        self.info = info
        self.kubeconfig = info["kubeconfig"]
        self.api_url = info["api_url"]
        self.address = info["address"]
        self.admin_token = info["admin_token"]
        self.ca_file = info["ca_file"]
        self._namespaces = []

    # -- CLI ---------------------------------------------------------------
    def cli(self, *args, check=True):
        r = subprocess.run([PYTHON, "-m", "sandbox", *args, "--state-dir", str(self.state_dir)],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("sandbox %s failed: %s %s" % (args, r.stdout, r.stderr))
        return json.loads(r.stdout) if r.stdout.strip() else None

    def status(self):
        return self.cli("status")

    # -- kubectl -----------------------------------------------------------
    def kubectl(self, *args, input=None, check=True, timeout=60):
        r = subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig, *args], input=input,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("kubectl %s failed (%d):\n%s\n%s" % (" ".join(args), r.returncode,
                                                                       r.stdout, r.stderr))
        return r

    # -- raw HTTPS ---------------------------------------------------------
    def request(self, method, path, body=None, token=None, headers=None, timeout=10):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        conn = http.client.HTTPSConnection(self.address, 6443, context=ctx, timeout=timeout)
        hdrs = {"Accept": "application/json"}
        if token is not False:
            hdrs["Authorization"] = "Bearer " + (token or self.admin_token)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = data.decode(errors="replace")
            return resp.status, parsed
        finally:
            conn.close()

    def admin(self, method, path, body=None):
        status, data = self.request(method, "/_sandbox/" + path.lstrip("/"), body)
        assert status in (200, 201), (status, data)
        return data

    # -- Python clients ----------------------------------------------------
    def client(self, token=None):
        from kubernetes import client, config
        cfg = client.Configuration()
        if token:
            # built by hand: load_kube_config installs a hook that re-reads the admin token
            cfg.host = self.api_url
            cfg.ssl_ca_cert = self.ca_file
            cfg.api_key = {"BearerToken": "Bearer " + token}
        else:
            config.load_kube_config(config_file=self.kubeconfig, client_configuration=cfg)
        return client.ApiClient(cfg)

    def dynamic(self, token=None):
        from kubernetes.dynamic import DynamicClient
        return DynamicClient(self.client(token))

    def new_namespace(self, prefix="t"):
        name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
        self.kubectl("create", "namespace", name)
        self._namespaces.append(name)
        return name


def _up(state_dir, *extra):
    r = subprocess.run([PYTHON, "-m", "sandbox", "up", "--state-dir", str(state_dir), *extra],
                       cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, "sandbox up failed: %s %s" % (r.stdout, r.stderr)
    return Sandbox(state_dir, json.loads(r.stdout))


def _down(sb):
    subprocess.run([PYTHON, "-m", "sandbox", "down", "--state-dir", str(sb.state_dir)],
                   cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.fixture
def sandbox(tmp_path):
    sb = _up(tmp_path / "sandbox")
    try:
        yield sb
    finally:
        _down(sb)


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory):
    sb = _up(tmp_path_factory.mktemp("sandbox-session"))
    try:
        yield sb
    finally:
        _down(sb)


@pytest.fixture(scope="session")
def api_sandbox(tmp_path_factory):
    sb = _up(tmp_path_factory.mktemp("sandbox-api"), "--no-controllers")
    try:
        yield sb
    finally:
        _down(sb)


@pytest.fixture
def ns(api_sandbox):
    """A fresh namespace in the API-only sandbox."""
    return api_sandbox.new_namespace()
