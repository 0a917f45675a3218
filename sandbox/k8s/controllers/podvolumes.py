"""Pod volumes as the kubelet's volume manager sets them up, on real directories.

Layout under the node's root directory (a real kubelet uses the same paths):
``<node root>/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~<plugin>/<volume>`` and
``.../volume-subpaths/<volume>/<container>/<index>`` for subPath mounts of atomic-writer volumes.

* hostPath: ``<node root>/<path>``; ``type`` checks as pkg/volume/hostpath/host_path.go
  (checkType / hostPathTypeChecker) with its messages; type "" performs no check and, as
  docker/containerd do for a missing bind source, the runtime creates an empty directory.
* emptyDir: a per-pod directory, removed with the pod (pkg/volume/emptydir/empty_dir.go).
* persistentVolumeClaim: the bound PV's directory (volumes.pv_host_dir).
* configMap / secret / downwardAPI / projected: written with the kubelet's AtomicWriter
  (pkg/volume/util/atomic_writer.go): payload in a timestamped ``..<ts>`` directory, a ``..data``
  symlink swapped atomically by rename, and one visible symlink per top-level key
  (``key -> ..data/key``). Keys/items/defaultMode/mode/optional as pkg/volume/configmap/configmap.go
  MakePayload and pkg/volume/secret/secret.go; projected sources as pkg/volume/projected/projected.go.
"""

import base64
import datetime
import logging
import os
import random
import shutil
import stat
from pathlib import Path

from sandbox.k8s.controllers.envvars import EnvError, field_value, resource_value
from sandbox.k8s.controllers.util import get_path

log = logging.getLogger("sandbox.k8s.kubelet")

ATOMIC_KINDS = ("configMap", "secret", "downwardAPI", "projected")
PLUGIN_DIRS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "projected": "kubernetes.io~projected",
    "downwardAPI": "kubernetes.io~downward-api",
}


class MountError(Exception):
    """FailedMount: message as the kubelet's event shows after 'MountVolume.SetUp failed for
    volume "<name>" : '."""


class NotReadyError(Exception):
    """The volume cannot be set up yet (e.g. PVC not bound); the kubelet retries."""


def node_path(node_root, path):
    """A path on the node -> the real path inside the node's root directory."""
    return Path(node_root) / str(path).lstrip("/")


def pod_dir(node_root, uid):
    return Path(node_root) / "var/lib/kubelet/pods" / uid


# -- hostPath type checks ------------------------------------------------------------------

def check_host_path(real, spec_path, htype):
    """Returns None or raises MountError with host_path.go's message."""
    htype = htype or ""
    p = Path(real)
    if htype == "":
        return
    if htype == "DirectoryOrCreate":
        if p.exists() and not p.is_dir():
            raise MountError(f"hostPath type check failed: {spec_path} is not a directory")
        p.mkdir(parents=True, exist_ok=True)
        os.chmod(p, 0o755)
        return
    if htype == "Directory":
        if not p.is_dir():
            raise MountError(f"hostPath type check failed: {spec_path} is not a directory")
        return
    if htype == "FileOrCreate":
        if p.exists():
            if p.is_dir():
                raise MountError(f"hostPath type check failed: {spec_path} is not a file")
            return
        if not p.parent.is_dir():
            # host_path.go: FileOrCreate does not create the parent directory
            raise MountError(f"open {spec_path}: no such file or directory")
        p.touch(mode=0o644)
        return
    if htype == "File":
        if not p.is_file():
            raise MountError(f"hostPath type check failed: {spec_path} is not a file")
        return
    if htype == "Socket":
        if not (p.exists() and stat.S_ISSOCK(p.stat().st_mode)):
            raise MountError(f"hostPath type check failed: {spec_path} is not a socket file")
        return
    if htype == "CharDevice":
        if not (p.exists() and stat.S_ISCHR(p.stat().st_mode)):
            raise MountError(f"hostPath type check failed: {spec_path} is not a character device")
        return
    if htype == "BlockDevice":
        if not (p.exists() and stat.S_ISBLK(p.stat().st_mode)):
            raise MountError(f"hostPath type check failed: {spec_path} is not a block device")
        return
    raise MountError(f"hostPath type check failed: unsupported type {htype}")


# -- atomic writer ---------------------------------------------------------------------------

def _ts_dir_name():
    # atomic_writer.go newTimestampDir: os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("..%Y_%m_%d_%H_%M_%S.") + str(random.randint(10**8, 10**10 - 1))


def read_payload(target):
    """The payload currently visible through ..data (relpath -> (bytes, mode))."""
    data_dir = Path(target) / "..data"
    out = {}
    if not data_dir.exists():
        return None
    base = data_dir.resolve()
    for root, _dirs, files in os.walk(base):
        for f in files:
            full = Path(root) / f
            rel = str(full.relative_to(base))
            out[rel] = (full.read_bytes(), stat.S_IMODE(full.stat().st_mode))
    return out


