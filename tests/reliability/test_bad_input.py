# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matrix rows "bad input": every case is rejected before any mutating request, with a message that
names the variable or option and why. Cases go through the modules and the roles in two plays (each
case a task or an include_role in block/rescue, so one ansible-playbook run covers many); the time
of each row is the task's wall time (bench timer callback); the sandbox's request log must show no
write at all between the start and the end of each play."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow

# (row, module, args, words the message must contain). Connection options are added per module.
MODULE_CASES = [
    ("jenkins_info url without scheme", "jenkins_info", {"url": "jenkins.example:8080"}, ["url", "http://"]),
    ("jenkins_info url ftp://", "jenkins_info", {"url": "ftp://jenkins.example"}, ["url", "http://"]),
    ("jenkins_info url with credentials", "jenkins_info", {"url": "http://admin:pw@jenkins.example"}, ["url", "credentials"]),
    ("jenkins_info negative wait_timeout", "jenkins_info", {"wait_timeout": -5}, ["wait_timeout", "greater than 0"]),
    ("jenkins_info password and token together", "jenkins_info", {"token": "abc"}, ["mutually exclusive", "password", "token"]),
    ("jenkins_info unknown option", "jenkins_info", {"bogus_option": 1}, ["bogus_option", "Unsupported parameters"]),
    ("jenkins_info wrong type of timeout", "jenkins_info", {"timeout": "soon"}, ["timeout", "int"]),
    ("jenkins_plugin name with a space", "jenkins_plugin", {"name": ["bad plugin"]}, ["bad plugin"]),
    ("jenkins_plugin version that is not one", "jenkins_plugin", {"name": ["kubernetes:not a version"]}, ["kubernetes"]),
    ("jenkins_plugin unknown restart mode", "jenkins_plugin", {"name": ["git"], "restart": "later"}, ["restart", "later"]),
    ("jenkins_job name with characters Jenkins refuses", "jenkins_job", {"name": "smoke:1?", "shell": ["true"]},
     ["job name", "smoke:1?"]),
    ("jenkins_job config_xml and shell together", "jenkins_job",
     {"name": "x", "config_xml": "<project/>", "shell": ["true"]}, ["config_xml", "shell"]),
    ("jenkins_job malformed config_xml", "jenkins_job", {"name": "x", "config_xml": "<project><builders>"}, ["config_xml"]),
    ("jenkins_job wrong type of concurrent", "jenkins_job", {"name": "x", "shell": ["true"], "concurrent": "maybe"},
     ["concurrent", "bool"]),
    ("jenkins_job unknown parameter type", "jenkins_job",
     {"name": "x", "shell": ["true"], "parameters": [{"name": "P", "type": "file"}]}, ["type", "file"]),
    ("jenkins_build zero timeout", "jenkins_build", {"name": "x", "timeout": 0}, ["timeout"]),
    ("jenkins_build missing job name", "jenkins_build", {}, ["name", "missing"]),
    ("jenkins_kubernetes_cloud namespace with capitals", "jenkins_kubernetes_cloud",
     {"name": "kubernetes", "namespace": "Kube_Ops"}, ["namespace", "Kube_Ops"]),
    ("jenkins_kubernetes_cloud pod template name with underscore", "jenkins_kubernetes_cloud",
     {"name": "kubernetes", "namespace": "kube-ops", "templates": [{"name": "Bad_Name", "label": "x"}]}, ["Bad_Name"]),
    ("jenkins_kubernetes_cloud read_timeout below the plugin's minimum", "jenkins_kubernetes_cloud",
     {"name": "kubernetes", "namespace": "kube-ops", "read_timeout": 3}, ["read_timeout"]),
    ("jenkins_kubernetes_cloud negative container_cap", "jenkins_kubernetes_cloud",
     {"name": "kubernetes", "namespace": "kube-ops", "container_cap": -1}, ["container_cap"]),
    ("jenkins_kubernetes_cloud server_url without scheme", "jenkins_kubernetes_cloud",
     {"name": "kubernetes", "namespace": "kube-ops", "server_url": "kubernetes.default"}, ["server_url"]),
    ("jenkins_casc hidden document name", "jenkins_casc", {"name": ".hidden", "config": {"jenkins": {}}}, ["name", ".hidden"]),
    ("jenkins_casc present without config", "jenkins_casc", {"name": "doc"}, ["config"]),
    ("jenkins_casc config that is not YAML", "jenkins_casc", {"name": "doc", "config": "jenkins: [unclosed"}, ["config"]),
    ("kube_objects object without a name", "kube_objects",
     {"definitions": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "kube-ops"}}]},
     ["definitions[0]", "metadata.name"]),
    ("kube_objects zero wait_timeout", "kube_objects", {"definitions": [], "wait_timeout": 0}, ["wait_timeout"]),
    ("kube_objects absent entry without kind", "kube_objects",
     {"absent": [{"api_version": "v1", "name": "x"}]}, ["kind"]),
]

