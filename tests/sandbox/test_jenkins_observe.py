"""Request log and fault injection for component "jenkins"; safe restart waits for builds."""

import http.client
import time

import pytest

from jenkins_conftest import *  # noqa: F401,F403
from jenkins_conftest import ADMIN_PASSWORD, Http, freestyle, wait_for
from sandbox.observe import FaultInjector, RequestLog


@pytest.fixture
def observed(jenkins_factory):
    log, faults = RequestLog(), FaultInjector()
    j = jenkins_factory(wait=False)
    j.request_log, j.faults = log, faults
    assert j.wait_until_up(20) == "up"
    return j, log, faults


def test_request_log_records_user_status_and_redacts(observed):
    j, log, _ = observed
    h = Http(j.url, "admin", ADMIN_PASSWORD)
    h.get("/api/json")
    Http(j.url).get("/api/json")
    h.post("/configuration-as-code/check", body="jenkins:\n  systemMessage: x\n", headers=h.crumb())
    h.post("/user/admin/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
           form={"newTokenName": "t"}, headers=h.crumb())
    entries = log.entries(component="jenkins")
    api = [e for e in entries if e["path"] == "/api/json"]
    assert [(e["status"], e["user"]) for e in api] == [(200, "admin"), (403, None)]
    assert log.counts("jenkins")["by_method"]["POST"] == 2
    assert all(e["method"] != "POST" or e["path"] != "/crumbIssuer/api/json" for e in entries)
    assert [e["path"] for e in log.mutating("jenkins")] == [
        "/configuration-as-code/check", "/user/admin/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken"]


def test_faults_status_drop_latency(observed):
    j, log, faults = observed
    h = Http(j.url, "admin", ADMIN_PASSWORD)
    faults.add(component="jenkins", method="GET", path_regex=r"^/api/json$", count=2, status=503)
    assert [h.get("/api/json").status for _ in range(3)] == [503, 503, 200]
    faults.add(component="k8s", path_regex=".*", count=5, status=500)      # other component: ignored
    assert h.get("/api/json").status == 200
    faults.add(component="jenkins", path_regex=r"^/whoAmI/", count=1, drop=True)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        h.get("/whoAmI/api/json")
    assert h.get("/whoAmI/api/json").status == 200
    faults.add(component="jenkins", path_regex=r"^/login$", count=1, status=None, latency=0.5)
    t = time.time()
    assert h.get("/login").status == 200
    assert time.time() - t >= 0.5
    assert any(e.get("fault") == "drop" for e in log.entries(component="jenkins"))


def test_safe_restart_waits_for_running_build(jenkins):
    h = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    r = h.post("/createItem?name=slow", body=freestyle("sleep 1.5; echo done"),
               headers={"Content-Type": "application/xml", **h.crumb()})
    assert r.status == 200
    h.post("/job/slow/build?delay=0sec", headers=h.crumb())
    wait_for(lambda: (jenkins.home / "jobs" / "slow" / "builds" / "1" / "log").exists(), 5, what="build started")
    assert h.post("/safeRestart", headers=h.crumb()).status == 302
    time.sleep(0.3)
    assert jenkins.state == "up" and jenkins.quieting_down       # quieting down, waiting for the build
    wait_for(lambda: Http(jenkins.url).get("/login").status == 503, 5, 0.02, what="restarting")
    wait_for(lambda: Http(jenkins.url).get("/login").status == 200, 20, what="back up")
    b = Http(jenkins.url, "admin", ADMIN_PASSWORD).get("/job/slow/1/api/json").json()
    assert b["result"] == "SUCCESS"


def test_hard_restart_kills_running_freestyle_build(jenkins):
    h = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    h.post("/createItem?name=killed", body=freestyle("sleep 5"), headers={"Content-Type": "application/xml", **h.crumb()})
    h.post("/job/killed/build?delay=0sec", headers=h.crumb())
    wait_for(lambda: (jenkins.home / "jobs" / "killed" / "builds" / "1" / "log").exists(), 5, what="build started")
    assert h.post("/restart", headers=h.crumb()).status == 302
    wait_for(lambda: jenkins.state == "up" and Http(jenkins.url).get("/login").status == 200, 20, what="back up")
    b = Http(jenkins.url, "admin", ADMIN_PASSWORD).get("/job/killed/1/api/json").json()
    assert b["building"] is False and b["result"] == "ABORTED"