def write_payload(target, payload):
    """AtomicWriter.Write: returns True when the visible content changed."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    current = read_payload(target)
    if current == payload:
        return False
    old_ts = None
    data_link = target / "..data"
    if data_link.is_symlink():
        old_ts = os.readlink(data_link)
    ts_name = _ts_dir_name()
    ts_dir = target / ts_name
    ts_dir.mkdir(mode=0o755)
    for rel, (content, mode) in payload.items():
        path = ts_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.chmod(path, mode)
    tmp = target / "..data_tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(ts_name, tmp)
    os.rename(tmp, data_link)
    # visible symlinks for the top-level path components
    top = {rel.split("/", 1)[0] for rel in payload}
    for name in top:
        link = target / name
        if not link.is_symlink():
            if link.exists():
                if link.is_dir():
                    shutil.rmtree(link)
                else:
                    link.unlink()
            os.symlink(os.path.join("..data", name), link)
    for entry in os.listdir(target):
        if entry.startswith(".."):
            continue
        if entry not in top:
            p = target / entry
            if p.is_symlink() or p.is_file():
                p.unlink()
            elif p.is_dir():
                shutil.rmtree(p)
    if old_ts and old_ts != ts_name:
        shutil.rmtree(target / old_ts, ignore_errors=True)
    return True


# -- payloads --------------------------------------------------------------------------------

def _items_payload(data, items, default_mode, kind, ns, name, optional):
    out = {}
    if items:
        for it in items:
            key = it.get("key")
            if key not in data:
                if optional:
                    continue
                # configmap.go MakePayload: "configmap references non-existent config key: %v"
                raise MountError(f"{kind} references non-existent {'config' if kind == 'configmap' else 'secret'} key: {key}")
            out[it.get("path") or key] = (data[key], int(it.get("mode") if it.get("mode") is not None else default_mode))
    else:
        for key, value in data.items():
            out[key] = (value, int(default_mode))
    return out


def _configmap_data(cm):
    data = {k: (v or "").encode() for k, v in (cm.get("data") or {}).items()}
    for k, v in (cm.get("binaryData") or {}).items():
        data[k] = base64.b64decode(v)
    return data


def _secret_data(sec):
    return {k: base64.b64decode(v or "") for k, v in (sec.get("data") or {}).items()}


class PayloadContext:
    """What payload builders need: the store, the pod, a token source."""

    def __init__(self, store, pod, node, token_source):
        self.store = store
        self.pod = pod
        self.node = node
        self.token_source = token_source    # callable(audience, expiration_seconds) -> str

    @property
    def ns(self):
        return self.pod["metadata"].get("namespace", "")

    def get(self, plural, name):
        try:
            return self.store.get("", "v1", plural, self.ns, name)
        except Exception:
            return None


def configmap_payload(pctx, src, default_mode):
    name = src.get("name", "")
    cm = pctx.get("configmaps", name)
    if cm is None:
        if src.get("optional"):
            return {}
        raise MountError(f'configmap "{name}" not found')
    return _items_payload(_configmap_data(cm), src.get("items"), default_mode, "configmap",
                          pctx.ns, name, src.get("optional"))


def secret_payload(pctx, src, default_mode):
    name = src.get("secretName") or src.get("name") or ""
    sec = pctx.get("secrets", name)
    if sec is None:
        if src.get("optional"):
            return {}
        raise MountError(f'secret "{name}" not found')
    return _items_payload(_secret_data(sec), src.get("items"), default_mode, "secret",
                          pctx.ns, name, src.get("optional"))


def downward_payload(pctx, src, default_mode):
    out = {}
    for it in src.get("items") or []:
        mode = int(it.get("mode") if it.get("mode") is not None else default_mode)
        try:
            if it.get("fieldRef"):
                value = field_value(pctx.pod, it["fieldRef"].get("fieldPath", ""))
            elif it.get("resourceFieldRef"):
                cname = it["resourceFieldRef"].get("containerName")
                container = next((c for c in get_path(pctx.pod, "spec", "containers", default=[])
                                  if c.get("name") == cname), {})
                value = resource_value(container, it["resourceFieldRef"],
                                       {"cpu": "4", "memory": str(8 * 2**30)})
            else:
                continue
        except EnvError as exc:
            raise MountError(str(exc))
        out[it.get("path")] = (value.encode(), mode)
    return out


def volume_payload(pctx, vol):
    """The full payload of an atomic-writer volume."""
    if "configMap" in vol:
        src = vol["configMap"] or {}
        return configmap_payload(pctx, src, src.get("defaultMode", 0o644))
    if "secret" in vol:
        src = vol["secret"] or {}
        return secret_payload(pctx, src, src.get("defaultMode", 0o644))
    if "downwardAPI" in vol:
        src = vol["downwardAPI"] or {}
        return downward_payload(pctx, src, src.get("defaultMode", 0o644))
    if "projected" in vol:
        proj = vol["projected"] or {}
        default_mode = proj.get("defaultMode", 0o644)
        out = {}
        for source in proj.get("sources") or []:
            if source.get("configMap") is not None:
                out.update(configmap_payload(pctx, source["configMap"], default_mode))
            elif source.get("secret") is not None:
                out.update(secret_payload(pctx, source["secret"], default_mode))
            elif source.get("downwardAPI") is not None:
                out.update(downward_payload(pctx, source["downwardAPI"], default_mode))
            elif source.get("serviceAccountToken") is not None:
                tok = source["serviceAccountToken"]
                token = pctx.token_source(tok.get("audience"), int(tok.get("expirationSeconds") or 3607))
                # projected.go: the token file mode is 0600 when fsUser is set, else defaultMode
                out[tok.get("path") or "token"] = (token.encode(), default_mode)
        return out
    return None
