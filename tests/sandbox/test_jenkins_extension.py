"""The core's extension contract exercised with a tiny test cloud (no Kubernetes involved):
JCasC configurator + export hook, reload replacing the cloud list, provisioning from the queue,
agent connect, build on the provisioned node, completion hook, routes."""

import threading

import pytest
import yaml

from jenkins_conftest import *  # noqa: F401,F403
from jenkins_conftest import ADMIN_PASSWORD, CASC_SECURED, Http, freestyle, wait_for
from sandbox.jenkins import extension as ext


class StaticExecutor:
    def run_shell(self, script, env, workspace, listener=None):
        listener.write(f"static agent ran: {script.strip()} on {env['NODE_NAME']}\n")
        return 0, None


class DummyNode(ext.Node):
    node_class = "test.DummyAgent"
    computer_class = "test.DummyComputer"

    def __init__(self, name, label, cloud):
        super().__init__(name, label.split(), 1, None, "dummy agent")
        self.cloud = cloud
        self.done = []

    def on_build_start(self, build):
        build.log(f"Agent {self.name} is provisioned from template dummy")

    def on_build_complete(self, build):
        self.done.append((build.job_name, build.number, build.result))
        self.jenkins.remove_node(self.name)          # one-shot retention


class DummyCloud:
    java_class = "test.DummyCloud"

    def __init__(self, name, label, auto_connect):
        self.name, self.label, self.auto_connect = name, label, auto_connect
        self.provisioned = []
        self.disposed = False

    def can_provision(self, label):
        return label.matches([self.label])

    def provision(self, label, jenkins, excess_workload):
        node = DummyNode(f"{self.name}-agent-{len(self.provisioned) + 1}", self.label, self)
        self.provisioned.append(node)
        jenkins.add_node(node)
        if self.auto_connect:
            threading.Timer(0.5, lambda: jenkins.agent_connect(node.name, jenkins.jnlp_mac(node.name),
                                                               executor=StaticExecutor())).start()
        return [node]

    def dispose(self):
        self.disposed = True


def configure(mapping, context):
    m = context.check_attributes("test.DummyCloud", mapping, ["autoConnect", "label", "name"])
    if not m.get("name"):
        raise ext.ConfiguratorError("name is required")
    return DummyCloud(m["name"], m.get("label", "dummy"), bool(m.get("autoConnect", True)))


def export(cloud):
    return {"autoConnect": cloud.auto_connect, "label": cloud.label, "name": cloud.name}


ext.register_cloud_configurator("dummyTest", configure, export, plugin=None, java_class="test.DummyCloud")
ext.register_route("POST", "/descriptorByName/test.DummyCloud/ping",
                   lambda req, j: ext.RouteResponse(200, f"<div class=\"ok\">pong {req.form.get('name')}</div>"),
                   permission="ADMINISTER", plugin=None)

CLOUD = """
jenkins:
  clouds:
    - dummyTest:
        name: one
        label: dummy
"""


def test_cloud_provisioning_build_and_retention(jenkins_factory):
    j = jenkins_factory(casc=CASC_SECURED.replace("  numExecutors: 2", "  numExecutors: 0"),
                        casc_files={"50-cloud.yaml": CLOUD})
    h = Http(j.url, "admin", ADMIN_PASSWORD)
    cloud = j.config.clouds[0][1]
    assert isinstance(cloud, DummyCloud)
    lbl = h.get("/label/dummy/api/json?depth=1").json()
    assert lbl["clouds"] == [{"_class": "test.DummyCloud", "name": "one"}] and lbl["nodes"] == []
    r = h.post("/createItem?name=dyn", body=freestyle("echo hi", label="dummy"),
               headers={"Content-Type": "application/xml", **h.crumb()})
    assert r.status == 200
    r = h.post("/job/dyn/build?delay=0sec", headers=h.crumb())
    qid = int(r.header("Location").rstrip("/").split("/")[-1])
    # the provisioned node exists but is offline until the agent connects
    it = wait_for(lambda: (lambda i: i if i.get("why", "").endswith("is offline") else None)(
        h.get(f"/queue/item/{qid}/api/json").json()), 5, 0.02, "node offline why")
    assert it["why"] == "\u2018one-agent-1\u2019 is offline"
    b = wait_for(lambda: (lambda r: r.json() if r.status == 200 and r.json()["result"] else None)(
        h.get("/job/dyn/1/api/json")), 10, 0.05, "build")
    assert b["result"] == "SUCCESS" and b["builtOn"] == "one-agent-1"
    text = h.get("/job/dyn/1/consoleText").text
    assert "Agent one-agent-1 is provisioned from template dummy" in text
    assert "static agent ran: echo hi on one-agent-1" in text
    assert len(cloud.provisioned) == 1                      # planned capacity prevented a second node
    node = cloud.provisioned[0]
    wait_for(lambda: node.done == [("dyn", 1, "SUCCESS")], 5, what="on_build_complete")
    assert j.get_node("one-agent-1") is None                # removed by the plugin's retention
    assert h.get("/computer/one-agent-1/api/json").status == 404


