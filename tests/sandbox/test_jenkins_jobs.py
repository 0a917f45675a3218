"""Jobs, queue, builds, console, computers and labels (reference §7.4, §8)."""

import time

from jenkins_conftest import *  # noqa: F401,F403
from jenkins_conftest import ADMIN_PASSWORD, CASC_SECURED, Http, freestyle, wait_for
from sandbox.jenkins.extension import AgentConnectError

XML = {"Content-Type": "application/xml"}

AGENTS = """
jenkins:
  nodes:
    - permanent:
        name: agent1
        labelString: linux docker
        numExecutors: 1
        remoteFS: /home/jenkins/agent
    - permanent:
        name: agent2
        labelString: docker
        numExecutors: 1
        remoteFS: /home/jenkins/agent
"""


def admin(j):
    return Http(j.url, "admin", ADMIN_PASSWORD)


def create(h, name, xml, expect=200):
    r = h.post(f"/createItem?name={name}", body=xml, headers={**XML, **h.crumb()})
    assert r.status == expect, r.text
    return r


def build(h, name, query=""):
    r = h.post(f"/job/{name}/build{query}", headers=h.crumb())
    assert r.status == 201, r.text
    return int(r.header("Location").rstrip("/").split("/")[-1]), r


def item(h, qid):
    r = h.get(f"/queue/item/{qid}/api/json")
    return r.json() if r.status == 200 else r.status


def wait_result(h, name, number, timeout=15):
    def done():
        r = h.get(f"/job/{name}/{number}/api/json")
        return r.json() if r.status == 200 and r.json().get("result") else None
    return wait_for(done, timeout, 0.05, f"{name} #{number}")


def test_create_item_errors(jenkins):
    h = admin(jenkins)
    r = h.post("/createItem?name=x", body=freestyle(), headers=h.crumb())
    assert r.status == 400 and r.header("X-Error") == "No Content-Type header set"
    r = h.post("/createItem", body=freestyle(), headers={**XML, **h.crumb()})
    assert r.status == 400 and r.header("X-Error") == "Query parameter 'name' is required"
    r = h.post("/createItem?name=a%2Fb", body=freestyle(), headers={**XML, **h.crumb()})
    assert r.status == 400
    assert r.header("X-Error").encode("latin-1").decode("utf-8") == "\u2018/\u2019 is an unsafe character"
    create(h, "x", freestyle())
    r = h.post("/createItem?name=x", body=freestyle(), headers={"Content-Type": "text/xml; charset=utf-8", **h.crumb()})
    assert r.status == 400
    assert r.header("X-Error").encode("latin-1").decode("utf-8") == "A job already exists with the name \u2018x\u2019"
    r = h.post("/createItem?name=p", body="<flow-definition/>", headers={**XML, **h.crumb()})
    assert r.status == 500                                   # workflow-job not installed: XStream cannot resolve
    assert h.get("/job/x/build").status == 405 and h.get("/job/x/build").header("Allow") == "POST"
    r = h.post("/job/x/buildWithParameters", headers=h.crumb())
    assert r.status == 400 and r.header("X-Error") == "x is not parameterized"
    # DELETE /job/x/ -> 204
    r = h.request("DELETE", "/job/x/", headers=h.crumb())
    assert r.status == 204
    assert h.get("/job/x/api/json").status == 404


def test_config_xml_roundtrip_is_reserialised(jenkins):
    h = admin(jenkins)
    submitted = freestyle("echo  hi", label="linux")
    create(h, "cfg", submitted)
    r = h.get("/job/cfg/config.xml")
    assert r.status == 200 and r.header("Content-Type").startswith("application/xml")
    got = r.text
    assert got != submitted
    assert got.startswith("<?xml version='1.1' encoding='UTF-8'?>\n<project>\n  <actions/>")
    assert "<assignedNode>linux</assignedNode>" in got and "<command>echo  hi</command>" in got
    r = h.post("/job/cfg/config.xml", body=freestyle("echo changed", description="d2"), headers={**XML, **h.crumb()})
    assert r.status == 200
    j = h.get("/job/cfg/api/json").json()
    assert j["description"] == "d2" and j["labelExpression"] is None and j["buildable"] is True
    assert (jenkins.home / "jobs" / "cfg" / "config.xml").read_text() == h.get("/job/cfg/config.xml").text


