"""JCasC for ``jenkins.clouds[].kubernetes``: strict configure and export (sandbox emulation).

The algorithm is the one of jenkinsci/configuration-as-code-plugin (commit 58646eb6), applied to
the class tables of ``model.py``:

* configure (``BaseConfigurator#configure`` / ``DataBoundConfigurator#instance``): constructor
  parameters first, then every attribute, matched **case-insensitively** (``removeIgnoreCase``);
  an attribute whose setter is ``@Deprecated`` raises ``'x' is deprecated`` unless
  ``configuration-as-code.deprecated: warn``; keys left over raise
  ``Invalid configuration elements for type: class <C> : <keys>.\\nAvailable attributes : <sorted
  names of the non-deprecated attributes>`` (``#handleUnknown``; ``Configurator#getAttributes``
  filters ``Attribute#isIgnored`` = deprecated/restricted and sorts by name) unless
  ``unknown: warn``.  An unknown-attributes error propagates unchanged from any depth; any other
  error of a nested object is wrapped as ``Failed to configure '<attr>': <message>``.
* polymorphic values (``HeteroDescribableConfigurator``): a one-key mapping ``{symbol: {...}}`` or,
  for a no-argument describable, a bare scalar ``symbol``; symbols per
  ``DescribableAttribute#getSymbols`` (``model.symbols_for``), case-insensitive.
* export (``DataBoundConfigurator#describe``): only attributes whose getter value differs from a
  reference object built from the constructor arguments alone, plus the constructor arguments;
  ``ConfigurationAsCode#toYaml`` then sorts keys, drops blank strings and empty lists, and turns a
  describable with an empty description into its bare symbol.
"""

from __future__ import annotations

from sandbox.jenkins.extension import ConfiguratorError

from . import model
from .model import ExtensionPoint, JavaObject, symbols_for


class UnknownAttributesError(ConfiguratorError):
    """``io.jenkins.plugins.casc.UnknownAttributesException``: never wrapped by parents."""


def _java_sorted(names):
    # Configurator#getAttributes sorts with Comparator.comparing(a -> a.name) (String#compareTo)
    return sorted(names, key=lambda s: [ord(c) for c in s])


def available_attributes(cls):
    return _java_sorted(n for n, (_t, dep) in cls.ATTRS.items() if not dep)


def _pop_ci(mapping, name):
    for k in list(mapping):
        if str(k).lower() == name.lower():
            return True, mapping.pop(k)
    return False, None


def _get_ci(mapping, name):
    for k in mapping:
        if str(k).lower() == name.lower():
            return True, mapping[k]
    return False, None


# ---------------------------------------------------------------------------------------------
# scalar conversion (PrimitiveConfigurator + Stapler CONVERT_UTILS)


def _scalar(value, what):
    if isinstance(value, (dict, list)):
        raise ConfiguratorError(f"Item isn't a Scalar: expected a scalar for {what}")
    return value


def convert(typ, value, what):
    if typ == "String":
        value = _scalar(value, what)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if typ in ("int", "Integer", "Long"):
        value = _scalar(value, what)
        if value is None:
            return None if typ != "int" else 0
        if isinstance(value, bool):
            raise ConfiguratorError(f"Failed to set attribute '{what}': not a number: {value}")
        if isinstance(value, int):
            return value
        try:
            return model.parse_java_int(str(value).strip()) if typ != "Long" else int(str(value).strip())
        except ValueError:
            raise ConfiguratorError(
                f"Failed to set attribute '{what}': java.lang.NumberFormatException: For input string: \"{value}\"")
    if typ in ("boolean", "Boolean"):
        value = _scalar(value, what)
        if value is None:
            return None if typ == "Boolean" else False
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        # Stapler's BooleanConverter (commons-beanutils): yes/y/true/on/1 and no/n/false/off/0
        if s in ("true", "yes", "y", "on", "1"):
            return True
        if s in ("false", "no", "n", "off", "0"):
            return False
        raise ConfiguratorError(f"Failed to set attribute '{what}': Can't convert value '{value}' to class java.lang.Boolean")
    if typ == "Mode":
        value = _scalar(value, what)
        if value not in ("NORMAL", "EXCLUSIVE"):
            raise ConfiguratorError(f"Failed to set attribute '{what}': No enum constant hudson.model.Node.Mode.{value}")
        return value
    raise AssertionError(typ)


# ---------------------------------------------------------------------------------------------
# configure


def _configure_value(typ, node, ctx, attr):
    if isinstance(typ, tuple) and typ[0] == "list":
        if node is None:
            return []
        items = node if isinstance(node, list) else [node]
        return [_configure_value(typ[1], item, ctx, attr) for item in items]
    if isinstance(typ, str):
        return convert(typ, node, attr)
    if isinstance(typ, ExtensionPoint):
        return configure_hetero(typ, node, ctx)
    if isinstance(typ, type) and issubclass(typ, JavaObject):
        return configure_object(typ, node, ctx)
    raise AssertionError(typ)


def configure_hetero(ext: ExtensionPoint, node, ctx):
    """HeteroDescribableConfigurator#configure."""
    if isinstance(node, dict):
        if len(node) != 1:
            raise ConfiguratorError(
                f"Single entry map expected to configure a {ext.java_name} but found multiple entries: "
                f"[{', '.join(map(str, node))}]")
        symbol, sub = next(iter(node.items()))
    elif isinstance(node, list):
        raise ConfiguratorError(f"Unexpected configuration type {node}")
    else:
        symbol, sub = str(node), None
    for cls in ext.impls:
        syms = symbols_for(cls, ext)
        if any(s.lower() == str(symbol).lower() for s in syms):
            if syms[0].lower() != str(symbol).lower():
                ctx.warn(f"'{symbol}' is obsolete, please use '{syms[0]}'")
            return configure_object(cls, sub, ctx)
    available = [symbols_for(c, ext)[0] for c in ext.impls]
    raise UnknownAttributesError(f"No {ext.java_name} implementation found for {symbol}"
                                 + (f"\nAvailable implementations : {', '.join(available)}" if available else ""))


