# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import http.server
import socket
import threading

import pytest
import yaml

from ansible_collections.kubeops.jenkins.plugins.modules import kubeconfig_info
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.module_runner import run_main


def run(args, check_mode=False):
    return run_main(kubeconfig_info.main, args, check_mode=check_mode)


def kubeconfig(server):
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Config",
                           "clusters": [{"name": "c", "cluster": {"server": server}}],
                           "users": [{"name": "u", "user": {"token": "s3cr3t"}}],
                           "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                           "current-context": "x"})


@pytest.fixture
def api_server():
    """A local HTTP server answering GET /version with the status the test sets."""
    state = {"status": 200, "paths": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            state["paths"].append(self.path)
            self.send_response(state["status"])
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = "http://127.0.0.1:%d" % server.server_address[1]
    yield state
    server.shutdown()
    server.server_close()


def test_reads_the_directory_without_caches(tmp_path):
    (tmp_path / "config").write_text(kubeconfig("https://10.0.0.1:6443"))
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.crt").write_text("PEM")
    (tmp_path / "cache" / "discovery").mkdir(parents=True)
    (tmp_path / "cache" / "discovery" / "x.json").write_text("{}")
    (tmp_path / "http-cache").mkdir()
    (tmp_path / "http-cache" / "y").write_text("z")
    for check_mode in (False, True):
        result, failed = run(dict(path=str(tmp_path)), check_mode=check_mode)
        assert not failed and not result["changed"]
        assert sorted(result["files"]) == ["certs/ca.crt", "config"]
        assert result["files"]["config"] == (tmp_path / "config").read_text()
        assert result["servers"] == ["https://10.0.0.1:6443"] and result["server_check"] is None


def test_rewrites_every_server(tmp_path):
    (tmp_path / "config").write_text(kubeconfig("https://10.0.0.1:6443"))
    result, failed = run(dict(path=str(tmp_path), server="https://lb.example:6443"))
    assert not failed
    doc = yaml.safe_load(result["files"]["config"])
    assert [c["cluster"]["server"] for c in doc["clusters"]] == ["https://lb.example:6443"]
    assert doc["users"][0]["user"]["token"] == "s3cr3t"
    assert result["servers"] == ["https://lb.example:6443"]
    # the source is read, never written
    assert "10.0.0.1" in (tmp_path / "config").read_text()


@pytest.mark.parametrize("setup, reason, words", [
    (lambda p: None, "missing", "found: nothing"),
    (lambda p: (p / "other").write_text("x"), "missing", "found: other"),
    (lambda p: (p / "config").write_text("::: not yaml ["), "invalid", "not a usable kubeconfig"),
    (lambda p: (p / "config").write_text("kind: Pod\n"), "invalid", "not a usable kubeconfig"),
    (lambda p: (p / "config").write_text(kubeconfig("10.0.0.1:6443")), "invalid", "servers found: ['10.0.0.1:6443']"),
    (lambda p: ((p / "config").write_text(kubeconfig("https://a:1")), (p / "bin").write_bytes(b"\xff\xfe")),
     "invalid", "not UTF-8"),
])
def test_unusable_directories_fail_with_a_reason(tmp_path, setup, reason, words):
    setup(tmp_path)
    result, failed = run(dict(path=str(tmp_path)))
    assert failed and result["reason"] == reason and words in result["msg"], result


def test_missing_directory(tmp_path):
    result, failed = run(dict(path=str(tmp_path / "nope")))
    assert failed and result["reason"] == "missing" and "the directory does not exist" in result["msg"]


def test_bad_server_option_is_refused(tmp_path):
    (tmp_path / "config").write_text(kubeconfig("https://10.0.0.1:6443"))
    result, failed = run(dict(path=str(tmp_path), server="lb:6443"))
    assert failed and "server must be empty or an http(s)" in result["msg"]
    result, failed = run(dict(path=str(tmp_path), verify_server=True, verify_timeout=0))
    assert failed and "verify_timeout must be a positive number" in result["msg"]


@pytest.mark.parametrize("status, accepted", [(200, True), (401, True), (403, True), (500, False), (404, False)])
def test_verify_server(tmp_path, api_server, status, accepted):
    api_server["status"] = status
    (tmp_path / "config").write_text(kubeconfig(api_server["url"] + "/"))
    result, failed = run(dict(path=str(tmp_path), verify_server=True))
    assert api_server["paths"] == ["/version"]
    assert failed is not accepted
    assert result["server_check"]["status"] == status
    if not accepted:
        assert result["reason"] == "unreachable" and "HTTP %d" % status in result["msg"]


def test_verify_server_that_does_not_answer(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "config").write_text(kubeconfig("http://127.0.0.1:%d" % port))
    result, failed = run(dict(path=str(tmp_path), verify_server=True, verify_timeout=2))
    assert failed and result["reason"] == "unreachable" and result["server_check"]["status"] == -1
    assert "does not answer" in result["msg"] and "s3cr3t" not in result["msg"]