def test_quiet_period_location_and_console(jenkins):
    h = admin(jenkins)
    create(h, "q", freestyle("echo one; sleep 1; echo two", quiet=3))
    qid, r = build(h, "q")
    assert r.header("Location") == f"{jenkins.url}/queue/item/{qid}/"
    it = item(h, qid)
    assert it["_class"] == "hudson.model.Queue$WaitingItem"
    assert it["why"].startswith("In the quiet period. Expires in ") and it["why"].endswith(" sec")
    assert it["task"]["name"] == "q" and it["url"] == f"queue/item/{qid}/"
    qid2, r2 = build(h, "q")                      # merged into the waiting item: still 201
    assert qid2 == qid
    assert h.get("/job/q/api/json").json()["inQueue"] is True
    assert h.get(f"/queue/item/{qid}/").text.startswith("Queue item exists.")
    # progressiveText while running
    left = wait_for(lambda: (lambda i: i if i["_class"].endswith("LeftItem") else None)(item(h, qid)), 10, 0.05, "left")
    assert left["cancelled"] is False and left["why"] is None
    assert left["executable"] == {"_class": "hudson.model.FreeStyleBuild", "number": 1,
                                  "url": "http://jenkins.example.test/job/q/1/"}
    r = wait_for(lambda: (lambda x: x if b"one" in x.body else None)(h.get("/job/q/1/logText/progressiveText?start=0")),
                 5, 0.05, "first output")
    assert r.header("X-More-Data") == "true"
    size = int(r.header("X-Text-Size"))
    assert size == len(r.body)
    b = h.get("/job/q/1/api/json").json()
    assert b["building"] is True and b["result"] is None and b["inProgress"] is True
    assert h.get("/job/q/api/json").json()["color"] == "notbuilt_anime"
    done = wait_result(h, "q", 1)
    assert done["result"] == "SUCCESS" and done["duration"] >= 1000
    r = h.get(f"/job/q/1/logText/progressiveText?start={size}")
    assert r.header("X-More-Data") is None
    assert r.text.endswith("Finished: SUCCESS\n") and "+ echo two" in r.text
    total = int(r.header("X-Text-Size"))
    r = h.get(f"/job/q/1/logText/progressiveText?start={total + 100}")      # beyond the end: from 0
    assert r.body.startswith(b"Started by user admin")
    text = h.get("/job/q/1/consoleText").text
    assert text.startswith("Started by user admin\nRunning as SYSTEM\nBuilding in workspace ")
    assert "[q] $ /bin/sh -xe /tmp/jenkins" in text


def test_delay_param_env_and_blocked_item(jenkins):
    h = admin(jenkins)
    create(h, "env", freestyle("echo WS=$WORKSPACE NUM=$BUILD_NUMBER JOB=$JOB_NAME NODE=$NODE_NAME "
                               "LABELS=$NODE_LABELS TAG=$BUILD_TAG URL=$BUILD_URL EXEC=$EXECUTOR_NUMBER; sleep 1.5"))
    qid, _ = build(h, "env", "?delay=0sec")
    wait_for(lambda: (lambda i: i if i["_class"].endswith("LeftItem") else None)(item(h, qid)), 5, 0.05, "started")
    qid2, _ = build(h, "env", "?delay=0sec")
    blocked = wait_for(lambda: (lambda i: i if i["_class"].endswith("BlockedItem") else None)(item(h, qid2)), 5, 0.05,
                       "blocked")
    assert blocked["why"].startswith("Build #1 is already in progress") and blocked["blocked"] is True
    wait_result(h, "env", 1)
    text = h.get("/job/env/1/consoleText").text
    ws = str(jenkins.home / "workspace" / "env")
    assert f"WS={ws} NUM=1 JOB=env NODE=built-in LABELS=built-in TAG=jenkins-env-1 " \
           f"URL=http://jenkins.example.test/job/env/1/ EXEC=0" in text
    assert (jenkins.home / "workspace" / "env").is_dir()
    wait_result(h, "env", 2)


