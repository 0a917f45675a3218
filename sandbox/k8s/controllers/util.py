"""Small helpers shared by the control-plane controllers."""

import copy
import datetime
import json
import logging
import random
import re

log = logging.getLogger("sandbox.k8s.controllers")

# k8s.io/apimachinery/pkg/util/rand: alphanums without vowels and look-alikes
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return None


def rand_suffix(n=5):
    return "".join(random.choice(ALPHANUMS) for _ in range(n))


def safe_encode(value):
    """rand.SafeEncodeString: map hex-ish digits onto ALPHANUMS (used for pod-template-hash)."""
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in value)


def fnv32a(data):
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def template_hash(template, collision_count=None):
    """ComputeHash of pkg/controller/controller_utils.go: fnv32a over the template (+collisionCount),
    rendered with SafeEncodeString. The sandbox hashes the canonical JSON of the template."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(int(collision_count)).encode()
    return safe_encode(str(fnv32a(data)))


def deep(obj):
    return copy.deepcopy(obj)


def get_path(obj, *keys, default=None):
    cur = obj
    for key in keys:
        if not isinstance(cur, dict):
            return default
        cur = cur.get(key)
        if cur is None:
            return default
    return cur


# -- label selectors ------------------------------------------------------------------------

def selector_matches(selector, labels):
    """metav1.LabelSelector (matchLabels + matchExpressions) against a label map.
    An empty selector matches everything; None matches nothing (LabelSelectorAsSelector)."""
    if selector is None:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        if not _expr_matches(expr, labels):
            return False
    return True


def _expr_matches(expr, labels):
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt"):
        try:
            lv, rv = int(labels[key]), int(values[0])
        except (KeyError, ValueError, IndexError):
            return False
        return lv > rv if op == "Gt" else lv < rv
    return False


def map_selector_matches(selector, labels):
    """A Service / ReplicationController style selector (plain map). Empty/None matches nothing."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


# -- quantities -----------------------------------------------------------------------------

_SUFFIX = {
    "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "m": 0.001,
}


def parse_quantity(value):
    """resource.Quantity -> float (bytes, cores ...)."""
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"\s*([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value))
    if not m:
        return 0.0
    num, suffix = m.groups()
    if suffix not in _SUFFIX:
        return 0.0
    return float(num) * _SUFFIX[suffix]


# -- owner references -----------------------------------------------------------------------

def controller_ref(obj):
    for ref in get_path(obj, "metadata", "ownerReferences", default=[]) or []:
        if ref.get("controller"):
            return ref
    return None


def owner_ref_to(owner, kind, api_version):
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_controlled_by(obj, owner):
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == owner["metadata"].get("uid")


def is_terminating(obj):
    return bool(get_path(obj, "metadata", "deletionTimestamp"))


# -- pod helpers ----------------------------------------------------------------------------

def pod_condition(pod, ctype):
    for c in get_path(pod, "status", "conditions", default=[]) or []:
        if c.get("type") == ctype:
            return c
    return None


def pod_is_ready(pod):
    c = pod_condition(pod, "Ready")
    return bool(c and c.get("status") == "True")


def pod_is_active(pod):
    """controller.IsPodActive: not terminal and not being deleted."""
    phase = get_path(pod, "status", "phase")
    return phase not in ("Succeeded", "Failed") and not is_terminating(pod)


def pod_is_available(pod, min_ready_seconds, now):
    """podutil.IsPodAvailable: Ready for at least minReadySeconds."""
    if not pod_is_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    c = pod_condition(pod, "Ready")
    since = parse_time(c.get("lastTransitionTime"))
    return since is not None and since + int(min_ready_seconds) <= now


def set_condition(conditions, ctype, status, reason=None, message=None, ts=None, probe=False):
    """Set a condition in a list; lastTransitionTime changes only when the status changes."""
    ts = ts or now_iso()
    for c in conditions:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = ts
            c["status"] = status
            if probe:
                c["lastProbeTime"] = None
            if reason is not None:
                c["reason"] = reason
            else:
                c.pop("reason", None)
            if message is not None:
                c["message"] = message
            else:
                c.pop("message", None)
            return conditions
    c = {"type": ctype, "status": status, "lastTransitionTime": ts}
    if probe:
        c["lastProbeTime"] = None
    if reason is not None:
        c["reason"] = reason
    if message is not None:
        c["message"] = message
    conditions.append(c)
    return conditions
