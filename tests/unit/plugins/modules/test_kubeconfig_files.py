# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ansible_collections.kubeops.jenkins.plugins.modules import kubeconfig_files
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.module_runner import run_main

CONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def run(args, check_mode=False, diff=False):
    return run_main(kubeconfig_files.main, args, check_mode=check_mode, diff=diff)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def args(dest, **extra):
    return dict(dict(dest=str(dest), files={"config": CONFIG, "pki/ca.crt": CA}, mode="0600", dir_mode="0700"),
                **extra)


def test_check_mode_then_write_then_nothing(tmp_path):
    dest = tmp_path / "root" / ".kube"
    result, failed = run(args(dest), check_mode=True, diff=True)
    assert not failed and result["changed"]
    assert result["written"] == ["config", "pki/ca.crt"]
    assert result["directories"] == [str(dest.parent), str(dest), str(dest / "pki")]
    assert not dest.exists()
    # the diff shows checksums, never the credentials
    assert CONFIG not in str(result["diff"]) and hashlib.sha1(CONFIG.encode()).hexdigest() in str(result["diff"])

    result, failed = run(args(dest))
    assert not failed and result["changed"]
    assert (dest / "config").read_text() == CONFIG and (dest / "pki" / "ca.crt").read_text() == CA
    assert mode_of(dest) == 0o700 and mode_of(dest / "pki") == 0o700
    assert mode_of(dest / "config") == 0o600 and mode_of(dest / "pki" / "ca.crt") == 0o600
    assert CONFIG not in str(result)
    # no temporary file is left next to the files
    assert sorted(p.name for p in dest.iterdir()) == ["config", "pki"]

    inode = (dest / "config").stat().st_ino
    result, failed = run(args(dest), diff=True)
    assert not failed and not result["changed"]
    assert result["written"] == [] and result["directories"] == [] and result["diff"] == []
    assert (dest / "config").stat().st_ino == inode


def test_changed_content_and_mode_are_repaired_other_files_kept(tmp_path):
    dest = tmp_path / ".kube"
    run(args(dest))
    (dest / "config").write_text("edited by hand\n")
    os.chmod(dest / "pki" / "ca.crt", 0o644)
    (dest / "cache").mkdir()
    (dest / "cache" / "discovery").write_text("kept")

    result, failed = run(args(dest), check_mode=True, diff=True)
    assert not failed and result["changed"] and result["written"] == ["config"]
    assert (dest / "config").read_text() == "edited by hand\n" and mode_of(dest / "pki" / "ca.crt") == 0o644
    before = hashlib.sha1(b"edited by hand\n").hexdigest()
    assert [d["before"] for d in result["diff"]] == ["sha1 %s\n" % before, "mode: 0644\n"]

    result, failed = run(args(dest))
    assert not failed and result["changed"] and result["written"] == ["config"]
    assert (dest / "config").read_text() == CONFIG and mode_of(dest / "pki" / "ca.crt") == 0o600
    assert (dest / "cache" / "discovery").read_text() == "kept"
    # only the mode differs: a change, nothing written, the diff names the mode
    os.chmod(dest, 0o755)
    result, failed = run(args(dest), check_mode=True, diff=True)
    assert result["changed"] and mode_of(dest) == 0o755
    assert [(d["before_header"], d["before"], d["after"]) for d in result["diff"]] == [
        (str(dest), "mode: 0755\n", "mode: 0700\n")]
    result, failed = run(args(dest))
    assert result["changed"] and result["written"] == [] and mode_of(dest) == 0o700


@pytest.mark.parametrize("files, words", [
    ({"../etc/passwd": "x"}, "'..'"),
    ({"/etc/passwd": "x"}, "absolute"),
    ({"a//b": "x"}, "empty"),
    ({"config": 3}, "must be text"),
])
def test_unsafe_input_is_refused_before_anything_is_written(tmp_path, files, words):
    dest = tmp_path / ".kube"
    result, failed = run(dict(args(dest), files=dict(files, ok="y")))
    assert failed and words in result["msg"]
    assert not dest.exists()


def test_dir_mode_and_dest_are_checked(tmp_path):
    result, failed = run(args(tmp_path / "k", dir_mode="700x"))
    assert failed and "dir_mode" in result["msg"]
    result, failed = run(args("relative/dir"))
    assert failed and "absolute" in result["msg"]
    (tmp_path / "file").write_text("x")
    result, failed = run(args(tmp_path / "file"))
    assert failed and "is not a directory" in result["msg"]
