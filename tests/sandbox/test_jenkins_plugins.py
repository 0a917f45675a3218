"""Plugin manager + update center (reference §3): installNecessaryPlugins, job statuses, restarts."""

from jenkins_conftest import *  # noqa: F401,F403
from jenkins_conftest import ADMIN_PASSWORD, Http, wait_for
from sandbox.jenkins.plugins import PluginCliError, catalog, catalog_latest, plugin_cli_install


def install(h, *specs):
    body = "<jenkins>" + "".join(f'<install plugin="{s}"/>' for s in specs) + "</jenkins>"
    return h.post("/pluginManager/installNecessaryPlugins", body=body,
                  headers={"Content-Type": "text/xml", **h.crumb()})


def jobs_done(h):
    d = h.get("/updateCenter/api/json?depth=1").json()
    inst = [j for j in d["jobs"] if j["type"] == "InstallationJob"]
    if inst and all(j["status"]["type"] not in ("Pending", "Installing") for j in inst):
        return d
    return None


def plugins(h):
    return {p["shortName"]: p for p in h.get("/pluginManager/api/json?depth=1").json()["plugins"]}


def test_install_new_plugin_with_dependencies_dynamic_load(jenkins):
    h = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    r = install(h, "git@5.0")         # version is a minimum: the update site's current release is taken
    assert r.status == 302
    assert r.header("Location") == f"{jenkins.url}/pluginManager/updates/"
    d = wait_for(lambda: jobs_done(h), 20, 0.1, "install jobs")
    assert d["jobs"][0]["type"] == "ConnectionCheckJob"
    inst = {j["name"]: j for j in d["jobs"] if j["type"] == "InstallationJob"}
    assert inst["git"]["status"] == {"_class": "hudson.model.UpdateCenter$DownloadJob$Success", "success": True,
                                     "type": "Success"}
    assert {"git-client", "scm-api", "workflow-scm-step", "mailer"} <= set(inst)
    names = list(inst)
    assert names.index("git-client") < names.index("git")          # dependencies first
    assert d["restartRequiredForCompletion"] is False
    p = plugins(h)
    assert p["git"]["active"] and p["git"]["version"] == "5.10.1"
    # depth 0: job fields pruned except with tree=
    d0 = h.get("/updateCenter/api/json?tree=jobs[name,status[type]],restartRequiredForCompletion").json()
    assert {"_class": "hudson.model.UpdateCenter$InstallationJob", "name": "git",
            "status": {"_class": "hudson.model.UpdateCenter$DownloadJob$Success", "type": "Success"}} in d0["jobs"]
    # already installed and new enough: nothing scheduled, still 302
    before = len(d["jobs"])
    assert install(h, "git@5.10.1").status == 302
    assert len(h.get("/updateCenter/api/json?depth=1").json()["jobs"]) == before


def test_upgrade_requires_restart_then_active(jenkins):
    h = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    latest = catalog_latest("configuration-as-code")["version"]
    assert latest != "2115.vf6de120eef70"
    assert install(h, f"configuration-as-code@{latest}").status == 302
    d = wait_for(lambda: jobs_done(h), 20, 0.1, "upgrade job")
    job = next(j for j in d["jobs"] if j.get("name") == "configuration-as-code")
    assert job["status"]["type"] == "SuccessButRequiresRestart" and job["status"]["success"] is True
    assert d["restartRequiredForCompletion"] is True
    assert plugins(h)["configuration-as-code"]["version"] == "2115.vf6de120eef70"   # still the loaded one
    assert h.post("/safeRestart", headers=h.crumb()).status == 302
    wait_for(lambda: jenkins.state == "up" and Http(jenkins.url).get("/login").status == 200, 20, what="restart")
    p = plugins(h)
    assert p["configuration-as-code"]["version"] == latest and p["configuration-as-code"]["hasUpdate"] is False
    d = h.get("/updateCenter/api/json?depth=1").json()
    assert d["jobs"] == [] and d["restartRequiredForCompletion"] is False            # the JVM is new


def test_unknown_plugin_or_version_schedules_nothing_but_302(jenkins):
    h = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    assert install(h, "no-such-plugin@1.0").status == 302
    assert install(h, "git@999999.0").status == 302
    assert h.get("/updateCenter/api/json?depth=1").json()["jobs"] == []
    assert any("No such plugin no-such-plugin" in l for l in jenkins.logs)
    r = h.post("/pluginManager/installNecessaryPlugins", body='<jenkins><install plugin="git"/></jenkins>',
               headers={"Content-Type": "text/xml", **h.crumb()})
    assert r.status == 500                                   # parseRequestedPlugins: name@version required
    r = h.post("/pluginManager/prevalidateConfig", body='<j><i plugin="git@1"/><i plugin="credentials@1"/></j>',
               headers={"Content-Type": "text/xml", **h.crumb()})
    assert r.json() == [{"name": "git", "version": "1", "mode": "missing"}]


def test_duplicate_request_skipped_and_download_failure(jenkins_factory):
    j = jenkins_factory(java_opts="-Djenkins.install.runSetupWizard=false -Dsandbox.failPluginDownload=mailer")
    h = Http(j.url, "admin", ADMIN_PASSWORD)
    assert install(h, "plain-credentials@1", "plain-credentials@1", "mailer@1").status == 302
    d = wait_for(lambda: jobs_done(h), 20, 0.1, "jobs")
    pc = [x["status"]["type"] for x in d["jobs"] if x.get("name") == "plain-credentials"]
    assert pc == ["Success", "Skipped"]
    mailer = next(x for x in d["jobs"] if x.get("name") == "mailer")
    assert mailer["status"]["type"] == "Failure" and mailer["status"]["success"] is False
    assert mailer["errorMessage"].startswith("Failed to download from https://updates.jenkins.io/download/plugins/mailer/")


def test_uninstall_and_plugin_cli(jenkins, tmp_path):
    h = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    assert h.post("/pluginManager/plugin/credentials/doUninstall", headers=h.crumb()).status == 302
    assert h.get("/updateCenter/api/json").json()["restartRequiredForCompletion"] is True
    h.post("/restart", headers=h.crumb())
    wait_for(lambda: jenkins.state == "up", 20, what="restart")
    assert "credentials" not in plugins(h)
    # jenkins-plugin-cli stand-in: unknown plugin / version fail like the real tool
    try:
        plugin_cli_install(tmp_path, ["nope:1.0"], log=lambda m: None)
        raise AssertionError("expected failure")
    except PluginCliError as e:
        assert "Unable to find plugin nope" in str(e)
    try:
        plugin_cli_install(tmp_path, ["git:0.0.1"], log=lambda m: None)
        raise AssertionError("expected failure")
    except PluginCliError as e:
        assert "404" in str(e)
    written = dict(plugin_cli_install(tmp_path, ["kubernetes:4540.v612369217f87"], log=lambda m: None))
    assert written["kubernetes"] == "4540.v612369217f87"
    deps = {d["name"] for d in catalog()["plugins"]["kubernetes"]["versions"][1]["dependencies"] if not d["optional"]}
    assert deps <= set(written) and "workflow-cps" not in written           # optional deps are not pulled
