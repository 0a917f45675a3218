"""ServiceAccount controller + root CA publisher.

The API server creates ``default`` and ``kube-root-ca.crt`` when a namespace is created; like the
real controllers (pkg/controller/serviceaccount/serviceaccounts_controller.go,
pkg/controller/certificates/rootcacertpublisher/publisher.go) this loop re-creates them when
they are deleted and keeps ``ca.crt`` equal to the cluster CA. Legacy token Secrets are filled
by the API server (strategy._fill_sa_token_secret, the tokens controller's job upstream).
"""

import logging

from sandbox.k8s.controllers import Controller
from sandbox.k8s.controllers.util import is_terminating

log = logging.getLogger("sandbox.k8s.serviceaccounts")

ROOT_CA = "kube-root-ca.crt"


class ServiceAccountController(Controller):
    name = "serviceaccount-controller"
    watches = ("namespaces", "serviceaccounts", "configmaps")
    resync = 2.0

    def ca_pem(self):
        return getattr(self.cluster, "ca_pem", None) or getattr(self.store, "ca_pem", "") or ""

    def sync(self):
        namespaces, _ = self.store.list("", "v1", "namespaces")
        sas = {(s["metadata"]["namespace"], s["metadata"]["name"])
               for s in self.store.list("", "v1", "serviceaccounts")[0]}
        cms = {(c["metadata"]["namespace"], c["metadata"]["name"]): c
               for c in self.store.list("", "v1", "configmaps", field_selector=f"metadata.name={ROOT_CA}")[0]}
        ca = self.ca_pem()
        for ns in namespaces:
            if is_terminating(ns) or (ns.get("status") or {}).get("phase") == "Terminating":
                continue
            name = ns["metadata"]["name"]
            if (name, "default") not in sas:
                self._create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                 "metadata": {"name": "default", "namespace": name}})
            if not ca:
                continue
            cm = cms.get((name, ROOT_CA))
            if cm is None:
                self._create("configmaps", {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": ROOT_CA, "namespace": name,
                                 "annotations": {"kubernetes.io/description": (
                                     "Contains a CA bundle that can be used to verify the "
                                     "kube-apiserver when using internal endpoints such as the "
                                     "internal service IP or kubernetes.default.svc. No other "
                                     "usage is guaranteed across distributions of Kubernetes "
                                     "clusters.")}},
                    "data": {"ca.crt": ca}})
            elif (cm.get("data") or {}).get("ca.crt") != ca:
                cm["data"] = {"ca.crt": ca}
                try:
                    self.store.update("", "v1", "configmaps", cm)
                except Exception:
                    log.exception("updating %s/%s", name, ROOT_CA)

    def _create(self, plural, obj):
        try:
            self.store.create("", "v1", plural, obj)
        except Exception as exc:
            if getattr(exc, "code", None) not in (409, 403, 404):
                raise
