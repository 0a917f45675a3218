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


# ---------------------------------------------------------------------------- OpenAPI v3 (partial)
_PATCH_PARAMS = [
    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": True}},
]


def _gv_path(group, version):
    return "api/%s" % version if not group else "apis/%s/%s" % (group, version)


def openapi_v3_root(registry):
    """/openapi/v3: the group-version index (staging/src/k8s.io/kube-openapi/pkg/handler3)."""
    paths = {}
    for group, versions in registry.groups().items():
        for v in versions:
            gv = _gv_path(group, v)
            paths[gv] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (
                gv, hashlib.sha512(gv.encode()).hexdigest()[:128].upper())}
    return {"paths": paths}


def openapi_v3_group_version(registry, group, version):
    """A partial OpenAPI v3 document for one group-version: the paths with their operations and
    query parameters (so that kubectl sees ``fieldValidation`` support on PATCH, as
    staging/src/k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go checks), but no
    component schemas (kubectl falls back to its compiled-in types)."""
    resources = registry.for_group_version(group, version)
    if not resources:
        return None
    prefix = "/" + _gv_path(group, version)
    paths = {}
    for res in resources:
        if not res.storage:
            continue
        gvk = {"group": res.group, "version": res.version, "kind": res.kind}
        ns = "/namespaces/{namespace}" if res.namespaced else ""
        item = "%s%s/%s/{name}" % (prefix, ns, res.plural)
        coll = "%s%s/%s" % (prefix, ns, res.plural)
        paths[coll] = {"post": {"x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk,
                                "parameters": _PATCH_PARAMS[:3], "responses": {}},
                       "get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": gvk,
                               "responses": {}}}
        paths[item] = {"patch": {"x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
                                 "parameters": list(_PATCH_PARAMS), "responses": {}},
                       "put": {"x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk,
                               "parameters": _PATCH_PARAMS[:3], "responses": {}},
                       "get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk,
                               "responses": {}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"},
            "paths": paths, "components": {"schemas": {}}}
