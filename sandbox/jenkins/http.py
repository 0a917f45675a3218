"""HTTP surface of the Jenkins stand-in (reference §1–§4, §8, §9).

Order of processing, as in Jenkins' filter chain: fault injection (sandbox) -> app state
(HudsonIsLoading / HudsonIsRestarting / ConfigurationAsCodeBootFailure answer every path with
503) -> authentication (``BasicHeaderProcessor``: 401 on bad credentials) -> ``CrumbFilter``
(POST only; 403 "No valid crumb was included in the request") -> Stapler dispatch with
permission checks (anonymous -> 403 "Authentication required", user -> 403 "… is missing the …
permission").
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import traceback
import xml.etree.ElementTree as ET
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, unquote, urlsplit

from . import casc as casc_mod
from . import extension as ext
from . import security as sec
from .extension import ConfiguratorError, Label, RouteRequest, RouteResponse
from .model import Failure, Job, check_good_name, parse_config
from .stapler import Bean, Prop, dumps, export

ALWAYS_READABLE = {"login", "loginError", "logout", "accessDenied", "adjuncts", "error", "oops", "signup",
                   "tcpSlaveAgentListener", "federatedLoginService", "securityRealm", "whoAmI",
                   "reload-configuration-as-code", "j_spring_security_check", "static"}
PERM_IDS = {sec.READ: "hudson.model.Hudson.Read", sec.SYSTEM_READ: "hudson.model.Hudson.SystemRead",
            sec.MANAGE: "hudson.model.Hudson.Manage", sec.ADMINISTER: "hudson.model.Hudson.Administer",
            sec.ITEM_READ: "hudson.model.Item.Read", sec.ITEM_CREATE: "hudson.model.Item.Create",
            sec.ITEM_CONFIGURE: "hudson.model.Item.Configure", sec.ITEM_DELETE: "hudson.model.Item.Delete",
            sec.ITEM_BUILD: "hudson.model.Item.Build", sec.ITEM_CANCEL: "hudson.model.Item.Cancel",
            sec.ITEM_EXTENDED_READ: "hudson.model.Item.ExtendedRead"}


class HttpError(Exception):
    def __init__(self, status, body=b"", content_type="text/html;charset=utf-8", headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


class Response:
    def __init__(self, status=200, body=b"", content_type="text/html;charset=utf-8", headers=None):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = dict(headers or {})


def page(title, body_html, status=200, headers=None):
    html = (f"<!DOCTYPE html><html><head><title>{sec.escape(title)}</title></head>"
            f"<body><h1>{sec.escape(title)}</h1>{body_html}</body></html>")
    return Response(status, html, "text/html;charset=utf-8", headers)


def make_handler(jenkins):
    class Handler(JenkinsHandler):
        J = jenkins
    return Handler


class JenkinsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Jetty(12.0.22)"
    J = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        with self.J.lock:
            self.J._http_conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.J.lock:
                self.J._http_conns.discard(self.connection)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    # ------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self, method):
        J = self.J
        started = time.time()
        body = self._read_body()
        split = urlsplit(self.path)
        raw_path = split.path
        self.query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self.method = method
        self.body = body
        self.user = None
        self.api_token_auth = False
        self.new_session = None
        fault = None
        if J.faults is not None:
            fault = J.faults.match("jenkins", method, raw_path)
            if fault is not None:
                if fault.latency:
                    time.sleep(fault.latency)
                if fault.drop:
                    self._record(method, raw_path, 0, started, fault="drop")
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass
                    return
                if fault.status:
                    phrase = HTTPStatus(fault.status).phrase if fault.status in HTTPStatus._value2member_map_ else "Error"
                    msg = fault.message or phrase
                    resp = page(f"Error {fault.status}", f"<p>{sec.escape(msg)}</p>", fault.status)
                    self._record(method, raw_path, fault.status, started, fault="status")
                    self._send(resp, method)
                    return
        try:
            resp = self._dispatch(method, raw_path)
        except HttpError as e:
            resp = Response(e.status, e.body, e.content_type, e.headers)
        except Exception as exc:  # an uncaught exception: Jenkins' oops page (500)
            tb = traceback.format_exc()
            resp = page("Oops!", f"<pre>{sec.escape(tb)}</pre>", 500)
        self._record(method, raw_path, resp.status, started)   # before the client can see the answer
        self._send(resp, method)

    def _record(self, method, path, status, started, fault=None):
        J = self.J
        if J.request_log is None:
            return
        b = self.body
        if b and (b"password" in b.lower() or b"secret" in b.lower() or b"token" in b.lower()):
            b = re.sub(rb"(?i)((?:password|secret|token)\w*\s*[:=]\s*)(\S+)", rb"\1<redacted>", b)
        try:
            J.request_log.record("jenkins", method, path, status, user=self.user, body=b or None,
                                 duration=time.time() - started, fault=fault)
        except TypeError:
            J.request_log.record("jenkins", method, path, status)

    def _send(self, resp: Response, method):
        try:
            self.send_response(resp.status)
            headers = dict(resp.headers)
            headers.setdefault("Content-Type", resp.content_type)
            if self.new_session:
                headers["Set-Cookie"] = f"{self.J.sessions.cookie_name}={self.new_session}; Path={self.J.prefix or '/'}; HttpOnly"
            for k, v in headers.items():
                if isinstance(v, list):
                    for x in v:
                        self.send_header(k, x)
                else:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ------------------------------------------------------------------------------------------
    # helpers

    def jheaders(self, api=False):
        """``Functions#advertiseHeaders`` / ``Api#setHeaders``."""
        J = self.J
        h = {"X-Jenkins": J.version, "X-Jenkins-Session": J.session_hash, "X-Hudson": "1.395"}
        if api:
            h.update({"X-Content-Type-Options": "nosniff", "X-Frame-Options": "deny"})
        return h

    def form(self) -> dict:
        ctype = self.headers.get("Content-Type", "")
        data = dict(self.query)
        if "application/x-www-form-urlencoded" in ctype and self.body:
            for k, v in parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True).items():
                data[k] = v[0]
        return data

    def session_id(self):
        cookie = self.headers.get("Cookie", "")
        name = self.J.sessions.cookie_name
        for part in cookie.split(";"):
            k, _, v = part.strip().partition("=")
            if k == name and self.J.sessions.get(v) is not None:
                return v
        return None

    def ensure_session(self):
        sid = self.session_id()
        if sid is None:
            sid = self.J.sessions.create()
            self.new_session = sid
        return sid

    def require(self, permission):
        J = self.J
        if J.has_permission(self.user, permission):
            return
        perm_id = PERM_IDS.get(permission, permission)
        who = self.user or "anonymous"
        headers = {**self.jheaders(), "X-You-Are-Authenticated-As": who, "X-You-Are-In-Group-Disabled":
                   "JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose",
                   "X-Required-Permission": perm_id}
        if permission != sec.ADMINISTER:
            headers["X-Permission-Implied-By"] = "hudson.model.Hudson.Administer"
        if self.user is None:
            # HudsonAuthenticationEntryPoint#commence
            if self.headers.get("X-Requested-With") == "XMLHttpRequest":
                raise HttpError(403, b"", headers=headers)
            loc = f"{J.prefix}/login?from={quote(self.path)}"
            body = (f"<html><head><meta http-equiv='refresh' content='1;url={sec.escape(loc)}'/>"
                    f"<script>window.location.replace('{sec.escape(loc)}');</script></head>"
                    f"<body style='background-color:white; color:white;'>\n\n\nAuthentication required\n"
                    f"<!--\n-->\n\n</body></html>")
            raise HttpError(403, body.encode(), headers=headers)
        msg = f"{who} is missing the {permission} permission"
        raise HttpError(403, page("Access Denied", f"<p>{sec.escape(msg)}</p>").body, headers=headers)

    def json(self, bean, default_depth=0):
        q = self.query
        try:
            depth = int(q.get("depth", default_depth))
        except ValueError:
            depth = 0
        tree = q.get("tree")
        try:
            data = export(bean, depth=depth, tree=tree)
        except ValueError as exc:
            raise HttpError(400, str(exc).encode())
        ctype = "application/json;charset=utf-8"
        if "jsonp" in q:
            return Response(200, f"{q['jsonp']}(".encode() + dumps(data) + b")", "application/javascript;charset=utf-8",
                            self.jheaders(api=True))
        return Response(200, dumps(data), ctype, self.jheaders(api=True))

    def api(self, rest, bean, default_depth=0):
        """Serve ``api/json`` / ``api/xml`` / ``api/python`` for a bean."""
        if rest in ("api/json", "api/json/"):
            return self.json(bean, default_depth)
        if rest in ("api/python", "api/python/"):
            r = self.json(bean, default_depth)
            data = json.loads(r.body)
            return Response(200, repr(data).encode(), "text/x-python;charset=utf-8", r.headers)
        if rest in ("api/xml", "api/xml/"):
            r = self.json(bean, default_depth)
            data = json.loads(r.body)
            root_name = (data.get("_class", "object").split(".")[-1].split("$")[-1] if isinstance(data, dict) else "object")
            root_name = root_name[0].lower() + root_name[1:]
            el = _to_xml(root_name, data)
            return Response(200, ET.tostring(el), "application/xml;charset=utf-8", r.headers)
        if rest in ("api", "api/"):
            return page("Remote API", "<p>Remote API: api/json, api/xml, api/python</p>", headers=self.jheaders())
        raise HttpError(404, page("Not Found", "").body)

    def require_post(self):
        if self.method != "POST":
            # @RequirePOST: 405 with the "retry with POST" page
            raise HttpError(405, page("Error 405", "<p>This URL requires POST</p>").body,
                            headers={**self.jheaders(), "Allow": "POST"})

    def redirect(self, location, status=302):
        if not re.match(r"^[a-z]+://", location):
            location = self.request_root() + location.lstrip("/")
        return Response(status, b"", "text/html;charset=utf-8", {**self.jheaders(), "Location": location})

    def request_root(self):
        host = self.headers.get("X-Forwarded-Host") or self.headers.get("Host") or f"{self.J.listen_host}:{self.J.http_port}"
        proto = self.headers.get("X-Forwarded-Proto", "http")
        return f"{proto}://{host}{self.J.prefix}/"

    # ------------------------------------------------------------------------------------------
    # dispatch

    def _dispatch(self, method, raw_path):
        J = self.J
        path = unquote(raw_path)
        if J.prefix:
            if not (path == J.prefix or path.startswith(J.prefix + "/")):
                raise HttpError(404, page("Not Found", f"<p>{sec.escape(path)}</p>").body)
            path = path[len(J.prefix):] or "/"
            raw_path = raw_path[len(J.prefix):] or "/"
        # app state: every path
        if J.state in ("loading", "stopped"):
            return self._loading_page()
        if J.state == "restarting":
            extra = "<p>Safe Restart</p><p>Builds on agents can usually continue.</p>" if J.safe_restart else ""
            return Response(503, f"<!DOCTYPE html><html><head><title>Restarting Jenkins</title></head><body>"
                                 f"<h1>Please wait while Jenkins is restarting</h1><p>Jenkins is restarting</p>{extra}"
                                 f"<p>Your browser will reload automatically when Jenkins is ready.</p></body></html>",
                            "text/html;charset=UTF-8", {"Cache-Control": "no-cache,no-store,must-revalidate", "Expires": "0"})
        if J.state == "casc_failure":
            # ConfigurationAsCodeBootFailure#doDynamic
            return Response(503, "<!DOCTYPE html><html><head><title>Jenkins</title></head><body>"
                                 "<h1>Error loading configuration</h1><h2>Configuration as Code</h2>"
                                 f"<pre>io.jenkins.plugins.casc.ConfiguratorException: {sec.escape(J.state_message)}</pre>"
                                 "</body></html>", "text/html;charset=UTF-8")
        if J.state == "failed":
            return page("Jenkins", f"<h2>Jenkins failed to start</h2><pre>{sec.escape(J.state_message)}</pre>", 500)
        J._request_local.root = None if J.config.location_url else self.request_root()
        self._authenticate()
        parts = [p for p in path.split("/") if p != ""]
        first = parts[0] if parts else ""
        # CrumbFilter: POST only, before Stapler
        if method == "POST" and J.crumb_issuer is not None and not self.api_token_auth:
            excluded = raw_path == "/reload-configuration-as-code/"   # TokenReloadCrumbExclusion (exact path)
            if not excluded:
                f = self.form()
                crumb = self.headers.get(J.crumb_issuer.field) or f.get(J.crumb_issuer.field)
                sid = self.session_id()
                if not J.crumb_issuer.validate(self.user or "anonymous", sid, crumb):
                    raise HttpError(403, page("Error 403 No valid crumb was included in the request",
                                              "<p>No valid crumb was included in the request</p>").body)
        if first not in ALWAYS_READABLE:
            self.require(sec.READ)
        return self._route(method, parts, path)

    def _loading_page(self):
        return Response(503, "<!DOCTYPE html><html><head><title>Starting Jenkins</title>"
                             "<meta http-equiv='refresh' content='5'/></head><body><h1>Please wait while Jenkins is getting "
                             "ready to work</h1><p>Jenkins is getting ready to work</p><p>Your browser will reload "
                             "automatically when Jenkins is ready.</p></body></html>",
                        "text/html;charset=UTF-8", {"Cache-Control": "no-cache,no-store,must-revalidate", "Expires": "0"})

    def _authenticate(self):
        J = self.J
        auth = self.headers.get("Authorization")
        sid = self.session_id()
        sess = J.sessions.get(sid) if sid else None
        if auth and auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            if ":" not in decoded:
                raise HttpError(401, page("Error 401 Unauthorized", "<p>Malformed HTTP basic Authorization header</p>").body,
                                headers={"WWW-Authenticate": 'Basic realm="Jenkins"'})
            uid, secret = decoded.split(":", 1)
            if sess is not None and sess.get("user") and sess["user"].lower() == uid.lower():
                # BasicHeaderProcessor#authenticationIsRequired: already authenticated in this session
                self.user = sess["user"]
                return
            user = J.users.check_token(uid, secret)
            if user is not None:
                self.user = user.id
                self.api_token_auth = True
                return
            if J.sysprops.get("jenkins.security.ignoreBasicAuth", "false") != "true" and J.security_realm_kind == "local":
                user = J.users.check_password(uid, secret)
                if user is not None:
                    self.user = user.id
                    return
            raise HttpError(401, page("Error 401 Unauthorized", f"<p>Invalid password/token for user: {sec.escape(uid)}</p>").body,
                            headers={"WWW-Authenticate": 'Basic realm="Jenkins"'})
        if sess is not None and sess.get("user"):
            self.user = sess["user"]

    # ------------------------------------------------------------------------------------------

    def _route(self, method, parts, path):
        J = self.J
        n = len(parts)
        first = parts[0] if parts else ""
        rest = "/".join(parts[1:])
        # plugin routes (extension.register_route)
        matching = [r for r in ext.routes()
                    if r.path.rstrip("/") == path.rstrip("/") and J.plugin_manager.is_active(r.plugin)]
        if matching:
            r = next((r for r in matching if r.method == method), None)
            if r is None:
                if any(x.method == "POST" for x in matching):
                    self.require_post()
                raise HttpError(405, page("Error 405", "").body, headers=self.jheaders())
            if r.permission:
                self.require(sec.PERMISSION_ALIASES.get(r.permission, r.permission))
            req = RouteRequest(method, path, dict(self.query), self.form(), self.body,
                               {k.lower(): v for k, v in self.headers.items()}, self.user)
            out = r.handler(req, J)
            if isinstance(out, tuple):
                out = RouteResponse(*out)
            return Response(out.status, out.body, out.content_type, {**self.jheaders(), **out.headers})
        if n == 0:
            return page("Dashboard [Jenkins]", "<p>Welcome to Jenkins!</p>" +
                        (f"<div id='systemmessage'>{sec.escape(J.config.system_message)}</div>" if J.config.system_message else ""),
                        headers=self.jheaders())
        if first == "api":
            return self.api(path.strip("/"), self._root_bean())
        if first == "login":
            return page("Sign in [Jenkins]", "<form method='post' action='j_spring_security_check'></form>",
                        headers=self.jheaders())
        if first == "j_spring_security_check" and method == "POST":
            f = self.form()
            user = J.users.check_password(f.get("j_username", ""), f.get("j_password", "")) if J.security_realm_kind else None
            if user is None:
                return self.redirect("loginError")
            sid = J.sessions.create()
            J.sessions.get(sid)["user"] = user.id
            self.new_session = sid
            return self.redirect(f.get("from") or "")
        if first == "loginError":
            return page("Login Error", "<p>Invalid username or password</p>", 401, self.jheaders())
        if first == "logout":
            sid = self.session_id()
            if sid and J.sessions.get(sid):
                J.sessions.get(sid)["user"] = None
            return self.redirect("")
        if first == "whoAmI":
            auths = ["authenticated"] if self.user else ["anonymous"]
            bean = Bean({"_class": "hudson.security.WhoAmI", "anonymous": self.user is None,
                         "authenticated": self.user is not None, "authorities": auths,
                         "name": self.user or "anonymous"})
            return self.api(rest, bean) if rest.startswith("api") else page("Who Am I?", f"<p>{sec.escape(self.user or 'anonymous')}</p>", headers=self.jheaders())
        if first == "crumbIssuer":
            return self._crumb(rest)
        if first == "me":
            if self.user is None:
                # Jenkins#getMe: anonymous has no User object -> access denied
                self.require(sec.ADMINISTER)
            return self._user_action(self.user, parts[1:])
        if first == "user" and n >= 2:
            return self._user_action(parts[1], parts[2:])
        if first == "pluginManager":
            return self._plugin_manager(method, parts[1:])
        if first == "updateCenter":
            return self._update_center(method, parts[1:])
        if first in ("restart", "safeRestart"):
            self.require(sec.MANAGE)
            if method != "POST":
                return page("Restart Jenkins", "<form method='post'><button>Yes</button></form>", headers=self.jheaders())
            J.restart(safe=(first == "safeRestart"))
            return self.redirect(".")
        if first == "quietDown":
            self.require(sec.MANAGE)
            self.require_post()
            J.quieting_down = True
            J.quiet_down_reason = self.form().get("message") or None
            return self.redirect(".")
        if first == "cancelQuietDown":
            self.require(sec.MANAGE)
            self.require_post()
            J.quieting_down = False
            J.quiet_down_reason = None
            return self.redirect(".")
        if first == "configuration-as-code" and J.plugin_manager.is_active("configuration-as-code"):
            return self._casc(method, parts[1:])
        if first == "reload-configuration-as-code" and J.plugin_manager.is_active("configuration-as-code"):
            return self._casc_token_reload(method)
        if first == "createItem":
            return self._create_item(method)
        if first == "job" and n >= 2:
            return self._job(method, parts[1], parts[2:])
        if first == "view" and n >= 2:
            views = [next(iter(v)) == "all" and (v["all"] or {}).get("name", "all") or
                     (next(iter(v.values())) or {}).get("name") for v in J.config.views]
            if parts[1] not in views:
                raise HttpError(404, page("Not Found", "").body, headers=self.jheaders())
            jobs = [j.export(self._queue_bean_for(j)) for j in sorted(J.list_jobs(), key=lambda j: j.name.lower())]
            if parts[1] != "all":
                jobs = []   # list views' job filters are not emulated
            bean = Bean({"_class": "hudson.model.AllView" if parts[1] == "all" else "hudson.model.ListView",
                         "description": None, "jobs": jobs, "name": parts[1], "property": [],
                         "url": J.root_url_or_request() + ("" if parts[1] == "all" else f"view/{parts[1]}/")})
            sub = "/".join(parts[2:])
            return self.api(sub, bean) if sub.startswith("api") else page(parts[1], "", headers=self.jheaders())
        if first == "queue":
            return self._queue(method, parts[1:])
        if first == "computer":
            return self._computer(method, parts[1:])
        if first == "label" and n >= 2:
            return self._label(parts[1], parts[2:])
        if first == "tcpSlaveAgentListener":
            addr = J.agent_address
            if addr is None or J.slave_agent_port == -1:
                raise HttpError(404, page("Not Found", "<p>TCP agent listener is disabled</p>").body)
            return Response(200, b"Jenkins", "text/plain;charset=utf-8",
                            {**self.jheaders(), "X-Jenkins-JNLP-Port": str(J.advertised_agent_port),
                             "X-Hudson-JNLP-Port": str(J.advertised_agent_port),
                             "X-Jenkins-Agent-Protocols": "JNLP4-connect, Ping",
                             "X-Instance-Identity": base64.b64encode(J.jnlp_key[:32]).decode()})
        if first in ("scriptText", "script"):
            self.require(sec.ADMINISTER)
            return page("Error", "<p>The Groovy script console is not emulated by the sandbox.</p>", 501, self.jheaders())
        if first == "descriptorByName":
            raise HttpError(404, page("Not Found", f"<p>No such descriptor {sec.escape('/'.join(parts[1:]))}</p>").body)
        raise HttpError(404, page("Not Found", f"<p>{sec.escape(path)}</p>").body, headers=self.jheaders())

    # ------------------------------------------------------------------------------------------

    def _root_bean(self):
        J = self.J
        # Jenkins#getItems exported as "jobs": the full job beans (name/url visibility 999, color 2)
        jobs = [j.export(self._queue_bean_for(j)) for j in sorted(J.list_jobs(), key=lambda j: j.name.lower())]
        all_view = Bean({"_class": "hudson.model.AllView", "name": Prop("all", 999),
                         "url": Prop(J.root_url_or_request(), 999)})
        return Bean({
            "_class": "hudson.model.Hudson",
            "assignedLabels": [Bean({"name": Prop(l, 2)}) for l in J.builtin_labels()],
            "mode": J.config.mode, "nodeDescription": "the Jenkins controller's built-in node", "nodeName": "",
            "numExecutors": J.config.num_executors, "description": None, "jobs": jobs,
            "overallLoad": Bean({}), "primaryView": all_view, "quietDownReason": J.quiet_down_reason,
            "quietingDown": J.quieting_down, "slaveAgentPort": J.slave_agent_port, "unlabeledLoad": Bean({"_class": "jenkins.model.UnlabeledLoadStatistics"}),
            "url": J.root_url(), "useCrumbs": J.crumb_issuer is not None, "useSecurity": J.is_use_security(),
            "views": [all_view],
        })

    def _crumb(self, rest):
        J = self.J
        if J.crumb_issuer is None:
            raise HttpError(404, page("Not Found", "").body)
        sid = self.ensure_session()
        crumb = J.crumb_issuer.issue(self.user or "anonymous", sid)
        if rest.startswith("api/xml") and "xpath" in self.query:
            return Response(200, f"{J.crumb_issuer.field}:{crumb}", "text/plain;charset=utf-8", self.jheaders(api=True))
        bean = Bean({"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": crumb,
                     "crumbRequestField": J.crumb_issuer.field})
        return self.api(rest or "api/json", bean)

    def _user_action(self, uid, parts):
        J = self.J
        user = J.users.get(uid) if J.security_realm_kind else None
        if user is None:
            raise HttpError(404, page("Not Found", f"<p>No such user {sec.escape(uid)}</p>").body)
        if parts[:2] == ["descriptorByName", "jenkins.security.ApiTokenProperty"] and len(parts) == 3:
            action = parts[2]
            self.require_post()
            # ApiTokenProperty.DescriptorImpl#doGenerateNewToken: only for yourself (or ADMINISTER)
            if self.user is None or (self.user.lower() != user.id.lower() and not J.has_permission(self.user, sec.ADMINISTER)):
                self.require(sec.ADMINISTER)
            if action == "generateNewToken":
                name = self.form().get("newTokenName", "")
                tok, value = J.users.generate_token(user.id, name)
                data = {"status": "ok", "data": {"tokenName": tok.name, "tokenUuid": tok.uuid, "tokenValue": value}}
                return Response(200, json.dumps(data).encode(), "application/json;charset=utf-8", self.jheaders())
            if action == "revoke":
                tuid = self.form().get("tokenUuid", "")
                user.tokens = [t for t in user.tokens if t.uuid != tuid]
                J.users.save()
                return Response(200, b'{"status":"ok"}', "application/json;charset=utf-8", self.jheaders())
        if not parts or parts[0].startswith("api"):
            bean = Bean({"_class": "hudson.model.User", "absoluteUrl": J.root_url_or_request() + f"user/{user.id.lower()}",
                         "description": None, "fullName": user.full_name, "id": user.id, "property": []})
            return self.api("/".join(parts) or "api/json", bean)
        raise HttpError(404, page("Not Found", "").body)

    # --- plugins ---------------------------------------------------------------------------

    def _plugin_manager(self, method, parts):
        J = self.J
        rest = "/".join(parts)
        if rest.startswith("api"):
            self.require(sec.SYSTEM_READ)
            return self.api(rest, J.plugin_manager.export())
        if rest in ("installNecessaryPlugins", "prevalidateConfig"):
            self.require_post()
            self.require(sec.ADMINISTER)
            reqs = _parse_requested_plugins(self.body)
            if rest == "prevalidateConfig":
                from .plugins import version_ge
                out = []
                for name, ver in reqs:
                    cur = J.plugin_manager.disk_version(name)
                    if cur is None:
                        out.append({"name": name, "version": ver, "mode": "missing"})
                    elif not version_ge(cur, ver):
                        out.append({"name": name, "version": ver, "mode": "old"})
                return Response(200, json.dumps(out).encode(), "application/json;charset=utf-8", self.jheaders())
            J.update_center.install_necessary(reqs)
            return self.redirect("pluginManager/updates/")
        if rest.rstrip("/") in ("updates", "available", "installed", ""):
            self.require(sec.SYSTEM_READ)
            return page("Plugins", "", headers=self.jheaders())
        if len(parts) == 3 and parts[0] == "plugin":
            name, action = parts[1], parts[2]
            self.require_post()
            self.require(sec.ADMINISTER)
            pw = J.plugin_manager.get(name)
            if pw is None:
                raise HttpError(404, page("Not Found", "").body)
            jpi = J.plugin_manager.dir / f"{name}.jpi"
            if action == "doUninstall":
                # PluginWrapper#doDoUninstall: file removed, takes effect at next boot
                if jpi.exists():
                    jpi.unlink()
                pw.deleted = True
                J.update_center.restart_required = True
                return self.redirect("pluginManager/installed")
            if action == "makeDisabled":
                (J.plugin_manager.dir / f"{name}.jpi.disabled").write_text("")
                pw.enabled = False
                return self.redirect("pluginManager/installed") if "json" not in self.query else \
                    Response(200, b'{"status":"ok"}', "application/json", self.jheaders())
            if action == "makeEnabled":
                p = J.plugin_manager.dir / f"{name}.jpi.disabled"
                if p.exists():
                    p.unlink()
                pw.enabled = True
                return self.redirect("pluginManager/installed")
        raise HttpError(404, page("Not Found", "").body)

    def _update_center(self, method, parts):
        J = self.J
        self.require(sec.SYSTEM_READ)
        rest = "/".join(parts)
        if rest.startswith("api"):
            return self.api(rest, J.update_center.export())
        if rest == "safeRestart":
            self.require_post()
            self.require(sec.ADMINISTER)
            J.restart(safe=True)
            return self.redirect("updateCenter/")
        if rest == "installStatus":
            with J.update_center.lock:
                jobs = [{"name": j.name, "version": j.version, "title": j.name, "installStatus": j.status,
                         "requiresRestart": str(j.status == "SuccessButRequiresRestart").lower(), "correlationId": None}
                        for j in J.update_center.jobs if j.type == "InstallationJob"]
            return Response(200, json.dumps({"status": "ok", "data": {"state": "RUNNING", "jobs": jobs}}).encode(),
                            "application/json;charset=utf-8", self.jheaders())
        return page("Update Center", "", headers=self.jheaders())

    # --- JCasC -----------------------------------------------------------------------------

    def _casc(self, method, parts):
        J = self.J
        action = parts[0] if parts else ""
        if action == "":
            self.require(sec.SYSTEM_READ)
            return page("Configuration as Code", "", headers=self.jheaders())
        if action == "reload":
            self.require_post()
            if not J.has_permission(self.user, sec.MANAGE):
                raise HttpError(403, page("Error 403", "").body)   # sendError(403)
            try:
                J.casc_reload()
            except ConfiguratorError as exc:
                # #handleExceptionOnReloading renders error.jelly without setting a status: 200
                return page("Configuration as Code", f"<h2>Error</h2><pre>{sec.escape(str(exc))}</pre>", 200, self.jheaders())
            return self.redirect("configuration-as-code/")
        if action in ("apply", "configure", "check"):
            self.require_post()
            if not J.has_permission(self.user, sec.ADMINISTER):
                if action == "configure":
                    raise HttpError(403, b"Requires ADMINISTER permission", "text/plain;charset=utf-8")
                self.require(sec.ADMINISTER)
            text = self.body.decode("utf-8", "replace")
            if action == "check":
                try:
                    doc = casc_mod.parse_yaml(text, "request body")
                    _, cctx = casc_mod.configure(J, doc, dry_run=True)
                except ConfiguratorError as exc:
                    return Response(400, json.dumps([{"line": -1, "message": str(exc)}]).encode(),
                                    "application/json;charset=utf-8", self.jheaders())
                return Response(200, json.dumps([{"line": -1, "message": w} for w in cctx.warnings]).encode(),
                                "application/json;charset=utf-8", self.jheaders())
            if action == "configure" and not text.strip():
                return Response(400, json.dumps([{"line": -1, "message": "Request body cannot be empty."}]).encode(),
                                "application/json;charset=utf-8", self.jheaders())
            try:
                J.casc_reload(extra_yaml=text)   # #configureWith: standard sources + this document
            except ConfiguratorError as exc:
                if action == "configure":
                    return Response(400, json.dumps([{"line": -1, "message": str(exc)}]).encode(),
                                    "application/json;charset=utf-8", self.jheaders())
                return page("Oops!", f"<pre>io.jenkins.plugins.casc.ConfiguratorException: {sec.escape(str(exc))}</pre>",
                            500, self.jheaders())
            if action == "configure":
                return Response(200, b"Configuration successfully applied.", "text/plain;charset=utf-8", self.jheaders())
            return Response(200, b"", "text/html;charset=utf-8", self.jheaders())
        if action in ("export", "viewExport"):
            self.require_post()
            self.require(sec.SYSTEM_READ)
            text = casc_mod.dump_yaml(casc_mod.export(J))
            if action == "export":
                return Response(200, text, "application/x-yaml; charset=utf-8",
                                {**self.jheaders(), "Content-Disposition": "attachment; filename=jenkins.yaml"})
            return page("Export configuration", f"<pre>{sec.escape(text)}</pre>", headers=self.jheaders())
        if action == "schema":
            if not (J.sysprops.get("io.jenkins.plugins.casc.allowAnonymousSchema") == "true"):
                self.require(sec.SYSTEM_READ)
            return Response(200, json.dumps(casc_mod.schema()).encode(), "application/json;charset=utf-8", self.jheaders())
        if action == "reference":
            self.require(sec.SYSTEM_READ)
            return page("Configuration as Code reference", "", headers=self.jheaders())
        raise HttpError(404, page("Not Found", "").body)

    def _casc_token_reload(self, method):
        """``TokenReloadAction#doIndex``."""
        J = self.J
        if not J.casc_token:
            raise HttpError(404, page("Not Found", "").body)
        self.require_post()
        if self.query.get("casc-reload-token") != J.casc_token:
            raise HttpError(401, b"", headers={})
        try:
            J.casc_reload()
        except ConfiguratorError as exc:
            return Response(200, json.dumps({"status": "error", "message": f"Failed to reload configuration: {exc}"}).encode(),
                            "application/json;charset=utf-8")
        return Response(200, b"", "text/html;charset=utf-8")

    # --- jobs ------------------------------------------------------------------------------

    def _fail(self, message, status=400):
        """``hudson.model.Failure#generateResponse``: 400 + ``X-Error``."""
        raise HttpError(status, page("Error", f"<p>{sec.escape(message)}</p>").body,
                        headers={**self.jheaders(), "X-Error": message.encode("utf-8").decode("latin-1")})

    def _create_item(self, method):
        J = self.J
        self.require_post()
        self.require(sec.ITEM_CREATE)
        q = self.query
        mode = q.get("mode")
        name = q.get("name")
        if mode == "copy":
            if name is None:
                self._fail("Query parameter 'name' is required")
            try:
                name = check_good_name(name)
            except Failure as e:
                self._fail(str(e))
            src = J.jobs.get(q.get("from", ""))
            if src is None:
                self._fail(f"No such job: {q.get('from', '')}")
            if name in J.jobs:
                self._fail(f"A job already exists with the name \u2018{name}\u2019")
            J.jobs[name] = Job(J, name, parse_config(src.config_xml()))
            J.jobs[name].save()
            return self.redirect(f"job/{quote(name)}/")
        ctype = self.headers.get("Content-Type")
        if not ctype:
            self._fail("No Content-Type header set")
        if name is None:
            self._fail("Query parameter 'name' is required")
        try:
            name = check_good_name(name)
        except Failure as e:
            self._fail(str(e))
        if name in J.jobs or name.lower() in (n.lower() for n in J.jobs):
            self._fail(f"A job already exists with the name \u2018{name}\u2019")
        if not (ctype.startswith("application/xml") or ctype.startswith("text/xml")):
            # ItemGroupMixIn#createTopLevelItem: not XML -> a form submission, which needs "mode"
            self._fail("No mode and no XML body: mode is required")
        root = self._parse_item_xml(name)
        with J.lock:
            job = Job(J, name, root)
            J.jobs[name] = job
            job.save()
        return Response(200, b"", "text/html;charset=utf-8", self.jheaders())

    def _parse_item_xml(self, name):
        J = self.J
        try:
            root = parse_config(self.body)
        except ValueError as exc:
            raise HttpError(500, page("Oops!", f"<pre>java.io.IOException: Unable to read\n{sec.escape(str(exc))}</pre>").body)
        known = {"project": None, "flow-definition": "workflow-job"}
        if root.tag not in known or (known[root.tag] and not J.plugin_manager.is_active(known[root.tag])):
            raise HttpError(500, page("Oops!", "<pre>java.io.IOException: Unable to read\n"
                                               f"com.thoughtworks.xstream.mapper.CannotResolveClassException: {sec.escape(root.tag)}</pre>").body)
        return root

    def _job(self, method, name, parts):
        J = self.J
        job = J.jobs.get(name)
        if job is None:
            raise HttpError(404, page("Not Found", f"<p>No such job {sec.escape(name)}</p>").body, headers=self.jheaders())
        rest = "/".join(parts)
        if not parts:
            if method == "DELETE":
                self.require(sec.ITEM_DELETE)
                self._delete_job(job)
                return Response(204, b"", headers=self.jheaders())
            return page(f"{job.name} [Jenkins]", f"<p>{sec.escape(job.description)}</p>", headers=self.jheaders())
        if rest.startswith("api"):
            return self.api(rest, job.export(self._queue_bean_for(job)))
        if rest == "config.xml":
            if method == "POST":
                self.require(sec.ITEM_CONFIGURE)
                root = self._parse_item_xml(name)
                with job.lock:
                    job.set_config(root)
                    job.save()
                return Response(200, b"", headers=self.jheaders())
            self.require(sec.ITEM_EXTENDED_READ)
            return Response(200, job.config_xml(), "application/xml", self.jheaders())
        if rest == "doDelete":
            self.require_post()
            self.require(sec.ITEM_DELETE)
            self._delete_job(job)
            return self.redirect("")
        if rest in ("enable", "disable"):
            self.require_post()
            self.require(sec.ITEM_CONFIGURE)
            el = job.root.find("disabled")
            el.text = "true" if rest == "disable" else "false"
            job.set_config(job.root)
            job.save()
            return self.redirect(f"job/{quote(job.name)}/")
        if rest in ("build", "buildWithParameters"):
            return self._build(method, job, rest)
        if parts[0] in ("lastBuild", "lastSuccessfulBuild", "lastCompletedBuild", "lastFailedBuild",
                        "lastStableBuild", "lastUnstableBuild", "lastUnsuccessfulBuild", "firstBuild") or parts[0].isdigit():
            b = self._resolve_build(job, parts[0])
            return self._build_endpoint(method, job, b, parts[1:])
        raise HttpError(404, page("Not Found", "").body)

    def _delete_job(self, job):
        J = self.J
        import shutil
        for b in job.building():
            J.abort_build(b)
        with J.lock:
            J.queue[:] = [it for it in J.queue if it.job is not job]
            J.jobs.pop(job.name, None)
        shutil.rmtree(job.dir, ignore_errors=True)

    def _resolve_build(self, job, ref):
        preds = {"lastBuild": lambda b: True, "lastSuccessfulBuild": lambda b: b.result in ("SUCCESS", "UNSTABLE"),
                 "lastCompletedBuild": lambda b: not b.building, "lastFailedBuild": lambda b: b.result == "FAILURE",
                 "lastStableBuild": lambda b: b.result == "SUCCESS", "lastUnstableBuild": lambda b: b.result == "UNSTABLE",
                 "lastUnsuccessfulBuild": lambda b: b.result not in (None, "SUCCESS")}
        if ref.isdigit():
            b = job.builds.get(int(ref))
        elif ref == "firstBuild":
            b = job.builds[min(job.builds)] if job.builds else None
        else:
            b = job.last(preds[ref])
        if b is None:
            raise HttpError(404, page("Not Found", "").body, headers=self.jheaders())
        return b

    def _build_endpoint(self, method, job, b, parts):
        rest = "/".join(parts)
        if rest.startswith("api"):
            return self.api(rest, b.export())
        if rest in ("consoleText",):
            # Run#doConsoleText: console notes stripped (we never write any)
            return Response(200, b.log_bytes(), "text/plain;charset=UTF-8", self.jheaders())
        if rest in ("logText/progressiveText", "logText/progressiveHtml"):
            data = b.log_bytes()
            try:
                start = int(self.query.get("start", 0))
            except ValueError:
                start = 0
            if start > len(data):
                start = 0   # LargeText: start beyond the end -> restart from 0
            headers = {**self.jheaders(), "X-Text-Size": str(len(data))}
            if b.building:
                headers["X-More-Data"] = "true"
            chunk = data[start:]
            ctype = "text/plain;charset=UTF-8" if rest.endswith("Text") else "text/html;charset=UTF-8"
            if rest.endswith("Html"):
                chunk = sec.escape(chunk.decode("utf-8", "replace")).encode()
            return Response(200, chunk, ctype, headers)
        if rest in ("console", ""):
            return page(f"{job.name} #{b.number} Console [Jenkins]", f"<pre>{sec.escape(b.log_bytes().decode('utf-8', 'replace'))}</pre>",
                        headers=self.jheaders())
        if rest in ("stop", "term", "kill"):
            self.require_post()
            self.require(sec.ITEM_CANCEL)
            if b.building:
                self.J.abort_build(b)
            return self.redirect(f"job/{quote(job.name)}/{b.number}/")
        raise HttpError(404, page("Not Found", "").body)

    def _queue_bean_for(self, job):
        J = self.J
        with J.lock:
            for it in J.queue:
                if it.job is job:
                    return it.export(J)
        return None

    def _parse_delay(self):
        d = self.query.get("delay")
        if d is None:
            return None
        m = re.match(r"^\s*(\d+)\s*(sec|secs|s|min|mins|m|ms)?\s*$", d)
        if not m:
            raise HttpError(400, page("Error", f"<p>Invalid delay parameter value: {sec.escape(d)}</p>").body)
        n = int(m.group(1))
        unit = m.group(2) or "sec"
        return n * 60 if unit.startswith("m") and unit != "ms" else (n / 1000.0 if unit == "ms" else n)

    def _build(self, method, job, action):
        J = self.J
        if method != "POST":
            # BuildAuthorizationToken#checkPermission -> 405 Allow: POST (GET of buildWithParameters on a
            # parameterized job shows the form instead)
            if action == "build" or not job.parameters:
                raise HttpError(405, page("Error 405", "<p>This URL requires POST</p>").body,
                                headers={**self.jheaders(), "Allow": "POST"})
            return page(f"{job.name} [Jenkins]", "<form method='post'></form>", headers=self.jheaders())
        self.require(sec.ITEM_BUILD)
        if not job.buildable():
            self._fail(f"{job.name} is not buildable", 409)
        delay = self._parse_delay()
        who = self.user
        cause = {"_class": "hudson.model.Cause$UserIdCause",
                 "shortDescription": f"Started by user {J.users.get(who).full_name if who and J.users.get(who) else (who or 'anonymous')}",
                 "userId": who, "userName": (J.users.get(who).full_name if who and J.users.get(who) else (who or "anonymous"))}
        params = {}
        if action == "buildWithParameters" or job.parameters:
            if action == "buildWithParameters" and not job.parameters:
                self._fail(f"{job.name} is not parameterized")
            f = self.form()
            for p in job.parameters:
                params[p["name"]] = f.get(p["name"], p["default"])
        it, created = J.schedule(job, delay, [cause], params)
        loc = self.request_root() + f"queue/item/{it.id}/"
        status = 201 if (created or action == "build") else 303
        return Response(status, b"", "text/html;charset=utf-8", {**self.jheaders(), "Location": loc})

    # --- queue -----------------------------------------------------------------------------

    def _queue(self, method, parts):
        J = self.J
        rest = "/".join(parts)
        if rest.startswith("api"):
            with J.lock:
                items = [it.export(J) for it in J.queue]
            return self.api(rest, Bean({"_class": "hudson.model.Queue", "discoverableItems": [], "items": items}))
        if rest == "cancelItem":
            self.require_post()
            try:
                qid = int(self.query.get("id") or self.form().get("id", ""))
            except ValueError:
                raise HttpError(404, page("Not Found", "").body)
            it = J.get_item(qid)
            if it is None:
                raise HttpError(404, page("Not Found", "").body)
            self.require(sec.ITEM_CANCEL)
            if it.state == "left":
                raise HttpError(422, page("Error", "<p>Item is not cancellable</p>").body)
            J.cancel_item(qid)
            return Response(204, b"", headers=self.jheaders())
        if len(parts) >= 2 and parts[0] == "item" and parts[1].isdigit():
            it = J.get_item(int(parts[1]))
            if it is None:
                raise HttpError(404, page("Not Found", "").body, headers=self.jheaders())
            sub = "/".join(parts[2:])
            if sub.startswith("api"):
                return self.api(sub, it.export(J))
            if sub == "cancelQueue":
                self.require_post()
                J.cancel_item(it.id)
                return self.redirect("queue/")
            return Response(200, b"Queue item exists. For details check, for example, "
                                 + f"{self.request_root()}queue/item/{it.id}/api/json?tree=cancelled,executable[url]".encode(),
                            "text/plain;charset=utf-8", self.jheaders())
        return page("Build Queue", "", headers=self.jheaders())

    # --- computers, labels -----------------------------------------------------------------

    def _computer_bean(self, node):
        J = self.J
        builtin = node is J.builtin
        running = {b.executor_number: b for b in J._running_builds() if b.node is node}
        executors = [Bean({"_class": "hudson.model.Executor",
                           "currentExecutable": running[i].ref() if i in running else None,
                           "idle": i not in running, "likelyStuck": False, "number": i,
                           "progress": -1}) for i in range(max(0, node.num_executors))]
        b = Bean({
            "_class": node.computer_class, "actions": [],
            "assignedLabels": [Bean({"name": Prop(l, 2)}) for l in node.all_labels],
            "description": node.description or ("the Jenkins controller's built-in node" if builtin else ""),
            "displayName": "Built-In Node" if builtin else node.name,
            "executors": executors, "icon": "symbol-computer" + ("-offline" if node.is_offline else ""),
            "iconClassName": "symbol-computer" + ("-offline" if node.is_offline else ""),
            "idle": node.busy_executors == 0, "jnlpAgent": node.jnlp_agent,
            "launchSupported": node.launch_supported, "loadStatistics": Bean({"_class": "hudson.model.Label$1"}),
            "manualLaunchAllowed": node.manual_launch_allowed, "monitorData": {},
            "numExecutors": node.num_executors, "offline": node.is_offline,
            "offlineCause": None if not node.is_offline or not node.offline_cause else
            Bean({"_class": "hudson.slaves.OfflineCause$SimpleOfflineCause", "description": node.offline_cause}),
            "offlineCauseReason": (node.offline_cause or "") if node.is_offline else "",
            "oneOffExecutors": [], "temporarilyOffline": node.temporarily_offline,
        })
        if not builtin:
            b["absoluteRemotePath"] = node.remote_fs if node.online else None
        for k, v in (node.export_extra() or {}).items():
            b[k] = v
        return b

    def _computer(self, method, parts):
        J = self.J
        rest = "/".join(parts)
        if not parts or rest.startswith("api"):
            nodes = J.all_nodes()
            bean = Bean({"_class": "hudson.model.ComputerSet",
                         "busyExecutors": sum(n.busy_executors for n in nodes),
                         "computer": Prop([self._computer_bean(n) for n in nodes], 1, inline=True),
                         "displayName": "Nodes",
                         "totalExecutors": sum(n.num_executors for n in nodes if not n.is_offline)})
            return self.api(rest or "api/json", bean)
        node = J.get_node(parts[0])
        if node is None:
            raise HttpError(404, page("Not Found", "").body, headers=self.jheaders())
        sub = "/".join(parts[1:])
        if sub.startswith("api"):
            return self.api(sub, self._computer_bean(node))
        if sub in ("log", "logText/progressiveText"):
            self.require(sec.SYSTEM_READ if node is J.builtin else sec.READ)
            text = node.log_text()
            if sub == "log":
                return page(f"{node.name} log [Jenkins]", f"<pre>{sec.escape(text)}</pre>", headers=self.jheaders())
            return Response(200, text, "text/plain;charset=UTF-8", {**self.jheaders(), "X-Text-Size": str(len(text.encode()))})
        if sub in ("jenkins-agent.jnlp", "slave-agent.jnlp"):
            self.require(sec.READ)
            if node is J.builtin:
                raise HttpError(404, b"")
            return Response(200, f"<jnlp><application-desc><argument>{J.jnlp_mac(node.name)}</argument>"
                                 f"<argument>{node.name}</argument></application-desc></jnlp>", "application/x-java-jnlp-file",
                            self.jheaders())
        if sub in ("doDelete",):
            self.require_post()
            self.require(sec.ADMINISTER)
            J.remove_node(node.name)
            return self.redirect("computer/")
        return page(f"{node.name or 'Built-In Node'} [Jenkins]", "", headers=self.jheaders())

    def _label(self, expr, parts):
        J = self.J
        try:
            label = Label(expr)
        except ValueError as exc:
            raise HttpError(404, page("Not Found", f"<p>{sec.escape(str(exc))}</p>").body)
        nodes = [n for n in J.all_nodes() if label.matches(n.all_labels)]
        clouds = J.label_clouds(label)
        online = [n for n in nodes if not n.is_offline]
        bean = Bean({
            "_class": "hudson.model.labels.LabelAtom" if label.is_atom() else "hudson.model.labels.LabelExpression",
            "actions": [], "busyExecutors": sum(n.busy_executors for n in online),
            "clouds": [Bean({"_class": getattr(c, "java_class", "hudson.slaves.Cloud"), "name": c.name}) for c in clouds],
            "description": None,
            "idleExecutors": sum(max(0, n.num_executors - n.busy_executors) for n in online),
            "loadStatistics": Bean({"_class": "hudson.model.Label$1"}), "name": Prop(expr, 2),
            "nodes": [Bean({"_class": n.node_class, "nodeName": Prop(n.name, 999)}) for n in nodes],   # Node#getNodeName visibility 999
            "offline": not online, "tiedJobs": [], "totalExecutors": sum(n.num_executors for n in online),
            "propertiesList": [],
        })
        rest = "/".join(parts)
        return self.api(rest or "api/json", bean)


