"""The table of API resources the sandbox serves (built-in kinds + CRD-defined kinds).

Names, short names, verbs and subresources are as `kubectl api-resources -o wide` shows them on a
v1.31 cluster (they come from each registry's ShortNames()/ NamespaceScoped() in
pkg/registry/**/storage/storage.go upstream).
"""
import threading

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
NS_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


class Resource:
    """One served resource (group/version/plural)."""

    def __init__(self, group, version, plural, kind, namespaced=True, short_names=(),
                 verbs=None, subresources=None, singular=None, status=True, generation=False,
                 categories=(), storage=True, crd=None):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.verbs = list(verbs if verbs is not None else VERBS)
        # subresource name -> (kind, group, version, verbs)
        self.subresources = dict(subresources or {})
        self.singular = singular or kind.lower()
        self.has_status = status          # a /status subresource exists: main updates keep status
        self.generation = generation      # metadata.generation is maintained
        self.categories = list(categories)
        self.storage = storage            # False for virtual (create-only review) resources
        self.crd = crd                    # the CRD object for custom resources

    @property
    def api_version(self):
        return self.version if not self.group else "%s/%s" % (self.group, self.version)

    @property
    def key(self):
        return (self.group, self.plural)

    def __repr__(self):
        return "Resource(%s/%s %s)" % (self.group, self.version, self.plural)


def _sub(kind="", verbs=("get", "patch", "update"), group=None, version=None):
    return (kind, group, version, list(verbs))


STATUS = {"status": _sub()}
SCALE = {"scale": _sub("Scale", group="autoscaling", version="v1")}


