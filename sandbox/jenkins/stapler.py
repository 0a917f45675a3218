"""Stapler's JSON export rules: ``depth`` pruning and ``tree=`` (NamedPathPruner), plus helpers.

Exported objects are built as ``Bean`` values: a dict of property -> ``Prop(value, visibility)``
(default visibility 1, STAPLER ``@Exported(visibility)``), with ``_class`` first.  ``export()``
turns such a tree into plain JSON data:

* depth: the served object's own properties are at level 1, properties of beans inside them at
  level 2, …; a property is emitted only if ``visibility >= level - depth``
  (STAPLER ``export/TreePruner.java#ByDepth.accept``; ``ResponseImpl#serveExposedBean`` uses
  ``ByDepth(1 - depth)``).  A bean whose properties are all pruned still appears as ``{}``
  (with ``_class`` when it is the top-level bean or an element of a heterogeneous list —
  ``ExportConfig.classAttribute`` ``IF_NEEDED``; we always add ``_class`` to beans that have it).
* ``tree=a,b[c,d]{0,2}``: replaces depth pruning: only named properties, recursively; ``{m,n}``
  limits list ranges (``NamedPathPruner`` + ``Range``).
"""

from __future__ import annotations

import json
import re


class Prop:
    __slots__ = ("value", "visibility", "inline")

    def __init__(self, value, visibility: int = 1, inline: bool = False):
        self.value = value
        self.visibility = visibility
        self.inline = inline


class Bean(dict):
    """Ordered mapping name -> Prop (or raw value = visibility 1); key ``_class`` optional."""


def bean(_class: str | None = None, **props) -> Bean:
    b = Bean()
    if _class:
        b["_class"] = _class
    for k, v in props.items():
        b[k] = v
    return b


# ---------------------------------------------------------------------------------------------
# tree= parsing (NamedPathPruner)


def parse_tree(spec: str):
    """Parse ``a,b[c,d]{0,2}`` into {name: (subtree|None, (lo, hi)|None)}."""
    pos = 0
    spec = spec.strip()

    def parse_list():
        nonlocal pos
        out = {}
        while pos < len(spec):
            m = re.compile(r"\s*([^,\[\]{}\s]+)\s*").match(spec, pos)
            if not m:
                raise ValueError(f"Syntax error at {pos} in {spec!r}")
            name = m.group(1)
            pos = m.end()
            sub = None
            rng = None
            if pos < len(spec) and spec[pos] == "[":
                pos += 1
                sub = parse_list()
                if pos >= len(spec) or spec[pos] != "]":
                    raise ValueError(f"Missing ']' in {spec!r}")
                pos += 1
            if pos < len(spec) and spec[pos] == "{":
                end = spec.index("}", pos)
                rng = _parse_range(spec[pos + 1:end])
                pos = end + 1
            out[name] = (sub, rng)
            if pos < len(spec) and spec[pos] == ",":
                pos += 1
                continue
            break
        return out

    tree = parse_list()
    if pos != len(spec):
        raise ValueError(f"Syntax error at {pos} in {spec!r}")
    return tree


def _parse_range(text: str):
    # Range.fromString: "{n}" = exactly index n, "{m,}" from m, "{,n}" up to n, "{m,n}"
    text = text.strip()
    if "," not in text:
        n = int(text)
        return (n, n + 1)
    lo, hi = text.split(",", 1)
    return (int(lo) if lo.strip() else 0, int(hi) if hi.strip() else None)


# ---------------------------------------------------------------------------------------------
# export


def export(obj, depth: int = 0, tree: str | None = None):
    """Export ``obj`` (Bean / list / scalar) to JSON data following Stapler's pruning rules."""
    if tree is not None:
        return _export_tree(obj, parse_tree(tree), top=True)
    return _export_depth(obj, level=1, depth=depth, top=True)


def _unwrap(v):
    if isinstance(v, Prop):
        return v.value, v.visibility, v.inline
    return v, 1, False


def _export_depth(obj, level: int, depth: int, top: bool = False):
    if callable(obj) and not isinstance(obj, (Bean, dict, list)):
        obj = obj()
    if isinstance(obj, Bean):
        out = {}
        if "_class" in obj:
            out["_class"] = _unwrap(obj["_class"])[0]
        for k, v in obj.items():
            if k == "_class":
                continue
            val, vis, inline = _unwrap(v)
            if vis < level - depth:
                continue
            if callable(val) and not isinstance(val, (Bean, dict, list)):
                val = val()
            out[k] = _export_value(val, level if inline else level + 1, depth)
        return out
    return _export_value(obj, level, depth)


def _export_value(val, level, depth):
    if isinstance(val, Bean):
        return _export_depth(val, level, depth)
    if isinstance(val, (list, tuple)):
        return [_export_value(v, level, depth) for v in val]
    if isinstance(val, dict):
        return {k: _export_value(v, level, depth) for k, v in val.items()}
    return val


def _export_tree(obj, tree, top=False):
    if callable(obj) and not isinstance(obj, (Bean, dict, list)):
        obj = obj()
    if isinstance(obj, Bean):
        out = {}
        if "_class" in obj:
            out["_class"] = _unwrap(obj["_class"])[0]
        lower = {k: k for k in obj}
        for name, (sub, rng) in tree.items():
            if name not in lower or name == "_class":
                continue
            val, _vis, _inline = _unwrap(obj[name])
            if callable(val) and not isinstance(val, (Bean, dict, list)):
                val = val()
            out[name] = _tree_value(val, sub, rng)
        return out
    return obj


def _tree_value(val, sub, rng):
    if isinstance(val, (list, tuple)):
        items = list(val)
        if rng is not None:
            lo, hi = rng
            items = items[lo:hi]
        return [_tree_value(v, sub, None) for v in items]
    if isinstance(val, Bean):
        if sub is None:
            # a bean named without a sub-tree: NamedPathPruner gives an empty object
            return {"_class": _unwrap(val["_class"])[0]} if "_class" in val else {}
        return _export_tree(val, sub)
    if isinstance(val, dict):
        if sub is None:
            return {}
        return {k: _tree_value(v, None, None) for k, v in val.items() if k in sub}
    return val


def dumps(data) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def time_span(ms: float) -> str:
    """``hudson.Util#getTimeSpanString``."""
    ms = int(ms)
    years, rem = divmod(ms, 365 * 86400000)
    if years >= 1:
        return f"{years} yr {rem // (30 * 86400000)} mo" if rem // (30 * 86400000) else f"{years} yr"
    days, rem = divmod(ms, 86400000)
    if days >= 1:
        hours = rem // 3600000
        return f"{days} day {hours} hr" if hours else f"{days} day"
    hours, rem = divmod(ms, 3600000)
    if hours >= 1:
        mins = rem // 60000
        return f"{hours} hr {mins} min" if mins else f"{hours} hr"
    mins, rem = divmod(ms, 60000)
    if mins >= 1:
        secs = rem // 1000
        return f"{mins} min {secs} sec" if secs else f"{mins} min"
    secs = ms / 1000.0
    if secs >= 10:
        return f"{int(secs)} sec"
    if secs >= 1:
        return f"{secs:.1f} sec"
    return f"{ms} ms"
