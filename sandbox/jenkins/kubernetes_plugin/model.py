"""The Kubernetes plugin's configuration classes, as JCasC sees them (sandbox emulation).

Every class below mirrors one Java class of jenkinsci/kubernetes-plugin (commit a82d78a0, tag
4423.vb_59f230b_ce53; paths relative to src/main/java/org/csanchez/jenkins/plugins/kubernetes/):
its ``@DataBoundConstructor`` parameters (``CTOR``), its JCasC attributes (``ATTRS``: every public
one-argument ``setX`` that has a ``getX``/``isX``, CASC ``BaseConfigurator#describe``; Map-typed and
un-handleable ones such as ``PodTemplate#listener`` are skipped exactly as JCasC skips them) and
the *semantics* of each setter (clamping, ``Util.fixEmpty``, "-1 means unlimited", …) and getter
(defaults), because the JCasC export is computed from the getters.

Attribute types:
  "String", "int", "Integer" (nullable), "boolean", "Boolean" (nullable), "Long", "Mode" (enum
  hudson.model.Node.Mode), ("list", "String"), ("list", <Class>), ("list", <ExtensionPoint>),
  <Class> (a nested data-bound object), <ExtensionPoint> (polymorphic: ``{symbol: {...}}``).
"""

from __future__ import annotations

import hashlib
import shlex
import uuid

PKG = "org.csanchez.jenkins.plugins.kubernetes"

DEFAULT_WORKING_DIR = "/home/jenkins/agent"          # ContainerTemplate#DEFAULT_WORKING_DIR
DEFAULT_SLAVE_JENKINS_CONNECTION_TIMEOUT = 1000      # PodTemplate (sysprop ...PodTemplate.connectionTimeout)
INT_MAX = 2 ** 31 - 1


def fix_empty(v):
    """hudson.Util#fixEmpty"""
    return None if v is None or v == "" else v


def fix_empty_and_trim(v):
    """hudson.Util#fixEmptyAndTrim"""
    if v is None:
        return None
    v = v.strip()
    return v or None


def parse_java_int(text):
    """Integer.parseInt: raises ValueError with Java's NumberFormatException text."""
    s = str(text)
    t = s[1:] if s[:1] in "+-" else s
    if not t.isdigit():
        raise ValueError(f'For input string: "{s}"')
    v = int(s)
    if not -2 ** 31 <= v <= INT_MAX:
        raise ValueError(f'For input string: "{s}"')
    return v


def parse_long_or_none(text):
    """PodTemplateUtils#parseLong: blank or unparsable -> null."""
    if text is None or str(text).strip() == "":
        return None
    try:
        return int(str(text).strip())
    except ValueError:
        return None


class JavaObject:
    """Base of the emulated data-bound classes."""

    JAVA_CLASS = ""
    CTOR: list = []                 # [(name, type)]
    ATTRS: dict = {}                # name -> (type, deprecated)
    DEFAULTS: dict = {}             # field defaults

    def __init__(self, **ctor):
        self._f = dict(self.DEFAULTS)
        for k, v in self._f.items():
            if isinstance(v, list):
                self._f[k] = list(v)
        self._init(**ctor)

    def _init(self, **ctor):
        for name, _t in self.CTOR:
            self._f[name] = ctor.get(name)

    # generic accessors (classes override the ones with semantics)
    def set(self, name, value):
        fn = getattr(self, "set_" + name, None)
        if fn is not None:
            fn(value)
        else:
            self._f[name] = value

    def get(self, name):
        fn = getattr(self, "get_" + name, None)
        if fn is not None:
            return fn()
        return self._f.get(name)

    def __repr__(self):  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self._f!r})"


class ExtensionPoint:
    """A polymorphic (``Describable``) attribute type: the implementations and their symbols."""

    def __init__(self, java_name, impls):
        self.java_name = java_name      # e.g. org.csanchez....volumes.PodVolume
        self.impls = impls              # list of classes; each has SYMBOLS (preferred first)

    @property
    def simple_name(self):
        return self.java_name.rsplit(".", 1)[-1]


def _uncap(s):
    return s[:1].lower() + s[1:]


def symbols_for(cls, ext: ExtensionPoint):
    """CASC impl/attributes/DescribableAttribute#getSymbols: @Symbol values first, then the
    simple class name minus the extension point's simple name, minus "<ExtPoint>Impl", then the
    simple class name itself (uncapitalised)."""
    out = list(getattr(cls, "SYMBOL", ()))
    cn = cls.JAVA_CLASS.rsplit(".", 1)[-1]
    ext_name = ext.simple_name
    if cn.endswith(ext_name) and cn != ext_name:
        out.append(_uncap(cn[: -len(ext_name)]))
    if cn.endswith(ext_name + "Impl"):
        out.append(_uncap(cn[: -len(ext_name + "Impl")]))
    out.append(_uncap(cn))
    return out


# ---------------------------------------------------------------------------------------------
# small value classes


