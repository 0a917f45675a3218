"""Observation and fault injection shared by the sandbox's servers (Kubernetes API, Jenkins).

``RequestLog`` records every request a server answered; ``FaultInjector`` makes the next N
requests that match fail with a status (a proper error body is the server's job), a dropped
connection, or extra latency. Both are thread-safe and reachable from Python (``cluster.request_log``,
``cluster.faults``) and over the admin API (``/_sandbox/...``).
"""
import collections
import itertools
import re
import threading
import time

REDACTED = "<redacted>"
_SECRET_KEYS = re.compile(r'("(?:token|password|data|stringData|apiToken|secret|privateKey|'
                          r'client-key-data|token-data)"\s*:\s*)("(?:[^"\\]|\\.)*"|\{[^{}]*\})',
                          re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]+")


def redact(text, limit=500):
    """A body excerpt safe to log: values of secret-looking keys and bearer tokens removed."""
    if text is None:
        return None
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text[: limit * 4]).decode("utf-8", "replace")
    text = _SECRET_KEYS.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    if len(text) > limit:
        text = text[:limit] + "..."
    return text


class RequestLog:
    """Thread-safe request log with counters."""

    def __init__(self, maxlen=20000):
        self._lock = threading.Lock()
        self._entries = collections.deque(maxlen=maxlen)
        self._seq = itertools.count(1)

    def record(self, component, method, path, status, user=None, resource=None, verb=None,
               body=None, namespace=None, duration=None, fault=None):
        entry = {
            "seq": next(self._seq), "time": time.time(), "component": component,
            "method": method, "path": path, "status": status, "user": user,
            "resource": resource, "verb": verb, "namespace": namespace,
            "body": redact(body), "duration": duration, "fault": fault,
        }
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self, component=None, method=None, resource=None, verb=None, since=0):
        with self._lock:
            items = list(self._entries)
        return [dict(e) for e in items
                if (component is None or e["component"] == component)
                and (method is None or e["method"] == method)
                and (resource is None or e["resource"] == resource)
                and (verb is None or e["verb"] == verb)
                and e["seq"] > since]

    def counts(self, component=None):
        out = {"total": 0, "by_method": {}, "by_resource": {}, "by_user": {}, "by_status": {},
               "by_verb": {}}
        for e in self.entries(component):
            out["total"] += 1
            for key, field in (("by_method", "method"), ("by_resource", "resource"),
                               ("by_user", "user"), ("by_status", "status"), ("by_verb", "verb")):
                val = e[field]
                if val is None:
                    continue
                val = str(val)
                out[key][val] = out[key].get(val, 0) + 1
        return out

    def mutating(self, component=None):
        """Entries whose method changes state (POST, PUT, PATCH, DELETE)."""
        return [e for e in self.entries(component) if e["method"] in ("POST", "PUT", "PATCH", "DELETE")]

    def reset(self):
        with self._lock:
            self._entries.clear()


class Fault:
    def __init__(self, fid, component=None, method=None, path_regex=None, count=1, status=500,
                 message=None, drop=False, latency=0.0, reason=None):
        self.id = fid
        self.component = component
        self.method = method.upper() if method else None
        self.path_regex = path_regex
        self._re = re.compile(path_regex) if path_regex else None
        self.remaining = count        # None = unlimited
        self.status = status
        self.message = message
        self.reason = reason
        self.drop = drop
        self.latency = float(latency or 0.0)
        self.hits = 0

    def matches(self, component, method, path):
        if self.component and self.component != component:
            return False
        if self.method and self.method != method.upper():
            return False
        if self._re and not self._re.search(path):
            return False
        return self.remaining is None or self.remaining > 0

    def to_dict(self):
        return {"id": self.id, "component": self.component, "method": self.method,
                "path_regex": self.path_regex, "remaining": self.remaining, "status": self.status,
                "message": self.message, "reason": self.reason, "drop": self.drop,
                "latency": self.latency, "hits": self.hits}


class FaultInjector:
    """Fail / delay / drop the next matching requests. ``status=None`` with ``latency`` only
    delays; ``drop=True`` closes the connection without an answer."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._ids = itertools.count(1)

    def add(self, component=None, method=None, path_regex=None, count=1, status=500, message=None,
            drop=False, latency=0.0, reason=None):
        fault = Fault(next(self._ids), component, method, path_regex, count, status, message,
                      drop, latency, reason)
        with self._lock:
            self._faults.append(fault)
        return fault.id

    def remove(self, fid):
        with self._lock:
            self._faults = [f for f in self._faults if f.id != fid]

    def clear(self):
        with self._lock:
            self._faults = []

    def list(self):
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def match(self, component, method, path):
        """The first matching fault (one use consumed), or None."""
        with self._lock:
            for f in self._faults:
                if f.matches(component, method, path):
                    f.hits += 1
                    if f.remaining is not None:
                        f.remaining -= 1
                    if f.remaining == 0:
                        self._faults.remove(f)
                    return f
        return None