def configure_object(cls, node, ctx):
    """DataBoundConfigurator#instance + BaseConfigurator#configure for one object."""
    if node is None:
        node = {}
    if not isinstance(node, dict):
        raise ConfiguratorError(f"Item isn't a Mapping: expected a mapping to configure {cls.JAVA_CLASS}")
    rest = dict(node)
    args = {}
    for name, typ in cls.CTOR:
        found, value = _get_ci(rest, name)
        if found:
            args[name] = convert(typ, value, name)
    try:
        obj = cls(**args)
    except (ValueError, TypeError) as exc:
        raise ConfiguratorError(
            f"Failed to construct instance of class {cls.JAVA_CLASS}.\n Constructor: "
            f"{', '.join(n for n, _ in cls.CTOR)}.\n Arguments: {args}.\n{exc}")
    # Deprecated first-container delegates (PodTemplate#setCommand…) act on containers, so set
    # them after the regular attributes.
    order = sorted(cls.ATTRS.items(), key=lambda kv: (kv[1][1], kv[0]))
    for name, (typ, deprecated) in order:
        found, sub = _pop_ci(rest, name)
        if not found:
            continue
        if deprecated:
            ctx.warn(f"'{name}' is deprecated")
            if ctx.deprecated == "reject":
                raise ConfiguratorError(f"'{name}' is deprecated")
        try:
            value = _configure_value(typ, sub, ctx, name)
            if any(name == c for c, _ in cls.CTOR):
                continue    # constructor-only parameters were consumed by the constructor
            obj.set(name, value)
        except UnknownAttributesError:
            raise
        except ConfiguratorError as exc:
            if isinstance(typ, str):
                raise
            raise ConfiguratorError(f"Failed to configure '{name}': {exc}") from exc
        except ValueError as exc:
            raise ConfiguratorError(
                f"Failed to set attribute '{name}': java.lang.NumberFormatException: {exc}") from exc
    if rest:
        message = (f"Invalid configuration elements for type: class {cls.JAVA_CLASS} : "
                   f"{','.join(map(str, rest))}.\nAvailable attributes : "
                   f"{', '.join(available_attributes(cls))}")
        ctx.warn(message)
        if ctx.unknown == "reject":
            raise UnknownAttributesError(message)
    return obj


def configure_cloud(mapping, context):
    """``jenkins.clouds[] - kubernetes: {...}`` -> KubernetesCloud (runtime object)."""
    from .cloud import KubernetesCloudRuntime
    cloud = configure_object(KubernetesCloudRuntime, mapping, context)
    if cloud.name is None or str(cloud.name).strip() == "":
        # Cloud(String name) -> Jenkins.checkGoodName: "No name is specified"
        raise ConfiguratorError(f"Failed to construct instance of class {model.KubernetesCloud.JAVA_CLASS}.\n"
                                "No name is specified")
    return cloud


# ---------------------------------------------------------------------------------------------
# export


def _equal(a, b):
    if isinstance(a, list) and isinstance(b, list):
        # CollectionUtils.isEqualCollection (element equals; our objects use identity unless
        # the Java class implements equals)
        if len(a) != len(b):
            return False
        rest = list(b)
        for x in a:
            for i, y in enumerate(rest):
                if x == y:
                    del rest[i]
                    break
            else:
                return False
        return True
    if a is None and b is None:
        return True
    return a is not None and a == b


def _describe_value(typ, value):
    if value is None:
        return None
    if isinstance(typ, tuple) and typ[0] == "list":
        out = [d for d in (_describe_value(typ[1], v) for v in value) if d is not None]
        return out or None
    if typ == "String" or typ == "Mode":
        s = str(value)
        return s if s.strip() else None
    if typ in ("int", "Integer", "Long"):
        return int(value)
    if typ in ("boolean", "Boolean"):
        return bool(value)
    if isinstance(typ, ExtensionPoint):
        desc = describe_object(value)
        sym = symbols_for(type(value), typ)[0]
        return sym if not desc else {sym: desc}
    if isinstance(typ, type) and issubclass(typ, JavaObject):
        return describe_object(value)
    raise AssertionError(typ)


def describe_object(obj):
    cls = type(obj)
    # The JCasC class of the runtime cloud is KubernetesCloud.
    ref = cls(**{n: obj._f.get(n) for n, _ in cls.CTOR}) if cls.CTOR else cls()
    out = {}
    for name, (typ, deprecated) in cls.ATTRS.items():
        if deprecated or any(name == c for c, _ in cls.CTOR):
            continue
        v, r = obj.get(name), ref.get(name)
        if _equal(v, r):
            continue
        d = _describe_value(typ, v)
        if d is not None:
            out[name] = d
    for name, typ in cls.CTOR:
        v = obj.get(name)
        if v is not None:
            d = _describe_value(typ, v)
            if d is not None:
                out[name] = d
    return {k: out[k] for k in sorted(out)}


def export_cloud(cloud):
    """The mapping under ``kubernetes:`` in ``/configuration-as-code/export``."""
    return describe_object(cloud)
