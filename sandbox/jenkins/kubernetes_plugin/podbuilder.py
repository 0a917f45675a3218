"""PodTemplateBuilder#build for the emulation: the agent pod exactly as the plugin creates it.

Source: jenkinsci/kubernetes-plugin (a82d78a0) src/main/java/org/csanchez/jenkins/plugins/kubernetes/
PodTemplateBuilder.java (#build, #createContainer, #agentEnvVars, #defaultEnvVars,
#getContainerVolumeMounts, #getNodeSelectorMap, #getAnnotationsMap) and the decorators in
pod/decorator/ (DefaultRestartPolicy, DefaultNodeSelector, DefaultWorkspaceVolume).

Output is the pod as fabric8 serialises it (``@JsonInclude(NON_EMPTY)``-style: empty lists and
null fields are omitted, ``resources: {}`` stays).  Not emulated: ``${VAR}`` substitution of
controller env in template strings (``PodTemplateUtils#substituteEnv`` — only used for rarely
templated fields), ``agentInjection``'s init container image copy semantics beyond the spec,
``restrictedPssSecurityContext``, ``directConnection`` instance identity key material.
"""

from __future__ import annotations

import copy
import posixpath
import time

import yaml

from . import model
from .model import DEFAULT_WORKING_DIR, split_command_line
from .naming import sanitize_label

JNLP_NAME = "jnlp"                                   # KubernetesCloud#JNLP_NAME
WORKSPACE_VOLUME_NAME = "workspace-volume"           # PodTemplateBuilder#WORKSPACE_VOLUME_NAME
LABEL_KUBERNETES_CONTROLLER = "kubernetes.jenkins.io/controller"
ANNOTATION_LAST_REFRESH = "kubernetes.jenkins.io/last-refresh"   # GarbageCollection
# First line of src/main/resources/org/csanchez/jenkins/plugins/kubernetes/Dockerfile at a82d78a0
DEFAULT_AGENT_IMAGE = "jenkins/inbound-agent:3355.v388858a_47b_33-3-jdk21"
DEFAULT_JNLP_CONTAINER_CPU_REQUEST = "100m"
DEFAULT_JNLP_CONTAINER_MEMORY_REQUEST = "256Mi"
NO_RECONNECT_AFTER_TIMEOUT = "1d"


def normalize_path(p):
    """Paths.get(np).normalize()"""
    if not p:
        return p
    out = posixpath.normpath(p)
    return out


def agent_env_vars(cloud, agent_name, jnlp_mac, working_dir, jenkins_url, tunnel_info=None):
    """PodTemplateBuilder#agentEnvVars (last write wins, HashMap order irrelevant)."""
    working_dir = working_dir or DEFAULT_WORKING_DIR
    env = {}
    env["JENKINS_SECRET"] = jnlp_mac
    env["JENKINS_NAME"] = agent_name            # backwards compatibility
    env["JENKINS_AGENT_NAME"] = agent_name
    env["JENKINS_AGENT_WORKDIR"] = working_dir
    if (cloud.get("jenkinsTunnel") or "").strip():
        env["JENKINS_TUNNEL"] = cloud.get("jenkinsTunnel")
    if not cloud.get("directConnection"):
        if jenkins_url is None:
            raise RuntimeError("Jenkins URL for Kubernetes is null")   # getJenkinsUrlOrDie
        env["JENKINS_URL"] = jenkins_url
        if cloud.get("webSocket"):
            env["JENKINS_WEB_SOCKET"] = "true"
    else:
        host, port, identity = tunnel_info or ("", 0, "")
        env["JENKINS_DIRECT_CONNECTION"] = f"{host}:{port}"
        env["JENKINS_PROTOCOLS"] = "JNLP4-connect"
        env["JENKINS_INSTANCE_IDENTITY"] = identity
    env["REMOTING_OPTS"] = "-noReconnectAfter " + NO_RECONNECT_AFTER_TIMEOUT
    return {k: {"name": k, "value": v} for k, v in env.items()}


def default_env_vars(template_env_vars):
    """PodTemplateBuilder#defaultEnvVars (addMasterProxyEnvVars is not emulated: no proxy here)."""
    out = {}
    for ev in template_env_vars or []:
        out[ev.key()] = ev.build_env_var()
    return out


def _resources_map(memory, cpu, eph):
    out = {}
    if (memory or "").strip():
        out["memory"] = memory
    if (cpu or "").strip():
        out["cpu"] = cpu
    if (eph or "").strip():
        out["ephemeral-storage"] = eph
    return out


def _volume_mount_exists(path, mounts):
    return any(m.get("mountPath") == path for m in mounts)


