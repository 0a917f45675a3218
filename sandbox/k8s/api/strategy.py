"""Per-kind create/update strategies: defaults, admission, validation, allocation.

Modelled on pkg/registry/<group>/<kind>/strategy.go (PrepareForCreate/Update, Validate*),
pkg/apis/<group>/v1/defaults.go (SetDefaults_*), pkg/apis/core/validation/validation.go,
pkg/apis/apps/validation/validation.go, and the admission plugins that every cluster runs
(NamespaceLifecycle, ServiceAccount, DefaultStorageClass). Only the parts clients can observe on
the paths this project uses are modelled; see sandbox/README.md.
"""
import base64
import copy
import ipaddress
import random
import re

from . import errors
from .errors import FieldError

# staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                     "or '-', and must start and end with an alphanumeric character")
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                         "characters, '-' or '.', and must start and end with an alphanumeric character")
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                     "start with an alphabetic character, and end with an alphanumeric character")


def regex_error(msg, fmt, *examples):
    # validation.go RegexError (note the "',  or '" produced by its loop)
    if not examples:
        return msg + " (regex used for validation is '" + fmt + "')"
    msg += " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            msg += " or "
        msg += "'" + ex + "', "
    return msg + "regex used for validation is '" + fmt + "')"


def is_dns1123_subdomain(value):
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not re.fullmatch(DNS1123_SUBDOMAIN_FMT, value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1123_label(value):
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(DNS1123_LABEL_FMT, value):
        errs.append(regex_error(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1035_label(value):
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(DNS1035_LABEL_FMT, value):
        errs.append(regex_error(DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_path_segment(value):
    # apimachinery/pkg/api/validation/path/name.go IsValidPathSegmentName
    if value in (".", ".."):
        return ['may not be \'%s\'' % value]
    for bad in ("/", "%"):
        if bad in value:
            return ["may not contain '%s'" % bad]
    return []


QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                      "start and end with an alphanumeric character")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', "
                   "'_' or '.', and must start and end with an alphanumeric character")


def _name_validator(res):
    if res.plural == "namespaces" and res.group == "":
        return is_dns1123_label
    if res.plural == "services" and res.group == "":
        return is_dns1035_label
    if res.group == "rbac.authorization.k8s.io":
        return is_path_segment
    return is_dns1123_subdomain


_MICRO_TIME_FIELDS = {"eventTime", "renewTime", "acquireTime"}


def _norm_time(key, value):
    """metav1.Time / MicroTime round trip: RFC 3339 in UTC with "Z" (staging/src/k8s.io/
    apimachinery/pkg/apis/meta/v1/time.go MarshalJSON; micro_time.go for MicroTime)."""
    import datetime as _dt
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    t = t.astimezone(_dt.timezone.utc)
    if key in _MICRO_TIME_FIELDS:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_times(node):
    """Re-encode timestamp fields (keys ending in Time/Timestamp) as the apiserver would."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str) and (k.endswith("Timestamp") or k.endswith("Time")) and len(v) >= 19 \
                    and v[4:5] == "-" and v[10:11] == "T":
                node[k] = _norm_time(k, v)
            elif isinstance(v, (dict, list)):
                normalize_times(v)
    elif isinstance(node, list):
        for v in node:
            normalize_times(v)


def spec_of(obj):
    """Everything but metadata and status (what a generation bump is computed from)."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


# ---------------------------------------------------------------------------- defaults
def _default_container(c, init=False):
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    image = c.get("image") or ""
    if "imagePullPolicy" not in c:
        # pkg/apis/core/v1/defaults.go SetDefaults_Container: Always for :latest or no tag
        tag = image.rsplit("/", 1)[-1]
        if "@" in tag:
            c["imagePullPolicy"] = "IfNotPresent"
        elif ":" not in tag or tag.endswith(":latest"):
            c["imagePullPolicy"] = "Always"
        else:
            c["imagePullPolicy"] = "IfNotPresent"
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        pr = c.get(probe)
        if isinstance(pr, dict):
            pr.setdefault("timeoutSeconds", 1)
            pr.setdefault("periodSeconds", 10)
            pr.setdefault("successThreshold", 1)
            pr.setdefault("failureThreshold", 3)
            hg = pr.get("httpGet")
            if isinstance(hg, dict):
                hg.setdefault("path", "/")
                hg.setdefault("scheme", "HTTP")
    for e in c.get("env") or []:
        vf = e.get("valueFrom") or {}
        if "fieldRef" in vf:
            vf["fieldRef"].setdefault("apiVersion", "v1")


def default_pod_spec(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in spec.get("containers") or []:
        _default_container(c)
    for c in spec.get("initContainers") or []:
        _default_container(c, init=True)
    for v in spec.get("volumes") or []:
        if "configMap" in v:
            v["configMap"].setdefault("defaultMode", 420)
        if "secret" in v:
            v["secret"].setdefault("defaultMode", 420)
        if "hostPath" in v:
            v["hostPath"].setdefault("type", "")
        if "projected" in v:
            v["projected"].setdefault("defaultMode", 420)
        if "emptyDir" in v and v["emptyDir"] is None:
            v["emptyDir"] = {}
        if not any(v.get(source) is not None for source in VOLUME_SOURCES):
            v["emptyDir"] = {}  # SetDefaults_Volume: no source -> emptyDir
    if spec.get("serviceAccount") and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    return spec


def _default_template(obj):
    tmpl = (obj.get("spec") or {}).get("template")
    if isinstance(tmpl, dict):
        tmpl.setdefault("metadata", {})
        if tmpl["metadata"].get("creationTimestamp", "x") == "x":
            tmpl["metadata"]["creationTimestamp"] = None
        default_pod_spec(tmpl.setdefault("spec", {}))


def set_defaults(store, res, obj):
    g, p = res.group, res.plural
    spec = obj.get("spec")
    if g == "" and p == "pods":
        default_pod_spec(obj.setdefault("spec", {}))
        obj["spec"].setdefault("serviceAccountName", "default")
        obj["spec"]["serviceAccount"] = obj["spec"]["serviceAccountName"]
        obj["spec"].setdefault("enableServiceLinks", True)
        obj["spec"].setdefault("priority", 0)
        obj["spec"].setdefault("preemptionPolicy", "PreemptLowerPriority")
        obj["spec"].setdefault("tolerations", [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}])
    elif g == "" and p == "services":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            if "targetPort" not in port and "port" in port:
                port["targetPort"] = port["port"]
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
    elif g == "" and p == "namespaces":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif g == "" and p == "persistentvolumeclaims":
        spec = obj.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        obj["status"] = {"phase": "Pending"}
    elif g == "" and p == "persistentvolumes":
        spec = obj.setdefault("spec", {})
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
        if "hostPath" in spec:
            spec["hostPath"].setdefault("type", "")
        obj["status"] = {"phase": "Pending"}
    elif g == "" and p == "secrets":
        obj.setdefault("type", "Opaque")
        if "stringData" in obj:
            # stringData is write-only: the conversion to the internal type merges it into data, its
            # values winning (pkg/apis/core/v1/conversion.go, Convert_v1_Secret_To_core_Secret), so a
            # read never returns stringData
            data = obj.get("data") or {}
            for key, value in (obj.pop("stringData") or {}).items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
    elif g == "" and p == "serviceaccounts":
        pass
    elif g == "" and p == "nodes":
        obj.setdefault("spec", {})
    elif g == "apps" and p == "deployments":
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        strat = spec.setdefault("strategy", {})
        strat.setdefault("type", "RollingUpdate")
        if strat["type"] == "RollingUpdate":
            ru = strat.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _default_template(obj)
    elif g == "apps" and p == "statefulsets":
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if us.get("type", "RollingUpdate") == "RollingUpdate":
            us.setdefault("type", "RollingUpdate")
            us.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy",
                        {"whenDeleted": "Retain", "whenScaled": "Retain"})
        for vct in spec.get("volumeClaimTemplates") or []:
            vct.setdefault("apiVersion", "v1")
            vct.setdefault("kind", "PersistentVolumeClaim")
            vct.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
            vct.setdefault("status", {"phase": "Pending"})
        _default_template(obj)
    elif g == "apps" and p == "replicasets":
        obj.setdefault("spec", {}).setdefault("replicas", 1)
        _default_template(obj)
    elif g == "apps" and p == "daemonsets":
        spec = obj.setdefault("spec", {})
        us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if us.get("type") == "RollingUpdate":
            us.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
        spec.setdefault("revisionHistoryLimit", 10)
        _default_template(obj)
    elif g == "batch" and p == "jobs":
        spec = obj.setdefault("spec", {})
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        _default_template(obj)
        # pkg/registry/batch/job/strategy.go generateSelector: controller-uid labels
        uid = obj["metadata"].get("uid")
        if uid and not spec.get("manualSelector") and "selector" not in spec:
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            tl = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
            tl.update({"batch.kubernetes.io/controller-uid": uid,
                       "batch.kubernetes.io/job-name": obj["metadata"]["name"],
                       "controller-uid": uid, "job-name": obj["metadata"]["name"]})
    elif g == "batch" and p == "cronjobs":
        spec = obj.setdefault("spec", {})
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
    elif g == "policy" and p == "poddisruptionbudgets":
        pass
    elif g == "rbac.authorization.k8s.io" and p in ("rolebindings", "clusterrolebindings"):
        for s in obj.get("subjects") or []:
            if s.get("kind") in ("User", "Group"):
                s.setdefault("apiGroup", "rbac.authorization.k8s.io")
    elif g == "storage.k8s.io" and p == "storageclasses":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif g == "networking.k8s.io" and p == "networkpolicies":
        spec = obj.setdefault("spec", {})
        if "policyTypes" not in spec:
            types = ["Ingress"]
            if "egress" in spec:
                types.append("Egress")
            spec["policyTypes"] = types
    elif g == "apiextensions.k8s.io" and p == "customresourcedefinitions":
        spec = obj.setdefault("spec", {})
        names = spec.setdefault("names", {})
        if names.get("kind") and "listKind" not in names:
            names["listKind"] = names["kind"] + "List"
        if names.get("plural") and "singular" not in names:
            names["singular"] = names.get("kind", "").lower()
        spec.setdefault("conversion", {"strategy": "None"})
    return obj


# ---------------------------------------------------------------------------- admission
def _admit_pod(store, obj):
    """ServiceAccount admission (plugin/pkg/admission/serviceaccount/admission.go): the pod's
    ServiceAccount must exist; unless automount is off, a projected ``kube-api-access-xxxxx``
    volume (token + kube-root-ca.crt + namespace) is mounted at
    /var/run/secrets/kubernetes.io/serviceaccount in every container."""
    ns = obj["metadata"]["namespace"]
    spec = obj["spec"]
    sa_name = spec.get("serviceAccountName") or "default"
    sa = store._objects.get(("", "serviceaccounts"), {}).get((ns, sa_name))
    if sa is None:
        raise errors.forbidden("", "pods", obj["metadata"].get("name", ""),
                               'error looking up service account %s/%s: serviceaccount "%s" not found'
                               % (ns, sa_name, sa_name))
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        automount = sa.get("automountServiceAccountToken", True)
    if automount is False:
        return
    mount_path = "/var/run/secrets/kubernetes.io/serviceaccount"
    vols = spec.setdefault("volumes", [])
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if any(m.get("mountPath") == mount_path for m in c.get("volumeMounts") or []):
            return
    name = "kube-api-access-" + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
    vols.append({"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}})
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        c.setdefault("volumeMounts", []).append(
            {"name": name, "readOnly": True, "mountPath": mount_path})


def _admit_pvc(store, obj):
    """DefaultStorageClass admission (plugin/pkg/admission/storage/storageclass/setdefault)."""
    spec = obj["spec"]
    if "storageClassName" in spec:
        return
    for sc in store._objects.get(("storage.k8s.io", "storageclasses"), {}).values():
        ann = sc["metadata"].get("annotations") or {}
        if ann.get("storageclass.kubernetes.io/is-default-class") == "true":
            spec["storageClassName"] = sc["metadata"]["name"]
            return


# ---------------------------------------------------------------------------- create
def prepare_create(store, res, obj):
    meta = obj["metadata"]
    normalize_times(obj)
    if res.has_status and res.plural not in ("namespaces",) and not res.crd:
        # status is reset on create for kinds with a status subresource (PrepareForCreate)
        obj.pop("status", None)
    elif res.crd and res.has_status:
        obj.pop("status", None)
    set_defaults(store, res, obj)
    if res.group == "" and res.plural == "pods":
        obj["status"] = {"phase": "Pending", "qosClass": _qos(obj["spec"])}
        if meta.get("namespace") and "name" in meta:
            _admit_pod(store, obj)
    if res.group == "" and res.plural == "persistentvolumeclaims":
        _admit_pvc(store, obj)
    if res.group == "apps" and "status" not in obj:
        # PrepareForCreate resets status; non-omitempty fields serialise as 0
        # (staging/src/k8s.io/api/apps/v1/types.go: StatefulSetStatus.replicas, ReplicaSetStatus.replicas,
        # DaemonSetStatus.{currentNumberScheduled,numberMisscheduled,desiredNumberScheduled,numberReady})
        obj["status"] = {
            "deployments": {},
            "statefulsets": {"replicas": 0, "availableReplicas": 0},
            "replicasets": {"replicas": 0},
            "daemonsets": {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                           "desiredNumberScheduled": 0, "numberReady": 0},
        }.get(res.plural, {})
    if res.group == "batch" and res.plural == "jobs":
        obj["status"] = {}
    if res.group == "" and res.plural == "secrets":
        _fill_sa_token_secret(store, obj)
    if res.group == "apiextensions.k8s.io" and res.plural == "customresourcedefinitions":
        crd_status(obj)


def _qos(spec):
    limits_all, any_req = True, False
    for c in spec.get("containers") or []:
        r = c.get("resources") or {}
        if r.get("requests") or r.get("limits"):
            any_req = True
        lim = r.get("limits") or {}
        if not (lim.get("cpu") and lim.get("memory")):
            limits_all = False
    if not any_req:
        return "BestEffort"
    return "Guaranteed" if limits_all else "Burstable"


def _fill_sa_token_secret(store, obj):
    """Legacy ServiceAccount token Secrets: the token controller
    (pkg/controller/serviceaccount/tokens_controller.go) fills token, ca.crt and namespace and
    sets the service-account.uid annotation. Done synchronously here."""
    if obj.get("type") != "kubernetes.io/service-account-token":
        return
    ann = obj["metadata"].setdefault("annotations", {})
    sa_name = ann.get("kubernetes.io/service-account.name")
    ns = obj["metadata"].get("namespace")
    if not sa_name:
        raise errors.invalid("", "Secret", obj["metadata"].get("name", ""), [FieldError(
            "Required", "metadata.annotations[kubernetes.io/service-account.name]")])
    sa = store._objects.get(("", "serviceaccounts"), {}).get((ns, sa_name))
    if sa is None or store.token_signer is None:
        return  # upstream: the token controller leaves it / deletes it; nothing filled
    ann["kubernetes.io/service-account.uid"] = sa["metadata"]["uid"]
    token = store.token_signer(ns, sa_name, sa["metadata"]["uid"], secret=obj["metadata"].get("name"))
    data = obj.setdefault("data", {})
    data["token"] = base64.b64encode(token.encode()).decode()
    data["ca.crt"] = base64.b64encode(store.ca_pem.encode()).decode()
    data["namespace"] = base64.b64encode(ns.encode()).decode()


def _meta_errors(res, obj, creating=True):
    errs = []
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        if creating:
            errs.append(FieldError("Required", "metadata.name",
                                   detail="name or generateName is required"))
    else:
        for msg in _name_validator(res)(name):
            errs.append(FieldError("Invalid", "metadata.name", name, msg))
    for k, v in (meta.get("labels") or {}).items():
        if not isinstance(v, str) or (v and not re.fullmatch(QUALIFIED_NAME_FMT, v)) or len(v) > 63:
            errs.append(FieldError("Invalid", "metadata.labels", v, regex_error(
                LABEL_VALUE_MSG, "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", "MyValue", "my_value", "12345")))
        kname = k.rsplit("/", 1)[-1]
        if not re.fullmatch(QUALIFIED_NAME_FMT, kname) or len(kname) > 63:
            errs.append(FieldError("Invalid", "metadata.labels", k, regex_error(
                QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")))
    for k, v in (meta.get("annotations") or {}).items():
        if not isinstance(v, str):
            errs.append(FieldError("Invalid", "metadata.annotations", v, "must be a string"))
    return errs


def _container_errors(path, containers, required=True):
    errs = []
    if required and not containers:
        errs.append(FieldError("Required", path, detail=""))
    seen = set()
    for i, c in enumerate(containers or []):
        p = "%s[%d]" % (path, i)
        n = c.get("name")
        if not n:
            errs.append(FieldError("Required", p + ".name"))
        else:
            for msg in is_dns1123_label(n):
                errs.append(FieldError("Invalid", p + ".name", n, msg))
            if n in seen:
                errs.append(FieldError("Duplicate", p + ".name", n))
            seen.add(n)
        if not c.get("image"):
            errs.append(FieldError("Required", p + ".image"))
        for j, port in enumerate(c.get("ports") or []):
            cp = port.get("containerPort")
            if not isinstance(cp, int) or not 0 < cp < 65536:
                errs.append(FieldError("Invalid", "%s.ports[%d].containerPort" % (p, j), cp,
                                       "must be between 1 and 65535, inclusive"))
    return errs


# pkg/apis/core/validation/validation.go validateVolumeSource: the sources in the order they are
# counted; the second one found is "Forbidden: may not specify more than 1 volume type". (A volume
# with no source at all is defaulted to emptyDir, pkg/apis/core/v1/defaults.go SetDefaults_Volume.)
VOLUME_SOURCES = ("emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs",
                  "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
                  "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "projected",
                  "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image")


def _volume_source_errors(path, volume):
    errs, found = [], 0
    for source in VOLUME_SOURCES:
        if volume.get(source) is None:
            continue
        if found:
            errs.append(FieldError("Forbidden", "%s.%s" % (path, source), detail="may not specify more than 1 volume type"))
        found += 1
    return errs


def _pod_spec_errors(path, spec):
    errs = _container_errors(path + ".containers", (spec or {}).get("containers"))
    errs += _container_errors(path + ".initContainers", (spec or {}).get("initContainers"), False)
    vols = set()
    for i, v in enumerate((spec or {}).get("volumes") or []):
        n = v.get("name")
        if not n:
            errs.append(FieldError("Required", "%s.volumes[%d].name" % (path, i)))
        elif n in vols:
            errs.append(FieldError("Duplicate", "%s.volumes[%d].name" % (path, i), n))
        vols.add(n)
        errs += _volume_source_errors("%s.volumes[%d]" % (path, i), v)
    for key in ("containers", "initContainers"):
        for i, c in enumerate((spec or {}).get(key) or []):
            for j, m in enumerate(c.get("volumeMounts") or []):
                if m.get("name") not in vols:
                    errs.append(FieldError("NotFound", "%s.%s[%d].volumeMounts[%d].name"
                                           % (path, key, i, j), m.get("name")))
                if not m.get("mountPath"):
                    errs.append(FieldError("Required", "%s.%s[%d].volumeMounts[%d].mountPath"
                                           % (path, key, i, j)))
    rp = (spec or {}).get("restartPolicy")
    if rp not in (None, "Always", "OnFailure", "Never"):
        errs.append(FieldError("NotSupported", path + ".restartPolicy", rp,
                               'supported values: "Always", "OnFailure", "Never"'))
    return errs


def _selector_template_errors(obj):
    errs = []
    spec = obj.get("spec") or {}
    sel = spec.get("selector")
    if not sel:
        errs.append(FieldError("Required", "spec.selector"))
    else:
        from .selectors import selector_from_label_selector_object
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            errs.append(FieldError("Invalid", "spec.selector", sel,
                                   "empty selector is invalid for deployment"))
        elif not selector_from_label_selector_object(sel).matches(labels):
            errs.append(FieldError("Invalid", "spec.template.metadata.labels", labels,
                                   "`selector` does not match template `labels`"))
    errs += _pod_spec_errors("spec.template.spec", (spec.get("template") or {}).get("spec"))
    return errs


def _kind_errors(store, res, obj):
    g, p = res.group, res.plural
    errs = []
    spec = obj.get("spec") or {}
    if g == "" and p == "pods":
        errs += _pod_spec_errors("spec", spec)
    elif g == "" and p == "services":
        t = spec.get("type")
        if t not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            errs.append(FieldError("NotSupported", "spec.type", t,
                                   'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'))
        ports = spec.get("ports") or []
        if not ports and t != "ExternalName" and spec.get("clusterIP") != "None":
            errs.append(FieldError("Required", "spec.ports"))
        names = set()
        for i, port in enumerate(ports):
            pn = port.get("port")
            if not isinstance(pn, int) or not 0 < pn < 65536:
                errs.append(FieldError("Invalid", "spec.ports[%d].port" % i, pn,
                                       "must be between 1 and 65535, inclusive"))
            if len(ports) > 1 and not port.get("name"):
                errs.append(FieldError("Required", "spec.ports[%d].name" % i))
            if port.get("name") in names:
                errs.append(FieldError("Duplicate", "spec.ports[%d].name" % i, port.get("name")))
            names.add(port.get("name"))
            np_ = port.get("nodePort")
            if np_ is not None and t == "ClusterIP":
                errs.append(FieldError("Forbidden", "spec.ports[%d].nodePort" % i,
                                       detail="may not be used when `type` is 'ClusterIP'"))
            elif np_ is not None and not 30000 <= int(np_) <= 32767:
                errs.append(FieldError("Invalid", "spec.ports[%d].nodePort" % i, np_,
                                       "provided port is not in the valid range. The range of valid ports is 30000-32767"))
    elif g == "" and p in ("configmaps", "secrets"):
        for key in list((obj.get("data") or {}).keys()) + list((obj.get("binaryData") or obj.get("stringData") or {}).keys()):
            if not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
                errs.append(FieldError("Invalid", "data[%s]" % key, key,
                                       "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                                       "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                                       "validation is '[-._a-zA-Z0-9]+')"))
        if p == "secrets":
            for k, v in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(v or "", validate=True)
                except Exception:
                    errs.append(FieldError("Invalid", "data[%s]" % k, "<secret contents redacted>",
                                           "illegal base64 data"))
    elif g == "" and p == "persistentvolumeclaims":
        if not spec.get("accessModes"):
            errs.append(FieldError("Required", "spec.accessModes", detail="at least 1 access mode is required"))
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            errs.append(FieldError("Required", "spec.resources[storage]"))
    elif g == "" and p == "persistentvolumes":
        if not spec.get("accessModes"):
            errs.append(FieldError("Required", "spec.accessModes"))
        if not (spec.get("capacity") or {}).get("storage"):
            errs.append(FieldError("Required", "spec.capacity"))
    elif g == "apps" and p in ("deployments", "replicasets", "statefulsets", "daemonsets"):
        errs += _selector_template_errors(obj)
        strategy = spec.get("strategy") or {}
        if p == "deployments" and strategy.get("type") == "Recreate" and strategy.get("rollingUpdate") is not None:
            # pkg/apis/apps/validation/validation.go ValidateDeploymentStrategy
            errs.append(FieldError("Forbidden", "spec.strategy.rollingUpdate",
                                   detail="may not be specified when strategy `type` is 'Recreate'"))
        if p == "statefulsets" and spec.get("template"):
            pass
    elif g == "batch" and p == "jobs":
        errs += _pod_spec_errors("spec.template.spec", (spec.get("template") or {}).get("spec"))
        rp = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
        if rp not in ("OnFailure", "Never"):
            errs.append(FieldError("NotSupported", "spec.template.spec.restartPolicy", rp,
                                   'supported values: "OnFailure", "Never"'))
    elif g == "rbac.authorization.k8s.io" and p in ("rolebindings", "clusterrolebindings"):
        ref = obj.get("roleRef") or {}
        if not ref.get("name"):
            errs.append(FieldError("Required", "roleRef.name"))
        if ref.get("kind") not in ("Role", "ClusterRole"):
            errs.append(FieldError("NotSupported", "roleRef.kind", ref.get("kind"),
                                   'supported values: "Role", "ClusterRole"'))
        if p == "clusterrolebindings" and ref.get("kind") == "Role":
            errs.append(FieldError("NotSupported", "roleRef.kind", "Role", 'supported values: "ClusterRole"'))
    elif g == "rbac.authorization.k8s.io" and p in ("roles", "clusterroles"):
        for i, rule in enumerate(obj.get("rules") or []):
            if not rule.get("verbs"):
                errs.append(FieldError("Required", "rules[%d].verbs" % i, detail="verbs must contain at least one value"))
    elif g == "apiextensions.k8s.io" and p == "customresourcedefinitions":
        names = spec.get("names") or {}
        expect = "%s.%s" % (names.get("plural"), spec.get("group"))
        if obj["metadata"].get("name") != expect:
            errs.append(FieldError("Invalid", "metadata.name", obj["metadata"].get("name"),
                                   'must be spec.names.plural+"."+spec.group'))
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            errs.append(FieldError("NotSupported", "spec.scope", spec.get("scope"),
                                   'supported values: "Cluster", "Namespaced"'))
        if not spec.get("versions"):
            errs.append(FieldError("Required", "spec.versions"))
    return errs


def validate_create(store, res, obj):
    errs = _meta_errors(res, obj) + _kind_errors(store, res, obj)
    if errs:
        raise errors.invalid(res.group, res.kind, obj["metadata"].get("name", ""), errs)


# ---------------------------------------------------------------------------- update
def prepare_update(store, res, old, new, subresource):
    normalize_times(new)
    if subresource is None:
        set_defaults_update(store, res, old, new)
    if res.group == "" and res.plural == "services" and subresource is None:
        # pkg/registry/core/service/storage/storage.go patchAllocatedValues: an update that
        # leaves clusterIP / nodePorts empty keeps the allocated ones
        ospec, nspec = old.get("spec") or {}, new.get("spec") or {}
        if not nspec.get("clusterIP") and ospec.get("clusterIP"):
            nspec["clusterIP"] = ospec["clusterIP"]
            nspec["clusterIPs"] = ospec.get("clusterIPs", [ospec["clusterIP"]])
        if not nspec.get("clusterIPs") and nspec.get("clusterIP"):
            nspec["clusterIPs"] = [nspec["clusterIP"]]
        if nspec.get("type") in ("NodePort", "LoadBalancer"):
            olds = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                    for p in ospec.get("ports") or []}
            for p in nspec.get("ports") or []:
                if not p.get("nodePort") and olds.get((p.get("port"), p.get("protocol", "TCP"))):
                    p["nodePort"] = olds[(p.get("port"), p.get("protocol", "TCP"))]
    if res.group == "" and res.plural == "pods" and subresource is None:
        # the projected SA volume added by admission is kept when a client PUTs the pod back
        pass
    if res.group == "" and res.plural == "namespaces" and subresource is None:
        new["spec"] = old.get("spec", {})
        new["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = new["metadata"]["name"]


def set_defaults_update(store, res, old, new):
    # defaulting runs on every decoded object upstream, so PUT bodies get the same defaults
    saved_status = copy.deepcopy(new.get("status")) if "status" in new else None
    set_defaults(store, res, new)
    if saved_status is not None:
        new["status"] = saved_status
    elif "status" in old and res.has_status:
        new["status"] = old["status"]
    elif "status" in new and "status" not in old:
        new.pop("status")
    if res.group == "" and res.plural == "pods":
        # pod spec is immutable but for images etc.; keep the admission-added SA volume
        ov = [v for v in (old.get("spec") or {}).get("volumes") or [] if v.get("name", "").startswith("kube-api-access-")]
        nv = new["spec"].setdefault("volumes", [])
        names = {v.get("name") for v in nv}
        for v in ov:
            if v["name"] not in names:
                nv.append(v)
        for oc, nc in zip((old.get("spec") or {}).get("containers") or [], new["spec"].get("containers") or []):
            for m in oc.get("volumeMounts") or []:
                if m.get("name", "").startswith("kube-api-access-") and m not in (nc.get("volumeMounts") or []):
                    nc.setdefault("volumeMounts", []).append(m)
    if res.group == "batch" and res.plural == "jobs":
        new["spec"].pop("_generate_selector", None)
        if "selector" in (old.get("spec") or {}) and "selector" not in new["spec"]:
            new["spec"]["selector"] = old["spec"]["selector"]
        otl = (((old.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
        if otl:
            tl = new["spec"].setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
            for k, v in otl.items():
                if k in ("controller-uid", "batch.kubernetes.io/controller-uid", "job-name",
                         "batch.kubernetes.io/job-name"):
                    tl.setdefault(k, v)


def _immutable(path, old, new):
    # field/errors.go + apimachinery validation: "field is immutable"
    if old != new:
        return [FieldError("Invalid", path, new, "field is immutable")]
    return []


def validate_update(store, res, old, new, subresource):
    if subresource is not None:
        return
    g, p = res.group, res.plural
    errs = _meta_errors(res, new, creating=False) + _kind_errors(store, res, new)
    ospec, nspec = old.get("spec") or {}, new.get("spec") or {}
    if old.get("immutable") is True and g == "" and p in ("configmaps", "secrets"):
        # pkg/apis/core/validation ValidateConfigMapUpdate / ValidateSecretUpdate
        if new.get("data") != old.get("data") or new.get("binaryData") != old.get("binaryData"):
            errs.append(FieldError("Forbidden", "data", detail="field is immutable when `immutable` is set"))
        if new.get("immutable") is not True:
            errs.append(FieldError("Forbidden", "immutable", detail="field is immutable when `immutable` is set"))
    if g == "" and p == "secrets" and old.get("type") != new.get("type"):
        errs += _immutable("type", old.get("type"), new.get("type"))
    if g == "" and p == "services":
        # pkg/apis/core/validation/validation.go ValidateServiceUpdate → validateServiceClusterIPsRelatedFields
        if ospec.get("clusterIP") and nspec.get("clusterIP") != ospec.get("clusterIP") \
                and ospec.get("type") != "ExternalName" and nspec.get("type") != "ExternalName":
            errs.append(FieldError("Invalid", "spec.clusterIPs[0]", [nspec.get("clusterIP")],
                                   "may not change once set"))
    if g == "" and p == "persistentvolumeclaims":
        # ValidatePersistentVolumeClaimUpdate: the spec is immutable except resources.requests
        # (expansion) and volumeAttributesClassName; spec.volumeName may be set once (binding)
        o2, n2 = copy.deepcopy(ospec), copy.deepcopy(nspec)
        for sp in (o2, n2):
            (sp.get("resources") or {}).pop("requests", None)
            sp.pop("volumeAttributesClassName", None)
        if not ospec.get("volumeName"):
            o2.pop("volumeName", None)
            n2.pop("volumeName", None)
        if o2 != n2:
            errs.append(FieldError("Forbidden", "spec", detail=
                "spec is immutable after creation except resources.requests and "
                "volumeAttributesClassName for bound claims"))
    if g == "" and p == "persistentvolumes":
        pass
    if g == "" and p == "pods":
        # ValidatePodUpdate: only images, activeDeadlineSeconds, tolerations (additions) may change
        def strip(s):
            s = copy.deepcopy(s)
            for c in (s.get("containers") or []) + (s.get("initContainers") or []):
                c.pop("image", None)
            s.pop("activeDeadlineSeconds", None)
            s.pop("tolerations", None)
            if not ospec.get("nodeName"):
                s.pop("nodeName", None)
            return s
        if strip(ospec) != strip(nspec):
            errs.append(FieldError("Forbidden", "spec", detail=
                "pod updates may not change fields other than `spec.containers[*].image`,"
                "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                "`spec.tolerations` (only additions to existing tolerations),"
                "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"))
    if g == "apps" and p in ("deployments", "replicasets", "daemonsets"):
        # apps/validation ValidateDeploymentUpdate: selector immutable in apps/v1
        if ospec.get("selector") != nspec.get("selector"):
            errs += _immutable("spec.selector", ospec.get("selector"), nspec.get("selector"))
    if g == "apps" and p == "statefulsets":
        # ValidateStatefulSetUpdate: only replicas, ordinals, template, updateStrategy,
        # persistentVolumeClaimRetentionPolicy, minReadySeconds may change
        allowed = ("replicas", "ordinals", "template", "updateStrategy",
                   "persistentVolumeClaimRetentionPolicy", "minReadySeconds", "revisionHistoryLimit")
        if {k: v for k, v in ospec.items() if k not in allowed} != \
                {k: v for k, v in nspec.items() if k not in allowed}:
            errs.append(FieldError("Forbidden", "spec", detail=
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                "'template', 'updateStrategy', 'revisionHistoryLimit', "
                "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
    if g == "batch" and p == "jobs":
        if ospec.get("selector") != nspec.get("selector"):
            errs += _immutable("spec.selector", ospec.get("selector"), nspec.get("selector"))
        if ospec.get("template") != nspec.get("template"):
            errs += _immutable("spec.template", nspec.get("template"), nspec.get("template"))
    if g == "rbac.authorization.k8s.io" and p in ("rolebindings", "clusterrolebindings"):
        if old.get("roleRef") != new.get("roleRef"):
            errs.append(FieldError("Invalid", "roleRef", new.get("roleRef"),
                                   "cannot change roleRef"))
    if g == "storage.k8s.io" and p == "storageclasses":
        for f in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"):
            if old.get(f) != new.get(f):
                errs.append(FieldError("Forbidden", f, detail="updates to %s are forbidden." % f))
    if errs:
        raise errors.invalid(res.group, res.kind, new["metadata"].get("name", ""), errs)


# ---------------------------------------------------------------------------- allocation
def allocate(store, res, obj, old, dry_run):
    """Service clusterIP (10.96.0.0/12) and nodePort (30000-32767) allocation
    (pkg/registry/core/service/ipallocator, portallocator)."""
    if not (res.group == "" and res.plural == "services"):
        return
    spec = obj.setdefault("spec", {})
    if spec.get("type") == "ExternalName":
        return
    ip = spec.get("clusterIP")
    if not ip:
        net = ipaddress.ip_network("%s/%d" % store.cluster_ip_range)
        for _ in range(1000):
            cand = str(net.network_address + random.randint(2, net.num_addresses - 2))
            if cand not in store._ips and cand != "10.96.0.10":
                ip = cand
                break
        spec["clusterIP"] = ip
    elif ip != "None" and old is None:
        if ip in store._ips:
            raise errors.invalid("", "Service", obj["metadata"]["name"], [FieldError(
                "Invalid", "spec.clusterIPs", [ip],
                "failed to allocate IP %s: provided IP is already allocated" % ip)])
        try:
            if ipaddress.ip_address(ip) not in ipaddress.ip_network("%s/%d" % store.cluster_ip_range):
                raise errors.invalid("", "Service", obj["metadata"]["name"], [FieldError(
                    "Invalid", "spec.clusterIPs", [ip],
                    "failed to allocate IP %s: the provided IP (%s) is not in the valid range. The "
                    "range of valid IPs is %s/%d" % (ip, ip, store.cluster_ip_range[0], store.cluster_ip_range[1]))])
        except ValueError:
            raise errors.invalid("", "Service", obj["metadata"]["name"], [FieldError(
                "Invalid", "spec.clusterIPs[0]", ip, "must be a valid IP address")])
    spec["clusterIPs"] = [ip]
    if not dry_run and ip != "None":
        store._ips.add(ip)
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        used_old = {p.get("nodePort") for p in ((old or {}).get("spec") or {}).get("ports") or []}
        for p in spec.get("ports") or []:
            if p.get("nodePort"):
                if p["nodePort"] in store._node_ports and p["nodePort"] not in used_old:
                    raise errors.invalid("", "Service", obj["metadata"]["name"], [FieldError(
                        "Invalid", "spec.ports[0].nodePort", p["nodePort"], "provided port is already allocated")])
            else:
                for _ in range(1000):
                    cand = random.randint(30000, 32767)
                    if cand not in store._node_ports:
                        p["nodePort"] = cand
                        break
            if not dry_run:
                store._node_ports.add(p["nodePort"])
    else:
        for p in spec.get("ports") or []:
            p.pop("nodePort", None)


def _release_service(store, obj):
    spec = obj.get("spec") or {}
    store._ips.discard(spec.get("clusterIP"))
    for p in spec.get("ports") or []:
        store._node_ports.discard(p.get("nodePort"))


# ---------------------------------------------------------------------------- hooks
def after_create(store, res, obj):
    if res.group == "" and res.plural == "namespaces":
        ns = obj["metadata"]["name"]
        # serviceaccounts-controller and root-ca-cert-publisher, done synchronously
        try:
            store._create_locked(store.resource("", "v1", "serviceaccounts"),
                                 {"metadata": {"name": "default", "namespace": ns}}, False, None)
        except errors.ApiError:
            pass
        if store.ca_pem:
            try:
                store._create_locked(store.resource("", "v1", "configmaps"), {
                    "metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                                 "annotations": {"kubernetes.io/description": (
                                     "Contains a CA bundle that can be used to verify the "
                                     "kube-apiserver when using internal endpoints such as the "
                                     "internal service IP or kubernetes.default.svc. No other usage "
                                     "is guaranteed across distributions of Kubernetes clusters.")}},
                    "data": {"ca.crt": store.ca_pem}}, False, None)
            except errors.ApiError:
                pass
    if res.group == "apiextensions.k8s.io" and res.plural == "customresourcedefinitions":
        register_crd(store, obj, set_status=False)


def after_update(store, res, old, obj):
    if res.group == "apiextensions.k8s.io" and res.plural == "customresourcedefinitions":
        register_crd(store, obj, set_status=False)
    if res.group == "" and res.plural == "services":
        _release_service(store, old)
        allocate(store, res, copy.deepcopy(obj), obj, False)


def after_delete(store, res, obj):
    if res.group == "" and res.plural == "services":
        _release_service(store, obj)
    if res.group == "apiextensions.k8s.io" and res.plural == "customresourcedefinitions":
        spec = obj.get("spec") or {}
        for v in spec.get("versions") or []:
            store.registry.remove(spec.get("group"), v.get("name"), (spec.get("names") or {}).get("plural"))
        # CRs are deleted with their CRD (apiextensions finalizer, done synchronously)
        store._objects.pop((spec.get("group"), (spec.get("names") or {}).get("plural")), None)


def register_crd(store, crd, set_status=True):
    from .resources import Resource
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subs = {}
        sr = v.get("subresources") or {}
        if "status" in sr:
            subs["status"] = ("", None, None, ["get", "patch", "update"])
        if "scale" in sr:
            subs["scale"] = ("Scale", "autoscaling", "v1", ["get", "patch", "update"])
        store.registry.add(Resource(
            spec.get("group"), v.get("name"), names.get("plural"), names.get("kind"),
            namespaced=spec.get("scope") == "Namespaced", short_names=names.get("shortNames") or [],
            singular=names.get("singular"), status="status" in sr, generation=True,
            categories=names.get("categories") or [], subresources=subs, crd=crd))
    if set_status:
        crd_status(crd)


def crd_status(crd):
    """status.conditions Established/NamesAccepted + acceptedNames (apiextensions controllers)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    crd.setdefault("status", {})
    crd["status"]["acceptedNames"] = {k: v for k, v in names.items()}
    crd["status"]["storedVersions"] = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
    crd["status"]["conditions"] = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
         "message": "no conflicts found", "lastTransitionTime": crd["metadata"]["creationTimestamp"]},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted",
         "lastTransitionTime": crd["metadata"]["creationTimestamp"]}]


def validate_delete(store, res, obj):
    # NamespaceLifecycle admission: immortal namespaces
    if res.group == "" and res.plural == "namespaces" and obj["metadata"]["name"] in (
            "default", "kube-system", "kube-public"):
        raise errors.forbidden("", "namespaces", obj["metadata"]["name"], "this namespace may not be deleted")


def graceful_delete_seconds(res, obj, grace_period):
    """pkg/registry/core/pod/strategy.go CheckGracefulDelete: pods not yet bound to a node or
    already terminated are deleted at once; otherwise the grace period is the request's or
    spec.terminationGracePeriodSeconds."""
    if res.group == "" and res.plural == "pods":
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        if grace_period is None:
            grace_period = spec.get("terminationGracePeriodSeconds", 30)
        return max(int(grace_period), 0)
    return 0
