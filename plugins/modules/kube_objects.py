#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kube_objects
short_description: Apply and remove a set of Kubernetes objects in one pass, writing only what differs
version_added: 0.2.0
description:
  - Brings a whole set of Kubernetes objects (the controller's ServiceAccount, RBAC, storage,
    ConfigMaps, Secret, Services and workload, for instance) to the given definitions in one module
    run, then waits for the workloads among them.
  - Each object is read once. It is written only when it differs, which is decided before any request
    is sent, from two facts. The object's last-applied annotation (the one C(kubectl apply) and
    C(kubernetes.core.k8s) with C(apply=true) keep) must equal the
    definition, and every field of the definition must be in the live object with the same value.
    So a change made by someone else to a field the definition sets is put back, and a field removed
    from the definition is removed from the object.
  - The write is C(kubernetes.core.k8s)'s client-side apply (three-way merge of last-applied,
    desired and live objects, sent as a JSON merge patch), so objects can be managed by either.
  - Objects in O(absent) are deleted first (in order), then the O(definitions) are applied in order.
  - Transient API answers (HTTP 429, 500, 502, 503, 504, a dropped connection) are retried three times
    with a short backoff; any other error fails the task naming the action, the object and the
    server's answer, and lists what was already done.
  - A workload (Deployment, StatefulSet, DaemonSet, Pod) that does not become ready within
    O(wait_timeout) fails the task with what its pods report (unschedulable with the scheduler's
    reason, an image that cannot be pulled, a crash loop, an unbound PersistentVolumeClaim and its events).
  - The values of Secrets in O(definitions) are never shown, in the result, the diff or the logged
    module arguments.
author:
  - kubeops.jenkins maintainers (@kubeops)
extends_documentation_fragment:
  - kubeops.jenkins.kubernetes_auth
  - kubeops.jenkins.attributes
attributes:
  check_mode:
    support: full
    details:
      - Creations and updates are sent as server-side dry runs (C(dryRun=All)), so the API server
        validates and defaults them and the diff is exact; nothing is stored. Objects in a namespace
        that does not exist yet are reported as created without a request (the API server cannot
        dry-run them). Deletions are only reported.
  diff_mode:
    support: full
    details: One before/after pair per object that is created, updated or deleted (server bookkeeping
      and status left out, Secret values hidden).
  idempotent:
    support: full
options:
  definitions:
    description:
      - Objects that must exist as given, each a complete Kubernetes object (C(apiVersion), C(kind),
        C(metadata.name), C(metadata.namespace) for namespaced kinds).
      - Fields the definition does not set are left as they are (server defaults, fields of other
        managers).
    type: list
    elements: dict
    default: []
  absent:
    description:
      - Objects that must not exist. Deleted (foreground propagation) if they do.
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: API version of the object, for example C(v1) or C(apps/v1).
        type: str
        required: true
      kind:
        description: Kind of the object.
        type: str
        required: true
      name:
        description: Name of the object.
        type: str
        required: true
      namespace:
        description: Namespace of the object (ignored for cluster-scoped kinds).
        type: str
  current:
    description:
      - Live objects read earlier in the play (for example the C(resources) of
        M(kubeops.jenkins.kube_objects_info)) that the module may use instead of reading them again.
        An object of O(definitions) found here is not read again; it is compared with, and patched
        from, this copy.
      - Only pass objects read moments before, in the same play. A change made to the object in
        between is not seen; the write is a merge patch, so such a change is not lost either, but a
        change in between to a field the definition sets is only put back on the next run.
    type: list
    elements: dict
    default: []
  wait:
    description:
      - Wait until the workloads among O(definitions) are ready (kubernetes.core's readiness rules;
        for a Deployment, the current generation observed and every replica updated and available)
        and until deleted objects are gone.
      - An unchanged workload that is already ready costs no further request.
    type: bool
    default: true
  wait_for:
    description:
      - Workloads to wait for without applying them, for example one applied earlier in the play
        with O(wait=false) so that other work could run while its pods started.
      - Waited for with the same readiness rules, also when O(wait=false); not in check mode.
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: API version of the workload, for example C(apps/v1).
        type: str
        required: true
      kind:
        description: Kind of the workload.
        type: str
        required: true
      name:
        description: Name of the workload.
        type: str
        required: true
      namespace:
        description: Namespace of the workload.
        type: str
  wait_timeout:
    description: How long to wait, in seconds, for each workload and each deletion.
    type: int
    default: 300
  wait_sleep:
    description: Seconds between two reads while waiting.
    type: int
    default: 2
