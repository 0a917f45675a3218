"""Extension contract between the Jenkins core stand-in and its plugins (sandbox only).

The core (``sandbox/jenkins/``) offers these extension points; the Kubernetes plugin emulation
(``sandbox/jenkins/kubernetes_plugin/``) implements them.  Everything here is plain Python, no
HTTP.  The shapes mirror the Java ones they stand for:

* ``Cloud``        ~ ``hudson.slaves.Cloud`` (``canProvision(CloudState)``, ``provision(...)``)
* ``Node``         ~ ``hudson.model.Node`` + its ``Computer`` (one object here)
* ``Executor``     ~ the remoting channel of a computer: runs a shell step on that node
* ``Label``        ~ ``hudson.model.Label`` (a label *expression*; ``None`` expression = "any node")
* configurators    ~ JCasC ``HeteroDescribableConfigurator`` for ``jenkins.clouds[]`` items
* routes           ~ Stapler web methods on a Descriptor (``/descriptorByName/<id>/<method>``)

Registration is module-global (done when the plugin package is imported); a registration is
*active* in a given ``JenkinsInstance`` only while the plugin named in it is installed and
active in that instance's JENKINS_HOME (real Jenkins: no plugin, no extension — a JCasC
``clouds: [kubernetes: …]`` without the kubernetes plugin is a configuration error).

How the core uses this (see also docs/dev/architecture.md §3.4):

1. JCasC: for each item of ``jenkins.clouds`` (a one-key mapping ``{symbol: mapping}``) the core
   looks up the configurator registered for ``symbol`` (case-insensitive) and calls
   ``configure(mapping, context) -> Cloud``.  The mapping is already interpolated (``${VAR}``
   resolved, ``^${x}`` turned into the literal ``${x}``).  The configurator must check attributes
   strictly (``context.check_attributes``) and raise ``ConfiguratorError`` on bad input.
   ``context.dry_run`` is True for ``/configuration-as-code/check``: build the object, start nothing.
   Export: ``export(cloud) -> dict`` (the mapping *under* the symbol); the core wraps it as
   ``{symbol: dict}``.  A reload replaces the whole cloud list (``DescribableList#replaceBy``):
   the core calls ``cloud.dispose()`` (optional) on clouds that are gone.
2. Queue: about every 0.5 s the core looks at every buildable queue item.  If no idle online node
   matches its label, and the matching *offline* nodes (planned capacity: nodes added but not yet
   connected) do not already cover the waiting items, it calls, for each cloud in order,
   ``cloud.can_provision(label)`` and, for the first that accepts, ``cloud.provision(label,
   jenkins, excess_workload)``.  ``provision`` must not block for long: it creates the Node
   object(s), registers them with ``jenkins.add_node(node)`` and starts launching in its own
   thread (real plugin: ``PlannedNode`` + ``KubernetesLauncher#launch``).  It returns the list of
   nodes it added (possibly empty when a cap is reached).  Freshly added nodes are *offline*
   until ``jenkins.agent_connect(...)`` succeeds.  Offline nodes with ``node.provisioned_by``
   set (the core sets it to ``cloud.name`` if the plugin did not) count as planned capacity.
3. Agents: the inbound-agent runtime calls ``jenkins.agent_connect(name, secret, via_url,
   via_tunnel, executor=None)``.  ``secret`` must equal ``jenkins.jnlp_mac(name)`` (the value the
   plugin puts in ``JENKINS_SECRET``).  ``via_url`` is the JENKINS_URL the agent used,
   ``via_tunnel`` the ``(host, port)`` it really opened a TCP connection to (the core listens on
   ``agent_port``; see ``JenkinsInstance.agent_address``).  On success the node is online; an
   ``executor`` passed here replaces ``node.executor``.  Failure raises ``AgentConnectError``.
   ``jenkins.agent_disconnect(name, cause)`` takes it offline again.  Over TCP the same
   handshake is a line protocol on the agent listener: the agent sends
   ``JNLP4-connect <name> <secret>\n`` and gets ``Welcome\n`` or ``ERROR <message>\n``; the node
   stays online while that socket is open, and ``remove_node`` / a controller restart close it.
4. Builds: the core picks an idle online node whose labels match, then
   ``node.on_build_start(build)`` (may write to ``build.log``), runs each shell step through
   ``node.executor.run_shell(script, env, workspace, listener=build.listener)`` and, after the
   build finished (result set, executor freed), calls ``node.on_build_complete(build)``.
   Retention (delete the pod, ``jenkins.remove_node(name)``) is the plugin's business.
5. Routes: ``register_route(method, path, handler, permission=..., plugin=...)``; ``path`` is
   relative to the Jenkins context root (``/descriptorByName/…/testConnection``).  The core does
   authentication, the permission check and the CSRF crumb check (POST) first, exactly as for its
   own endpoints, then calls ``handler(request, jenkins) -> RouteResponse``.
6. Lifecycle: ``register_lifecycle(plugin, on_start, on_stop)``: ``on_start(jenkins)`` after the
   instance finished booting (every boot, also after a restart), ``on_stop(jenkins)`` on stop /
   before a restart.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable


# --------------------------------------------------------------------------------------------
# errors


class ConfiguratorError(Exception):
    """``io.jenkins.plugins.casc.ConfiguratorException``: message shown on the JCasC error page."""


class AgentConnectError(Exception):
    """Refused inbound-agent connection (wrong secret, unknown agent, listener disabled, …)."""


# --------------------------------------------------------------------------------------------
# labels


class Label:
    """A label expression (``hudson.model.Label`` / ``hudson.model.labels.LabelExpression``).

    ``expression is None`` means "no restriction" (a roaming job).  Supported syntax (the
    subset of ``LabelExpression`` grammar that matters here): atoms, ``&&``, ``||``, ``!``,
    ``->``, ``<->`` and parentheses.  Atoms may be quoted with double quotes.
    """

    def __init__(self, expression: str | None):
        self.expression = (expression or "").strip() or None
        self._ast = _parse_label(self.expression) if self.expression else None

    @property
    def name(self) -> str | None:
        return self.expression

    def is_atom(self) -> bool:
        return self._ast is not None and self._ast[0] == "atom"

    def matches(self, labels) -> bool:
        """True if a node carrying ``labels`` (iterable of str, incl. its own name) matches."""
        if self._ast is None:
            return True
        return _eval_label(self._ast, set(labels))

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.expression or ""

    def __repr__(self) -> str:  # pragma: no cover - trivial
        return f"Label({self.expression!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Label) and other.expression == self.expression

    def __hash__(self) -> int:
        return hash(self.expression)


_TOKEN = re.compile(r'\s*(<->|->|&&|\|\||!|\(|\)|"[^"]*"|[^\s&|!()<>"-][^\s&|!()<>"]*)')


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"Invalid label expression \u2018{text}\u2019")
        out.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _parse_label(text: str):
    toks = _tokens(text)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def primary():
        t = peek()
        if t is None:
            raise ValueError(f"Invalid label expression \u2018{text}\u2019")
        if t == "!":
            take()
            return ("not", primary())
        if t == "(":
            take()
            e = iff()
            if take() != ")":
                raise ValueError(f"Invalid label expression \u2018{text}\u2019")
            return e
        take()
        if t in ("&&", "||", "->", "<->", ")"):
            raise ValueError(f"Invalid label expression \u2018{text}\u2019")
        return ("atom", t[1:-1] if t.startswith('"') else t)

    def conj():
        e = primary()
        while peek() == "&&":
            take()
            e = ("and", e, primary())
        return e

    def disj():
        e = conj()
        while peek() == "||":
            take()
            e = ("or", e, conj())
        return e

    def implies():
        e = disj()
        while peek() == "->":
            take()
            e = ("implies", e, disj())
        return e

    def iff():
        e = implies()
        while peek() == "<->":
            take()
            e = ("iff", e, implies())
        return e

    ast = iff()
    if pos != len(toks):
        # Jenkins treats a space-separated string as a single atom only in node labels;
        # as an expression "a b" is a syntax error.
        raise ValueError(f"Invalid label expression \u2018{text}\u2019")
    return ast


def _eval_label(ast, labels: set) -> bool:
    op = ast[0]
    if op == "atom":
        return ast[1] in labels
    if op == "not":
        return not _eval_label(ast[1], labels)
    a = _eval_label(ast[1], labels)
    b = _eval_label(ast[2], labels)
    if op == "and":
        return a and b
    if op == "or":
        return a or b
    if op == "implies":
        return (not a) or b
    return a == b


# --------------------------------------------------------------------------------------------
# executors and nodes


class BuildListener(Protocol):
    """What ``run_shell`` may write to: the build's console (``TaskListener``)."""

    def write(self, text: str) -> None: ...


