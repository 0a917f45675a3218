"""Typed decoding of built-in kinds, the way the apiserver's JSON decoder treats a body.

Upstream decodes request bodies into Go structs: a value of the wrong JSON type fails the
request with 400 (handlers/rest.go transformDecodeError: `Deployment in version "v1" cannot be
handled as a Deployment: json: cannot unmarshal string into Go struct field
DeploymentSpec.spec.replicas of type int32`), unknown fields are dropped with a warning (or
rejected with fieldValidation=Strict: `strict decoding error: unknown field "spec.foo"`), and
server-side apply rejects both (`failed to create typed patch object (...): .spec.foo: field not
declared in schema`). The field types come from the model classes of the ``kubernetes`` Python
client (generated from the same OpenAPI document); they load in a background thread at start.
Custom resources are not checked (no CRD schema enforcement, see README).
"""
import re
import threading

from . import errors

_models = None
_loaded = threading.Event()
# Quantity fields are strings in the client models but Go's resource.Quantity also takes numbers
_QUANTITY_MAPS = {"requests", "limits", "capacity", "allocatable", "hard", "used", "overhead"}
_QUANTITY_FIELDS = {"sizeLimit", "storage"}
_INT64_FIELDS = {"activeDeadlineSeconds", "terminationGracePeriodSeconds", "runAsUser", "runAsGroup",
                 "fsGroup", "generation", "observedGeneration", "deletionGracePeriodSeconds",
                 "expirationSeconds", "gracePeriodSeconds", "tolerationSeconds", "startingDeadlineSeconds"}


def preload():
    """Import the model classes in the background (about a second)."""
    def load():
        global _models
        try:
            import kubernetes.client.models as models
            _models = models
        except Exception:   # no client installed: typed checks are skipped
            _models = None
        _loaded.set()
    threading.Thread(target=load, name="schema-preload", daemon=True).start()


def _model(name):
    if not _loaded.wait(timeout=30) or _models is None:
        return None
    return getattr(_models, name, None)


def model_name(res):
    if res.crd or not res.storage:
        return None
    if res.kind == "Event":
        return "CoreV1Event" if res.group == "" else "EventsV1Event"
    return res.version[0].upper() + res.version[1:] + res.kind


def _go_type(t, field=""):
    if t == "str":
        return "string"
    if t == "int":
        return "int64" if field in _INT64_FIELDS else "int32"
    if t == "bool":
        return "bool"
    if t == "float":
        return "float64"
    if t.startswith("List["):
        return "[]" + _go_type(t[5:-1])
    if t.startswith("Dict[str, "):
        return "map[string]" + _go_type(t[10:-1])
    m = re.match(r"^(?:[A-Z][a-z]+)?V\d+(?:alpha\d+|beta\d+)?(.+)$", t)
    return "v1." + (m.group(1) if m else t)


def _struct(t):
    m = re.match(r"^(?:[A-Z][a-z]+)?V\d+(?:alpha\d+|beta\d+)?(.+)$", t)
    return m.group(1) if m else t


def _json_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


class _Ctx:
    def __init__(self):
        self.unknown = []     # paths with indices: spec.template.spec.containers[0].foo
        self.type_error = None  # (go message, ssa message)