notes:
  - Compared with a loop of C(kubernetes.core.k8s) tasks, one per object, this saves a module start
    per object and sends no request for an object that is already as defined
    (C(kubernetes.core.k8s) re-sends list fields as a PATCH on every run).
seealso:
  - module: kubeops.jenkins.kube_objects_info
  - name: kubernetes.core.k8s
    description: The module for one object at a time.
    link: https://docs.ansible.com/ansible/latest/collections/kubernetes/core/k8s_module.html
"""

EXAMPLES = r"""
- name: Apply the controller's objects and wait for its rollout
  kubeops.jenkins.kube_objects:
    definitions:
      - "{{ lookup('ansible.builtin.template', 'serviceaccount.yaml.j2') | from_yaml }}"
      - "{{ lookup('ansible.builtin.template', 'deployment.yaml.j2') | from_yaml }}"
    absent:
      - api_version: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        name: kube-ops-jenkins
    wait_timeout: 600
  register: applied

- name: Show what happened to each object
  ansible.builtin.debug:
    msg: "{{ applied.objects | map(attribute='action') | list }}"
"""

RETURN = r"""
objects:
  description:
    - One entry per object of O(absent) then of O(definitions), in that order.
  returned: always
  type: list
  elements: dict
  contains:
    api_version:
      description: API version.
      type: str
    kind:
      description: Kind.
      type: str
    name:
      description: Name.
      type: str
    namespace:
      description: Namespace (null for cluster-scoped kinds).
      type: str
    action:
      description:
        - V(created), V(updated), V(unchanged), V(deleted), V(absent) (nothing to delete) or
          V(waited) (an entry of O(wait_for)).
      type: str
    reason:
      description: Why an object was written (for example the first field that differed).
      type: str
      returned: when written
    waited:
      description: Seconds spent waiting for the workload to become ready.
      type: float
      returned: for workloads when O(wait=true)
    object:
      description: The object after the run (server bookkeeping, status of non-workloads and Secret values left out).
      type: dict
      returned: for O(definitions)
  sample:
    - {api_version: v1, kind: Service, name: jenkins, namespace: kube-ops, action: unchanged, object: {}}
