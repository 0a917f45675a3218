"""Authentication, authorization, crumbs, headers, start-up and restart pages (reference §1, §2)."""

import time

from jenkins_conftest import *  # noqa: F401,F403
from jenkins_conftest import ADMIN_PASSWORD, CASC_SECURED, Http, admin_token, freestyle, wait_for


def test_401_for_bad_credentials_403_for_anonymous(jenkins):
    anon = Http(jenkins.url)
    r = anon.get("/api/json")
    assert r.status == 403
    assert "Authentication required" in r.text
    assert r.header("X-You-Are-Authenticated-As") == "anonymous"
    assert r.header("X-Required-Permission") == "hudson.model.Hudson.Read"
    assert r.header("X-Jenkins") == jenkins.version
    assert anon.get("/crumbIssuer/api/json").status == 403          # crumbIssuer is not always-readable
    assert anon.get("/login").status == 200                        # ALWAYS_READABLE_PATHS
    who = anon.get("/whoAmI/api/json").json()
    assert who["anonymous"] is True and who["name"] == "anonymous"

    bad = Http(jenkins.url, "admin", "wrong")
    r = bad.get("/api/json")
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="Jenkins"'
    assert r.header("X-Jenkins") is None
    unknown = Http(jenkins.url, "nobody", "x")
    assert unknown.get("/api/json").status == 401
    malformed = Http(jenkins.url)
    r = malformed.get("/api/json", headers={"Authorization": "Basic bm9jb2xvbg=="})   # "nocolon"
    assert r.status == 401

    ok = Http(jenkins.url, "dev", "devpw")            # ${DEV_PASSWORD:-devpw}
    r = ok.get("/api/json")
    assert r.status == 200
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.header("X-Jenkins-Session") == jenkins.session_hash
    data = r.json()
    assert data["_class"] == "hudson.model.Hudson"
    assert data["useSecurity"] is True and data["useCrumbs"] is True
    assert data["url"] == "http://jenkins.example.test/"
    assert data["assignedLabels"] == [{"name": "built-in"}]


def test_missing_permission_for_authenticated_user_is_403_with_message(jenkins_factory):
    casc = CASC_SECURED.replace("loggedInUsersCanDoAnything:\n      allowAnonymousRead: false", "legacy")
    j = jenkins_factory(casc=casc)
    dev = Http(j.url, "dev", "devpw")
    assert dev.get("/api/json").status == 200            # legacy: everyone reads
    r = dev.post("/configuration-as-code/export", headers=dev.crumb())
    assert r.status == 403
    assert r.header("X-Required-Permission") == "hudson.model.Hudson.SystemRead"
    r = dev.post("/createItem?name=x", body=freestyle(), headers={"Content-Type": "application/xml", **dev.crumb()})
    assert r.status == 403 and "dev is missing the Job/Create permission" in r.text
    admin = Http(j.url, "admin", ADMIN_PASSWORD)
    r = admin.post("/createItem?name=x", body=freestyle(), headers={"Content-Type": "application/xml", **admin.crumb()})
    assert r.status == 200


def test_crumb_requires_same_session_for_password_auth(jenkins):
    h = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    hdr = {"Content-Type": "application/xml"}
    # no crumb at all
    r = h.post("/createItem?name=a", body=freestyle(), headers=hdr)
    assert r.status == 403 and "No valid crumb was included in the request" in r.text
    # crumb fetched, but cookie dropped -> different session -> invalid
    crumb = h.crumb()
    assert any(k.startswith("JSESSIONID.") for k in h.cookies)
    r = h.post("/createItem?name=a", body=freestyle(), headers={**hdr, **crumb}, use_cookies=False)
    assert r.status == 403
    # crumb + the same session cookie -> accepted
    r = h.post("/createItem?name=a", body=freestyle(), headers={**hdr, **crumb})
    assert r.status == 200 and r.body == b""
    # crumb as a form/query parameter works too
    field, value = next(iter(crumb.items()))
    r = h.post(f"/job/a/doDelete?{field}={value}")
    assert r.status == 302


def test_api_token_post_needs_no_crumb_and_survives_restart(jenkins):
    token = admin_token(jenkins)
    assert len(token) == 34 and token.startswith("11")
    t = Http(jenkins.url, "admin", token, cookies=False)
    r = t.post("/createItem?name=tok", body=freestyle(), headers={"Content-Type": "application/xml"})
    assert r.status == 200
    assert t.get("/whoAmI/api/json").json()["name"] == "admin"
    # tokens are persisted in JENKINS_HOME/users: still valid after a restart
    r = t.post("/restart")
    assert r.status == 302
    wait_for(lambda: jenkins.state == "up", 20, what="restart")
    assert t.get("/job/tok/api/json").status == 200


