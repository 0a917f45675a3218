"""Container environment as the kubelet builds it (pkg/kubelet/kubelet_pods.go
makeEnvironmentVariables; service links from pkg/kubelet/envvars/envvars.go FromServices;
$(VAR) expansion from third_party/forked/golang/expansion/expand.go)."""

import base64

from sandbox.k8s.controllers.util import get_path, parse_quantity


class EnvError(Exception):
    """CreateContainerConfigError: the message is what the kubelet shows."""


def _env_name(svc_name):
    return svc_name.upper().replace("-", "_")


def service_env(services):
    """{NAME_SERVICE_HOST, NAME_SERVICE_PORT, NAME_SERVICE_PORT_<P>, NAME_PORT, NAME_PORT_<n>_<PROTO>...}"""
    env = {}
    for svc in services:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None" or spec.get("type") == "ExternalName":
            continue   # only services with a cluster IP get variables (envvars.go)
        ports = spec.get("ports") or []
        if not ports:
            continue
        name = _env_name(svc["metadata"]["name"])
        env[f"{name}_SERVICE_HOST"] = ip
        env[f"{name}_SERVICE_PORT"] = str(ports[0].get("port"))
        for p in ports:
            if p.get("name"):
                env[f"{name}_SERVICE_PORT_{_env_name(p['name'])}"] = str(p.get("port"))
        first = ports[0]
        proto = (first.get("protocol") or "TCP").lower()
        env[f"{name}_PORT"] = f"{proto}://{ip}:{first.get('port')}"
        for p in ports:
            proto_u = (p.get("protocol") or "TCP").upper()
            prefix = f"{name}_PORT_{p.get('port')}_{proto_u}"
            env[prefix] = f"{proto_u.lower()}://{ip}:{p.get('port')}"
            env[prefix + "_PROTO"] = proto_u.lower()
            env[prefix + "_PORT"] = str(p.get("port"))
            env[prefix + "_ADDR"] = ip
    return env


def expand(value, env):
    """$(VAR) -> env[VAR] when defined (else left as is); $$ -> $."""
    out = []
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c == "$" and i + 1 < n:
            nxt = value[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = value.find(")", i + 2)
                if end != -1:
                    name = value[i + 2:end]
                    if name in env:
                        out.append(env[name])
                    else:
                        out.append(value[i:end + 1])
                    i = end + 1
                    continue
        out.append(c)
        i += 1
    return "".join(out)


def field_value(pod, path, node_address=None):
    md = pod.get("metadata") or {}
    if path == "metadata.name":
        return md.get("name", "")
    if path == "metadata.namespace":
        return md.get("namespace", "")
    if path == "metadata.uid":
        return md.get("uid", "")
    if path.startswith("metadata.labels['") or path.startswith('metadata.labels["'):
        return (md.get("labels") or {}).get(path[17:-2], "")
    if path.startswith("metadata.annotations['") or path.startswith('metadata.annotations["'):
        return (md.get("annotations") or {}).get(path[22:-2], "")
    if path == "metadata.labels":
        return "\n".join(f'{k}="{v}"' for k, v in sorted((md.get("labels") or {}).items()))
    if path == "metadata.annotations":
        return "\n".join(f'{k}="{v}"' for k, v in sorted((md.get("annotations") or {}).items()))
    if path == "spec.nodeName":
        return get_path(pod, "spec", "nodeName", default="")
    if path == "spec.serviceAccountName":
        return get_path(pod, "spec", "serviceAccountName", default="")
    if path == "status.hostIP":
        return get_path(pod, "status", "hostIP", default=node_address or "")
    if path == "status.hostIPs":
        return get_path(pod, "status", "hostIP", default=node_address or "")
    if path in ("status.podIP", "status.podIPs"):
        return get_path(pod, "status", "podIP", default="")
    raise EnvError(f"unsupported fieldRef {path}")


def resource_value(container, ref, node_capacity):
    resource = ref.get("resource", "")
    divisor = parse_quantity(ref.get("divisor") or "1") or 1
    kind, _, res = resource.partition(".")
    value = parse_quantity(get_path(container, "resources", kind, res))
    if not value:
        value = parse_quantity(node_capacity.get(res, "0"))
    import math
    return str(int(math.ceil(value / divisor)))


def build_env(pod, container, store, service_list, node_address=None, node_capacity=None,
              enable_service_links=True):
    """Ordered dict of the container's environment; raises EnvError like the kubelet."""
    ns = pod["metadata"].get("namespace", "")
    # the container runtime sets HOSTNAME to the pod's hostname (spec.hostname or the pod name)
    env = {"HOSTNAME": get_path(pod, "spec", "hostname") or pod["metadata"].get("name", "")}
    if enable_service_links:
        env.update(service_env([s for s in service_list if s["metadata"].get("namespace") == ns]))
    # the master service is always injected (kubelet getServiceEnvVarMap: kubernetes.default)
    master = [s for s in service_list
              if s["metadata"].get("namespace") == "default" and s["metadata"]["name"] == "kubernetes"]
    env.update(service_env(master))

    def get_obj(plural, name, optional):
        try:
            return store.get("", "v1", plural, ns, name)
        except Exception:
            if optional:
                return None
            kind = "configmap" if plural == "configmaps" else "secret"
            raise EnvError(f'{kind} "{name}" not found')

    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        if source.get("configMapRef"):
            ref = source["configMapRef"]
            cm = get_obj("configmaps", ref.get("name"), ref.get("optional"))
            for k, v in ((cm or {}).get("data") or {}).items():
                env[prefix + k] = v
        elif source.get("secretRef"):
            ref = source["secretRef"]
            sec = get_obj("secrets", ref.get("name"), ref.get("optional"))
            for k, v in ((sec or {}).get("data") or {}).items():
                env[prefix + k] = base64.b64decode(v).decode("utf-8", "replace")
            for k, v in ((sec or {}).get("stringData") or {}).items():
                env[prefix + k] = v
    for item in container.get("env") or []:
        name = item.get("name")
        if "valueFrom" not in item or item.get("valueFrom") is None:
            env[name] = expand(item.get("value") or "", env)
            continue
        vf = item["valueFrom"]
        if vf.get("fieldRef"):
            env[name] = field_value(pod, vf["fieldRef"].get("fieldPath", ""), node_address)
        elif vf.get("resourceFieldRef"):
            env[name] = resource_value(container, vf["resourceFieldRef"], node_capacity or {})
        elif vf.get("configMapKeyRef"):
            ref = vf["configMapKeyRef"]
            cm = get_obj("configmaps", ref.get("name"), ref.get("optional"))
            if cm is None:
                continue
            data = cm.get("data") or {}
            if ref.get("key") not in data:
                if ref.get("optional"):
                    continue
                raise EnvError(f"couldn't find key {ref.get('key')} in ConfigMap {ns}/{ref.get('name')}")
            env[name] = data[ref["key"]]
        elif vf.get("secretKeyRef"):
            ref = vf["secretKeyRef"]
            sec = get_obj("secrets", ref.get("name"), ref.get("optional"))
            if sec is None:
                continue
            data = sec.get("data") or {}
            if ref.get("key") not in data:
                if ref.get("optional"):
                    continue
                raise EnvError(f"couldn't find key {ref.get('key')} in Secret {ns}/{ref.get('name')}")
            env[name] = base64.b64decode(data[ref["key"]]).decode("utf-8", "replace")
    return env