def create_container(ct, template_env_vars, volume_mounts, ctx):
    """PodTemplateBuilder#createContainer."""
    env = {}
    working_dir = ct.get("workingDir")
    if ct.get("name") == JNLP_NAME:
        env.update(ctx["agent_env"](working_dir))
    env.update(default_env_vars(template_env_vars))
    for ev in ct.get("envVars") or []:
        env[ev.key()] = ev.build_env_var()
    cmd = ct.get("args")
    if cmd:
        cmd = cmd.replace("${computer.jnlpmac}", ctx["jnlp_mac"]).replace("${computer.name}", ctx["agent_name"])
    arguments = [] if not ct.get("args") else split_command_line(cmd)
    mounts = [dict(m) for m in volume_mounts]
    if working_dir and not _volume_mount_exists(working_dir, volume_mounts):
        mounts.append({"mountPath": working_dir, "name": WORKSPACE_VOLUME_NAME, "readOnly": False})
    c = {"name": ct.get("name"), "image": ct.get("image"),
         "imagePullPolicy": "Always" if ct.get("alwaysPullImage") else "IfNotPresent"}
    run_as_user, run_as_group = ct._f.get("runAsUser"), ct._f.get("runAsGroup")
    if ct.get("privileged") or run_as_user is not None or run_as_group is not None:
        sc = {"privileged": bool(ct.get("privileged"))}
        if run_as_user is not None:
            sc["runAsUser"] = run_as_user
        if run_as_group is not None:
            sc["runAsGroup"] = run_as_group
        c["securityContext"] = sc
    if working_dir:
        c["workingDir"] = working_dir
    if mounts:
        c["volumeMounts"] = mounts
    if env:
        c["env"] = list(env.values())
    ports = []
    for pm in ct.get("ports") or []:
        port = {"containerPort": pm.get("containerPort")}
        if pm.get("name"):
            port["name"] = pm.get("name")
        if pm.get("hostPort") is not None:
            port["hostPort"] = pm.get("hostPort")
        ports.append(port)
    if ports:
        c["ports"] = ports
    command = split_command_line(ct.get("command"))
    if command:
        c["command"] = command
    if arguments:
        c["args"] = arguments
    lp = ct.get("livenessProbe")
    if lp is not None and split_command_line(lp.get("execArgs")):
        c["livenessProbe"] = {"exec": {"command": split_command_line(lp.get("execArgs"))},
                              "initialDelaySeconds": lp.get("initialDelaySeconds"),
                              "timeoutSeconds": lp.get("timeoutSeconds"),
                              "failureThreshold": lp.get("failureThreshold"),
                              "periodSeconds": lp.get("periodSeconds"),
                              "successThreshold": lp.get("successThreshold")}
    c["tty"] = bool(ct.get("ttyEnabled"))
    res = {}
    req = _resources_map(ct.get("resourceRequestMemory"), ct.get("resourceRequestCpu"),
                         ct.get("resourceRequestEphemeralStorage"))
    lim = _resources_map(ct.get("resourceLimitMemory"), ct.get("resourceLimitCpu"),
                         ct.get("resourceLimitEphemeralStorage"))
    if lim:
        res["limits"] = lim
    if req:
        res["requests"] = req
    c["resources"] = res
    return c


def node_selector_map(selectors):
    """PodTemplateBuilder#getNodeSelectorMap: "k=v,k=v"; malformed entries ignored (WARNING)."""
    out = {}
    if not selectors:
        return out
    for sel in selectors.split(","):
        parts = sel.split("=")
        if len(parts) == 2 and parts[0] and parts[1]:
            out[parts[0]] = parts[1]
    return out


def _combine(parent, child):
    """PodTemplateUtils#combine(Pod parent, Pod template) — the subset used here: metadata maps
    merged (child wins), containers and volumes merged by name, other spec fields: child's value
    when set."""
    if not parent:
        return child
    out = copy.deepcopy(parent)
    pmd, cmd_ = out.setdefault("metadata", {}), child.get("metadata", {})
    for k in ("labels", "annotations"):
        if cmd_.get(k) or pmd.get(k):
            pmd[k] = {**(pmd.get(k) or {}), **(cmd_.get(k) or {})}
    for k, v in cmd_.items():
        if k not in ("labels", "annotations") and v is not None:
            pmd[k] = v
    ps, cs = out.setdefault("spec", {}), child.get("spec", {})
    for key in ("containers", "volumes", "initContainers"):
        merged = {x["name"]: x for x in ps.get(key) or []}
        for x in cs.get(key) or []:
            if x["name"] in merged:
                base = copy.deepcopy(merged[x["name"]])
                for k, v in x.items():
                    if v in (None, [], {}):
                        continue
                    if k == "env":
                        envs = {e["name"]: e for e in base.get("env") or []}
                        envs.update({e["name"]: e for e in v})
                        base["env"] = list(envs.values())
                    elif k == "volumeMounts":
                        mounts = {m["mountPath"]: m for m in base.get("volumeMounts") or []}
                        mounts.update({m["mountPath"]: m for m in v})
                        base["volumeMounts"] = list(mounts.values())
                    else:
                        base[k] = v
                merged[x["name"]] = base
            else:
                merged[x["name"]] = x
        if merged:
            ps[key] = list(merged.values())
    for k, v in cs.items():
        if k not in ("containers", "volumes", "initContainers") and v not in (None, {}, []):
            ps[k] = v
    return out


