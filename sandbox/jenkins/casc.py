"""Configuration as Code (JCasC) for the stand-in: sources, merge, interpolation, configure, export.

Authority: reference §4 and the CASC sources cited there:
* sources: ``ConfigurationAsCode#getStandardConfig`` / ``#inputToCandidateSources`` / ``#configs``
  (directories recursive, following symlinks, skipping components starting with '.', sorted);
* merge: ``yaml/ErrorOnConflictMergeStrategy#merge`` (sequences concatenated, mappings merged
  key by key, scalars overridden via ``OverrideMergeStrategy``, error on differing node kinds:
  "Found incompatible configuration elements <source> <mark>");
* strict attributes: ``BaseConfigurator#configure`` / ``#handleUnknown`` (via
  ``extension.ConfigurationContext.check_attributes``);
* symbols: ``HeteroDescribableConfigurator#findBySymbols`` / ``#lookupDescriptor``
  ("No <class> implementation found for <symbol>").
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import re
import secrets as _secrets
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .extension import ConfigurationContext, ConfiguratorError, find_cloud_configurator

YAML_SUFFIXES = (".yml", ".yaml", ".YAML", ".YML")

# ---------------------------------------------------------------------------------------------
# Secret encryption (hudson.util.Secret: "{" + base64(0x01, ivLen(4), dataLen(4), iv, AES/CBC) + "}")


class SecretCodec:
    def __init__(self, home: Path):
        path = Path(home) / "secrets" / "hudson.util.Secret"
        if path.exists():
            self.key = path.read_bytes()[:16]
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.key = _secrets.token_bytes(16)
            path.write_bytes(self.key)

    def encrypt(self, plain: str) -> str:
        iv = _secrets.token_bytes(16)
        data = plain.encode()
        try:
            from cryptography.hazmat.primitives import padding
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
            padder = padding.PKCS7(128).padder()
            padded = padder.update(data) + padder.finalize()
            enc = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
            ct = enc.update(padded) + enc.finalize()
        except ImportError:  # pragma: no cover - keyed stream fallback
            stream = hashlib.sha256(self.key + iv).digest() * (len(data) // 32 + 1)
            ct = bytes(a ^ b for a, b in zip(data, stream))
        blob = bytes([1]) + len(iv).to_bytes(4, "big") + len(ct).to_bytes(4, "big") + iv + ct
        return "{" + base64.b64encode(blob).decode() + "}"

    def decrypt(self, value: str) -> str | None:
        if not (isinstance(value, str) and value.startswith("{") and value.endswith("}")):
            return None
        try:
            blob = base64.b64decode(value[1:-1], validate=True)
            if blob[0] != 1:
                return None
            ivlen = int.from_bytes(blob[1:5], "big")
            dlen = int.from_bytes(blob[5:9], "big")
            iv = blob[9:9 + ivlen]
            ct = blob[9 + ivlen:9 + ivlen + dlen]
            try:
                from cryptography.hazmat.primitives import padding
                from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
                dec = Cipher(algorithms.AES(self.key), modes.CBC(iv)).decryptor()
                padded = dec.update(ct) + dec.finalize()
                unpadder = padding.PKCS7(128).unpadder()
                return (unpadder.update(padded) + unpadder.finalize()).decode()
            except ImportError:  # pragma: no cover
                stream = hashlib.sha256(self.key + iv).digest() * (len(ct) // 32 + 1)
                return bytes(a ^ b for a, b in zip(ct, stream)).decode()
        except Exception:
            return None


# ---------------------------------------------------------------------------------------------
# sources


def candidate_sources(jenkins) -> list[str]:
    """``#getStandardConfig``: sysprop casc.jenkins.config, else env CASC_JENKINS_CONFIG, else
    $JENKINS_HOME/jenkins.yaml if it exists."""
    value = jenkins.sysprops.get("casc.jenkins.config") or jenkins.env.get("CASC_JENKINS_CONFIG")
    if value:
        return [s.strip() for s in value.split(",") if s.strip()]
    default = Path(jenkins.home) / "jenkins.yaml"
    return [str(default)] if default.exists() else []


def _is_hidden(path: Path, base: Path) -> bool:
    rel = path.relative_to(base)
    return any(part.startswith(".") for part in rel.parts)


def expand_source(source: str) -> list[Path]:
    if source.startswith(("http://", "https://")):
        raise ConfiguratorError(f"Source '{source}' could not be fetched: the sandbox has no network access")
    path = Path(source[len("file:"):] if source.startswith("file:") else source)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = []
        for root, dirs, files in os.walk(path, followlinks=True):
            rootp = Path(root)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for f in files:
                p = rootp / f
                if f.endswith(YAML_SUFFIXES) and not _is_hidden(p, path) and p.is_file():
                    found.append(p)
        return sorted(found, key=lambda p: str(p))
    raise ConfiguratorError(
        f"Source '{source}' is not supported by any registered configuration fetcher or does not exist.")


def load_documents(sources: list[str]) -> list[tuple[str, object]]:
    docs = []
    for s in sources:
        for p in expand_source(s):
            docs.append((str(p), parse_yaml(p.read_text(), str(p))))
    return docs


def parse_yaml(text: str, source: str):
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfiguratorError(f"Failed to read {source}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfiguratorError(f"Root element of {source} must be a mapping")
    return data


# ---------------------------------------------------------------------------------------------
# merge


def _kind(node):
    if isinstance(node, dict):
        return "mapping"
    if isinstance(node, list):
        return "sequence"
    return "scalar"


def merge(docs: list[tuple[str, object]], strategy: str = "errorOnConflict"):
    root: dict = {}
    for source, doc in docs:
        root = _merge(root, copy.deepcopy(doc), source, strategy)
    return root


def _merge(a, b, source, strategy):
    if _kind(a) != _kind(b):
        if strategy == "override":
            return b
        raise ConfiguratorError(f"Found incompatible configuration elements {source} {_kind(b)} node")
    if isinstance(a, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge(out[k], v, source, strategy) if k in out else v
        return out
    if isinstance(a, list):
        return b if strategy == "override" else a + b
    return b


# ---------------------------------------------------------------------------------------------
# interpolation (SecretSourceResolver)


class SecretSources:
    """Lookup chain of JCasC's secret sources: environment variables / system properties
    (``EnvSecretSource``), then files in ``$SECRETS`` (default ``/run/secrets``;
    ``FileSystemSecretSource``) — the Helm chart mounts the admin credentials there as
    ``chart-admin-username`` / ``chart-admin-password``.  Container paths are mapped to host
    paths through the container's mounts when the instance runs inside a pod."""

    def __init__(self, jenkins):
        self.env = jenkins.env
        self.sysprops = getattr(jenkins, "sysprops", {})
        sdir = self.env.get("SECRETS", "/run/secrets")
        host = None
        ctx = getattr(jenkins, "ctx", None)
        if ctx is not None and hasattr(ctx, "host_path"):
            try:
                host = ctx.host_path(sdir)
            except Exception:
                host = None
        self.dir = Path(host) if host is not None else Path(sdir)

    def __contains__(self, name):
        return self.get(name) is not None

    def __getitem__(self, name):
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def get(self, name, default=None):
        if name in self.env:
            return self.env[name]
        if name in self.sysprops:
            return self.sysprops[name]
        try:
            p = self.dir / name
            if p.is_file():
                return p.read_text().rstrip("\n")
        except (OSError, ValueError):
            pass
        return default

