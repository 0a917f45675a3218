# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""JenkinsClient against a fake transport (FakeJenkins replaces ansible.module_utils.urls.open_url).

FakeJenkins answers from a table of canned responses per (method, path), keeps a call log,
applies Set-Cookie/Cookie through a real http.cookiejar, and raises urllib's HTTPError for
error statuses and for redirects that the caller asked not to follow, as open_url does.
"""

from __future__ import annotations

import base64
import email.message
import io
import json
import os
import socket
import ssl
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import client as client_module
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.client import JenkinsClient
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import (
    JenkinsAuthError,
    JenkinsCascBootError,
    JenkinsConflict,
    JenkinsConnectionError,
    JenkinsError,
    JenkinsHTTPError,
    JenkinsNotFound,
    JenkinsPermissionError,
    JenkinsTimeout,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures")

BASE = "http://jenkins.example:8080/jenkins"
TOKEN = "11a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7"
PASSWORD = "Pa55-w0rd-very-secret"
CRUMB = "5f0c2a9d3b7e41c6a8d2f4e6b1c3a5d7e9f1b3c5d7e9a1b3c5d7e9f1a3b5c7d9"


def fixture_json(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


PAGES = fixture_json("pages.json")


def json_answer(document, status=200, headers=None):
    hdrs = {"Content-Type": "application/json;charset=utf-8", "X-Jenkins": "2.578"}
    hdrs.update(headers or {})
    return (status, hdrs, json.dumps(document))


def html_answer(status, page, headers=None):
    hdrs = {"Content-Type": "text/html;charset=utf-8"}
    hdrs.update(headers or {})
    return (status, hdrs, PAGES.get(page, page))


def starting_page():
    return html_answer(503, "starting", {"Cache-Control": "no-cache,no-store,must-revalidate", "Expires": "0"})


REASONS = {
    200: "OK", 201: "Created", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 409: "Conflict", 500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}


class FakeResponse:
    def __init__(self, url, status, reason, headers, body):
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self._body = body

    def getcode(self):
        return self.status

    def read(self):
        return self._body

    def close(self):
        pass

    def info(self):
        return self.headers


class Call:
    def __init__(self, method, url, headers, data, kwargs, cookie):
        self.method = method
        self.url = url
        parts = urlsplit(url)
        self.path = parts.path
        self.query = parse_qs(parts.query)
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.data = data
        self.kwargs = kwargs
        self.cookie = cookie

    @property
    def authorization(self):
        """The Authorization header open_url would have built from url_username/url_password."""
        if self.kwargs.get("force_basic_auth") and self.kwargs.get("url_password") is not None:
            pair = "%s:%s" % (self.kwargs.get("url_username"), self.kwargs.get("url_password"))
            return "Basic " + base64.b64encode(pair.encode()).decode()
        return None

    def __repr__(self):
        return "Call(%s %s)" % (self.method, self.url)


class FakeJenkins:
    """Replacement for open_url driven by a table: {(METHOD, path): [answer, answer, ...]}.

    An answer is (status, headers, body) or an exception to raise. The last answer of a route
    repeats. Requests to an unknown route get a 404.
    """

    def __init__(self, routes=None):
        self.routes = {}
        self.calls = []
        for (method, path), answers in (routes or {}).items():
            self.add(method, path, *answers)

    def add(self, method, path, *answers):
        self.routes.setdefault((method.upper(), path), []).extend(answers)
        return self

    def calls_to(self, method, path):
        return [c for c in self.calls if c.method == method and c.path == path]

    def __call__(self, url, data=None, headers=None, method=None, **kwargs):
        method = (method or ("POST" if data else "GET")).upper()
        jar = kwargs.get("cookies")
        cookie = None
        request = urllib.request.Request(url, method=method)
        if jar is not None:
            jar.add_cookie_header(request)
            cookie = request.get_header("Cookie")
        call = Call(method, url, headers, data, kwargs, cookie)
        self.calls.append(call)
        answers = self.routes.get((method, call.path))
        if not answers:
            answer = (404, {"Content-Type": "text/html"}, "<html><body><h2>Not Found</h2></body></html>")
        elif len(answers) > 1:
            answer = answers.pop(0)
        else:
            answer = answers[0]
        if isinstance(answer, BaseException):
            raise answer
        status, hdrs, body = answer
        message = email.message.Message()
        for name, value in hdrs.items():
            for item in value if isinstance(value, list) else [value]:
                message[name] = item
        if jar is not None:
            jar.extract_cookies(FakeResponse(url, status, "", message, b""), request)
        body = body.encode("utf-8") if isinstance(body, str) else body
        reason = hdrs.get("X-Reason") or REASONS.get(status, "")
        follow = kwargs.get("follow_redirects", "urllib2")
        if 300 <= status < 400:
            follows = follow in ("urllib2", "urllib", "all", "yes", True) or (
                follow == "safe" and method in ("GET", "HEAD"))
            if follows and "Location" in hdrs:
                target = urllib.request.urljoin(url, hdrs["Location"])
                return self(target, None, headers, "GET", **kwargs)
            raise urllib.error.HTTPError(url, status, reason, message, io.BytesIO(body))
        if status >= 400:
            raise urllib.error.HTTPError(url, status, reason, message, io.BytesIO(body))
        return FakeResponse(url, status, reason, message, body)


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake(monkeypatch):
    transport = FakeJenkins()
    monkeypatch.setattr(client_module, "open_url", transport)
    return transport


def make_client(clock=None, **kwargs):
    options = dict(username="alice", token=TOKEN)
    options.update(kwargs)
    client = JenkinsClient(BASE, **options)
    clock = clock or FakeClock()
    client.sleep = clock.sleep
    client.monotonic = clock.monotonic
    client.clock = clock
    return client


def assert_no_secret(*texts):
    encoded = base64.b64encode(("alice:%s" % TOKEN).encode()).decode()
    encoded_pw = base64.b64encode(("alice:%s" % PASSWORD).encode()).decode()
    for text in texts:
        for secret in (TOKEN, PASSWORD, CRUMB, encoded, encoded_pw):
            assert secret not in str(text)


def error_texts(exc):
    return [str(exc), repr(exc), exc.message, exc.x_error, exc.body_excerpt, exc.url, json.dumps(exc.to_result())]


# -- URLs and plain requests ---------------------------------------------------------------------

def test_get_json_uses_prefix_params_and_token_auth(fake):
    fake.add("GET", "/jenkins/api/json", json_answer(fixture_json("jenkins_root.json")))
    client = make_client()

    document = client.get_json("/api/json", params={"tree": "mode,useCrumbs"})

    assert document["mode"] == "NORMAL"
    (call,) = fake.calls
    assert call.url == BASE + "/api/json?tree=mode%2CuseCrumbs"
    assert call.authorization == "Basic " + base64.b64encode(("alice:" + TOKEN).encode()).decode()
    assert call.kwargs["timeout"] == 30
    assert call.kwargs["validate_certs"] is True


def test_response_headers_are_case_insensitive_and_text_is_decoded(fake):
    fake.add("GET", "/jenkins/whoAmI/api/json",
             (200, {"Content-Type": "application/json;charset=ISO-8859-1", "X-Jenkins": "2.578"},
              '{"name": "j\xe9r\xf4me"}'.encode("latin-1")))
    response = make_client().request("GET", "/whoAmI/api/json")

    assert response.headers["x-jenkins"] == "2.578"
    assert response.headers.get("X-JENKINS") == "2.578"
    assert "content-type" in response.headers
    assert response.json() == {"name": "j\xe9r\xf4me"}
    assert isinstance(response.body, bytes)


def test_invalid_json_raises_http_error(fake):
    fake.add("GET", "/jenkins/api/json", (200, {"Content-Type": "text/html"}, "<html>login</html>"))
    with pytest.raises(JenkinsHTTPError, match="parse the JSON answer"):
        make_client().get_json("/api/json")


def test_form_and_json_bodies_are_encoded(fake):
    fake.add("POST", "/jenkins/form", (200, {}, ""))
    fake.add("POST", "/jenkins/json", (200, {}, ""))
    client = make_client()
    client.post("/form", data={"name": "x y"})
    client.post("/json", json_body={"plugins": ["git"]})

    assert fake.calls[0].data == b"name=x+y"
    assert fake.calls[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert json.loads(fake.calls[1].data) == {"plugins": ["git"]}
    assert fake.calls[1].headers["content-type"] == "application/json"


# -- crumbs and cookies ----------------------------------------------------------------------------

def test_token_auth_posts_without_crumb_or_session(fake):
    fake.add("POST", "/jenkins/job/smoke/build", (201, {"Location": BASE + "/queue/item/17/"}, ""))
    client = make_client()

    response = client.post("/job/smoke/build")

    assert response.status == 201
    assert response.location == BASE + "/queue/item/17/"
    assert fake.calls_to("GET", "/jenkins/crumbIssuer/api/json") == []
    assert "jenkins-crumb" not in fake.calls[0].headers
    assert fake.calls[0].kwargs["cookies"] is None


def test_password_auth_fetches_crumb_once_and_reuses_session_cookie(fake):
    fake.add("GET", "/jenkins/crumbIssuer/api/json",
             json_answer(fixture_json("crumb.json"),
                         headers={"Set-Cookie": "JSESSIONID.a1b2c3d4=node01abc; Path=/jenkins; HttpOnly"}))
    fake.add("POST", "/jenkins/configuration-as-code/reload", (302, {"Location": BASE + "/configuration-as-code/"}, ""))
    client = make_client(token=None, password=PASSWORD)

    client.post("/configuration-as-code/reload")
    client.post("/configuration-as-code/reload")

    crumb_calls = fake.calls_to("GET", "/jenkins/crumbIssuer/api/json")
    posts = fake.calls_to("POST", "/jenkins/configuration-as-code/reload")
    assert len(crumb_calls) == 1
    assert crumb_calls[0].cookie is None
    assert len(posts) == 2
    for post in posts:
        assert post.headers["jenkins-crumb"] == CRUMB
        assert post.cookie == "JSESSIONID.a1b2c3d4=node01abc"
        assert post.authorization == "Basic " + base64.b64encode(("alice:" + PASSWORD).encode()).decode()


def test_crumb_field_name_comes_from_the_issuer(fake):
    fake.add("GET", "/jenkins/crumbIssuer/api/json",
             json_answer({"crumb": CRUMB, "crumbRequestField": ".crumb"}))
    fake.add("POST", "/jenkins/x", (200, {}, ""))
    make_client(token=None, password=PASSWORD).post("/x")
    assert fake.calls_to("POST", "/jenkins/x")[0].headers[".crumb"] == CRUMB


def test_crumb_issuer_404_means_csrf_disabled(fake):
    fake.add("POST", "/jenkins/x", (200, {}, ""))
    client = make_client(token=None, password=PASSWORD)

    client.post("/x")
    client.post("/x")

    assert len(fake.calls_to("GET", "/jenkins/crumbIssuer/api/json")) == 1
    assert all("jenkins-crumb" not in c.headers for c in fake.calls_to("POST", "/jenkins/x"))


def test_anonymous_posts_also_use_a_crumb(fake):
    fake.add("GET", "/jenkins/crumbIssuer/api/json", json_answer(fixture_json("crumb.json")))
    fake.add("POST", "/jenkins/x", (200, {}, ""))
    client = JenkinsClient(BASE)
    client.post("/x")
    post = fake.calls_to("POST", "/jenkins/x")[0]
    assert post.headers["jenkins-crumb"] == CRUMB
    assert post.authorization is None


def test_no_valid_crumb_refreshes_the_crumb_exactly_once(fake):
    new_crumb = "ab" * 32
    fake.add("GET", "/jenkins/crumbIssuer/api/json",
             json_answer(fixture_json("crumb.json")),
             json_answer({"crumb": new_crumb, "crumbRequestField": "Jenkins-Crumb"}))
    fake.add("POST", "/jenkins/job/smoke/build",
             html_answer(403, "no_valid_crumb", {"X-Reason": "No valid crumb was included in the request"}),
             (201, {"Location": BASE + "/queue/item/3/"}, ""))
    client = make_client(token=None, password=PASSWORD)

    response = client.post("/job/smoke/build")

    assert response.status == 201
    posts = fake.calls_to("POST", "/jenkins/job/smoke/build")
    assert [p.headers["jenkins-crumb"] for p in posts] == [CRUMB, new_crumb]
    assert len(fake.calls_to("GET", "/jenkins/crumbIssuer/api/json")) == 2


def test_no_valid_crumb_twice_gives_up_after_one_refresh(fake):
    fake.add("GET", "/jenkins/crumbIssuer/api/json", json_answer(fixture_json("crumb.json")))
    fake.add("POST", "/jenkins/job/smoke/build", html_answer(403, "no_valid_crumb"))
    client = make_client(token=None, password=PASSWORD)

    with pytest.raises(JenkinsPermissionError) as info:
        client.post("/job/smoke/build", action="trigger a build of", target="job 'smoke'")

    assert len(fake.calls_to("POST", "/jenkins/job/smoke/build")) == 2
    assert len(fake.calls_to("GET", "/jenkins/crumbIssuer/api/json")) == 2
    assert "Failed to trigger a build of job 'smoke': HTTP 403 Forbidden" in str(info.value)
    assert "No valid crumb was included in the request" in str(info.value)
    assert_no_secret(*error_texts(info.value))


def test_a_plain_403_on_post_does_not_refresh_the_crumb(fake):
    fake.add("GET", "/jenkins/crumbIssuer/api/json", json_answer(fixture_json("crumb.json")))
    fake.add("POST", "/jenkins/x", html_answer(403, "access_denied"))
    with pytest.raises(JenkinsPermissionError):
        make_client(token=None, password=PASSWORD).post("/x")
    assert len(fake.calls_to("POST", "/jenkins/x")) == 1


# -- status mapping and messages -------------------------------------------------------------------

def test_401_is_an_auth_error_with_a_hint(fake):
    fake.add("GET", "/jenkins/api/json",
             html_answer(401, "unauthorized", {"WWW-Authenticate": 'Basic realm="Jenkins"'}))
    with pytest.raises(JenkinsAuthError) as info:
        make_client().get_json("/api/json", action="read", target="Jenkins root")

    exc = info.value
    assert exc.status == 401
    assert str(exc).startswith("Failed to read Jenkins root: HTTP 401 Unauthorized")
    assert "check username and token/password" in str(exc)
    assert len(fake.calls) == 1  # 401 is not retried
    assert_no_secret(*error_texts(exc))


def test_403_is_a_permission_error_with_the_page_message(fake):
    fake.add("GET", "/jenkins/pluginManager/api/json",
             html_answer(403, "access_denied", {"X-You-Are-Authenticated-As": "alice",
                                                "X-Required-Permission": "hudson.model.Hudson.Administer"}))
    with pytest.raises(JenkinsPermissionError) as info:
        make_client().get_json("/pluginManager/api/json", action="list plugins of", target="Jenkins")

    exc = info.value
    assert not isinstance(exc, JenkinsAuthError)
    assert exc.status == 403
    assert str(exc).startswith("Failed to list plugins of Jenkins: HTTP 403 Forbidden: ")
    assert "alice is missing the Overall/Administer permission" in str(exc)
    assert "Skip to content" not in str(exc)  # page chrome is not part of the excerpt
    assert "check username" not in str(exc)


def test_x_error_header_is_quoted_and_excerpt_is_short(fake):
    long_page = "<html><body><div id='main-panel'><p>" + "word " * 200 + "</p></div></body></html>"
    fake.add("POST", "/jenkins/createItem",
             (400, {"Content-Type": "text/html", "X-Error": "A job already exists with the name \u2018smoke\u2019"},
              long_page))
    with pytest.raises(JenkinsHTTPError) as info:
        make_client().post("/createItem", params={"name": "smoke"}, action="create job", target="'smoke'")

    exc = info.value
    assert "HTTP 400 Bad Request (X-Error: A job already exists with the name \u2018smoke\u2019): word word" in str(exc)
    assert exc.x_error == "A job already exists with the name \u2018smoke\u2019"
    assert len(exc.body_excerpt) <= 300
    assert "<" not in exc.body_excerpt


@pytest.mark.parametrize("status, cls", [
    (404, JenkinsNotFound),
    (409, JenkinsConflict),
    (500, JenkinsHTTPError),
    (422, JenkinsHTTPError),
])
def test_status_to_exception_class(fake, status, cls):
    fake.add("POST", "/jenkins/queue/cancelItem", (status, {"Content-Type": "text/plain"}, "nope"))
    with pytest.raises(cls) as info:
        make_client().post("/queue/cancelItem", params={"id": 4}, expected=(204,))
    assert info.value.status == status
    assert isinstance(info.value, JenkinsError)


def test_expected_none_returns_any_status(fake):
    fake.add("POST", "/jenkins/configuration-as-code/reload", (200, {"Content-Type": "text/html"}, "<html>err</html>"))
    response = make_client().post("/configuration-as-code/reload", expected=None)
    assert response.status == 200


# -- retries ----------------------------------------------------------------------------------------

def test_get_is_retried_on_503_then_succeeds(fake):
    fake.add("GET", "/jenkins/api/json", starting_page(), starting_page(),
             json_answer(fixture_json("jenkins_root.json")))
    client = make_client()

    document = client.get_json("/api/json")

    assert document["useSecurity"] is True
    assert len(fake.calls) == 3
    assert client.clock.sleeps == [1.0, 2.0]


def test_retry_budget_exhausted_raises_the_last_status(fake):
    fake.add("GET", "/jenkins/api/json", html_answer(502, "<html><body>Bad gateway from ingress</body></html>"))
    client = make_client(retries=3, retry_backoff=0.5)

    with pytest.raises(JenkinsHTTPError) as info:
        client.get_json("/api/json", action="read", target="Jenkins root")

    assert info.value.status == 502
    assert len(fake.calls) == 4
    assert client.clock.sleeps == [0.5, 1.0, 2.0]
    assert "Bad gateway from ingress" in str(info.value)


def test_get_is_retried_on_connection_reset(fake):
    fake.add("GET", "/jenkins/api/json", ConnectionResetError(104, "Connection reset by peer"),
             urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
             json_answer({"mode": "NORMAL"}))
    assert make_client().get_json("/api/json") == {"mode": "NORMAL"}
    assert len(fake.calls) == 3


def test_post_is_not_retried_on_503(fake):
    fake.add("POST", "/jenkins/x", starting_page())
    with pytest.raises(JenkinsHTTPError) as info:
        make_client().post("/x")
    assert info.value.status == 503
    assert len(fake.calls) == 1


def test_post_is_not_retried_when_the_connection_broke_after_sending(fake):
    fake.add("POST", "/jenkins/x", ConnectionResetError(104, "Connection reset by peer"), (200, {}, ""))
    with pytest.raises(JenkinsConnectionError) as info:
        make_client().post("/x", action="post to", target="x")
    assert len(fake.calls) == 1
    assert "Connection reset by peer" in str(info.value)


def test_post_is_retried_when_the_connection_was_refused(fake):
    fake.add("POST", "/jenkins/x", urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
             (302, {"Location": BASE + "/"}, ""))
    client = make_client()
    assert client.post("/x").status == 302
    assert len(fake.calls) == 2
    assert client.clock.sleeps == [1.0]


def test_refused_budget_exhausted(fake):
    fake.add("GET", "/jenkins/api/json", urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")))
    client = make_client(retries=2)
    with pytest.raises(JenkinsConnectionError) as info:
        client.get_json("/api/json", action="read", target="Jenkins root")
    assert len(fake.calls) == 3
    assert "cannot connect to http://jenkins.example:8080/jenkins/api/json (connection refused) after 3 attempts" \
        in str(info.value)


def test_timeout_raises_jenkins_timeout(fake):
    fake.add("GET", "/jenkins/api/json", urllib.error.URLError(socket.timeout("timed out")), TimeoutError("timed out"))
    client = make_client(retries=1, timeout=7)
    with pytest.raises(JenkinsTimeout) as info:
        client.get_json("/api/json", action="read", target="Jenkins root")
    assert len(fake.calls) == 2
    assert fake.calls[0].kwargs["timeout"] == 7
    assert "Failed to read Jenkins root: http://jenkins.example:8080/jenkins/api/json timed out after 7s" \
        in str(info.value)


def test_tls_error_message_says_how_to_fix_and_is_not_retried(fake):
    error = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1000)")
    fake.add("GET", "/jenkins/api/json", urllib.error.URLError(error))
    client = JenkinsClient("https://jenkins.example:8443/jenkins", username="alice", token=TOKEN)
    client.sleep = FakeClock().sleep
    with pytest.raises(JenkinsConnectionError) as info:
        client.get_json("/api/json", action="read", target="Jenkins root")
    message = str(info.value)
    assert "certificate verify failed" in message
    assert "validate_certs" in message and "ca_path" in message
    assert len(fake.calls) == 1


def test_validate_certs_and_ca_path_reach_the_transport(fake):
    fake.add("GET", "/api/json", json_answer({}))
    JenkinsClient("https://jenkins.example", token=TOKEN, username="alice", validate_certs=False,
                  ca_path="/etc/ssl/ca.pem").get_json("/api/json")
    assert fake.calls[0].kwargs["validate_certs"] is False
    assert fake.calls[0].kwargs["ca_path"] == "/etc/ssl/ca.pem"


def test_one_ssl_context_per_client(fake, monkeypatch):
    # open_url would build a context (and load the system CA store) for every request
    built = []
    monkeypatch.setattr(client_module, "make_context", lambda **kw: built.append(kw) or ssl.create_default_context())
    fake.add("GET", "/api/json", json_answer({}))
    client = JenkinsClient("https://jenkins.example", token=TOKEN, username="alice", ca_path=None)
    for path in ("/api/json", "/api/json", "/api/json"):
        client.get_json(path)
    assert built == [{"cafile": None, "validate_certs": True}]
    assert len({id(call.kwargs["context"]) for call in fake.calls}) == 1
    # http: no CA store is loaded at all
    built.clear()
    plain = make_client()
    fake.add("GET", "/jenkins/api/json", json_answer({}))
    plain.get_json("/api/json")
    assert built == [] and isinstance(fake.calls[-1].kwargs["context"], ssl.SSLContext)


# -- redirects ------------------------------------------------------------------------------------

def test_post_302_is_returned_not_followed(fake):
    fake.add("POST", "/jenkins/pluginManager/installNecessaryPlugins",
             (302, {"Location": BASE + "/pluginManager/updates/"}, ""))
    fake.add("GET", "/jenkins/pluginManager/updates/", (200, {"Content-Type": "text/html"}, "<html>updates</html>"))

    response = make_client().post("/pluginManager/installNecessaryPlugins",
                                  data='<jenkins><install plugin="git@5.7.0"/></jenkins>',
                                  headers={"Content-Type": "text/xml"})

    assert response.status == 302
    assert response.headers["location"] == BASE + "/pluginManager/updates/"
    assert fake.calls_to("GET", "/jenkins/pluginManager/updates/") == []
    assert fake.calls[0].data == b'<jenkins><install plugin="git@5.7.0"/></jenkins>'


def test_post_302_is_an_error_when_not_expected(fake):
    fake.add("POST", "/jenkins/x", (302, {"Location": BASE + "/login"}, ""))
    with pytest.raises(JenkinsHTTPError) as info:
        make_client().post("/x", expected=(200,))
    assert info.value.status == 302


# -- secrets ------------------------------------------------------------------------------------

def test_secrets_echoed_by_the_server_never_reach_messages(fake):
    auth = base64.b64encode(("alice:" + PASSWORD).encode()).decode()
    echo = ("<html><body><div id='main-panel'><p>bad request: Authorization: Basic %s password=%s crumb=%s"
            "</p></div></body></html>" % (auth, PASSWORD, CRUMB))
    fake.add("GET", "/jenkins/crumbIssuer/api/json", json_answer(fixture_json("crumb.json")))
    fake.add("POST", "/jenkins/x", (500, {"Content-Type": "text/html", "X-Error": "token " + PASSWORD}, echo))
    client = make_client(token=None, password=PASSWORD)

    with pytest.raises(JenkinsHTTPError) as info:
        client.post("/x", params={"token": PASSWORD}, action="post to", target="x")

    assert_no_secret(*error_texts(info.value))
    assert "bad request" in str(info.value)


def test_token_in_transport_error_text_is_scrubbed(fake):
    fake.add("GET", "/jenkins/api/json", urllib.error.URLError(OSError("proxy said no to alice:%s" % TOKEN)))
    with pytest.raises(JenkinsConnectionError) as info:
        make_client(retries=0).get_json("/api/json")
    assert_no_secret(*error_texts(info.value))


# -- wait_until_ready ------------------------------------------------------------------------------

def test_wait_until_ready_polls_through_503_starting(fake):
    fake.add("GET", "/jenkins/login", starting_page(), starting_page(),
             (200, {"Content-Type": "text/html", "X-Jenkins": "2.578"}, "<html>login</html>"))
    client = make_client()

    response = client.wait_until_ready(timeout=60, interval=5)

    assert response.status == 200
    assert response.headers["X-Jenkins"] == "2.578"
    assert len(fake.calls) == 3
    assert client.clock.sleeps == [5, 5]


def test_wait_until_ready_survives_refused_connections_and_restart_page(fake):
    fake.add("GET", "/jenkins/login",
             urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
             html_answer(503, "restarting"), starting_page(), (200, {}, ""))
    assert make_client().wait_until_ready(timeout=60, interval=1).status == 200
    assert len(fake.calls) == 4


def test_wait_until_ready_times_out_with_the_last_page_message(fake):
    fake.add("GET", "/jenkins/login", starting_page())
    client = make_client()
    with pytest.raises(JenkinsTimeout) as info:
        client.wait_until_ready(timeout=30, interval=10)
    message = str(info.value)
    assert "not ready after 30s" in message
    assert "Jenkins is starting" in message
    assert not isinstance(info.value, JenkinsCascBootError)
    assert 3 <= len(fake.calls) <= 4
    assert client.clock.now - 1000.0 <= 30


def test_wait_until_ready_detects_casc_boot_failure(fake):
    fake.add("GET", "/jenkins/login", html_answer(503, "casc_boot_failure"))
    with pytest.raises(JenkinsCascBootError) as info:
        make_client().wait_until_ready(timeout=300, interval=5)
    exc = info.value
    assert "configuration-as-code (JCasC)" in str(exc)
    assert "Invalid configuration elements for type: class org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud" \
        in exc.casc_message
    assert "serverURL" in exc.casc_message
    assert "REST API" not in exc.casc_message and "Dashboard" not in exc.casc_message
    assert len(fake.calls) == 1


def test_wait_until_ready_can_wait_out_a_casc_page_until_the_deadline(fake):
    fake.add("GET", "/jenkins/login", html_answer(503, "casc_boot_failure"))
    with pytest.raises(JenkinsCascBootError):
        make_client().wait_until_ready(timeout=20, interval=5, fail_on_casc_error=False)
    assert len(fake.calls) >= 4


def test_wait_until_ready_raises_auth_errors_at_once(fake):
    fake.add("GET", "/jenkins/login", html_answer(401, "unauthorized"))
    with pytest.raises(JenkinsAuthError):
        make_client().wait_until_ready(timeout=60, interval=1)
    assert len(fake.calls) == 1


def test_wait_until_ready_raises_tls_errors_at_once(fake):
    fake.add("GET", "/jenkins/login", urllib.error.URLError(ssl.SSLCertVerificationError(1, "certificate verify failed")))
    with pytest.raises(JenkinsConnectionError, match="validate_certs"):
        make_client().wait_until_ready(timeout=60, interval=1)


@pytest.mark.parametrize("page, state", [
    ("starting", client_module.STATE_STARTING),
    ("<html><body><div id='main-panel'><h1>Please wait while Hudson is getting ready to work...</h1></div></body></html>",
     client_module.STATE_STARTING),
    ("restarting", client_module.STATE_RESTARTING),
    ("<html><body><h1>Please wait while Jenkins is restarting...</h1></body></html>", client_module.STATE_RESTARTING),
    ("casc_boot_failure", client_module.STATE_CASC_BOOT_FAILURE),
    ("<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service "
     "Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>", client_module.STATE_UNAVAILABLE),
])
def test_unavailable_pages_are_told_apart(page, state):
    status, headers, body = html_answer(503, page)
    response = client_module.Response(status, "Service Unavailable", list(headers.items()), body.encode(), BASE)
    assert client_module.classify_unavailable_page(response)[0] == state


def test_ingress_503_message_is_kept_for_the_timeout(fake):
    fake.add("GET", "/jenkins/login", html_answer(503, "<html><body><h1>503 Service Temporarily Unavailable</h1>"
                                                       "<center>nginx</center></body></html>"))
    with pytest.raises(JenkinsTimeout, match="503 Service Temporarily Unavailable nginx"):
        make_client().wait_until_ready(timeout=5, interval=1)


def test_requests_ask_for_english_pages(fake):
    fake.add("GET", "/jenkins/api/json", json_answer({}))
    make_client().get_json("/api/json")
    assert fake.calls[0].headers["accept-language"] == "en"


def test_get_follows_redirects_on_the_same_origin_with_credentials(fake):
    fake.add("GET", "/jenkins/job/smoke", (302, {"Location": "/jenkins/job/smoke/"}, ""))
    fake.add("GET", "/jenkins/job/smoke/api/json", (301, {"Location": BASE + "/job/smoke/api/json/"}, ""))
    fake.add("GET", "/jenkins/job/smoke/api/json/", json_answer({"name": "smoke"}))

    assert make_client().get_json("/job/smoke/api/json") == {"name": "smoke"}

    assert [c.path for c in fake.calls] == ["/jenkins/job/smoke/api/json", "/jenkins/job/smoke/api/json/"]
    assert all(c.authorization for c in fake.calls)
    assert all(c.kwargs["follow_redirects"] == "none" for c in fake.calls)


def test_get_does_not_carry_credentials_to_another_host(fake):
    fake.add("GET", "/jenkins/api/json", (302, {"Location": "http://elsewhere.example/api/json"}, ""))
    fake.add("GET", "/api/json", json_answer({"stolen": True}))

    with pytest.raises(JenkinsHTTPError) as info:
        make_client().get_json("/api/json")

    assert info.value.status == 302
    assert [c.url for c in fake.calls] == [BASE + "/api/json"]


def test_redirect_loops_stop(fake):
    fake.add("GET", "/jenkins/a", (302, {"Location": BASE + "/b"}, ""))
    fake.add("GET", "/jenkins/b", (302, {"Location": BASE + "/a"}, ""))
    with pytest.raises(JenkinsHTTPError):
        make_client().request("GET", "/a")
    assert len(fake.calls) == 1 + client_module.MAX_REDIRECTS


def test_real_open_url_against_a_loopback_server():
    """One check of the real urllib stack (no fake): cookie + crumb on POST, 302 not followed, 503 retried."""
    import threading  # pylint: disable=import-outside-toplevel
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # pylint: disable=import-outside-toplevel

    seen = []
    login_answers = [503, 200]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

        def _answer(self, status, body=b"", headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # pylint: disable=invalid-name
            seen.append(("GET", self.path, self.headers.get("Cookie"), self.headers.get("Jenkins-Crumb")))
            if self.path == "/jenkins/crumbIssuer/api/json":
                self._answer(200, json.dumps({"crumb": CRUMB, "crumbRequestField": "Jenkins-Crumb"}).encode(),
                             [("Content-Type", "application/json"), ("Set-Cookie", "JSESSIONID.q=s1; Path=/jenkins")])
            elif self.path == "/jenkins/login":
                status = login_answers.pop(0) if len(login_answers) > 1 else login_answers[0]
                self._answer(status, PAGES["starting"].encode() if status == 503 else b"<html/>",
                             [("Content-Type", "text/html")])
            else:
                self._answer(200, b"{}", [("Content-Type", "application/json")])

        def do_POST(self):  # pylint: disable=invalid-name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(("POST", self.path, self.headers.get("Cookie"), self.headers.get("Jenkins-Crumb")))
            if self.headers.get("Jenkins-Crumb") != CRUMB or "JSESSIONID.q=s1" not in (self.headers.get("Cookie") or ""):
                self.send_response(403, "No valid crumb was included in the request")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._answer(302, headers=[("Location", "/jenkins/after")])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = JenkinsClient("http://127.0.0.1:%d/jenkins" % server.server_port, username="alice",
                               password=PASSWORD, retries=2, retry_backoff=0.01, timeout=5)
        response = client.post("/configuration-as-code/reload", data={"x": "1"})
        assert (response.status, response.location) == (302, "/jenkins/after")
        assert client.wait_until_ready(timeout=10, interval=0.01).status == 200
    finally:
        server.shutdown()
        server.server_close()
    assert seen[:2] == [("GET", "/jenkins/crumbIssuer/api/json", None, None),
                        ("POST", "/jenkins/configuration-as-code/reload", "JSESSIONID.q=s1", CRUMB)]
    assert ("GET", "/jenkins/after", "JSESSIONID.q=s1", None) not in seen
    assert [s[1] for s in seen[2:]] == ["/jenkins/login", "/jenkins/login"]


def test_exception_chain_carries_no_secret(fake):
    fake.add("GET", "/jenkins/api/json", urllib.error.URLError(OSError("proxy said no to alice:%s" % TOKEN)))
    with pytest.raises(JenkinsConnectionError) as info:
        make_client(retries=0).get_json("/api/json")
    import traceback  # pylint: disable=import-outside-toplevel
    assert_no_secret("".join(traceback.format_exception(info.value)))