def test_503_while_starting_then_up(jenkins_factory):
    j = jenkins_factory(wait=False, start_delay=1.0)
    anon = Http(j.url)
    for path in ("/login", "/api/json", "/job/x/", "/crumbIssuer/api/json"):
        r = anon.get(path)
        assert r.status == 503, path
        assert "Starting Jenkins" in r.text and "Jenkins is getting ready to work" in r.text
        assert r.header("X-Jenkins") is None
        assert r.header("Cache-Control") == "no-cache,no-store,must-revalidate"
    wait_for(lambda: anon.get("/login").status == 200, 10, what="/login 200")


def test_restart_pages_and_quiet_down(jenkins):
    admin = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    assert admin.get("/restart").status == 200            # GET: confirmation page only
    r = admin.post("/quietDown", headers=admin.crumb())
    assert r.status == 302
    assert admin.get("/api/json").json()["quietingDown"] is True
    assert admin.post("/cancelQuietDown", headers=admin.crumb()).status == 302
    r = admin.post("/safeRestart", headers=admin.crumb())
    assert r.status == 302
    seen = wait_for(lambda: (lambda x: x if x.status == 503 else None)(Http(jenkins.url).get("/login")), 5,
                    0.01, "503 restarting")
    assert "Restarting Jenkins" in seen.text or "Starting Jenkins" in seen.text
    wait_for(lambda: Http(jenkins.url).get("/login").status == 200, 20, what="back up")


def test_setup_wizard_fresh_home_is_secured(jenkins_factory):
    j = jenkins_factory(casc=None, plugins=[], java_opts="")
    pw = (j.home / "secrets" / "initialAdminPassword").read_text().strip()
    assert len(pw) == 32
    assert Http(j.url).get("/api/json").status == 403
    assert Http(j.url, "admin", pw).get("/api/json").json()["useSecurity"] is True


def test_wizard_disabled_fresh_home_is_unsecured(jenkins_factory):
    j = jenkins_factory(casc=None, plugins=[])
    anon = Http(j.url)
    data = anon.get("/api/json").json()
    assert data["useSecurity"] is False
    # still CSRF-protected: anonymous POST needs a crumb tied to the session
    r = anon.post("/createItem?name=a", body=freestyle(), headers={"Content-Type": "application/xml"})
    assert r.status == 403
    r = anon.post("/createItem?name=a", body=freestyle(), headers={"Content-Type": "application/xml", **anon.crumb()})
    assert r.status == 200


def test_csrf_disabled_by_system_property(jenkins_factory):
    j = jenkins_factory(casc=None, plugins=[], java_opts="-Djenkins.install.runSetupWizard=false "
                        "-Dhudson.security.csrf.GlobalCrumbIssuerConfiguration.DISABLE_CSRF_PROTECTION=true")
    anon = Http(j.url)
    assert anon.get("/api/json").json()["useCrumbs"] is False
    assert anon.get("/crumbIssuer/api/json").status == 404
    r = anon.post("/createItem?name=a", body=freestyle(), headers={"Content-Type": "application/xml"})
    assert r.status == 200


def test_url_prefix_from_jenkins_opts(jenkins_factory):
    j = jenkins_factory(env={"JENKINS_OPTS": "--prefix=/jenkins"})
    admin = Http(j.url, "admin", ADMIN_PASSWORD)
    assert admin.get("/api/json").status == 404
    assert admin.get("/jenkins/api/json").status == 200
    assert Http(j.url).get("/jenkins/login").status == 200


def test_tree_and_depth_pruning(jenkins):
    admin = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    admin.post("/createItem?name=b", body=freestyle(), headers={"Content-Type": "application/xml", **admin.crumb()})
    admin.post("/createItem?name=a", body=freestyle(), headers={"Content-Type": "application/xml", **admin.crumb()})
    d = admin.get("/api/json?tree=jobs[name,color],useSecurity").json()
    assert d == {"_class": "hudson.model.Hudson", "jobs": [
        {"_class": "hudson.model.FreeStyleProject", "name": "a", "color": "notbuilt"},
        {"_class": "hudson.model.FreeStyleProject", "name": "b", "color": "notbuilt"}], "useSecurity": True}
    d = admin.get("/api/json?tree=jobs[name]{1,2}").json()
    assert [x["name"] for x in d["jobs"]] == ["b"]
    p0 = admin.get("/pluginManager/api/json?depth=1").json()["plugins"]
    casc = next(p for p in p0 if p["shortName"] == "configuration-as-code")
    assert casc["dependencies"] == [{}]                     # dependency details need depth=2
    p2 = admin.get("/pluginManager/api/json?depth=2").json()["plugins"]
    casc = next(p for p in p2 if p["shortName"] == "configuration-as-code")
    assert casc["dependencies"][0]["shortName"] == "snakeyaml-api"
    p0 = admin.get("/pluginManager/api/json").json()["plugins"]
    assert p0 and all(p == {} for p in p0)                  # depth 0: plugin objects are pruned