@runtime_checkable
class Executor(Protocol):
    """Runs one shell step on a node.

    ``script`` is the Shell builder's command text; run it like ``hudson.tasks.Shell``: when it
    starts with ``#!`` run that interpreter, else ``sh -xe <tmpfile>``.  ``env`` is the complete
    build environment (already merged with the node's own), ``workspace`` the workspace path as
    the node sees it (create it if missing; it is the working directory).  If ``listener`` is
    given the executor should stream output through ``listener.write(text)`` as it comes and
    return ``(rc, None)``; otherwise it returns ``(rc, output)`` and the core writes it.
    """

    def run_shell(self, script: str, env: dict, workspace: str,
                  listener: BuildListener | None = None) -> tuple[int, str | None]: ...


class Node:
    """A node and its computer.  Plugins subclass it (``KubernetesSlave`` + ``KubernetesComputer``).

    The core owns the fields marked *core*; plugins set the others before ``add_node``.
    """

    #: ``_class`` of the node / computer in the JSON API
    node_class = "hudson.slaves.DumbSlave"
    computer_class = "hudson.slaves.SlaveComputer"
    #: True for ``JNLPLauncher`` (inbound) agents, exported as ``jnlpAgent``
    jnlp_agent = True
    launch_supported = True
    manual_launch_allowed = True

    def __init__(self, name: str, labels=(), num_executors: int = 1, executor: Executor | None = None,
                 description: str = "", mode: str = "NORMAL", remote_fs: str = "/home/jenkins/agent"):
        self.name = name
        #: the node's own labels (its name is implicitly a label too, see ``all_labels``)
        self.labels = [l for l in (labels if not isinstance(labels, str) else labels.split()) if l]
        self.num_executors = int(num_executors)
        self.executor = executor
        self.description = description
        self.mode = mode  # "NORMAL" or "EXCLUSIVE" (Node.Mode)
        self.remote_fs = remote_fs
        # --- core-owned state -----------------------------------------------------------
        self.online = False                     # core: set by agent_connect / agent_disconnect
        self.temporarily_offline = False
        self.offline_cause: str | None = None   # core/plugin: human readable offline cause
        self.busy_executors = 0                 # core
        self.accepting_tasks = True             # core: Computer#isAcceptingTasks (the queue skips it when false)
        self.idle_since = time.time()           # core: time the last executor became idle
        self.connect_time: float | None = None  # core
        self.jenkins = None                     # core: the JenkinsInstance after add_node
        self._log_lock = threading.Lock()
        self._log: list[str] = []

    # ---- computer log (GET /computer/NAME/log) ------------------------------------------
    def log(self, text: str) -> None:
        """Append a line to the computer log (launcher output)."""
        with self._log_lock:
            self._log.append(text if text.endswith("\n") else text + "\n")

    def log_text(self) -> str:
        with self._log_lock:
            return "".join(self._log)

    # ---- derived ------------------------------------------------------------------------
    @property
    def all_labels(self) -> list[str]:
        """``Node#getAssignedLabels``: own labels + the node name (self label)."""
        out = list(dict.fromkeys(self.labels + [self.name]))
        return out

    @property
    def idle(self) -> bool:
        return self.busy_executors == 0

    @property
    def is_offline(self) -> bool:
        return (not self.online) or self.temporarily_offline

    def can_take(self, label: Label) -> bool:
        """``Node#canTake``: EXCLUSIVE nodes only take jobs whose label expression names them."""
        if label.expression is None:
            return self.mode != "EXCLUSIVE"
        return label.matches(self.all_labels)

    # ---- hooks for plugins --------------------------------------------------------------
    def on_build_start(self, build) -> None:
        """Called on the executor thread before the first step (``build.log(text)`` works)."""

    def task_completed(self, build) -> None:
        """Called with the queue lock held after the build finished, BEFORE its executor is released
        (``ExecutorListener#taskCompleted``: a one-shot retention stops accepting tasks here, so the
        queue never hands the freed executor to another build)."""

    def on_build_complete(self, build) -> None:
        """Called after the build finished and the executor was released."""

    def export_extra(self) -> dict:
        """Extra ``@Exported`` computer fields (merged into ``/computer/NAME/api/json``)."""
        return {}