def _parse_requested_plugins(body: bytes):
    """``PluginManager#parseRequestedPlugins``: every element with ``plugin="name@version"``."""
    try:
        root = ET.fromstring(re.sub(rb"^\s*<\?xml[^>]*\?>", b"", body or b""))
    except ET.ParseError as exc:
        raise HttpError(500, page("Oops!", f"<pre>org.xml.sax.SAXParseException: {sec.escape(str(exc))}</pre>").body)
    out = []
    for el in root.iter():
        spec = el.get("plugin")
        if spec is None:
            continue
        m = re.fullmatch(r"([^@]+)@([^@]+)", spec)
        if not m:
            raise HttpError(500, page("Oops!", f"<pre>java.io.IOException: Malformed plugin attribute: {sec.escape(spec)}</pre>").body)
        out.append((m.group(1), m.group(2)))
    return out


def _to_xml(tag, data):
    el = ET.Element(tag)
    if isinstance(data, dict):
        if "_class" in data:
            el.set("_class", str(data["_class"]))
        for k, v in data.items():
            if k == "_class":
                continue
            if isinstance(v, list):
                for x in v:
                    el.append(_to_xml(k, x))
            elif v is not None:
                el.append(_to_xml(k, v))
    elif data is not None:
        el.text = str(data).lower() if isinstance(data, bool) else str(data)
    return el
