"""python-jenkins 1.8.3 (a real client) against the Jenkins stand-in."""

import time

import jenkins as pyjenkins
import pytest

from jenkins_conftest import *  # noqa: F401,F403
from jenkins_conftest import ADMIN_PASSWORD, Http, admin_token, freestyle, wait_for


def _wait_build(server, job, qid, timeout=20):
    item = wait_for(lambda: (lambda it: it if it.get("executable") else None)(server.get_queue_item(qid)),
                    timeout, 0.1, "queue item to start")
    number = item["executable"]["number"]
    info = wait_for(lambda: (lambda b: b if not b["building"] else None)(server.get_build_info(job, number)),
                    timeout, 0.1, "build to finish")
    return number, info


def test_python_jenkins_full_cycle_with_api_token(jenkins):
    token = admin_token(jenkins)
    server = pyjenkins.Jenkins(jenkins.url, "admin", token, timeout=10)
    who = server.get_whoami()            # resolves auth first (get_version alone does not send it)
    assert who["id"] == "admin"
    assert server.get_version() == jenkins.version
    plugins = server.get_plugins()
    names = {p["shortName"] for p in plugins.values()}
    assert {"configuration-as-code", "credentials", "snakeyaml-api"} <= names
    casc = plugins["configuration-as-code"]
    assert casc["version"] == "2115.vf6de120eef70" and casc["active"] and casc["hasUpdate"]
    assert casc["dependencies"] and casc["dependencies"][0]["shortName"] == "snakeyaml-api"

    server.create_job("smoke", freestyle("echo hello from $NODE_NAME build $BUILD_NUMBER"))
    assert server.job_exists("smoke")
    with pytest.raises(pyjenkins.JenkinsException):
        server.create_job("smoke", freestyle())            # "job[smoke] already exists"
    xml = server.get_job_config("smoke")
    assert xml.startswith("<?xml version='1.1' encoding='UTF-8'?>")
    assert "<configuredLocalRules/>" in xml and "<actions/>" in xml
    assert xml != freestyle("echo hello from $NODE_NAME build $BUILD_NUMBER")   # re-serialised like XStream

    qid = server.build_job("smoke")
    item = server.get_queue_item(qid)
    assert item["_class"] == "hudson.model.Queue$WaitingItem"
    assert item["why"].startswith("In the quiet period. Expires in ")
    number, info = _wait_build(server, "smoke", qid)
    assert number == 1
    assert info["result"] == "SUCCESS" and info["builtOn"] == "" and info["queueId"] == qid
    assert info["url"] == "http://jenkins.example.test/job/smoke/1/"
    console = server.get_build_console_output("smoke", number)
    assert "+ echo hello from built-in build 1" in console
    assert "hello from built-in build 1\n" in console
    assert console.rstrip().endswith("Finished: SUCCESS")

    server.reconfig_job("smoke", freestyle("exit 3", description="now failing"))
    qid = server.build_job("smoke", parameters=None)
    number, info = _wait_build(server, "smoke", qid)
    assert number == 2 and info["result"] == "FAILURE"
    assert "Build step 'Execute shell' marked build as failure" in server.get_build_console_output("smoke", 2)
    job = server.get_job_info("smoke")
    assert job["description"] == "now failing" and job["color"] == "red" and job["nextBuildNumber"] == 3
    assert job["lastSuccessfulBuild"]["number"] == 1 and job["lastFailedBuild"]["number"] == 2

    nodes = server.get_nodes()
    assert nodes == [{"name": "Built-In Node", "offline": False}]

    server.delete_job("smoke")
    assert not server.job_exists("smoke")
    assert not (jenkins.home / "jobs" / "smoke").exists()


def test_python_jenkins_with_password_uses_crumb_and_session(jenkins):
    server = pyjenkins.Jenkins(jenkins.url, "admin", ADMIN_PASSWORD, timeout=10)
    assert server.get_whoami()["id"] == "admin"
    server.create_job("pw", freestyle("true"))   # POST: python-jenkins fetches a crumb, requests keeps the cookie
    assert server.get_job_info("pw")["name"] == "pw"


def test_python_jenkins_bad_token_is_401(jenkins):
    server = pyjenkins.Jenkins(jenkins.url, "admin", "11" + "0" * 32, timeout=10)
    with pytest.raises(pyjenkins.JenkinsException) as e:
        server.get_whoami()
    assert "401" in str(e.value) or "Unauthorized" in str(e.value) or "auth" in str(e.value).lower()


def test_python_jenkins_running_builds_jobs_and_seeded_token(jenkins_factory):
    j = jenkins_factory(env={"SANDBOX_JENKINS_API_TOKENS": "admin:11aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    server = pyjenkins.Jenkins(j.url, "admin", "11aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", timeout=10)
    server.create_job("slow", freestyle("sleep 2"))
    server.create_job("off", freestyle("true"))
    server.disable_job("off")
    assert server.get_job_info("off")["color"] == "disabled"
    r = Http(j.url, "admin", "11aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").post("/job/off/build")
    assert r.status == 409
    server.build_job("slow")
    running = wait_for(lambda: server.get_running_builds(), 10, 0.1, "running build")
    assert running[0]["name"] == "slow" and running[0]["number"] == 1 and running[0]["node"] == "(master)"
    jobs = {x["name"]: x["color"] for x in server.get_jobs()}
    assert jobs == {"off": "disabled", "slow": "notbuilt_anime"}
    info = Http(j.url, "admin", "11aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").get("/api/json?depth=1").json()
    assert info["jobs"][0]["name"] == "off" and info["jobs"][0]["nextBuildNumber"] == 1


def test_python_jenkins_view_jobs(jenkins):
    server = pyjenkins.Jenkins(jenkins.base_url, "admin", ADMIN_PASSWORD, timeout=10)
    server.get_whoami()
    server.create_job("v1", freestyle())
    assert [j["name"] for j in server.get_jobs(view_name="all")] == ["v1"]
    assert server.view_exists("all") and not server.view_exists("nope")


def test_python_jenkins_queue_info_and_cancel(jenkins):
    server = pyjenkins.Jenkins(jenkins.url, "admin", ADMIN_PASSWORD, timeout=10)
    server.get_whoami()
    server.create_job("later", freestyle(quiet=60))
    qid = server.build_job("later")
    q = server.get_queue_info()
    assert [i["id"] for i in q] == [qid]
    assert q[0]["task"]["name"] == "later" and q[0]["why"].startswith("In the quiet period")
    assert q[0]["actions"][0]["causes"][0]["shortDescription"] == "Started by user admin"
    server.cancel_queue(qid)
    assert server.get_queue_info() == []
    assert server.get_queue_item(qid)["cancelled"] is True
