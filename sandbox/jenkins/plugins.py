"""Plugins: the local catalog (update-center stand-in), the plugin manager and update-center jobs.

On disk a plugin is ``JENKINS_HOME/plugins/<name>.jpi`` — here a text file in MANIFEST.MF
syntax (``Short-Name``, ``Plugin-Version``, ``Plugin-Dependencies``, ``Jenkins-Version``), not a
zip: no code is in it.  ``<name>.jpi.disabled`` disables it (``PluginWrapper#isEnabled``), as in
real Jenkins.  What is *loaded* is decided at boot; an upgrade written to disk while running only
becomes active after a restart (``UpdateCenter.DownloadJob`` -> ``SuccessButRequiresRestart``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LOG = logging.getLogger("sandbox.jenkins.plugins")
CATALOG_PATH = Path(__file__).with_name("catalog") / "plugins.json"
_catalog_cache = None


def catalog() -> dict:
    global _catalog_cache
    if _catalog_cache is None:
        _catalog_cache = json.loads(CATALOG_PATH.read_text())
    return _catalog_cache


def core_version() -> str:
    return catalog()["core"]["version"]


# --------------------------------------------------------------------------------------------
# versions (hudson.util.VersionNumber, simplified: numeric parts compare numerically,
# qualifiers like "v612369217f87" compare as strings)


def version_key(v: str):
    parts = re.split(r"[.\-]", v)
    out = []
    for p in parts:
        if p.isdigit():
            out.append((1, int(p), ""))
        else:
            out.append((0, 0, p))
    return out


def version_ge(a: str, b: str) -> bool:
    return version_key(a) >= version_key(b)


def catalog_versions(name: str) -> list[dict]:
    p = catalog()["plugins"].get(name)
    return list(p["versions"]) if p else []


def catalog_latest(name: str) -> dict | None:
    vs = catalog_versions(name)
    return max(vs, key=lambda v: version_key(v["version"])) if vs else None


def catalog_version(name: str, version: str) -> dict | None:
    for v in catalog_versions(name):
        if v["version"] == version:
            return v
    return None


# --------------------------------------------------------------------------------------------
# on-disk manifests


def write_manifest(plugins_dir: Path, name: str, release: dict) -> None:
    plugins_dir.mkdir(parents=True, exist_ok=True)
    deps = ",".join(f"{d['name']}:{d['version']}" + (";resolution:=optional" if d.get("optional") else "")
                    for d in release.get("dependencies", []))
    meta = catalog()["plugins"].get(name, {})
    text = (f"Manifest-Version: 1.0\nShort-Name: {name}\nLong-Name: {meta.get('title', name)}\n"
            f"Plugin-Version: {release['version']}\nJenkins-Version: {release.get('requiredCore', '')}\n"
            f"Url: {meta.get('url', '')}\nPlugin-Dependencies: {deps}\n"
            f"Sandbox-Supports-Dynamic-Load: {meta.get('supportsDynamicLoad', 'MAYBE')}\n")
    tmp = plugins_dir / f".{name}.jpi.tmp"
    tmp.write_text(text)
    tmp.replace(plugins_dir / f"{name}.jpi")


def read_manifest(path: Path) -> dict:
    data = {}
    for line in path.read_text().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            data[k.strip()] = v.strip()
    deps = []
    for item in filter(None, data.get("Plugin-Dependencies", "").split(",")):
        optional = ";resolution:=optional" in item
        n, _, ver = item.split(";")[0].partition(":")
        deps.append({"shortName": n, "version": ver, "optional": optional})
    return {"shortName": data.get("Short-Name", path.stem), "longName": data.get("Long-Name", path.stem),
            "version": data.get("Plugin-Version", ""), "requiredCoreVersion": data.get("Jenkins-Version") or None,
            "url": data.get("Url") or None, "dependencies": deps,
            "supportsDynamicLoad": data.get("Sandbox-Supports-Dynamic-Load", "MAYBE")}


class PluginCliError(Exception):
    """Failure of the jenkins-plugin-cli stand-in (message as the real tool prints it)."""


def plugin_cli_install(home: Path, specs: list[str], latest: bool = True, latest_specified: bool = False,
                       log=print) -> list[tuple[str, str]]:
    """Install plugins into ``home/plugins`` from the catalog as ``jenkins-plugin-cli`` would.

    ``specs``: ``name``, ``name:version`` or ``name:latest``.  Dependencies are resolved
    transitively; with ``latest`` (chart ``installLatestPlugins: true``) the latest catalog
    version of each dependency is taken, else the minimum required one.  Unknown plugin or
    version -> ``PluginCliError`` (the real tool exits non-zero).  Returns what was written.
    """
    wanted: dict[str, str] = {}
    pinned: set[str] = set()
    for spec in specs:
        spec = spec.strip()
        if not spec or spec.startswith("#"):
            continue
        name, _, ver = spec.partition(":")
        if name not in catalog()["plugins"]:
            raise PluginCliError(f"Unable to find plugin {name} in update center")
        if not ver or ver == "latest":
            ver = catalog_latest(name)["version"]
        elif catalog_version(name, ver) is None:
            raise PluginCliError(
                f"Unable to resolve plugin URL https://updates.jenkins.io/download/plugins/{name}/{ver}/{name}.hpi, "
                f"or download plugin {name} to file: status code: 404, reason phrase: Not Found")
        wanted[name] = ver
        pinned.add(name)
    queue = list(wanted)
    while queue:
        name = queue.pop()
        rel = catalog_version(name, wanted[name])
        for d in rel.get("dependencies", []):
            if d.get("optional"):
                continue
            dn = d["name"]
            if dn not in catalog()["plugins"]:
                raise PluginCliError(f"Unable to find dependency {dn} of {name} in update center")
            dv = catalog_latest(dn)["version"] if latest else d["version"]
            if dn in wanted:
                if dn in pinned and not version_ge(wanted[dn], d["version"]):
                    raise PluginCliError(
                        f"Plugin {name}:{wanted[name]} depends on {dn}:{d['version']}, but there is an older "
                        f"version defined on the top level - {dn}:{wanted[dn]}")
                if not version_ge(wanted[dn], dv):
                    wanted[dn] = dv
                    queue.append(dn)
                continue
            wanted[dn] = dv
            queue.append(dn)
    out = []
    pdir = Path(home) / "plugins"
    for name, ver in sorted(wanted.items()):
        write_manifest(pdir, name, catalog_version(name, ver))
        log(f"Installed {name}:{ver}")
        out.append((name, ver))
    return out


# --------------------------------------------------------------------------------------------
# plugin manager


@dataclass
class PluginWrapper:
    shortName: str
    longName: str
    version: str
    requiredCoreVersion: str | None
    url: str | None
    dependencies: list
    supportsDynamicLoad: str
    enabled: bool = True
    active: bool = False
    deleted: bool = False
    load_error: str | None = None
    backupVersion: str | None = None

    def export(self, has_update: bool):
        from .stapler import Bean, Prop
        deps = [Bean({"optional": d["optional"], "shortName": d["shortName"], "version": d["version"]})
                for d in self.dependencies]
        return Bean({
            "active": self.active, "backupVersion": self.backupVersion, "bundled": False, "deleted": self.deleted,
            "dependencies": deps, "detached": False, "downgradable": self.backupVersion is not None,
            "enabled": self.enabled, "hasUpdate": has_update, "longName": self.longName, "pinned": False,
            "requiredCoreVersion": self.requiredCoreVersion, "shortName": self.shortName,
            "supportsDynamicLoad": self.supportsDynamicLoad, "url": self.url, "version": self.version,
        })


class PluginManager:
    def __init__(self, home: Path, log=None):
        self.home = Path(home)
        self.dir = self.home / "plugins"
        self.plugins: dict[str, PluginWrapper] = {}
        self.lock = threading.RLock()
        self.log = log or (lambda msg: LOG.info(msg))

    def load(self) -> None:
        """Boot-time load (``PluginManager#initTasks``): read every .jpi, resolve dependencies."""
        self.plugins = {}
        if not self.dir.is_dir():
            return
        for path in sorted(self.dir.glob("*.jpi")) + sorted(self.dir.glob("*.hpi")):
            m = read_manifest(path)
            pw = PluginWrapper(m["shortName"], m["longName"], m["version"], m["requiredCoreVersion"], m["url"],
                               m["dependencies"], m["supportsDynamicLoad"])
            pw.enabled = not Path(str(path) + ".disabled").exists()
            self.plugins[pw.shortName] = pw
        # resolve: a plugin is active if enabled and every mandatory dependency is active and new enough
        changed = True
        for pw in self.plugins.values():
            pw.active = pw.enabled
        while changed:
            changed = False
            for pw in self.plugins.values():
                if not pw.active:
                    continue
                for d in pw.dependencies:
                    if d["optional"]:
                        continue
                    dep = self.plugins.get(d["shortName"])
                    err = None
                    if dep is None:
                        err = f"Plugin is missing: {d['shortName']} ({d['version']})"
                    elif not dep.enabled:
                        err = f"Plugin is disabled: {d['shortName']} ({d['version']})"
                    elif not version_ge(dep.version, d["version"]):
                        err = f"Update required: {dep.longName} ({d['shortName']} {d['version']}) to be updated to {d['version']} or higher"
                    elif not dep.active:
                        err = f"Failed to load: {dep.longName} ({d['shortName']} {dep.version})"
                    if err:
                        pw.active = False
                        pw.load_error = f"Failed to load: {pw.longName} ({pw.shortName} {pw.version})\n - {err}"
                        self.log(pw.load_error)
                        changed = True
                        break

    def is_active(self, name: str | None) -> bool:
        if name is None:
            return True
        with self.lock:
            pw = self.plugins.get(name)
            return bool(pw and pw.active)

    def get(self, name: str) -> PluginWrapper | None:
        with self.lock:
            return self.plugins.get(name)

    def disk_version(self, name: str) -> str | None:
        p = self.dir / f"{name}.jpi"
        if p.exists():
            return read_manifest(p)["version"]
        return None

    def export(self):
        from .stapler import Bean, Prop
        with self.lock:
            items = []
            for pw in sorted(self.plugins.values(), key=lambda p: p.shortName):
                latest = catalog_latest(pw.shortName)
                has_update = bool(latest and not version_ge(pw.version, latest["version"]))
                items.append(pw.export(has_update))
        return Bean({"_class": "hudson.LocalPluginManager", "plugins": items})


# --------------------------------------------------------------------------------------------
# update center


STATUS_CLASS = "hudson.model.UpdateCenter$DownloadJob$"


@dataclass
class UpdateCenterJob:
    id: int
    type: str
    name: str | None = None
    version: str | None = None
    status: str = "Pending"
    error: str | None = None
    dynamic_load: bool = True
    correlation_id: str | None = None
    created: float = field(default_factory=time.time)

    def export(self):
        from .stapler import Bean, Prop
        cls = {"InstallationJob": "hudson.model.UpdateCenter$InstallationJob",
               "ConnectionCheckJob": "hudson.model.UpdateCenter$ConnectionCheckJob",
               "RestartJenkinsJob": "hudson.model.UpdateCenter$RestartJenkinsJob"}[self.type]
        b = Bean({"_class": cls, "errorMessage": self.error, "id": self.id, "type": self.type})
        if self.type == "InstallationJob":
            b["name"] = self.name
            # DownloadJob#getStatus is @Exported(inline = true): its fields count as one level
            b["status"] = Prop(Bean({"_class": STATUS_CLASS + self.status,
                                     "success": self.status in ("Success", "SuccessButRequiresRestart", "Skipped"),
                                     "type": self.status}), inline=True)
            b["plugin"] = Bean({"name": self.name, "version": self.version,
                                "title": catalog()["plugins"].get(self.name, {}).get("title", self.name)})
        if self.type == "ConnectionCheckJob":
            b["connectionStates"] = {"updatesite": "OK", "internet": "OK"}
        return b


class UpdateCenter:
    """``hudson.model.UpdateCenter``: one installer thread working jobs in order."""

    INSTALL_SECONDS = 0.3

    def __init__(self, jenkins):
        self.jenkins = jenkins
        self.pm: PluginManager = jenkins.plugin_manager
        self.jobs: list[UpdateCenterJob] = []
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.restart_required = False
        self._iota = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="UpdateCenter installer", daemon=True)
        self._thread.start()

    def stop(self):
        with self.cond:
            self._stopped = True
            self.cond.notify_all()

    def _new_id(self):
        self._iota += 1
        return self._iota

    def _add(self, job: UpdateCenterJob):
        with self.cond:
            # UpdateCenter#addJob: a ConnectionCheckJob for the site precedes the first install
            if job.type == "InstallationJob" and not any(j.type == "ConnectionCheckJob" for j in self.jobs):
                self.jobs.append(UpdateCenterJob(self._new_id(), "ConnectionCheckJob", status="Success"))
            job.id = self._new_id()
            self.jobs.append(job)
            self.cond.notify_all()

    def install_necessary(self, requests: list[tuple[str, str]]) -> list[str]:
        """``PluginManager#prevalidateConfig`` + deploy; returns warnings (server log only)."""
        warnings = []
        for name, min_version in requests:
            latest = catalog_latest(name)
            if latest is None:
                warnings.append(f"No such plugin {name} to install")
                continue
            installed = self.pm.disk_version(name)
            if installed and version_ge(installed, min_version):
                continue  # installed and new enough: nothing to do
            if not version_ge(latest["version"], min_version):
                warnings.append(f"Jenkins knows of plugin {name} but only version {latest['version']} "
                                f"which is older than the requested {min_version}")
                continue
            self.deploy(name, latest["version"], set())
        for w in warnings:
            self.jenkins.log(f"WARNING\thudson.PluginManager#prevalidateConfig: {w}")
        return warnings

    def deploy(self, name: str, version: str, seen: set) -> None:
        """``UpdateSite.Plugin#deploy``: dependencies first (the update site's current releases)."""
        if name in seen:
            return
        seen.add(name)
        rel = catalog_version(name, version)
        for d in rel.get("dependencies", []):
            if d.get("optional"):
                continue
            cur = self.pm.disk_version(d["name"])
            if cur is None or not version_ge(cur, d["version"]):
                dl = catalog_latest(d["name"])
                if dl is None:
                    self._add(UpdateCenterJob(0, "InstallationJob", d["name"], d["version"], status="Failure",
                                              error=f"Failed to resolve dependency {d['name']} of {name}"))
                    continue
                self.deploy(d["name"], dl["version"], seen)
        self._add(UpdateCenterJob(0, "InstallationJob", name, version))

    def _run(self):
        while True:
            with self.cond:
                while not self._stopped and not any(j.status == "Pending" for j in self.jobs):
                    self.cond.wait(0.5)
                if self._stopped:
                    return
                job = next(j for j in self.jobs if j.status == "Pending")
                job.status = "Installing"
            time.sleep(self.INSTALL_SECONDS)
            try:
                status, error = self._install(job)
            except Exception as exc:  # pragma: no cover - defensive
                status, error = "Failure", str(exc)
            with self.cond:
                job.status = status
                job.error = error
                if status == "SuccessButRequiresRestart":
                    self.restart_required = True
                self.cond.notify_all()

    def _install(self, job: UpdateCenterJob):
        name, version = job.name, job.version
        fail = self.jenkins.sysprops.get("sandbox.failPluginDownload", "")
        if name in [x.strip() for x in fail.split(",") if x.strip()]:
            url = f"https://updates.jenkins.io/download/plugins/{name}/{version}/{name}.hpi"
            return "Failure", f"Failed to download from {url}"
        current = self.pm.disk_version(name)
        if current == version:
            # InstallationJob#_run: "Skipping duplicate install"
            return "Skipped", None
        rel = catalog_version(name, version)
        loaded = self.pm.get(name)
        write_manifest(self.pm.dir, name, rel)
        if loaded is not None and loaded.active:
            # upgrade of a loaded plugin: RestartRequiredException -> SuccessButRequiresRestart
            # ("Downloaded Successfully. Will be activated during the next boot")
            return "SuccessButRequiresRestart", None
        # dynamic load (PluginManager#dynamicLoad): needs every mandatory dependency active now
        meta = catalog()["plugins"].get(name, {})
        deps_active = all(d.get("optional") or self.pm.is_active(d["name"]) for d in rel.get("dependencies", []))
        if meta.get("supportsDynamicLoad", "MAYBE") == "NO" or not deps_active or loaded is not None:
            return "SuccessButRequiresRestart", None
        m = read_manifest(self.pm.dir / f"{name}.jpi")
        with self.pm.lock:
            self.pm.plugins[name] = PluginWrapper(m["shortName"], m["longName"], m["version"], m["requiredCoreVersion"],
                                                  m["url"], m["dependencies"], m["supportsDynamicLoad"], active=True)
        self.jenkins.on_plugin_loaded(name)
        return "Success", None

    def export(self):
        from .stapler import Bean
        with self.lock:
            jobs = [j.export() for j in self.jobs]
            restart = self.restart_required
        return Bean({"_class": "hudson.model.UpdateCenter", "availables": [], "jobs": jobs,
                     "restartRequiredForCompletion": restart,
                     "sites": [Bean({"_class": "hudson.model.UpdateSite", "connectionCheckUrl": "https://www.google.com/",
                                     "dataTimestamp": 0, "hasUpdates": False, "id": "default", "suggestedPluginsUrl": None,
                                     "updates": [], "url": "https://updates.jenkins.io/update-center.json"})]})
