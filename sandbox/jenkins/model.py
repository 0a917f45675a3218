"""Jobs (freestyle), builds, the queue, executors and the built-in node.

Authority: reference §8 (CORE ``hudson/model/Queue.java``, ``AbstractProject.java``, ``Run.java``,
``hudson/tasks/Shell.java``, ``ItemGroupMixIn#createTopLevelItem``).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from .extension import Label, Node
from .stapler import Bean, Prop, time_span

RESULTS = ("SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT", "ABORTED")
UNSAFE = set("?*/\\%!@#$^&|<>[]:;")
LEFT_ITEM_TTL = 300.0   # Queue#leftItems: expireAfterWrite(5 min)


class Failure(Exception):
    """``hudson.model.Failure``: 400 with ``X-Error``."""


def check_good_name(name: str) -> str:
    """``Jenkins#checkGoodName``."""
    name = (name or "").strip()
    if not name:
        raise Failure("No name is specified")
    for c in name:
        if c in UNSAFE:
            raise Failure(f"\u2018{c}\u2019 is an unsafe character")
    if name in (".", ".."):
        raise Failure(f"\u201c{name}\u201d is not an allowed name")
    return name


# ---------------------------------------------------------------------------------------------
# config.xml handling (XStream-like re-serialisation)

FREESTYLE_ORDER = ["actions", "description", "displayName", "keepDependencies", "properties", "scm", "quietPeriod",
                   "assignedNode", "canRoam", "disabled", "blockBuildWhenDownstreamBuilding",
                   "blockBuildWhenUpstreamBuilding", "jdk", "authToken", "triggers", "concurrentBuild",
                   "customWorkspace", "builders", "publishers", "buildWrappers"]
FREESTYLE_DEFAULTS = {"actions": None, "description": "", "keepDependencies": "false", "properties": None,
                      "canRoam": "true", "disabled": "false", "blockBuildWhenDownstreamBuilding": "false",
                      "blockBuildWhenUpstreamBuilding": "false", "triggers": None, "concurrentBuild": "false",
                      "builders": None, "publishers": None, "buildWrappers": None}
PLUGIN_CLASSES = {   # class/element -> plugin that provides it (XStream2 adds plugin="name@version")
    "hudson.plugins.git.GitSCM": "git", "flow-definition": "workflow-job",
    "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition": "workflow-cps",
    "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition": "workflow-cps",
}


def parse_config(xml_bytes: bytes) -> ET.Element:
    try:
        text = xml_bytes.decode("utf-8")
        # XML 1.1 prolog is not understood by expat: normalise to 1.0 for parsing
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
        return ET.fromstring(text)
    except (ET.ParseError, UnicodeDecodeError) as exc:
        raise ValueError(f"Failed to parse XML: {exc}") from None


def normalise_config(root: ET.Element, plugin_version) -> ET.Element:
    """What XStream writes back for an item read from ``root``."""
    if root.tag == "project":
        children = {c.tag: c for c in root}
        new = ET.Element("project")
        for tag in FREESTYLE_ORDER:
            if tag in children:
                el = children[tag]
            elif tag in FREESTYLE_DEFAULTS:
                el = ET.Element(tag)
                if FREESTYLE_DEFAULTS[tag] is not None:
                    el.text = FREESTYLE_DEFAULTS[tag]
            elif tag == "scm":
                el = ET.Element("scm", {"class": "hudson.scm.NullSCM"})
            else:
                continue
            if tag == "description" and not (el.text or "").strip() and tag not in children:
                continue
            new.append(el)
        for c in root:
            if c.tag not in FREESTYLE_ORDER:
                new.append(c)   # RobustReflectionConverter would drop unknown fields; keep them visible
        for b in new.iter("hudson.tasks.Shell"):
            if b.find("configuredLocalRules") is None:
                b.append(ET.Element("configuredLocalRules"))
        root = new
    for el in root.iter():
        cls = el.get("class") or el.tag
        plugin = PLUGIN_CLASSES.get(cls)
        if plugin and plugin_version(plugin):
            el.set("plugin", f"{plugin}@{plugin_version(plugin)}")
        if el.text is not None and not el.text.strip() and len(el) > 0:
            el.text = None
    return root