def test_reload_replaces_cloud_list_apply_concatenates_export_uses_hook(jenkins_factory):
    j = jenkins_factory(casc_files={"50-cloud.yaml": CLOUD})
    h = Http(j.url, "admin", ADMIN_PASSWORD)
    first = j.config.clouds[0][1]
    more = "jenkins:\n  clouds:\n    - dummyTest:\n        name: two\n"
    assert h.post("/configuration-as-code/apply", body=more, headers=h.crumb()).status == 200
    assert [c.name for _, c in j.config.clouds] == ["one", "two"]          # sources + posted: concatenated
    exported = yaml.safe_load(h.post("/configuration-as-code/export", headers=h.crumb()).text)
    assert exported["jenkins"]["clouds"] == [{"dummyTest": {"autoConnect": True, "label": "dummy", "name": "one"}},
                                             {"dummyTest": {"autoConnect": True, "label": "dummy", "name": "two"}}]
    (j.casc_dir / "50-cloud.yaml").write_text("jenkins:\n  clouds:\n    - dummyTest:\n        name: three\n")
    assert h.post("/configuration-as-code/reload", headers=h.crumb()).status == 302
    assert [c.name for _, c in j.config.clouds] == ["three"]               # replaced wholesale
    assert first.disposed
    (j.casc_dir / "50-cloud.yaml").write_text("jenkins:\n  clouds:\n    - dummyTest:\n        nam: x\n")
    r = h.post("/configuration-as-code/reload", headers=h.crumb())
    assert r.status == 200 and "Invalid configuration elements for type: class test.DummyCloud : nam" in r.text
    assert [c.name for _, c in j.config.clouds] == ["three"]
    # clouds are persisted in config.xml and re-created through the configurator after a restart
    (j.casc_dir / "50-cloud.yaml").unlink()
    h.post("/restart", headers=h.crumb())
    wait_for(lambda: j.state == "up", 20, what="restart")
    assert [c.name for _, c in j.config.clouds] == ["three"]


def test_plugin_route_gets_auth_crumb_and_permission(jenkins):
    h = Http(jenkins.url, "admin", ADMIN_PASSWORD)
    path = "/descriptorByName/test.DummyCloud/ping"
    assert h.post(path, form={"name": "x"}).status == 403                   # no crumb
    r = h.post(path, form={"name": "x"}, headers=h.crumb())
    assert r.status == 200 and r.text == '<div class="ok">pong x</div>'
    r = h.get(path)
    assert r.status == 405 and r.header("Allow") == "POST"
    assert Http(jenkins.url).post(path).status == 403


def test_label_expressions():
    L = ext.Label
    assert L("a && b").matches(["a", "b"]) and not L("a && b").matches(["a"])
    assert L("a || b").matches(["b"]) and L("!a").matches(["b"]) and not L("!a").matches(["a"])
    assert L("(a || b) && !c").matches(["a"]) and not L("(a || b) && !c").matches(["a", "c"])
    assert L("a -> b").matches(["b"]) and L("a -> b").matches([]) and not L("a -> b").matches(["a"])
    assert L(None).matches([]) and L("haimaxy-jnlp").is_atom()
    with pytest.raises(ValueError):
        L("a b")


class OneShotNode(DummyNode):
    """One-shot retention as the kubernetes plugin's OnceRetentionStrategy: stops accepting tasks when
    its build completes (before the executor is freed), is terminated a little later."""

    def task_completed(self, build):
        self.accepting_tasks = False

    def on_build_complete(self, build):
        self.done.append((build.job_name, build.number, build.result))
        threading.Timer(0.8, lambda: self.jenkins.remove_node(self.name)).start()


class OneShotCloud(DummyCloud):
    java_class = "test.OneShotCloud"

    def provision(self, label, jenkins, excess_workload):
        node = OneShotNode(f"{self.name}-agent-{len(self.provisioned) + 1}", self.label, self)
        self.provisioned.append(node)
        jenkins.add_node(node)
        # the first agent connects at once, the next ones late: queued builds wait while agent 1 finishes
        delay = 0.2 if len(self.provisioned) == 1 else 1.5
        threading.Timer(delay, lambda: jenkins.agent_connect(node.name, jenkins.jnlp_mac(node.name),
                                                             executor=StaticExecutor())).start()
        return [node]


ext.register_cloud_configurator(
    "oneShotTest", lambda m, c: OneShotCloud(m["name"], m.get("label", "dummy"), True),
    lambda cloud: {"label": cloud.label, "name": cloud.name}, plugin=None, java_class="test.OneShotCloud")


def test_one_shot_agent_never_takes_a_queued_build_after_its_own(jenkins_factory):
    """Regression: the executor of a one-shot agent used to be freed before the agent stopped accepting
    tasks, so a build waiting in the queue could start there and fail with 'ERROR: <agent> is offline'
    once the agent was terminated (20 concurrent builds, bench/extras.py)."""
    j = jenkins_factory(casc=CASC_SECURED.replace("  numExecutors: 2", "  numExecutors: 0"),
                        casc_files={"50-cloud.yaml": "jenkins:\n  clouds:\n    - oneShotTest:\n        name: once\n"
                                                     "        label: dummy\n"})
    h = Http(j.url, "admin", ADMIN_PASSWORD)
    xml = freestyle("echo hi", label="dummy").replace(
        "<concurrentBuild>false</concurrentBuild>", "<concurrentBuild>true</concurrentBuild>").replace(
        "<properties/>", "<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
        "<hudson.model.StringParameterDefinition><name>RUN</name><defaultValue>0</defaultValue>"
        "</hudson.model.StringParameterDefinition></parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
        "</properties>")
    r = h.post("/createItem?name=many", body=xml, headers={"Content-Type": "application/xml", **h.crumb()})
    assert r.status == 200
    for run in range(3):
        r = h.post("/job/many/buildWithParameters?delay=0sec", body="RUN=%d" % run,
                   headers={"Content-Type": "application/x-www-form-urlencoded", **h.crumb()})
        assert r.status == 201
    builds = [wait_for(lambda n=n: (lambda r: r.json() if r.status == 200 and r.json()["result"] else None)(
        h.get("/job/many/%d/api/json" % n)), 15, 0.05, "build %d" % n) for n in (1, 2, 3)]
    assert [b["result"] for b in builds] == ["SUCCESS"] * 3
    assert len({b["builtOn"] for b in builds}) == 3          # one agent per build
