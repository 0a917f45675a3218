"""HTTPS front end of the sandbox Kubernetes API (ThreadingHTTPServer + ssl, HTTP/1.1).

Request path, in the order of the upstream handler chain
(staging/src/k8s.io/apiserver/pkg/server/config.go DefaultBuildHandlerChain):
fault injection (sandbox only) → authentication (bearer token; 401) → request info
(pkg/endpoints/request/requestinfo.go: verb, resource, subresource, namespace, name) →
authorization (RBAC; 403) → REST handlers (pkg/endpoints/handlers: create.go, get.go, update.go,
patch.go, delete.go, watch.go). Every request is recorded in ``cluster.request_log``.
"""
import base64
import copy
import json
import logging
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from .api import discovery, errors, managedfields, patch as patchmod, schema, tables
from .api.auth import Attributes, UserInfo, forbidden_error
from .api.errors import ApiError

log = logging.getLogger("sandbox.k8s.apiserver")

GIT_VERSION = "v1.31.4"
VERSION_INFO = {
    "major": "1", "minor": "31", "gitVersion": GIT_VERSION,
    "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b", "gitTreeState": "clean",
    "buildDate": "2024-12-10T11:36:23Z", "goVersion": "go1.22.9", "compiler": "gc",
    "platform": "linux/amd64",
}
# registries with ReturnDeletedObject: true (the OpenAPI delete responses of these kinds are the
# object, e.g. pkg/registry/core/pod/storage/storage.go, .../service/storage/storage.go)
RETURN_DELETED_OBJECT = {("", "pods"), ("", "services"), ("", "serviceaccounts"),
                         ("", "persistentvolumeclaims"), ("", "persistentvolumes"), ("", "podtemplates"),
                         ("", "resourcequotas"), ("storage.k8s.io", "storageclasses"),
                         ("storage.k8s.io", "csidrivers"), ("storage.k8s.io", "volumeattachments")}
PUBLIC_PATHS = ("/version", "/version/", "/healthz", "/livez", "/readyz")
# requestinfo.go: namespaceSubresources / specialVerbs
_LIST_VERBS = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}
_ITEM_VERBS = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "POST": "create"}


class RequestInfo:
    def __init__(self):
        self.resource_request = False
        self.verb = ""
        self.api_prefix = ""
        self.group = ""
        self.version = ""
        self.namespace = ""
        self.resource = ""
        self.subresource = ""
        self.name = ""
        self.parts = []


def request_info(method, path, query):
    """pkg/endpoints/request/requestinfo.go NewRequestInfo (the subset we serve)."""
    info = RequestInfo()
    parts = [p for p in path.strip("/").split("/") if p]
    info.verb = method.lower()
    if not parts or parts[0] not in ("api", "apis"):
        info.verb = {"GET": "get", "HEAD": "get", "POST": "post", "PUT": "put", "DELETE": "delete",
                     "PATCH": "patch"}.get(method, method.lower())
        return info
    info.api_prefix = parts[0]
    rest = parts[1:]
    if parts[0] == "api":
        if not rest:
            return info
        info.version = rest[0]
        rest = rest[1:]
    else:
        if len(rest) < 2:
            return info
        info.group, info.version = rest[0], rest[1]
        rest = rest[2:]
    if not rest:
        return info
    info.resource_request = True
    watch_prefix = False
    if rest[0] == "watch":
        watch_prefix = True
        rest = rest[1:]
    if rest and rest[0] == "namespaces" and len(rest) > 1 and rest[1]:
        # requestinfo.go: /namespaces/{name}/{status|finalize} addresses the namespace itself
        info.namespace = rest[1]
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    info.parts = rest
    if rest:
        info.resource = rest[0]
    if len(rest) > 1:
        info.name = rest[1]
    if len(rest) > 2:
        info.subresource = rest[2]
    if info.resource == "namespaces" and info.name:
        info.namespace = info.name
    if watch_prefix:
        info.verb = "watch"
    elif info.name:
        info.verb = _ITEM_VERBS.get(method, method.lower())
    else:
        info.verb = _LIST_VERBS.get(method, method.lower())
        if method == "GET" and query.get("watch", ["false"])[0] in ("true", "1"):
            info.verb = "watch"
    if info.verb == "get" and query.get("watch", ["false"])[0] in ("true", "1") and info.name:
        info.verb = "watch"
    return info


class _Body:
    def __init__(self, status, payload, content_type="application/json", headers=None):
        self.status = status
        self.payload = payload
        self.content_type = content_type
        self.headers = headers or {}


def _q(query, key, default=None):
    v = query.get(key)
    return v[0] if v else default


def _encode_continue(rv, last_key):
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": last_key}).encode()).decode().rstrip("=")


def _decode_continue(token):
    try:
        d = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return d["rv"], d["start"]
    except Exception:
        raise errors.bad_request("continue key is not valid: invalid continue token")


