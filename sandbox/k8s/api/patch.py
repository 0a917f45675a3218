"""PATCH bodies: JSON patch (RFC 6902, via ``jsonpatch``), JSON merge patch (RFC 7386) and
strategic merge patch.

Strategic merge patch follows staging/src/k8s.io/apimachinery/pkg/util/strategicpatch/patch.go:
maps merge recursively, ``null`` deletes, lists with a ``patchMergeKey`` (from the Go struct tags
in staging/src/k8s.io/api/core/v1/types.go and apps/v1/types.go) merge item by item, primitive
lists with ``patchStrategy:"merge"`` (finalizers) are unions, all other lists are replaced.
Directives: ``$patch: replace|delete|merge``, ``$retainKeys``, ``$setElementOrder/<list>``,
``$deleteFromPrimitiveList/<list>`` — the ones kubectl apply/patch generate.
"""
import copy
import json

import jsonpatch

from . import errors

# list field name -> merge key (strategic merge). "ports" depends on the parent (see merge_key).
SMP_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "env": "name", "imagePullSecrets": "name", "hostAliases": "ip", "conditions": "type",
    "ownerReferences": "uid", "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name", "schedulingGates": "name", "addresses": "type",
    "taints": "key", "images": None,
}
SMP_PRIMITIVE_MERGE = {"finalizers"}


def merge_key(path, field):
    """Merge key of list ``field`` found under ``path`` (tuple of field names), or None."""
    if field == "ports":
        if path and path[-1] in ("containers", "initContainers", "ephemeralContainers", "[]"):
            return "containerPort"
        if "containers" in path or "initContainers" in path:
            return "containerPort"
        return "port"
    if field == "conditions" and "status" not in path:
        return None
    return SMP_KEYS.get(field)


def json_merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = json_merge_patch(result.get(k), v)
    return result


def json_patch(target, ops):
    if not isinstance(ops, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp")
    try:
        ops = jsonpatch.JsonPatch(ops)
    except (jsonpatch.InvalidJsonPatch, TypeError, AttributeError) as exc:
        raise errors.bad_request(str(exc))
    try:
        return ops.apply(target)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, IndexError) as exc:
        # handlers/patch.go jsonPatcher.applyJSPatch: any apply error is
        # NewGenericServerResponse(http.StatusUnprocessableEntity, ...)
        raise errors.ApiError(422, "Invalid", str(exc))


def strategic_merge_patch(target, patch, path=()):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = copy.deepcopy(target)
    retain = patch.get("$retainKeys")
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if x not in (v or [])]
            continue
        if v is None:
            result.pop(k, None)
            continue
        cur = result.get(k)
        if isinstance(v, dict):
            merged = strategic_merge_patch(cur, v, path + (k,))
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
        elif isinstance(v, list):
            result[k] = _merge_list(cur, v, path, k)
        else:
            result[k] = copy.deepcopy(v)
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _reorder(result[field], order, merge_key(path, field))
    if retain is not None:
        for k in list(result.keys()):
            if k not in retain:
                result.pop(k)
    return result


def _merge_list(cur, patch_list, path, field):
    key = merge_key(path, field)
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch_list):
        return [copy.deepcopy(x) for x in patch_list if not (isinstance(x, dict) and "$patch" in x)]
    if not isinstance(cur, list):
        cur = []
    if field in SMP_PRIMITIVE_MERGE and all(not isinstance(x, (dict, list)) for x in patch_list):
        out = list(cur)
        for x in patch_list:
            if x not in out:
                out.append(x)
        return out
    if key is None or not all(isinstance(x, dict) for x in patch_list):
        return [copy.deepcopy(x) for x in patch_list]
    out = copy.deepcopy(cur)
    for item in patch_list:
        kv = item.get(key)
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            merged = strategic_merge_patch({}, item, path + (field,))
            out.append(merged)
        else:
            out[idx] = strategic_merge_patch(out[idx], item, path + (field,))
    return out


def _reorder(items, order, key):
    """$setElementOrder: items named in the order list come first, in that order; items the
    patch does not mention keep their relative order after them (a simplification of
    strategicpatch's mergeSortedSlice)."""
    if key is None:
        return items
    rank = {}
    for n, o in enumerate(order or []):
        if isinstance(o, dict):
            rank[json.dumps(o.get(key))] = n
    def k(x):
        return json.dumps(x.get(key)) if isinstance(x, dict) else None
    listed = sorted((x for x in items if k(x) in rank), key=lambda x: rank[k(x)])
    return listed + [x for x in items if k(x) not in rank]


def apply_patch(content_type, target, body_bytes):
    """Apply a PATCH body of ``content_type`` to ``target``; returns the patched object."""
    ct = (content_type or "").split(";")[0].strip()
    try:
        patch = json.loads(body_bytes or b"null")
    except ValueError as exc:
        raise errors.bad_request("error decoding patch: %s" % exc)
    if ct == "application/json-patch+json":
        return json_patch(target, patch)
    if patch is None or not isinstance(patch, dict):
        raise errors.bad_request("json: cannot unmarshal %s into Go value of type map[string]interface {}"
                                 % type(patch).__name__)
    if ct == "application/merge-patch+json":
        return json_merge_patch(target, patch)
    if ct == "application/strategic-merge-patch+json":
        return strategic_merge_patch(target, patch)
    raise errors.unsupported_media_type(None)