_VAR = re.compile(r"(\^?)\$\{([^}]*)\}")


def interpolate(node, env: dict, warnings: list):
    if isinstance(node, dict):
        return {k: interpolate(v, env, warnings) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env, warnings) for v in node]
    if not isinstance(node, str) or "${" not in node:
        return node

    def repl(m):
        if m.group(1) == "^":
            return "${" + m.group(2) + "}"   # escaped: ^${x} -> literal ${x}
        expr = m.group(2)
        for prefix in ("readFile:", "file:", "readFileBase64:", "fileBase64:", "base64:", "decodeBase64:"):
            if expr.startswith(prefix):
                arg = expr[len(prefix):]
                arg = _VAR.sub(repl, arg) if "${" in arg else arg
                if prefix in ("readFile:", "file:"):
                    try:
                        return Path(arg).read_text()
                    except OSError:
                        warnings.append(f"Configuration import: Found unresolved variable '{expr}'. Will default to empty string")
                        return ""
                if prefix in ("readFileBase64:", "fileBase64:"):
                    return base64.b64encode(Path(arg).read_bytes()).decode()
                if prefix == "base64:":
                    return base64.b64encode(arg.encode()).decode()
                return base64.b64decode(arg).decode()
        name, sep, default = expr.partition(":-")
        if name in env:
            return env[name]
        if sep:
            return default
        warnings.append(f"Configuration import: Found unresolved variable '{name}'. Will default to empty string")
        return ""

    return _VAR.sub(repl, node)


