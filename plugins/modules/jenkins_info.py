#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: jenkins_info
short_description: Wait for a Jenkins controller and read its version, plugins, nodes and clouds
version_added: 0.1.0
description:
  - Reads facts about a Jenkins controller through its remote API and changes nothing.
  - With O(wait=true), polls until Jenkins stops answering HTTP 503 (starting or restarting).
  - Tells a controller that is still starting apart from one that failed to boot because of its
    configuration-as-code (JCasC) configuration. Jenkins serves the JCasC "Error loading configuration"
    page with HTTP 503 on every path and never recovers by itself, so the module fails at once with
    the message of that page instead of waiting until O(wait_timeout).
author:
  - kubeops.jenkins maintainers (@kubeops)
extends_documentation_fragment:
  - kubeops.jenkins.jenkins_connection
  - kubeops.jenkins.attributes
  - kubeops.jenkins.attributes.INFO_MODULE
  - kubeops.jenkins.attributes.ACTION_GROUP
options:
  wait:
    description:
      - Wait until Jenkins is ready (it stops answering HTTP 503 on C(/login)) before reading.
      - When V(false) and Jenkins is starting or restarting, the module returns RV(ready=false)
        instead of failing.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait when O(wait=true). Must be greater than 0.
    type: int
    default: 300
  gather:
    description:
      - Which optional facts to read, besides the version and the controller settings.
      - V(plugins) reads C(/pluginManager/api/json) (needs Overall/SystemRead).
      - V(nodes) reads C(/computer/api/json).
      - V(clouds) reads the cloud names from the configuration-as-code export
        (C(POST /configuration-as-code/export), read-only); if it cannot be read, the module warns
        and leaves RV(clouds) out.
    type: list
    elements: str
    choices: [plugins, nodes, clouds]
    default: [plugins, nodes, clouds]
notes:
  - The configuration-as-code export is served only to C(POST) requests. It changes nothing, so it
    is also sent in check mode.
seealso:
  - module: kubeops.jenkins.jenkins_plugin
  - module: kubeops.jenkins.jenkins_casc
  - module: kubeops.jenkins.jenkins_kubernetes_cloud
"""

EXAMPLES = r"""
- name: Wait for Jenkins after a rollout and read what it runs
  kubeops.jenkins.jenkins_info:
    url: http://jenkins.kube-ops.svc.cluster.local:8080
    username: admin
    token: "{{ jenkins_admin_token }}"
    wait: true
    wait_timeout: 600
  register: jenkins

- name: Show the Jenkins version and the kubernetes plugin version
  ansible.builtin.debug:
    msg: >-
      Jenkins {{ jenkins.version }}, kubernetes plugin
      {{ (jenkins.plugins | selectattr('name', 'equalto', 'kubernetes') | first).version }}

- name: Only read the version and settings, with the connection from module_defaults
  module_defaults:
    group/kubeops.jenkins.jenkins:
      url: https://ci.example.com/jenkins
      username: admin
      token: "{{ jenkins_admin_token }}"
      ca_path: /etc/pki/ci-ca.pem
  kubeops.jenkins.jenkins_info:
    gather: []
  register: jenkins_root

- name: Poll without failing while Jenkins restarts
  kubeops.jenkins.jenkins_info:
    url: http://127.0.0.1:8080
    gather: []
  register: jenkins_state
  until: jenkins_state.ready
  retries: 30
  delay: 10
"""

RETURN = r"""
ready:
  description: Whether Jenkins answered normally. V(false) only when O(wait=false) and Jenkins is starting, restarting or unreachable.
  returned: always
  type: bool
  sample: true
state:
  description: Why Jenkins is not ready.
  returned: when RV(ready) is V(false)
  type: str
  choices: [starting, restarting, unavailable, unreachable]
  sample: starting
message:
  description: What Jenkins (or the connection) answered when it was not ready.
  returned: when RV(ready) is V(false)
  type: str
  sample: Jenkins is starting (Jenkins is getting ready to work)
version:
  description: Jenkins core version, from the C(X-Jenkins) response header.
  returned: when RV(ready) is V(true)
  type: str
  sample: "2.479.3"
mode:
  description: Usage mode of the built-in node.
  returned: when RV(ready) is V(true)
  type: str
  sample: NORMAL
url:
  description: The root URL configured in Jenkins (C(unclassified.location.url)); V(null) when not configured.
  returned: when RV(ready) is V(true)
  type: str
  sample: http://jenkins.kube-ops.svc.cluster.local:8080/
use_security:
  description: Whether security (authentication) is enabled.
  returned: when RV(ready) is V(true)
  type: bool
  sample: true
use_crumbs:
  description: Whether CSRF protection (crumbs) is enabled.
  returned: when RV(ready) is V(true)
  type: bool
  sample: true
quieting_down:
  description: Whether Jenkins is quieting down (no new builds start), for example before a safe restart.
  returned: when RV(ready) is V(true)
  type: bool
  sample: false
slave_agent_port:
  description: TCP port for inbound agents; V(-1) disabled, V(0) random.
  returned: when RV(ready) is V(true)
  type: int
  sample: 50000
plugins:
  description: Installed plugins, sorted by name.
  returned: when RV(ready) is V(true) and O(gather) contains V(plugins)
  type: list
  elements: dict
  contains:
    name:
      description: Short name (plugin id).
      type: str
      sample: kubernetes
    version:
      description: Installed version.
      type: str
      sample: 4423.vb_59f230b_ce53
    active:
      description: Loaded and running.
      type: bool
      sample: true
    enabled:
      description: Enabled for the next start.
      type: bool
      sample: true
    has_update:
      description: The update center offers a newer version.
      type: bool
      sample: false
    long_name:
      description: Display name.
      type: str
      sample: Kubernetes plugin
nodes:
  description: The built-in node and the agents (including agent pods of the Kubernetes cloud).
  returned: when RV(ready) is V(true) and O(gather) contains V(nodes)
  type: list
  elements: dict
  contains:
    name:
      description: Display name (the pod name for Kubernetes agents).
      type: str
      sample: haimaxy-jnlp-x7k2p
    offline:
      description: Whether the node is offline.
      type: bool
      sample: false
    temporarily_offline:
      description: Whether the node was marked offline by a user.
      type: bool
      sample: false
    idle:
      description: Whether no executor is busy.
      type: bool
      sample: true
    num_executors:
      description: Number of executors.
      type: int
      sample: 1
    labels:
      description: Labels assigned to the node.
      type: list
      elements: str
      sample: [haimaxy-jnlp]
    class:
      description: Java class of the computer.
      type: str
      sample: org.csanchez.jenkins.plugins.kubernetes.KubernetesComputer
clouds:
  description: Names of the clouds in the live configuration-as-code export (C(jenkins.clouds)).
  returned: when RV(ready) is V(true), O(gather) contains V(clouds) and the export could be read
  type: list
  elements: str
  sample: [kubernetes]
"""

import copy

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.info import GATHER_CHOICES, gather_info
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.module import JenkinsModule


def argspec():
    return dict(
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        gather=dict(type="list", elements="str", choices=GATHER_CHOICES, default=copy.copy(GATHER_CHOICES)),
    )


def main():
    module = JenkinsModule(argument_spec=argspec(), supports_check_mode=True)
    if module.params["wait_timeout"] <= 0:
        module.fail_json(msg="wait_timeout must be greater than 0, got %s" % module.params["wait_timeout"])
    try:
        result = gather_info(module.client, gather=module.params["gather"], wait=module.params["wait"],
                             wait_timeout=module.params["wait_timeout"])
    except JenkinsError as exc:
        module.fail_from_exception(exc)
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
