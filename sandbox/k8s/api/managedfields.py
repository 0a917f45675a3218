"""managedFields and server-side apply.

Modelled on staging/src/k8s.io/apimachinery/pkg/util/managedfields/internal/ (fieldmanager.go,
structuredmerge.go, conflict.go, stripmeta.go, managedfieldsupdater.go) and
sigs.k8s.io/structured-merge-diff (merge/update.go: Apply/Update, conflicts, removal of fields a
manager no longer applies). Field sets are computed from the object with the list types our
kinds use (associative lists keyed like x-kubernetes-list-map-keys, ``finalizers`` as a set,
all other lists atomic); see sandbox/README.md for what is simplified.
"""
import copy
import datetime
import json

from . import errors

# x-kubernetes-list-map-keys of the associative lists we model
SSA_KEYS = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "volumes": ("name",), "volumeMounts": ("mountPath",), "volumeDevices": ("devicePath",),
    "env": ("name",), "imagePullSecrets": ("name",), "hostAliases": ("ip",),
    "ownerReferences": ("uid",), "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "resourceClaims": ("name",), "schedulingGates": ("name",),
}
SSA_SETS = {"finalizers"}
# granular maps (openapi "map" type): the map node itself is recorded with "."
FREE_MAPS = {"labels", "annotations", "data", "binaryData", "stringData", "matchLabels",
             "nodeSelector", "selector", "parameters", "capacity", "requests", "limits"}
