# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""galaxy-importer (what Galaxy runs on upload) passes on the built tarball, offline.

scripts/galaxy_importer.sh keeps galaxy-importer in its own venv (~/.cache/kubeops.jenkins/venv-importer:
its attrs<24 pin conflicts with the main venv), runs ansible-lint --offline and ansible-doc, and no ansible-test
(that needs a container engine; `make sanity` runs it instead).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    work = tmp_path_factory.mktemp("galaxy-import")
    build = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(work / "dist"), str(ROOT)],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (tarball,) = (work / "dist").glob("kubeops-jenkins-*.tar.gz")
    proc = subprocess.run(
        [str(ROOT / "scripts" / "galaxy_importer.sh"), str(tarball), str(work / "out")],
        capture_output=True, text=True, check=False, timeout=900, env=dict(os.environ),
    )
    result_file = work / "out" / "importer_result.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else None
    return proc, (work / "out" / "importer.log").read_text(), result


def test_import_succeeds_without_errors(imported):
    proc, log, result = imported
    errors = [ln for ln in log.splitlines() if ln.startswith("ERROR:")]
    assert proc.returncode == 0 and not errors and result is not None, "\n".join(errors) or log[-4000:]
    assert "Importer processing completed successfully" in log


def test_import_sees_every_module_and_role_with_docs(imported):
    log, result = imported[1], imported[2]
    assert result is not None, log[-4000:]
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert (result["metadata"]["namespace"], result["metadata"]["name"], result["metadata"]["version"]) == (
        galaxy["namespace"], galaxy["name"], galaxy["version"])
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    assert result["requires_ansible"] == runtime["requires_ansible"]

    found = {(c["content_type"], c["name"]) for c in result["contents"]}
    modules = {p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    roles = {p.name for p in (ROOT / "roles").iterdir() if p.is_dir() and not p.name.startswith((".", "_"))} \
        if (ROOT / "roles").is_dir() else set()
    assert {("module", m) for m in modules} <= found
    assert {("role", r) for r in roles} <= found

    # ansible-doc rendered every module (an empty doc_strings means ansible-doc failed on it)
    docs = {(c["content_type"], c["content_name"]): c for c in result["docs_blob"]["contents"]}
    for m in modules:
        strings = docs[("module", m)]["doc_strings"]
        assert strings and strings["doc"]["short_description"], f"no docs for module {m}"
    assert result["docs_blob"]["collection_readme"]["html"]
