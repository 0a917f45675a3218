"""``inheritFrom``: PodTemplateUtils#unwrap / #combine (jenkinsci/kubernetes-plugin a82d78a0).

``KubernetesCloud#provision`` plans nodes with ``getUnwrappedTemplate(template)``: the parents named
in ``inheritFrom`` (space separated, ``" +"``; later names override earlier ones) are combined into
the template.  Rules used here (the subset of #combine that matters for templates defined in
JCasC): containers merged by name (the child's non-empty fields win, env vars by key), volumes by
mount path, template env vars by key, annotations by key, image pull secrets by name; scalar
settings (namespace, serviceAccount, nodeSelector, label-independent timeouts, …) are the child's
when set, else the parent's; yaml fragments are parent's then child's; the workspace volume and pod
retention are the child's unless it kept the default.  The result keeps the child's id, name and
label.  Not emulated: ``defaultsProviderTemplate`` and the ``podTemplate`` step's inheritance.
"""

from __future__ import annotations

import copy

from . import model


def _merge_container(parent, child):
    out = copy.deepcopy(parent)
    for k, v in child._f.items():
        if k == "envVars":
            envs = {e.key(): e for e in parent.get("envVars") or []}
            envs.update({e.key(): e for e in v or []})
            out._f["envVars"] = list(envs.values())
        elif v not in (None, "", [], False) or k in ("name", "image"):
            out._f[k] = copy.deepcopy(v)
    return out


def combine(parent, child):
    """PodTemplateUtils#combine(PodTemplate parent, PodTemplate template)."""
    out = model.PodTemplate(id=child.id)
    out._f = copy.deepcopy(child._f)
    containers = {c.name: c for c in parent.get("containers") or []}
    for c in child.get("containers") or []:
        containers[c.name] = _merge_container(containers[c.name], c) if c.name in containers else c
    out._f["containers"] = list(containers.values())
    vols = {v.mount_path(): v for v in parent.get("volumes") or []}
    vols.update({v.mount_path(): v for v in child.get("volumes") or []})
    out._f["volumes"] = list(vols.values())
    envs = {e.key(): e for e in parent.get("envVars") or []}
    envs.update({e.key(): e for e in child.get("envVars") or []})
    out._f["envVars"] = list(envs.values())
    ann = {a.get("key"): a for a in parent.get("annotations") or []}
    ann.update({a.get("key"): a for a in child.get("annotations") or []})
    out._f["annotations"] = list(ann.values())
    ips = {s.get("name"): s for s in parent.get("imagePullSecrets") or []}
    ips.update({s.get("name"): s for s in child.get("imagePullSecrets") or []})
    out._f["imagePullSecrets"] = list(ips.values())
    for key in ("namespace", "serviceAccount", "schedulerName", "nodeSelector", "runAsUser", "runAsGroup",
                "supplementalGroups", "hostNetwork", "terminationGracePeriodSeconds", "agentContainer",
                "nodeUsageMode", "yamlMergeStrategy", "showRawYaml"):
        if child._f.get(key) is None:
            out._f[key] = copy.deepcopy(parent._f.get(key))
    for key, default in (("idleMinutes", 0), ("activeDeadlineSeconds", 0),
                         ("slaveConnectTimeout", model.DEFAULT_SLAVE_JENKINS_CONNECTION_TIMEOUT),
                         ("instanceCap", model.INT_MAX)):
        if child._f.get(key) == default:
            out._f[key] = parent._f.get(key)
    if child._f.get("workspaceVolume") is None:
        out._f["workspaceVolume"] = parent._f.get("workspaceVolume")
    if child._f.get("podRetention") is None:
        out._f["podRetention"] = parent._f.get("podRetention")
    out._f["yamls"] = (parent.get_yamls() or []) + (child.get_yamls() or []) or None
    out._f["yaml"] = None
    out._f["inheritFrom"] = None
    return out


def unwrap(template, all_templates):
    """PodTemplateUtils#unwrap(template, allTemplates): resolve ``inheritFrom`` recursively."""
    parents = (template.get("inheritFrom") or "").split()
    if not parents:
        return template
    by_name = {t.name: t for t in all_templates}
    parent = None
    for name in parents:
        p = by_name.get(name)
        if p is None or p is template:
            continue
        p = unwrap(p, [t for t in all_templates if t is not template])
        parent = p if parent is None else combine(parent, p)
    return template if parent is None else combine(parent, template)
