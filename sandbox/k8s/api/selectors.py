"""Label and field selectors.

Label selector syntax follows staging/src/k8s.io/apimachinery/pkg/labels/selector.go (Parse):
``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a`` (exists), ``!a``.
Field selectors follow apimachinery/pkg/fields/selector.go (``=``, ``==``, ``!=``); the fields
each kind supports come from its registry's GetAttrs/ToSelectableFields (e.g.
pkg/registry/core/pod/strategy.go PodToSelectableFields) and the label conversion funcs in
pkg/apis/core/v1/conversion.go; unsupported fields answer "field label not supported: X".
"""
import re

from .errors import bad_request


class LabelSelector:
    def __init__(self, reqs):
        self.reqs = reqs  # list of (key, op, values)

    def matches(self, labels):
        labels = labels or {}
        for key, op, values in self.reqs:
            present = key in labels
            val = labels.get(key)
            if op == "exists" and not present:
                return False
            if op == "!" and present:
                return False
            if op in ("=", "==", "in") and (not present or val not in values):
                return False
            if op in ("!=", "notin") and present and val in values:
                return False
        return True

    def empty(self):
        return not self.reqs


_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"


def _split_top(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    if text is None or isinstance(text, LabelSelector):
        return text or LabelSelector([])
    reqs = []
    for part in _split_top(text):
        m = re.match(r"^(" + _KEY + r")\s+(in|notin)\s*\((.*)\)$", part)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            reqs.append((m.group(1), m.group(2), values))
            continue
        m = re.match(r"^(" + _KEY + r")\s*(==|!=|=)\s*([-A-Za-z0-9_.]*)$", part)
        if m:
            reqs.append((m.group(1), m.group(2), {m.group(3)}))
            continue
        m = re.match(r"^!\s*(" + _KEY + r")$", part)
        if m:
            reqs.append((m.group(1), "!", set()))
            continue
        m = re.match(r"^(" + _KEY + r")$", part)
        if m:
            reqs.append((m.group(1), "exists", set()))
            continue
        raise bad_request("unable to parse requirement: %s" % part)
    return LabelSelector(reqs)


def selector_from_label_selector_object(sel):
    """metav1.LabelSelector {matchLabels, matchExpressions} -> LabelSelector (None matches all)."""
    reqs = []
    if not sel:
        return LabelSelector([])
    for k, v in (sel.get("matchLabels") or {}).items():
        reqs.append((k, "=", {v}))
    for expr in sel.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(expr.get("operator"))
        if op:
            reqs.append((expr.get("key"), op, set(expr.get("values") or [])))
    return LabelSelector(reqs)


# plural -> extra selectable fields (metadata.name / metadata.namespace are always selectable)
FIELDS = {
    ("", "pods"): ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                   "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                   "status.nominatedNodeName"],
    ("", "events"): ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                     "involvedObject.uid", "involvedObject.apiVersion",
                     "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                     "reportingComponent", "source", "type"],
    ("events.k8s.io", "events"): ["regarding.kind", "regarding.namespace", "regarding.name",
                                  "regarding.uid", "regarding.apiVersion", "reason", "type",
                                  "reportingController"],
    ("", "secrets"): ["type"],
    ("", "namespaces"): ["status.phase"],
    ("", "nodes"): ["spec.unschedulable"],
    ("", "persistentvolumeclaims"): [],
    ("", "replicationcontrollers"): ["status.replicas"],
    ("apps", "replicasets"): ["status.replicas"],
    ("batch", "jobs"): ["status.successful"],
}


class FieldSelector:
    def __init__(self, reqs):
        self.reqs = reqs  # (field, op, value)

    def matches(self, obj):
        for field, op, value in self.reqs:
            actual = field_value(obj, field)
            if op in ("=", "==") and actual != value:
                return False
            if op == "!=" and actual == value:
                return False
        return True

    def empty(self):
        return not self.reqs


def field_value(obj, field):
    if field == "source":
        src = obj.get("source") or {}
        return str(src.get("component", ""))
    cur = obj
    for part in field.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        # PodToSelectableFields etc. render missing fields as "" ; bools as "true"/"false"
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(text, group="", plural=""):
    if text is None or isinstance(text, FieldSelector):
        return text or FieldSelector([])
    allowed = {"metadata.name", "metadata.namespace"} | set(FIELDS.get((group, plural), []))
    reqs = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        m = re.match(r"^([^=!]+?)\s*(==|!=|=)\s*(.*)$", part)
        if not m:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, part))
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in allowed:
            raise bad_request('field label not supported: %s' % field)
        reqs.append((field, op, value))
    return FieldSelector(reqs)
