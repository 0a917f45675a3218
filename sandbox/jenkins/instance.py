"""``JenkinsInstance``: the Jenkins controller stand-in (lifecycle, state, scheduling).

The HTTP surface lives in ``sandbox/jenkins/http.py``; JCasC in ``casc.py``; plugins in
``plugins.py``; jobs/queue/builds in ``model.py``; the plugin contract in ``extension.py``.

Lifecycle (reference §2): while starting every path answers 503 with the ``HudsonIsLoading``
page; ``/restart`` swaps to ``HudsonIsRestarting`` (503), the in-process "JVM" is torn down and
everything is reloaded from JENKINS_HOME (what was not persisted is lost), then loading, then up.
A JCasC error at boot leaves ``ConfigurationAsCodeBootFailure`` in place: 503 forever.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import importlib
import logging
import os
import re
import secrets
import shlex
import socket
import threading
import time
import xml.etree.ElementTree as ET
from http.server import ThreadingHTTPServer
from pathlib import Path

import yaml

from . import casc as casc_mod
from . import extension as ext
from . import security as sec
from .extension import AgentConnectError, ConfiguratorError, Label, Node
from .model import (LEFT_ITEM_TTL, BuiltInNode, Build, Failure, Job, QueueItem, check_good_name,
                    parse_config)
from .plugins import PluginManager, UpdateCenter, core_version
from .stapler import Bean, Prop, time_span

LOG = logging.getLogger("sandbox.jenkins")
DEFAULT_STARTUP_SECONDS = 2.5


def parse_java_opts(text: str | None) -> dict:
    """``-Dname=value`` / ``-Dname`` (= "true") system properties from JAVA_OPTS-like strings."""
    props = {}
    if not text:
        return props
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    for w in words:
        if w.startswith("-D") and len(w) > 2:
            k, sep, v = w[2:].partition("=")
            props[k] = v if sep else "true"
    return props


def parse_jenkins_opts(text: str | None) -> dict:
    opts = {}
    if not text:
        return opts
    for w in shlex.split(text):
        if w.startswith("--") and "=" in w:
            k, v = w[2:].split("=", 1)
            opts[k] = v
    return opts


class JenkinsInstance:
    """One Jenkins controller.  See module docstring and docs/dev/architecture.md §3.4."""

    def __init__(self, home, env: dict | None = None, listen_host: str = "127.0.0.1", http_port: int = 0,
                 agent_port: int | None = None, ctx=None, start_delay: float | None = None,
                 request_log=None, faults=None, restart_delay: float | None = None):
        self.home = Path(home if home is not None else (env or {}).get("JENKINS_HOME"))
        self.env = dict(env or {})
        self.env.setdefault("JENKINS_HOME", str(self.home))
        self.listen_host = listen_host
        self.http_port = int(http_port)
        self.agent_port = agent_port
        self.ctx = ctx
        cluster = getattr(ctx, "cluster", None)
        self.request_log = request_log if request_log is not None else getattr(cluster, "request_log", None)
        self.faults = faults if faults is not None else getattr(cluster, "faults", None)
        self.sysprops = parse_java_opts(self.env.get("JAVA_OPTS"))
        self.sysprops.update(parse_java_opts(self.env.get("JENKINS_JAVA_OPTS")))
        jopts = parse_jenkins_opts(self.env.get("JENKINS_OPTS"))
        prefix = jopts.get("prefix", "").rstrip("/")
        self.prefix = ("/" + prefix.lstrip("/")) if prefix else ""
        if start_delay is None:
            start_delay = float(self.sysprops.get("sandbox.startupSeconds",
                                                  self.env.get("SANDBOX_JENKINS_STARTUP_SECONDS", DEFAULT_STARTUP_SECONDS)))
        self.start_delay = float(start_delay)
        if restart_delay is None:
            restart_delay = float(self.sysprops.get("sandbox.restartSeconds", 1.0))
        self.restart_delay = float(restart_delay)
        self.version = self.sysprops.get("sandbox.version", core_version())
        self.session_hash = secrets.token_hex(4)
        self.state = "stopped"           # stopped | loading | up | restarting | casc_failure | failed
        self.state_message = ""
        self.safe_restart = False
        self.lock = threading.RLock()
        self._server = None
        self._server_thread = None
        self._agent_sock = None
        self._agent_thread = None
        self._agent_conns = {}          # node name -> socket of its JNLP4-connect stand-in channel
        self._http_conns = set()        # open (kept-alive) HTTP connections: they die with the "JVM"
        self._threads: list[threading.Thread] = []
        self._stop_event = threading.Event()
        self._generation = 0
        self.logs: list[str] = []
        self._reset_runtime()

    # ------------------------------------------------------------------------------------------
    # logging

    def log(self, text: str):
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
        self.logs.append(line)
        if self.ctx is not None and hasattr(self.ctx, "log"):
            try:
                self.ctx.log(line + "\n")
            except Exception:
                pass
        LOG.debug(line)

    # ------------------------------------------------------------------------------------------
    # runtime state ("the JVM")

    def _reset_runtime(self):
        self.plugin_manager = PluginManager(self.home, log=self.log)
        self.update_center = None
        self.users = sec.UserDatabase(self.home)
        self.sessions = sec.Sessions()
        self.config = casc_mod.SystemConfig()
        self.authorization = sec.AuthorizationStrategy()
        self.security_realm_kind = None
        self.allows_signup = False
        self.crumb_issuer = None
        self.jobs: dict[str, Job] = {}
        self.nodes: dict[str, Node] = {}
        self.builtin = None
        self.queue: list[QueueItem] = []
        self.left_items: dict[int, QueueItem] = {}
        self.queue_iota = 0
        self.quieting_down = False
        self.quiet_down_reason = None
        self.secret_codec = None
        self.jnlp_key = None
        self.slave_agent_port = -1
        self.casc_token = None

    def process_env(self) -> dict:
        """The controller process environment (the container env; the host PATH if none given)."""
        env = dict(self.env)
        env.setdefault("PATH", os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"))
        env.setdefault("HOME", os.environ.get("HOME", "/root") if "HOME" not in self.env else self.env["HOME"])
        return env

    # ------------------------------------------------------------------------------------------
    # lifecycle

    def start(self):
        from .http import make_handler
        if self._server is None:
            handler = make_handler(self)
            self._server = ThreadingHTTPServer((self.listen_host, self.http_port), handler)
            self._server.daemon_threads = True
            self.http_port = self._server.server_address[1]
            self._server_thread = threading.Thread(target=self._server.serve_forever, name=f"jenkins-http-{self.http_port}",
                                                   daemon=True)
            self._server_thread.start()
        self.state = "loading"
        self._stop_event.clear()
        self._spawn(self._boot_after_delay, "jenkins-boot")
        return self

    def _spawn(self, fn, name, *args):
        t = threading.Thread(target=fn, args=args, name=name, daemon=True)
        self._threads.append(t)
        t.start()
        return t

    def _boot_after_delay(self, delay=None):
        gen = self._generation
        if self._stop_event.wait(self.start_delay if delay is None else delay):
            return
        if gen != self._generation:
            return
        try:
            self.boot()
        except ConfiguratorError as exc:
            self.state_message = str(exc)
            self.state = "casc_failure"
            self.log(f"SEVERE\tjenkins.InitReactorRunner$1#onTaskFailed: Failed ConfigurationAsCode.init\n{exc}")
        except Exception as exc:  # HudsonFailedToLoad
            LOG.exception("Jenkins failed to boot")
            self.state_message = f"{type(exc).__name__}: {exc}"
            self.state = "failed"

    def wait_until_up(self, timeout: float = 30.0) -> str:
        end = time.time() + timeout
        while time.time() < end:
            if self.state in ("up", "casc_failure", "failed"):
                return self.state
            time.sleep(0.05)
        return self.state

    def stop(self):
        self._stop_event.set()
        self._generation += 1
        self._teardown()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._close_http_conns()
        self.state = "stopped"

    def _close_http_conns(self):
        with self.lock:
            conns, self._http_conns = list(self._http_conns), set()
        for c in conns:
            _close_socket(c)

    def _teardown(self):
        """The JVM goes away: lifecycle hooks, update center thread, agent listener, running builds."""
        for lc in ext.lifecycles():
            if lc.on_stop and self.plugin_manager.is_active(lc.plugin):
                try:
                    lc.on_stop(self)
                except Exception:
                    LOG.exception("plugin on_stop failed")
        if self.update_center is not None:
            self.update_center.stop()
        self._close_agent_listener()
        with self.lock:
            nodes = list(self.nodes.values()) + ([self.builtin] if self.builtin else [])
        for n in nodes:
            ex = getattr(n, "executor", None)
            procs = getattr(ex, "procs", None)
            if procs:
                for p in list(procs.values()):
                    try:
                        p.kill()
                    except Exception:
                        pass
        for symbol, cloud in list(self.config.clouds):
            if hasattr(cloud, "dispose"):
                try:
                    cloud.dispose()
                except Exception:
                    pass
        self._maint_stop = True

    def restart(self, safe: bool = False):
        """``Jenkins#restart`` / ``#safeRestart``: 503 "restarting", reload from disk, boot."""
        def run():
            if safe:
                self.quieting_down = True
                while any(self._running_builds()):
                    time.sleep(0.1)
            self.safe_restart = safe
            self.state = "restarting"
            self.log("INFO\tjenkins.model.Jenkins#restart: Restarting VM as requested by " + ("safeRestart" if safe else "restart"))
            self._generation += 1
            self._teardown()
            time.sleep(self.restart_delay)
            self._close_http_conns()       # the old JVM's kept-alive connections are gone
            self._reset_runtime()
            self.session_hash = secrets.token_hex(4)
            self.state = "loading"
            self._boot_after_delay()
        self._spawn(run, "jenkins-restart")

    # ------------------------------------------------------------------------------------------
    # boot

    def boot(self):
        self.home.mkdir(parents=True, exist_ok=True)
        self.secret_codec = casc_mod.SecretCodec(self.home)
        self.jnlp_key = self._load_secret_key("jenkins.slaves.JnlpSlaveAgentProtocol.secret")
        self.plugin_manager.load()
        self._import_plugin_modules()
        self.users.load()
        self._seed_tokens = self.env.get("SANDBOX_JENKINS_API_TOKENS", "")
        fresh = not (self.home / "config.xml").exists()
        self._load_config_xml()
        port_env = self.env.get("JENKINS_SLAVE_AGENT_PORT") or self.sysprops.get("jenkins.model.Jenkins.slaveAgentPort")
        if fresh or port_env:
            if port_env:
                self.slave_agent_port = int(port_env)
            elif fresh:
                # Jenkins#slaveAgentPort initial value: 0 (random port) unless the system property
                # jenkins.model.Jenkins.slaveAgentPort is set (the official image's jenkins.sh passes
                # JENKINS_SLAVE_AGENT_PORT through it)
                self.slave_agent_port = 0
        # JCasC (ConfigurationAsCode#init, after SYSTEM_CONFIG_LOADED)
        casc_applied = False
        if self.plugin_manager.is_active("configuration-as-code"):
            sources = casc_mod.candidate_sources(self)
            if sources:
                docs = casc_mod.load_documents(sources)
                strategy = self.env.get("CASC_MERGE_STRATEGY") or self.sysprops.get("casc.merge.strategy") or "errorOnConflict"
                merged = casc_mod.merge(docs, strategy)
                cfg, cctx = casc_mod.configure(self, merged)
                self.apply_config(cfg, merged)
                casc_applied = True
                for w in cctx.warnings:
                    self.log("WARNING\tio.jenkins.plugins.casc: " + w)
            token = self.env.get("CASC_RELOAD_TOKEN") or self.sysprops.get("casc.reload.token")
            self.casc_token = token or None
        if fresh and not casc_applied:
            self._initial_setup()
        # sandbox-only knob: "user:token,user2:token2" pre-seeds API tokens for existing users
        for pair in filter(None, (p.strip() for p in self._seed_tokens.split(","))):
            uid, _, value = pair.partition(":")
            self.users.add_known_token(uid, "seeded", value)
        self._setup_security_objects()
        self.builtin = BuiltInNode(self)
        self._sync_builtin()
        self._load_jobs()
        self.update_center = UpdateCenter(self)
        self._open_agent_listener()
        self.save_config()
        self._maint_stop = False
        self._spawn(self._maintenance_loop, "jenkins-queue", self._generation)
        for lc in ext.lifecycles():
            if lc.on_start and self.plugin_manager.is_active(lc.plugin):
                lc.on_start(self)
        self.state = "up"
        self.quieting_down = False
        self.log("INFO\thudson.lifecycle.Lifecycle#onReady: Jenkins is fully up and running")

    def _load_secret_key(self, name):
        p = self.home / "secrets" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists():
            p.write_text(secrets.token_hex(32))
        return p.read_text().strip().encode()

    def _import_plugin_modules(self):
        for plugin, module in ext.PLUGIN_MODULES.items():
            if self.plugin_manager.is_active(plugin):
                try:
                    importlib.import_module(module)
                except ImportError as exc:
                    self.log(f"WARNING\tsandbox: plugin module {module} not importable: {exc}")

    def on_plugin_loaded(self, name):
        """Dynamic load of a freshly installed plugin."""
        module = ext.PLUGIN_MODULES.get(name)
        if module:
            try:
                importlib.import_module(module)
            except ImportError:
                pass
        for lc in ext.lifecycles():
            if lc.plugin == name and lc.on_start:
                try:
                    lc.on_start(self)
                except Exception:
                    LOG.exception("on_start failed")

    def _initial_setup(self):
        """Fresh JENKINS_HOME without JCasC security: the setup wizard's secured default, or unsecured
        when ``-Djenkins.install.runSetupWizard=false`` (``jenkins.install.SetupWizard#init``)."""
        if self.sysprops.get("jenkins.install.runSetupWizard", "true").lower() == "false":
            return
        if self.config.security_realm is not None:
            return
        password = secrets.token_hex(16)
        p = self.home / "secrets" / "initialAdminPassword"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(password + "\n")
        self.users.upsert("admin", password, "admin")
        self.users.save()
        self.config.security_realm = {"local": {"allowsSignup": False}}
        self.config.authorization = sec.FullControlOnceLoggedIn(allow_anonymous_read=False)
        if self.config.crumb_exclude_session is None:
            self.config.crumb_exclude_session = False
        self.log("INFO\tjenkins.install.SetupWizard#init: Jenkins initial setup is required. An admin user has been "
                 f"created and a password generated.\nPlease use the following password to proceed to installation:\n\n"
                 f"{password}\n\nThis may also be found at: {p}")

    def _setup_security_objects(self):
        cfg = self.config
        self.security_realm_kind = "local" if cfg.security_realm else None
        self.allows_signup = bool(cfg.security_realm and cfg.security_realm["local"].get("allowsSignup"))
        self.authorization = cfg.authorization or sec.AuthorizationStrategy()
        disable_csrf = self.sysprops.get("hudson.security.csrf.GlobalCrumbIssuerConfiguration.DISABLE_CSRF_PROTECTION",
                                         "false").lower() == "true"
        if disable_csrf:
            self.crumb_issuer = None
        else:
            # Jenkins 2.222+: a crumb issuer is always configured unless CSRF protection is disabled
            exclude = self.sysprops.get("hudson.security.csrf.DefaultCrumbIssuer.EXCLUDE_SESSION_ID", "false").lower() == "true"
            field = self.sysprops.get("hudson.security.csrf.requestfield", "Jenkins-Crumb")
            if self.crumb_issuer is None or self.crumb_issuer.exclude_session_id != exclude:
                self.crumb_issuer = sec.CrumbIssuer(exclude, field)

    def apply_config(self, cfg: casc_mod.SystemConfig, doc: dict | None = None):
        """Apply a configured SystemConfig: only attributes present in the YAML change
        (``BaseConfigurator#configure`` sets what is there); lists given are replaced wholesale."""
        present = _present(doc or {})
        cur = self.config
        new = copy.copy(cur)
        new.verbatim = dict(cur.verbatim)
        fields = {"systemMessage": ["system_message"], "numExecutors": ["num_executors"], "mode": ["mode"],
                  "labelString": ["label_string"], "slaveAgentPort": ["slave_agent_port"], "quietPeriod": ["quiet_period"],
                  "scmCheckoutRetryCount": ["scm_checkout_retry_count"], "disableRememberMe": ["disable_remember_me"],
                  "remotingSecurity": ["remoting_security"], "markupFormatter": ["markup_formatter"],
                  "crumbIssuer": ["crumb_exclude_session"], "securityRealm": ["security_realm", "users"],
                  "authorizationStrategy": ["authorization"], "clouds": ["clouds"], "nodes": ["nodes"], "views": ["views"],
                  "location": ["location_url", "admin_address"], "credentials": ["credentials", "credential_domains"],
                  "apiToken": ["api_token"]}
        for key, attrs in fields.items():
            if key in present:
                for a in attrs:
                    setattr(new, a, getattr(cfg, a))
        new.verbatim.update(cfg.verbatim)
        old_clouds = cur.clouds
        with self.lock:
            self.config = new
            if "slaveAgentPort" in present and cfg.slave_agent_port is not None:
                self.slave_agent_port = cfg.slave_agent_port
            if "securityRealm" in present:
                for uid, pw, name in cfg.users:
                    self.users.upsert(uid, pw, name)
                self.users.save()
            if "nodes" in present:
                for n in list(self.nodes.values()):
                    if getattr(n, "casc", None) is not None:
                        self.nodes.pop(n.name, None)
                for n in cfg.nodes:
                    self.add_node(n)
        if "clouds" in present:
            kept = {id(c) for _, c in new.clouds}
            for _, c in old_clouds:
                if id(c) not in kept and hasattr(c, "dispose"):
                    try:
                        c.dispose()
                    except Exception:
                        LOG.exception("cloud dispose failed")
        if self.builtin is not None:
            self._setup_security_objects()
            self._sync_builtin()
            self._open_agent_listener()

    def _sync_builtin(self):
        b = self.builtin
        b.num_executors = self.config.num_executors
        b.labels = self.config.label_string.split()
        b.mode = self.config.mode

    def builtin_labels(self):
        return self.builtin.all_labels if self.builtin else ["built-in"]

    # ------------------------------------------------------------------------------------------
    # persistence of global config (config.xml, credentials.xml, location)

    def save_config(self):
        cfg = self.config
        r = ET.Element("hudson")
        ET.SubElement(r, "version").text = self.version
        ET.SubElement(r, "numExecutors").text = str(cfg.num_executors)
        ET.SubElement(r, "mode").text = cfg.mode
        ET.SubElement(r, "useSecurity").text = "true" if self.is_use_security() else "false"
        az = ET.SubElement(r, "authorizationStrategy", {"class": self.authorization.java_class})
        if isinstance(self.authorization, sec.FullControlOnceLoggedIn):
            ET.SubElement(az, "denyAnonymousReadAccess").text = "false" if self.authorization.allow_anonymous_read else "true"
        if cfg.security_realm:
            sr = ET.SubElement(r, "securityRealm", {"class": "hudson.security.HudsonPrivateSecurityRealm"})
            ET.SubElement(sr, "disableSignup").text = "false" if self.allows_signup else "true"
        else:
            ET.SubElement(r, "securityRealm", {"class": "hudson.security.SecurityRealm$None"})
        ET.SubElement(r, "disableRememberMe").text = str(cfg.disable_remember_me).lower()
        ET.SubElement(r, "label").text = cfg.label_string
        if cfg.system_message is not None:
            ET.SubElement(r, "systemMessage").text = cfg.system_message
        ET.SubElement(r, "quietPeriod").text = str(cfg.quiet_period)
        ET.SubElement(r, "scmCheckoutRetryCount").text = str(cfg.scm_checkout_retry_count)
        ET.SubElement(r, "slaveAgentPort").text = str(self.slave_agent_port)
        if cfg.crumb_exclude_session is not None:
            ci = ET.SubElement(r, "crumbIssuer", {"class": "hudson.security.csrf.DefaultCrumbIssuer"})
            ET.SubElement(ci, "excludeClientIPFromCrumb").text = "false"
        clouds = ET.SubElement(r, "clouds")
        from .extension import find_cloud_configurator
        for symbol, cloud in cfg.clouds:
            conf, _ = find_cloud_configurator(symbol)
            if conf is None:
                continue
            e = ET.SubElement(clouds, "sandbox.cloud", {"symbol": symbol, "plugin": f"{conf.plugin}@{self.plugin_version(conf.plugin) or ''}"})
            e.text = yaml.safe_dump(conf.export(cloud), sort_keys=False)
        views = ET.SubElement(r, "sandbox.views")
        views.text = yaml.safe_dump(cfg.views)
        ET.indent(r, "  ")
        self._write(self.home / "config.xml", r)
        loc = ET.Element("jenkins.model.JenkinsLocationConfiguration")
        if cfg.admin_address:
            ET.SubElement(loc, "adminAddress").text = cfg.admin_address
        if cfg.location_url:
            ET.SubElement(loc, "jenkinsUrl").text = cfg.location_url
        self._write(self.home / "jenkins.model.JenkinsLocationConfiguration.xml", loc)
        if self.plugin_manager.is_active("credentials"):
            c = ET.Element("com.cloudbees.plugins.credentials.SystemCredentialsProvider",
                           {"plugin": f"credentials@{self.plugin_version('credentials')}"})
            dm = ET.SubElement(ET.SubElement(c, "domainCredentialsMap", {"class": "hudson.util.CopyOnWriteMap$Hash"}), "entry")
            ET.SubElement(dm, "com.cloudbees.plugins.credentials.domains.Domain").append(ET.Element("specifications"))
            lst = ET.SubElement(dm, "java.util.concurrent.CopyOnWriteArrayList")
            enc = self.secret_codec.encrypt
            for cr in cfg.credentials:
                e = ET.SubElement(lst, casc_mod.Credential.JAVA[cr.kind])
                for k, v in cr.as_dict().items():
                    if k == "type" or v is None:
                        continue
                    ET.SubElement(e, k).text = enc(v) if k in ("password", "secret", "secret_bytes", "private_key", "passphrase") else str(v)
            self._write(self.home / "credentials.xml", c)

    def _write(self, path: Path, root: ET.Element):
        ET.indent(root, "  ")
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_text("<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n")
        tmp.replace(path)

    def _load_config_xml(self):
        cfg = self.config
        p = self.home / "config.xml"
        if p.exists():
            r = parse_config(p.read_bytes())
            cfg.num_executors = int(r.findtext("numExecutors") or 2)
            cfg.mode = r.findtext("mode") or "NORMAL"
            cfg.label_string = r.findtext("label") or ""
            cfg.system_message = r.findtext("systemMessage")
            cfg.quiet_period = int(r.findtext("quietPeriod") or 5)
            cfg.scm_checkout_retry_count = int(r.findtext("scmCheckoutRetryCount") or 0)
            cfg.disable_remember_me = (r.findtext("disableRememberMe") or "false") == "true"
            self.slave_agent_port = int(r.findtext("slaveAgentPort") or -1)
            sr = r.find("securityRealm")
            if sr is not None and sr.get("class") == "hudson.security.HudsonPrivateSecurityRealm":
                cfg.security_realm = {"local": {"allowsSignup": (sr.findtext("disableSignup") or "true") == "false"}}
            az = r.find("authorizationStrategy")
            cls = az.get("class") if az is not None else ""
            if cls == sec.FullControlOnceLoggedIn.java_class:
                cfg.authorization = sec.FullControlOnceLoggedIn((az.findtext("denyAnonymousReadAccess") or "false") != "true")
            elif cls == sec.Legacy.java_class:
                cfg.authorization = sec.Legacy()
            else:
                cfg.authorization = sec.AuthorizationStrategy()
            ci = r.find("crumbIssuer")
            cfg.crumb_exclude_session = False if ci is not None else None
            views = r.findtext("sandbox.views")
            if views:
                cfg.views = yaml.safe_load(views)
            from .extension import ConfigurationContext, find_cloud_configurator
            for e in r.iter("sandbox.cloud"):
                conf, _ = find_cloud_configurator(e.get("symbol", ""))
                if conf is None or not self.plugin_manager.is_active(conf.plugin):
                    # plugin gone: real Jenkins logs a failed-to-load "OldData" and drops the cloud
                    self.log(f"WARNING\tjenkins.model.Jenkins: dropping cloud of unavailable plugin {e.get('symbol')}")
                    continue
                try:
                    # loading persisted state is lenient like XStream (RobustReflectionConverter)
                    cfg.clouds.append((conf.symbol, conf.configure(yaml.safe_load(e.text or "{}") or {},
                                                                   ConfigurationContext(jenkins=self, unknown="warn",
                                                                                        deprecated="warn"))))
                except ConfiguratorError as exc:
                    self.log(f"WARNING\tjenkins.model.Jenkins: failed to load cloud: {exc}")
        lp = self.home / "jenkins.model.JenkinsLocationConfiguration.xml"
        if lp.exists():
            r = parse_config(lp.read_bytes())
            cfg.location_url = r.findtext("jenkinsUrl")
            cfg.admin_address = r.findtext("adminAddress")
        cp = self.home / "credentials.xml"
        if cp.exists() and self.plugin_manager.is_active("credentials"):
            r = parse_config(cp.read_bytes())
            rev = {v: k for k, v in casc_mod.Credential.JAVA.items()}
            for lst in r.iter("java.util.concurrent.CopyOnWriteArrayList"):
                for e in lst:
                    kind = rev.get(e.tag)
                    if not kind:
                        continue
                    vals = {c.tag: c.text for c in e}
                    for k in ("password", "secret", "secret_bytes", "private_key", "passphrase"):
                        if vals.get(k):
                            vals[k] = self.secret_codec.decrypt(vals[k]) or vals[k]
                    vals.pop("type", None)
                    cfg.credentials.append(casc_mod.Credential(kind=kind, **{k: v for k, v in vals.items()
                                                                              if k in casc_mod.Credential.__dataclass_fields__}))

    def _load_jobs(self):
        jdir = self.home / "jobs"
        LOG.info("loading jobs from %s: %s", jdir, sorted(p.name for p in jdir.iterdir()) if jdir.is_dir() else None)
        if not jdir.is_dir():
            return
        for d in sorted(jdir.iterdir()):
            if d.is_dir() and (d / "config.xml").exists():
                try:
                    self.jobs[d.name] = Job.load(self, d)
                except Exception as exc:
                    LOG.warning("Failed Loading item %s: %s", d.name, exc)
                    self.log(f"WARNING\tjenkins.model.Jenkins: Failed Loading item {d.name}: {exc}")

    # ------------------------------------------------------------------------------------------
    # JCasC operations

    def casc_configure_sources(self, extra_yaml: str | None = None, dry_run: bool = False):
        """Load standard sources (+ an appended document), merge, configure.  -> (cfg, merged, ctx)"""
        sources = casc_mod.candidate_sources(self)
        docs = casc_mod.load_documents(sources)
        if extra_yaml is not None:
            docs.append(("request body", casc_mod.parse_yaml(extra_yaml, "request body")))
        strategy = self.env.get("CASC_MERGE_STRATEGY") or self.sysprops.get("casc.merge.strategy") or "errorOnConflict"
        merged = casc_mod.merge(docs, strategy)
        cfg, cctx = casc_mod.configure(self, merged, dry_run=dry_run)
        return cfg, merged, cctx

    def casc_reload(self, extra_yaml: str | None = None):
        cfg, merged, cctx = self.casc_configure_sources(extra_yaml)
        self.apply_config(cfg, merged)
        self.save_config()
        for w in cctx.warnings:
            self.log("WARNING\tio.jenkins.plugins.casc: " + w)
        return cctx

    # ------------------------------------------------------------------------------------------
    # security helpers

    def is_use_security(self) -> bool:
        return self.security_realm_kind is not None or not type(self.authorization) is sec.AuthorizationStrategy

    def has_permission(self, user: str | None, permission: str) -> bool:
        return self.authorization.has(user, permission)

    # ------------------------------------------------------------------------------------------
    # URLs

    def root_url(self) -> str | None:
        """``Jenkins#getRootUrl`` outside of a request: the configured location URL or None."""
        return self.config.location_url

    _request_local = threading.local()

    def root_url_or_request(self) -> str:
        url = self.config.location_url
        if url:
            return url
        req = getattr(self._request_local, "root", None)
        if req:
            return req
        return f"http://{self.listen_host}:{self.http_port}{self.prefix}/"

    @property
    def base_url(self) -> str:
        """The loopback URL this instance answers on (context prefix included, no trailing slash)."""
        return f"http://{self.listen_host}:{self.http_port}{self.prefix}"

    @property
    def agent_address(self):
        if self._agent_sock is None:
            return None
        return self._agent_sock.getsockname()[:2]

    def plugin_version(self, name):
        pw = self.plugin_manager.get(name)
        return pw.version if pw and pw.active else None

    # ------------------------------------------------------------------------------------------
    # nodes (extension contract)

    def add_node(self, node: Node):
        with self.lock:
            node.jenkins = self
            node.idle_since = time.time()
            self.nodes[node.name] = node
        self.log(f"INFO\thudson.slaves.NodeProvisioner: added node {node.name}")

    def remove_node(self, name: str):
        with self.lock:
            node = self.nodes.pop(name, None)
            conn = self._agent_conns.pop(name, None)
        if conn is not None:
            _close_socket(conn)      # SlaveComputer#disconnect: the remoting channel is closed
        if node is not None:
            node.online = False
            self.log(f"INFO\tjenkins.model.Jenkins: removed node {name}")
        return node

    def get_node(self, name: str):
        if name in ("", "(built-in)", "(master)", "built-in"):
            return self.builtin
        with self.lock:
            return self.nodes.get(name)

    def all_nodes(self) -> list[Node]:
        with self.lock:
            return ([self.builtin] if self.builtin else []) + list(self.nodes.values())

    def jnlp_mac(self, name: str) -> str:
        """``SlaveComputer#getJnlpMac``: HMAC-SHA256 of the agent name with the JNLP secret key."""
        return hmac.new(self.jnlp_key, name.encode(), hashlib.sha256).hexdigest()

    def get_credentials(self, cred_id: str) -> dict | None:
        for c in self.config.credentials:
            if c.id == cred_id:
                return c.as_dict()
        return None

    def agent_connect(self, name, secret, via_url=None, via_tunnel=None, executor=None):
        """An inbound agent connects (``JnlpAgentReceiver`` / ``JnlpSlaveAgentProtocol4``)."""
        if self.state != "up":
            raise AgentConnectError(f"Failed to connect to {via_url or 'Jenkins'}: HTTP 503 Service Unavailable")
        if via_url is not None:
            from urllib.parse import urlsplit
            u = urlsplit(via_url)
            if (u.port or 80) != self.http_port or (u.path.rstrip("/") or "") != self.prefix:
                raise AgentConnectError(f"Failed to connect to {via_url}tcpSlaveAgentListener/: 404 Not Found"
                                        if (u.port or 80) == self.http_port else f"Connection refused: {via_url}")
        if via_tunnel is not None:
            if self.agent_address is None or tuple(via_tunnel)[1] != self.agent_address[1]:
                raise AgentConnectError(f"Connection refused: {via_tunnel[0]}:{via_tunnel[1]}")
        node = self.get_node(name)
        if node is None or node is self.builtin:
            raise AgentConnectError(f"The server rejected the connection: None of the protocols were accepted\n"
                                    f"Agent name {name} is not known")
        if not hmac.compare_digest(self.jnlp_mac(name), str(secret or "")):
            raise AgentConnectError("The server rejected the connection: None of the protocols were accepted\n"
                                    "Authorization failure")
        if node.online:
            raise AgentConnectError(f"The server rejected the connection: {name} is already connected to this controller. "
                                    "Rejecting this connection.")
        if executor is not None:
            node.executor = executor
        node.online = True
        node.offline_cause = None
        node.connect_time = time.time()
        node.idle_since = time.time()
        node.log(f"Remoting version: 3355.v388858a_47b_33\nLauncher: KubernetesLauncher\nCommunication Protocol: "
                 f"JNLP4-connect\nThis is a Unix agent\nAgent successfully connected and online")
        self.log(f"INFO\thudson.TcpSlaveAgentListener$ConnectionHandler#run: Accepted JNLP4-connect connection "
                 f"#{int(time.time()) % 1000} from {via_tunnel or via_url}")
        return node

    def agent_disconnect(self, name, cause: str | None = None):
        node = self.get_node(name)
        if node is not None and node is not self.builtin:
            node.online = False
            node.offline_cause = cause
            node.log(f"Connection was broken{': ' + cause if cause else ''}")

    # agent TCP listener ------------------------------------------------------------------------

    def _open_agent_listener(self):
        """``TcpSlaveAgentListener``: on ``agent_port`` when the runtime maps one (the container port is
        then ``slaveAgentPort``), else on ``slaveAgentPort`` itself (0 = a random port); -1 = disabled."""
        want = self.slave_agent_port != -1
        bind_port = int(self.agent_port) if self.agent_port is not None else max(0, self.slave_agent_port)
        if want and self._agent_sock is not None and self.agent_port is None and self.slave_agent_port > 0 \
                and self._agent_sock.getsockname()[1] != self.slave_agent_port:
            self._close_agent_listener()
        if want and self._agent_sock is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((self.listen_host, bind_port))
            except OSError as exc:
                self.log(f"SEVERE\thudson.TcpSlaveAgentListener: Failed to listen on port {bind_port}: {exc}")
                s.close()
                return
            s.listen(16)
            self._agent_sock = s
            self._agent_thread = threading.Thread(target=self._agent_accept, args=(s,), daemon=True,
                                                  name="TCP agent listener")
            self._agent_thread.start()
        elif not want:
            self._close_agent_listener()

    @property
    def advertised_agent_port(self):
        """``X-Jenkins-JNLP-Port``: the configured port, or the one really bound for 0."""
        if self._agent_sock is None:
            return None
        return self.slave_agent_port if self.slave_agent_port > 0 else self._agent_sock.getsockname()[1]

    def _close_agent_listener(self):
        with self.lock:
            conns, self._agent_conns = list(self._agent_conns.values()), {}
        for c in conns:
            _close_socket(c)
        s, self._agent_sock = self._agent_sock, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _agent_accept(self, s):
        while True:
            try:
                conn, addr = s.accept()
            except OSError:
                return
            threading.Thread(target=self._agent_conn, args=(conn, addr), daemon=True).start()

    def _agent_conn(self, conn, addr):
        """Line protocol standing in for JNLP4-connect: ``JNLP4-connect <name> <secret>\\n`` ->
        ``Welcome\\n`` or ``ERROR <message>\\n``; the node stays online while the socket is open."""
        name = None
        try:
            f = conn.makefile("rwb")
            line = f.readline(4096).decode("utf-8", "replace").strip()
            parts = line.split()
            if len(parts) != 3 or parts[0] != "JNLP4-connect":
                f.write(b"ERROR Unknown protocol\n")
                f.flush()
                return
            try:
                self.agent_connect(parts[1], parts[2], None, (addr[0], self.agent_address[1]) if self.agent_address else None)
                name = parts[1]
                with self.lock:
                    self._agent_conns[name] = conn
                f.write(b"Welcome\n")
                f.flush()
            except AgentConnectError as exc:
                f.write(("ERROR " + str(exc).replace("\n", " ") + "\n").encode())
                f.flush()
                return
            while f.readline():
                pass
        except OSError:
            pass
        finally:
            if name:
                with self.lock:
                    mine = self._agent_conns.get(name) is conn
                    if mine:
                        self._agent_conns.pop(name, None)
                if mine:
                    self.agent_disconnect(name, "Connection closed")
            try:
                conn.close()
            except OSError:
                pass

    # ------------------------------------------------------------------------------------------
    # queue & builds

    def list_jobs(self) -> list:
        with self.lock:
            return list(self.jobs.values())

    def _running_builds(self):
        for j in self.list_jobs():
            for b in j.building():
                yield b

    def schedule(self, job: Job, delay: float | None, causes: list, params: dict | None = None):
        """``Queue#schedule2``: returns (item, created)."""
        params = params or {}
        with self.lock:
            for it in self.queue:
                if it.job is job and it.params == params:
                    return it, False
            self.queue_iota += 1
            if delay is None:
                delay = job.quiet_period if job.quiet_period is not None else self.config.quiet_period
            it = QueueItem(self.queue_iota, job, time.time() + max(0.0, float(delay)), causes, params)
            it.why = f"In the quiet period. Expires in {time_span(max(0, delay) * 1000)}"
            self.queue.append(it)
            return it, True

    def cancel_item(self, qid: int) -> bool | None:
        with self.lock:
            for it in self.queue:
                if it.id == qid:
                    self.queue.remove(it)
                    it.state = "left"
                    it.cancelled = True
                    it.left_at = time.time()
                    self.left_items[it.id] = it
                    return True
        return None

    def get_item(self, qid: int):
        with self.lock:
            for it in self.queue:
                if it.id == qid:
                    return it
            it = self.left_items.get(qid)
            if it and time.time() - it.left_at <= LEFT_ITEM_TTL:
                return it
        return None

    def _maintenance_loop(self, generation):
        while not self._stop_event.is_set() and generation == self._generation:
            try:
                self.maintain()
            except Exception:
                LOG.exception("queue maintenance failed")
            self._stop_event.wait(0.2)

    def maintain(self):
        """``Queue#maintain`` + ``NodeProvisioner`` (NoDelayProvisionerStrategy-like)."""
        now = time.time()
        to_provision = []
        with self.lock:
            for qid, it in list(self.left_items.items()):
                if now - it.left_at > LEFT_ITEM_TTL:
                    del self.left_items[qid]
            for it in list(self.queue):
                if it.state == "waiting":
                    if now < it.timestamp:
                        it.why = f"In the quiet period. Expires in {time_span((it.timestamp - now) * 1000)}"
                        continue
                    it.state = "buildable"
                    it.buildable_since = now
                job = it.job
                if self.quieting_down:
                    it.state = "buildable"
                    it.why = "Jenkins is about to shut down"
                    continue
                running = job.building()
                if not job.concurrent and (running or any(o.job is job and o.state == "left" for o in [])):
                    b = running[0]
                    it.state = "blocked"
                    est = job.last(lambda x: not x.building and x.result == "SUCCESS")
                    eta = ""
                    if est is not None and est.duration > 0:
                        remaining = est.duration - (now * 1000 - b.timestamp)
                        eta = f" (ETA: {time_span(max(0, remaining))})" if remaining > 0 else ""
                    it.why = f"Build #{b.number} is already in progress{eta}"
                    continue
                it.state = "buildable"
                label = job.assigned_label()
                node = self._find_executor(label)
                if node is not None:
                    self._start_build(it, node)
                    continue
                it.why, it.stuck = self._cause_of_blockage(label)
                to_provision.append(it)
        # NodeProvisioner: outside the queue lock (clouds call add_node)
        by_label: dict = {}
        for it in to_provision:
            by_label.setdefault(it.job.assigned_label(), []).append(it)
        for label, items in by_label.items():
            planned = sum(n.num_executors for n in self.all_nodes()
                          if n is not self.builtin and not n.online and getattr(n, "provisioned_by", None) is not None
                          and n.can_take(label))
            excess = len(items) - planned
            if excess <= 0:
                continue
            for symbol, cloud in list(self.config.clouds):
                try:
                    if not cloud.can_provision(label):
                        continue
                    added = cloud.provision(label, self, excess) or []
                except Exception as exc:
                    self.log(f"WARNING\thudson.slaves.NodeProvisioner: Unexpected exception encountered while "
                             f"provisioning agent: {exc}")
                    continue
                for n in added:
                    if getattr(n, "provisioned_by", None) is None:
                        n.provisioned_by = cloud.name
                    if n.name not in self.nodes:
                        self.add_node(n)
                excess -= sum(n.num_executors for n in added)
                if excess <= 0:
                    break

    def _find_executor(self, label: Label):
        candidates = self.all_nodes()
        for n in candidates:
            if n.num_executors <= 0 or n.is_offline or n.busy_executors >= n.num_executors:
                continue
            if not getattr(n, "accepting_tasks", True):
                continue
            if n.executor is None:
                continue
            if n.can_take(label):
                return n
        return None

    def label_nodes(self, label: Label) -> list[Node]:
        return [n for n in self.all_nodes() if label.matches(n.all_labels) and (n is not self.builtin or n.num_executors > 0 or True)]

    def label_clouds(self, label: Label):
        out = []
        for symbol, c in self.config.clouds:
            try:
                if c.can_provision(label):
                    out.append(c)
            except Exception:
                pass
        return out

    def _cause_of_blockage(self, label: Label):
        """``Queue.BuildableItem#getCauseOfBlockage`` -> (why, stuck)."""
        if not self.nodes:
            # "no master/agent. pointless to talk about nodes" (Queue.java): with no agents at all the
            # label is ignored and the generic message is shown
            lbl = None
        else:
            lbl = label if label.expression is not None else None
        if lbl is None:
            stuck = not any(n.num_executors > 0 and not n.is_offline for n in self.all_nodes())
            return "Waiting for next available executor", stuck
        nodes = [n for n in self.all_nodes() if label.matches(n.all_labels)]
        # Label#isOffline looks at computers; a node with 0 executors has no computer (offline)
        online = [n for n in nodes if not n.is_offline and n.num_executors > 0]
        quoted = f"\u2018{label.expression}\u2019"
        if not online:   # Label#isOffline
            if len(nodes) == 1:
                return f"\u2018{_display_name(nodes[0])}\u2019 is offline", True
            if not nodes and not self.label_clouds(label):
                return f"There are no nodes with the label {quoted}", True
            return f"All nodes of label {quoted} are offline", True
        if len(nodes) == 1:
            return f"Waiting for next available executor on \u2018{_display_name(nodes[0])}\u2019", False
        return f"Waiting for next available executor on {quoted}", False

    def _start_build(self, it: QueueItem, node: Node):
        job = it.job
        with job.lock:
            number = job.next_build_number
            job.next_build_number += 1
            build = Build(job, number, it.id, it.causes, it.params)
            job.builds[number] = build
            job.save()
        build.node = node
        build.built_on = node.name
        build.executor_number = node.busy_executors
        node.busy_executors += 1
        self.queue.remove(it)
        it.state = "left"
        it.build = build
        it.left_at = time.time()
        self.left_items[it.id] = it
        build.save()
        self._spawn(self._run_build, f"Executor #{build.executor_number} for {node.name or 'built-in'}", build, node)

    def _build_env(self, build: Build, node: Node, workspace: str) -> dict:
        job = build.job
        root = self.root_url()
        env = {
            "BUILD_DISPLAY_NAME": f"#{build.number}", "BUILD_ID": str(build.number), "BUILD_NUMBER": str(build.number),
            "BUILD_TAG": f"jenkins-{job.name}-{build.number}", "CI": "true",
            "EXECUTOR_NUMBER": str(build.executor_number), "JENKINS_HOME": str(self.home), "HUDSON_HOME": str(self.home),
            "JENKINS_SERVER_COOKIE": hashlib.sha256(str(self.home).encode()).hexdigest()[:16],
            "HUDSON_SERVER_COOKIE": hashlib.sha256(str(self.home).encode()).hexdigest()[:16],
            "JOB_BASE_NAME": job.name, "JOB_NAME": job.name,
            "NODE_LABELS": " ".join(node.all_labels), "NODE_NAME": node.name or "built-in",
            "WORKSPACE": workspace, "WORKSPACE_TMP": workspace + "@tmp",
        }
        if root:
            # only when a root URL is configured (Jenkins#getRootUrl is null outside a request)
            env.update({"JENKINS_URL": root, "HUDSON_URL": root, "BUILD_URL": build.url, "JOB_URL": job.abs_url(),
                        "RUN_DISPLAY_URL": build.url + "display/redirect", "JOB_DISPLAY_URL": job.abs_url() + "display/redirect",
                        "RUN_CHANGES_DISPLAY_URL": build.url + "display/redirect?page=changes",
                        "RUN_ARTIFACTS_DISPLAY_URL": build.url + "display/redirect?page=artifacts",
                        "RUN_TESTS_DISPLAY_URL": build.url + "display/redirect?page=tests"})
        env.update(build.params)
        return env

    def _run_build(self, build: Build, node: Node):
        job = build.job
        result = "SUCCESS"
        start = time.time()
        try:
            for c in build.causes:
                build.log(c["shortDescription"])
            build.log("Running as SYSTEM")
            try:
                node.on_build_start(build)
            except Exception as exc:
                build.log(f"ERROR: {exc}")
            if node is self.builtin:
                workspace = str(self.home / "workspace" / job.name)
                build.log(f"Building in workspace {workspace}")
            else:
                workspace = node.remote_fs.rstrip("/") + "/workspace/" + job.name
                # AbstractBuild.BuildingRemotely: node name, its label string, workspace
                labels = " ".join(node.labels)
                where = f"{node.name} ({labels})" if labels else node.name
                build.log(f"Building remotely on {where} in workspace {workspace}")
            env = self._build_env(build, node, workspace)
            if job.kind != "freestyle":
                build.log("ERROR: only freestyle projects are emulated by the sandbox; "
                          f"{job.kind} execution is not")
                result = "FAILURE"
            for kind, script, unstable in job.builders:
                if build.aborted:
                    result = "ABORTED"
                    break
                if kind != "shell":
                    build.log(f"ERROR: build step {script} is not emulated by the sandbox")
                    result = "FAILURE"
                    break
                if node.executor is None or node.is_offline:
                    build.log(f"ERROR: {node.name} is offline")
                    result = "FAILURE"
                    break
                ws_name = Path(workspace).name
                shell = script.splitlines()[0][2:].strip() if script.startswith("#!") else "/bin/sh -xe"
                build.log(f"[{ws_name}] $ {shell} /tmp/jenkins{secrets.randbelow(10**19)}.sh")
                try:
                    rc, out = node.executor.run_shell(script, env, workspace, listener=build)
                except Exception as exc:
                    build.log(f"FATAL: {exc}")
                    result = "FAILURE"
                    break
                if out:
                    build.write(out if out.endswith("\n") else out + "\n")
                if build.aborted:
                    result = "ABORTED"
                    break
                if rc != 0:
                    if unstable is not None and rc == unstable:
                        build.log("Build step 'Execute shell' marked build as unstable")
                        result = "UNSTABLE"
                        continue
                    build.log("Build step 'Execute shell' marked build as failure")
                    result = "FAILURE"
                    break
        except Exception as exc:  # pragma: no cover - defensive
            LOG.exception("build crashed")
            build.log(f"FATAL: {exc}")
            result = "FAILURE"
        finally:
            if self.state != "up" and not build.aborted and self._teardown_generation_changed(build):
                return  # the "JVM" died under this build (restart): it never finishes
            build.log(f"Finished: {result}")
            build.result = result
            build.duration = int((time.time() - start) * 1000)
            build.building = False
            build.save()
            with self.lock:
                try:
                    node.task_completed(build)  # Executor#finish1 -> taskCompleted, before the executor is freed
                except Exception:
                    LOG.exception("task_completed failed")
                node.busy_executors = max(0, node.busy_executors - 1)
                if node.busy_executors == 0:
                    node.idle_since = time.time()
            try:
                node.on_build_complete(build)
            except Exception:
                LOG.exception("on_build_complete failed")

    def _teardown_generation_changed(self, build):
        return self.state in ("restarting", "loading", "stopped")

    def abort_build(self, build: Build):
        build.aborted = True
        ex = getattr(build.node, "executor", None)
        if hasattr(ex, "abort"):
            ex.abort(build)
        else:
            import signal as _s
            for p in list(getattr(ex, "procs", {}).values()):
                try:
                    os.killpg(p.pid, _s.SIGTERM)
                except Exception:
                    pass


def _close_socket(conn):
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        conn.close()
    except OSError:
        pass


def _display_name(node):
    # Node#getDisplayName: the built-in node is "Built-In Node" (Hudson.Computer.DisplayName)
    return node.name or "Built-In Node"


def _present(doc: dict) -> set:
    """Attribute keys present in a merged JCasC document (case-insensitive on jenkins root)."""
    out = set()
    j = doc.get("jenkins") or {}
    from .casc import JENKINS_ATTRS
    lower = {a.lower(): a for a in JENKINS_ATTRS}
    for k in j:
        if str(k).lower() in lower:
            out.add(lower[str(k).lower()])
    u = doc.get("unclassified") or {}
    if any(str(k).lower() == "location" for k in u):
        out.add("location")
    if "credentials" in doc:
        out.add("credentials")
    s = doc.get("security") or {}
    if any(str(k).lower() == "apitoken" for k in s):
        out.add("apiToken")
    return out
