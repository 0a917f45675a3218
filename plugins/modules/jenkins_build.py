#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jenkins_build
short_description: Run a Jenkins build, wait for its result and prove the agent pod's lifecycle
version_added: 0.1.0
description:
  - Triggers a build of a job (with parameters if given) and follows the queue item named in
    Jenkins' C(Location) answer until the build starts (never guessing from C(nextBuildNumber)),
    then the build until it finishes, within one overall O(timeout), polling with backoff.
  - Returns the result, build number, URL, duration and the console text (its last
    O(console_max_bytes) bytes), and fails unless the result is one of O(expected_result).
  - With O(agent_pods), watches the agent pods through the Kubernetes API from before the trigger
    and returns each pod's node, phase timeline, creation and deletion times; with
    O(require_pod_deleted) the task fails unless the build's pod was deleted afterwards.
  - On timeout the build is aborted or its queue item cancelled (O(on_timeout)), and the message
    says why it did not progress (the queue's reason, the pods' phase and recent events).
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
      - Checks that the job exists and is buildable, does not trigger it, and returns
        C(changed=true) with the message C(would trigger a build of job ...).
  diff_mode:
    support: none
    details: A build changes nothing that a diff could show.
  idempotent:
    support: none
    details: Every run triggers a new build, by design.
options:
  name:
    description: Full name of the job (V(folder/name) for a job in a folder).
    type: str
    required: true
  parameters:
    description:
      - Build parameters (C(buildWithParameters)). A parameterised job is triggered with its
        defaults when none are given.
    type: dict
  parameter_sets:
    description:
      - Several builds at once, one per element (a dict of build parameters each). Every build is
        triggered first, then all are followed together within one O(timeout); the result lists
        them in RV(builds), in this order, and the task fails if any did not end as expected.
      - The elements must differ, since Jenkins merges a trigger whose parameters equal a queued
        one's into that queue item. The job must allow concurrent builds for them to run at the
        same time; otherwise they run one after the other.
      - Mutually exclusive with O(parameters).
    type: list
    elements: dict
    version_added: 0.2.0
  wait:
    description: Wait for the build to finish. With V(false) the task returns once the build is queued.
    type: bool
    default: true
  timeout:
    description: Overall seconds for queue, build and pod deletion.
    type: int
    default: 600
  poll_interval:
    description: First polling interval in seconds; it grows by half each poll up to 10 seconds.
    type: float
    default: 2
  console_max_bytes:
    description: Keep at most this many bytes of the end of the console text.
    type: int
    default: 65536
  on_timeout:
    description:
      - V(abort) stops the running build (C(POST /job/<name>/<n>/stop)), or cancels the queue item
        if the build has not started; V(cancel) only cancels the queue item; V(none) leaves it.
    type: str
    choices: [abort, cancel, none]
    default: abort
  expected_result:
    description: Results that count as success.
    type: list
    elements: str
    default: [SUCCESS]
  agent_pods:
    description: Watch the agent pods of the build through the Kubernetes API.
    type: dict
    suboptions:
      namespace:
        description: Namespace of the agent pods.
        type: str
        required: true
      label_selector:
        description:
          - Label selector of the agent pods.
          - Default C(jenkins/label=<label>) from the job's label expression when it is a single
            label (the plugin's sanitised pod label, which assumes the pod template's label equals
            the job's label); required otherwise.
        type: str
      container:
        description:
          - The agent container of the pods (the plugin's C(jnlp), or the cloud's C(agentContainer)).
          - When the build does not start in time, the last lines of its log are part of the failure
            message (an agent that cannot reach Jenkins says why there).
        type: str
        default: jnlp
  require_pod_deleted:
    description: Fail unless the pod the build ran on was deleted before O(timeout) (needs O(agent_pods)).
    type: bool
    default: false
notes:
  - Needs the Job/Build and Job/Read permissions (and Job/Cancel for O(on_timeout)); with
    O(agent_pods), rights to list and watch pods, list events and read pods/log in that namespace.
seealso:
  - module: kubeops.jenkins.jenkins_job
  - module: kubeops.jenkins.jenkins_kubernetes_cloud
"""

EXAMPLES = r"""
- name: Build in a dynamic agent and prove the pod was created, ran and was deleted
  kubeops.jenkins.jenkins_build:
    url: http://jenkins.kube-ops.svc.cluster.local:8080
    username: admin
    token: "{{ jenkins_token }}"
    name: smoke
    timeout: 600
    agent_pods:
      namespace: kube-ops
    require_pod_deleted: true
  register: build

- name: Show where it ran
  ansible.builtin.debug:
    msg: "{{ build.result }} on {{ build.pods | selectattr('build_pod') | map(attribute='name') | first }}"

- name: Three builds at once (a job with concurrent builds allowed), each on its own agent pod
  kubeops.jenkins.jenkins_build:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: deploy
    parameter_sets:
      - TARGET: staging
      - TARGET: production
      - TARGET: canary
    agent_pods:
      namespace: kube-ops
    require_pod_deleted: true
  register: load

- name: Parameterised build, accept unstable
  kubeops.jenkins.jenkins_build:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: deploy
    parameters:
      TARGET: staging
    expected_result: [SUCCESS, UNSTABLE]
    on_timeout: abort
"""

RETURN = r"""
job:
  description: Full name of the job.
  returned: always
  type: str
  sample: smoke
queue_id:
  description: Id of the queue item, from the C(Location) header of the trigger.
  returned: when triggered
  type: int
  sample: 17
number:
  description: Build number.
  returned: when the build started
  type: int
  sample: 3
url:
  description: Build URL as Jenkins reports it.
  returned: when the build started
  type: str
  sample: http://jenkins.kube-ops.svc.cluster.local:8080/job/smoke/3/
result:
  description: Build result (V(SUCCESS), V(UNSTABLE), V(FAILURE), V(NOT_BUILT), V(ABORTED)).
  returned: when the build finished
  type: str
  sample: SUCCESS
duration:
  description: Build duration in milliseconds.
  returned: when the build finished
  type: int
  sample: 5321
console:
  description: Console text (its last O(console_max_bytes) bytes).
  returned: when the build finished
  type: str
  sample: "Building remotely on haimaxy-jnlp-x7k2p ...\nFinished: SUCCESS\n"
console_truncated:
  description: Whether the console text was cut.
  returned: always
  type: bool
  sample: false
why:
  description: The queue's last reason when the build did not start, or why the task timed out.
  returned: always
  type: str
  sample: "All nodes of label 'haimaxy-jnlp' are offline (Jenkins quotes the label with typographic quotes)"
builds:
  description:
    - With O(parameter_sets), one entry per build in the order of O(parameter_sets), each with the
      keys of a single build's result (RV(queue_id), RV(number), RV(url), RV(result), RV(duration),
      RV(console), RV(console_truncated), RV(why)), its C(parameters), and in C(pods) its own agent
      pod. The top-level RV(pods) then lists every agent pod seen.
  returned: when O(parameter_sets) is set
  type: list
  elements: dict
  sample: [{parameters: {RUN: "0"}, queue_id: 17, number: 3, result: SUCCESS, duration: 5321,
            pods: [{name: haimaxy-jnlp-x7k2p, build_pod: true}]}]