class PodLabel(JavaObject):
    """PodLabel.java (@Symbol podLabel): ctor (key, value)."""
    JAVA_CLASS = PKG + ".PodLabel"
    SYMBOL = ("podLabel",)
    CTOR = [("key", "String"), ("value", "String")]
    ATTRS = {"key": ("String", False), "value": ("String", False)}

    def __eq__(self, o):
        return isinstance(o, PodLabel) and o._f.get("key") == self._f.get("key") and \
            o._f.get("value") == self._f.get("value")

    __hash__ = object.__hash__


class PodAnnotation(PodLabel):
    """PodAnnotation.java (@Symbol podAnnotation): ctor (key, value)."""
    JAVA_CLASS = PKG + ".PodAnnotation"
    SYMBOL = ("podAnnotation",)


class PodImagePullSecret(JavaObject):
    JAVA_CLASS = PKG + ".PodImagePullSecret"
    CTOR = [("name", "String")]
    ATTRS = {"name": ("String", False)}


class PortMapping(JavaObject):
    """PortMapping.java: ctor (name, containerPort); setter hostPort."""
    JAVA_CLASS = PKG + ".PortMapping"
    SYMBOL = ("portMapping",)
    CTOR = [("name", "String"), ("containerPort", "Integer")]
    ATTRS = {"name": ("String", False), "containerPort": ("Integer", False), "hostPort": ("Integer", False)}


class ContainerLivenessProbe(JavaObject):
    JAVA_CLASS = PKG + ".ContainerLivenessProbe"
    SYMBOL = ("containerLivenessProbe",)
    CTOR = [("execArgs", "String"), ("timeoutSeconds", "int"), ("initialDelaySeconds", "int"),
            ("failureThreshold", "int"), ("periodSeconds", "int"), ("successThreshold", "int")]
    ATTRS = {n: (t, False) for n, t in CTOR}


class GarbageCollection(JavaObject):
    """GarbageCollection.java: setters namespaces, timeout (min 120)."""
    JAVA_CLASS = PKG + ".GarbageCollection"
    ATTRS = {"namespaces": ("String", False), "timeout": ("int", False)}
    DEFAULTS = {"namespaces": None, "timeout": 300}

    def set_timeout(self, v):
        self._f["timeout"] = max(120, v)


# ---------------------------------------------------------------------------------------------
# env vars (model/TemplateEnvVar.java)


class KeyValueEnvVar(JavaObject):
    JAVA_CLASS = PKG + ".model.KeyValueEnvVar"
    SYMBOL = ("envVar",)
    CTOR = [("key", "String"), ("value", "String")]
    ATTRS = {"key": ("String", False), "value": ("String", False)}

    def key(self):
        return self._f.get("key")

    def build_env_var(self):
        return {"name": self._f.get("key"), "value": self._f.get("value") or ""}


class SecretEnvVar(JavaObject):
    JAVA_CLASS = PKG + ".model.SecretEnvVar"
    SYMBOL = ("secretEnvVar",)
    CTOR = [("key", "String"), ("secretName", "String"), ("secretKey", "String"), ("optional", "Boolean")]
    ATTRS = {n: (t, False) for n, t in CTOR}

    def key(self):
        return self._f.get("key")

    def build_env_var(self):
        ref = {"key": self._f.get("secretKey"), "name": self._f.get("secretName")}
        if self._f.get("optional") is not None:
            ref["optional"] = self._f.get("optional")
        return {"name": self._f.get("key"), "valueFrom": {"secretKeyRef": ref}}


class ContainerEnvVar(KeyValueEnvVar):
    """ContainerEnvVar.java: class-level @Deprecated, still registered (@Symbol containerEnvVar)."""
    JAVA_CLASS = PKG + ".ContainerEnvVar"
    SYMBOL = ("containerEnvVar",)


class PodEnvVar(KeyValueEnvVar):
    JAVA_CLASS = PKG + ".PodEnvVar"
    SYMBOL = ("podEnvVar",)


TEMPLATE_ENV_VAR = ExtensionPoint(PKG + ".model.TemplateEnvVar",
                                  [KeyValueEnvVar, SecretEnvVar, ContainerEnvVar, PodEnvVar])


# ---------------------------------------------------------------------------------------------
# pod volumes (volumes/*.java): buildVolume(name) -> the pod spec volume


class _PodVolume(JavaObject):
    def mount_path(self):
        return self._f.get("mountPath")

    def read_only(self):
        return False


class HostPathVolume(_PodVolume):
    JAVA_CLASS = PKG + ".volumes.HostPathVolume"
    SYMBOL = ("hostPathVolume",)
    CTOR = [("hostPath", "String"), ("mountPath", "String"), ("readOnly", "Boolean")]
    ATTRS = {n: (t, False) for n, t in CTOR}

    def get_readOnly(self):
        return bool(self._f.get("readOnly"))      # getReadOnly: readOnly != null && readOnly

    def read_only(self):
        return self.get_readOnly()

    def build_volume(self, name, pod_name):
        return {"name": name, "hostPath": {"path": self._f.get("hostPath")}}


