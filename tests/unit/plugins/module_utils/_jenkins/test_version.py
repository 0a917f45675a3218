# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""JenkinsVersion ordering. Most cases mirror jenkinsci/lib-version-number's VersionNumberTest."""

from __future__ import annotations

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.version import (
    MIN_VERSIONS,
    JenkinsVersion,
    check_min_version,
    is_at_least,
    version_key,
)


@pytest.mark.parametrize("newer, older", [
    # core
    ("2.578", "2.479.3"),
    ("2.479.3", "2.479.1"),
    ("2.479.10", "2.479.9"),
    ("2.480", "2.479.3"),
    # plugins: JEP-229 incrementals "<build>.v<hash>"
    ("4540.v612369217f87", "4423.vb_59f230b_ce53"),
    ("2117.vc05a_0b_e6b_f4e", "2115.vf6de120eef70"),
    ("391.ve4a_38c1b_cf4b_", "1.1"),
    ("100.vdead9876beef", "99.10.vabcd1234abcd"),
    ("99.10.vabcd1234abcd", "99.5.vabcd1234abcd"),
    ("99.5.vabcd1234abcd", "99.v1234deadbeef"),
    ("3.12.0-55.v1234deadbeef", "3.12.0-44.v1234deadbeef"),
    ("3.12.1-66.v1234deadbeef", "3.12.0-55.v1234deadbeef"),
    ("6.10.0-240.v57880ce8b_0b_2", "6.10.0"),
    ("1.2.10", "1.2.9"),
    # from VersionNumberTest#isNewerThan
    ("2.0.*", "2.0"),
    ("2.1-SNAPSHOT", "2.0.*"),
    ("2.1", "2.1-SNAPSHOT"),
    ("2.0.*", "2.0.1"),
    ("2.0.1", "2.0.1-SNAPSHOT"),
    ("2.0.1-SNAPSHOT", "2.0.0.99"),
    ("2.0.0.99", "2.0.0"),
    ("2.0.0", "2.0.ea"),
    ("2.0", "2.0.ea"),
    ("2.0", "2.0-alpha-1"),
    ("2.0-alpha-1", "2.0-alpha-1-rc9999.abc123def456"),
    ("2.0.ea2", "2.0.ea1"),
    ("2.0.ea1", "2.0.ea"),
    ("1.12", "1.12-SNAPSHOT (private-08/24/2008 12:13-hudson)"),
    ("1.12-SNAPSHOT (private-08/24/2008 12:13-hudson)", "1.11"),
    ("1.11.*", "1.11.9"),
    ("2.0.3-20170207.105042-1", "2.0.2"),
    ("2.0.3", "2.0.3-20170207.105042-1"),
    ("2.0.3-20170207.105043-2", "2.0.3-20170207.105042-1"),
    ("2.0.3-20170207.105042-13", "2.0.3-20170207.105042-2"),
    # qualifiers
    ("1.0", "1.0-beta-2"),
    ("1.0-beta-2", "1.0-alpha-9"),
    ("1.0-rc1", "1.0-beta-2"),
    ("1.0-sp1", "1.0"),
])
def test_newer_than(newer, older):
    assert JenkinsVersion(newer) > JenkinsVersion(older)
    assert JenkinsVersion(newer) >= JenkinsVersion(older)
    assert JenkinsVersion(newer) != JenkinsVersion(older)
    if "*" not in newer:  # upstream compares an int with a wildcard as equal, in that direction only
        assert JenkinsVersion(older) < JenkinsVersion(newer)
        assert JenkinsVersion(older) <= JenkinsVersion(newer)


@pytest.mark.parametrize("left, right", [
    ("2.0.0", "2.0"),
    ("2.0", "2"),
    ("2.0.ea", "2.0.ea0"),
    ("1.12-SNAPSHOT (private-08/24/2008 12:13-hudson)", "1.12-SNAPSHOT"),
    ("2.0.3-20170207.105042-1", "2.0.3-SNAPSHOT"),
    ("1.0-GA", "1.0"),
    ("1.0-final", "1.0"),
    ("2.578", "2.578"),
])
def test_equal(left, right):
    assert JenkinsVersion(left) == JenkinsVersion(right)
    assert JenkinsVersion(left) >= JenkinsVersion(right)
    assert JenkinsVersion(left) <= JenkinsVersion(right)


def test_sorting_follows_jenkins_order():
    versions = ["4423.vb_59f230b_ce53", "1.1", "2.479.3", "4540.v612369217f87", "2.578", "1.2.3", "2.479.1"]
    assert sorted(versions, key=version_key) == [
        "1.1", "1.2.3", "2.479.1", "2.479.3", "2.578", "4423.vb_59f230b_ce53", "4540.v612369217f87"]


def test_lib_version_number_jenkins_order():
    # VersionNumberTest#libraryWrapper / #backportJep229 / #majorVersion (the Jenkins half)
    for ordered in (["3.12.0.0", "3.12.0-44.v1234deadbeef", "3.12.0-55.v1234deadbeef", "3.12.1-66.v1234deadbeef"],
                    ["99.v1234deadbeef", "99.5.vabcd1234abcd", "99.10.vabcd1234abcd", "100.vdead9876beef"],
                    ["1.1", "200.vabcd1234abcd", "391-ve4a_38c1b_cf4b_"]):
        assert sorted(reversed(ordered), key=version_key) == ordered


def test_compares_with_plain_strings_and_is_hashable():
    assert JenkinsVersion("2.578") > "2.479.3"
    assert JenkinsVersion("2.0") == "2.0.0"
    assert len({JenkinsVersion("2.0"), JenkinsVersion("2.0.0"), JenkinsVersion("2")}) == 1
    assert str(JenkinsVersion(" 2.578 ")) == "2.578"


def test_empty_version_is_rejected():
    with pytest.raises(ValueError):
        JenkinsVersion("")


def test_is_at_least_and_min_versions():
    assert is_at_least("2.578", MIN_VERSIONS["jenkins"])
    assert not is_at_least("2.462.3", MIN_VERSIONS["jenkins"])
    assert check_min_version("kubernetes", "4540.v612369217f87") is None
    assert check_min_version("configuration-as-code:configure", "2000.v1234") == (
        "configuration-as-code:configure needs configuration-as-code 2065.v7a_20a_b_d84088 or newer, found 2000.v1234")
    assert check_min_version("jenkins", "2.400", feature="option test_connection") == (
        "option test_connection needs jenkins 2.479.1 or newer, found 2.400")
    for minimum in MIN_VERSIONS.values():
        JenkinsVersion(minimum)
