"""Fixtures for the Jenkins core stand-in, started standalone (no Kubernetes sandbox).

Import in a test module with ``from jenkins_conftest import *  # noqa`` (pytest puts this directory
on sys.path).  ``jenkins_factory(casc=..., plugins=..., env=..., wait=True)`` starts a
``JenkinsInstance`` on a loopback port with a temporary JENKINS_HOME, optional plugins installed
the way ``jenkins-plugin-cli`` would and an optional JCasC directory, and stops it afterwards.
``Http`` is a tiny raw client (keeps cookies on request) for status/header level assertions.
"""

import base64
import http.client
import json
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from sandbox.jenkins.instance import JenkinsInstance
from sandbox.jenkins.plugins import plugin_cli_install

ADMIN_PASSWORD = "s3cr3t-pw"
CASC_SECURED = """
jenkins:
  systemMessage: "sandbox under test"
  numExecutors: 2
  quietPeriod: 1
  securityRealm:
    local:
      allowsSignup: false
      users:
        - id: admin
          password: ${ADMIN_PASSWORD}
        - id: dev
          password: ${DEV_PASSWORD:-devpw}
  authorizationStrategy:
    loggedInUsersCanDoAnything:
      allowAnonymousRead: false
unclassified:
  location:
    url: http://jenkins.example.test/
"""
BASE_PLUGINS = ["configuration-as-code:2115.vf6de120eef70", "credentials"]


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Http:
    """Raw HTTP/1.1 client: explicit auth, optional cookie jar, no redirects followed."""

    def __init__(self, base, user=None, secret=None, cookies=True):
        self.base = base.rstrip("/")
        self.auth = None
        if user is not None:
            self.auth = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
        self.cookies = {} if cookies else None

    def request(self, method, path, body=None, headers=None, form=None, use_cookies=True):
        u = urlsplit(self.base + path)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
        h = dict(headers or {})
        if self.auth and "Authorization" not in h:
            h["Authorization"] = self.auth
        if form is not None:
            body = urlencode(form).encode()
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if isinstance(body, str):
            body = body.encode()
        if self.cookies and use_cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        target = u.path + (("?" + u.query) if u.query else "")
        conn.request(method, target, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        headers = r.getheaders()
        conn.close()
        for k, v in headers:
            if k.lower() == "set-cookie" and self.cookies is not None:
                name, _, rest = v.partition("=")
                self.cookies[name] = rest.split(";")[0]
        return Resp(r.status, headers, data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def crumb(self):
        r = self.get("/crumbIssuer/api/json")
        assert r.status == 200, r.text
        d = r.json()
        return {d["crumbRequestField"]: d["crumb"]}


def wait_for(predicate, timeout=15.0, interval=0.05, what="condition"):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture
def jenkins_factory(tmp_path):
    started = []

    def make(casc=CASC_SECURED, plugins=BASE_PLUGINS, env=None, wait=True, start_delay=0.2, home=None,
             java_opts="-Djenkins.install.runSetupWizard=false", agent_port=None, casc_files=None):
        home = Path(home) if home else tmp_path / f"home{len(started)}"
        home.mkdir(parents=True, exist_ok=True)
        if plugins:
            plugin_cli_install(home, plugins, log=lambda m: None)
        e = {"ADMIN_PASSWORD": ADMIN_PASSWORD, "JAVA_OPTS": java_opts or ""}
        cdir = home.parent / (home.name + "-casc")
        if casc is not None or casc_files:
            cdir.mkdir(exist_ok=True)
            if casc is not None:
                (cdir / "00-base.yaml").write_text(casc)
            for name, text in (casc_files or {}).items():
                p = cdir / name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text)
            e["CASC_JENKINS_CONFIG"] = str(cdir)
        e.update(env or {})
        j = JenkinsInstance(home, env=e, listen_host="127.0.0.1", http_port=0, agent_port=agent_port,
                            start_delay=start_delay, restart_delay=0.2)
        j.casc_dir = cdir
        j.start()
        started.append(j)
        j.url = f"http://127.0.0.1:{j.http_port}"
        if wait:
            state = j.wait_until_up(20)
            assert state == "up", (state, j.state_message)
        return j

    yield make
    for j in started:
        j.stop()


@pytest.fixture
def jenkins(jenkins_factory):
    return jenkins_factory()


@pytest.fixture
def admin(jenkins):
    return Http(jenkins.url, "admin", ADMIN_PASSWORD)


def admin_token(j):
    """An API token for admin, generated over HTTP as a user would (password + crumb + cookie)."""
    h = Http(j.url, "admin", ADMIN_PASSWORD)
    r = h.post("/user/admin/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
               form={"newTokenName": "tests"}, headers=h.crumb())
    assert r.status == 200, r.text
    return r.json()["data"]["tokenValue"]


FREESTYLE = """<?xml version='1.1' encoding='UTF-8'?>
<project>
  <description>{description}</description>
  <keepDependencies>false</keepDependencies>
  <properties/>
  <scm class="hudson.scm.NullSCM"/>
  {node}
  <canRoam>{can_roam}</canRoam>
  <disabled>false</disabled>
  <blockBuildWhenDownstreamBuilding>false</blockBuildWhenDownstreamBuilding>
  <blockBuildWhenUpstreamBuilding>false</blockBuildWhenUpstreamBuilding>
  <triggers/>
  <concurrentBuild>false</concurrentBuild>
  {quiet}
  <builders>
    <hudson.tasks.Shell>
      <command>{command}</command>
    </hudson.tasks.Shell>
  </builders>
  <publishers/>
  <buildWrappers/>
</project>
"""


def freestyle(command="echo hello", label=None, can_roam=None, description="test job", quiet=None):
    from xml.sax.saxutils import escape
    node = f"<assignedNode>{escape(label)}</assignedNode>" if label else ""
    if can_roam is None:
        can_roam = label is None
    q = f"<quietPeriod>{quiet}</quietPeriod>" if quiet is not None else ""
    return FREESTYLE.format(description=escape(description), node=node, can_roam=str(can_roam).lower(),
                            command=escape(command), quiet=q)