# stripmeta.go: fields never tracked
STRIP_META = {"name", "namespace", "creationTimestamp", "selfLink", "uid", "resourceVersion",
              "generation", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"}
MISSING = object()


def _list_keys(path, field, items):
    if field == "ports":
        if any(p in ("containers", "initContainers", "ephemeralContainers") for p in path):
            return ("containerPort", "protocol")
        return ("port", "protocol")
    if field == "conditions" and path and path[-1] == "status":
        return ("type",)
    keys = SSA_KEYS.get(field)
    return keys


def _item_key(item, keys):
    kv = {}
    for k in keys:
        if k in item:
            kv[k] = item[k]
        elif k == "protocol":
            kv[k] = "TCP"
    return "k:" + json.dumps(kv, sort_keys=True, separators=(",", ":"))


def _names(path):
    return tuple(p[2:] for p in path if p.startswith("f:"))


def fieldset(obj, res=None, subresource=None):
    """The set of field paths (tuples of "f:"/"k:"/"v:" elements) set in ``obj``."""
    out = set()
    obj = copy.deepcopy(obj or {})
    obj.pop("apiVersion", None)
    obj.pop("kind", None)
    meta = obj.get("metadata") or {}
    for k in STRIP_META:
        meta.pop(k, None)
    if not meta:
        obj.pop("metadata", None)
    if res is not None and res.has_status:
        if subresource == "status":
            obj = {"status": obj["status"]} if "status" in obj else {}
        else:
            obj.pop("status", None)
    _walk(obj, (), out)
    return out


def _walk(node, path, out):
    for k, v in node.items():
        p = path + ("f:" + k,)
        if isinstance(v, dict) and v:
            if k in FREE_MAPS:
                out.add(p)
            _walk(v, p, out)
        elif isinstance(v, list) and v:
            keys = _list_keys(_names(path), k, v)
            if k in SSA_SETS and all(not isinstance(x, (dict, list)) for x in v):
                for x in v:
                    out.add(p + ("v:" + json.dumps(x),))
            elif keys and all(isinstance(x, dict) for x in v):
                for item in v:
                    ip = p + (_item_key(item, keys),)
                    out.add(ip)
                    _walk(item, ip, out)
            else:
                out.add(p)
        else:
            out.add(p)


def to_fields_v1(paths):
    tree = {}
    for p in sorted(paths):
        node = tree
        for el in p:
            node = node.setdefault(el, {})
        if node is not tree:
            node["."] = node.get(".", {})
    # leaves: "." only where the node has children too
    def clean(n):
        for k, v in list(n.items()):
            if k == ".":
                continue
            clean(v)
            if set(v.keys()) == {"."}:
                v.pop(".")
    clean(tree)
    return tree


def from_fields_v1(tree, prefix=()):
    out = set()
    for k, v in (tree or {}).items():
        if k == ".":
            continue
        p = prefix + (k,)
        if not v or "." in v:
            out.add(p)
        out |= from_fields_v1(v, p)
    return out


def get_path(obj, path):
    cur = obj
    for el in path:
        kind, _, rest = el.partition(":")
        if kind == "f":
            if not isinstance(cur, dict) or rest not in cur:
                return MISSING
            cur = cur[rest]
        elif kind == "k":
            if not isinstance(cur, list):
                return MISSING
            kv = json.loads(rest)
            found = MISSING
            for item in cur:
                if isinstance(item, dict) and all(item.get(k, "TCP" if k == "protocol" else None) == v
                                                  for k, v in kv.items()):
                    found = item
                    break
            if found is MISSING:
                return MISSING
            cur = found
        elif kind == "v":
            val = json.loads(rest)
            if not isinstance(cur, list) or val not in cur:
                return MISSING
            cur = val
    return cur


def remove_path(obj, path):
    """Delete the field/list item at ``path`` from ``obj`` (in place); missing is fine."""
    parent = get_path(obj, path[:-1]) if len(path) > 1 else obj
    if parent is MISSING:
        return
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        kv = json.loads(rest)
        parent[:] = [x for x in parent if not (isinstance(x, dict) and all(
            x.get(k, "TCP" if k == "protocol" else None) == v for k, v in kv.items()))]
    elif kind == "v" and isinstance(parent, list):
        val = json.loads(rest)
        parent[:] = [x for x in parent if x != val]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entries(obj):
    return copy.deepcopy(((obj or {}).get("metadata") or {}).get("managedFields") or [])


def _set_entry(entries, manager, operation, api_version, paths, subresource):
    for e in entries:
        if e.get("manager") == manager and e.get("operation") == operation and \
                e.get("subresource", "") == (subresource or ""):
            if from_fields_v1(e.get("fieldsV1")) != paths or e.get("apiVersion") != api_version:
                e["fieldsV1"] = to_fields_v1(paths)
                e["apiVersion"] = api_version
                e["time"] = _now()
            break
    else:
        e = {"manager": manager, "operation": operation, "apiVersion": api_version,
             "time": _now(), "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)}
        if subresource:
            e["subresource"] = subresource
        entries.append(e)
    return [e for e in entries if e.get("fieldsV1")]


def _strip_paths(entries, paths, skip=None):
    for e in entries:
        if e is skip:
            continue
        cur = from_fields_v1(e.get("fieldsV1"))
        if cur & paths:
            e["fieldsV1"] = to_fields_v1(cur - paths)
    return [e for e in entries if e.get("fieldsV1")]


def update_managed_fields(res, old, new, manager, subresource=None):
    """managedFields after an Update operation by ``manager`` (changed fields move to it)."""
    entries = _entries(new) if (new.get("metadata") or {}).get("managedFields") is not None \
        else _entries(old)
    new_fs = fieldset(new, res, subresource)
    if old is None:
        changed = new_fs
        removed = set()
    else:
        old_fs = fieldset(old, res, subresource)
        changed = {p for p in new_fs if p not in old_fs or
                   _leaf_differs(get_path(old, p), get_path(new, p))}
        removed = old_fs - new_fs
    if not changed and not removed:
        return entries or None
    entries = _strip_paths(entries, changed | removed)
    mine = set()
    for e in entries:
        if e.get("manager") == manager and e.get("operation") == "Update" and \
                e.get("subresource", "") == (subresource or ""):
            mine = from_fields_v1(e.get("fieldsV1"))
    mine = (mine | changed) - removed
    # every path owned must still exist
    mine = {p for p in mine if get_path(new, p) is not MISSING}
    if mine:
        entries = _set_entry(entries, manager, "Update", res.api_version, mine, subresource)
    return entries or None


def _leaf_differs(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return False  # containers of other paths: compared through their leaves
    if isinstance(a, list) and isinstance(b, list) and a and b and all(isinstance(x, dict) for x in a):
        # atomic list of maps: compare whole
        return a != b
    return a != b


def _merge(live, applied, path=()):
    """Structural merge of an applied configuration into the live object."""
    if not isinstance(applied, dict) or not isinstance(live, dict):
        return copy.deepcopy(applied)
    out = copy.deepcopy(live)
    for k, v in applied.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v, path + (k,))
        elif isinstance(v, list) and isinstance(out.get(k), list):
            keys = _list_keys(path, k, v)
            if k in SSA_SETS and all(not isinstance(x, (dict, list)) for x in v):
                out[k] = out[k] + [x for x in v if x not in out[k]]
            elif keys and all(isinstance(x, dict) for x in v) and all(isinstance(x, dict) for x in out[k]):
                merged = []
                seen = set()
                live_items = {_item_key(x, keys): x for x in out[k]}
                # applied order first (structured-merge-diff keeps the applier's order)
                for item in v:
                    ik = _item_key(item, keys)
                    seen.add(ik)
                    merged.append(_merge(live_items[ik], item, path + (k,)) if ik in live_items
                                  else copy.deepcopy(item))
                for item in out[k]:
                    if _item_key(item, keys) not in seen:
                        merged.append(item)
                out[k] = merged
            else:
                out[k] = copy.deepcopy(v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _path_string(path):
    # fieldpath.Path.String(): .spec.replicas, .spec.containers[name="x"].image, [=value]
    s = ""
    for el in path:
        kind, _, rest = el.partition(":")
        if kind == "f":
            s += "." + rest
        elif kind == "k":
            kv = json.loads(rest)
            s += "[" + ",".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(kv.items())) + "]"
        elif kind == "v":
            s += "[=" + rest + "]"
    return s


def _print_manager(e):
    # internal/conflict.go printManager
    s = '"%s"' % e.get("manager")
    if e.get("subresource"):
        s += ' with subresource "%s"' % e["subresource"]
    if e.get("operation") == "Update":
        if e.get("time"):
            return "%s using %s at %s" % (s, e.get("apiVersion"), e["time"])
        return "%s using %s" % (s, e.get("apiVersion"))
    return s


def conflict_error(res, name, conflicts):
    """internal/conflict.go NewConflictError: 409 Conflict with FieldManagerConflict causes."""
    causes = [{"reason": "FieldManagerConflict", "message": "conflict with %s" % _print_manager(e),
               "field": _path_string(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        msg = "Apply failed with 1 conflict: conflict with %s: %s" % (_print_manager(e), _path_string(p))
    else:
        by = {}
        for e, p in conflicts:
            by.setdefault(_print_manager(e), []).append(p)
        lines = []
        for m in sorted(by):
            lines.append("conflicts with %s:" % m)
            lines += ["- %s" % _path_string(p) for p in by[m]]
        msg = "Apply failed with %d conflicts: %s" % (len(conflicts), "\n".join(lines))
    details = {"name": name, "kind": res.plural, "causes": causes}
    if res.group:
        details["group"] = res.group
    return errors.ApiError(409, "Conflict", msg, details)


def server_side_apply(res, live, applied, manager, force=False, subresource=None):
    """(new object, managedFields) for an Apply of ``applied`` by ``manager`` onto ``live``
    (None when creating). Raises 409 on conflicts unless ``force``."""
    applied = copy.deepcopy(applied)
    if res.has_status and subresource != "status":
        applied.pop("status", None)   # reset fields: status is ignored on the main resource
    applied_fs = fieldset(applied, res, subresource)
    if live is None:
        obj = copy.deepcopy(applied)
        entries = _set_entry([], manager, "Apply", res.api_version, applied_fs, subresource)
        return obj, entries
    entries = _entries(live)
    merged = _merge(live, {k: v for k, v in applied.items() if k not in ("apiVersion", "kind")})
    # conflicts: fields of other managers whose value the apply would change
    conflicts = []
    for e in entries:
        if e.get("manager") == manager and e.get("operation") == "Apply":
            continue
        if e.get("subresource", "") != (subresource or ""):
            continue
        owned = from_fields_v1(e.get("fieldsV1"))
        for p in sorted(owned & applied_fs):
            a, b = get_path(live, p), get_path(applied, p)
            if isinstance(b, dict) and isinstance(a, dict):
                continue  # maps/structs merge; only their leaves can conflict
            if a != b and not (isinstance(a, list) and p[-1].startswith("k:")):
                conflicts.append((e, p))
    if conflicts and not force:
        raise conflict_error(res, live["metadata"]["name"], conflicts)
    if force and conflicts:
        entries = _strip_paths(entries, {p for _, p in conflicts})
    prev = set()
    for e in entries:
        if e.get("manager") == manager and e.get("operation") == "Apply" and \
                e.get("subresource", "") == (subresource or ""):
            prev = from_fields_v1(e.get("fieldsV1"))
    others = set()
    for e in entries:
        if not (e.get("manager") == manager and e.get("operation") == "Apply"):
            others |= from_fields_v1(e.get("fieldsV1"))
    # merge/update.go: fields the manager applied before and no longer applies are removed
    # unless another manager owns them
    for p in sorted(prev - applied_fs, key=len, reverse=True):
        if p not in others and not any(o[:len(p)] == p for o in others | applied_fs if o != p):
            remove_path(merged, p)
    # changed fields owned by Update managers move to the applier only on force; values that
    # are equal stay shared (no change)
    entries = _set_entry(entries, manager, "Apply", res.api_version, applied_fs, subresource)
    return merged, entries