def _builtin():
    R = Resource
    st = _sub()
    return [
        # core/v1
        R("", "v1", "namespaces", "Namespace", namespaced=False, short_names=["ns"], verbs=NS_VERBS,
          subresources={"status": st, "finalize": _sub(verbs=["update"])}),
        R("", "v1", "nodes", "Node", namespaced=False, short_names=["no"],
          subresources={"status": st, "proxy": _sub("NodeProxyOptions", verbs=["create", "delete", "get", "patch", "update"])}),
        R("", "v1", "pods", "Pod", short_names=["po"], categories=["all"], subresources={
            "status": st,
            "log": _sub("Pod", verbs=["get"]),
            "exec": _sub("PodExecOptions", verbs=["create", "get"]),
            "attach": _sub("PodAttachOptions", verbs=["create", "get"]),
            "portforward": _sub("PodPortForwardOptions", verbs=["create", "get"]),
            "eviction": _sub("Eviction", group="policy", version="v1", verbs=["create"]),
            "binding": _sub("Binding", verbs=["create"]),
            "ephemeralcontainers": _sub("Pod"),
        }),
        R("", "v1", "services", "Service", short_names=["svc"], categories=["all"],
          subresources={"status": st, "proxy": _sub("ServiceProxyOptions", verbs=["create", "delete", "get", "patch", "update"])}),
        R("", "v1", "endpoints", "Endpoints", short_names=["ep"], status=False, singular="endpoints"),
        R("", "v1", "configmaps", "ConfigMap", short_names=["cm"], status=False),
        R("", "v1", "secrets", "Secret", status=False),
        R("", "v1", "serviceaccounts", "ServiceAccount", short_names=["sa"], status=False,
          subresources={"token": _sub("TokenRequest", group="authentication.k8s.io", version="v1", verbs=["create"])}),
        R("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False, short_names=["pv"],
          subresources={"status": st}),
        R("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short_names=["pvc"],
          subresources={"status": st}),
        R("", "v1", "events", "Event", short_names=["ev"], status=False),
        R("", "v1", "limitranges", "LimitRange", short_names=["limits"], status=False),
        R("", "v1", "resourcequotas", "ResourceQuota", short_names=["quota"], subresources={"status": st}),
        R("", "v1", "replicationcontrollers", "ReplicationController", short_names=["rc"],
          categories=["all"], generation=True,
          subresources={"status": st, "scale": _sub("Scale", group="autoscaling", version="v1")}),
        R("", "v1", "bindings", "Binding", verbs=["create"], status=False, storage=False),
        # apps/v1
        R("apps", "v1", "deployments", "Deployment", short_names=["deploy"], categories=["all"],
          generation=True, subresources={"status": st, "scale": SCALE["scale"]}),
        R("apps", "v1", "replicasets", "ReplicaSet", short_names=["rs"], categories=["all"],
          generation=True, subresources={"status": st, "scale": SCALE["scale"]}),
        R("apps", "v1", "statefulsets", "StatefulSet", short_names=["sts"], categories=["all"],
          generation=True, subresources={"status": st, "scale": SCALE["scale"]}),
        R("apps", "v1", "daemonsets", "DaemonSet", short_names=["ds"], categories=["all"],
          generation=True, subresources={"status": st}),
        R("apps", "v1", "controllerrevisions", "ControllerRevision", status=False),
        # batch/v1
        R("batch", "v1", "jobs", "Job", categories=["all"], generation=True, subresources={"status": st}),
        R("batch", "v1", "cronjobs", "CronJob", short_names=["cj"], categories=["all"], generation=True,
          subresources={"status": st}),
        # rbac
        R("rbac.authorization.k8s.io", "v1", "roles", "Role", status=False),
        R("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", status=False),
        R("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False, status=False),
        R("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
          namespaced=False, status=False),
        # storage
        R("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False, short_names=["sc"],
          status=False),
        # networking
        R("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=["netpol"],
          status=False, generation=True),
        R("networking.k8s.io", "v1", "ingresses", "Ingress", short_names=["ing"], generation=True,
          subresources={"status": st}),
        R("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False, status=False),
        # policy
        R("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=["pdb"],
          generation=True, subresources={"status": st}),
        # discovery
        R("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", status=False),
        # events.k8s.io
        R("events.k8s.io", "v1", "events", "Event", short_names=["ev"], status=False),
        # coordination
        R("coordination.k8s.io", "v1", "leases", "Lease", status=False),
        # scheduling
        R("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", namespaced=False,
          short_names=["pc"], status=False),
        # apiextensions
        R("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
          namespaced=False, short_names=["crd", "crds"], generation=True, subresources={"status": st}),
        # authorization / authentication (create-only virtual resources)
        R("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
          namespaced=False, verbs=["create"], status=False, storage=False),
        R("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview",
          namespaced=False, verbs=["create"], status=False, storage=False),
        R("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview",
          namespaced=False, verbs=["create"], status=False, storage=False),
        R("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", namespaced=False,
          verbs=["create"], status=False, storage=False),
        R("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", namespaced=False,
          verbs=["create"], status=False, storage=False),
    ]


# group -> preferred version (all ours have exactly one)
class Registry:
    """Thread-safe lookup of resources; CRDs add and remove entries at run time."""

    def __init__(self):
        self._lock = threading.RLock()
        self._by_gvp = {}
        self._order = []
        for res in _builtin():
            self.add(res)

    def add(self, res):
        with self._lock:
            key = (res.group, res.version, res.plural)
            if key not in self._by_gvp:
                self._order.append(key)
            self._by_gvp[key] = res

    def remove(self, group, version, plural):
        with self._lock:
            key = (group, version, plural)
            if key in self._by_gvp:
                del self._by_gvp[key]
                self._order.remove(key)

    def get(self, group, version, plural):
        with self._lock:
            return self._by_gvp.get((group, version, plural))

    def find_kind(self, group, kind):
        """The resource for (group, kind), any version (first registered)."""
        with self._lock:
            for key in self._order:
                res = self._by_gvp[key]
                if res.group == group and res.kind == kind:
                    return res
        return None

    def by_api_version_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        with self._lock:
            for key in self._order:
                res = self._by_gvp[key]
                if res.group == group and res.version == version and res.kind == kind:
                    return res
        return None

    def all(self):
        with self._lock:
            return [self._by_gvp[k] for k in self._order]

    def groups(self):
        """Ordered {group: [versions]} (core group "" first)."""
        out = {}
        for res in self.all():
            versions = out.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
        return out

    def for_group_version(self, group, version):
        return [r for r in self.all() if r.group == group and r.version == version]
