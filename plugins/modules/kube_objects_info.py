#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kube_objects_info
short_description: Read several Kubernetes objects or lists in one module run
version_added: 0.2.0
description:
  - Reads each query of O(queries) (one object by name, or a list by label and field selectors) with
    one request, in one module run, and changes nothing.
  - A missing object is an empty list, not an error.
  - Secrets are returned as stored (base64 C(data)); use C(no_log) on a task that reads one.
author:
  - kubeops.jenkins maintainers (@kubeops)
extends_documentation_fragment:
  - kubeops.jenkins.kubernetes_auth
  - kubeops.jenkins.attributes
  - kubeops.jenkins.attributes.INFO_MODULE
options:
  queries:
    description: What to read.
    type: list
    elements: dict
    required: true
    suboptions:
      api_version:
        description: API version, for example C(v1) or C(apps/v1).
        type: str
        required: true
      kind:
        description: Kind.
        type: str
        required: true
      name:
        description: Name of one object. Without it, the objects of the kind are listed.
        type: str
      namespace:
        description: Namespace (ignored for cluster-scoped kinds; all namespaces when omitted for a list).
        type: str
      label_selectors:
        description: Label selector of a list, as C(kubectl -l).
        type: str
      field_selectors:
        description: Field selector of a list, as C(kubectl --field-selector).
        type: str
seealso:
  - module: kubeops.jenkins.kube_objects
  - name: kubernetes.core.k8s_info
    description: The module for one object at a time.
    link: https://docs.ansible.com/ansible/latest/collections/kubernetes/core/k8s_info_module.html
"""

EXAMPLES = r"""
- name: Read the admin Secret and the nodes in one run
  kubeops.jenkins.kube_objects_info:
    queries:
      - {api_version: v1, kind: Secret, name: jenkins-admin, namespace: kube-ops}
      - {api_version: v1, kind: Node}
  register: reads
  no_log: true

- name: Use them
  ansible.builtin.set_fact:
    node_names: "{{ reads.results[1].resources | map(attribute='metadata.name') | list }}"
"""

RETURN = r"""
results:
  description: One entry per query, in order.
  returned: always
  type: list
  elements: dict
  contains:
    api_version:
      description: API version of the query.
      type: str
    kind:
      description: Kind of the query.
      type: str
    name:
      description: Name of the query (null for a list).
      type: str
    namespace:
      description: Namespace of the query.
      type: str
    resources:
      description: The objects found (empty when the named object does not exist).
      type: list
      elements: dict
  sample:
    - {api_version: v1, kind: Node, name: null, namespace: null, resources: []}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.args import KUBE_ARGSPEC
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import KubeAccess
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.objects import ObjectSet

QUERY_SPEC = dict(
    api_version=dict(type="str", required=True),
    kind=dict(type="str", required=True),
    name=dict(type="str"),
    namespace=dict(type="str"),
    label_selectors=dict(type="str"),
    field_selectors=dict(type="str"),
)


def main():
    spec = dict(queries=dict(type="list", elements="dict", required=True, options=QUERY_SPEC))
    spec.update(KUBE_ARGSPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    objects = ObjectSet(KubeAccess(module.params["kubeconfig"], module.params["context"]))
    results = []
    try:
        for query in module.params["queries"]:
            entry = dict((k, query.get(k)) for k in ("api_version", "kind", "name", "namespace"))
            entry["resources"] = objects.read(query)
            results.append(entry)
    except JenkinsError as exc:
        module.fail_json(msg=str(exc), results=results, **exc.to_result())
    module.exit_json(changed=False, results=results)


if __name__ == "__main__":
    main()
