"""JCasC in the core stand-in: sources, merge, strictness, boot failure, reload/apply/check/export."""

import json

import yaml

from jenkins_conftest import *  # noqa: F401,F403
from jenkins_conftest import ADMIN_PASSWORD, CASC_SECURED, Http, wait_for

CREDS = """
credentials:
  system:
    domainCredentials:
      - credentials:
          - usernamePassword:
              scope: GLOBAL
              id: git-user
              username: bob
              password: ${GIT_PASSWORD}
"""


def admin_of(j):
    return Http(j.url, "admin", ADMIN_PASSWORD)


def test_unknown_attribute_is_a_boot_failure_503_forever(jenkins_factory):
    bad = CASC_SECURED.replace("systemMessage:", "systemMessage2:")
    j = jenkins_factory(casc=bad, wait=False)
    assert j.wait_until_up(10) == "casc_failure"
    anon = Http(j.url)
    for path in ("/login", "/api/json", "/configuration-as-code/reload"):
        r = anon.get(path)
        assert r.status == 503
        assert "Error loading configuration" in r.text
        assert "Invalid configuration elements for type: class jenkins.model.Jenkins : systemMessage2" in r.text
        assert "Available attributes : " in r.text and "systemMessage" in r.text


def test_deprecated_rejected_unknown_relaxed(jenkins_factory):
    dep = CASC_SECURED + "\n"
    dep = dep.replace("  numExecutors: 2", "  numExecutors: 2\n  agentProtocols: [JNLP4-connect]")
    j = jenkins_factory(casc=dep, wait=False)
    assert j.wait_until_up(10) == "casc_failure"
    assert "'agentProtocols' is deprecated" in j.state_message
    relaxed = dep.replace("systemMessage:", "systemMessage2: x\n  systemMessage:") + \
        "configuration-as-code:\n  deprecated: warn\n  unknown: warn\n"
    j2 = jenkins_factory(casc=relaxed)
    assert j2.state == "up"
    assert any("systemMessage2" in line for line in j2.logs)


def test_sources_dirs_hidden_sorted_interpolation_and_case(jenkins_factory):
    files = {
        "10-msg.yaml": "jenkins:\n  SYSTEMMESSAGE: '${MSG:-fallback} ^${NOT_INTERPOLATED}'\n",
        "sub/20-msg.yml": "jenkins:\n  numExecutors: 3\n",
        "..data/99-hidden.yaml": "jenkins:\n  systemMessage: hidden wins?\n",
        ".hidden.yaml": "jenkins:\n  bogus: 1\n",
        "notes.txt": "jenkins: [1]\n",
    }
    j = jenkins_factory(casc=None, casc_files=files, env={})
    assert j.config.system_message == "fallback ${NOT_INTERPOLATED}"
    assert j.config.num_executors == 3
    d = Http(j.url).get("/computer/api/json").json()
    assert d["computer"][0]["numExecutors"] == 3


def test_missing_source_is_boot_failure(jenkins_factory):
    j = jenkins_factory(casc=None, wait=False, env={"CASC_JENKINS_CONFIG": "/nonexistent/casc.yaml"})
    assert j.wait_until_up(10) == "casc_failure"
    assert "Source '/nonexistent/casc.yaml' is not supported by any registered configuration fetcher" in j.state_message


def test_merge_conflict_of_kinds_is_an_error(jenkins_factory):
    j = jenkins_factory(casc_files={"99-x.yaml": "jenkins:\n  securityRealm: local\n"}, wait=False)
    assert j.wait_until_up(10) == "casc_failure"
    assert "Found incompatible configuration elements" in j.state_message


def test_reload_302_on_success_200_error_page_keeps_previous(jenkins):
    admin = admin_of(jenkins)
    base = jenkins.casc_dir / "00-base.yaml"
    base.write_text(CASC_SECURED.replace("sandbox under test", "changed by reload"))
    r = admin.post("/configuration-as-code/reload", headers=admin.crumb())
    assert r.status == 302
    assert jenkins.config.system_message == "changed by reload"
    base.write_text(CASC_SECURED.replace("systemMessage:", "systemMessag:"))
    r = admin.post("/configuration-as-code/reload", headers=admin.crumb())
    assert r.status == 200
    assert "Invalid configuration elements for type: class jenkins.model.Jenkins : systemMessag" in r.text
    assert jenkins.config.system_message == "changed by reload"
    assert admin.get("/configuration-as-code/reload").status == 405     # @RequirePOST
    assert Http(jenkins.url).post("/configuration-as-code/reload").status == 403