def test_cancel_and_left_item_expiry(jenkins, monkeypatch):
    import sandbox.jenkins.instance as inst
    h = admin(jenkins)
    create(h, "c", freestyle("true", quiet=30))
    qid, _ = build(h, "c")
    r = h.post(f"/queue/cancelItem?id={qid}", headers=h.crumb())
    assert r.status == 204
    it = item(h, qid)
    assert it["_class"] == "hudson.model.Queue$LeftItem" and it["cancelled"] is True and it["executable"] is None
    assert h.post(f"/queue/cancelItem?id={qid}", headers=h.crumb()).status == 422
    assert h.post("/queue/cancelItem?id=999", headers=h.crumb()).status == 404
    monkeypatch.setattr(inst, "LEFT_ITEM_TTL", 0.3)
    time.sleep(0.6)
    assert item(h, qid) == 404
    assert h.get("/queue/api/json").json()["items"] == []


def test_why_texts_with_agents_and_agent_build(jenkins_factory):
    j = jenkins_factory(casc=CASC_SECURED.replace("  numExecutors: 2", "  numExecutors: 0"),
                        casc_files={"50-agents.yaml": AGENTS})
    h = admin(j)
    names = [c["displayName"] for c in h.get("/computer/api/json").json()["computer"]]
    assert names == ["Built-In Node", "agent1", "agent2"]
    create(h, "one", freestyle("echo on $NODE_NAME", label="linux"))
    create(h, "two", freestyle("true", label="docker"))
    create(h, "none", freestyle("true", label="gpu"))
    create(h, "expr", freestyle("true", label="linux && !docker"))
    whys = {}
    for name in ("one", "two", "none", "expr"):
        qid, _ = build(h, name, "?delay=0sec")
        whys[name] = wait_for(lambda: (lambda i: i if i["_class"].endswith("BuildableItem") and i["why"] and
                                       "quiet" not in i["why"] else None)(item(h, qid)), 5, 0.05, name)
    assert whys["one"]["why"] == "\u2018agent1\u2019 is offline" and whys["one"]["stuck"] is True
    assert whys["two"]["why"] == "All nodes of label \u2018docker\u2019 are offline"
    assert whys["none"]["why"] == "There are no nodes with the label \u2018gpu\u2019"
    assert whys["expr"]["why"] == "There are no nodes with the label \u2018linux && !docker\u2019"
    lbl = h.get("/label/docker/api/json").json()
    assert lbl["offline"] is True and [n["nodeName"] for n in lbl["nodes"]] == ["agent1", "agent2"]
    assert lbl["name"] == "docker" and lbl["totalExecutors"] == 0

    # wrong secret is refused; the right one (JENKINS_SECRET = HMAC of the name) connects
    try:
        j.agent_connect("agent1", "0" * 64)
        raise AssertionError("expected refusal")
    except AgentConnectError as e:
        assert "Authorization failure" in str(e)

    class Exec:
        def run_shell(self, script, env, workspace, listener=None):
            return 0, f"ran on {env['NODE_NAME']} in {workspace}\n"

    j.agent_connect("agent1", j.jnlp_mac("agent1"), executor=Exec())
    b = wait_result(h, "one", 1)
    assert b["builtOn"] == "agent1" and b["result"] == "SUCCESS"
    text = h.get("/job/one/1/consoleText").text
    assert "Building remotely on agent1 (linux docker) in workspace /home/jenkins/agent/workspace/one" in text
    assert "ran on agent1 in /home/jenkins/agent/workspace/one" in text
    c = h.get("/computer/agent1/api/json?depth=1").json()
    assert c["executors"][0]["idle"] is True
    assert c["offline"] is False and c["jnlpAgent"] is True and c["numExecutors"] == 1
    assert "Agent successfully connected and online" in h.get("/computer/agent1/log").text
    # two: docker label now has one online node -> runs there too after "one" finished
    wait_result(h, "two", 1)