class EmptyDirVolume(_PodVolume):
    JAVA_CLASS = PKG + ".volumes.EmptyDirVolume"
    SYMBOL = ("emptyDirVolume",)
    CTOR = [("mountPath", "String"), ("memory", "Boolean")]
    ATTRS = {n: (t, False) for n, t in CTOR}

    def get_memory(self):
        return bool(self._f.get("memory"))

    def build_volume(self, name, pod_name):
        ed = {"medium": "Memory"} if self.get_memory() else {"medium": ""}
        return {"name": name, "emptyDir": ed}


class PersistentVolumeClaim(_PodVolume):
    JAVA_CLASS = PKG + ".volumes.PersistentVolumeClaim"
    SYMBOL = ("persistentVolumeClaim",)
    CTOR = [("mountPath", "String"), ("claimName", "String"), ("readOnly", "Boolean")]
    ATTRS = {n: (t, False) for n, t in CTOR}

    def get_readOnly(self):
        return bool(self._f.get("readOnly"))

    def build_volume(self, name, pod_name):
        return {"name": name, "persistentVolumeClaim": {"claimName": self._f.get("claimName"),
                                                        "readOnly": self.get_readOnly()}}


class SecretVolume(_PodVolume):
    JAVA_CLASS = PKG + ".volumes.SecretVolume"
    SYMBOL = ("secretVolume",)
    CTOR = [("mountPath", "String"), ("secretName", "String"), ("defaultMode", "String"),
            ("optional", "Boolean")]
    ATTRS = {n: (t, False) for n, t in CTOR}

    def get_optional(self):
        return bool(self._f.get("optional"))

    def build_volume(self, name, pod_name):
        src = {"secretName": self._f.get("secretName"), "optional": self.get_optional()}
        if (self._f.get("defaultMode") or "").strip():
            src["defaultMode"] = parse_java_int(self._f["defaultMode"])
        return {"name": name, "secret": src}


class ConfigMapVolume(_PodVolume):
    JAVA_CLASS = PKG + ".volumes.ConfigMapVolume"
    SYMBOL = ("configMapVolume",)
    CTOR = [("mountPath", "String"), ("configMapName", "String"), ("optional", "Boolean")]
    ATTRS = {**{n: (t, False) for n, t in CTOR}, "subPath": ("String", False)}

    def set_subPath(self, v):
        self._f["subPath"] = fix_empty(v)

    def build_volume(self, name, pod_name):
        cm = {"name": self._f.get("configMapName")}
        if self._f.get("optional") is not None:
            cm["optional"] = self._f.get("optional")
        return {"name": name, "configMap": cm}


class NfsVolume(_PodVolume):
    JAVA_CLASS = PKG + ".volumes.NfsVolume"
    SYMBOL = ("nfsVolume",)
    CTOR = [("serverAddress", "String"), ("serverPath", "String"), ("readOnly", "Boolean"),
            ("mountPath", "String")]
    ATTRS = {n: (t, False) for n, t in CTOR}

    def get_readOnly(self):
        return bool(self._f.get("readOnly"))

    def build_volume(self, name, pod_name):
        return {"name": name, "nfs": {"path": self._f.get("serverPath"), "readOnly": self.get_readOnly(),
                                      "server": self._f.get("serverAddress")}}


class _EphemeralPVCVolume(_PodVolume):
    ATTRS = {"mountPath": ("String", False), "accessModes": ("String", False),
             "requestsSize": ("String", False), "storageClassName": ("String", False)}

    def get_accessModes(self):
        return self._f.get("accessModes") or "ReadWriteOnce"

    def get_requestsSize(self):
        return self._f.get("requestsSize") or "10Gi"

    def _claim_spec(self):
        spec = {"accessModes": [self.get_accessModes()],
                "resources": {"requests": {"storage": self.get_requestsSize()}}}
        if self._f.get("storageClassName"):
            spec["storageClassName"] = self._f["storageClassName"]
        return spec


class GenericEphemeralVolume(_EphemeralPVCVolume):
    JAVA_CLASS = PKG + ".volumes.GenericEphemeralVolume"
    SYMBOL = ("genericEphemeralVolume",)

    def build_volume(self, name, pod_name):
        return {"name": name, "ephemeral": {"volumeClaimTemplate": {"spec": self._claim_spec()}}}


class DynamicPVCVolume(_EphemeralPVCVolume):
    JAVA_CLASS = PKG + ".volumes.DynamicPVCVolume"
    SYMBOL = ("dynamicPVC",)

    def build_volume(self, name, pod_name):
        # volumes/DynamicPVC#getPvcName: "pvc-" + podName + "-" + volumeName (PVC itself not created here)
        return {"name": name, "persistentVolumeClaim": {"claimName": f"pvc-{pod_name}-{name}",
                                                        "readOnly": False}}


POD_VOLUME = ExtensionPoint(PKG + ".volumes.PodVolume",
                            [HostPathVolume, EmptyDirVolume, PersistentVolumeClaim, SecretVolume,
                             ConfigMapVolume, NfsVolume, GenericEphemeralVolume, DynamicPVCVolume])


# ---------------------------------------------------------------------------------------------
# workspace volumes (volumes/workspace/*.java)