def test_apply_appends_to_standard_sources_lists_concatenate(jenkins_factory):
    j = jenkins_factory(casc=CASC_SECURED + CREDS, env={"GIT_PASSWORD": "hunter2"})
    admin = admin_of(j)
    extra = """
credentials:
  system:
    domainCredentials:
      - credentials:
          - string:
              scope: GLOBAL
              id: api-key
              secret: abc
"""
    # string credentials come from plain-credentials: not installed -> strict symbol lookup fails
    r = admin.post("/configuration-as-code/apply", body=extra, headers=admin.crumb())
    assert r.status == 500 and "No com.cloudbees.plugins.credentials.Credentials implementation found for string" in r.text
    extra = extra.replace("string:", "usernamePassword:").replace("secret: abc", "username: x\n              password: y")
    r = admin.post("/configuration-as-code/apply", body=extra, headers=admin.crumb())
    assert r.status == 200 and r.body == b""
    assert [c.id for c in j.config.credentials] == ["git-user", "api-key"]     # sources + posted doc
    # a reload re-reads only the standard sources: the applied credential is gone
    r = admin.post("/configuration-as-code/reload", headers=admin.crumb())
    assert r.status == 302
    assert [c.id for c in j.config.credentials] == ["git-user"]
    r = admin.post("/configuration-as-code/configure", body="", headers=admin.crumb())
    assert r.status == 400 and r.json() == [{"line": -1, "message": "Request body cannot be empty."}]
    r = admin.post("/configuration-as-code/configure", body="jenkins:\n  systemMessage: via configure\n",
                   headers=admin.crumb())
    assert r.status == 200 and r.text == "Configuration successfully applied."
    assert j.config.system_message == "via configure"


def test_check_validates_posted_document_only(jenkins):
    admin = admin_of(jenkins)
    r = admin.post("/configuration-as-code/check", body="jenkins:\n  numExecutors: 1\n", headers=admin.crumb())
    assert r.status == 200 and r.json() == []
    r = admin.post("/configuration-as-code/check", body="jenkins:\n  nope: 1\n", headers=admin.crumb())
    assert r.status == 400
    msg = r.json()[0]
    assert msg["line"] == -1 and "nope" in msg["message"]
    assert jenkins.config.num_executors == 2                 # check never applies


def test_export_sections_and_encrypted_secrets(jenkins_factory):
    j = jenkins_factory(casc=CASC_SECURED + CREDS, env={"GIT_PASSWORD": "hunter2"})
    admin = admin_of(j)
    assert admin.get("/configuration-as-code/export").status == 405
    r = admin.post("/configuration-as-code/export", headers=admin.crumb())
    assert r.status == 200
    assert r.header("Content-Type") == "application/x-yaml; charset=utf-8"
    assert r.header("Content-Disposition") == "attachment; filename=jenkins.yaml"
    assert "hunter2" not in r.text and ADMIN_PASSWORD not in r.text
    doc = yaml.safe_load(r.text)
    assert {"jenkins", "unclassified", "credentials", "security"} <= set(doc)
    assert doc["jenkins"]["systemMessage"] == "sandbox under test"
    assert doc["jenkins"]["authorizationStrategy"] == {"loggedInUsersCanDoAnything": {"allowAnonymousRead": False}}
    assert [u["id"] for u in doc["jenkins"]["securityRealm"]["local"]["users"]] == ["admin", "dev"]
    assert doc["unclassified"]["location"]["url"] == "http://jenkins.example.test/"
    cred = doc["credentials"]["system"]["domainCredentials"][0]["credentials"][0]["usernamePassword"]
    assert cred["id"] == "git-user" and cred["username"] == "bob"
    assert cred["password"].startswith("{AQAAABAAAAA") and cred["password"].endswith("}")
    # the exported (encrypted) document can be fed back: Secret.fromString decrypts it
    (j.casc_dir / "50-export.yaml").write_text(yaml.safe_dump({"credentials": doc["credentials"]}))
    (j.casc_dir / "00-base.yaml").write_text(CASC_SECURED)
    assert admin.post("/configuration-as-code/reload", headers=admin.crumb()).status == 302
    assert j.get_credentials("git-user")["password"] == "hunter2"


def test_token_reload_endpoint(jenkins_factory):
    j = jenkins_factory(env={"CASC_RELOAD_TOKEN": "tok"})
    anon = Http(j.url)
    assert anon.post("/reload-configuration-as-code/?casc-reload-token=wrong").status == 401
    (j.casc_dir / "00-base.yaml").write_text(CASC_SECURED.replace("sandbox under test", "token reload"))
    r = anon.post("/reload-configuration-as-code/?casc-reload-token=tok")      # no crumb, no user
    assert r.status == 200 and r.body == b""
    assert j.config.system_message == "token reload"
    # TokenReloadCrumbExclusion matches the exact path with the trailing slash only
    assert anon.post("/reload-configuration-as-code?casc-reload-token=tok").status == 403
    (j.casc_dir / "00-base.yaml").write_text("jenkins:\n  bad: 1\n")
    r = anon.post("/reload-configuration-as-code/?casc-reload-token=tok")
    assert r.status == 200 and r.json()["status"] == "error"
    assert r.json()["message"].startswith("Failed to reload configuration: ")
    j2 = jenkins_factory(env={}, java_opts="-Djenkins.install.runSetupWizard=false")
    assert Http(j2.url).post("/reload-configuration-as-code/?casc-reload-token=tok").status == 404


