#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jenkins_casc
short_description: Apply a Jenkins configuration-as-code (JCasC) document durably and verify it
version_added: 0.1.0
description:
  - Manages one named JCasC document of a Jenkins controller running in Kubernetes.
  - The document is validated with C(POST /configuration-as-code/check) before anything changes.
  - It is stored as key C(<name>.yaml) of a ConfigMap the controller mounts in its
    C(CASC_JENKINS_CONFIG) folder (see O(configmap)), so it survives reloads and restarts; other
    keys and other JCasC sources are left alone. Then the module reloads JCasC and checks the live
    export until it shows the document (the kubelet needs a while to update a mounted ConfigMap).
  - Nothing is posted to C(/configuration-as-code/apply), because that endpoint merges with the standard
    sources (lists such as C(jenkins.clouds) are concatenated) and is undone by the next reload.
  - The document is compared with the live export semantically, only where the document says
    something (attribute names case-insensitive, C(podRetention=never) equal to
    C(podRetention={never={}}), scalars by text, list elements by name or id in Jenkins' order).
    Secrets are exported encrypted and values using C(${VAR}) interpolation are resolved by
    Jenkins, so neither can be compared; they are listed in a warning.
author:
  - kubeops.jenkins maintainers (@kubeops)
extends_documentation_fragment:
  - kubeops.jenkins.jenkins_connection
  - kubeops.jenkins.kubernetes_auth
  - kubeops.jenkins.attributes
  - kubeops.jenkins.attributes.action_group
attributes:
  check_mode:
    support: full
    details:
      - Only read requests are sent, plus the read-only C(POST /configuration-as-code/check) and
        C(POST /configuration-as-code/export).
  diff_mode:
    support: full
    details: The diff shows the relevant part of the live export before, and the document after.
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the document; it is stored as key C(<name>.yaml) of the managed ConfigMap.
      - Letters, digits, C(-), C(_) and C(.); must not start with C(.) (JCasC skips hidden files).
    type: str
    required: true
  config:
    description:
      - The JCasC document, as a mapping or a YAML string (root elements C(jenkins),
        C(unclassified), C(security), C(credentials), ...). Required when O(state=present).
      - Use C(${VAR}) interpolation for secrets rather than literal values; the ConfigMap is not a
        Secret.
    type: raw
  state:
    description: V(absent) removes the document's key from the ConfigMap and reloads.
    type: str
    choices: [present, absent]
    default: present
  configmap:
    description: The managed ConfigMap mounted in the controller's C(CASC_JENKINS_CONFIG) folder.
    type: dict
    default: {}
    suboptions:
      name:
        description: ConfigMap name.
        type: str
        default: jenkins-casc-managed
      namespace:
        description: Namespace of the ConfigMap (the controller's namespace).
        type: str
        default: kube-ops
  reload:
    description:
      - Reload JCasC after writing and verify the live export. With V(false) only the ConfigMap is
        written (Jenkins picks it up at its next reload or restart) and only the ConfigMap is compared.
    type: bool
    default: true
  sync_timeout:
    description:
      - Seconds to keep reloading until the live export shows the document. The kubelet updates a
        mounted ConfigMap within its sync period (about a minute by default) plus cache delay.
    type: int
    default: 180
notes:
  - Needs the Overall/Administer permission, and rights to get, create and patch the ConfigMap.
  - Jenkins must be configured with C(CASC_JENKINS_CONFIG) pointing at the folder where the
    ConfigMap is mounted (the kubeops.jenkins.controller role does this).
  - JCasC merges all files of that folder in path order; mappings merge, lists concatenate, and
    a scalar set in two files takes the value of the later file. A document cannot override a
    scalar that a file sorting after C(<name>.yaml) also sets; the task then fails after
    O(sync_timeout) naming the value that did not take effect.
seealso:
  - module: kubeops.jenkins.jenkins_kubernetes_cloud
  - name: Configuration as Code plugin
    description: JCasC documentation.
    link: https://plugins.jenkins.io/configuration-as-code/
"""

EXAMPLES = r"""
- name: System message and executors on the built-in node
  kubeops.jenkins.jenkins_casc:
    url: http://jenkins.kube-ops.svc.cluster.local:8080
    username: admin
    token: "{{ jenkins_token }}"
    name: base
    config:
      jenkins:
        systemMessage: Managed by Ansible
        numExecutors: 0

- name: A document from a file, in another ConfigMap
  kubeops.jenkins.jenkins_casc:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: security
    config: "{{ lookup('ansible.builtin.file', 'security.yaml') }}"
    configmap:
      name: jenkins-casc-managed
      namespace: ci
    kubeconfig: ~/.kube/config

- name: Remove the document
  kubeops.jenkins.jenkins_casc:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: base
    state: absent
"""

RETURN = r"""
export:
  description: The live JCasC export after the task (before it in check mode), parsed.
  returned: always
  type: dict
  sample: {jenkins: {systemMessage: Managed by Ansible, numExecutors: 0}}
configmap:
  description: Where the document is stored.
  returned: always
  type: dict
  sample: {namespace: kube-ops, name: jenkins-casc-managed, key: base.yaml}
warnings:
  description: Values that could not be compared (encrypted secrets, interpolated values).
  returned: always
  type: list
  elements: str
  sample: ["/credentials/system/domainCredentials[0]/credentials[0]/usernamePassword/password: secret not compared"]
"""

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import casc_service
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.args import KUBE_ARGSPEC
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import KubeAccess
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.module import JenkinsModule

CONFIGMAP_SPEC = dict(
    name=dict(type="str", default="jenkins-casc-managed"),
    namespace=dict(type="str", default="kube-ops"),
)


def argspec():
    spec = dict(KUBE_ARGSPEC)
    spec.update(
        name=dict(type="str", required=True),
        config=dict(type="raw"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        configmap=dict(type="dict", default={}, options=CONFIGMAP_SPEC),
        reload=dict(type="bool", default=True),
        sync_timeout=dict(type="int", default=180),
    )
    return spec


def main():
    module = JenkinsModule(argument_spec=argspec(), supports_check_mode=True,
                           required_if=[("state", "present", ("config",))])
    try:
        casc_service.document_key(module.params["name"])
        if module.params["state"] == "present":
            casc_service.parse_config(module.params["config"])
        kube = KubeAccess(module.params["kubeconfig"], module.params["context"])
        result = casc_service.ensure(module.client, kube, module.params, check_mode=module.check_mode,
                                     diff=module._diff)
    except JenkinsError as exc:
        module.fail_from_exception(exc)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
