"""Runtime for init containers of a ``jenkins/jenkins`` image that run ``jenkins-plugin-cli``.

The official image ships ``jenkins-plugin-cli`` (jenkinsci/plugin-installation-manager-tool); the
Helm chart's init container runs it (``apply_config.sh``: ``jenkins-plugin-cli --war … --plugin-file
… [--latest …]``).  Options honoured (tool README "CLI Options"):

* ``--plugin-file/-f FILE`` (``.txt``: one ``name[:version]`` per line, ``#`` comments; ``.yaml``/
  ``.yml``: ``plugins: [{artifactId, source: {version}}]``), ``--plugins/-p a:1.0 b:latest …``
  (space separated, up to the next option), ``--plugin-download-directory/-d DIR`` (else env
  ``PLUGIN_DIR``, else ``/usr/share/jenkins/ref/plugins``), ``--latest true|false`` (default true),
  ``--latest-specified``, ``--verbose``; ``--war``, ``--jenkins-version``, ``--view-*``,
  ``--skip-failed-plugins``, ``--clean-download-directory``, ``--no-download``, ``--list`` are parsed
  (the last three acted on).
* Resolution with dependencies from the core's catalog (``sandbox.jenkins.plugins.plugin_cli_install``);
  an unknown plugin or version exits 1 with the tool's message -> the kubelet shows
  ``Init:Error`` then ``Init:CrashLoopBackOff``.

Container paths are mapped to the host directories of the container's volume mounts; a download
directory that is not on a volume lives in the container's own (ephemeral) filesystem.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
import threading
from pathlib import Path

import yaml

from sandbox.k8s import images
from sandbox.k8s.runtime import RunningContainer

DEFAULT_PLUGIN_DIR = "/usr/share/jenkins/ref/plugins"
_FLAGS_WITH_VALUE = {"--plugin-file", "-f", "--plugin-download-directory", "-d", "--war", "-w",
                     "--latest", "--jenkins-version", "--jenkins-update-center", "--jenkins-experimental-update-center",
                     "--jenkins-incrementals-repo-mirror", "--jenkins-plugin-info", "--credentials", "--output", "-o"}


def _argv(container):
    return [str(x) for x in (container.get("command") or []) + (container.get("args") or [])]


def _is_init(container, pod):
    return any(c is container or c == container for c in (pod.get("spec") or {}).get("initContainers") or [])


def matches(image, container, pod):
    return (images.normalise(image)[0] == "jenkins/jenkins" and _is_init(container, pod)
            and "jenkins-plugin-cli" in " ".join(_argv(container)))


def extract_invocations(argv, read_file=None):
    """The jenkins-plugin-cli argument lists in a container command: a direct call, or calls in a
    ``sh -c '<script>'`` / ``sh <script file>`` (read through ``read_file``)."""
    if argv and Path(argv[0]).name == "jenkins-plugin-cli":
        return [argv[1:]]
    script = None
    if argv and Path(argv[0]).name in ("sh", "bash", "/bin/sh", "/bin/bash"):
        rest = argv[1:]
        if "-c" in rest:
            i = rest.index("-c")
            script = rest[i + 1] if i + 1 < len(rest) else ""
        elif rest and read_file is not None:
            script = read_file(rest[0])
    if script is None:
        return []
    out = []
    for line in script.replace("\\\n", " ").splitlines():
        for part in line.split("&&"):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            for j, w in enumerate(words):
                if Path(w).name == "jenkins-plugin-cli":
                    out.append(words[j + 1:])
                    break
    return out


def parse_args(args):
    opts = {"plugin_file": None, "plugins": [], "dir": None, "latest": True, "latest_specified": False,
            "list": False, "no_download": False, "clean": False, "verbose": False}
    i = 0
    while i < len(args):
        a = args[i]
        key, _, inline = a.partition("=") if a.startswith("--") else (a, "", "")
        if key in ("--plugins", "-p"):
            i += 1
            while i < len(args) and not args[i].startswith("-"):
                opts["plugins"].extend(args[i].split())
                i += 1
            continue
        if key in _FLAGS_WITH_VALUE:
            val = inline or (args[i + 1] if i + 1 < len(args) else "")
            i += 1 if inline else 2
            if key in ("--plugin-file", "-f"):
                opts["plugin_file"] = val
            elif key in ("--plugin-download-directory", "-d"):
                opts["dir"] = val
            elif key == "--latest":
                opts["latest"] = val.strip().lower() != "false"
            continue
        if key == "--latest-specified":
            opts["latest_specified"] = True
        elif key in ("--list", "-l"):
            opts["list"] = True
        elif key == "--no-download":
            opts["no_download"] = True
        elif key == "--clean-download-directory":
            opts["clean"] = True
        elif key == "--verbose":
            opts["verbose"] = True
        i += 1
    return opts


def read_plugin_file(path: Path, shown: str):
    if not path.exists():
        raise ValueError(f"File {shown} does not exist")
    text = path.read_text()
    if shown.endswith((".yaml", ".yml")):
        doc = yaml.safe_load(text) or {}
        specs = []
        for p in doc.get("plugins") or []:
            ver = ((p.get("source") or {}).get("version")) or "latest"
            specs.append(f"{p.get('artifactId')}:{ver}")
        return specs
    if not shown.endswith(".txt"):
        raise ValueError(f"File {shown} must be .txt or .yaml/.yml")
    specs = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            specs.append(line)
    return specs


class PluginCliContainer(RunningContainer):
    def __init__(self, ctx):
        self.ctx = ctx
        self._exit = None
        threading.Thread(target=self._run, name=f"jenkins-plugin-cli {ctx.pod_name}", daemon=True).start()

    def _map(self, container_path):
        p = self.ctx.host_path(container_path)
        if p is None:   # not on a volume: the container's own filesystem (gone when it exits)
            p = self.ctx.state_dir / "rootfs" / str(container_path).lstrip("/")
        return Path(p)

    def _read(self, container_path):
        try:
            return self._map(container_path).read_text()
        except OSError:
            return None

    def _run(self):
        from sandbox.jenkins import plugins as core_plugins
        ctx = self.ctx
        try:
            invocations = extract_invocations(_argv(ctx.container), self._read)
            for args in invocations:
                opts = parse_args(args)
                specs = list(opts["plugins"])
                if opts["plugin_file"]:
                    specs = read_plugin_file(self._map(opts["plugin_file"]), opts["plugin_file"]) + specs
                target = opts["dir"] or ctx.env.get("PLUGIN_DIR") or DEFAULT_PLUGIN_DIR
                tdir = self._map(target)
                if opts["list"]:
                    for p in sorted(tdir.glob("*.jpi")) if tdir.exists() else []:
                        ctx.log(p.stem)
                if opts["no_download"]:
                    continue
                if opts["clean"] and tdir.exists():
                    for p in tdir.iterdir():
                        if p.is_file():
                            p.unlink()
                with tempfile.TemporaryDirectory(dir=ctx.state_dir) as tmp:
                    core_plugins.plugin_cli_install(Path(tmp), specs, latest=opts["latest"],
                                                    latest_specified=opts["latest_specified"],
                                                    log=lambda m: ctx.log(m) if opts["verbose"] else None)
                    tdir.mkdir(parents=True, exist_ok=True)
                    for f in sorted((Path(tmp) / "plugins").glob("*.jpi")):
                        shutil.copyfile(f, tdir / f.name)
                        ctx.log(f"Downloaded {f.stem} to {target.rstrip('/')}/{f.name}" if opts["verbose"] else None)
                ctx.log("Done")
            self._exit = 0
        except core_plugins.PluginCliError as exc:
            ctx.log(str(exc))
            self._exit = 1
        except ValueError as exc:
            ctx.log(str(exc))
            self._exit = 1
        except Exception as exc:  # noqa: BLE001
            ctx.log(f"Exception in thread \"main\" {type(exc).__name__}: {exc}")
            self._exit = 1

    def poll(self):
        return self._exit

    def ready(self):
        return False

    def stop(self, grace_seconds):
        if self._exit is None:
            self._exit = 143


def start(ctx):
    return PluginCliContainer(ctx)