def test_no_agents_at_all_gives_generic_why(jenkins_factory):
    j = jenkins_factory(casc=CASC_SECURED.replace("  numExecutors: 2", "  numExecutors: 0"))
    h = admin(j)
    create(h, "lbl", freestyle("true", label="k8s"))
    qid, _ = build(h, "lbl", "?delay=0sec")
    # Queue.BuildableItem#getCauseOfBlockage: with no agents the label is ignored
    it = wait_for(lambda: (lambda i: i if i["_class"].endswith("BuildableItem") else None)(item(h, qid)), 5, 0.05, "buildable")
    assert it["why"] == "Waiting for next available executor" and it["stuck"] is True


def test_restart_keeps_persisted_jobs_and_builds(jenkins):
    h = admin(jenkins)
    create(h, "keep", freestyle("echo persisted"))
    qid, _ = build(h, "keep", "?delay=0sec")
    wait_result(h, "keep", 1)
    assert h.post("/restart", headers=h.crumb()).status == 302
    wait_for(lambda: Http(jenkins.url).get("/login").status == 200, 20, what="back up")
    h = admin(jenkins)
    job = h.get("/job/keep/api/json").json()
    assert job["nextBuildNumber"] == 2 and job["lastBuild"]["number"] == 1 and job["color"] == "blue"
    b = h.get("/job/keep/1/api/json").json()
    assert b["result"] == "SUCCESS" and b["queueId"] == qid
    assert "persisted" in h.get("/job/keep/1/consoleText").text
    assert item(h, qid) == 404                    # the queue's left items are not persisted
    build(h, "keep", "?delay=0sec")
    assert wait_result(h, "keep", 2)["result"] == "SUCCESS"


def test_parameterized_build(jenkins):
    h = admin(jenkins)
    xml = freestyle("echo GREETING=$GREETING").replace(
        "<properties/>", "<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
        "<hudson.model.StringParameterDefinition><name>GREETING</name><defaultValue>hi</defaultValue>"
        "</hudson.model.StringParameterDefinition></parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
        "</properties>")
    create(h, "p", xml)
    r = h.post("/job/p/buildWithParameters?GREETING=hello&delay=0sec", headers=h.crumb())
    assert r.status == 201
    qid = int(r.header("Location").rstrip("/").split("/")[-1])
    assert item(h, qid)["params"] == "\nGREETING=hello"
    wait_result(h, "p", 1)
    assert "GREETING=hello" in h.get("/job/p/1/consoleText").text


def _free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_tcp_agent_listener_protocol(jenkins_factory):
    import socket
    port = _free_port()
    j = jenkins_factory(casc_files={"50-agents.yaml": AGENTS}, agent_port=port,
                        env={"JENKINS_SLAVE_AGENT_PORT": "50000"})
    r = Http(j.url).get("/tcpSlaveAgentListener/")            # always readable
    assert r.status == 200
    assert r.header("X-Jenkins-JNLP-Port") == "50000" and r.header("X-Instance-Identity")
    assert j.agent_address == ("127.0.0.1", port)

    def hello(secret):
        s = socket.create_connection(j.agent_address, timeout=5)
        s.sendall(f"JNLP4-connect agent2 {secret}\n".encode())
        return s, s.makefile("rb").readline().decode().strip()

    s, answer = hello("bad")
    assert answer.startswith("ERROR The server rejected the connection") and "Authorization failure" in answer
    s.close()
    s, answer = hello(j.jnlp_mac("agent2"))
    assert answer == "Welcome"
    assert j.get_node("agent2").online
    s.close()
    wait_for(lambda: not j.get_node("agent2").online, 5, what="disconnect after socket close")
    # slaveAgentPort -1 disables the listener (and the HTTP endpoint)
    j2 = jenkins_factory(casc_files={"50-port.yaml": "jenkins:\n  slaveAgentPort: -1\n"}, agent_port=_free_port())
    assert j2.agent_address is None
    assert Http(j2.url).get("/tcpSlaveAgentListener/").status == 404


def test_default_agent_port_is_random(jenkins_factory):
    j = jenkins_factory(casc=None, plugins=[])
    assert Http(j.url).get("/api/json").json()["slaveAgentPort"] == 0
    r = Http(j.url).get("/tcpSlaveAgentListener/")
    assert r.status == 200 and int(r.header("X-Jenkins-JNLP-Port")) == j.agent_address[1] > 0
