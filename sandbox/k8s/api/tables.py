"""Server-side printing: ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``.

Columns and cell values follow pkg/printers/internalversion/printers.go (AddHandlers:
podColumnDefinitions, deploymentColumnDefinitions, serviceColumnDefinitions, ... and printPod's
status/ready/restarts logic); ages use apimachinery/pkg/util/duration HumanDuration.
Kinds without a printer get NAME + AGE (as the default table convertor does, plus the CRD's
additionalPrinterColumns where given)."""
import datetime


def human_duration(seconds):
    # staging/src/k8s.io/apimachinery/pkg/util/duration/duration.go HumanDuration
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 60 * 2:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 60 * 3:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    return "%dy%dd" % (h // 24 // 365, h // 24 % 365)


def age(obj):
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    try:
        t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())


def col(name, typ="string", desc="", priority=0, fmt=""):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


NAME = col("Name", fmt="name", desc="Name must be unique within a namespace.")
AGE = col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was created.")


def _pod_row(pod):
    # printers.go printPod
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    restarts = 0
    total = len(spec.get("containers") or [])
    ready = 0
    reason = status.get("reason") or status.get("phase") or "Unknown"
    init_statuses = status.get("initContainerStatuses") or []
    initializing = False
    for i, cs in enumerate(init_statuses):
        restarts += cs.get("restartCount", 0)
        st = cs.get("state") or {}
        if "terminated" in st and st["terminated"].get("exitCode") == 0:
            continue
        if "terminated" in st:
            reason = "Init:" + (st["terminated"].get("reason") or "ExitCode:%d" % st["terminated"].get("exitCode", 0))
        elif "waiting" in st and st["waiting"].get("reason") and st["waiting"]["reason"] != "PodInitializing":
            reason = "Init:" + st["waiting"]["reason"]
        else:
            reason = "Init:%d/%d" % (i, len(spec.get("initContainers") or []))
        initializing = True
        break
    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            st = cs.get("state") or {}
            if st.get("waiting", {}).get("reason"):
                reason = st["waiting"]["reason"]
            elif st.get("terminated", {}).get("reason"):
                reason = st["terminated"]["reason"]
            elif "terminated" in st:
                t = st["terminated"]
                reason = "Signal:%d" % t["signal"] if t.get("signal") else "ExitCode:%d" % t.get("exitCode", 0)
            elif "running" in st and cs.get("ready"):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return ["%d/%d" % (ready, total), reason, restarts, age(pod), status.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            "<none>" if not spec.get("readinessGates") else "%d/%d" % (0, len(spec["readinessGates"]))]


def _ports(svc):
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        s = "%s/%s" % (p.get("port"), p.get("protocol", "TCP"))
        if p.get("nodePort"):
            s = "%s:%s/%s" % (p.get("port"), p.get("nodePort"), p.get("protocol", "TCP"))
        out.append(s)
    return ",".join(out) or "<none>"


def _selector(sel):
    if not sel:
        return "<none>"
    return ",".join("%s=%s" % kv for kv in sorted(sel.items()))


def _containers(obj):
    cs = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _job_status(job):
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
            return c["type"]
    return "Running"