# --------------------------------------------------------------------------------------------
# clouds


@runtime_checkable
class Cloud(Protocol):
    """``hudson.slaves.Cloud`` as the core sees it."""

    name: str

    def can_provision(self, label: Label) -> bool: ...

    def provision(self, label: Label, jenkins, excess_workload: int) -> list[Node]: ...

    def export(self) -> dict: ...


# --------------------------------------------------------------------------------------------
# builds as plugins see them


class BuildView(Protocol):
    """What plugins get as ``build`` in node hooks (``sandbox.jenkins.jobs.Build`` implements it)."""

    job_name: str
    number: int
    result: str | None      # None while running, else SUCCESS/UNSTABLE/FAILURE/ABORTED/NOT_BUILT
    url: str                # absolute build URL
    queue_id: int

    def log(self, text: str) -> None: ...


# --------------------------------------------------------------------------------------------
# JCasC configuration context


@dataclass
class ConfigurationContext:
    """Passed to cloud configurators (``io.jenkins.plugins.casc.ConfigurationContext``)."""

    jenkins: Any = None
    #: "reject" (default) or "warn" — from ``configuration-as-code: {unknown: …, deprecated: …}``
    unknown: str = "reject"
    deprecated: str = "reject"
    restricted: str = "reject"
    dry_run: bool = False
    warnings: list = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def check_attributes(self, java_class: str, mapping: dict, attributes, deprecated=(),
                         aliases: dict | None = None) -> dict:
        """Strict attribute check as ``BaseConfigurator#configure`` + ``#handleUnknown``.

        ``attributes``: every attribute name of the target class (in the order Jenkins lists
        them; include the deprecated ones).  Returns a *new* dict keyed by the canonical names
        (names match case-insensitively; ``aliases`` maps obsolete name -> canonical name and
        records the "'x' is an obsolete attribute name, please use 'y'" warning).  Deprecated
        attributes raise ``'<name>' is deprecated`` unless ``deprecated: warn``.  Unknown keys
        raise ``Invalid configuration elements for type: class <java_class> : <keys>.
        Available attributes : …`` unless ``unknown: warn``.
        """
        if mapping is None:
            mapping = {}
        if not isinstance(mapping, dict):
            raise ConfiguratorError(
                f"Item isn't a Mapping: expected a mapping for class {java_class}, got {type(mapping).__name__}")
        rest = dict(mapping)
        out: dict = {}
        aliases = aliases or {}
        for attr in attributes:
            key = _pop_ci(rest, attr)
            if key is _MISSING:
                for alias, canonical in aliases.items():
                    if canonical == attr:
                        key = _pop_ci(rest, alias)
                        if key is not _MISSING:
                            self.warn(f"'{alias}' is an obsolete attribute name, please use '{attr}'")
                            break
            if key is _MISSING:
                continue
            if attr in deprecated:
                self.warn(f"'{attr}' is deprecated")
                if self.deprecated == "reject":
                    raise ConfiguratorError(f"'{attr}' is deprecated")
            out[attr] = key
        if rest:
            message = unknown_attributes_message(java_class, list(rest), list(attributes))
            self.warn(message)
            if self.unknown == "reject":
                raise ConfiguratorError(message)
        return out


