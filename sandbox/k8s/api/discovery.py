"""Discovery documents (/api, /apis, /apis/<g>, /<prefix>/<gv>) in the legacy (unaggregated)
format of staging/src/k8s.io/apiserver/pkg/endpoints/discovery/ (legacy.go, group.go,
version.go). Clients asking for aggregated discovery (apidiscovery.k8s.io/v2) get these too,
with Content-Type application/json, which makes kubectl and client-go fall back to the legacy
path, as they do against older servers."""
import hashlib


def _hash(res):
    return hashlib.sha256(("%s/%s/%s" % (res.group, res.version, res.plural)).encode()).hexdigest()[:12]


def api_versions(address):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}


def _group_entry(group, versions):
    vs = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def api_group_list(registry):
    groups = []
    for group, versions in registry.groups().items():
        if group == "":
            continue
        groups.append(_group_entry(group, versions))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry, group):
    versions = registry.groups().get(group)
    if not versions:
        return None
    doc = _group_entry(group, versions)
    doc.update({"kind": "APIGroup", "apiVersion": "v1"})
    return doc


def resource_list(registry, group, version):
    resources = registry.for_group_version(group, version)
    if not resources:
        return None
    out = []
    for res in resources:
        entry = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced,
                 "kind": res.kind, "verbs": list(res.verbs)}
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        if res.storage:
            entry["storageVersionHash"] = _hash(res)
        out.append(entry)
        for sub, (kind, sgroup, sversion, verbs) in res.subresources.items():
            se = {"name": "%s/%s" % (res.plural, sub), "singularName": "", "namespaced": res.namespaced,
                  "kind": kind or res.kind, "verbs": list(verbs)}
            if sgroup is not None:
                se["group"] = sgroup
                se["version"] = sversion
            out.append(se)
    gv = version if not group else "%s/%s" % (group, version)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}
