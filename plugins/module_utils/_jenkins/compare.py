# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""Pure normalisation and comparison functions (no I/O).

JCasC (jenkins_casc, jenkins_kubernetes_cloud)
    casc_differences(desired, live)   what the live export lacks compared with what the user asked
    casc_equal(a, b)                  strict semantic equality of two JCasC documents
    casc_project(desired, live)       the part of the live export the desired document talks about

Job config.xml (jenkins_job)
    normalise_job_xml(text)           canonical pretty XML after undoing Jenkins' re-serialisation
    job_xml_equal(a, b)

The rules and the upstream behaviour they mirror are documented next to each function.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

# ---------------------------------------------------------------------------------------------
# JCasC
# ---------------------------------------------------------------------------------------------

# A Secret is exported encrypted: "{AQAAABAAAAAQ...}" (hudson.util.Secret#getEncryptedValue).
_ENCRYPTED_SECRET = re.compile(r"^\{[A-Za-z0-9+/=]{16,}\}$")
# ${VAR} / ${VAR:-default} is interpolated by JCasC at load time; ^${...} is an escaped literal.
_INTERPOLATION = re.compile(r"(?<!\^)\$\{[^}]*\}")

SECRET_NOT_COMPARED = "secret not compared"
INTERPOLATED_NOT_COMPARED = "interpolated value not compared"


class Symbol(str):
    """A describable written by its symbol (`never`, `{never: {}}`); compares case-insensitively."""

    def __eq__(self, other):
        return isinstance(other, str) and self.lower() == other.lower()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.lower())


