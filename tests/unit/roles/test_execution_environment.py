# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment path, checked without a container engine.

1. `ansible-builder create` turns docs/examples/execution-environment.yml into a build context;
   the Containerfile must install the collections named there and run the introspection step.
2. That introspection step (the context's own `_build/scripts/introspect.py`, exactly what the
   image build runs) is run against the *built and installed* collection tarball: it must find our
   requirements.txt and bindep.txt through meta/execution-environment.yml. This also proves that
   galaxy.yml's build_ignore keeps those files in the artifact.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
EE_FILE = ROOT / "docs" / "examples" / "execution-environment.yml"


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300, **kw)
    assert proc.returncode == 0, f"{cmd!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def _requirement_lines(path: Path) -> list[str]:
    return [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines() if ln.split("#", 1)[0].strip()]


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    ctx = tmp_path_factory.mktemp("ee-context")
    _run([str(BIN / "ansible-builder"), "create", "-f", str(EE_FILE), "-c", str(ctx), "--output-filename", "Containerfile"])
    return ctx


@pytest.fixture(scope="module")
def installed_collections(tmp_path_factory) -> Path:
    """Build our tarball and install it (no deps: offline) next to the pinned kubernetes.core."""
    work = tmp_path_factory.mktemp("ee-collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(work), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    _run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(work / "dist"), str(ROOT)], env=env)
    (tarball,) = (work / "dist").glob("kubeops-jenkins-*.tar.gz")
    _run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", str(work), str(tarball)], env=env)
    core = ROOT / ".collections" / "ansible_collections" / "kubernetes" / "core"
    if core.is_dir():
        (work / "ansible_collections" / "kubernetes").mkdir(parents=True, exist_ok=True)
        (work / "ansible_collections" / "kubernetes" / "core").symlink_to(core)
    return work


def test_collection_ee_metadata_points_at_existing_files():
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    deps = meta["dependencies"]
    assert (ROOT / deps["python"]).is_file()
    assert (ROOT / deps["system"]).is_file()
    names = {re.split(r"[<>=!~\[ ]", ln, maxsplit=1)[0].lower() for ln in _requirement_lines(ROOT / deps["python"])}
    assert {"kubernetes", "pyyaml"} <= names


def test_example_ee_is_ansible_builder_v3(context: Path):
    data = yaml.safe_load(EE_FILE.read_text())
    assert data["version"] == 3
    containerfile = (context / "Containerfile").read_text()
    base = data["images"]["base_image"]["name"]
    assert f'ARG EE_BASE_IMAGE="{base}"' in containerfile
    core_ref = data["dependencies"]["ansible_core"]["package_pip"]
    runner_ref = data["dependencies"]["ansible_runner"]["package_pip"]
    assert f'ARG ANSIBLE_INSTALL_REFS="{core_ref} {runner_ref}"' in containerfile
    # the galaxy stage installs the requirements file ansible-builder wrote, the builder stage
    # introspects what got installed, the final stage installs what introspection found
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "introspect.py introspect" in containerfile
    assert "/output/scripts/install-from-bindep" in containerfile


def test_build_context_requires_our_collection(context: Path):
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    names = {c["name"] for c in galaxy["collections"]}
    assert names == {"kubeops.jenkins", "kubernetes.core"}
    ours = next(c for c in galaxy["collections"] if c["name"] == "kubeops.jenkins")
    galaxy_version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    assert ours["version"].startswith(f">={galaxy_version}")


def test_introspection_of_built_collection_finds_our_requirements(context: Path, installed_collections: Path, tmp_path: Path):
    installed = installed_collections / "ansible_collections" / "kubeops" / "jenkins"
    for name in ("meta/execution-environment.yml", "requirements.txt", "bindep.txt"):
        assert (installed / name).is_file(), f"{name} missing from the built collection (galaxy.yml build_ignore?)"

    pip_out, bindep_out = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    proc = _run([sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect",
                 f"--write-pip={pip_out}", f"--write-bindep={bindep_out}", str(installed_collections)])
    found = yaml.safe_load(proc.stdout)
    ours_pip = [ln.split("#")[0].strip() for ln in found["python"] if ln.endswith("from collection kubeops.jenkins")]
    ours_sys = [ln.split("#")[0].strip() for ln in found["system"] if ln.endswith("from collection kubeops.jenkins")]

    # Every requirement we list reaches the image, except what ansible-builder drops on purpose
    # because ansible-core already brings it (PyYAML).
    expected = [r for r in _requirement_lines(ROOT / "requirements.txt") if not r.lower().startswith("pyyaml")]
    assert ours_pip == expected
    assert ours_sys == _requirement_lines(ROOT / "bindep.txt")
    assert "kubernetes>=24.2.0" in ours_pip
    # the files the build's later stages read
    assert "kubernetes>=24.2.0  # from collection kubeops.jenkins" in pip_out.read_text()
    assert "openssh-clients [platform:rpm]  # from collection kubeops.jenkins" in bindep_out.read_text()
