# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's documentation is lint-clean and builds into a docsite without warnings.

1. `scripts/docs.sh --lint-only`: `antsibull-docs lint-collection-docs --plugin-docs` (+ references
   in the extra docs checked against this collection and its dependencies): every finding fails the
   test, printed as `path:line:col: message`.
2. scripts/docs.sh: antsibull-docs generates the module, role and extra-docs pages and Sphinx
   builds them with -W (nitpicky, offline); every module, role and guide must have an HTML page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def _env():
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(ROOT / ".collections"),
                ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")


# Makes every temporary name end in "_" in the processes of the lint run. antsibull-docs lints a
# temporary copy of the collection, and a page that showed that copy's path (an "Edit on GitHub"
# link computed between two copies) failed rstcheck whenever the random name ended in "_": once
# in a few runs, then in every run with this in place. scripts/docs.sh keeps the checkout off the
# lint's collections path so that the link is the repository path again.
TEMP_NAMES_END_IN_UNDERSCORE = """
import tempfile
_next = tempfile._RandomNameSequence.__next__
tempfile._RandomNameSequence.__next__ = lambda self: _next(self)[:-1] + "_"
"""


def test_lint_collection_docs_has_no_findings(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(TEMP_NAMES_END_IN_UNDERSCORE)
    env = dict(_env(), PYTHONPATH=str(tmp_path))
    proc = subprocess.run([str(ROOT / "scripts" / "docs.sh"), "--lint-only"], cwd=str(ROOT), env=env,
                          capture_output=True, text=True, check=False, timeout=600)
    findings = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert proc.returncode == 0 and not findings, "\n".join(findings) + proc.stderr[-3000:]


def test_docsite_builds_with_a_page_for_everything(tmp_path):
    dest = tmp_path / "docs"
    proc = subprocess.run([str(ROOT / "scripts" / "docs.sh"), str(dest)], cwd=str(ROOT), env=_env(),
                          capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    html = dest / "build" / "html"
    modules = [p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"]
    roles = [p.name for p in (ROOT / "roles").glob("*") if (p / "meta" / "argument_specs.yml").is_file()
             and not p.name.startswith("_")] if (ROOT / "roles").is_dir() else []
    guides = [p.stem for p in (ROOT / "docs" / "docsite" / "rst").glob("*.rst")]
    expected = [f"{m}_module.html" for m in modules] + [f"{r}_role.html" for r in roles] + \
        [f"docsite/{g}.html" for g in guides]
    assert modules and guides
    assert [page for page in expected if not (html / page).is_file()] == []
    # E(JENKINS_URL) in the connection options links to the guide that documents the variable
    info = (html / "jenkins_info_module.html").read_text()
    assert 'href="docsite/user_guide.html#envvar-JENKINS_URL"' in info