def serialise_config(root: ET.Element) -> bytes:
    root = _copy(root)
    for el in root.iter():
        if len(el):
            el.text = None
            for c in el:
                c.tail = None
    ET.indent(root, "  ")
    text = ET.tostring(root, encoding="unicode").replace(" />", "/>")   # XStream writes <x/>
    return ("<?xml version='1.1' encoding='UTF-8'?>\n" + text).encode()


def _copy(el):
    return ET.fromstring(ET.tostring(el))


# ---------------------------------------------------------------------------------------------
# jobs


class Job:
    def __init__(self, jenkins, name: str, root: ET.Element):
        self.jenkins = jenkins
        self.name = name
        self.builds: dict[int, Build] = {}
        self.next_build_number = 1
        self.lock = threading.RLock()
        self.set_config(root)

    # -- configuration -------------------------------------------------------------------
    def set_config(self, root: ET.Element):
        self.root = normalise_config(root, self.jenkins.plugin_version)
        r = self.root
        self.kind = "freestyle" if r.tag == "project" else ("pipeline" if r.tag == "flow-definition" else r.tag)
        self.description = r.findtext("description") or ""
        self.disabled = (r.findtext("disabled") or "false").strip() == "true"
        self.concurrent = (r.findtext("concurrentBuild") or "false").strip() == "true"
        can_roam = r.findtext("canRoam")
        assigned = r.findtext("assignedNode")
        self.assigned_node = assigned.strip() if assigned and assigned.strip() else None
        # AbstractProject#getAssignedLabel: canRoam -> any; no assignedNode -> built-in (self label)
        self.can_roam = (can_roam or "true").strip() == "true" if self.kind == "freestyle" else True
        qp = r.findtext("quietPeriod")
        self.quiet_period = int(qp) if qp and qp.strip().lstrip("-").isdigit() else None
        self.builders = []
        b = r.find("builders")
        if b is not None:
            for step in b:
                if step.tag == "hudson.tasks.Shell":
                    ur = step.findtext("unstableReturn")
                    self.builders.append(("shell", step.findtext("command") or "", int(ur) if ur and ur.strip() else None))
                else:
                    self.builders.append(("unknown", step.tag, None))
        self.parameters = []
        for pd in r.iter("parameterDefinitions"):
            for p in pd:
                self.parameters.append({"class": p.tag, "name": p.findtext("name") or "",
                                        "default": p.findtext("defaultValue") or
                                        ((p.find("choices") is not None and (p.find("choices").findtext(".//string") or "")) or ""),
                                        "description": p.findtext("description") or ""})

    def label_expression(self) -> str | None:
        return self.assigned_node if self.kind == "freestyle" else None

    def assigned_label(self) -> Label:
        if self.kind != "freestyle" or self.can_roam:
            return Label(None)
        if self.assigned_node is None:
            return Label("built-in")
        return Label(self.assigned_node)

    @property
    def dir(self) -> Path:
        return self.jenkins.home / "jobs" / self.name

    def config_xml(self) -> bytes:
        return serialise_config(self.root)

    def save(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / ".config.xml.tmp"
        tmp.write_bytes(self.config_xml())
        tmp.replace(self.dir / "config.xml")
        (self.dir / "nextBuildNumber").write_text(f"{self.next_build_number}\n")

    # -- state ---------------------------------------------------------------------------
    @property
    def url(self):
        return f"job/{_url_part(self.name)}/"

    def abs_url(self):
        return self.jenkins.root_url_or_request() + self.url

    def last(self, pred=lambda b: True):
        with self.lock:
            for n in sorted(self.builds, reverse=True):
                if pred(self.builds[n]):
                    return self.builds[n]
        return None

    def building(self):
        return [b for b in list(self.builds.values()) if b.building]

    def color(self) -> str:
        if self.disabled:
            return "disabled"
        last = self.last(lambda b: not b.building)
        base = {"SUCCESS": "blue", "UNSTABLE": "yellow", "FAILURE": "red", "ABORTED": "aborted",
                "NOT_BUILT": "notbuilt"}.get(last.result if last else None, "notbuilt")
        if self.building():
            base += "_anime"
        return base

    def buildable(self) -> bool:
        return not self.disabled

    def export(self, queue_item_bean=None):
        def ref(b):
            return None if b is None else b.ref()
        with self.lock:
            builds = [self.builds[n].ref() for n in sorted(self.builds, reverse=True)]
        cls = "hudson.model.FreeStyleProject" if self.kind == "freestyle" else (
            "org.jenkinsci.plugins.workflow.job.WorkflowJob" if self.kind == "pipeline" else self.kind)
        params_prop = []
        if self.parameters:
            params_prop = [Bean({"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": [
                Bean({"_class": p["class"], "defaultParameterValue": Bean({"_class": p["class"].replace("Definition", "Value"),
                                                                            "name": p["name"], "value": p["default"]}),
                      "description": p["description"], "name": p["name"], "type": p["class"].split(".")[-1]})
                for p in self.parameters]})]
        b = Bean({
            "_class": cls,
            "actions": [Bean({})] if not params_prop else [Bean({"_class": "hudson.model.ParametersDefinitionProperty"})],
            "description": self.description or None,
            "displayName": self.name, "displayNameOrNull": None, "fullDisplayName": self.name, "fullName": self.name,
            "name": Prop(self.name, 999), "url": Prop(self.abs_url(), 999),
            "buildable": self.buildable(),
            "builds": builds,
            "color": Prop(self.color(), 2),
            "firstBuild": ref(self.last(lambda b: True) and self.builds[min(self.builds)]),
            "healthReport": [],
            "inQueue": queue_item_bean is not None,
            "keepDependencies": False,
            "lastBuild": ref(self.last()),
            "lastCompletedBuild": ref(self.last(lambda b: not b.building)),
            "lastFailedBuild": ref(self.last(lambda b: b.result == "FAILURE")),
            "lastStableBuild": ref(self.last(lambda b: b.result == "SUCCESS")),
            "lastSuccessfulBuild": ref(self.last(lambda b: b.result in ("SUCCESS", "UNSTABLE"))),
            "lastUnstableBuild": ref(self.last(lambda b: b.result == "UNSTABLE")),
            "lastUnsuccessfulBuild": ref(self.last(lambda b: b.result not in (None, "SUCCESS"))),
            "nextBuildNumber": self.next_build_number,
            "property": params_prop,
            "queueItem": queue_item_bean,
            "concurrentBuild": self.concurrent,
            "disabled": self.disabled,
            "downstreamProjects": [],
            "labelExpression": self.label_expression(),
            "scm": Bean({"_class": "hudson.scm.NullSCM"}),
            "upstreamProjects": [],
        })
        return b

    # -- persistence ---------------------------------------------------------------------
    @classmethod
    def load(cls, jenkins, dirpath: Path):
        root = parse_config((dirpath / "config.xml").read_bytes())
        job = cls(jenkins, dirpath.name, root)
        nbn = dirpath / "nextBuildNumber"
        if nbn.exists():
            try:
                job.next_build_number = int(nbn.read_text().strip())
            except ValueError:
                pass
        bdir = dirpath / "builds"
        if bdir.is_dir():
            for d in bdir.iterdir():
                if d.is_dir() and d.name.isdigit() and (d / "build.xml").exists():
                    b = Build.load(job, d)
                    job.builds[b.number] = b
                    job.next_build_number = max(job.next_build_number, b.number + 1)
        return job


def _url_part(name: str) -> str:
    from urllib.parse import quote
    return quote(name, safe="")


# ---------------------------------------------------------------------------------------------
# builds


class Build:
    def __init__(self, job: Job, number: int, queue_id: int, causes: list, params: dict):
        self.job = job
        self.number = number
        self.queue_id = queue_id
        self.causes = causes
        self.params = params
        self.timestamp = int(time.time() * 1000)
        self.duration = 0
        self.result: str | None = None
        self.building = True
        self.built_on = ""
        self.executor_number = 0
        self.lock = threading.Lock()
        self.aborted = False
        self.node = None
        self.dir.mkdir(parents=True, exist_ok=True)

    # BuildView protocol
    @property
    def job_name(self):
        return self.job.name

    @property
    def url(self):
        return self.job.abs_url() + f"{self.number}/"

    @property
    def dir(self) -> Path:
        return self.job.dir / "builds" / str(self.number)

    @property
    def log_path(self) -> Path:
        return self.dir / "log"

    def log(self, text: str) -> None:
        if not text.endswith("\n"):
            text += "\n"
        self.write(text)

    def write(self, text: str) -> None:
        with self.lock:
            with open(self.log_path, "ab") as f:
                f.write(text.encode("utf-8", "replace"))

    @property
    def listener(self):
        return self

    def log_bytes(self) -> bytes:
        try:
            return self.log_path.read_bytes()
        except FileNotFoundError:
            return b""

    def ref(self):
        return Bean({"_class": self.build_class(), "number": Prop(self.number, 2), "url": Prop(self.url, 2)})

    def build_class(self):
        return "hudson.model.FreeStyleBuild" if self.job.kind == "freestyle" else "org.jenkinsci.plugins.workflow.job.WorkflowRun"

    def export(self):
        actions = []
        if self.params:
            actions.append(Bean({"_class": "hudson.model.ParametersAction", "parameters": [
                Bean({"_class": "hudson.model.StringParameterValue", "name": k, "value": v}) for k, v in self.params.items()]}))
        actions.append(Bean({"_class": "hudson.model.CauseAction", "causes": [Bean(c) for c in self.causes]}))
        est = self.job.last(lambda b: not b.building and b.result == "SUCCESS")
        return Bean({
            "_class": self.build_class(), "actions": actions, "artifacts": [], "building": self.building,
            "description": None, "displayName": f"#{self.number}", "duration": self.duration,
            "estimatedDuration": est.duration if est else -1,
            "executor": Bean({"_class": "hudson.model.Executor"}) if self.building else None,
            "fullDisplayName": f"{self.job.name} #{self.number}", "id": str(self.number),
            "keepLog": False, "number": self.number, "queueId": self.queue_id, "result": self.result,
            "timestamp": self.timestamp, "url": self.url, "builtOn": self.built_on,
            "changeSet": Bean({"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None}),
            "culprits": [], "inProgress": self.building,
        })

    def save(self):
        r = ET.Element("build")
        for tag, val in (("queueId", self.queue_id), ("timestamp", self.timestamp), ("startTime", self.timestamp),
                         ("result", self.result), ("duration", self.duration), ("builtOn", self.built_on),
                         ("number", self.number)):
            if val is not None:
                ET.SubElement(r, tag).text = str(val)
        acts = ET.SubElement(r, "actions")
        ca = ET.SubElement(acts, "hudson.model.CauseAction")
        for c in self.causes:
            ce = ET.SubElement(ca, "cause", {"class": c["_class"]})
            if c.get("userId"):
                ET.SubElement(ce, "userId").text = c["userId"]
            ET.SubElement(ce, "shortDescription").text = c["shortDescription"]
        if self.params:
            pa = ET.SubElement(acts, "hudson.model.ParametersAction")
            for k, v in self.params.items():
                sp = ET.SubElement(pa, "hudson.model.StringParameterValue")
                ET.SubElement(sp, "name").text = k
                ET.SubElement(sp, "value").text = v
        ET.indent(r, "  ")
        (self.dir / "build.xml").write_text("<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(r, encoding="unicode"))

    @classmethod
    def load(cls, job, d: Path):
        r = parse_config((d / "build.xml").read_bytes())
        causes = []
        for c in r.iter("cause"):
            causes.append({"_class": c.get("class"), "shortDescription": c.findtext("shortDescription") or "",
                           **({"userId": c.findtext("userId")} if c.findtext("userId") else {})})
        params = {}
        for sp in r.iter("hudson.model.StringParameterValue"):
            params[sp.findtext("name")] = sp.findtext("value") or ""
        b = cls.__new__(cls)
        b.job, b.number = job, int(d.name)
        b.queue_id = int(r.findtext("queueId") or 0)
        b.causes, b.params = causes, params
        b.timestamp = int(r.findtext("timestamp") or 0)
        b.duration = int(r.findtext("duration") or 0)
        b.result = r.findtext("result")
        b.building = False
        b.built_on = r.findtext("builtOn") or ""
        b.executor_number = 0
        b.lock = threading.Lock()
        b.aborted = False
        b.node = None
        if b.result is None:
            # the JVM died under a running freestyle build (e.g. /restart): it never completes
            b.result = "ABORTED"
            b.save()
        return b


# ---------------------------------------------------------------------------------------------
# built-in node executor


class LocalExecutor:
    """Runs shell steps on the controller host (the built-in node): ``sh -xe`` in the workspace."""

    def __init__(self, base_env: dict):
        self.base_env = base_env
        self.procs: dict[int, subprocess.Popen] = {}

    def run_shell(self, script, env, workspace, listener=None):
        Path(workspace).mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix="jenkins", suffix=".sh")
        with os.fdopen(fd, "w") as f:
            f.write(script)
        try:
            if script.startswith("#!"):
                # Shell#buildCommandLine: the shebang line is the interpreter + args
                argv = script.splitlines()[0][2:].strip().split() + [path]
            else:
                argv = ["/bin/sh", "-xe", path]
            full_env = {**self.base_env, **env}
            proc = subprocess.Popen(argv, cwd=workspace, env=full_env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            self.procs[proc.pid] = proc
            out = []
            for chunk in iter(lambda: proc.stdout.readline(), b""):
                text = chunk.decode("utf-8", "replace")
                if listener is not None:
                    listener.write(text)
                else:
                    out.append(text)
            rc = proc.wait()
            self.procs.pop(proc.pid, None)
            return rc, (None if listener is not None else "".join(out))
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass


class BuiltInNode(Node):
    node_class = "hudson.model.Hudson"
    computer_class = "hudson.model.Hudson$MasterComputer"
    jnlp_agent = False
    launch_supported = True
    manual_launch_allowed = True

    def __init__(self, jenkins):
        super().__init__("", [], 2, LocalExecutor(jenkins.process_env()), "the Jenkins controller's built-in node",
                         remote_fs=str(jenkins.home))
        self.online = True

    @property
    def all_labels(self):
        return list(dict.fromkeys(self.labels + ["built-in"]))


# ---------------------------------------------------------------------------------------------
# queue


class QueueItem:
    def __init__(self, qid: int, job: Job, due: float, causes: list, params: dict):
        self.id = qid
        self.job = job
        self.in_queue_since = int(time.time() * 1000)
        self.timestamp = due           # WaitingItem#timestamp (when the quiet period ends)
        self.state = "waiting"         # waiting | blocked | buildable | left
        self.causes = causes
        self.params = params
        self.why: str | None = None
        self.stuck = False
        self.buildable_since: float | None = None
        self.cancelled = False
        self.build: Build | None = None
        self.left_at: float | None = None

    CLASSES = {"waiting": "hudson.model.Queue$WaitingItem", "blocked": "hudson.model.Queue$BlockedItem",
               "buildable": "hudson.model.Queue$BuildableItem", "left": "hudson.model.Queue$LeftItem"}

    def export(self, jenkins):
        job = self.job
        params = "".join(f"\n{k}={v}" for k, v in self.params.items())
        b = Bean({
            "_class": self.CLASSES[self.state],
            "actions": Prop([Bean({"_class": "hudson.model.CauseAction",
                                   "causes": Prop([Bean({k: Prop(v, 999) for k, v in c.items()}) for c in self.causes], 999)})], 999),
            "blocked": Prop(self.state == "blocked", 999),
            "buildable": Prop(self.state == "buildable", 999),
            "id": Prop(self.id, 999),
            "inQueueSince": Prop(self.in_queue_since, 999),
            "params": Prop(params, 999),
            "stuck": Prop(self.stuck if self.state == "buildable" else False, 999),
            "task": Prop(Bean({"_class": "hudson.model.FreeStyleProject" if job.kind == "freestyle" else
                               "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                               "name": Prop(job.name, 999), "url": Prop(job.abs_url(), 999),
                               "color": Prop(job.color(), 2)}), 999),
            "url": Prop(f"queue/item/{self.id}/", 999),
            "why": Prop(None if self.state == "left" else self.why, 999),
        })
        if self.state == "waiting":
            b["timestamp"] = Prop(int(self.timestamp * 1000), 999)
        if self.state == "buildable":
            b["buildableStartMilliseconds"] = Prop(int((self.buildable_since or time.time()) * 1000), 999)
            b["pending"] = Prop(False, 999)
        if self.state == "left":
            b["cancelled"] = Prop(self.cancelled, 999)
            b["executable"] = Prop(None if self.build is None else self.build.ref(), 999)
        return b


def node_offline_reason(node):
    return node.offline_cause