class EmptyDirWorkspaceVolume(JavaObject):
    JAVA_CLASS = PKG + ".volumes.workspace.EmptyDirWorkspaceVolume"
    SYMBOL = ("emptyDirWorkspaceVolume",)
    CTOR = [("memory", "Boolean")]
    ATTRS = {"memory": ("Boolean", False), "sizeLimit": ("String", False)}

    def get_memory(self):
        return bool(self._f.get("memory"))

    def set_sizeLimit(self, v):
        self._f["sizeLimit"] = fix_empty(v)

    def __eq__(self, o):   # EmptyDirWorkspaceVolume#equals: memory + sizeLimit
        return isinstance(o, EmptyDirWorkspaceVolume) and o.get_memory() == self.get_memory() and \
            o._f.get("sizeLimit") == self._f.get("sizeLimit")

    __hash__ = object.__hash__

    def build_volume(self, name, pod_name):
        ed = {"medium": "Memory"} if self.get_memory() else {"medium": ""}
        if self._f.get("sizeLimit"):
            ed["sizeLimit"] = self._f["sizeLimit"]
        return {"name": name, "emptyDir": ed}


class HostPathWorkspaceVolume(JavaObject):
    JAVA_CLASS = PKG + ".volumes.workspace.HostPathWorkspaceVolume"
    SYMBOL = ("hostPathWorkspaceVolume",)
    CTOR = [("hostPath", "String")]
    ATTRS = {"hostPath": ("String", False)}

    def build_volume(self, name, pod_name):
        return {"name": name, "hostPath": {"path": self._f.get("hostPath")}}


class PersistentVolumeClaimWorkspaceVolume(JavaObject):
    JAVA_CLASS = PKG + ".volumes.workspace.PersistentVolumeClaimWorkspaceVolume"
    SYMBOL = ("persistentVolumeClaimWorkspaceVolume",)
    CTOR = [("claimName", "String"), ("readOnly", "Boolean")]
    ATTRS = {n: (t, False) for n, t in CTOR}

    def get_readOnly(self):
        return bool(self._f.get("readOnly"))

    def build_volume(self, name, pod_name):
        return {"name": name, "persistentVolumeClaim": {"claimName": self._f.get("claimName"),
                                                        "readOnly": self.get_readOnly()}}


class NfsWorkspaceVolume(JavaObject):
    JAVA_CLASS = PKG + ".volumes.workspace.NfsWorkspaceVolume"
    SYMBOL = ("nfsWorkspaceVolume",)
    CTOR = [("serverAddress", "String"), ("serverPath", "String"), ("readOnly", "Boolean")]
    ATTRS = {n: (t, False) for n, t in CTOR}

    def build_volume(self, name, pod_name):
        return {"name": name, "nfs": {"path": self._f.get("serverPath"),
                                      "readOnly": bool(self._f.get("readOnly")),
                                      "server": self._f.get("serverAddress")}}


class GenericEphemeralWorkspaceVolume(JavaObject):
    JAVA_CLASS = PKG + ".volumes.workspace.GenericEphemeralWorkspaceVolume"
    SYMBOL = ("genericEphemeralVolume",)
    ATTRS = {"accessModes": ("String", False), "requestsSize": ("String", False),
             "storageClassName": ("String", False)}
    build_volume = GenericEphemeralVolume.build_volume
    _claim_spec = _EphemeralPVCVolume._claim_spec
    get_accessModes = _EphemeralPVCVolume.get_accessModes
    get_requestsSize = _EphemeralPVCVolume.get_requestsSize


class DynamicPVCWorkspaceVolume(JavaObject):
    JAVA_CLASS = PKG + ".volumes.workspace.DynamicPVCWorkspaceVolume"
    SYMBOL = ("dynamicPVC",)
    ATTRS = {"accessModes": ("String", False), "requestsSize": ("String", False),
             "storageClassName": ("String", False)}
    build_volume = DynamicPVCVolume.build_volume


WORKSPACE_VOLUME = ExtensionPoint(PKG + ".volumes.workspace.WorkspaceVolume",
                                  [EmptyDirWorkspaceVolume, HostPathWorkspaceVolume,
                                   PersistentVolumeClaimWorkspaceVolume, NfsWorkspaceVolume,
                                   GenericEphemeralWorkspaceVolume, DynamicPVCWorkspaceVolume])


def default_workspace_volume():
    """WorkspaceVolume#getDefault = new EmptyDirWorkspaceVolume(false)."""
    return EmptyDirWorkspaceVolume(memory=False)


# ---------------------------------------------------------------------------------------------
# pod retention (pod/retention/*.java) and yaml merge strategies (pod/yaml/*.java)


class _Singleton(JavaObject):
    def __eq__(self, o):
        return type(o) is type(self)

    __hash__ = object.__hash__


class Never(_Singleton):
    JAVA_CLASS = PKG + ".pod.retention.Never"
    SYMBOL = ("never",)

    def should_delete_pod(self, cloud, get_pod):
        return True


class Always(_Singleton):
    JAVA_CLASS = PKG + ".pod.retention.Always"
    SYMBOL = ("always",)

    def should_delete_pod(self, cloud, get_pod):
        return False