_MISSING = object()


def _pop_ci(mapping: dict, name: str):
    for k in list(mapping):
        if str(k).lower() == name.lower():
            return mapping.pop(k)
    return _MISSING


def unknown_attributes_message(java_class: str, invalid: list, available: list) -> str:
    """Message of ``UnknownAttributesException`` (CASC ``BaseConfigurator#handleUnknown``)."""
    return (f"Invalid configuration elements for type: class {java_class} : {','.join(map(str, invalid))}.\n"
            f"Available attributes : {', '.join(sorted(available, key=str.lower))}")


# --------------------------------------------------------------------------------------------
# registries


@dataclass
class CloudConfigurator:
    symbol: str
    configure: Callable[[dict, ConfigurationContext], Cloud]
    export: Callable[[Cloud], dict]
    plugin: str | None
    java_class: str
    #: other accepted symbols (non-preferred ones record "'x' is obsolete, please use 'y'")
    aliases: tuple = ()


@dataclass
class RouteRequest:
    method: str
    path: str                 # path relative to the context root, e.g. /descriptorByName/x/testConnection
    query: dict               # name -> first value
    form: dict                # form fields (urlencoded body) merged over query, name -> first value
    body: bytes
    headers: dict             # lower-cased header names
    user: str | None          # authenticated user id, None for anonymous


