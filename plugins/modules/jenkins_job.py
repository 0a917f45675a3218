#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jenkins_job
short_description: Manage a Jenkins job from a freestyle spec or a raw config.xml
version_added: 0.1.0
description:
  - Creates, updates or deletes one Jenkins job over the remote API.
  - The job is described either by a small freestyle spec (O(description), O(label), O(shell),
    O(concurrent), O(disabled), O(parameters), O(build_discarder)) or by a raw O(config_xml).
  - The current C(config.xml) is compared with the desired one after undoing what Jenkins rewrites
    when it stores a job (XML 1.0/1.1 prolog, whitespace, C(plugin="name@version") attributes,
    C(<x/>) versus C(<x></x>), elements at their default value, order of the project's fields), so a
    job Jenkins has re-serialised is not reported as changed.
  - Item names may contain folders (V(folder/job)); the folders must exist.
author:
  - kubeops.jenkins maintainers (@kubeops)
extends_documentation_fragment:
  - kubeops.jenkins.jenkins_connection
  - kubeops.jenkins.attributes
  - kubeops.jenkins.attributes.action_group
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the normalised C(config.xml) before and after.
  idempotent:
    support: full
options:
  name:
    description: Full name of the job (V(folder/name) for a job in a folder).
    type: str
    required: true
  state:
    description: Whether the job should exist.
    type: str
    choices: [present, absent]
    default: present
  config_xml:
    description:
      - Complete C(config.xml) of the job. Mutually exclusive with the freestyle spec options.
    type: str
  description:
    description: Freestyle spec. Job description.
    type: str
  label:
    description:
      - Freestyle spec. Label expression restricting where the job runs (C(assignedNode), with
        C(canRoam=false)). Without it the job may run on any node.
    type: str
  shell:
    description: Freestyle spec. Shell build steps, in order (C(hudson.tasks.Shell); run with C(sh -xe)).
    type: list
    elements: str
  concurrent:
    description: Freestyle spec. Allow concurrent builds (V(false) when not given).
    type: bool
  disabled:
    description: Freestyle spec. Disable the job so it cannot be built (V(false) when not given).
    type: bool
  parameters:
    description: Freestyle spec. Build parameters (C(ParametersDefinitionProperty)), in order.
    type: list
    elements: dict
    suboptions:
      name:
        description: Parameter name.
        type: str
        required: true
      type:
        description: Parameter type.
        type: str
        choices: [string, boolean, choice, text]
        default: string
      default:
        description: Default value (not for V(choice), whose first choice is the default).
        type: str
      description:
        description: Parameter description.
        type: str
      choices:
        description: Choices of a V(choice) parameter.
        type: list
        elements: str
  build_discarder:
    description: Freestyle spec. Keep only some builds (C(LogRotator)); unset values mean no limit.
    type: dict
    suboptions:
      days_to_keep:
        description: Days to keep builds.
        type: int
      num_to_keep:
        description: Number of builds to keep.
        type: int
      artifact_days_to_keep:
        description: Days to keep artifacts.
        type: int
      artifact_num_to_keep:
        description: Number of builds whose artifacts are kept.
        type: int
notes:
  - Jobs are not part of the JCasC export; this module talks to C(/job/<name>/config.xml) directly.
seealso:
  - module: kubeops.jenkins.jenkins_build
  - name: Jenkins remote access API
    description: How jobs are read and written over HTTP.
    link: https://www.jenkins.io/doc/book/using/remote-access-api/
"""

EXAMPLES = r"""
- name: Freestyle job on the Kubernetes agent label
  kubeops.jenkins.jenkins_job:
    url: http://jenkins.kube-ops.svc.cluster.local:8080
    username: admin
    token: "{{ jenkins_token }}"
    name: smoke
    description: Runs on a dynamic agent pod
    label: haimaxy-jnlp
    shell:
      - docker info
      - kubectl get pods
    build_discarder:
      num_to_keep: 10

- name: Parameterised job
  kubeops.jenkins.jenkins_job:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: deploy
    parameters:
      - name: TARGET
        type: choice
        choices: [staging, production]
      - name: DRY_RUN
        type: boolean
        default: "true"
    shell:
      - ./deploy.sh "$TARGET"

- name: Job from a raw config.xml
  kubeops.jenkins.jenkins_job:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: legacy
    config_xml: "{{ lookup('ansible.builtin.file', 'legacy.xml') }}"

- name: Remove a job
  kubeops.jenkins.jenkins_job:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: legacy
    state: absent
"""

RETURN = r"""
name:
  description: Full name of the job.
  returned: always
  type: str
  sample: smoke
config_xml:
  description:
    - The job's C(config.xml) after the task (the desired one when it was written or would be
      written in check mode), or V(null) when the job does not exist.
  returned: always
  type: str
  sample: "<?xml version='1.1' encoding='UTF-8'?>\n<project>...</project>"
last_build:
  description:
    - The job's last build (V(null) when it has none, when the task created the job, or with
      O(state=absent)). RV(last_build.result) is V(null) while the build runs.
  returned: always
  type: dict
  sample: {"number": 7, "result": "SUCCESS"}
  contains:
    number:
      description: Build number.
      type: int
    result:
      description: Result (V(SUCCESS), V(UNSTABLE), V(FAILURE), V(NOT_BUILT), V(ABORTED)), V(null) while it runs.
      type: str
last_successful_build:
  description:
    - Number of the job's last successful build, or V(null) (none yet, the task created the job, or
      O(state=absent)). Lets a play build only when no build has succeeded yet, without a second task.
  returned: always
  type: int
  sample: 7
"""

import copy

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import job_service
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.module import JenkinsModule

SPEC_OPTIONS = ("description", "label", "shell", "concurrent", "disabled", "parameters", "build_discarder")


def argspec():
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        config_xml=dict(type="str"),
        description=dict(type="str"),
        label=dict(type="str"),
        shell=dict(type="list", elements="str"),
        concurrent=dict(type="bool"),
        disabled=dict(type="bool"),
        parameters=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            type=dict(type="str", default="string", choices=["string", "boolean", "choice", "text"]),
            default=dict(type="str"),
            description=dict(type="str"),
            choices=dict(type="list", elements="str"),
        )),
        build_discarder=dict(type="dict", options=dict(
            days_to_keep=dict(type="int"),
            num_to_keep=dict(type="int"),
            artifact_days_to_keep=dict(type="int"),
            artifact_num_to_keep=dict(type="int"),
        )),
    )


def main():
    module = JenkinsModule(
        argument_spec=argspec(),
        mutually_exclusive=[("config_xml", option) for option in SPEC_OPTIONS],
        supports_check_mode=True,
    )
    params = copy.deepcopy(module.params)
    try:
        result = job_service.ensure(module.client, params, check_mode=module.check_mode, diff=module._diff)
    except JenkinsError as exc:
        module.fail_from_exception(exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