# ---------------------------------------------------------------------------------------------
# the configurable model


@dataclass
class Credential:
    kind: str          # usernamePassword | string | file | basicSSHUserPrivateKey
    id: str
    scope: str = "GLOBAL"
    description: str = ""
    username: str | None = None
    password: str | None = None
    secret: str | None = None
    file_name: str | None = None
    secret_bytes: str | None = None
    private_key: str | None = None
    passphrase: str | None = None
    username_secret: bool = False

    JAVA = {
        "usernamePassword": "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl",
        "string": "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl",
        "file": "org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl",
        "basicSSHUserPrivateKey": "com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey",
    }

    def as_dict(self) -> dict:
        d = {"type": self.kind, "id": self.id, "scope": self.scope, "description": self.description}
        for k in ("username", "password", "secret", "file_name", "secret_bytes", "private_key", "passphrase"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d


@dataclass
class SystemConfig:
    system_message: str | None = None
    num_executors: int = 2
    mode: str = "NORMAL"
    label_string: str = ""
    slave_agent_port: int | None = None     # None: keep the boot value (env / default)
    quiet_period: int = 5
    scm_checkout_retry_count: int = 0
    disable_remember_me: bool = False
    security_realm: dict | None = None      # {"local": {"allowsSignup": bool, "users": [...]}} or None
    authorization: object = None            # security.AuthorizationStrategy
    crumb_exclude_session: bool | None = None  # None: no crumbIssuer configured (keeps default)
    remoting_security: bool = True
    markup_formatter: str = "plainText"
    clouds: list = field(default_factory=list)     # [(symbol, Cloud)]
    nodes: list = field(default_factory=list)      # Node objects (permanent agents)
    views: list = field(default_factory=lambda: [{"all": {"name": "all"}}])
    location_url: str | None = None
    admin_address: str | None = None
    credentials: list = field(default_factory=list)  # Credential
    credential_domains: list = field(default_factory=list)  # raw domain dicts (non-global)
    verbatim: dict = field(default_factory=dict)    # attributes accepted but not emulated
    api_token: dict = field(default_factory=dict)
    users: list = field(default_factory=list)        # [(id, password, name)]


JENKINS_ATTRS = [
    "agentProtocols", "authorizationStrategy", "clouds", "crumbIssuer", "disableRememberMe",
    "disabledAdministrativeMonitors", "globalNodeProperties", "labelAtoms", "labelString", "log",
    "markupFormatter", "mode", "myViewsTabBar", "noUsageStatistics", "nodeMonitors", "nodeName",
    "nodeProperties", "nodes", "numExecutors", "primaryView", "projectNamingStrategy", "proxy",
    "quietPeriod", "remotingSecurity", "scmCheckoutRetryCount", "securityRealm", "slaveAgentPort",
    "systemMessage", "updateCenter", "views", "viewsTabBar",
]
# Jenkins#setAgentProtocols is @Deprecated (only JNLP4-connect remains) -> rejected by default
JENKINS_DEPRECATED = ("agentProtocols",)
# accepted and echoed by export, but with no behaviour in the stand-in
JENKINS_VERBATIM = ("disabledAdministrativeMonitors", "globalNodeProperties", "labelAtoms", "log", "myViewsTabBar",
                    "noUsageStatistics", "nodeMonitors", "nodeName", "nodeProperties", "primaryView",
                    "projectNamingStrategy", "proxy", "updateCenter", "viewsTabBar")

ROOT_ELEMENTS_CORE = ["jenkins", "unclassified", "security", "tool", "appearance", "configuration-as-code"]


def _as_int(value, what):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfiguratorError(f"Failed to set attribute {what}: for input string: \"{value}\"") from None


def _as_bool(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _symbol(node, what_class: str, known: dict, allow_scalar=True):
    """Resolve a polymorphic value ``{symbol: mapping}`` or bare ``symbol`` -> (canonical, mapping)."""
    if isinstance(node, str) and allow_scalar:
        sym, mapping = node, {}
    elif isinstance(node, dict) and len(node) == 1:
        sym, mapping = next(iter(node.items()))
        mapping = mapping if mapping is not None else {}
    else:
        raise ConfiguratorError(f"Single entry map expected to configure a {what_class}")
    for canonical, aliases in known.items():
        if sym.lower() == canonical.lower():
            return canonical, mapping, None
        for a in aliases:
            if sym.lower() == a.lower():
                return canonical, mapping, f"'{sym}' is obsolete, please use '{canonical}'"
    raise ConfiguratorError(f"No {what_class} implementation found for {sym}")


def configure(jenkins, doc: dict, dry_run: bool = False) -> tuple[SystemConfig, ConfigurationContext]:
    """Turn a merged, *uninterpolated* JCasC document into a SystemConfig (nothing applied yet)."""
    from . import security as sec
    from .extension import Node

    doc = dict(doc or {})
    ctx = ConfigurationContext(jenkins=jenkins, dry_run=dry_run)
    # configuration-as-code root first: it sets the strictness (SelfConfigurator)
    self_cfg = None
    for k in list(doc):
        if k.lower() == "configuration-as-code":
            self_cfg = doc.pop(k) or {}
    if self_cfg is not None:
        self_cfg = ctx.check_attributes("io.jenkins.plugins.casc.ConfigurationAsCode", self_cfg,
                                        ["deprecated", "restricted", "unknown", "version"])
        for key in ("deprecated", "restricted", "unknown"):
            if key in self_cfg:
                val = str(self_cfg[key])
                allowed = ("reject", "warn", "beta") if key == "restricted" else ("reject", "warn")
                if val not in allowed:
                    raise ConfiguratorError(f"No enum constant for {key}: {val}")
                setattr(ctx, key, val)
    doc = interpolate(doc, SecretSources(jenkins), ctx.warnings)

    roots = list(ROOT_ELEMENTS_CORE)
    if jenkins.plugin_manager.is_active("credentials"):
        roots.append("credentials")
    unknown_roots = [k for k in doc if k not in roots]
    if unknown_roots:
        # ConfigurationAsCode#checkWith / #invokeWith
        raise ConfiguratorError("No configurator for the following root elements: " + ", ".join(unknown_roots))

    cfg = SystemConfig()
    cfg.slave_agent_port = None
    cfg.authorization = None
    j = doc.get("jenkins") or {}
    j = ctx.check_attributes("jenkins.model.Jenkins", j, JENKINS_ATTRS, JENKINS_DEPRECATED)
    if "systemMessage" in j:
        cfg.system_message = None if j["systemMessage"] is None else str(j["systemMessage"])
    if "numExecutors" in j:
        cfg.num_executors = _as_int(j["numExecutors"], "numExecutors")
        if cfg.num_executors < 0:
            raise ConfiguratorError("Failed to set attribute numExecutors: Incorrect field \"numExecutors\" passed: "
                                    f"{cfg.num_executors}. It should be a non-negative number.")
    if "mode" in j:
        mode = str(j["mode"]).upper()
        if mode not in ("NORMAL", "EXCLUSIVE"):
            raise ConfiguratorError(f"No enum constant hudson.model.Node.Mode.{j['mode']}")
        cfg.mode = mode
    if "labelString" in j:
        cfg.label_string = str(j["labelString"] or "")
    if "slaveAgentPort" in j:
        cfg.slave_agent_port = _as_int(j["slaveAgentPort"], "slaveAgentPort")
    if "quietPeriod" in j:
        cfg.quiet_period = _as_int(j["quietPeriod"], "quietPeriod")
    if "scmCheckoutRetryCount" in j:
        cfg.scm_checkout_retry_count = _as_int(j["scmCheckoutRetryCount"], "scmCheckoutRetryCount")
    if "disableRememberMe" in j:
        cfg.disable_remember_me = _as_bool(j["disableRememberMe"])
    if "agentProtocols" in j:
        cfg.verbatim["agentProtocols"] = j["agentProtocols"]
    for k in JENKINS_VERBATIM:
        if k in j:
            cfg.verbatim[k] = j[k]
    if "remotingSecurity" in j:
        rs = ctx.check_attributes("jenkins.security.s2m.AdminWhitelistRule", j["remotingSecurity"] or {}, ["enabled"])
        cfg.remoting_security = _as_bool(rs.get("enabled", True))
    if "markupFormatter" in j:
        sym, m, warn = _symbol(j["markupFormatter"], "hudson.markup.MarkupFormatter",
                               {"plainText": ["escapedMarkupFormatter"]})
        ctx.check_attributes("hudson.markup.EscapedMarkupFormatter", m, [])
        cfg.markup_formatter = sym
    if "crumbIssuer" in j:
        if j["crumbIssuer"] is None:
            cfg.crumb_exclude_session = None
        else:
            sym, m, warn = _symbol(j["crumbIssuer"], "hudson.security.csrf.CrumbIssuer",
                                   {"standard": ["default", "defaultCrumbIssuer"]})
            if warn:
                ctx.warn(warn)
            # Current cores: DefaultCrumbIssuer has a no-arg @DataBoundConstructor; the old
            # DefaultCrumbIssuer(boolean excludeClientIPFromCrumb) is @Deprecated and not a JCasC
            # attribute any more, so `standard: {excludeClientIPFromCrumb: …}` is an unknown
            # attribute (the Helm chart stopped emitting it for cores >= 2.543: helm-charts#1563,
            # "Remove controller.csrf.defaultCrumbIssuer.proxyCompatability as it is dropped in core").
            ctx.check_attributes("hudson.security.csrf.DefaultCrumbIssuer", m, [])
            cfg.crumb_exclude_session = False
    if "securityRealm" in j:
        sym, m, warn = _symbol(j["securityRealm"], "hudson.security.SecurityRealm",
                               {"local": ["hudsonPrivate", "hudsonPrivateSecurityRealm"]}, allow_scalar=False)
        if warn:
            ctx.warn(warn)
        m = ctx.check_attributes("hudson.security.HudsonPrivateSecurityRealm", m,
                                 ["allowsSignup", "captchaSupport", "enableCaptcha", "users"])
        users = []
        for u in m.get("users") or []:
            u = ctx.check_attributes("io.jenkins.plugins.casc.core.HudsonPrivateSecurityRealmConfigurator$UserWithPassword",
                                     u, ["id", "name", "password", "properties"])
            if not u.get("id"):
                raise ConfiguratorError("Failed to set attribute users: id is required")
            pw = u.get("password")
            if pw is not None:
                pw = str(pw)
                dec = jenkins.secret_codec.decrypt(pw)
                pw = dec if dec is not None else pw
            users.append((str(u["id"]), pw, str(u.get("name") or u["id"])))
        cfg.security_realm = {"local": {"allowsSignup": _as_bool(m.get("allowsSignup", False))}}
        cfg.users = users
    if "authorizationStrategy" in j:
        sym, m, warn = _symbol(j["authorizationStrategy"], "hudson.security.AuthorizationStrategy",
                               {"unsecured": ["unsecuredAuthorizationStrategy"],
                                "loggedInUsersCanDoAnything": ["fullControlOnceLoggedIn",
                                                               "fullControlOnceLoggedInAuthorizationStrategy"],
                                "legacy": ["legacyAuthorizationStrategy"]})
        if warn:
            ctx.warn(warn)
        if sym == "unsecured":
            ctx.check_attributes("hudson.security.AuthorizationStrategy$Unsecured", m, [])
            cfg.authorization = sec.AuthorizationStrategy()
        elif sym == "legacy":
            ctx.check_attributes("hudson.security.LegacyAuthorizationStrategy", m, [])
            cfg.authorization = sec.Legacy()
        else:
            m = ctx.check_attributes("hudson.security.FullControlOnceLoggedInAuthorizationStrategy", m,
                                     ["allowAnonymousRead"])
            cfg.authorization = sec.FullControlOnceLoggedIn(_as_bool(m.get("allowAnonymousRead", True)))
    if "clouds" in j:
        for item in j["clouds"] or []:
            if not isinstance(item, dict) or len(item) != 1:
                raise ConfiguratorError("Single entry map expected to configure a hudson.slaves.Cloud")
            sym, mapping = next(iter(item.items()))
            conf, preferred = find_cloud_configurator(sym)
            if conf is None or not jenkins.plugin_manager.is_active(conf.plugin):
                raise ConfiguratorError(f"No hudson.slaves.Cloud implementation found for {sym}")
            if not preferred:
                ctx.warn(f"'{sym}' is obsolete, please use '{conf.symbol}'")
            cloud = conf.configure(mapping if mapping is not None else {}, ctx)
            cfg.clouds.append((conf.symbol, cloud))
        names = [c.name for _, c in cfg.clouds]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            # Jenkins.CloudList keeps duplicates but Jenkins#getCloud(name) then is ambiguous; the
            # Kubernetes plugin refuses duplicate names in the UI only.  Keep them, warn.
            ctx.warn(f"Duplicate cloud names: {', '.join(sorted(dup))}")
    if "nodes" in j:
        for item in j["nodes"] or []:
            sym, m, warn = _symbol(item, "hudson.model.Node", {"permanent": ["dumbSlave", "slave"]}, allow_scalar=False)
            m = ctx.check_attributes("hudson.slaves.DumbSlave", m,
                                     ["labelString", "launcher", "mode", "name", "nodeDescription", "nodeProperties",
                                      "numExecutors", "remoteFS", "retentionStrategy"])
            if not m.get("name"):
                raise ConfiguratorError("Failed to instantiate class hudson.slaves.DumbSlave: name is required")
            node = Node(str(m["name"]), str(m.get("labelString") or "").split(), _as_int(m.get("numExecutors", 1), "numExecutors"),
                        description=str(m.get("nodeDescription") or ""), mode=str(m.get("mode", "NORMAL")).upper(),
                        remote_fs=str(m.get("remoteFS") or "/home/jenkins/agent"))
            node.offline_cause = None
            node.casc = {"permanent": dict(m)}
            cfg.nodes.append(node)
    if "views" in j:
        views = []
        for item in j["views"] or []:
            sym, m, warn = _symbol(item, "hudson.model.View", {"all": [], "list": ["listView"], "myView": []},
                                   allow_scalar=False)
            if sym == "all":
                m = ctx.check_attributes("hudson.model.AllView", m, ["description", "name", "properties"])
            views.append({sym: m})
        cfg.views = views or cfg.views

    u = doc.get("unclassified") or {}
    u_attrs = ["administrativeMonitorsConfiguration", "buildDiscarders", "fingerprints", "location", "nodeProperties"]
    if jenkins.plugin_manager.is_active("configuration-as-code"):
        u_attrs.append("casCGlobalConfig")
    if jenkins.plugin_manager.is_active("git"):
        u_attrs += ["gitSCM", "scmGit"]
    if jenkins.plugin_manager.is_active("mailer"):
        u_attrs.append("mailer")
    u = ctx.check_attributes("jenkins.model.GlobalConfigurationCategory$Unclassified", u, u_attrs)
    if "location" in u:
        loc = ctx.check_attributes("jenkins.model.JenkinsLocationConfiguration", u["location"] or {},
                                   ["adminAddress", "url"])
        if loc.get("url"):
            url = str(loc["url"])
            cfg.location_url = url if url.endswith("/") else url + "/"   # JenkinsLocationConfiguration#setUrl
        if "adminAddress" in loc:
            cfg.admin_address = loc["adminAddress"]
    for k in u:
        if k != "location":
            cfg.verbatim["unclassified." + k] = u[k]

    s = doc.get("security") or {}
    s_attrs = ["apiToken", "downloadSettings", "sSHD", "updateSiteWarningsConfiguration", "crumb"]
    if jenkins.plugin_manager.is_active("script-security"):
        s_attrs.append("scriptApproval")
    s = ctx.check_attributes("jenkins.model.GlobalConfigurationCategory$Security", s, s_attrs)
    if "apiToken" in s:
        cfg.api_token = ctx.check_attributes("jenkins.security.apitoken.ApiTokenPropertyConfiguration", s["apiToken"] or {},
                                             ["creationOfLegacyTokenEnabled", "tokenGenerationOnCreationEnabled",
                                              "usageStatisticsEnabled"])
    for k in s:
        if k != "apiToken":
            cfg.verbatim["security." + k] = s[k]

    for k in ("tool", "appearance"):
        if k in doc:
            cfg.verbatim[k] = doc[k]   # accepted, not emulated

    if "credentials" in doc:
        c = ctx.check_attributes("com.cloudbees.plugins.credentials.GlobalCredentialsConfiguration",
                                 doc["credentials"] or {}, ["system"])
        sysc = ctx.check_attributes("com.cloudbees.plugins.credentials.SystemCredentialsProvider",
                                    c.get("system") or {}, ["domainCredentials"])
        for dc in sysc.get("domainCredentials") or []:
            dc = ctx.check_attributes("com.cloudbees.plugins.credentials.domains.DomainCredentials", dc or {},
                                      ["credentials", "domain"])
            if dc.get("domain"):
                cfg.credential_domains.append(dc)
                continue
            for item in dc.get("credentials") or []:
                cfg.credentials.append(_credential(jenkins, ctx, item))
        ids = [c.id for c in cfg.credentials]
        if len(ids) != len(set(ids)):
            ctx.warn("Duplicate credential ids: " + ", ".join(sorted({i for i in ids if ids.count(i) > 1})))
    return cfg, ctx


def _credential(jenkins, ctx, item) -> Credential:
    known = {"usernamePassword": []}
    if jenkins.plugin_manager.is_active("plain-credentials"):
        known.update({"string": [], "file": []})
    if jenkins.plugin_manager.is_active("ssh-credentials"):
        known["basicSSHUserPrivateKey"] = []
    sym, m, warn = _symbol(item, "com.cloudbees.plugins.credentials.Credentials", known, allow_scalar=False)
    java = Credential.JAVA[sym]
    dec = jenkins.secret_codec.decrypt

    def secret(v):
        if v is None:
            return None
        v = str(v)
        d = dec(v)
        return d if d is not None else v

    if sym == "usernamePassword":
        m = ctx.check_attributes(java, m, ["description", "id", "password", "scope", "username", "usernameSecret"])
        cred = Credential(sym, str(m.get("id") or ""), str(m.get("scope", "GLOBAL")), str(m.get("description") or ""),
                          username=str(m.get("username") or ""), password=secret(m.get("password")),
                          username_secret=_as_bool(m.get("usernameSecret", False)))
    elif sym == "string":
        m = ctx.check_attributes(java, m, ["description", "id", "scope", "secret"])
        cred = Credential(sym, str(m.get("id") or ""), str(m.get("scope", "GLOBAL")), str(m.get("description") or ""),
                          secret=secret(m.get("secret")))
    elif sym == "file":
        m = ctx.check_attributes(java, m, ["description", "fileName", "id", "scope", "secretBytes"])
        cred = Credential(sym, str(m.get("id") or ""), str(m.get("scope", "GLOBAL")), str(m.get("description") or ""),
                          file_name=str(m.get("fileName") or ""), secret_bytes=secret(m.get("secretBytes")))
    else:
        m = ctx.check_attributes(java, m, ["description", "id", "passphrase", "privateKeySource", "scope", "username",
                                           "usernameSecret"])
        src = m.get("privateKeySource") or {}
        key = None
        if isinstance(src, dict) and "directEntry" in src:
            key = (src["directEntry"] or {}).get("privateKey")
        cred = Credential(sym, str(m.get("id") or ""), str(m.get("scope", "GLOBAL")), str(m.get("description") or ""),
                          username=str(m.get("username") or ""), private_key=secret(key),
                          passphrase=secret(m.get("passphrase")))
    if cred.scope not in ("GLOBAL", "SYSTEM"):
        raise ConfiguratorError(f"No enum constant com.cloudbees.plugins.credentials.CredentialsScope.{cred.scope}")
    if not cred.id:
        import uuid
        cred.id = str(uuid.uuid4())   # BaseStandardCredentials#IdCredentials.Helper: random id when blank
    return cred


# ---------------------------------------------------------------------------------------------
# export


def export(jenkins) -> dict:
    cfg: SystemConfig = jenkins.config
    enc = jenkins.secret_codec.encrypt
    j: dict = {}
    if cfg.verbatim.get("agentProtocols") is not None:
        j["agentProtocols"] = cfg.verbatim["agentProtocols"]
    az = jenkins.authorization
    j["authorizationStrategy"] = az.export()
    if jenkins.config.clouds:
        clouds = []
        for symbol, cloud in cfg.clouds:
            conf, _ = find_cloud_configurator(symbol)
            clouds.append({symbol: conf.export(cloud) if conf else {"name": cloud.name}})
        j["clouds"] = clouds
    if jenkins.crumb_issuer is not None:
        j["crumbIssuer"] = "standard"
    j["disableRememberMe"] = cfg.disable_remember_me
    j["labelAtoms"] = [{"name": a} for a in sorted(set(jenkins.builtin_labels()))]
    if cfg.label_string:
        j["labelString"] = cfg.label_string
    j["markupFormatter"] = cfg.markup_formatter
    j["mode"] = cfg.mode
    j["myViewsTabBar"] = "standard"
    if cfg.nodes:
        j["nodes"] = [getattr(n, "casc", {"permanent": {"name": n.name}}) for n in cfg.nodes]
    j["numExecutors"] = cfg.num_executors
    j["primaryView"] = {"all": {"name": "all"}}
    j["projectNamingStrategy"] = "standard"
    j["quietPeriod"] = cfg.quiet_period
    j["remotingSecurity"] = {"enabled": cfg.remoting_security}
    j["scmCheckoutRetryCount"] = cfg.scm_checkout_retry_count
    if jenkins.security_realm_kind == "local":
        users = [{"id": u.id, "name": u.full_name,
                  "properties": ["apiToken", {"mailer": {"emailAddress": ""}} if jenkins.plugin_manager.is_active("mailer") else "myView"]}
                 for u in sorted(jenkins.users.users.values(), key=lambda u: u.id)]
        j["securityRealm"] = {"local": {"allowsSignup": jenkins.allows_signup, "users": users}}
    j["slaveAgentPort"] = jenkins.slave_agent_port
    if cfg.system_message is not None:
        j["systemMessage"] = cfg.system_message
    j["updateCenter"] = {"sites": [{"id": "default", "url": "https://updates.jenkins.io/update-center.json"}]}
    j["views"] = cfg.views
    j["viewsTabBar"] = "standard"
    for k, v in cfg.verbatim.items():
        if "." not in k and k not in ("tool", "appearance") and k not in j:
            j[k] = v

    out = {"jenkins": j}
    if jenkins.plugin_manager.is_active("credentials"):
        creds = []
        for c in cfg.credentials:
            if c.kind == "usernamePassword":
                d = {"description": c.description or None, "id": c.id, "password": enc(c.password or ""),
                     "scope": c.scope, "username": c.username}
                if c.username_secret:
                    d["usernameSecret"] = True
            elif c.kind == "string":
                d = {"description": c.description or None, "id": c.id, "scope": c.scope, "secret": enc(c.secret or "")}
            elif c.kind == "file":
                d = {"description": c.description or None, "fileName": c.file_name, "id": c.id, "scope": c.scope,
                     "secretBytes": enc(c.secret_bytes or "")}
            else:
                d = {"id": c.id, "privateKeySource": {"directEntry": {"privateKey": enc(c.private_key or "")}},
                     "scope": c.scope, "username": c.username}
                if c.passphrase:
                    d["passphrase"] = enc(c.passphrase)
            creds.append({c.kind: {k: v for k, v in d.items() if v is not None}})
        domain_creds = ([{"credentials": creds}] if creds else []) + list(cfg.credential_domains)
        out["credentials"] = {"system": {"domainCredentials": domain_creds}} if domain_creds else {}
    sec = {"apiToken": {"creationOfLegacyTokenEnabled": bool(cfg.api_token.get("creationOfLegacyTokenEnabled", False)),
                        "tokenGenerationOnCreationEnabled": bool(cfg.api_token.get("tokenGenerationOnCreationEnabled", False)),
                        "usageStatisticsEnabled": bool(cfg.api_token.get("usageStatisticsEnabled", True))}}
    for k, v in cfg.verbatim.items():
        if k.startswith("security."):
            sec[k.split(".", 1)[1]] = v
    out["security"] = sec
    unc = {}
    if cfg.location_url or cfg.admin_address:
        loc = {}
        if cfg.admin_address:
            loc["adminAddress"] = cfg.admin_address
        if cfg.location_url:
            loc["url"] = cfg.location_url
        unc["location"] = loc
    for k, v in cfg.verbatim.items():
        if k.startswith("unclassified."):
            unc[k.split(".", 1)[1]] = v
    out["unclassified"] = unc
    out["tool"] = cfg.verbatim.get("tool", {})
    return out


def dump_yaml(data) -> str:
    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper, value):
        style = "|" if "\n" in value else ('"' if value.startswith("{") or value == "" else None)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


def schema() -> dict:
    """A minimal JSON schema of the root elements we configure (``/configuration-as-code/schema``)."""
    def obj(props):
        return {"type": "object", "additionalProperties": False, "properties": {p: {} for p in props}}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "id": "http://jenkins/configuration-as-code#",
            "description": "Jenkins Configuration as Code", "type": "object", "additionalProperties": False,
            "properties": {"jenkins": obj(JENKINS_ATTRS), "unclassified": obj(["location"]),
                           "security": obj(["apiToken"]), "credentials": obj(["system"]), "tool": {"type": "object"},
                           "configuration-as-code": obj(["deprecated", "restricted", "unknown", "version"])}}