def test_sysprop_token_and_unknown_root_and_cloud_symbol(jenkins_factory):
    j = jenkins_factory(java_opts="-Djenkins.install.runSetupWizard=false -Dcasc.reload.token=pod-0")
    assert Http(j.url).post("/reload-configuration-as-code/?casc-reload-token=pod-0").status == 200
    j2 = jenkins_factory(casc_files={"50-jobs.yaml": "jobs:\n  - script: job('x')\n"}, wait=False)
    assert j2.wait_until_up(10) == "casc_failure"
    assert "No configurator for the following root elements: jobs" in j2.state_message
    # the kubernetes plugin is not installed here: its cloud symbol does not exist
    j3 = jenkins_factory(casc_files={"50-cloud.yaml": "jenkins:\n  clouds:\n    - kubernetes:\n        name: k\n"}, wait=False)
    assert j3.wait_until_up(10) == "casc_failure"
    assert "No hudson.slaves.Cloud implementation found for kubernetes" in j3.state_message


def test_without_casc_plugin_config_is_ignored(jenkins_factory):
    j = jenkins_factory(plugins=["credentials"], casc="jenkins:\n  totally: invalid\n")
    assert j.state == "up"
    assert Http(j.url).get("/configuration-as-code/").status == 404


def test_secrets_from_files_like_the_helm_chart(jenkins_factory, tmp_path):
    sdir = tmp_path / "run-secrets"
    sdir.mkdir()
    (sdir / "chart-admin-username").write_text("boss\n")
    (sdir / "chart-admin-password").write_text("from-file\n")
    casc = CASC_SECURED.replace("- id: admin\n          password: ${ADMIN_PASSWORD}",
                                "- id: ${chart-admin-username}\n          password: ${chart-admin-password}")
    j = jenkins_factory(casc=casc, env={"SECRETS": str(sdir)})
    assert Http(j.url, "boss", "from-file").get("/whoAmI/api/json").json()["name"] == "boss"


def test_helm_chart_style_default_config_and_dropped_crumb_option(jenkins_factory):
    # the shape of HELM _helpers.tpl#jenkins.casc.defaults (minus the cloud, owned by the plugin)
    chart = """
jenkins:
  authorizationStrategy:
    loggedInUsersCanDoAnything:
      allowAnonymousRead: false
  securityRealm:
    local:
      allowsSignup: false
      enableCaptcha: false
      users:
      - id: "admin"
        name: "Jenkins Admin"
        password: "${ADMIN_PASSWORD}"
  disableRememberMe: false
  mode: NORMAL
  numExecutors: 0
  labelString: ""
  projectNamingStrategy: "standard"
  markupFormatter:
    plainText
  slaveAgentPort: 50000
security:
  apiToken:
    creationOfLegacyTokenEnabled: false
    tokenGenerationOnCreationEnabled: false
    usageStatisticsEnabled: true
unclassified:
  location:
    adminAddress:
    url: http://jenkins.kube-ops.svc.cluster.local:8080
"""
    j = jenkins_factory(casc=chart)
    h = Http(j.url, "admin", ADMIN_PASSWORD)
    assert h.get("/api/json").json()["slaveAgentPort"] == 50000
    doc = yaml.safe_load(h.post("/configuration-as-code/export", headers=h.crumb()).text)
    assert doc["jenkins"]["crumbIssuer"] == "standard" and doc["jenkins"]["numExecutors"] == 0
    assert doc["unclassified"]["location"]["url"] == "http://jenkins.kube-ops.svc.cluster.local:8080/"
    bad = jenkins_factory(casc=None, casc_files={"00.yaml": chart, "10-crumb.yaml": "jenkins:\n  crumbIssuer:\n    standard:\n      excludeClientIPFromCrumb: true\n"}, wait=False)
    assert bad.wait_until_up(10) == "casc_failure"
    assert "class hudson.security.csrf.DefaultCrumbIssuer : excludeClientIPFromCrumb" in bad.state_message


def test_comma_separated_sources_and_override_strategy(jenkins_factory, tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text(CASC_SECURED + CREDS)
    b.write_text("jenkins:\n  systemMessage: from b\n" + CREDS.replace("git-user", "other"))
    j = jenkins_factory(casc=None, env={"CASC_JENKINS_CONFIG": f"{a}, {b}", "GIT_PASSWORD": "p"})
    assert j.config.system_message == "from b"                                # scalar: later source wins
    assert [c.id for c in j.config.credentials] == ["git-user", "other"]      # sequences concatenate
    j2 = jenkins_factory(casc=None, env={"CASC_JENKINS_CONFIG": f"{a},{b}", "GIT_PASSWORD": "p",
                                         "CASC_MERGE_STRATEGY": "override"})
    assert [c.id for c in j2.config.credentials] == ["other"]                 # override: replaced
