# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the reliability suite: the integration suite's sandbox/play fixtures (``fresh_env``,
``converged``, ``Env.play``, the request log helpers) and ``matrix``, the rows of the current test
(see matrix.py). `make reliability` prints the merged table at the end."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import matrix as _matrix  # noqa: E402


def _load_integration_fixtures():
    import importlib.util
    path = Path(__file__).resolve().parents[1] / "integration" / "conftest.py"
    spec = importlib.util.spec_from_file_location("kubeops_integration_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_integration = _load_integration_fixtures()
Env = _integration.Env
PlayResult = _integration.PlayResult
# fixtures re-exported for this suite (own instances: a session here is not shared with tests/integration)
sandbox_helpers = _integration.sandbox_helpers
fresh_env = _integration.fresh_env
converged = _integration.converged

_PASSED = pytest.StashKey()


def _worker(config):
    return getattr(config, "workerinput", {}).get("workerid", "main")


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):
        _matrix.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "setup" and report.failed or report.when == "call":
        item.stash[_PASSED] = report.passed


@pytest.fixture
def matrix(request):
    rows = _matrix.Rows(request.node.nodeid, _worker(request.config))
    yield rows
    rows.flush(request.node.stash.get(_PASSED, False))


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):
        return
    rows = _matrix.merge()
    if not rows:
        return
    text = _matrix.write(rows)
    terminalreporter.section("reliability matrix (%s)" % os.path.relpath(_matrix.OUT / "matrix.md"))
    terminalreporter.write(text)