class OnFailure(_Singleton):
    """OnFailure#shouldDeletePod: keep the pod when its *phase* is Failed/Unknown (or unreadable)."""
    JAVA_CLASS = PKG + ".pod.retention.OnFailure"
    SYMBOL = ("onFailure",)

    def should_delete_pod(self, cloud, get_pod):
        try:
            pod = get_pod()
        except Exception:
            return False
        if pod is None:
            return False
        phase = (pod.get("status") or {}).get("phase")
        return phase not in ("Failed", "Unknown")


class Evicted(_Singleton):
    JAVA_CLASS = PKG + ".pod.retention.Evicted"
    SYMBOL = ("evicted",)

    def should_delete_pod(self, cloud, get_pod):
        try:
            pod = get_pod()
        except Exception:
            return False
        if pod is None:
            return False
        return (pod.get("status") or {}).get("reason") != "Evicted"


class Default(_Singleton):
    """Template default: defers to the cloud's policy (pod/retention/Default.java)."""
    JAVA_CLASS = PKG + ".pod.retention.Default"
    SYMBOL = ("default",)

    def should_delete_pod(self, cloud, get_pod):
        return cloud.get("podRetention").should_delete_pod(cloud, get_pod)


POD_RETENTION = ExtensionPoint(PKG + ".pod.retention.PodRetention", [Never, Always, OnFailure, Evicted, Default])


class Overrides(_Singleton):
    JAVA_CLASS = PKG + ".pod.yaml.Overrides"
    SYMBOL = ("override",)


class Merge(_Singleton):
    JAVA_CLASS = PKG + ".pod.yaml.Merge"
    SYMBOL = ("merge",)


YAML_MERGE_STRATEGY = ExtensionPoint(PKG + ".pod.yaml.YamlMergeStrategy", [Overrides, Merge])

# No implementations are emulated for these extension points: any symbol is "not found".
CLOUD_TRAIT = ExtensionPoint(PKG + ".KubernetesCloudTrait", [])
NODE_PROPERTY = ExtensionPoint("hudson.slaves.NodeProperty", [])


# ---------------------------------------------------------------------------------------------
# ContainerTemplate.java


class ContainerTemplate(JavaObject):
    JAVA_CLASS = PKG + ".ContainerTemplate"
    SYMBOL = ("containerTemplate",)
    CTOR = [("name", "String"), ("image", "String")]
    ATTRS = {
        "alwaysPullImage": ("boolean", False), "args": ("String", False), "command": ("String", False),
        "envVars": (("list", TEMPLATE_ENV_VAR), False), "image": ("String", False),
        "livenessProbe": (ContainerLivenessProbe, False), "name": ("String", False),
        "ports": (("list", PortMapping), False), "privileged": ("boolean", False),
        "resourceLimitCpu": ("String", False), "resourceLimitEphemeralStorage": ("String", False),
        "resourceLimitMemory": ("String", False), "resourceRequestCpu": ("String", False),
        "resourceRequestEphemeralStorage": ("String", False), "resourceRequestMemory": ("String", False),
        "runAsGroup": ("String", False), "runAsUser": ("String", False), "shell": ("String", False),
        "ttyEnabled": ("boolean", False), "workingDir": ("String", False),
    }
    DEFAULTS = {"command": "", "args": "", "alwaysPullImage": False, "privileged": False,
                "ttyEnabled": False, "envVars": [], "ports": [], "workingDir": None,
                "livenessProbe": None, "runAsUser": None, "runAsGroup": None}

    def _init(self, name=None, image=None):
        # PodTemplateUtils#validateImage: image != null && image.matches("\\S+")
        if image is None or not str(image) or any(c.isspace() for c in str(image)):
            raise ValueError("invalid image")
        self._f["name"] = name
        self._f["image"] = image

    def set_workingDir(self, v):
        self._f["workingDir"] = fix_empty(v)

    def set_runAsUser(self, v):
        self._f["runAsUser"] = parse_long_or_none(v)

    def set_runAsGroup(self, v):
        self._f["runAsGroup"] = parse_long_or_none(v)

    def get_runAsUser(self):
        v = self._f.get("runAsUser")
        return None if v is None else str(v)

    def get_runAsGroup(self):
        v = self._f.get("runAsGroup")
        return None if v is None else str(v)

    def set_envVars(self, v):       # ContainerTemplate#setEnvVars: addAll
        self._f["envVars"].extend(v or [])

    @property
    def name(self):
        return self._f.get("name")


# ---------------------------------------------------------------------------------------------
# PodTemplate.java