label_selector:
  description: The label selector used for the agent pods.
  returned: when O(agent_pods) is set
  type: str
  sample: jenkins/label=haimaxy-jnlp
pods:
  description: Agent pods observed during the build (empty without O(agent_pods)).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Pod name (the agent's name).
      type: str
    node:
      description: Kubernetes node the pod ran on.
      type: str
    timeline:
      description: Phases in the order seen, each C({phase, time}); the last is C(Deleted) when deleted.
      type: list
      elements: dict
    created:
      description: Creation timestamp.
      type: str
    deleted:
      description: When the deletion was seen, or V(null).
      type: str
    build_pod:
      description: Whether the build ran on this pod.
      type: bool
    preexisting:
      description: Whether the pod existed before the trigger.
      type: bool
  sample: [{name: haimaxy-jnlp-x7k2p, node: node1, created: "2026-11-24T15:00:00Z", deleted: "2026-11-24T15:01:10Z",
            build_pod: true, preexisting: false,
            timeline: [{phase: Pending, time: "2026-11-24T15:00:00Z"}, {phase: Running, time: "2026-11-24T15:00:05Z"},
                       {phase: Deleted, time: "2026-11-24T15:01:10Z"}]}]
"""

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import build_service
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.args import KUBE_ARGSPEC
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import KubeAccess
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.module import JenkinsModule


def argspec():
    spec = dict(KUBE_ARGSPEC)
    spec.update(
        name=dict(type="str", required=True),
        parameters=dict(type="dict"),
        parameter_sets=dict(type="list", elements="dict"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=2),
        console_max_bytes=dict(type="int", default=65536),
        on_timeout=dict(type="str", default="abort", choices=["abort", "cancel", "none"]),
        expected_result=dict(type="list", elements="str", default=["SUCCESS"]),
        agent_pods=dict(type="dict", options=dict(
            namespace=dict(type="str", required=True),
            label_selector=dict(type="str"),
            container=dict(type="str", default="jnlp"),
        )),
        require_pod_deleted=dict(type="bool", default=False),
    )
    return spec


def main():
    module = JenkinsModule(argument_spec=argspec(), supports_check_mode=True,
                           mutually_exclusive=[("parameters", "parameter_sets")])
    try:
        build_service.validate(module.params)
        kube = KubeAccess(module.params["kubeconfig"], module.params["context"])
        result = build_service.ensure(module.client, kube, module.params, check_mode=module.check_mode)
    except JenkinsError as exc:
        module.fail_from_exception(exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
