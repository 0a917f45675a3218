# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""HTTP client for the Jenkins remote API, on ansible.module_utils.urls (no third-party dependency).

Behaviour follows Jenkins core (see docs/dev/architecture.md section 1 and the wire reference):

* Basic auth is sent pre-emptively: Jenkins answers anonymous requests with 403, never a 401
  challenge (hudson.security.HudsonAuthenticationEntryPoint).
* user + API token needs no CSRF crumb (jenkins.security.ApiCrumbExclusion). Password or anonymous
  access needs one: GET /crumbIssuer/api/json once, keep the session cookie (the crumb is bound to
  the HTTP session, DefaultCrumbIssuer#issueCrumb) and send the crumb header on every POST. A 404
  there means CSRF protection is disabled. A 403 "No valid crumb was included in the request"
  (CrumbFilter) refreshes the crumb once and retries.
* GET/HEAD are retried with exponential backoff on connection errors and on 502/503/504 (Jenkins
  answers 503 on every path while it starts or restarts). POST is retried only when the
  connection was refused, i.e. the request never reached the server.
* POST does not follow redirects: Jenkins answers 302 (or 201 + Location) on success, and the
  caller gets that status and the Location header. GET/HEAD follow redirects only within the same
  scheme, host and port, so that credentials never travel to another host.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import time
import urllib.error
from http.cookiejar import CookieJar
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import Request, make_context

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import (
    JenkinsCascBootError,
    JenkinsConnectionError,
    JenkinsError,
    JenkinsHTTPError,
    JenkinsTimeout,
    basic_auth_value,
    body_excerpt,
    error_for_status,
    html_to_text,
    page_main_text,
    redact,
)

IDEMPOTENT_METHODS = ("GET", "HEAD")
RETRY_STATUSES = (502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
MAX_BACKOFF = 30.0
USER_AGENT = "kubeops.jenkins"
CRUMB_PATH = "/crumbIssuer/api/json"
NO_VALID_CRUMB = "no valid crumb"

# Kinds of transport failure (how the request failed before any HTTP answer came back)
REFUSED = "refused"
TIMEOUT = "timeout"
TLS = "tls"
CONNECTION = "connection"

# What a 503 page says about the controller (see wait_until_ready)
STATE_READY = "ready"
STATE_STARTING = "starting"
STATE_RESTARTING = "restarting"
STATE_CASC_BOOT_FAILURE = "casc_boot_failure"
STATE_UNAVAILABLE = "unavailable"
STATE_UNREACHABLE = "unreachable"


def open_url(url, context=None, **kwargs):
    """ansible.module_utils.urls.open_url with an SSL context given by the caller. open_url builds a new
    one for every request, loading the system CA store each time, even for http:// (about 50 ms per
    request here, measured with cProfile: more than the request itself)."""
    return Request().open(kwargs.pop("method", None) or ("POST" if kwargs.get("data") else "GET"), url,
                          context=context, **kwargs)


class Headers:
    """Case-insensitive, read-only view of response headers (repeated headers joined by ', ')."""

    def __init__(self, items=()):
        self._data = {}
        for name, value in items:
            key = name.lower()
            if key in self._data:
                self._data[key] = (self._data[key][0], self._data[key][1] + ", " + value)
            else:
                self._data[key] = (name, value)

    def get(self, name, default=None):
        entry = self._data.get(name.lower())
        return entry[1] if entry else default

    def __getitem__(self, name):
        return self._data[name.lower()][1]

    def __contains__(self, name):
        return name.lower() in self._data

    def __iter__(self):
        return (entry[0] for entry in self._data.values())

    def __len__(self):
        return len(self._data)

    def items(self):
        return list(self._data.values())

    def __repr__(self):
        return "Headers(%r)" % dict(self.items())


class Response:
    """An HTTP answer: status, reason, headers (case-insensitive), body (bytes), text, json()."""

    def __init__(self, status, reason, headers, body, url):
        self.status = status
        self.reason = reason or http.client.responses.get(status, "")
        self.headers = headers if isinstance(headers, Headers) else Headers(headers or ())
        self.body = body or b""
        self.url = url

    @property
    def text(self):
        charset = "utf-8"
        match = re.search(r"charset=([\w.-]+)", self.headers.get("Content-Type", ""), re.IGNORECASE)
        if match:
            charset = match.group(1)
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self):
        try:
            return json.loads(self.text) if self.body else None
        except ValueError as exc:
            raise JenkinsHTTPError(
                action="parse the JSON answer of", target=_safe_url(self.url), status=self.status,
                reason=self.reason, body_excerpt=body_excerpt(self.text, self.headers.get("Content-Type")),
                url=_safe_url(self.url), hint="not JSON: %s" % exc,
            ) from exc

    @property
    def location(self):
        return self.headers.get("Location")


class TransportFailure(Exception):
    """A request that got no HTTP answer; kind is one of REFUSED, TIMEOUT, TLS, CONNECTION."""

    def __init__(self, kind, detail):
        self.kind = kind
        self.detail = detail
        super().__init__(detail)


def classify_transport_error(exc):
    """Map what urllib/ssl/socket raise to (kind, short detail)."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        detail = getattr(reason, "verify_message", None) or getattr(reason, "reason", None) or str(reason)
        return TLS, "certificate verify failed: %s" % detail
    text = str(reason)
    if isinstance(reason, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return TLS, text
    if isinstance(reason, ConnectionRefusedError):
        return REFUSED, "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in text:
        return TIMEOUT, "timed out"
    if isinstance(reason, socket.gaierror):
        return CONNECTION, "name resolution failed: %s" % (reason.strerror or text)
    return CONNECTION, text or reason.__class__.__name__


def _origin(url):
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _safe_url(url):
    """URL without user info and query string, for messages."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _casc_error_message(html):
    """The message of the configuration-as-code boot failure page, or None if this is not that page.

    CASC ConfigurationAsCodeBootFailure#doDynamic answers 503 and renders ConfigurationAsCode/error.jelly:
    title and app-bar "Error loading configuration", then the error message, the configurator name,
    "Attribute was: ..." and "Valid attributes are: ...".
    """
    if "error loading configuration" not in html.lower():
        return None
    text = page_main_text(html)
    index = text.lower().find("error loading configuration")
    if index >= 0:
        text = text[index + len("error loading configuration"):]
    text = text.strip(" :-\u2013")
    return text or "Error loading configuration"


def classify_unavailable_page(response):
    """Tell apart the reasons Jenkins answers 503: starting, restarting, JCasC boot failure, other."""
    text = response.text
    lowered = text.lower()
    casc = _casc_error_message(text) if "html" in response.headers.get("Content-Type", "html").lower() else None
    if casc is not None:
        return STATE_CASC_BOOT_FAILURE, casc
    # Page texts of hudson/util/HudsonIsRestarting and HudsonIsLoading (older releases said "Hudson")
    if "restarting jenkins" in lowered or "is restarting" in lowered:
        return STATE_RESTARTING, "Jenkins is restarting"
    if "starting jenkins" in lowered or "getting ready to work" in lowered:
        return STATE_STARTING, "Jenkins is starting (Jenkins is getting ready to work)"
    excerpt = html_to_text(text)[:200] if "<" in text else " ".join(text.split())[:200]
    return STATE_UNAVAILABLE, "HTTP %s %s%s" % (response.status, response.reason, (": " + excerpt) if excerpt else "")


class JenkinsClient:
    """Talks to one Jenkins controller. See docs/dev/architecture.md section 1 for the contract."""

    def __init__(self, url, username=None, token=None, password=None, validate_certs=True,
                 ca_path=None, timeout=30, retries=3, retry_backoff=1.0):
        self.base_url = url.rstrip("/")
        self.username = username
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self._contexts = {}
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.retry_backoff = retry_backoff
        self._token = token
        self._password = password
        self._secret = token if token is not None else password
        self.uses_crumb = token is None
        # A session cookie is kept only when a crumb is needed: the crumb is tied to the session,
        # and a logged-in session cookie next to an API token would disable the token's crumb
        # exemption (BasicHeaderProcessor#authenticationIsRequired).
        self.cookies = CookieJar() if self.uses_crumb else None
        self._crumb = None          # (field, value) once fetched
        self._crumbs_disabled = False
        self._secrets = []
        if self._secret is not None:
            self._secrets.extend([self._secret, basic_auth_value(username, self._secret)])
        # indirections so tests can run without sleeping
        self.sleep = time.sleep
        self.monotonic = time.monotonic

    # -- public API ---------------------------------------------------------------------------

    @property
    def secrets(self):
        """Values that must never appear in output (token/password, Basic header value, crumb)."""
        return tuple(self._secrets)

    def redact(self, text):
        return redact(text, self._secrets)

    def url_for(self, path, params=None):
        if re.match(r"^https?://", path or ""):
            url = path
        else:
            url = self.base_url + "/" + (path or "").lstrip("/")
        if params:
            query = urlencode(params, doseq=True)
            url += ("&" if "?" in url else "?") + query
        return url

    def request(self, method, path, params=None, data=None, headers=None, expected=(200,),
                action=None, target=None, json_body=None, retries=None, timeout=None):
        """Send one request (with the retry and crumb rules above) and return a Response.

        expected: statuses that count as success; any other status raises the matching
        JenkinsError. None means "return whatever came back".
        data: bytes/str sent as is, or a dict sent as a form. json_body: serialised as JSON.
        """
        method = method.upper()
        action = action or "%s" % ("read" if method in IDEMPOTENT_METHODS else "post to")
        target = target or path
        body, headers = self._encode_body(data, json_body, headers)
        url = self.url_for(path, params)
        refreshed_crumb = False
        while True:
            request_headers = dict(headers)
            if method == "POST" and self.uses_crumb:
                request_headers.update(self._crumb_header(action, target))
            response = self._send_with_retries(method, url, body, request_headers, action, target,
                                               retries=retries, timeout=timeout)
            if (response.status == 403 and method == "POST" and self.uses_crumb and not refreshed_crumb
                    and self._is_crumb_rejection(response)):
                # The crumb expired with its session (or Jenkins restarted): fetch a new one, once.
                refreshed_crumb = True
                self._crumb = None
                continue
            break
        if expected is not None and response.status not in expected:
            raise self.error_from_response(response, action, target)
        return response

    def get_json(self, path, params=None, action=None, target=None, expected=(200,)):
        """GET a .../api/json resource and return the decoded document."""
        response = self.request("GET", path, params=params, expected=expected, action=action or "read",
                                target=target, headers={"Accept": "application/json"})
        return response.json()

    def post(self, path, data=None, params=None, headers=None, expected=(200, 201, 302), action=None,
             target=None, json_body=None):
        """POST (redirects are not followed: the Response carries status and Location)."""
        return self.request("POST", path, params=params, data=data, headers=headers, expected=expected,
                            action=action, target=target, json_body=json_body)

    def probe(self, path="/login", timeout=None):
        """One GET without retries or error mapping: (state, message, response or None).

        state is STATE_READY for any non-503/502/504 answer, STATE_UNREACHABLE when no answer came
        back, else the kind of unavailable page (see classify_unavailable_page).
        """
        url = self.url_for(path)
        try:
            response = self._send_following("GET", url, None, {}, timeout=timeout)
        except TransportFailure as failure:
            if failure.kind == TLS:
                raise self._transport_error(failure, "connect to", self.base_url, url) from failure
            return STATE_UNREACHABLE, "no answer (%s)" % failure.detail, None
        if response.status == 503:
            state, message = classify_unavailable_page(response)
            return state, message, response
        if response.status in RETRY_STATUSES:
            return STATE_UNAVAILABLE, "HTTP %s %s" % (response.status, response.reason), response
        return STATE_READY, "HTTP %s %s" % (response.status, response.reason), response

    def wait_until_ready(self, timeout=300, interval=2.0, path="/login", fail_on_casc_error=True):
        """Poll path until Jenkins stops answering 503; return the first ready Response.

        Raises JenkinsCascBootError as soon as the configuration-as-code boot failure page is
        served (that 503 never ends on its own), unless fail_on_casc_error is false, in which case
        it raises it at the deadline. Raises JenkinsTimeout with the last page's message when
        Jenkins is still starting/restarting/unreachable at the deadline. An error status other
        than 502/503/504 (401, 403, 404 ...) is raised at once: Jenkins is up and said no.
        """
        deadline = self.monotonic() + timeout
        attempts = 0
        while True:
            attempts += 1
            remaining = deadline - self.monotonic()
            per_request = max(1, min(self.timeout, remaining)) if remaining > 0 else 1
            state, message, response = self.probe(path, timeout=per_request)
            if state == STATE_READY:
                if response.status >= 400:
                    raise self.error_from_response(response, "wait for Jenkins at", self.base_url)
                return response
            if state == STATE_CASC_BOOT_FAILURE and fail_on_casc_error:
                raise self.casc_boot_error(message, response)
            if self.monotonic() + interval > deadline:
                if state == STATE_CASC_BOOT_FAILURE:
                    raise self.casc_boot_error(message, response)
                raise JenkinsTimeout(
                    message="Jenkins at %s was not ready after %ss (%d attempts); last answer: %s"
                            % (_safe_url(self.base_url), timeout, attempts, message),
                    action="wait for Jenkins at", target=_safe_url(self.base_url),
                    status=response.status if response is not None else None,
                    url=_safe_url(self.url_for(path)), secrets=self._secrets)
            self.sleep(interval)

    # -- crumbs ---------------------------------------------------------------------------------

    def _crumb_header(self, action, target):
        if self._crumbs_disabled:
            return {}
        if self._crumb is None:
            response = self._send_with_retries("GET", self.url_for(CRUMB_PATH), None,
                                               {"Accept": "application/json"},
                                               "get a CSRF crumb for", "%s %s" % (action, target))
            if response.status == 404:
                # CSRF protection disabled: Jenkins#getCrumbIssuer() is null, the URL does not exist.
                self._crumbs_disabled = True
                return {}
            if response.status != 200:
                raise self.error_from_response(response, "get a CSRF crumb from", CRUMB_PATH)
            document = response.json() or {}
            field = document.get("crumbRequestField") or "Jenkins-Crumb"
            value = document.get("crumb")
            if not value:
                raise JenkinsHTTPError(action="get a CSRF crumb from", target=CRUMB_PATH,
                                       status=response.status, reason=response.reason,
                                       hint="the answer has no 'crumb' field", secrets=self._secrets)
            self._crumb = (field, value)
            self._secrets.append(value)
        return {self._crumb[0]: self._crumb[1]}

    @staticmethod
    def _is_crumb_rejection(response):
        return NO_VALID_CRUMB in (response.reason or "").lower() or NO_VALID_CRUMB in response.text.lower()

    # -- sending --------------------------------------------------------------------------------

    @staticmethod
    def _encode_body(data, json_body, headers):
        headers = dict(headers or {})
        names = {name.lower() for name in headers}
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            if "content-type" not in names:
                headers["Content-Type"] = "application/json"
        elif isinstance(data, dict):
            data = urlencode(data, doseq=True).encode("utf-8")
            if "content-type" not in names:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif isinstance(data, str):
            data = data.encode("utf-8")
        return data, headers

    def _send_with_retries(self, method, url, body, headers, action, target, retries=None, timeout=None):
        budget = self.retries if retries is None else retries
        attempt = 0
        while True:
            try:
                response = self._send_following(method, url, body, headers, timeout=timeout)
            except TransportFailure as failure:
                retryable = failure.kind == REFUSED or (
                    method in IDEMPOTENT_METHODS and failure.kind in (TIMEOUT, CONNECTION))
                if retryable and attempt < budget:
                    self._backoff(attempt)
                    attempt += 1
                    continue
                raise self._transport_error(failure, action, target, url, attempts=attempt + 1) from failure
            if response.status in RETRY_STATUSES and method in IDEMPOTENT_METHODS and attempt < budget:
                self._backoff(attempt)
                attempt += 1
                continue
            return response

    def _backoff(self, attempt):
        self.sleep(min(self.retry_backoff * (2 ** attempt), MAX_BACKOFF))

    def _send_following(self, method, url, body, headers, timeout=None):
        """_send, following GET/HEAD redirects that stay on the origin of the base URL."""
        response = self._send(method, url, body, headers, timeout=timeout)
        hops = 0
        while (method in IDEMPOTENT_METHODS and response.status in REDIRECT_STATUSES and response.location
               and hops < MAX_REDIRECTS):
            target = urljoin(response.url, response.location)
            if _origin(target) != _origin(self.base_url):
                break  # the caller gets the redirect; credentials stay with the configured host
            hops += 1
            response = self._send(method, target, None, headers, timeout=timeout)
        return response

    def _ssl_context(self, url):
        """One SSL context per client: the verifying one (CA bundle loaded once) for https, a bare one
        that is never used for http (urllib wants a context either way)."""
        tls = url.lower().startswith("https:")
        if tls not in self._contexts:
            self._contexts[tls] = (make_context(cafile=self.ca_path if self.validate_certs else None,
                                                validate_certs=self.validate_certs) if tls
                                   else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        return self._contexts[tls]

    def _send(self, method, url, body, headers, timeout=None):
        """One HTTP exchange through open_url. Returns a Response for every HTTP status."""
        kwargs = {
            "data": body,
            "method": method,
            "timeout": timeout or self.timeout,
            "validate_certs": self.validate_certs,
            "ca_path": self.ca_path,
            "http_agent": USER_AGENT,
            "follow_redirects": "none",  # see _send_following
            "cookies": self.cookies,
            "use_netrc": False,
        }
        # Jenkins localises its pages by Accept-Language; the 503 page classification reads English.
        headers = dict(headers)
        headers.setdefault("Accept-Language", "en")
        kwargs["headers"] = headers
        if self._secret is not None:
            kwargs.update(url_username=self.username, url_password=self._secret, force_basic_auth=True)
        try:
            # inside the try: a ca_path that cannot be read fails as open_url would (OSError, reported)
            raw = open_url(url, context=self._ssl_context(url), **kwargs)
            try:
                return Response(raw.getcode(), getattr(raw, "reason", None), Headers(raw.headers.items()),
                                raw.read(), url)
            finally:
                raw.close()
        except urllib.error.HTTPError as exc:
            try:
                payload = exc.read() if exc.fp is not None else b""
            except (OSError, http.client.HTTPException):
                payload = b""
            headers = Headers(exc.headers.items()) if exc.headers is not None else Headers()
            return Response(exc.code, exc.reason, headers, payload, url)
        except (urllib.error.URLError, OSError, http.client.HTTPException, UrlsConnectionError) as exc:
            kind, detail = classify_transport_error(exc)
            # from None: the raw urllib error text is not scrubbed, the failure detail is
            raise TransportFailure(kind, self.redact(detail)) from None

    # -- errors ---------------------------------------------------------------------------------

    def error_from_response(self, response, action, target):
        content_type = response.headers.get("Content-Type")
        return error_for_status(
            response.status, reason=response.reason, action=action, target=target,
            x_error=response.headers.get("X-Error"),
            body_excerpt=body_excerpt(response.text, content_type, secrets=self._secrets),
            url=_safe_url(response.url), secrets=self._secrets)

    def _transport_error(self, failure, action, target, url, attempts=1):
        tries = " after %d attempts" % attempts if attempts > 1 else ""
        if failure.kind == TLS:
            if "certificate verify failed" in failure.detail.lower():
                advice = ("set validate_certs=false or ca_path to the CA bundle that signed the Jenkins "
                          "certificate")
            else:
                advice = "check that the server speaks TLS on that port and that the url scheme is right"
            return JenkinsConnectionError(
                message="Failed to %s %s: TLS error talking to %s: %s; %s"
                        % (action, target, _safe_url(url), failure.detail, advice),
                action=action, target=target, url=_safe_url(url), secrets=self._secrets)
        if failure.kind == TIMEOUT:
            return JenkinsTimeout(
                message="Failed to %s %s: %s timed out after %ss%s"
                        % (action, target, _safe_url(url), self.timeout, tries),
                action=action, target=target, url=_safe_url(url), secrets=self._secrets)
        return JenkinsConnectionError(
            message="Failed to %s %s: cannot connect to %s (%s)%s" % (action, target, _safe_url(url),
                                                                      failure.detail, tries),
            action=action, target=target, url=_safe_url(url), secrets=self._secrets)

    def casc_boot_error(self, message, response):
        return JenkinsCascBootError(
            message,
            message="Jenkins at %s failed to boot because of its configuration-as-code (JCasC) "
                    "configuration: %s" % (_safe_url(self.base_url), message),
            action="wait for Jenkins at", target=_safe_url(self.base_url),
            status=response.status if response is not None else None,
            url=_safe_url(response.url) if response is not None else None, secrets=self._secrets)


__all__ = ["JenkinsClient", "Response", "Headers", "JenkinsError"]