# (row, role, vars, words the message must contain)
ROLE_CASES = [
    ("controller_namespace not a DNS-1123 label", "controller", {"controller_namespace": "Kube_Ops"}, ["controller_namespace"]),
    ("controller_storage_size not a quantity", "controller", {"controller_storage_size": "ten gigs"}, ["controller_storage_size"]),
    ("controller_wait_timeout below the minimum", "controller", {"controller_wait_timeout": 5}, ["controller_wait_timeout"]),
    ("controller_http_port out of range", "controller", {"controller_http_port": 70000}, ["controller_http_port"]),
    ("controller_plugins entry with a space", "controller", {"controller_plugins": ["kubernetes", "bad plugin"]},
     ["bad plugin"]),
    ("controller_service_type unknown", "controller", {"controller_service_type": "Foo"}, ["controller_service_type"]),
    ("controller_rbac_mode unknown", "controller", {"controller_rbac_mode": "all"}, ["controller_rbac_mode"]),
    ("controller_workload_kind unknown", "controller", {"controller_workload_kind": "Pod"}, ["controller_workload_kind"]),
    ("controller_storage_mode nfs without a server", "controller", {"controller_storage_mode": "nfs"},
     ["controller_storage_nfs_server"]),
    ("controller_ingress_enabled without a host", "controller", {"controller_ingress_enabled": True},
     ["controller_ingress_host"]),
    ("kubernetes_cloud_read_timeout below the minimum", "kubernetes_cloud", {"kubernetes_cloud_read_timeout": 3},
     ["kubernetes_cloud_read_timeout"]),
    ("kubernetes_cloud_templates name with underscore", "kubernetes_cloud",
     {"kubernetes_cloud_templates": [{"name": "Bad_Name", "label": "x"}]}, ["kubernetes_cloud_templates"]),
    ("kubernetes_cloud_namespace with capitals", "kubernetes_cloud", {"kubernetes_cloud_namespace": "Kube_Ops"},
     ["kubernetes_cloud_namespace"]),
    ("kubernetes_cloud_container_cap negative", "kubernetes_cloud", {"kubernetes_cloud_container_cap": -1},
     ["kubernetes_cloud_container_cap"]),
    ("smoke_build_label with a space", "smoke_build", {"smoke_build_label": "two labels"}, ["smoke_build_label"]),
    ("smoke_build_timeout negative", "smoke_build", {"smoke_build_timeout": -1}, ["smoke_build_timeout"]),
    ("smoke_build_always not a boolean", "smoke_build", {"smoke_build_always": "sometimes"}, ["smoke_build_always"]),
]


def run(env, play, tmp_path, name, raw_timer=False):
    path = tmp_path / ("%s.yml" % name)
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    timer = tmp_path / ("%s-timer.json" % name)
    environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", KUBEOPS_SANDBOX_DIR=str(env.state_dir),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_PLUGINS=str(REPO / "bench" / "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="bench_timer", BENCH_TIMER_FILE=str(timer))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "inventories/sandbox", str(path)], cwd=str(REPO),
                          env=environ, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    results = json.loads([ln for ln in proc.stdout.splitlines() if '"msg": "CASES ' in ln][0].strip()
                         .split('"msg": "CASES ', 1)[1].rstrip('"').encode().decode("unicode_escape"))
    tasks = json.loads(timer.read_text())["tasks"]
    return proc, results, (tasks if raw_timer else {t["name"]: t["seconds"] for t in tasks})


