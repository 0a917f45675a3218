"""kubernetes.core modules against the sandbox API server; every play runs twice and the second
run must report no change."""
import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"

pytestmark = pytest.mark.skipif(
    not (REPO / ".collections" / "ansible_collections" / "kubernetes" / "core").is_dir(),
    reason="kubernetes.core not installed in .collections (make venv)")

HEADER = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: {python}
  module_defaults:
    group/kubernetes.core.k8s:
      kubeconfig: {kubeconfig}
  tasks:
"""


def run_play(sb, tmp_path, tasks, name="play"):
    text = HEADER.format(python=REPO / ".venv" / "bin" / "python", kubeconfig=sb.kubeconfig) + \
        textwrap.indent(textwrap.dedent(tasks), "    ")
    pb = tmp_path / ("%s.yml" % name)
    pb.write_text(text)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_HOME=str(tmp_path / ".ansible"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    r = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(pb)], capture_output=True,
                       text=True, env=env, timeout=240)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    # the default callback: "TASK [name] ***" then "ok: [localhost]" / "changed: [localhost]"
    results, current = [], None
    for line in r.stdout.splitlines():
        m = re.match(r"^TASK \[(.*)\] \*+$", line)
        if m:
            current = m.group(1)
            continue
        m = re.match(r"^(ok|changed): \[localhost\]", line)
        if m and current:
            results.append((current, {"changed": m.group(1) == "changed"}))
            current = None
    assert "ok=" in r.stdout
    return results


def test_k8s_modules_are_idempotent(api_sandbox, tmp_path):
    ns = "ansible-%s" % tmp_path.name[-6:].replace("_", "").lower()
    tasks = """
    - name: namespace (present)
      kubernetes.core.k8s:
        state: present
        definition: {{apiVersion: v1, kind: Namespace, metadata: {{name: {ns}}}}}
    - name: deployment (present)
      kubernetes.core.k8s:
        state: present
        definition:
          apiVersion: apps/v1
          kind: Deployment
          metadata: {{name: jenkins, namespace: {ns}, labels: {{app: jenkins}}}}
          spec:
            replicas: 1
            selector: {{matchLabels: {{app: jenkins}}}}
            template:
              metadata: {{labels: {{app: jenkins}}}}
              spec:
                serviceAccountName: default
                containers:
                  - name: jenkins
                    image: jenkins/jenkins:lts
                    ports: [{{containerPort: 8080}}, {{containerPort: 50000}}]
                    env: [{{name: JAVA_OPTS, value: "-Xmx1g"}}]
                    volumeMounts: [{{name: home, mountPath: /var/jenkins_home}}]
                volumes: [{{name: home, emptyDir: {{}}}}]
    - name: service (apply)
      kubernetes.core.k8s:
        state: present
        apply: true
        definition:
          apiVersion: v1
          kind: Service
          metadata: {{name: jenkins, namespace: {ns}, labels: {{app: jenkins}}}}
          spec:
            type: NodePort
            selector: {{app: jenkins}}
            ports: [{{name: web, port: 8080, targetPort: 8080}}, {{name: agent, port: 50000}}]
    - name: configmap (server-side apply)
      kubernetes.core.k8s:
        state: present
        apply: true
        server_side_apply: {{field_manager: kubeops, force_conflicts: false}}
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: jenkins-casc, namespace: {ns}, labels: {{app: jenkins}}}}
          data: {{jenkins.yaml: "jenkins:\\n  numExecutors: 0\\n"}}
    - name: rbac (present)
      kubernetes.core.k8s:
        state: present
        definition:
          - {{apiVersion: v1, kind: ServiceAccount, metadata: {{name: jenkins, namespace: {ns}}}}}
          - apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {{name: jenkins, namespace: {ns}}}
            rules: [{{apiGroups: [""], resources: [pods, pods/exec, pods/log], verbs: ["*"]}}]
          - apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {{name: jenkins, namespace: {ns}}}
            roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: jenkins}}
            subjects: [{{kind: ServiceAccount, name: jenkins, namespace: {ns}}}]
    - name: scratch configmap (absent)
      kubernetes.core.k8s:
        state: absent
        api_version: v1
        kind: ConfigMap
        namespace: {ns}
        name: scratch
    - name: info with selectors
      kubernetes.core.k8s_info:
        kind: Service
        namespace: {ns}
        label_selectors: ["app=jenkins", "app in (jenkins, other)"]
      register: svcs
    - name: info with field selectors
      kubernetes.core.k8s_info:
        kind: ConfigMap
        namespace: {ns}
        field_selectors: ["metadata.name=jenkins-casc"]
      register: cms
    - name: check info
      assert:
        that:
          - svcs.resources | length == 1
          - svcs.resources[0].spec.ports[0].nodePort >= 30000
          - cms.resources | length == 1
          - cms.resources[0].data['jenkins.yaml'] is search('numExecutors')
    """.format(ns=ns)
    api_sandbox.kubectl("create", "configmap", "scratch", "-n", "default")  # not in ns: absent is a no-op
    first = dict(run_play(api_sandbox, tmp_path, tasks, "first"))
    for name in ("namespace (present)", "deployment (present)", "service (apply)",
                 "configmap (server-side apply)", "rbac (present)"):
        assert first[name]["changed"] is True, name
    assert first["scratch configmap (absent)"]["changed"] is False
    api_sandbox.admin("POST", "reset")
    rv_before = api_sandbox.admin("GET", "status")["resourceVersion"]
    second = run_play(api_sandbox, tmp_path, tasks, "second")
    changed = [name for name, res in second if res.get("changed")]
    assert changed == [], "second run changed: %s" % changed
    # kubernetes.core still sends PATCHes for state=present (it patches, then compares); the
    # server must treat them as no-ops: no object was written (global resourceVersion unchanged)
    assert api_sandbox.admin("GET", "status")["resourceVersion"] == rv_before
    methods = {e["method"] for e in api_sandbox.admin("GET", "requests")["items"]}
    assert "POST" not in methods and "PUT" not in methods and "DELETE" not in methods
    ssa = json.loads(api_sandbox.kubectl("get", "cm", "jenkins-casc", "-n", ns, "-o", "json",
                                         "--show-managed-fields").stdout)
    assert [m["manager"] for m in ssa["metadata"]["managedFields"]] == ["kubeops"]
    # a changed definition is applied and reported, absent removes the deployment; the same play
    # again changes nothing
    absent = """
    - name: remove the deployment
      kubernetes.core.k8s:
        state: absent
        api_version: apps/v1
        kind: Deployment
        namespace: {ns}
        name: jenkins
        wait: true
        wait_timeout: 20
    """.format(ns=ns)
    changed_tasks = tasks.replace('numExecutors: 0', 'numExecutors: 2').replace(
        "    - name: deployment (present)", "    - name: deployment (skipped)\n      when: false")
    third = dict(run_play(api_sandbox, tmp_path, changed_tasks + absent, "third"))
    assert [n for n, r in third.items() if r.get("changed")] == [
        "configmap (server-side apply)", "remove the deployment"]
    fourth = dict(run_play(api_sandbox, tmp_path, changed_tasks + absent, "fourth"))
    assert [n for n, r in fourth.items() if r.get("changed")] == []
    assert "remove the deployment" in fourth
    r = api_sandbox.kubectl("get", "deploy", "jenkins", "-n", ns, check=False)
    assert "NotFound" in r.stderr
    cm = json.loads(api_sandbox.kubectl("get", "cm", "jenkins-casc", "-n", ns, "-o", "json").stdout)
    assert "numExecutors: 2" in cm["data"]["jenkins.yaml"]
