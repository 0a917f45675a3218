# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""Jenkins version numbers and the minimum versions the collection relies on.

JenkinsVersion orders versions the way Jenkins itself does (hudson.util.VersionNumber from
jenkinsci/lib-version-number, a derivative of Maven's ComparableVersion), so that core versions
(2.479.3, 2.578) and plugin versions (1.2.3, 4423.vb_59f230b_ce53, 2115.vf6de120eef70) compare as
the update center and the plugin manager compare them:

* the string is lower-cased and split on '.', '-' and on every digit/letter transition;
* numbers compare numerically; trailing zero/empty items are dropped (2.0.0 == 2.0 == 2);
* a '-' followed by a digit after a number opens a sub-list (1-1 sorts below 1.0.x);
* qualifiers rank snapshot < alpha < beta < milestone < rc < (release) < sp < anything else,
  with aliases ga/final = release, cr/ea = rc, and a/b/m + digit = alpha/beta/milestone;
* '*' is a wildcard newer than anything at its position;
* -SNAPSHOT and timestamped snapshots (-20170207.105042-1) rank below the release.
"""

from __future__ import annotations

import re

_SNAPSHOT = re.compile(r"^.*((?:-\d{8}\.\d{6}-\d+)|-SNAPSHOT)( \(.*\))?$")

_QUALIFIERS = ["snapshot", "alpha", "beta", "milestone", "rc", "", "sp"]
_ALIASES = {"ga": "", "final": "", "cr": "rc", "ea": "rc"}
_RELEASE_INDEX = str(_QUALIFIERS.index(""))

INT, STR, LIST, WILDCARD = "int", "str", "list", "wildcard"


def _comparable_qualifier(value):
    """Known qualifiers by rank, unknown ones after them in lexical order (as strings, like Java)."""
    if value in _QUALIFIERS:
        return str(_QUALIFIERS.index(value))
    return "%d-%s" % (len(_QUALIFIERS), value)


def _string_item(value, followed_by_digit):
    if followed_by_digit and len(value) == 1:
        value = {"a": "alpha", "b": "beta", "m": "milestone"}.get(value, value)
    return (STR, _ALIASES.get(value, value))


def _parse_item(is_digit, text):
    return (INT, int(text)) if is_digit else _string_item(text, False)


def _is_null(item):
    kind, value = item
    if kind == INT:
        return value == 0
    if kind == STR:
        return _comparable_qualifier(value) == _RELEASE_INDEX
    if kind == LIST:
        return not value
    return False


def _normalize(items):
    while items and _is_null(items[-1]):
        items.pop()


def _cmp(left, right):
    return (left > right) - (left < right)


def _compare_item(item, other):
    """item.compareTo(other) of VersionNumber's Item classes; other may be None."""
    kind, value = item
    if kind == WILDCARD:
        return 0 if other is not None and other[0] == WILDCARD else 1
    if kind == INT:
        if other is None:
            return 0 if value == 0 else 1
        if other[0] == INT:
            return _cmp(value, other[1])
        return 0 if other[0] == WILDCARD else 1
    if kind == STR:
        if other is None:
            return _cmp(_comparable_qualifier(value), _RELEASE_INDEX)
        if other[0] == STR:
            return _cmp(_comparable_qualifier(value), _comparable_qualifier(other[1]))
        return -1
    # LIST
    if other is None:
        return _compare_item(value[0], None) if value else 0
    if other[0] == INT:
        return -1
    if other[0] == STR:
        return 1
    if other[0] == WILDCARD:
        return -1
    return _compare_lists(value, other[1])


def _compare_lists(left, right):
    for index in range(max(len(left), len(right))):
        l_item = left[index] if index < len(left) else None
        r_item = right[index] if index < len(right) else None
        if l_item is None:
            result = 0 if r_item is None else -_compare_item(r_item, None)
        else:
            result = _compare_item(l_item, r_item)
        if result:
            return result
    return 0


def _parse(version):
    """Items list and snapshot marker, as VersionNumber#parseVersion builds them."""
    snapshot = None
    match = _SNAPSHOT.match(version)
    if match:
        snapshot = match.group(1)
        version = version[:match.start(1)] + "-SNAPSHOT"
    version = version.lower()

    root = []
    current = root
    stack = [root]
    is_digit = False
    start = 0
    for index, char in enumerate(version):
        if char in ".-":
            current.append((INT, 0) if index == start else _parse_item(is_digit, version[start:index]))
            start = index + 1
            if char == "-" and is_digit:
                _normalize(current)
                if index + 1 < len(version) and version[index + 1].isdigit():
                    sub = []
                    current.append((LIST, sub))
                    current = sub
                    stack.append(sub)
        elif char == "*":
            current.append((WILDCARD, None))
            start = index + 1
        elif char.isdigit():
            if not is_digit and index > start:
                current.append(_string_item(version[start:index], True))
                start = index
            is_digit = True
        elif char.isspace():
            if index > start:
                if is_digit:
                    current.append(_parse_item(True, version[start:index]))
                else:
                    current.append(_string_item(version[start:index], True))
                start = index
            is_digit = False
        else:
            if is_digit and index > start:
                current.append(_parse_item(True, version[start:index]))
                start = index
            is_digit = False
    if len(version) > start:
        current.append(_parse_item(is_digit, version[start:]))
    while stack:
        _normalize(stack.pop())
    return root, snapshot


class JenkinsVersion:
    """A comparable Jenkins core or plugin version: JenkinsVersion("2.479.3") < "2.578"."""

    def __init__(self, version):
        if isinstance(version, JenkinsVersion):
            version = version.value
        if version is None or not str(version).strip():
            raise ValueError("empty version")
        self.value = str(version).strip()
        self._items, self._snapshot = _parse(self.value)

    def _compare(self, other):
        if not isinstance(other, JenkinsVersion):
            other = JenkinsVersion(other)
        result = _compare_lists(self._items, other._items)  # pylint: disable=protected-access
        if result:
            return result
        mine, theirs = self._snapshot, other._snapshot  # pylint: disable=protected-access
        if mine is None:
            return 0 if theirs is None else -1
        if theirs is None:
            return 1
        if "-SNAPSHOT" in (mine, theirs):
            return 0  # a literal -SNAPSHOT cannot be compared with a timestamped one
        result = _cmp(mine[1:16], theirs[1:16])
        return result or _cmp(int(mine[17:]), int(theirs[17:]))

    def __eq__(self, other):
        try:
            return self._compare(other) == 0
        except ValueError:
            return NotImplemented

    # Each operator is one call of VersionNumber#compareTo with self on the left, as Jenkins'
    # isNewerThan/isOlderThan are. (Upstream's order is not fully antisymmetric around wildcards:
    # 2.0.* is newer than 2.0.1, yet 2.0.1 is not older than 2.0.*.)
    def __lt__(self, other):
        return self._compare(other) < 0

    def __le__(self, other):
        return self._compare(other) <= 0

    def __gt__(self, other):
        return self._compare(other) > 0

    def __ge__(self, other):
        return self._compare(other) >= 0

    def __hash__(self):
        return hash(repr(self._canonical(self._items)))

    @classmethod
    def _canonical(cls, items):
        return tuple((kind, cls._canonical(value) if kind == LIST else value) for kind, value in items)

    def __repr__(self):
        return "JenkinsVersion(%r)" % self.value

    def __str__(self):
        return self.value

    @property
    def key(self):
        """The parsed items (for debugging and tests); compare JenkinsVersion objects, not keys."""
        return self._canonical(self._items)


def version_key(version):
    """Sort key: sorted(versions, key=version_key) orders as Jenkins does."""
    return JenkinsVersion(version)


def is_at_least(version, minimum):
    return JenkinsVersion(version) >= JenkinsVersion(minimum)


# Oldest versions the collection is written and tested against. Fail only when a feature that
# needs them is actually used, naming the feature and the version (STYLE.md section 3.4).
MIN_VERSIONS = {
    # Jenkins core: LTS line that the kubernetes plugin 4423.x requires (requiredCoreVersion 2.479.1)
    "jenkins": "2.479.1",
    # POST /configuration-as-code/check with JSON [{"line", "message"}] answers
    "configuration-as-code": "1947.v7d33fe23569c",
    # POST /configuration-as-code/configure (YAML in the body)
    "configuration-as-code:configure": "2065.v7a_20a_b_d84088",
    # Kubernetes cloud attributes used by jenkins_kubernetes_cloud (reference section 5)
    "kubernetes": "4423.vb_59f230b_ce53",
}


def check_min_version(component, installed, feature=None):
    """None when installed satisfies MIN_VERSIONS[component], else a message naming both versions."""
    minimum = MIN_VERSIONS[component]
    if installed is None:
        return None
    if JenkinsVersion(installed) >= JenkinsVersion(minimum):
        return None
    name = component.split(":", 1)[0]
    what = feature or component
    return "%s needs %s %s or newer, found %s" % (what, name, minimum, installed)