def _warnings(msgs):
    # handlers/responsewriters: "Warning: 299 - \"text\"" (RFC 7234 warn-code 299)
    return {"Warning": ['299 - %s' % json.dumps(m) for m in msgs]} if msgs else {}


def _wants_table(accept):
    return "as=Table" in (accept or "")


def _field_manager(query, headers):
    fm = _q(query, "fieldManager")
    if fm:
        return fm
    # fieldmanager: managerFromUserAgent — the user agent up to the first "/"
    ua = headers.get("User-Agent") or "unknown"
    return ua.split("/", 1)[0]


class APIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sandbox-kube-apiserver"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet; the request log records requests
        log.debug("%s " + fmt, self.address_string(), *args)

    # dispatch all methods through one function
    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_OPTIONS(self):
        self._handle("OPTIONS")

    @property
    def cluster(self):
        return self.server.cluster

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline()
                n = int(line.strip().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(n)
                self.rfile.readline()
            return data
        return self.rfile.read(length) if length else b""

    def _handle(self, method):
        started = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        body = self._read_body()
        info = request_info(method, path, query)
        user = None
        status = 500
        fault_desc = None
        resource = info.resource + ("/" + info.subresource if info.subresource else "") if info.resource_request else None
        try:
            try:
                user = self._authenticate(path)
                auth_error = None
            except ApiError as exc:
                auth_error = exc
            fault = self.cluster.faults.match("k8s", method, path)
            if fault is not None:
                fault_desc = fault.to_dict()
                if fault.latency:
                    time.sleep(fault.latency)
                if fault.drop:
                    status = 0
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault.status:
                    raise ApiError(fault.status, fault.reason or _reason_for(fault.status),
                                   fault.message or "injected fault (sandbox)")
            if auth_error is not None:
                raise auth_error
            result = self._route(method, path, query, body, info, user)
            if result is None:  # streamed (watch / log follow)
                status = 200
                return
            status = result.status
            self._send(result)
        except ApiError as exc:
            status = exc.code
            self._send(_Body(exc.code, exc.status_object()))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            status = 499
            self.close_connection = True
        except Exception as exc:  # a bug in the sandbox: answer a proper 500 Status
            log.exception("internal error on %s %s", method, path)
            status = 500
            try:
                self._send(_Body(500, errors.internal(repr(exc)).status_object()))
            except Exception:
                self.close_connection = True
        finally:
            if not path.startswith("/_sandbox"):
                self.cluster.request_log.record(
                    "k8s", method, self.path, status, user=user.name if user else None,
                    resource=resource, verb=info.verb if info.resource_request else None,
                    body=body if body else None, namespace=info.namespace or None,
                    duration=round(time.monotonic() - started, 4), fault=fault_desc)

    def _authenticate(self, path):
        auth = self.headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if token:
            user = self.cluster.tokens.authenticate(token)
            if user is None:
                raise errors.unauthorized()
            return user
        if path in PUBLIC_PATHS:
            return UserInfo("system:anonymous", groups=["system:unauthenticated"])
        raise errors.unauthorized()

    def _authorize(self, user, info, path):
        if info.resource_request:
            a = Attributes(user, info.verb, True, info.group, info.version, info.resource,
                           info.subresource, info.namespace if info.resource != "namespaces" or info.name else "",
                           info.name, path)
            if info.resource == "namespaces":
                a.namespace = info.name
        else:
            a = Attributes(user, info.verb, False, path=path)
        if "system:unauthenticated" in user.groups and path in PUBLIC_PATHS:
            return
        allowed, _reason = self.cluster.authorizer.authorize(a)
        if not allowed:
            raise forbidden_error(a)

    # ------------------------------------------------------------------ output
    def _send(self, result):
        if isinstance(result.payload, (bytes, bytearray)):
            data = bytes(result.payload)
        elif isinstance(result.payload, str):
            data = result.payload.encode()
        else:
            data = json.dumps(result.payload, separators=(",", ":")).encode()
        self.send_response(result.status)
        self.send_header("Content-Type", result.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(id(result)))
        for k, v in result.headers.items():
            for item in (v if isinstance(v, list) else [v]):
                self.send_header(k, item)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _start_stream(self, content_type="application/json"):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        if not data:
            return
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_stream(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    # ------------------------------------------------------------------ routing
    def _route(self, method, path, query, body, info, user):
        if path.startswith("/_sandbox"):
            if "system:masters" not in user.groups:
                raise forbidden_error(Attributes(user, info.verb, False, path=path))
            return self.server.admin.handle(method, path, query, body)
        self._authorize(user, info, path)
        if not info.resource_request:
            return self._non_resource(method, path, info)
        return self._resource(method, path, query, body, info, user)

    def _non_resource(self, method, path, info):
        reg = self.cluster.store.registry
        if method not in ("GET", "HEAD"):
            raise errors.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if path in ("/version", "/version/"):
            return _Body(200, VERSION_INFO)
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            return _Body(200, "ok", "text/plain; charset=utf-8")
        if path in ("/api", "/api/"):
            return _Body(200, discovery.api_versions(self.cluster.api_hostport))
        if path in ("/apis", "/apis/"):
            return _Body(200, discovery.api_group_list(reg))
        parts = [p for p in path.strip("/").split("/") if p]
        if parts and parts[0] == "api" and len(parts) == 2:
            doc = discovery.resource_list(reg, "", parts[1])
            if doc:
                return _Body(200, doc)
        if parts and parts[0] == "apis" and len(parts) == 2:
            doc = discovery.api_group(reg, parts[1])
            if doc:
                return _Body(200, doc)
        if parts and parts[0] == "apis" and len(parts) == 3:
            doc = discovery.resource_list(reg, parts[1], parts[2])
            if doc:
                return _Body(200, doc)
        if path == "/":
            return _Body(200, {"paths": sorted(["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"])})
        if path in ("/openapi/v3", "/openapi/v3/"):
            return _Body(200, discovery.openapi_v3_root(reg))
        if path.startswith("/openapi/v3/"):
            gv = [p for p in path[len("/openapi/v3/"):].split("/") if p]
            doc = None
            if len(gv) == 2 and gv[0] == "api":
                doc = discovery.openapi_v3_group_version(reg, "", gv[1])
            elif len(gv) == 3 and gv[0] == "apis":
                doc = discovery.openapi_v3_group_version(reg, gv[1], gv[2])
            if doc:
                return _Body(200, doc)
        # /openapi/v2 is not served and the v3 documents carry no schemas (see README): kubectl
        # and the Python clients fall back to their built-in type information.
        return _Body(404, _status_404_page(), "application/json")

    # ------------------------------------------------------------------ resources
    def _resource(self, method, path, query, body, info, user):
        store = self.cluster.store
        res = store.registry.get(info.group, info.version, info.resource)
        if res is None or (res.namespaced is False and info.namespace and info.resource != "namespaces"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if res.namespaced is True and not info.namespace and info.name and res.storage:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns = info.namespace if res.namespaced else None
        if info.resource == "namespaces":
            ns = None
        dry_run = "All" in query.get("dryRun", [])
        accept = self.headers.get("Accept", "")
        verb = info.verb
        if not res.storage:
            return self._virtual(res, method, body, info, user)
        if info.subresource:
            return self._subresource(res, method, query, body, info, user, ns, dry_run, accept)
        if verb == "watch":
            return self._watch(res, query, info, ns, accept)
        if verb == "list":
            return self._list(res, query, ns, accept)
        if verb == "get":
            obj = store.get(res.group, res.version, res.plural, ns, info.name)
            if _wants_table(accept):
                return _Body(200, tables.to_table(res, [obj], obj["metadata"].get("resourceVersion", ""),
                                                  _q(query, "includeObject", "Metadata")))
            return _Body(200, obj)
        if verb == "create":
            if info.name:
                raise errors.method_not_supported(res.group, res.plural, "create")
            if "create" not in res.verbs:
                raise errors.method_not_supported(res.group, res.plural, "create")
            obj = self._decode(body)
            self._check_kind(res, obj)
            obj, warns = schema.decode(res, obj, _q(query, "fieldValidation"))
            meta = obj.setdefault("metadata", {})
            if res.namespaced:
                if meta.get("namespace") and meta["namespace"] != ns:
                    raise errors.bad_request("the namespace of the provided object does not match "
                                             "the namespace sent on the request")
                meta["namespace"] = ns
            if not meta.get("name") and not meta.get("generateName"):
                raise errors.invalid(res.group, res.kind, "", [errors.FieldError(
                    "Required", "metadata.name", detail="name or generateName is required")])
            created = store.create(res.group, res.version, res.plural, obj, dry_run=dry_run,
                                   field_manager=_field_manager(query, self.headers))
            return _Body(201, created, headers=_warnings(warns))
        if verb == "update":
            obj = self._decode(body)
            self._check_kind(res, obj)
            obj, warns = schema.decode(res, obj, _q(query, "fieldValidation"))
            meta = obj.setdefault("metadata", {})
            if meta.get("name") and meta["name"] != info.name:
                raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                         % (meta["name"], info.name))
            meta["name"] = info.name
            if res.namespaced:
                if meta.get("namespace") and meta["namespace"] != ns:
                    raise errors.bad_request("the namespace of the provided object does not match "
                                             "the namespace sent on the request")
                meta["namespace"] = ns
            fm = _field_manager(query, self.headers)
            try:
                return _Body(200, store.update(res.group, res.version, res.plural, obj, dry_run=dry_run,
                                               field_manager=fm), headers=_warnings(warns))
            except ApiError as exc:
                # rest.Updater AllowCreateOnUpdate: true for endpoints, leases, events, CRs? no
                if exc.code == 404 and res.plural in ("endpoints", "leases", "events"):
                    return _Body(201, store.create(res.group, res.version, res.plural, obj, dry_run=dry_run,
                                                   field_manager=fm))
                raise
        if verb == "patch":
            return self._patch(res, query, body, info, ns, dry_run, None)
        if verb == "delete":
            return self._delete(res, query, body, info, ns, dry_run)
        if verb == "deletecollection":
            if "deletecollection" not in res.verbs:
                raise errors.method_not_supported(res.group, res.plural, "deletecollection")
            opts = self._delete_options(query, body)
            deleted = store.delete_collection(res.group, res.version, res.plural, ns,
                                              _q(query, "labelSelector"), _q(query, "fieldSelector"),
                                              opts.get("propagationPolicy"), opts.get("gracePeriodSeconds"),
                                              dry_run)
            return _Body(200, self._list_doc(res, deleted, store.resource_version))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _check_kind(self, res, obj):
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != res.kind:
            raise errors.bad_request("the server rejected our request due to an error in our request: "
                                     "Kind %s does not match expected %s" % (kind, res.kind))
        if api_version and api_version != res.api_version:
            raise errors.bad_request("the API version in the data (%s) does not match the expected API "
                                     "version (%s)" % (api_version, res.api_version))

    def _decode(self, body):
        ct = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if ct in ("application/json", ""):
            try:
                obj = json.loads(body or b"{}")
            except ValueError as exc:
                raise errors.bad_request("the object provided is unrecognized (%s)" % exc)
        elif ct in ("application/yaml", "application/x-yaml", "text/yaml"):
            try:
                obj = yaml.safe_load(body) or {}
            except yaml.YAMLError as exc:
                raise errors.bad_request("the object provided is unrecognized (%s)" % exc)
        else:
            raise errors.unsupported_media_type(ct)
        if not isinstance(obj, dict):
            raise errors.bad_request("the object provided is unrecognized (not an object)")
        return obj

    def _list_doc(self, res, items, rv, cont=None, remaining=None):
        meta = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        if not res.crd:
            items = [{k: v for k, v in it.items() if k not in ("apiVersion", "kind")} for it in items]
        return {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta, "items": items}

    def _list(self, res, query, ns, accept):
        store = self.cluster.store
        items, rv = store.list(res.group, res.version, res.plural, ns, _q(query, "labelSelector"),
                               _q(query, "fieldSelector"))
        limit = int(_q(query, "limit", "0") or 0)
        cont = _q(query, "continue")
        next_token = remaining = None
        if cont:
            rv0, start = _decode_continue(cont)
            items = [i for i in items if _key(i) > start]
            rv = rv0
        if limit and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
            next_token = _encode_continue(rv, _key(items[-1]))
        if _wants_table(accept):
            return _Body(200, tables.to_table(res, items, rv, _q(query, "includeObject", "Metadata"), next_token))
        return _Body(200, self._list_doc(res, items, rv, next_token, remaining))

    def _watch(self, res, query, info, ns, accept):
        store = self.cluster.store
        rv = _q(query, "resourceVersion")
        field_sel = _q(query, "fieldSelector")
        if info.name:
            field_sel = ",".join(x for x in (field_sel, "metadata.name=%s" % info.name) if x)
        timeout = _q(query, "timeoutSeconds")
        deadline = time.monotonic() + (float(timeout) if timeout else 1800.0)
        bookmarks = _q(query, "allowWatchBookmarks") in ("true", "1")
        table = _wants_table(accept)
        try:
            start_rv = store.resource_version
            w = store.watch(res.group, res.version, res.plural, ns, rv, _q(query, "labelSelector"), field_sel)
        except ApiError as exc:
            if exc.code != 410:
                raise
            # the cacher answers 200 and then an ERROR event carrying the 410 Status
            self._start_stream()
            self._chunk(json.dumps({"type": "ERROR", "object": exc.status_object()}) + "\n")
            self._end_stream()
            return None
        self._start_stream()
        last_rv = int(start_rv)
        last_sent = time.monotonic()
        first = True
        try:
            while not self.server.stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ev = w.next(timeout=min(left, 1.0))
                if ev is StopIteration:
                    break
                if ev is None:
                    if bookmarks and time.monotonic() - last_sent >= 1.0:
                        bm = {"kind": res.kind, "apiVersion": res.api_version,
                              "metadata": {"resourceVersion": str(last_rv)}}
                        self._chunk(json.dumps({"type": "BOOKMARK", "object": bm}) + "\n")
                        last_sent = time.monotonic()
                    continue
                etype, obj = ev
                try:
                    last_rv = max(last_rv, int(obj["metadata"].get("resourceVersion") or 0))
                except ValueError:
                    pass
                if table:
                    t = tables.to_table(res, [obj], obj["metadata"].get("resourceVersion", ""),
                                        _q(query, "includeObject", "Metadata"))
                    if not first:
                        t["columnDefinitions"] = []
                    obj = t
                first = False
                self._chunk(json.dumps({"type": etype, "object": obj}, separators=(",", ":")) + "\n")
                last_sent = time.monotonic()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
            return None
        finally:
            w.stop()
        self._end_stream()
        return None

    def _delete_options(self, query, body):
        opts = {}
        if body:
            try:
                opts = json.loads(body) or {}
            except ValueError:
                raise errors.bad_request("invalid DeleteOptions body")
        if _q(query, "propagationPolicy"):
            opts["propagationPolicy"] = _q(query, "propagationPolicy")
        if _q(query, "gracePeriodSeconds") is not None:
            opts["gracePeriodSeconds"] = int(_q(query, "gracePeriodSeconds"))
        if opts.get("orphanDependents") is True and not opts.get("propagationPolicy"):
            opts["propagationPolicy"] = "Orphan"
        if opts.get("orphanDependents") is False and not opts.get("propagationPolicy"):
            opts["propagationPolicy"] = "Background"
        pp = opts.get("propagationPolicy")
        if pp and pp not in ("Orphan", "Background", "Foreground"):
            raise errors.invalid("", "DeleteOptions", "", [errors.FieldError(
                "NotSupported", "propagationPolicy", pp,
                'supported values: "Foreground", "Background", "Orphan", "nil"')])
        if "All" in (opts.get("dryRun") or []):
            opts["_dry"] = True
        return opts

    def _delete(self, res, query, body, info, ns, dry_run):
        store = self.cluster.store
        opts = self._delete_options(query, body)
        obj, now = store.delete_ex(res.group, res.version, res.plural, ns, info.name,
                                   opts.get("propagationPolicy"), opts.get("gracePeriodSeconds"),
                                   dry_run or opts.get("_dry", False), opts.get("preconditions"))
        status = 200
        if not now and opts.get("orphanDependents") is False:
            status = 202
        # registry/generic/registry/store.go finalizeDelete: Status unless ReturnDeletedObject
        if now and (res.group, res.plural) not in RETURN_DELETED_OBJECT:
            details = {"name": info.name, "kind": res.plural, "uid": obj["metadata"].get("uid")}
            if res.group:
                details["group"] = res.group
            return _Body(status, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Success", "details": details})
        return _Body(status, obj)

    def _patch(self, res, query, body, info, ns, dry_run, subresource):
        store = self.cluster.store
        ct = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        fm = _q(query, "fieldManager")
        if ct == "application/apply-patch+yaml":
            if not fm:
                # handlers/patch.go: "PatchType is ApplyPatch, but fieldManager is not set"
                raise errors.bad_request("fieldManager is required for apply requests")
            force = _q(query, "force") in ("true", "1")
            try:
                applied = yaml.safe_load(body or b"") or {}
            except yaml.YAMLError as exc:
                raise errors.bad_request("error decoding YAML: %s" % exc)
            if not isinstance(applied, dict):
                raise errors.bad_request("error decoding YAML: not an object")
            if not applied.get("apiVersion") or not applied.get("kind"):
                raise errors.bad_request("apiVersion and kind are required for apply requests"
                                         if not applied.get("kind") else "apiVersion must be set")
            self._check_kind(res, applied)
            schema.check_apply(res, applied, ns, info.name)
            meta = applied.setdefault("metadata", {})
            if meta.get("name") and meta["name"] != info.name:
                raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                         % (meta["name"], info.name))
            meta["name"] = info.name
            if res.namespaced:
                meta["namespace"] = ns
            created = {}

            def fn(cur):
                if cur is None:
                    created["yes"] = True
                    obj, mf = managedfields.server_side_apply(res, None, applied, fm, force, subresource)
                    return obj, mf
                obj, mf = managedfields.server_side_apply(res, cur, applied, fm, force, subresource)
                return obj, mf

            out = store.guaranteed_update(res.group, res.version, res.plural, ns, info.name, fn,
                                          subresource=subresource, dry_run=dry_run, field_manager=None,
                                          create_if_missing=subresource is None)
            return _Body(201 if created else 200, out)
        if ct not in ("application/json-patch+json", "application/merge-patch+json",
                      "application/strategic-merge-patch+json"):
            raise errors.unsupported_media_type(None)
        if ct == "application/strategic-merge-patch+json" and res.crd:
            # apiextensions-apiserver: strategic merge patch is not supported for custom resources
            raise ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media types "
                           "include: application/json-patch+json, application/merge-patch+json, "
                           "application/apply-patch+yaml")
        fm = fm or _field_manager(query, self.headers)

        def fn(cur):
            patched = patchmod.apply_patch(ct, cur, body)
            if not isinstance(patched, dict):
                raise errors.bad_request("the patched object is not an object")
            meta = patched.setdefault("metadata", {})
            if meta.get("name") != info.name:
                raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                         % (meta.get("name"), info.name))
            # a patch body's resourceVersion is a precondition (patch.go applyPatch)
            patched, warns = schema.decode(res, patched, _q(query, "fieldValidation"), body=False)
            warnings.extend(warns)
            return patched

        warnings = []
        out = store.guaranteed_update(res.group, res.version, res.plural, ns, info.name, fn,
                                      subresource=subresource, dry_run=dry_run, field_manager=fm)
        return _Body(200, out, headers=_warnings(warnings))

    # ------------------------------------------------------------------ subresources
    def _subresource(self, res, method, query, body, info, user, ns, dry_run, accept):
        store = self.cluster.store
        sub = info.subresource
        if sub not in res.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        verb = info.verb
        allowed_verbs = res.subresources[sub][3]
        if verb not in allowed_verbs:
            raise errors.method_not_supported(res.group, "%s/%s" % (res.plural, sub), verb)
        if sub in ("status",):
            if verb == "get":
                return _Body(200, store.get(res.group, res.version, res.plural, ns, info.name))
            if verb == "update":
                obj = self._decode(body)
                obj, _warns = schema.decode(res, obj, _q(query, "fieldValidation"))
                obj.setdefault("metadata", {})["name"] = info.name
                if res.namespaced:
                    obj["metadata"]["namespace"] = ns
                return _Body(200, store.update(res.group, res.version, res.plural, obj, subresource="status",
                                               dry_run=dry_run, field_manager=_field_manager(query, self.headers)))
            return self._patch(res, query, body, info, ns, dry_run, "status")
        if sub == "finalize":
            obj = self._decode(body)
            obj.setdefault("metadata", {})["name"] = info.name
            return _Body(200, store.update(res.group, res.version, res.plural, obj, subresource="finalize",
                                           dry_run=dry_run))
        if sub == "scale":
            return self._scale(res, verb, query, body, info, ns, dry_run)
        if sub == "log":
            return self._log(query, info, ns)
        if sub in ("exec", "attach", "portforward"):
            # handlers without a SPDY/WebSocket upgrade: upstream answers 400 "Upgrade request required"
            if (self.headers.get("Upgrade") or "").lower() in ("spdy/3.1", "websocket"):
                raise ApiError(501, "NotImplemented", "pods/%s is not emulated by the sandbox" % sub)
            raise errors.bad_request("Upgrade request required")
        if sub == "token":
            return self._token_request(body, info, ns)
        if sub == "eviction":
            store.delete(res.group, res.version, res.plural, ns, info.name, dry_run=dry_run)
            return _Body(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                               "code": 201})
        if sub == "binding":
            b = self._decode(body)
            store.bind(ns, info.name, (b.get("target") or {}).get("name"), dry_run=dry_run)
            return _Body(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                               "code": 201})
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _scale(self, res, verb, query, body, info, ns, dry_run):
        store = self.cluster.store

        def to_scale(obj):
            sel = ((obj.get("spec") or {}).get("selector") or {})
            sel_str = ",".join("%s=%s" % kv for kv in sorted((sel.get("matchLabels") or {}).items())) \
                if isinstance(sel, dict) else str(sel)
            m = obj["metadata"]
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in m},
                    "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                    "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": sel_str}}
        if verb == "get":
            return _Body(200, to_scale(store.get(res.group, res.version, res.plural, ns, info.name)))
        ct = (self.headers.get("Content-Type") or "").split(";")[0].strip()

        def fn(cur):
            scale = to_scale(cur)
            if verb == "update":
                new = self._decode(body)
                rv = (new.get("metadata") or {}).get("resourceVersion")
                if rv and rv != cur["metadata"]["resourceVersion"]:
                    raise errors.stale(res.group, res.plural, info.name)
            else:
                if ct == "application/apply-patch+yaml":
                    new = patchmod.json_merge_patch(scale, yaml.safe_load(body) or {})
                else:
                    new = patchmod.apply_patch(ct, scale, body)
            replicas = (new.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise errors.invalid("autoscaling", "Scale", info.name, [errors.FieldError(
                    "Invalid", "spec.replicas", replicas, "must be greater than or equal to 0")])
            cur.setdefault("spec", {})["replicas"] = replicas
            cur["metadata"].pop("resourceVersion", None)
            return cur
        out = store.guaranteed_update(res.group, res.version, res.plural, ns, info.name, fn,
                                      dry_run=dry_run, field_manager=_field_manager(query, self.headers))
        return _Body(200, to_scale(out))

    def _token_request(self, body, info, ns):
        req = self._decode(body) if body else {}
        spec = req.get("spec") or {}
        exp = int(spec.get("expirationSeconds") or 3600)
        if exp < 600:
            raise errors.invalid("authentication.k8s.io", "TokenRequest", info.name, [errors.FieldError(
                "Invalid", "spec.expirationSeconds", exp, "may not specify a duration less than 10 minutes")])
        bound = spec.get("boundObjectRef")
        pod = None
        if bound and bound.get("kind") == "Pod":
            pod = self.cluster.store.get("", "v1", "pods", ns, bound.get("name"))
            if bound.get("uid") and bound["uid"] != pod["metadata"]["uid"]:
                raise errors.conflict("", "pods", bound.get("name"), "the UID in the bound object reference "
                                      "(%s) does not match the UID in record. The object might have been "
                                      "deleted and then recreated" % bound["uid"])
        token, expiry = self.cluster.tokens.issue_ex(ns, info.name, exp, spec.get("audiences"), pod)
        out = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
               "metadata": {"name": info.name, "namespace": ns,
                            "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
               "spec": {"audiences": spec.get("audiences") or [self.cluster.tokens.ISSUER],
                        "expirationSeconds": exp, "boundObjectRef": bound},
               "status": {"token": token,
                          "expirationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry))}}
        return _Body(201, out)

    def _log(self, query, info, ns):
        store = self.cluster.store
        pod = store.get("", "v1", "pods", ns, info.name)
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        inits = [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
        container = _q(query, "container")
        if not container:
            if len(containers) == 1:
                container = containers[0]
            else:
                # pkg/registry/core/pod/strategy.go LogLocation
                raise errors.bad_request("a container name must be specified for pod %s, choose one of: %s"
                                         % (info.name, "[" + " ".join(containers) + "]")
                                         + (" or one of the init containers: [%s]" % " ".join(inits) if inits else ""))
        if container not in containers + inits:
            raise errors.bad_request("container %s is not valid for pod %s" % (container, info.name))
        previous = _q(query, "previous") in ("true", "1")
        path = self.cluster.pod_log_path(ns, info.name, container, previous=previous)
        if not os.path.exists(path):
            if previous:
                raise errors.bad_request('previous terminated container "%s" in pod "%s" not found'
                                         % (container, info.name))
            phase = (pod.get("status") or {}).get("phase")
            raise errors.bad_request('container "%s" in pod "%s" is waiting to start: %s'
                                     % (container, info.name,
                                        "ContainerCreating" if phase == "Pending" else "PodInitializing"))
        with open(path, "rb") as fh:
            data = fh.read()
        tail = _q(query, "tailLines")
        if tail is not None:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-int(tail):]) if int(tail) > 0 else b""
        limit = _q(query, "limitBytes")
        if limit:
            data = data[:int(limit)]
        if _q(query, "follow") not in ("true", "1"):
            return _Body(200, data, "text/plain")
        self._start_stream("text/plain")
        self._chunk(data)
        pos = os.path.getsize(path)
        try:
            while not self.server.stopping:
                time.sleep(0.2)
                try:
                    cur = store.get("", "v1", "pods", ns, info.name)
                except ApiError:
                    break
                if cur["metadata"]["uid"] != pod["metadata"]["uid"]:
                    break
                size = os.path.getsize(path) if os.path.exists(path) else 0
                if size > pos:
                    with open(path, "rb") as fh:
                        fh.seek(pos)
                        self._chunk(fh.read())
                    pos = size
                phase = (cur.get("status") or {}).get("phase")
                if phase in ("Succeeded", "Failed"):
                    break
        except OSError:
            self.close_connection = True
            return None
        self._end_stream()
        return None

    # ------------------------------------------------------------------ reviews
    def _virtual(self, res, method, body, info, user):
        if info.verb != "create":
            raise errors.method_not_supported(res.group, res.plural, info.verb)
        req = self._decode(body)
        spec = req.get("spec") or {}
        authz = self.cluster.authorizer
        out = {"kind": res.kind, "apiVersion": res.api_version, "metadata": {"creationTimestamp": None},
               "spec": spec}
        if res.plural in ("selfsubjectaccessreviews", "subjectaccessreviews"):
            subject = user
            if res.plural == "subjectaccessreviews":
                subject = UserInfo(spec.get("user", ""), spec.get("uid", ""), spec.get("groups") or [])
            ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
            if ra:
                a = Attributes(subject, ra.get("verb", ""), True, ra.get("group", ""), ra.get("version", ""),
                               ra.get("resource", ""), ra.get("subresource", ""), ra.get("namespace", ""),
                               ra.get("name", ""))
            elif nra:
                a = Attributes(subject, nra.get("verb", ""), False, path=nra.get("path", ""))
            else:
                raise errors.invalid(res.group, res.kind, "", [errors.FieldError(
                    "Required", "spec.resourceAttributes", detail="exactly one of nonResourceAttributes or "
                    "resourceAttributes must be specified")])
            allowed, reason = authz.authorize(a)
            out["status"] = {"allowed": allowed}
            if reason:
                out["status"]["reason"] = reason
            return _Body(201, out)
        if res.plural == "selfsubjectrulesreviews":
            rr, nr = authz.rules_for(user, spec.get("namespace", ""))
            out["status"] = {"resourceRules": rr, "nonResourceRules": nr, "incomplete": False}
            return _Body(201, out)
        if res.plural == "selfsubjectreviews":
            out["status"] = {"userInfo": user.to_dict()}
            return _Body(201, out)
        if res.plural == "tokenreviews":
            u = self.cluster.tokens.authenticate(spec.get("token", ""))
            out["status"] = {"authenticated": bool(u)}
            if u:
                out["status"]["user"] = u.to_dict()
            return _Body(201, out)
        raise ApiError(404, "NotFound", "the server could not find the requested resource")


def _key(obj):
    m = obj["metadata"]
    return "%s/%s" % (m.get("namespace", ""), m["name"])


def _reason_for(code):
    return {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 410: "Gone", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
            503: "ServiceUnavailable", 504: "Timeout"}.get(code, "Unknown")


def _status_404_page():
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the server could not find the requested resource", "reason": "NotFound",
            "details": {}, "code": 404}


class AdminAPI:
    """``/_sandbox/...``: request log, counts, reset, faults, status, options, compaction."""

    def __init__(self, cluster):
        self.cluster = cluster

    def handle(self, method, path, query, body):
        c = self.cluster
        sub = path[len("/_sandbox"):].strip("/")
        data = {}
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                raise errors.bad_request("admin API bodies are JSON")
        if sub == "requests" and method == "GET":
            comp = _q(query, "component")
            since = int(_q(query, "since", "0"))
            return _Body(200, {"items": c.request_log.entries(component=comp, since=since)})
        if sub == "counts" and method == "GET":
            return _Body(200, c.request_log.counts(_q(query, "component")))
        if sub == "reset" and method == "POST":
            c.request_log.reset()
            if data.get("faults", True):
                c.faults.clear()
            return _Body(200, {"reset": True})
        if sub == "faults":
            if method == "GET":
                return _Body(200, {"items": c.faults.list()})
            if method == "POST":
                allowed = {"component", "method", "path_regex", "count", "status", "message", "drop",
                           "latency", "reason"}
                bad = set(data) - allowed
                if bad:
                    raise errors.bad_request("unknown fault fields: %s" % ", ".join(sorted(bad)))
                fid = c.faults.add(**data)
                return _Body(201, {"id": fid, "items": c.faults.list()})
            if method == "DELETE":
                c.faults.clear()
                return _Body(200, {"items": []})
        if sub == "status" and method in ("GET", "POST"):
            return _Body(200, c.status())
        if sub == "options":
            # run-time tunables of the emulated cluster (the kubelet reads them on every sync)
            tunables = {"configmap_sync_delay": float}
            if method in ("POST", "PATCH"):
                bad = set(data) - set(tunables)
                if bad:
                    raise errors.bad_request("unknown options: %s (known: %s)" % (
                        ", ".join(sorted(bad)), ", ".join(sorted(tunables))))
                for key, kind in tunables.items():
                    if key in data:
                        try:
                            value = kind(data[key])
                        except (TypeError, ValueError):
                            raise errors.bad_request("option %s must be a number" % key)
                        if value < 0:
                            raise errors.bad_request("option %s must not be negative" % key)
                        setattr(c, key, value)
            if method in ("GET", "POST", "PATCH"):
                from sandbox.k8s.controllers.kubelet import DEFAULT_CONFIGMAP_SYNC_DELAY, cluster_option
                return _Body(200, {"configmap_sync_delay": float(cluster_option(
                    c, "configmap_sync_delay", DEFAULT_CONFIGMAP_SYNC_DELAY))})
        if sub == "compact" and method == "POST":
            return _Body(200, {"compactedRevision": c.store.compact()})
        raise ApiError(404, "NotFound", "no such admin endpoint: %s %s" % (method, path))


class APIServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, cluster, host, port, certfile, keyfile):
        self.cluster = cluster
        self.admin = AdminAPI(cluster)
        self.stopping = False
        super().__init__((host, port), APIHandler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        ctx.set_alpn_protocols(["http/1.1"])
        self.ssl_context = ctx

    def get_request(self):
        sock, addr = self.socket.accept()
        # headers and body are separate writes: without TCP_NODELAY, Nagle + delayed ACK
        # add ~40 ms to every keep-alive request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(60)
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        request.settimeout(None)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        log.debug("connection error from %s", client_address, exc_info=True)

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="kube-apiserver", daemon=True)
        self._thread.start()

    def stop(self):
        self.stopping = True
        self.shutdown()
        self.server_close()
