#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jenkins_kubernetes_cloud
short_description: Configure one Kubernetes cloud and its pod templates in Jenkins
version_added: 0.1.0
description:
  - Configures one cloud of the Jenkins Kubernetes plugin, with its pod templates, from structured
    options named after the plugin's own settings.
  - The options are rendered to the plugin's configuration-as-code (JCasC) attributes
    (C(jenkins.clouds[].kubernetes)) and applied durably the way M(kubeops.jenkins.jenkins_casc)
    does, as key C(cloud-<name>.yaml) of the managed ConfigMap; other clouds and their templates
    are left alone.
  - Each pod template gets a stable C(id), the SHA-256 of its rendered values (as the Helm chart
    does), so reloads do not orphan running agents.
  - Options are validated before any request (unknown keys, names that are not DNS-1123 labels,
    timeouts below the plugin's minimums, conflicting connection modes).
  - With O(test_connection=true) the plugin's Test Connection is called with the cloud's settings
    before anything is changed; the task fails with the plugin's message unless it answers
    C(Connected).
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
      - Only read requests are sent, plus the read-only JCasC C(check) and C(export) calls and,
        when the cloud already exists, Test Connection.
  diff_mode:
    support: full
    details: The diff shows the cloud as exported by Jenkins before, and the rendered cloud after.
  idempotent:
    support: full
options:
  name:
    description: Name of the cloud (the plugin's C(name)).
    type: str
    default: kubernetes
  state:
    description: V(absent) removes the cloud's document from the managed ConfigMap and reloads.
    type: str
    choices: [present, absent]
    default: present
  server_url:
    description: Kubernetes API URL (C(serverUrl)); empty means the controller's in-cluster configuration.
    type: str
  server_certificate:
    description: PEM CA certificate of the Kubernetes API (C(serverCertificate)).
    type: str
  skip_tls_verify:
    description: Do not verify the API server certificate (C(skipTlsVerify)).
    type: bool
  namespace:
    description: Namespace of the agent pods (C(namespace)).
    type: str
  jenkins_url:
    description:
      - URL agents use to reach Jenkins (C(jenkinsUrl)), for example
        V(http://jenkins.kube-ops.svc.cluster.local:8080).
    type: str
  jenkins_tunnel:
    description: C(host:port) of the agent listener (C(jenkinsTunnel)); not with O(websocket).
    type: str
  websocket:
    description: Agents connect over WebSocket through O(jenkins_url) (C(webSocket)).
    type: bool
  direct_connection:
    description: Agents connect directly to the advertised TCP port (C(directConnection)).
    type: bool
  credentials_id:
    description: Jenkins credentials used to reach the Kubernetes API (C(credentialsId)).
    type: str
  container_cap:
    description: Maximum number of agent pods of this cloud (C(containerCapStr)); V(0) means unlimited.
    type: int
  max_requests_per_host:
    description: Concurrent requests to the Kubernetes API (C(maxRequestsPerHostStr)).
    type: int
  connect_timeout:
    description: Kubernetes API connect timeout in seconds (C(connectTimeout)); at least 5.
    type: int
  read_timeout:
    description: Kubernetes API read timeout in seconds (C(readTimeout)); at least 15.
    type: int
  retention_timeout:
    description: Minutes an idle one-shot agent is kept (C(retentionTimeout)); at least 5.
    type: int
  pod_retention:
    description: When agent pods are kept after use (C(podRetention)).
    type: str
    choices: [never, always, onFailure, evicted]
  pod_labels:
    description: Labels of every agent pod of this cloud (C(podLabels)).
    type: dict
  templates:
    description:
      - The cloud's pod templates, in order (the first matching template serves a label).
      - The list is the whole set of templates of this cloud; templates not listed are removed.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Template name (C(name)), also the prefix of the agent pod names.
          - Must be a DNS-1123 label; the plugin would lower-case it otherwise.
        type: str
        required: true
      label:
        description:
          - Jenkins labels served by the template (C(label)), separated by spaces.
          - Agent pods carry the label C(jenkins/label=<label>).
        type: str
      namespace:
        description: Namespace of the pods of this template (C(namespace)).
        type: str
      service_account:
        description: Service account of the pods (C(serviceAccount)).
        type: str
      slave_connect_timeout:
        description: Seconds to wait for the agent to connect (C(slaveConnectTimeout)); plugin default 1000.
        type: int
      idle_minutes:
        description: Minutes to keep an idle agent for reuse (C(idleMinutes)); V(0) means one build per pod.
        type: int
      instance_cap:
        description: Maximum number of pods of this template (C(instanceCap)).
        type: int
      active_deadline_seconds:
        description: Hard limit on the pod's lifetime (C(activeDeadlineSeconds)).
        type: int
      node_selector:
        description: Node selector of the pods (C(nodeSelector), rendered as C(k=v,k=v)).
        type: dict
      containers:
        description: Containers of the pods; a container named C(jnlp) replaces the default agent container.
        type: list
        elements: dict
        suboptions:
          name:
            description: Container name (DNS-1123 label).
            type: str
            required: true
          image:
            description: Container image.
            type: str
            required: true
          command:
            description: Command (C(command)).
            type: str
          args:
            description:
              - Arguments (C(args)), for example V(${computer.jnlpmac} ${computer.name}).
              - C(${...}) is escaped for JCasC, so the plugin receives it literally.
            type: str
          tty_enabled:
            description: Allocate a TTY (C(ttyEnabled)).
            type: bool
          working_dir:
            description: Working directory (C(workingDir)); plugin default C(/home/jenkins/agent).
            type: str
          privileged:
            description: Run privileged (C(privileged)).
            type: bool
          env_vars:
            description: Environment variables of the container.
            type: dict
          resource_request_cpu:
            description: CPU request (C(resourceRequestCpu)).
            type: str
          resource_request_memory:
            description: Memory request (C(resourceRequestMemory)).
            type: str
          resource_limit_cpu:
            description: CPU limit (C(resourceLimitCpu)).
            type: str
          resource_limit_memory:
            description: Memory limit (C(resourceLimitMemory)).
            type: str
      volumes:
        description: Volumes mounted in every container of the pods.
        type: list
        elements: dict
        suboptions:
          type:
            description: Volume kind (C(hostPathVolume), C(emptyDirVolume), C(persistentVolumeClaim),
              C(secretVolume), C(configMapVolume), C(nfsVolume)).
            type: str
            choices: [host_path, empty_dir, pvc, secret, config_map, nfs]
            default: host_path
          host_path:
            description: Path on the node (O(templates[].volumes[].type=host_path)).
            type: str
          mount_path:
            description: Absolute path in the containers.
            type: str
            required: true
          read_only:
            description: Mount read-only (host_path, pvc, nfs).
            type: bool
          claim_name:
            description: PersistentVolumeClaim name (pvc).
            type: str
          secret_name:
            description: Secret name (secret).
            type: str
          config_map_name:
            description: ConfigMap name (config_map).
            type: str
          server_address:
            description: NFS server (nfs).
            type: str
          server_path:
            description: NFS export path (nfs).
            type: str
          memory:
            description: Back the emptyDir with memory (empty_dir).
            type: bool
      env_vars:
        description: Environment variables of every container of the pods.
        type: dict
      yaml:
        description: Raw pod YAML merged with the template (C(yaml)).
        type: str
      yaml_merge_strategy:
        description: How O(templates[].yaml) is combined with inherited YAML (C(yamlMergeStrategy)).
        type: str
        choices: [override, merge]
      pod_retention:
        description: Pod retention of this template; V(default) follows the cloud.
        type: str
        choices: [default, never, always, onFailure, evicted]
      annotations:
        description: Annotations of the pods.
        type: dict
      image_pull_secrets:
        description: Names of image pull secrets.
        type: list
        elements: str
  test_connection:
    description:
      - Call the plugin's Test Connection with the cloud's settings before changing anything, and
        fail with its message unless it answers C(Connected).
      - In check mode the test runs only if the cloud already exists.
    type: bool
    default: false
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
  sync_timeout:
    description: Seconds to keep reloading until the live export shows the cloud.
    type: int
    default: 180
  write_only:
    description:
      - Only write the cloud into the managed ConfigMap, without any request to Jenkins (no
        validation, reload, Test Connection or export).
      - For a controller whose pod is starting. Jenkins reads the mounted ConfigMap when it boots, so
        the cloud is live from the start, without a reload and without waiting for the kubelet to
        sync the mounted file (up to a minute or more on a real cluster).
      - Run the module again without it once Jenkins answers. That run checks the live
        configuration, and reloads only if Jenkins started before the file was there.
    type: bool
    default: false
notes:
  - Needs the Overall/Administer permission, and rights to get, create and patch the ConfigMap.
  - Test Connection only proves that Jenkins can list pods; whether agents reach Jenkins is proven
    by a build (M(kubeops.jenkins.jenkins_build) with O(kubeops.jenkins.jenkins_build#module:agent_pods)).
seealso:
  - module: kubeops.jenkins.jenkins_casc
  - module: kubeops.jenkins.jenkins_build
  - name: Kubernetes plugin
    description: Plugin documentation.
    link: https://plugins.jenkins.io/kubernetes/
"""

EXAMPLES = r"""
- name: Cloud and the haimaxy-jnlp template, connection tested
  kubeops.jenkins.jenkins_kubernetes_cloud:
    url: http://jenkins.kube-ops.svc.cluster.local:8080
    username: admin
    token: "{{ jenkins_token }}"
    name: kubernetes
    namespace: kube-ops
    jenkins_url: http://jenkins.kube-ops.svc.cluster.local:8080
    jenkins_tunnel: jenkins-agent.kube-ops.svc.cluster.local:50000
    test_connection: true
    templates:
      - name: haimaxy-jnlp
        label: haimaxy-jnlp
        service_account: jenkins
        slave_connect_timeout: 100
        containers:
          - name: jnlp
            image: jenkins/inbound-agent:3355.v388858a_47b_33-3-jdk21
            args: "${computer.jnlpmac} ${computer.name}"
        volumes:
          - host_path: /var/run/docker.sock
            mount_path: /var/run/docker.sock
          - host_path: /root/.kube
            mount_path: /home/jenkins/.kube
  register: cloud

- name: Remove a cloud
  kubeops.jenkins.jenkins_kubernetes_cloud:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: old-cluster
    state: absent
"""

RETURN = r"""
cloud:
  description: The cloud as rendered to JCasC (the C(kubernetes) mapping), with template ids.
  returned: when O(state=present)
  type: dict
  sample: {name: kubernetes, namespace: kube-ops, templates: [{id: 3f1c..., name: haimaxy-jnlp, label: haimaxy-jnlp}]}
connection:
  description: Result of Test Connection, V(null) when not requested.
  returned: always
  type: dict
  sample: {ok: true, message: Connected to Kubernetes v1.30.2}
  contains:
    ok:
      description: Whether the plugin answered Connected (V(null) when not run in check mode).
      type: bool
    message:
      description: The plugin's message.
      type: str
configmap:
  description: Where the cloud's document is stored.
  returned: always
  type: dict
  sample: {namespace: kube-ops, name: jenkins-casc-managed, key: cloud-kubernetes.yaml}
warnings:
  description: Values that could not be compared, and other findings (duplicate cloud names).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import cloud_service
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.args import KUBE_ARGSPEC
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.kube import KubeAccess
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.module import JenkinsModule

RETENTION = ["never", "always", "onFailure", "evicted"]

CONTAINER_SPEC = dict(
    name=dict(type="str", required=True),
    image=dict(type="str", required=True),
    command=dict(type="str"),
    args=dict(type="str"),
    tty_enabled=dict(type="bool"),
    working_dir=dict(type="str"),
    privileged=dict(type="bool"),
    env_vars=dict(type="dict"),
    resource_request_cpu=dict(type="str"),
    resource_request_memory=dict(type="str"),
    resource_limit_cpu=dict(type="str"),
    resource_limit_memory=dict(type="str"),
)

VOLUME_SPEC = dict(
    type=dict(type="str", default="host_path", choices=["host_path", "empty_dir", "pvc", "secret", "config_map", "nfs"]),
    host_path=dict(type="str"),
    mount_path=dict(type="str", required=True),
    read_only=dict(type="bool"),
    claim_name=dict(type="str"),
    secret_name=dict(type="str"),
    config_map_name=dict(type="str"),
    server_address=dict(type="str"),
    server_path=dict(type="str"),
    memory=dict(type="bool"),
)

TEMPLATE_SPEC = dict(
    name=dict(type="str", required=True),
    label=dict(type="str"),
    namespace=dict(type="str"),
    service_account=dict(type="str"),
    slave_connect_timeout=dict(type="int"),
    idle_minutes=dict(type="int"),
    instance_cap=dict(type="int"),
    active_deadline_seconds=dict(type="int"),
    node_selector=dict(type="dict"),
    containers=dict(type="list", elements="dict", options=CONTAINER_SPEC),
    volumes=dict(type="list", elements="dict", options=VOLUME_SPEC),
    env_vars=dict(type="dict"),
    yaml=dict(type="str"),
    yaml_merge_strategy=dict(type="str", choices=["override", "merge"]),
    pod_retention=dict(type="str", choices=["default"] + RETENTION),
    annotations=dict(type="dict"),
    image_pull_secrets=dict(type="list", elements="str", no_log=False),
)


def argspec():
    spec = dict(KUBE_ARGSPEC)
    spec.update(
        name=dict(type="str", default="kubernetes"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        server_url=dict(type="str"),
        server_certificate=dict(type="str"),
        skip_tls_verify=dict(type="bool"),
        namespace=dict(type="str"),
        jenkins_url=dict(type="str"),
        jenkins_tunnel=dict(type="str"),
        websocket=dict(type="bool"),
        direct_connection=dict(type="bool"),
        credentials_id=dict(type="str"),
        container_cap=dict(type="int"),
        max_requests_per_host=dict(type="int"),
        connect_timeout=dict(type="int"),
        read_timeout=dict(type="int"),
        retention_timeout=dict(type="int"),
        pod_retention=dict(type="str", choices=RETENTION),
        pod_labels=dict(type="dict"),
        templates=dict(type="list", elements="dict", options=TEMPLATE_SPEC),
        test_connection=dict(type="bool", default=False),
        configmap=dict(type="dict", default={}, options=dict(
            name=dict(type="str", default="jenkins-casc-managed"),
            namespace=dict(type="str", default="kube-ops"),
        )),
        sync_timeout=dict(type="int", default=180),
        write_only=dict(type="bool", default=False),
    )
    return spec


def main():
    module = JenkinsModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        cloud_service.validate(module.params)
        kube = KubeAccess(module.params["kubeconfig"], module.params["context"])
        result = cloud_service.ensure(module.client, kube, module.params, check_mode=module.check_mode,
                                      diff=module._diff)
    except JenkinsError as exc:
        module.fail_from_exception(exc)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