PRINTERS = {
    ("", "pods"): ([NAME, col("Ready"), col("Status"), col("Restarts", "string"), AGE,
                    col("IP", priority=1), col("Node", priority=1), col("Nominated Node", priority=1),
                    col("Readiness Gates", priority=1)], _pod_row),
    ("apps", "deployments"): ([NAME, col("Ready"), col("Up-to-date", "integer"), col("Available", "integer"), AGE,
                               col("Containers", priority=1), col("Images", priority=1), col("Selector", priority=1)],
                              lambda d: ["%d/%d" % ((d.get("status") or {}).get("readyReplicas", 0), (d.get("spec") or {}).get("replicas", 0)),
                                         (d.get("status") or {}).get("updatedReplicas", 0),
                                         (d.get("status") or {}).get("availableReplicas", 0), age(d),
                                         *_containers(d), _selector(((d.get("spec") or {}).get("selector") or {}).get("matchLabels"))]),
    ("apps", "replicasets"): ([NAME, col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"), AGE],
                              lambda r: [(r.get("spec") or {}).get("replicas", 0), (r.get("status") or {}).get("replicas", 0),
                                         (r.get("status") or {}).get("readyReplicas", 0), age(r)]),
    ("apps", "statefulsets"): ([NAME, col("Ready"), AGE],
                               lambda s: ["%d/%d" % ((s.get("status") or {}).get("readyReplicas", 0), (s.get("spec") or {}).get("replicas", 0)), age(s)]),
    ("apps", "daemonsets"): ([NAME, col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"),
                              col("Up-to-date", "integer"), col("Available", "integer"), col("Node Selector"), AGE],
                             lambda d: [(d.get("status") or {}).get(k, 0) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled", "numberAvailable")]
                             + [_selector((((d.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeSelector")), age(d)]),
    ("", "services"): ([NAME, col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"), AGE, col("Selector", priority=1)],
                       lambda s: [(s.get("spec") or {}).get("type"), (s.get("spec") or {}).get("clusterIP") or "<none>",
                                  ",".join((s.get("spec") or {}).get("externalIPs") or []) or ("<pending>" if (s.get("spec") or {}).get("type") == "LoadBalancer" else "<none>"),
                                  _ports(s), age(s), _selector((s.get("spec") or {}).get("selector"))]),
    ("", "namespaces"): ([NAME, col("Status"), AGE], lambda n: [(n.get("status") or {}).get("phase", ""), age(n)]),
    ("", "nodes"): ([NAME, col("Status"), col("Roles"), AGE, col("Version")],
                    lambda n: [_node_status(n), ",".join(sorted(k.split("/", 1)[1] for k in (n["metadata"].get("labels") or {}) if k.startswith("node-role.kubernetes.io/"))) or "<none>",
                               age(n), ((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")]),
    ("", "configmaps"): ([NAME, col("Data", "integer"), AGE],
                         lambda c: [len(c.get("data") or {}) + len(c.get("binaryData") or {}), age(c)]),
    ("", "secrets"): ([NAME, col("Type"), col("Data", "integer"), AGE],
                      lambda s: [s.get("type", ""), len(s.get("data") or {}), age(s)]),
    ("", "serviceaccounts"): ([NAME, col("Secrets", "integer"), AGE],
                              lambda s: [len(s.get("secrets") or []), age(s)]),
    ("", "persistentvolumeclaims"): ([NAME, col("Status"), col("Volume"), col("Capacity"), col("Access Modes"),
                                      col("StorageClass"), col("VolumeAttributesClass"), AGE],
                                     lambda p: [(p.get("status") or {}).get("phase", ""), (p.get("spec") or {}).get("volumeName", ""),
                                                ((p.get("status") or {}).get("capacity") or {}).get("storage", ""),
                                                _modes((p.get("status") or {}).get("accessModes")),
                                                (p.get("spec") or {}).get("storageClassName", ""), "<unset>", age(p)]),
    ("", "persistentvolumes"): ([NAME, col("Capacity"), col("Access Modes"), col("Reclaim Policy"), col("Status"),
                                 col("Claim"), col("StorageClass"), col("VolumeAttributesClass"), col("Reason"), AGE],
                                lambda p: [((p.get("spec") or {}).get("capacity") or {}).get("storage", ""),
                                           _modes((p.get("spec") or {}).get("accessModes")),
                                           (p.get("spec") or {}).get("persistentVolumeReclaimPolicy", ""),
                                           (p.get("status") or {}).get("phase", ""), _claim(p),
                                           (p.get("spec") or {}).get("storageClassName", ""), "<unset>",
                                           (p.get("status") or {}).get("reason", ""), age(p)]),
    ("storage.k8s.io", "storageclasses"): ([NAME, col("Provisioner"), col("ReclaimPolicy"), col("VolumeBindingMode"),
                                            col("AllowVolumeExpansion"), AGE],
                                           lambda s: [s.get("provisioner", ""), s.get("reclaimPolicy", ""),
                                                      s.get("volumeBindingMode", ""), str(bool(s.get("allowVolumeExpansion"))).lower(), age(s)]),
    ("batch", "jobs"): ([NAME, col("Status"), col("Completions"), col("Duration"), AGE],
                        lambda j: [_job_status(j), "%d/%d" % ((j.get("status") or {}).get("succeeded", 0), (j.get("spec") or {}).get("completions", 1)),
                                   "", age(j)]),
    # printers.go eventColumnDefinitions: no Name column first (it is a wide column at the end)
    ("", "events"): ([col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message"),
                      col("Subobject", priority=1), col("Source", priority=1), col("First Seen", priority=1),
                      col("Count", priority=1), col("Name", priority=1)],
                     lambda e: [_event_age(e), e.get("type", ""), e.get("reason", ""),
                                "%s/%s" % ((e.get("involvedObject") or {}).get("kind", "").lower(), (e.get("involvedObject") or {}).get("name", "")),
                                e.get("message", ""), (e.get("involvedObject") or {}).get("fieldPath", ""),
                                ", ".join(x for x in ((e.get("source") or {}).get("component", ""), (e.get("source") or {}).get("host", "")) if x),
                                age({"metadata": {"creationTimestamp": e.get("firstTimestamp") or e["metadata"].get("creationTimestamp")}}),
                                e.get("count", 1), e["metadata"]["name"]]),
    ("", "endpoints"): ([NAME, col("Endpoints"), AGE],
                        lambda e: [",".join("%s:%s" % (a.get("ip"), p.get("port")) for s in e.get("subsets") or []
                                            for a in s.get("addresses") or [] for p in s.get("ports") or []) or "<none>", age(e)]),
    ("rbac.authorization.k8s.io", "rolebindings"): ([NAME, col("Role"), AGE],
                                                    lambda b: ["%s/%s" % (b["roleRef"]["kind"], b["roleRef"]["name"]), age(b)]),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): ([NAME, col("Role"), AGE],
                                                           lambda b: ["%s/%s" % (b["roleRef"]["kind"], b["roleRef"]["name"]), age(b)]),
    ("rbac.authorization.k8s.io", "roles"): ([NAME, col("Created At", "date")], lambda r: [r["metadata"].get("creationTimestamp")]),
    ("rbac.authorization.k8s.io", "clusterroles"): ([NAME, col("Created At", "date")], lambda r: [r["metadata"].get("creationTimestamp")]),
    ("networking.k8s.io", "ingresses"): ([NAME, col("Class"), col("Hosts"), col("Address"), col("Ports"), AGE],
                                         lambda i: [(i.get("spec") or {}).get("ingressClassName") or "<none>",
                                                    ",".join(r.get("host", "*") for r in (i.get("spec") or {}).get("rules") or []) or "*",
                                                    "", "443" if (i.get("spec") or {}).get("tls") else "80", age(i)]),
}


def _event_age(e):
    return age({"metadata": {"creationTimestamp": e.get("lastTimestamp") or e.get("eventTime", "")[:19] + "Z"
                             if (e.get("lastTimestamp") or e.get("eventTime")) else e["metadata"].get("creationTimestamp")}})


def _modes(modes):
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(m, m) for m in modes or [])


def _claim(pv):
    ref = (pv.get("spec") or {}).get("claimRef")
    return "%s/%s" % (ref.get("namespace"), ref.get("name")) if ref else ""


def _node_status(n):
    ready = "Unknown"
    for c in (n.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            ready = "Ready" if c.get("status") == "True" else "NotReady"
    if (n.get("spec") or {}).get("unschedulable"):
        ready += ",SchedulingDisabled"
    return ready


def _crd_columns(res):
    crd = res.crd or {}
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == res.version and v.get("additionalPrinterColumns"):
            return v["additionalPrinterColumns"]
    return None


def _jsonpath(obj, path):
    cur = obj
    for part in path.lstrip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def to_table(res, objects, resource_version, include_object="Metadata", cont=None):
    extra = _crd_columns(res) if res.crd else None
    if (res.group, res.plural) in PRINTERS:
        cols, fn = PRINTERS[(res.group, res.plural)]
    elif extra:
        cols = [NAME] + [col(c["name"], c.get("type", "string"), c.get("description", ""), c.get("priority", 0))
                         for c in extra] + ([AGE] if not any(c["name"] == "Age" for c in extra) else [])
        fn = lambda o: [_jsonpath(o, c["jsonPath"]) if c.get("type") != "date" or not _jsonpath(o, c["jsonPath"])
                        else age({"metadata": {"creationTimestamp": _jsonpath(o, c["jsonPath"])}}) for c in extra] \
            + ([age(o)] if not any(c["name"] == "Age" for c in extra) else [])
    else:
        cols, fn = [NAME, AGE], (lambda o: [age(o)])
    rows = []
    for o in objects:
        cells = ([o["metadata"]["name"]] if cols[0] is NAME else []) + list(fn(o))
        cells = cells[:len(cols)] + [""] * (len(cols) - len(cells))
        row = {"cells": cells}
        if include_object == "Object":
            row["object"] = o
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o.get("metadata", {})}
        rows.append(row)
    meta = {"resourceVersion": resource_version}
    if cont:
        meta["continue"] = cont
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": cols, "rows": rows}