"""

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.args import KUBE_ARGSPEC
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import KubeAccess
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.objects import (
    ObjectSet, for_display, ref, secret_values)

ABSENT_SPEC = dict(
    api_version=dict(type="str", required=True),
    kind=dict(type="str", required=True),
    name=dict(type="str", required=True),
    namespace=dict(type="str"),
)


def argspec():
    spec = dict(
        definitions=dict(type="list", elements="dict", default=[]),
        current=dict(type="list", elements="dict", default=[]),
        absent=dict(type="list", elements="dict", default=[], options=ABSENT_SPEC),
        wait=dict(type="bool", default=True),
        wait_for=dict(type="list", elements="dict", default=[], options=ABSENT_SPEC),
        wait_timeout=dict(type="int", default=300),
        wait_sleep=dict(type="int", default=2),
    )
    spec.update(KUBE_ARGSPEC)
    return spec


def validate(params):
    """Problems with the input, found before any request (each names the item and the field)."""
    problems = []
    if params["wait_timeout"] <= 0:
        problems.append("wait_timeout must be greater than 0, got %s" % params["wait_timeout"])
    if params["wait_sleep"] <= 0:
        problems.append("wait_sleep must be greater than 0, got %s" % params["wait_sleep"])
    seen = {}
    for i, obj in enumerate(params["definitions"]):
        where = "definitions[%d]" % i
        for field in ("apiVersion", "kind"):
            if not isinstance(obj.get(field), str) or not obj.get(field):
                problems.append("%s: %s is required (a string)" % (where, field))
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta.get("name"):
            problems.append("%s: metadata.name is required (a string)" % where)
            continue
        key = (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta["name"])
        if key in seen:
            problems.append("%s: %s is also definitions[%d]" % (where, ref(obj), seen[key]))
        seen[key] = i
    return problems


def wait_for(module, objects, spec):
    """An entry of wait_for: read it, and wait until it is ready (not in check mode)."""
    entry = {"api_version": spec["api_version"], "kind": spec["kind"], "name": spec["name"],
             "namespace": spec.get("namespace"), "action": "waited", "waited": 0.0}
    target = ref({"kind": spec["kind"], "metadata": {"name": spec["name"], "namespace": spec.get("namespace")}})
    obj = objects.get(spec["api_version"], spec["kind"], spec["name"], spec.get("namespace"))
    if obj is None:
        if module.check_mode:
            entry["reason"] = "does not exist yet (check mode)"
            return entry
        raise JenkinsError(message="Cannot wait for %s: it does not exist" % target, action="wait for", target=target)
    if not module.check_mode and not objects.is_ready(obj):
        obj, entry["waited"] = objects.wait_ready(obj, module.params["wait_timeout"], module.params["wait_sleep"])
    shown = for_display(obj)
    shown["status"] = obj.get("status") or {}
    entry["object"] = shown
    return entry


def run(module, objects):
    params = module.params
    result = {"changed": False, "objects": []}
    diffs = []
    try:
        for spec in params["absent"]:
            entry, before = objects.absent(spec)
            result["objects"].append(entry)
            if entry["action"] == "deleted":
                result["changed"] = True
                diffs.append({"before_header": ref(spec), "after_header": ref(spec),
                              "before": for_display(before), "after": {}})
                if params["wait"] and not module.check_mode:
                    objects.wait_gone(spec, params["wait_timeout"])
        for desired in params["definitions"]:
            entry, before, after = objects.present(copy.deepcopy(desired))
            if entry["action"] in ("created", "updated"):
                result["changed"] = True
                diffs.append({"before_header": ref(desired), "after_header": ref(desired),
                              "before": for_display(before), "after": for_display(after)})
            if params["wait"] and not module.check_mode and after and not objects.is_ready(after):
                after, entry["waited"] = objects.wait_ready(after, params["wait_timeout"], params["wait_sleep"])
            elif params["wait"] and after and entry["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Pod"):
                entry["waited"] = 0.0
            shown = for_display(after)
            if after and entry["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Pod"):
                shown["status"] = after.get("status") or {}
            entry["object"] = shown
            result["objects"].append(entry)
        for spec in params["wait_for"]:
            result["objects"].append(wait_for(module, objects, spec))
    except JenkinsError as exc:
        result.update(exc.to_result())
        if module._diff:
            result["diff"] = diffs
        written = ["%s %s" % (ref(e), e["action"]) for e in result["objects"]
                   if e["action"] in ("created", "updated", "deleted")]
        module.fail_json(msg="%s (written before the failure: %s)" % (exc, ", ".join(written) or "nothing"),
                         **result)
    if module._diff:
        result["diff"] = diffs
    return result


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    for obj in module.params["definitions"] + module.params["current"]:
        # Secret values never leave the module (result, diff, the logged invocation)
        module.no_log_values.update(secret_values(obj))
    problems = validate(module.params)
    if problems:
        module.fail_json(msg="Invalid input, nothing was sent to the cluster: %s" % "; ".join(problems))
    objects = ObjectSet(KubeAccess(module.params["kubeconfig"], module.params["context"]),
                        check_mode=module.check_mode)
    for obj in module.params["current"]:
        objects.remember(obj)
    module.exit_json(**run(module, objects))


if __name__ == "__main__":
    main()