@dataclass
class RouteResponse:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/html;charset=UTF-8"
    headers: dict = field(default_factory=dict)


@dataclass
class Route:
    method: str
    path: str
    handler: Callable[[RouteRequest, Any], RouteResponse]
    permission: str
    plugin: str | None


@dataclass
class Lifecycle:
    plugin: str | None
    on_start: Callable[[Any], None] | None
    on_stop: Callable[[Any], None] | None


_lock = threading.Lock()
_cloud_configurators: dict[str, CloudConfigurator] = {}
_routes: list[Route] = []
_lifecycles: list[Lifecycle] = []


def register_cloud_configurator(symbol: str, configure, export, *, plugin: str | None = None,
                                java_class: str | None = None, aliases=()) -> None:
    """Register the JCasC configurator for ``jenkins.clouds[]`` items named ``symbol``.

    ``plugin`` is the plugin short name that must be installed+active for the symbol to exist.
    ``java_class`` is used in error messages (default: the symbol).
    """
    with _lock:
        _cloud_configurators[symbol.lower()] = CloudConfigurator(
            symbol, configure, export, plugin, java_class or symbol, tuple(aliases))


def cloud_configurators() -> list[CloudConfigurator]:
    with _lock:
        return list(_cloud_configurators.values())


def find_cloud_configurator(symbol: str) -> tuple[CloudConfigurator | None, bool]:
    """Return (configurator, is_preferred_symbol) for a symbol, case-insensitively."""
    s = symbol.lower()
    with _lock:
        if s in _cloud_configurators:
            return _cloud_configurators[s], True
        for c in _cloud_configurators.values():
            if s in (a.lower() for a in c.aliases):
                return c, False
    return None, False


def register_route(method: str, path: str, handler, *, permission: str = "ADMINISTER",
                   plugin: str | None = None) -> None:
    """Register ``handler(RouteRequest, jenkins) -> RouteResponse`` at ``METHOD path``.

    ``permission``: "READ", "MANAGE", "ADMINISTER" or None (no check).  A POST route is
    CSRF-protected like every POST (crumb unless API-token auth).  Registering the same
    (method, path) again replaces the previous handler.
    """
    with _lock:
        _routes[:] = [r for r in _routes if not (r.method == method.upper() and r.path == path)]
        _routes.append(Route(method.upper(), path, handler, permission, plugin))


def routes() -> list[Route]:
    with _lock:
        return list(_routes)


def register_lifecycle(plugin: str | None, on_start=None, on_stop=None) -> None:
    with _lock:
        _lifecycles.append(Lifecycle(plugin, on_start, on_stop))


def lifecycles() -> list[Lifecycle]:
    with _lock:
        return list(_lifecycles)


#: Python modules the core imports (if present) to let plugins register themselves.
PLUGIN_MODULES = {
    "kubernetes": "sandbox.jenkins.kubernetes_plugin",
}