def check_rows(matrix, env, seq, cases, results, timings, label):
    writes = env.writes(env.requests_since(seq))
    for (row, _unit, _args, words), got in zip(cases, results):
        msg = got.get("msg") or ""
        named = [w for w in words if w.lower() in msg.lower()]
        met = got.get("failed") and len(named) == len(words) and not writes and "Traceback" not in msg
        outcome = "rejected: %s" % msg[:220] if got.get("failed") else "ACCEPTED (not rejected)"
        if writes:
            outcome += " — but %d write(s) were sent: %s" % (len(writes), [(w["method"], w["path"]) for w in writes][:3])
        elif len(named) != len(words):
            outcome += " — message does not name %s" % [w for w in words if w not in named]
        matrix.record("bad input", "%s: %s" % (label, row), "rejected before any write, naming the variable",
                      outcome, timings.get("CASE %s" % row, 0.0), met)


def test_module_input_is_rejected_before_any_write(converged, matrix, tmp_path):
    url, password = converged.jenkins_url(), converged.admin_password()
    kubeconfig = str(Path(converged.sb.kubeconfig))
    tasks = []
    for row, module, args, _words in MODULE_CASES:
        full = dict(args)
        if module.startswith("jenkins_"):
            full = dict({"url": url, "username": "admin", "password": password}, **args)
            if module in ("jenkins_kubernetes_cloud", "jenkins_casc", "jenkins_build"):
                full.setdefault("kubeconfig", kubeconfig)
        else:
            full.setdefault("kubeconfig", kubeconfig)
        tasks.append({"name": "CASE %s" % row, "kubeops.jenkins.%s" % module: full, "register": "r",
                      "ignore_errors": True, "no_log": False})
        tasks.append({"name": "keep %s" % row, "ansible.builtin.set_fact": {
            "cases": "{{ cases + [{'failed': r.failed | default(false), 'msg': r.msg | default('')}] }}"}})
    tasks.append({"name": "report", "ansible.builtin.debug": {"msg": "CASES {{ cases | to_json }}"}})
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "vars": {"cases": []}, "tasks": tasks}]
    seq = converged.log_position()
    _proc, results, timings = run(converged, play, tmp_path, "modules")
    assert len(results) == len(MODULE_CASES)
    check_rows(matrix, converged, seq, MODULE_CASES, results, timings, "module")
    assert not matrix.unmet(), matrix.unmet()


def test_role_input_is_rejected_before_any_write(converged, matrix, tmp_path):
    tasks = []
    failed_msg = ("(ansible_failed_result.msg | default('')) ~ ' ' ~ (ansible_failed_result.results | default([])"
                  " | selectattr('failed', 'defined') | selectattr('failed') | map(attribute='msg', default='') | join(' '))")
    for row, role, role_vars, _words in ROLE_CASES:
        tasks.append({"name": "CASE %s" % row, "block": [
            {"name": "role %s" % row, "ansible.builtin.include_role": {"name": "kubeops.jenkins.%s" % role},
             "vars": role_vars},
            {"name": "accepted %s" % row, "ansible.builtin.set_fact": {
                "cases": "{{ cases + [{'failed': false, 'msg': ''}] }}"}}],
            "rescue": [{"name": "rescued %s" % row, "ansible.builtin.set_fact": {
                "cases": "{{ cases + [{'failed': true, 'msg': %s}] }}" % failed_msg}}]})
    tasks.append({"name": "report", "ansible.builtin.debug": {"msg": "CASES {{ cases | to_json }}"}})
    # the API connection the controller role would have published, so that the later roles' checks
    # reach the variable under test
    api = {"url": converged.jenkins_url(), "username": "admin", "password": converged.admin_password(),
           "validate_certs": False}
    play = [{"hosts": "kube_master[0]", "gather_facts": False, "vars": {"cases": [], "controller_api": api},
             "tasks": tasks}]
    seq = converged.log_position()
    _proc, results, timer = run(converged, play, tmp_path, "roles", raw_timer=True)
    # a case's time: from its include_role to its rescue (the role's tasks up to the failure)
    timings, current = {}, None
    for task in timer:
        if task["name"].startswith("role "):
            current = "CASE " + task["name"][len("role "):]
            timings[current] = 0.0
        if current:
            timings[current] += task["seconds"]
        if task["name"].startswith(("rescued ", "accepted ")):
            current = None
    assert len(results) == len(ROLE_CASES), results
    check_rows(matrix, converged, seq, ROLE_CASES, results, timings, "role")
    assert not matrix.unmet(), matrix.unmet()