def _yamls_pod(template):
    pod = {}
    for y in template.get_yamls():
        try:
            frag = yaml.safe_load(y) or {}
        except yaml.YAMLError:
            frag = {}
        if isinstance(frag, dict):
            pod = _combine(pod, frag) if pod else frag
    return pod


def build_pod(template, cloud, agent_name, jnlp_mac, jenkins_url, now_ms=None, tunnel_info=None):
    """The agent pod (dict) for ``template`` in ``cloud``, for agent/pod ``agent_name``."""
    ctx = {"jnlp_mac": jnlp_mac, "agent_name": agent_name,
           "agent_env": lambda wd: agent_env_vars(cloud, agent_name, jnlp_mac, wd, jenkins_url, tunnel_info)}
    volumes, mounts = {}, {}
    i = 0
    for vol in template.get("volumes") or []:
        mount_path = normalize_path(vol.mount_path())
        if mount_path not in mounts:
            name = f"volume-{i}"
            m = {"mountPath": mount_path, "name": name, "readOnly": False}
            if isinstance(vol, model.ConfigMapVolume) and vol.get("subPath"):
                m["subPath"] = normalize_path(vol.get("subPath"))
            if isinstance(vol, model.HostPathVolume):
                m["readOnly"] = vol.get_readOnly()
            mounts[mount_path] = m
            volumes[name] = vol.build_volume(name, agent_name)
            i += 1
    volumes[WORKSPACE_VOLUME_NAME] = template.get_workspaceVolume().build_volume(WORKSPACE_VOLUME_NAME, agent_name)
    containers = {}
    for ct in template.get("containers") or []:
        containers[ct.get("name")] = create_container(ct, template.get("envVars"), list(mounts.values()), ctx)

    labels = dict(cloud.pod_labels_map())
    labels.update(template.labels_map)
    metadata = {"name": agent_name, "labels": labels}
    controller = sanitize_label(jenkins_url) if jenkins_url else None
    if controller is not None:
        labels[LABEL_KUBERNETES_CONTROLLER] = controller
    annotations = {a.get("key"): a.get("value") for a in template.get("annotations") or []}
    annotations[ANNOTATION_LAST_REFRESH] = str(now_ms if now_ms is not None else int(time.time() * 1000))
    metadata["annotations"] = annotations
    spec = {}
    if template.get("activeDeadlineSeconds") > 0:
        spec["activeDeadlineSeconds"] = template.get("activeDeadlineSeconds")
    spec["volumes"] = list(volumes.values())
    if template.get("serviceAccount") is not None:
        spec["serviceAccountName"] = template.get("serviceAccount")
    if template.get("schedulerName") is not None:
        spec["schedulerName"] = template.get("schedulerName")
    secrets = [{"name": s.get("name")} for s in template.get("imagePullSecrets") or []]
    if secrets:
        spec["imagePullSecrets"] = secrets
    ns_map = node_selector_map(template.get("nodeSelector"))
    if ns_map:
        spec["nodeSelector"] = ns_map
    if template.get("terminationGracePeriodSeconds") is not None:
        spec["terminationGracePeriodSeconds"] = template.get("terminationGracePeriodSeconds")
    spec["containers"] = list(containers.values())
    ru, rg, sg = template._f.get("runAsUser"), template._f.get("runAsGroup"), template.get("supplementalGroups")
    if ru is not None or rg is not None or sg is not None:
        sc = {}
        if ru is not None:
            sc["runAsUser"] = ru
        if rg is not None:
            sc["runAsGroup"] = rg
        if sg is not None:
            gids = []
            for g in sg.split(","):
                try:
                    gids.append(int(g))
                except ValueError:
                    pass
            sc["supplementalGroups"] = gids
        spec["securityContext"] = sc
    if template._f.get("hostNetwork") is not None:
        spec["hostNetwork"] = template.get_hostNetwork()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    pod = _combine(_yamls_pod(template), pod)

    # Apply defaults: namespace (YAML > template > cloud; the client namespace is applied by the launcher)
    md = pod["metadata"]
    if md.get("namespace") is None:
        if template.get("namespace") is not None:
            md["namespace"] = template.get("namespace")
        elif cloud.get("namespace") is not None:
            md["namespace"] = cloud.get("namespace")

    # default agent container
    agent_container_name = template.get("agentContainer") or JNLP_NAME
    spec = pod.setdefault("spec", {})
    spec.setdefault("containers", [])
    agent = next((c for c in spec["containers"] if c.get("name") == agent_container_name), None)
    if agent is None:
        agent = {"name": agent_container_name}
        if mounts:
            agent["volumeMounts"] = [dict(m) for m in mounts.values()]
        spec["containers"].append(agent)
    working_dir = agent.get("workingDir")
    for c in spec["containers"]:
        if c.get("workingDir") is None and working_dir is not None:
            c["workingDir"] = working_dir
    agent_image = DEFAULT_AGENT_IMAGE
    if cloud.get("jnlpregistry"):
        reg = cloud.get("jnlpregistry")
        agent_image = (reg if reg.endswith("/") else reg + "/") + agent_image
    if not (agent.get("image") or "").strip():
        agent["image"] = agent_image
    env = {}
    env.update(agent_env_vars(cloud, agent_name, jnlp_mac, working_dir, jenkins_url, tunnel_info))
    env.update(default_env_vars(template.get("envVars")))
    for e in agent.get("env") or []:
        env[e["name"]] = e
    if template.get("agentInjection"):
        spec.setdefault("initContainers", []).append({
            "name": "set-up-jenkins-agent", "image": agent_image,
            "command": ["/bin/sh", "-c",
                        "cp $(command -v jenkins-agent) /jenkins-agent/jenkins-agent;"
                        "cp -R /usr/share/jenkins/. /jenkins-agent"],
            "volumeMounts": [{"mountPath": "/jenkins-agent", "name": "jenkins-agent"}]})
        spec.setdefault("volumes", []).append({"name": "jenkins-agent", "emptyDir": {}})
        agent.setdefault("volumeMounts", []).append(
            {"mountPath": "/jenkins-agent", "name": "jenkins-agent", "readOnly": True})
        agent["workingDir"] = DEFAULT_WORKING_DIR
        agent["command"] = ["/jenkins-agent/jenkins-agent"]
        agent.pop("args", None)
        env["JENKINS_AGENT_FILE"] = {"name": "JENKINS_AGENT_FILE", "value": "/jenkins-agent/agent.jar"}
    agent["env"] = list(env.values())
    if agent.get("resources") is None:
        agent["resources"] = {"requests": {"cpu": DEFAULT_JNLP_CONTAINER_CPU_REQUEST,
                                           "memory": DEFAULT_JNLP_CONTAINER_MEMORY_REQUEST}}
    _decorate(pod)
    return pod


