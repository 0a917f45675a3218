#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubeconfig_files
short_description: Write a kubeconfig directory (several files) on a host in one module run
version_added: 0.3.0
description:
  - Writes each file of O(files) under O(dest), creating O(dest) and the sub-directories the files
    need, in one module run. The kubeops.jenkins.kubeconfig role uses it to copy the master's
    C(/root/.kube) to every node.
  - A file is rewritten only when its content differs, through a temporary file in the same directory
    and an atomic rename. Owner, group and mode are set on every file and directory it manages, also
    when the content is unchanged.
  - Files under O(dest) that O(files) does not name are left alone.
  - The contents are credentials. They are never returned, and the diff shows SHA-1 checksums only.
author:
  - kubeops.jenkins maintainers (@kubeops)
extends_documentation_fragment:
  - ansible.builtin.files
  - kubeops.jenkins.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - One entry per file to write, with checksums instead of contents.
  idempotent:
    support: full
options:
  dest:
    description: Absolute path of the directory to write.
    type: path
    required: true
  files:
    description:
      - The files to write, as relative path under O(dest) to text content.
      - A path must not be absolute and must not contain C(..) or empty components.
    type: dict
    required: true
  dir_mode:
    description:
      - Mode of O(dest) and of the sub-directories, as a quoted octal string such as V("0700").
      - O(mode) applies to the files.
    type: str
    default: "0700"
seealso:
  - module: kubeops.jenkins.kubeconfig_info
  - name: ansible.builtin.copy
    description: One file per task, with its attributes set by a second module run.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/copy_module.html
"""

EXAMPLES = r"""
- name: Write the kubeconfig read from the master
  kubeops.jenkins.kubeconfig_files:
    dest: /root/.kube
    files:
      config: "{{ kubeconfig_text }}"
    owner: root
    group: root
    mode: "0600"
    dir_mode: "0700"
  no_log: true
"""

RETURN = r"""
written:
  description: Relative paths of the files whose content was written (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [config]
directories:
  description: Directories that were created (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/root/.kube]
"""

import hashlib
import os
import posixpath
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

DIR_MODE = r"^0?[0-7]{3,4}$"


def check_paths(files):
    """The relative paths that are unsafe, with why."""
    problems = []
    for rel in sorted(files):
        parts = rel.split("/")
        if not rel or rel.startswith("/"):
            problems.append("%r is empty or absolute" % rel)
        elif any(p in ("", ".", "..") for p in parts):
            problems.append("%r has an empty, '.' or '..' component" % rel)
    return problems


def needed_dirs(dest, files):
    """dest, its missing parents (as `file state=directory` creates them) and every directory a file
    needs, parents first."""
    dirs = {dest}
    parent = os.path.dirname(dest)
    while parent != os.path.dirname(parent) and not os.path.isdir(parent):
        dirs.add(parent)
        parent = os.path.dirname(parent)
    for rel in files:
        parent = posixpath.dirname(rel)
        while parent:
            dirs.add(os.path.join(dest, parent))
            parent = posixpath.dirname(parent)
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def sha1(data):
    return hashlib.sha1(data).hexdigest() if data is not None else None  # nosec B324: a checksum shown in a diff


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_atomically(module, path, data):
    directory = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(prefix=".kubeconfig_files.", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def set_attributes(module, file_args, changed, diffs):
    """Owner, group and mode as wanted (respects check mode); a difference becomes a diff entry."""
    found = {"before": {}, "after": {}}
    changed = module.set_fs_attributes_if_different(file_args, changed, diff=found)
    if found["before"]:
        diffs.append({"before_header": file_args["path"], "after_header": file_args["path"],
                      "before": "".join("%s: %s\n" % kv for kv in sorted(found["before"].items())),
                      "after": "".join("%s: %s\n" % kv for kv in sorted(found["after"].items()))})
    return changed


def run(module):
    params = module.params
    dest = params["dest"]
    files = params["files"]
    if not os.path.isabs(dest):
        module.fail_json(msg="dest must be an absolute path (got %r)" % dest)
    problems = check_paths(files)
    if problems:
        module.fail_json(msg="files: " + "; ".join(problems) + ". Nothing was written.")
    if not re.match(DIR_MODE, params["dir_mode"]):
        module.fail_json(msg="dir_mode must be a quoted octal string such as \"0700\" (got %r)" % (params["dir_mode"],))
    for rel, content in files.items():
        if not isinstance(content, str):
            module.fail_json(msg="files[%r] must be text (got %s). Nothing was written." % (rel, type(content).__name__))

    result = {"changed": False, "written": [], "directories": []}
    diffs = []
    common = module.load_file_common_arguments(params)
    dir_args = dict(common, mode=params["dir_mode"])
    for directory in needed_dirs(dest, files):
        if os.path.lexists(directory) and not os.path.isdir(directory):
            module.fail_json(msg="Cannot write the kubeconfig under %s: %s exists and is not a directory" % (dest, directory))
        if not os.path.isdir(directory):
            result["directories"].append(directory)
            result["changed"] = True
            diffs.append({"before_header": directory, "after_header": directory,
                          "before": "absent\n", "after": "directory\n"})
            if module.check_mode:
                continue
            try:
                os.mkdir(directory, 0o700)
            except OSError as exc:
                module.fail_json(msg="Failed to create directory %s: %s" % (directory, to_native(exc)))
        if not module.check_mode or os.path.isdir(directory):
            result["changed"] = set_attributes(module, dict(dir_args, path=directory), result["changed"], diffs)

    for rel in sorted(files):
        path = os.path.join(dest, rel)
        wanted = to_bytes(files[rel], errors="surrogate_or_strict")
        current = read_bytes(path) if os.path.isdir(os.path.dirname(path)) else None
        if current != wanted:
            result["written"].append(rel)
            result["changed"] = True
            diffs.append({"before_header": path, "after_header": path,
                          "before": "absent\n" if current is None else "sha1 %s\n" % sha1(current),
                          "after": "sha1 %s\n" % sha1(wanted)})
            if not module.check_mode:
                try:
                    write_atomically(module, path, wanted)
                except OSError as exc:
                    module.fail_json(msg="Failed to write %s: %s" % (path, to_native(exc)))
        if os.path.exists(path):
            result["changed"] = set_attributes(module, dict(common, path=path), result["changed"], diffs)
    if module._diff:
        result["diff"] = diffs
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            files=dict(type="dict", required=True, no_log=True),
            dir_mode=dict(type="str", default="0700"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