def sha1_hex(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class PodTemplate(JavaObject):
    JAVA_CLASS = PKG + ".PodTemplate"
    CTOR = [("id", "String")]
    ATTRS = {
        "activeDeadlineSeconds": ("int", False), "activeDeadlineSecondsStr": ("String", False),
        "agentContainer": ("String", False), "agentInjection": ("boolean", False),
        "alwaysPullImage": ("boolean", True), "annotations": (("list", PodAnnotation), False),
        "args": ("String", True), "capOnlyOnAlivePods": ("boolean", True),
        "command": ("String", True), "containers": (("list", ContainerTemplate), False),
        "envVars": (("list", TEMPLATE_ENV_VAR), False), "hostNetwork": ("Boolean", False),
        "id": ("String", False),
        "idleMinutes": ("int", False), "idleMinutesStr": ("String", False),
        "imagePullSecrets": (("list", PodImagePullSecret), False), "inheritFrom": ("String", False),
        "inheritYamlMergeStrategy": ("boolean", False), "instanceCap": ("int", False),
        "instanceCapStr": ("String", False), "label": ("String", False), "name": ("String", False),
        "namespace": ("String", False), "nodeProperties": (("list", NODE_PROPERTY), False),
        "nodeSelector": ("String", False), "nodeUsageMode": ("Mode", False),
        "podRetention": (POD_RETENTION, False), "privileged": ("boolean", True),
        "readonlyFromUi": ("boolean", False), "remoteFs": ("String", True),
        "resourceLimitCpu": ("String", True), "resourceLimitMemory": ("String", True),
        "resourceRequestCpu": ("String", True), "resourceRequestMemory": ("String", True),
        "runAsGroup": ("String", False), "runAsUser": ("String", False),
        "schedulerName": ("String", False), "serviceAccount": ("String", False),
        "showRawYaml": ("boolean", False), "slaveConnectTimeout": ("int", False),
        "slaveConnectTimeoutStr": ("String", False), "supplementalGroups": ("String", False),
        "terminationGracePeriodSeconds": ("Long", False), "volumes": (("list", POD_VOLUME), False),
        "workspaceVolume": (WORKSPACE_VOLUME, False), "yaml": ("String", False),
        "yamlMergeStrategy": (YAML_MERGE_STRATEGY, False), "yamls": (("list", "String"), False),
    }
    DEFAULTS = {"instanceCap": INT_MAX, "slaveConnectTimeout": DEFAULT_SLAVE_JENKINS_CONNECTION_TIMEOUT,
                "idleMinutes": 0, "activeDeadlineSeconds": 0, "volumes": [], "containers": [],
                "envVars": [], "annotations": [], "imagePullSecrets": [], "nodeProperties": [],
                "capOnlyOnAlivePods": False, "agentInjection": False, "readonlyFromUi": False,
                "inheritYamlMergeStrategy": None, "showRawYaml": None, "hostNetwork": None,
                "nodeUsageMode": None, "podRetention": None, "workspaceVolume": None,
                "yamlMergeStrategy": None, "yaml": None, "yamls": None, "label": None, "name": None,
                "namespace": None, "inheritFrom": None, "serviceAccount": None, "schedulerName": None,
                "nodeSelector": None, "runAsUser": None, "runAsGroup": None, "supplementalGroups": None,
                "terminationGracePeriodSeconds": None, "agentContainer": None}

    def _init(self, id=None):
        # PodTemplate(String id): empty id -> UUID.randomUUID()
        self._f["id"] = id if fix_empty(id) is not None else str(uuid.uuid4())

    # --- first-container delegating @Deprecated setters/getters
    def _first(self):
        c = self._f["containers"]
        return c[0] if c else None

    def _deleg_set(self, attr, v):
        c = self._first()
        if c is not None:
            c.set(attr, v)

    def set_command(self, v): self._deleg_set("command", v)
    def set_args(self, v): self._deleg_set("args", v)
    def set_privileged(self, v): self._deleg_set("privileged", v)
    def set_alwaysPullImage(self, v): self._deleg_set("alwaysPullImage", v)
    def set_remoteFs(self, v): self._deleg_set("workingDir", v)
    def set_resourceRequestCpu(self, v): self._deleg_set("resourceRequestCpu", v)
    def set_resourceRequestMemory(self, v): self._deleg_set("resourceRequestMemory", v)
    def set_resourceLimitCpu(self, v): self._deleg_set("resourceLimitCpu", v)
    def set_resourceLimitMemory(self, v): self._deleg_set("resourceLimitMemory", v)

    # --- setters with semantics
    def set_id(self, v):
        pass    # constructor-only attribute

    def set_inheritFrom(self, v): self._f["inheritFrom"] = fix_empty_and_trim(v)
    def set_name(self, v): self._f["name"] = fix_empty_and_trim(v)
    def set_namespace(self, v): self._f["namespace"] = fix_empty_and_trim(v)
    def set_label(self, v): self._f["label"] = fix_empty_and_trim(v)
    def set_nodeSelector(self, v): self._f["nodeSelector"] = fix_empty_and_trim(v)
    def set_serviceAccount(self, v): self._f["serviceAccount"] = fix_empty(v)
    def set_schedulerName(self, v): self._f["schedulerName"] = fix_empty(v)
    def set_supplementalGroups(self, v): self._f["supplementalGroups"] = fix_empty(v)
    def set_agentContainer(self, v): self._f["agentContainer"] = fix_empty(v)
    def set_yaml(self, v): self._f["yaml"] = fix_empty(v)
    def set_runAsUser(self, v): self._f["runAsUser"] = parse_long_or_none(v)
    def set_runAsGroup(self, v): self._f["runAsGroup"] = parse_long_or_none(v)

    def set_instanceCap(self, v):
        self._f["instanceCap"] = INT_MAX if v < 0 else v

    def set_instanceCapStr(self, v):
        self.set_instanceCap(INT_MAX if (v or "").strip() == "" else parse_java_int(v))

    def get_instanceCapStr(self):
        return "" if self._f["instanceCap"] == INT_MAX else str(self._f["instanceCap"])

    def set_slaveConnectTimeout(self, v):
        # <= 0 -> WARNING "Agent -> Jenkins connection timeout cannot be <= 0. Falling back to the default value"
        self._f["slaveConnectTimeout"] = DEFAULT_SLAVE_JENKINS_CONNECTION_TIMEOUT if v <= 0 else v

    def get_slaveConnectTimeout(self):
        v = self._f["slaveConnectTimeout"]
        return DEFAULT_SLAVE_JENKINS_CONNECTION_TIMEOUT if v == 0 else v

    def set_slaveConnectTimeoutStr(self, v):
        if (v or "").strip() == "":
            self.set_slaveConnectTimeout(DEFAULT_SLAVE_JENKINS_CONNECTION_TIMEOUT)
        else:
            self.set_slaveConnectTimeout(parse_java_int(v))

    def get_slaveConnectTimeoutStr(self):
        return str(self._f["slaveConnectTimeout"])

    def set_idleMinutesStr(self, v):
        self._f["idleMinutes"] = 0 if (v or "").strip() == "" else parse_java_int(v)

    def get_idleMinutesStr(self):
        return "" if self._f["idleMinutes"] == 0 else str(self._f["idleMinutes"])

    def set_activeDeadlineSecondsStr(self, v):
        self._f["activeDeadlineSeconds"] = 0 if (v or "").strip() == "" else parse_java_int(v)

    def get_activeDeadlineSecondsStr(self):
        v = self._f["activeDeadlineSeconds"]
        return "" if v == 0 else str(v)

    def set_nodeUsageMode(self, v):
        # setNodeUsageMode(Node.Mode): EXCLUSIVE is stored as null
        self._f["nodeUsageMode"] = None if v == "EXCLUSIVE" else v

    def get_nodeUsageMode(self):
        return self._f["nodeUsageMode"] or "EXCLUSIVE"

    def get_hostNetwork(self):
        return bool(self._f["hostNetwork"])     # isHostNetwork

    def set_showRawYaml(self, v): self._f["showRawYaml"] = bool(v)
    def get_showRawYaml(self): return True if self._f["showRawYaml"] is None else self._f["showRawYaml"]
    def get_inheritYamlMergeStrategy(self): return bool(self._f["inheritYamlMergeStrategy"])

    def get_runAsUser(self):
        v = self._f["runAsUser"]
        return None if v is None else str(v)

    def get_runAsGroup(self):
        v = self._f["runAsGroup"]
        return None if v is None else str(v)

    def set_workspaceVolume(self, v):
        self._f["workspaceVolume"] = None if default_workspace_volume() == v else v

    def get_workspaceVolume(self):
        return self._f["workspaceVolume"] or default_workspace_volume()

    def set_podRetention(self, v):
        self._f["podRetention"] = None if Default() == v else v

    def get_podRetention(self):
        return self._f["podRetention"] or Default()

    def set_envVars(self, v):
        if v is not None:
            self._f["envVars"] = list(v)

    def set_annotations(self, v):
        if v is not None:
            self._f["annotations"] = list(v)

    def set_imagePullSecrets(self, v):
        if v is not None:
            self._f["imagePullSecrets"] = list(v)

    def set_yamls(self, v):
        self._f["yamls"] = [y for y in (v or []) if fix_empty(y) is not None]

    def get_yamls(self):
        ys = self._f["yamls"]
        if not ys:
            return [self._f["yaml"]] if self._f["yaml"] is not None else []
        return ys

    # --- derived (PodTemplate#recomputeLabelDerivedFields)
    @property
    def id(self):
        return self._f["id"]

    @property
    def name(self):
        return self._f["name"]

    @property
    def label(self):
        return self._f["label"]

    @property
    def labels_map(self):
        from .naming import sanitize_label
        label = self._f["label"]
        if label is None:
            return {"jenkins/label": "slave-default", "jenkins/label-digest": "0"}
        return {"jenkins/label": sanitize_label(label), "jenkins/label-digest": sha1_hex(label)}

    @property
    def label_atoms(self):
        return (self._f["label"] or "").split()


# ---------------------------------------------------------------------------------------------
# KubernetesCloud.java


class KubernetesCloud(JavaObject):
    JAVA_CLASS = PKG + ".KubernetesCloud"
    CTOR = [("name", "String")]
    ATTRS = {
        "addMasterProxyEnvVars": ("boolean", False), "capOnlyOnAlivePods": ("boolean", True),
        "connectTimeout": ("int", False), "containerCap": ("Integer", False),
        "containerCapStr": ("String", False), "credentialsId": ("String", False),
        "defaultsProviderTemplate": ("String", False), "directConnection": ("boolean", False),
        "garbageCollection": (GarbageCollection, False), "jenkinsTunnel": ("String", False),
        "jenkinsUrl": ("String", False), "jnlpregistry": ("String", False),
        "maxRequestsPerHost": ("int", False), "maxRequestsPerHostStr": ("String", False),
        "name": ("String", False), "namespace": ("String", False),
        "podLabels": (("list", PodLabel), False), "podRetention": (POD_RETENTION, False),
        "readTimeout": ("int", False), "restrictedPssSecurityContext": ("boolean", False),
        "retentionTimeout": ("int", False), "serverCertificate": ("String", False),
        "serverUrl": ("String", False), "skipTlsVerify": ("boolean", False),
        "templates": (("list", PodTemplate), False), "traits": (("list", CLOUD_TRAIT), False),
        "usageRestricted": ("boolean", False), "useJenkinsProxy": ("boolean", False),
        "waitForPodSec": ("Integer", False), "webSocket": ("boolean", False),
    }
    DEFAULTS = {"retentionTimeout": 5, "connectTimeout": 5, "readTimeout": 15, "waitForPodSec": 600,
                "maxRequestsPerHost": 32, "podLabels": [], "templates": [], "traits": [],
                "containerCap": None, "podRetention": None, "serverUrl": None, "namespace": None,
                "jenkinsUrl": None, "jenkinsTunnel": None, "credentialsId": None,
                "serverCertificate": None, "skipTlsVerify": False, "useJenkinsProxy": False,
                "webSocket": False, "directConnection": False, "addMasterProxyEnvVars": False,
                "restrictedPssSecurityContext": False, "usageRestricted": False,
                "capOnlyOnAlivePods": False, "jnlpregistry": None, "defaultsProviderTemplate": None,
                "garbageCollection": None}

    def _init(self, name=None):
        self._f["name"] = name
        self._f["podRetention"] = Never()     # PodRetention.getKubernetesCloudDefault()

    def set_name(self, v):
        pass    # constructor-only

    def set_serverUrl(self, v): self._f["serverUrl"] = fix_empty(v)
    def set_serverCertificate(self, v): self._f["serverCertificate"] = fix_empty(v)
    def set_namespace(self, v): self._f["namespace"] = fix_empty(v)
    def set_jnlpregistry(self, v): self._f["jnlpregistry"] = fix_empty(v)
    def set_jenkinsUrl(self, v): self._f["jenkinsUrl"] = fix_empty_and_trim(v)
    def set_jenkinsTunnel(self, v): self._f["jenkinsTunnel"] = fix_empty(v)
    def set_credentialsId(self, v): self._f["credentialsId"] = fix_empty(v)
    def set_defaultsProviderTemplate(self, v): self._f["defaultsProviderTemplate"] = v

    def set_retentionTimeout(self, v): self._f["retentionTimeout"] = max(5, v)
    def set_readTimeout(self, v): self._f["readTimeout"] = max(15, v)
    def set_connectTimeout(self, v): self._f["connectTimeout"] = max(5, v)

    def set_containerCap(self, v):
        self._f["containerCap"] = v if (v is not None and v > 0) else None

    def set_containerCapStr(self, v):
        self.set_containerCap(None if v == "" else parse_java_int(v))

    def get_containerCap(self):
        v = self._f["containerCap"]
        return INT_MAX if v is None else v

    def get_containerCapStr(self):
        v = self._f["containerCap"]
        return "" if v in (None, INT_MAX, 0) else str(v)

    def set_maxRequestsPerHost(self, v):
        self._f["maxRequestsPerHost"] = 32 if v < 0 else v

    def set_maxRequestsPerHostStr(self, v):
        try:
            self.set_maxRequestsPerHost(parse_java_int(v))
        except ValueError:
            self.set_maxRequestsPerHost(32)

    def get_maxRequestsPerHostStr(self):
        return str(self._f["maxRequestsPerHost"])

    def set_podLabels(self, v):
        self._f["podLabels"] = list(v or [])

    def get_podLabels(self):
        return self._f["podLabels"] or [PodLabel(key="jenkins", value="slave")]   # DEFAULT_POD_LABELS

    def set_podRetention(self, v):
        if v is None or isinstance(v, Default):
            v = Never()
        self._f["podRetention"] = v

    def set_templates(self, v):
        self._f["templates"] = list(v or [])

    # --- helpers used by provisioning
    @property
    def name(self):
        return self._f["name"]

    @property
    def templates(self):
        return self._f["templates"]

    def pod_labels_map(self):
        return {l.get("key"): l.get("value") for l in self.get_podLabels()}

    def jenkins_url_or_null(self, root_url=None, env=None):
        """KubernetesCloud#getJenkinsUrlOrNull: jenkinsUrl -> KUBERNETES_JENKINS_URL -> root URL; '/' appended."""
        url = self._f["jenkinsUrl"]
        if url is None and (not self._f["webSocket"] or self._f["credentialsId"] is None):
            url = fix_empty((env or {}).get("KUBERNETES_JENKINS_URL"))
        if url is None:
            url = root_url
        if url is None:
            return None
        return url if url.endswith("/") else url + "/"


def split_command_line(text):
    """PodTemplateUtils#splitCommandLine (quotes group words) -> list or None for blank."""
    if text is None or text == "":
        return None
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()