def _decorate(pod):
    """PodDecorator.decorateAll: DefaultRestartPolicy, DefaultNodeSelector, DefaultWorkspaceVolume."""
    spec = pod["spec"]
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Never"
    if spec.get("runtimeClassName") is None and not spec.get("nodeSelector") and \
            not (spec.get("affinity") or {}).get("nodeAffinity"):
        spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
    if not any(v.get("name") == WORKSPACE_VOLUME_NAME for v in spec.get("volumes") or []):
        spec.setdefault("volumes", []).append({"name": WORKSPACE_VOLUME_NAME, "emptyDir": {}})
    for c in spec["containers"]:
        wd = c.get("workingDir") or DEFAULT_WORKING_DIR
        if not any(m.get("mountPath") == wd for m in c.get("volumeMounts") or []):
            c.setdefault("volumeMounts", []).append(
                {"mountPath": wd, "name": WORKSPACE_VOLUME_NAME, "readOnly": False})


def mask_secret(pod_yaml, secret):
    """KubernetesSlave / PodTemplateUtils: the JENKINS_SECRET value is masked in the logged YAML."""
    return pod_yaml.replace(secret, "********") if secret else pod_yaml


def pod_as_yaml(pod):
    """fabric8 Serialization.asYaml: a YAML document with the leading "---" marker."""
    order = ["apiVersion", "kind", "metadata", "spec", "status"]
    doc = {k: pod[k] for k in order if k in pod}
    doc.update({k: v for k, v in pod.items() if k not in doc})
    return "---\n" + yaml.safe_dump(doc, default_flow_style=False, sort_keys=False)