def scalar_text(value):
    """Canonical text of a YAML scalar: JCasC reads `5`, `"5"`, `true`, `"true"` the same way."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalise_casc(value):
    """Normalise a JCasC value for comparison: scalars become canonical text (see scalar_text),
    mappings and lists are normalised recursively (keys kept as given, matched case-insensitively
    later)."""
    if isinstance(value, dict):
        return {str(k): normalise_casc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise_casc(v) for v in value]
    if value is None:
        return None  # kept: `{never: null}` is the mapping form of a symbol
    return scalar_text(value)


def symbol_of(value):
    """The symbol of a no-argument describable, in either form JCasC accepts: the bare scalar
    (`never`) or a mapping with one key and an empty value (`{never: {}}`)
    (CASC HeteroDescribableConfigurator#configureScalar). None for anything else."""
    if isinstance(value, str):
        return Symbol(value) if value else None
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        if inner is None or inner == {}:
            return Symbol(str(key))
    return None


def _lookup(mapping, key):
    """(actual_key, value) of key in mapping, matching case-insensitively (CASC BaseConfigurator
    uses removeIgnoreCase), or (None, None)."""
    if key in mapping:
        return key, mapping[key]
    lowered = key.lower()
    for candidate, value in mapping.items():
        if candidate.lower() == lowered:
            return candidate, value
    return None, None


def _is_empty(value):
    return value in (None, "", "false", "0", [], {}) or (isinstance(value, str) and value.strip() == "")


def _scalar_equal(desired, live):
    if desired == live:
        return True
    # An escaped literal (^${computer.jnlpmac}) is stored and exported without the caret.
    return desired.replace("^${", "${") == live.replace("^${", "${")


_IDENTITY_FIELDS = ("id", "name", "key", "shortName")


def _identity(item):
    """What identifies a list element: (symbol, {field: value}) for mappings, where the fields are
    the ones of _IDENTITY_FIELDS present (id, name, key, shortName); ("scalar", {"": item}) else."""
    if isinstance(item, dict):
        symbol = None
        body = item
        if len(item) == 1:
            (symbol, inner), = item.items()
            if isinstance(inner, dict):
                body = inner
            symbol = symbol.lower()
        fields = {}
        if isinstance(body, dict):
            for field in _IDENTITY_FIELDS:
                value = _lookup(body, field)[1]
                if isinstance(value, str) and value:
                    fields[field.lower()] = value
        return (symbol, fields)
    return ("scalar", {"": item})


def _same_item(left, right):
    """Same symbol, and the first identity field both have is equal (None: no common field)."""
    if left[0] != right[0]:
        return False
    for field in [f.lower() for f in _IDENTITY_FIELDS] + [""]:
        if field in left[1] and field in right[1]:
            return left[1][field] == right[1][field]
    return None


class Differences:
    """Collects the differences found by casc_differences."""

    def __init__(self):
        self.items = []        # (path, desired, live)
        self.not_compared = []  # (path, reason)

    def add(self, path, desired, live):
        self.items.append((path, desired, live))

    def skip(self, path, reason):
        self.not_compared.append((path, reason))

    def __bool__(self):
        return bool(self.items)

    def describe(self, limit=10):
        lines = ["%s: want %r, have %r" % (path or "/", _plain(d), _plain(l)) for path, d, l in self.items[:limit]]
        if len(self.items) > limit:
            lines.append("... %d more" % (len(self.items) - limit))
        return "; ".join(lines)

    def warnings(self):
        return ["%s: %s" % (path, reason) for path, reason in self.not_compared]


def _plain(value):
    if isinstance(value, Symbol):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def casc_differences(desired, live, defaults=None):
    """Compare what the user asked for with the live export, only where the user said something.

    * keys the user did not give are ignored (Jenkins adds defaults and other sources' keys);
    * attribute names match case-insensitively;
    * `podRetention: never` equals `podRetention: {never: {}}` (symbols compare case-insensitively);
    * scalars compare by text (`5` == `"5"`, `true` == `"true"`);
    * a key missing from the export equals a desired empty/false value, or the value found for
      that attribute name in `defaults` (JCasC export leaves out values equal to the default);
    * lists of mappings: every desired element must match a live element with the same identity
      (symbol + id/name/key), in the same relative order (Jenkins keeps list order); other live
      elements (from other sources) are ignored. Lists of scalars compare in order.
    * live values exported encrypted (`{AQAA...}`) and desired values using `${...}`
      interpolation cannot be compared: they count as equal and are reported in not_compared.
    Returns a Differences object (falsy when there is nothing to change).
    """
    result = Differences()
    _diff(normalise_casc(desired), normalise_casc(live), "", result, _lower_keys(defaults or {}))
    return result


def _lower_keys(defaults):
    """{attribute name lower-cased: (default texts)}; a default may be one value or a tuple of them
    (the same attribute name can have different defaults on different classes)."""
    out = {}
    for key, value in defaults.items():
        values = value if isinstance(value, tuple) else (value,)
        out[str(key).lower()] = tuple(scalar_text(v) for v in values)
    return out


def _diff(desired, live, path, result, defaults):
    if isinstance(desired, dict):
        wanted_symbol = symbol_of(desired)
        if wanted_symbol is not None:
            if symbol_of(live) != wanted_symbol:
                result.add(path, desired, live)
            return
        if isinstance(live, str) and len(desired) == 1:
            # {never: {someField: x}} against the scalar form "never": compare the fields with nothing.
            (key, inner), = desired.items()
            if key.lower() == live.lower():
                _diff(inner, {}, "%s/%s" % (path, key), result, defaults)
                return
        if not isinstance(live, dict):
            result.add(path, desired, live)
            return
        for key, want in desired.items():
            sub = "%s/%s" % (path, key)
            actual_key, have = _lookup(live, key)
            if actual_key is None:
                # An id the export does not show cannot be compared (identity matched by name).
                if key.lower() == "id" or _absent_ok(want, defaults.get(key.lower())):
                    continue
                if isinstance(want, str) and _INTERPOLATION.search(want):
                    result.skip(sub, INTERPOLATED_NOT_COMPARED)
                    continue
                result.add(sub, want, None)
                continue
            _diff(want, have, sub, result, defaults)
        return
    if isinstance(desired, list):
        if not isinstance(live, list):
            if live in (None, "") and not desired:
                return
            result.add(path, desired, live)
            return
        _diff_list(desired, live, path, result, defaults)
        return
    # desired is a scalar
    if isinstance(live, dict):
        live_symbol = symbol_of(live)
        if live_symbol is None or live_symbol != desired:
            result.add(path, desired, live)
        return
    if isinstance(live, list):
        result.add(path, desired, live)
        return
    live = "" if live is None else live
    desired = "" if desired is None else desired
    if _ENCRYPTED_SECRET.match(live) and not _scalar_equal(desired, live):
        result.skip(path, SECRET_NOT_COMPARED)
        return
    if _INTERPOLATION.search(desired):
        result.skip(path, INTERPOLATED_NOT_COMPARED)
        return
    if not _scalar_equal(desired, live):
        result.add(path, desired, live)


def _absent_ok(want, defaults):
    if defaults is not None and not isinstance(want, (dict, list)):
        want = "" if want is None else want
        return any(_scalar_equal(want, default) for default in defaults)
    return _is_empty(want) or (isinstance(want, list) and not want)


def _diff_list(desired, live, path, result, defaults):
    if not any(isinstance(item, dict) for item in desired):
        if desired != live:
            result.add(path, desired, live)
        return
    cursor = 0
    for index, want in enumerate(desired):
        sub = "%s[%d]" % (path, index)
        identity = _identity(want)
        match = None
        if identity[1]:
            for position in range(cursor, len(live)):
                if _same_item(identity, _identity(live[position])):
                    match = position
                    break
            if match is None and any(_same_item(identity, _identity(item)) for item in live[:cursor]):
                result.add(sub, want, "present but out of order")
                continue
        else:
            # No identity: take the first remaining live element with the same symbol that matches.
            for position in range(cursor, len(live)):
                probe = Differences()
                _diff(want, live[position], sub, probe, defaults)
                if not probe and _identity(live[position])[0] == identity[0]:
                    match = position
                    break
        if match is None:
            result.add(sub, want, None)
            continue
        _diff(want, live[match], sub, result, defaults)
        cursor = match + 1


def casc_equal(left, right):
    """Strict semantic equality (both directions) of two JCasC documents, e.g. the one stored in the
    managed ConfigMap and the one the user asks for now."""
    if left is None or right is None:
        return left is None and right is None
    return _canon(normalise_casc(left)) == _canon(normalise_casc(right))


def _canon(value):
    symbol = symbol_of(value) if isinstance(value, dict) else None
    if symbol is not None:
        return ("scalar", str(symbol))
    if isinstance(value, dict):
        return ("map", tuple(sorted((k.lower(), _canon(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("list", tuple(_canon(v) for v in value))
    return ("scalar", value)


def casc_project(desired, live):
    """The part of the live export that the desired document talks about (for diff 'before').

    Mappings keep only the desired keys (live spelling); lists keep the live elements that match a
    desired element by identity; scalars are taken from live as they are.
    """
    if isinstance(desired, dict) and isinstance(live, dict):
        if len(desired) == 1 and list(desired.values())[0] in (None, {}):
            return live
        out = {}
        for key, want in desired.items():
            actual, have = _lookup(live, str(key))
            if actual is not None:
                out[actual] = casc_project(want, have)
        return out
    if isinstance(desired, list) and isinstance(live, list):
        if not any(isinstance(item, dict) for item in desired):
            return live
        out = []
        used = set()
        for want in desired:
            identity = _identity(normalise_casc(want))
            for position, have in enumerate(live):
                if position in used:
                    continue
                if identity[1] and _same_item(identity, _identity(normalise_casc(have))):
                    out.append(casc_project(want, have))
                    used.add(position)
                    break
        return out
    return live


# ---------------------------------------------------------------------------------------------
# Job config.xml
# ---------------------------------------------------------------------------------------------

_PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>\s*", re.DOTALL)

# Children whose order carries no meaning: fields of the project object and its properties
# (XStream writes fields in declaration order; Jenkins and users write them in any order).
UNORDERED_PARENTS = ("project", "properties", "hudson.model.FreeStyleProject", "flow-definition",
                     "strategy", "hudson.model.StringParameterDefinition",
                     "hudson.model.BooleanParameterDefinition", "hudson.model.ChoiceParameterDefinition",
                     "hudson.model.TextParameterDefinition", "hudson.tasks.Shell", "hudson.tasks.LogRotator")


def _strip_prolog(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    # ElementTree (expat) only knows XML 1.0; Jenkins writes "version='1.1'" (XStream2#toXMLUTF8).
    return _PROLOG.sub("", text, count=1)


def parse_job_xml(text):
    """Parse a config.xml (1.0 or 1.1 prolog). Raises ValueError with the parser message."""
    try:
        return ET.fromstring(_strip_prolog(text))
    except ET.ParseError as exc:
        raise ValueError("config_xml is not well-formed XML: %s" % exc) from exc


def _is_default_leaf(element):
    """Elements XStream writes with their Java default; absent means the same value.

    * `<x/>`, `<x></x>`, `<x>  </x>` without attributes: empty list/string (readResolve turns a
      missing list into an empty one, a missing description into none);
    * `<x>false</x>`: a primitive boolean field left at false;
    * `<scm class="hudson.scm.NullSCM"/>`: the default SCM (AbstractProject#getScm).
    """
    if len(element):
        return False
    text = (element.text or "").strip()
    attrs = {k: v for k, v in element.attrib.items() if k != "plugin"}
    if element.tag == "scm" and attrs.get("class") == "hudson.scm.NullSCM" and not text:
        return True
    if attrs:
        return False
    return text in ("", "false")


def _normalise_element(element, parent_unordered):
    element.attrib.pop("plugin", None)
    children = [child for child in list(element) if not isinstance(child.tag, type(ET.Comment))]
    for child in list(element):
        element.remove(child)
    kept = []
    for child in children:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        _normalise_element(child, child.tag in UNORDERED_PARENTS)
        if _is_default_leaf(child):
            continue
        kept.append(child)
    if parent_unordered:
        kept.sort(key=lambda c: (c.tag, ET.tostring(c, encoding="unicode")))
    for child in kept:
        child.tail = None
        element.append(child)
    if kept:
        element.text = None
    else:
        element.text = (element.text or "").strip() or None
    return element


def normalise_job_xml(text):
    """Canonical, indented XML of a job config, after undoing what Jenkins rewrites:

    XML prolog (1.0 vs 1.1, quotes, encoding), whitespace and indentation, `plugin="x@ver"`
    attributes, `<x/>` vs `<x></x>`, elements at their default value (see _is_default_leaf),
    and the order of fields in the project and its properties (order of build steps, parameters
    and list items is kept).
    """
    root = _normalise_element(parse_job_xml(text), True)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode") + "\n"


def job_xml_equal(left, right):
    return normalise_job_xml(left) == normalise_job_xml(right)
