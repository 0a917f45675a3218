"""Runtimes in isolation: the step executor (unshare + bind mounts), jenkins-plugin-cli parsing and
resolution, the inbound agent's discovery failures, the controller's path mapping."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sandbox.k8s.runtime import Mount
from sandbox.runtimes import inbound_agent, jenkins_controller, plugin_cli
from sandbox.runtimes.executor import PodExecutor

pytestmark = pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")


def _unshare_works():
    return subprocess.run(["unshare", "-Urm", "true"], capture_output=True).returncode == 0


# --------------------------------------------------------------------------------------------- executor


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "node1"
    (root / "root/.kube").mkdir(parents=True)
    (root / "root/.kube/config").write_text("apiVersion: v1\nkind: Config\n")
    (root / "var/run/docker.sock").mkdir(parents=True)      # what the kubelet creates for type ""
    ws = tmp_path / "pod/workspace-volume"
    ws.mkdir(parents=True)
    ro = tmp_path / "pod/ro"
    ro.mkdir(parents=True)
    (ro / "data").write_text("read-only\n")
    mounts = [Mount("/home/jenkins/.kube", root / "root/.kube"),
              Mount("/var/run/docker.sock", root / "var/run/docker.sock"),
              Mount("/home/jenkins/agent", ws),
              Mount("/home/jenkins/ro", ro, read_only=True)]
    return {"root": root, "ws": ws, "mounts": mounts, "scratch": tmp_path / "scratch"}


class Sink:
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    @property
    def text(self):
        return "".join(self.parts)


@pytest.mark.skipif(not _unshare_works(), reason="user namespaces unavailable")
def test_executor_sees_mounts_at_mount_paths(node):
    ex = PodExecutor(node["mounts"], {"FOO": "from-container", "JENKINS_AGENT_NAME": "a-1"}, node["scratch"])
    sink = Sink()
    rc, out = ex.run_shell("echo HOME=$HOME FOO=$FOO BN=$BUILD_NUMBER\ncat ~/.kube/config\npwd\n"
                           "echo made > artifact.txt\ntest -d /var/run/docker.sock && echo sockdir\n"
                           "ls /tmp/jenkins*.sh | wc -l\n",
                           {"BUILD_NUMBER": "7"}, "/home/jenkins/agent/workspace/job", listener=sink)
    assert rc == 0 and out is None, sink.text
    t = sink.text
    assert "+ echo HOME=/home/jenkins FOO=from-container BN=7" in t          # sh -xe trace
    assert "HOME=/home/jenkins FOO=from-container BN=7" in t
    assert "kind: Config" in t
    assert "/home/jenkins/agent/workspace/job\n" in t
    assert "sockdir" in t
    # the workspace is the emptyDir's host directory; nothing leaked to the host's /home
    assert (node["ws"] / "workspace/job/artifact.txt").read_text() == "made\n"
    assert not Path("/home/jenkins/agent/workspace/job").exists()


@pytest.mark.skipif(not _unshare_works(), reason="user namespaces unavailable")
def test_executor_failures_and_exit_codes(node):
    ex = PodExecutor(node["mounts"], {}, node["scratch"])
    rc, out = ex.run_shell("echo before\nfalse\necho after", {}, "/home/jenkins/agent/workspace/j")
    assert rc == 1 and "before" in out and "after" not in out and "+ false" in out
    rc, out = ex.run_shell("echo x > /home/jenkins/ro/new", {}, "/home/jenkins/agent/workspace/j")
    assert rc != 0 and "Read-only file system" in out
    rc, out = ex.run_shell("#!/bin/sh\nexit 3\n", {}, "/home/jenkins/agent/workspace/j")
    assert rc == 3 and "+ exit" not in out                 # the #! interpreter, no -x trace
    # kubectl finds no kubeconfig when the node lacks /root/.kube
    bare = [m for m in node["mounts"] if m.mount_path != "/home/jenkins/.kube"]
    rc, out = PodExecutor(bare, {}, node["scratch"]).run_shell("ls -a ~/.kube", {}, "/home/jenkins/agent/workspace/j")
    assert rc != 0 and "No such file or directory" in out


@pytest.mark.skipif(not _unshare_works(), reason="user namespaces unavailable")
def test_executor_rewrites_service_vips_through_the_resolver(node):
    class Resolver:
        def resolve(self, host, port, namespace=None):
            assert (host, port, namespace) == ("10.96.0.1", 443, "kube-ops")
            return "127.0.0.9", 6443
    ex = PodExecutor(node["mounts"], {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"},
                     node["scratch"], resolver=Resolver(), namespace="kube-ops")
    rc, out = ex.run_shell("echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT", {}, "/home/jenkins/agent/workspace/j")
    assert rc == 0 and "127.0.0.9:6443\n" in out


# --------------------------------------------------------------------------------------------- plugin cli


def test_plugin_cli_invocations_and_options():
    argv = ["jenkins-plugin-cli", "--plugin-file", "/p/plugins.txt", "--plugins", "kubernetes:4423.vb_59f230b_ce53",
            "git", "--latest", "false", "-d", "/var/jenkins_home/plugins", "--verbose"]
    [args] = plugin_cli.extract_invocations(argv)
    o = plugin_cli.parse_args(args)
    assert o["plugin_file"] == "/p/plugins.txt" and o["dir"] == "/var/jenkins_home/plugins"
    assert o["plugins"] == ["kubernetes:4423.vb_59f230b_ce53", "git"] and o["latest"] is False and o["verbose"]
    script = "set -e\necho hi && jenkins-plugin-cli --war /usr/share/jenkins/jenkins.war -f /x/plugins.txt\n"
    assert plugin_cli.extract_invocations(["sh", "-c", script]) == [["--war", "/usr/share/jenkins/jenkins.war",
                                                                     "-f", "/x/plugins.txt"]]
    assert plugin_cli.extract_invocations(["sh", "/cfg/apply_config.sh"],
                                          read_file=lambda p: "jenkins-plugin-cli -p a b\n") == [["-p", "a", "b"]]
    pod = {"spec": {"initContainers": [{"name": "i", "image": "jenkins/jenkins:lts", "command": argv}],
                    "containers": [{"name": "c", "image": "jenkins/jenkins:lts"}]}}
    assert plugin_cli.matches("jenkins/jenkins:lts", pod["spec"]["initContainers"][0], pod)
    assert not plugin_cli.matches("jenkins/jenkins:lts", pod["spec"]["containers"][0], pod)
    assert jenkins_controller.matches("jenkins/jenkins:lts", pod["spec"]["containers"][0], pod)
    assert not jenkins_controller.matches("jenkins/jenkins:lts", pod["spec"]["initContainers"][0], pod)


def test_read_plugin_file(tmp_path):
    (tmp_path / "plugins.txt").write_text("# pinned\nkubernetes:4423.vb_59f230b_ce53\n\ngit  # latest\n")
    assert plugin_cli.read_plugin_file(tmp_path / "plugins.txt", "/x/plugins.txt") == [
        "kubernetes:4423.vb_59f230b_ce53", "git"]
    (tmp_path / "plugins.yaml").write_text("plugins:\n- artifactId: git\n  source: {version: '5.0'}\n- artifactId: kubernetes\n")
    assert plugin_cli.read_plugin_file(tmp_path / "plugins.yaml", "/x/plugins.yaml") == ["git:5.0", "kubernetes:latest"]
    with pytest.raises(ValueError, match="does not exist"):
        plugin_cli.read_plugin_file(tmp_path / "nope.txt", "/x/nope.txt")


class FakeCtx:
    def __init__(self, tmp, container, mounts=(), env=None, namespace="ns"):
        self.container = container
        self.mounts = list(mounts)
        self.env = env or {}
        self.state_dir = tmp / "state"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.lines = []
        self.pod_name = "p"
        self.name = container.get("name", "c")
        self.namespace = namespace

    def log(self, text):
        if text is not None:
            self.lines.append(str(text))

    def host_path(self, cpath):
        cpath = "/" + cpath.strip("/")
        for m in sorted(self.mounts, key=lambda m: -len(m.mount_path)):
            mp = "/" + m.mount_path.strip("/")
            if cpath == mp or cpath.startswith(mp + "/"):
                rest = cpath[len(mp):].lstrip("/")
                return Path(m.host_path) / rest if rest else Path(m.host_path)
        return None


def _wait_exit(rc_holder, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        rc = rc_holder.poll()
        if rc is not None:
            return rc
        time.sleep(0.05)
    raise AssertionError("did not exit")


def test_plugin_cli_installs_with_dependencies_into_the_volume(tmp_path):
    home = tmp_path / "pv"
    home.mkdir()
    c = {"name": "install", "image": "jenkins/jenkins:lts",
         "command": ["jenkins-plugin-cli", "-d", "/var/jenkins_home/plugins", "--plugins", "kubernetes"]}
    ctx = FakeCtx(tmp_path, c, [Mount("/var/jenkins_home", home)])
    assert _wait_exit(plugin_cli.start(ctx)) == 0, ctx.lines
    names = {p.stem for p in (home / "plugins").glob("*.jpi")}
    assert {"kubernetes", "kubernetes-client-api"} <= names


@pytest.mark.parametrize("spec, message", [
    ("no-such-plugin", "Unable to find plugin no-such-plugin in update center"),
    ("kubernetes:0.0.1-nope", "Unable to resolve plugin URL https://updates.jenkins.io/download/plugins/kubernetes/0.0.1-nope/kubernetes.hpi"),
])
def test_plugin_cli_fails_like_the_tool(tmp_path, spec, message):
    c = {"name": "install", "image": "jenkins/jenkins:lts",
         "command": ["jenkins-plugin-cli", "-d", "/var/jenkins_home/plugins", "--plugins", spec]}
    ctx = FakeCtx(tmp_path, c, [Mount("/var/jenkins_home", tmp_path)])
    assert _wait_exit(plugin_cli.start(ctx)) == 1
    assert any(message in l for l in ctx.lines), ctx.lines


# --------------------------------------------------------------------------------------------- inbound agent


def test_inbound_agent_matcher():
    pod = {"metadata": {"labels": {"jenkins/label": "x"}}, "spec": {"containers": []}}
    assert inbound_agent.matches("jenkins/inbound-agent:3355.v388858a_47b_33-3-jdk21", {"name": "jnlp"}, pod)
    assert inbound_agent.matches("busybox", {"name": "jnlp"}, pod)                      # pullable, plugin pod
    assert not inbound_agent.matches("busybox", {"name": "jnlp"}, {"metadata": {}})
    assert not inbound_agent.matches("example/unknown-agent:1", {"name": "jnlp"}, pod)   # -> ErrImagePull


def test_inbound_agent_unresolvable_url_retries_with_remoting_messages(tmp_path):
    class Resolver:
        def resolve(self, host, port, namespace=None):
            raise OSError(f"{host}: Name or service not known")

    class Cluster:
        resolver = Resolver()

    env = {"JENKINS_URL": "http://jenkins.nowhere.svc.cluster.local:8080/", "JENKINS_SECRET": "s" * 64,
           "JENKINS_AGENT_NAME": "a-1", "JENKINS_TUNNEL": "jenkins-agent.nowhere.svc.cluster.local:50000"}
    ctx = FakeCtx(tmp_path, {"name": "jnlp"}, env=env)
    ctx.cluster = Cluster()
    agent = inbound_agent.start(ctx)
    try:
        end = time.time() + 5
        while time.time() < end and not any("Waiting 1 second before retry" in l for l in ctx.lines):
            time.sleep(0.05)
        text = "\n".join(ctx.lines)
        assert "INFO: Locating server among [http://jenkins.nowhere.svc.cluster.local:8080/]" in text
        assert ("INFO: Could not locate server among [http://jenkins.nowhere.svc.cluster.local:8080/]: Failed to "
                "connect to http://jenkins.nowhere.svc.cluster.local:8080/tcpSlaveAgentListener/: "
                "jenkins.nowhere.svc.cluster.local: Name or service not known") in text
        assert "hudson.remoting.Launcher$CuiListener status" in text
        assert agent.poll() is None and agent.ready()
    finally:
        agent.stop(1)
    assert agent.poll() == 143


def test_inbound_agent_without_secret_exits(tmp_path):
    ctx = FakeCtx(tmp_path, {"name": "jnlp"}, env={"JENKINS_URL": "http://j/"})
    ctx.cluster = type("C", (), {"resolver": None})()
    assert _wait_exit(inbound_agent.start(ctx)) == 1
    assert "-secret is required" in ctx.lines


# --------------------------------------------------------------------------------------------- controller


def test_reference_files_are_copied_like_jenkins_sh(tmp_path):
    ref, home = tmp_path / "ref", tmp_path / "home"
    (ref / "plugins").mkdir(parents=True)
    (ref / "plugins/git.jpi").write_text("v2")
    (ref / "init.groovy.d").mkdir()
    (ref / "init.groovy.d/a.groovy").write_text("ref")
    (home / "init.groovy.d").mkdir(parents=True)
    (home / "init.groovy.d/a.groovy").write_text("user-edited")
    (home / "plugins").mkdir()
    (home / "plugins/git.jpi").write_text("v1")
    jenkins_controller._copy_reference_files(ref, home)
    assert (home / "plugins/git.jpi").read_text() == "v2"                 # plugin refreshed
    assert (home / "init.groovy.d/a.groovy").read_text() == "user-edited"  # kept unless .override
    assert jenkins_controller._http_port({"JENKINS_OPTS": "--prefix=/j --httpPort=9090"}) == 9090
    assert jenkins_controller._http_port({}) == 8080