def _check(value, t, ctx, struct, gopath, path, field, in_map=False):
    """Check ``value`` against client type ``t``; returns the pruned value."""
    if value is None or ctx.type_error:
        return value
    jt = _json_type(value)
    quantity = field in _QUANTITY_FIELDS or (in_map and field in _QUANTITY_MAPS)

    def bad(ssa_expect):
        # encoding/json UnmarshalTypeError: "Go struct field <Struct>.<json path> of type <T>"
        where = "Go struct field %s.%s" % (struct, gopath)
        go_t = _go_type(t, field)
        ctx.type_error = ("json: cannot unmarshal %s into %s of type %s" % (jt, where, go_t),
                          ".%s: %s" % (path, ssa_expect))
        return value
    if t == "object":
        return value
    if t == "str" or t == "datetime" or t == "date":
        if jt == "string" or (quantity and jt == "number"):
            return value
        return bad("expected string, got %s" % jt)
    if t == "int":
        if jt == "number" and float(value).is_integer():
            return value
        return bad("expected numeric (int or float), got %s" % jt)
    if t == "float":
        return value if jt == "number" else bad("expected numeric (int or float), got %s" % jt)
    if t == "bool":
        return value if jt == "bool" else bad("expected boolean, got %s" % jt)
    if t.startswith("List["):
        if jt != "array":
            return bad("expected list, got %s" % jt)
        inner = t[5:-1]
        return [_check(v, inner, ctx, struct, gopath, "%s[%d]" % (path, i), field) for i, v in enumerate(value)]
    if t.startswith("Dict[str, "):
        if jt != "object":
            return bad("expected map, got %s" % jt)
        inner = t[10:-1]
        return {k: _check(v, inner, ctx, struct, gopath, "%s.%s" % (path, k), field, in_map=True)
                for k, v in value.items()}
    cls = _model(t)
    if cls is None:
        return value
    if jt != "object":
        return bad("expected map, got %s" % jt)
    types = cls.openapi_types
    by_json = {cls.attribute_map[a]: types[a] for a in types}
    out = {}
    for k, v in value.items():
        sub = "%s.%s" % (path, k) if path else k
        if k not in by_json:
            ctx.unknown.append(sub)
            continue
        if v is None:
            continue
        out[k] = _check(v, by_json[k], ctx, _struct(t), ("%s.%s" % (gopath, k)) if gopath else k, sub, k)
    return out


def decode(res, obj, field_validation=None, body=True):
    """(pruned object, warnings) for a create/update body (``body=True``: errors carry
    transformDecodeError's prefix) or a patched object; raises 400."""
    name = model_name(res)
    cls = _model(name) if name else None
    if cls is None:
        return obj, []
    ctx = _Ctx()
    pruned = _check(obj, name, ctx, _struct(name), "", "", "")
    if ctx.type_error:
        raise errors.bad_request('%s in version "%s" cannot be handled as a %s: %s'
                                 % (res.kind, res.version, res.kind, ctx.type_error[0]))
    unknown = [u for u in ctx.unknown if u not in ("apiVersion", "kind")]
    if unknown and field_validation == "Strict":
        # apimachinery/pkg/runtime/serializer/json: strict decoding errors, wrapped by
        # handlers/rest.go transformDecodeError for request bodies
        msg = "strict decoding error: " + ", ".join('unknown field "%s"' % u for u in unknown)
        if body:
            msg = '%s in version "%s" cannot be handled as a %s: %s' % (res.kind, res.version, res.kind, msg)
        raise errors.bad_request(msg)
    if field_validation == "Ignore":
        return pruned, []
    return pruned, ['unknown field "%s"' % u for u in unknown]


def check_apply(res, applied, namespace, name):
    """Server-side apply: a typed patch object must match the schema (type errors and unknown
    fields are both errors)."""
    tname = model_name(res)
    cls = _model(tname) if tname else None
    if cls is None:
        return
    ctx = _Ctx()
    _check(applied, tname, ctx, _struct(tname), "", "", "")
    problems = []
    if ctx.type_error:
        problems.append(ctx.type_error[1])
    problems += [".%s: field not declared in schema" % re.sub(r"\[\d+\]", "", u) for u in ctx.unknown
                 if u not in ("apiVersion", "kind")]
    if problems:
        # managedfields/internal/structuredmerge.go: "failed to create typed patch object (%v): %v"
        gvk = "%s, Kind=%s" % (res.api_version if res.group else "/" + res.version, res.kind)
        ident = "%s/%s; %s" % (namespace or "", name, gvk)
        msg = problems[0] if len(problems) == 1 else "errors:\n  " + "\n  ".join(problems)
        raise errors.ApiError(500, "", "failed to create typed patch object (%s): %s" % (ident, msg))
