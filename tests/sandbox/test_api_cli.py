"""`python -m sandbox up|status|down`: the JSON contract, the state dir layout, several at once."""
import base64
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import yaml

# not `from conftest import ...`: tests/integration has a conftest module too, and in one pytest
# run the first one imported wins.
REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def test_up_status_down_contract(tmp_path):
    state = tmp_path / "sb"
    t0 = time.monotonic()
    r = subprocess.run([PYTHON, "-m", "sandbox", "up", "--state-dir", str(state), "--nodes", "3"],
                       cwd=REPO, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip().splitlines()) == 1, "up prints exactly one JSON object"
    info = json.loads(r.stdout)
    try:
        assert elapsed < 5, "up took %.1fs" % elapsed
        assert info["address"].startswith("127.")
        assert info["api_url"] == "https://%s:6443" % info["address"]
        assert info["admin_url"] == info["api_url"] + "/_sandbox"
        assert info["kubeconfig"] == str(state / "kubeconfig")
        assert [(n["name"], n["role"]) for n in info["nodes"]] == [
            ("master", "master"), ("node1", "worker"), ("node2", "worker"), ("node3", "worker")]
        for node in info["nodes"]:
            root = Path(node["root"])
            assert root == state / "nodes" / node["name"]
            assert (root / "etc").is_dir() and (root / "root").is_dir()
        # kubeadm leaves the admin kubeconfig in the master's /root/.kube/config, mode 0600
        master_cfg = state / "nodes" / "master" / "root" / ".kube" / "config"
        assert stat.S_IMODE(os.stat(master_cfg).st_mode) == 0o600
        assert master_cfg.read_text() == (state / "kubeconfig").read_text()
        cfg = yaml.safe_load(master_cfg.read_text())
        cluster = cfg["clusters"][0]["cluster"]
        assert cluster["server"] == info["api_url"]
        assert base64.b64decode(cluster["certificate-authority-data"]).startswith(b"-----BEGIN CERTIFICATE")
        assert cfg["users"][0]["user"]["token"] == info["admin_token"]
        # the serving certificate carries the in-cluster names
        from cryptography import x509
        pem = (state / "pki" / "apiserver.crt").read_bytes()
        sans = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        names = set(sans.get_values_for_type(x509.DNSName))
        assert {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local", "localhost"} <= names
        ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
        assert {info["address"], "10.96.0.1"} <= ips

        st = json.loads(subprocess.run([PYTHON, "-m", "sandbox", "status", "--state-dir", str(state)],
                                       cwd=REPO, capture_output=True, text=True).stdout)
        assert st["running"] is True and st["api_url"] == info["api_url"]
        svc = [s for s in st["services"] if (s["namespace"], s["name"]) == ("default", "kubernetes")]
        assert svc and svc[0]["clusterIP"] == "10.96.0.1"

        # a NodePort service shows up in `status` with its URL on the sandbox address
        r = subprocess.run(["kubectl", "--kubeconfig", info["kubeconfig"], "create", "service", "nodeport",
                            "web", "--tcp=8080:8080"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        st = json.loads(subprocess.run([PYTHON, "-m", "sandbox", "status", "--state-dir", str(state)],
                                       cwd=REPO, capture_output=True, text=True).stdout)
        web = [s for s in st["services"] if s["name"] == "web"][0]
        port = web["ports"][0]
        assert web["type"] == "NodePort" and 30000 <= port["nodePort"] <= 32767
        assert port["url"] == "http://%s:%d" % (info["address"], port["nodePort"])
    finally:
        d = subprocess.run([PYTHON, "-m", "sandbox", "down", "--state-dir", str(state)],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert json.loads(d.stdout)["stopped"] is True
    assert (state / "kubeconfig").exists(), "down leaves the state on disk"
    st = subprocess.run([PYTHON, "-m", "sandbox", "status", "--state-dir", str(state)],
                        cwd=REPO, capture_output=True, text=True)
    assert json.loads(st.stdout)["running"] is False
    # and it can come back on the same state dir (same address when free, same CA)
    r = subprocess.run([PYTHON, "-m", "sandbox", "up", "--state-dir", str(state)],
                       cwd=REPO, capture_output=True, text=True, timeout=60)
    try:
        assert r.returncode == 0, r.stderr
        again = json.loads(r.stdout)
        assert again["address"] == info["address"]
        r = subprocess.run(["kubectl", "--kubeconfig", again["kubeconfig"], "get", "ns", "default"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    finally:
        subprocess.run([PYTHON, "-m", "sandbox", "down", "--state-dir", str(state)], cwd=REPO,
                       capture_output=True, timeout=60)


def test_two_sandboxes_run_at_once(api_sandbox, sandbox):
    assert api_sandbox.address != sandbox.address
    for sb in (api_sandbox, sandbox):
        status, body = sb.request("GET", "/version")
        assert status == 200 and body["gitVersion"].startswith("v1.31.")
    # tokens of one sandbox mean nothing to the other
    status, body = sandbox.request("GET", "/api/v1/namespaces", token=api_sandbox.admin_token)
    assert status == 401 and body["reason"] == "Unauthorized"


def test_up_twice_reports_the_running_sandbox(api_sandbox):
    again = api_sandbox.cli("up")
    assert again["api_url"] == api_sandbox.api_url and again["running"] is True
