"""Authentication (bearer tokens) and RBAC authorization.

* Tokens are JWT-shaped (header.payload.signature, HMAC-SHA256 with a per-sandbox key). Claims
  follow pkg/serviceaccount/claims.go (bound tokens: ``kubernetes.io`` private claim) and
  pkg/serviceaccount/legacy.go (legacy Secret tokens: ``kubernetes.io/serviceaccount/...``).
  Authentication re-checks what upstream's validators check: expiry, the ServiceAccount still
  exists with the same uid, the legacy token Secret still exists and holds this token, the bound
  pod still exists.
* Users of ServiceAccount tokens: ``system:serviceaccount:NS:NAME`` in groups
  ``system:serviceaccounts``, ``system:serviceaccounts:NS``, ``system:authenticated``
  (staging/src/k8s.io/apiserver/pkg/authentication/serviceaccount/util.go).
* RBAC as plugin/pkg/auth/authorizer/rbac/rbac.go + pkg/apis/rbac/v1/evaluation_helpers.go
  (VerbMatches, APIGroupMatches, ResourceMatches incl. "*/subresource", ResourceNameMatches,
  NonResourceURLMatches with trailing "*"); ``system:masters`` bypasses RBAC as upstream's
  privileged group authorizer does.
"""
import base64
import hashlib
import hmac
import json
import time
import uuid

from . import errors


class UserInfo:
    def __init__(self, name, uid="", groups=(), extra=None):
        self.name = name
        self.uid = uid
        self.groups = list(groups)
        self.extra = extra or {}

    def to_dict(self):
        d = {"username": self.name, "groups": self.groups}
        if self.uid:
            d["uid"] = self.uid
        if self.extra:
            d["extra"] = self.extra
        return d

    def __repr__(self):
        return "UserInfo(%r, groups=%r)" % (self.name, self.groups)


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenAuthority:
    """Issues and authenticates tokens for one sandbox."""

    ISSUER = "https://kubernetes.default.svc.cluster.local"

    def __init__(self, store, key, admin_token):
        self.store = store
        self.key = key if isinstance(key, bytes) else key.encode()
        self.admin_token = admin_token
        self.kid = hashlib.sha256(self.key).hexdigest()[:43]

    def _sign(self, claims):
        header = _b64(json.dumps({"alg": "HS256", "kid": self.kid}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = hmac.new(self.key, ("%s.%s" % (header, payload)).encode(), hashlib.sha256).digest()
        return "%s.%s.%s" % (header, payload, _b64(sig))

    def issue(self, namespace, sa_name, expiration_seconds=3607, audiences=None, bound_pod=None):
        """A bound token (str) for system:serviceaccount:NS:SA. ApiError 404 if the
        ServiceAccount does not exist."""
        return self.issue_ex(namespace, sa_name, expiration_seconds, audiences, bound_pod)[0]

    def issue_ex(self, namespace, sa_name, expiration_seconds=3607, audiences=None, bound_pod=None):
        """(token, expiry epoch seconds) — TokenRequest."""
        sa = self.store.get("", "v1", "serviceaccounts", namespace, sa_name)
        now = int(time.time())
        priv = {"namespace": namespace,
                "serviceaccount": {"name": sa_name, "uid": sa["metadata"]["uid"]}}
        if bound_pod:
            priv["pod"] = {"name": bound_pod["metadata"]["name"], "uid": bound_pod["metadata"]["uid"]}
        claims = {"aud": list(audiences or [self.ISSUER]), "exp": now + int(expiration_seconds),
                  "iat": now, "nbf": now, "iss": self.ISSUER, "jti": str(uuid.uuid4()),
                  "kubernetes.io": priv,
                  "sub": "system:serviceaccount:%s:%s" % (namespace, sa_name)}
        return self._sign(claims), now + int(expiration_seconds)

    def legacy(self, namespace, sa_name, sa_uid, secret=None):
        """The token of a kubernetes.io/service-account-token Secret (never expires)."""
        claims = {"iss": "kubernetes/serviceaccount",
                  "kubernetes.io/serviceaccount/namespace": namespace,
                  "kubernetes.io/serviceaccount/secret.name": secret or "",
                  "kubernetes.io/serviceaccount/service-account.name": sa_name,
                  "kubernetes.io/serviceaccount/service-account.uid": sa_uid,
                  "sub": "system:serviceaccount:%s:%s" % (namespace, sa_name)}
        return self._sign(claims)

    def authenticate(self, token):
        """UserInfo for a valid token, else None."""
        if not token:
            return None
        if hmac.compare_digest(token, self.admin_token):
            return UserInfo("kubernetes-admin", groups=["kubeadm:cluster-admins", "system:masters",
                                                        "system:authenticated"])
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            expect = hmac.new(self.key, ("%s.%s" % (parts[0], parts[1])).encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expect, _unb64(parts[2])):
                return None
            claims = json.loads(_unb64(parts[1]))
        except Exception:
            return None
        if "kubernetes.io" in claims:
            if claims.get("exp", 0) < time.time():
                return None
            priv = claims["kubernetes.io"]
            ns, name, uid = priv["namespace"], priv["serviceaccount"]["name"], priv["serviceaccount"]["uid"]
            pod = priv.get("pod")
            if pod:
                try:
                    live = self.store.get("", "v1", "pods", ns, pod["name"])
                except errors.ApiError:
                    return None
                if live["metadata"]["uid"] != pod["uid"] or live["metadata"].get("deletionTimestamp"):
                    return None
        else:
            ns = claims.get("kubernetes.io/serviceaccount/namespace")
            name = claims.get("kubernetes.io/serviceaccount/service-account.name")
            uid = claims.get("kubernetes.io/serviceaccount/service-account.uid")
            secret = claims.get("kubernetes.io/serviceaccount/secret.name")
            try:
                sec = self.store.get("", "v1", "secrets", ns, secret)
            except errors.ApiError:
                return None
            if base64.b64decode((sec.get("data") or {}).get("token", "")).decode() != token:
                return None
        try:
            sa = self.store.get("", "v1", "serviceaccounts", ns, name)
        except errors.ApiError:
            return None
        if sa["metadata"]["uid"] != uid:
            return None
        return UserInfo("system:serviceaccount:%s:%s" % (ns, name), uid=uid,
                        groups=["system:serviceaccounts", "system:serviceaccounts:%s" % ns,
                                "system:authenticated"])


class Attributes:
    """authorizer.Attributes for one request."""

    def __init__(self, user, verb, resource_request=True, api_group="", api_version="",
                 resource="", subresource="", namespace="", name="", path=""):
        self.user = user
        self.verb = verb
        self.resource_request = resource_request
        self.api_group = api_group
        self.api_version = api_version
        self.resource = resource
        self.subresource = subresource
        self.namespace = namespace
        self.name = name
        self.path = path


def forbidden_message(a):
    # staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go forbiddenMessage
    if not a.resource_request:
        return 'User "%s" cannot %s path "%s"' % (a.user.name, a.verb, a.path)
    resource = a.resource
    if a.subresource:
        resource += "/" + a.subresource
    if a.namespace:
        return 'User "%s" cannot %s resource "%s" in API group "%s" in the namespace "%s"' % (
            a.user.name, a.verb, resource, a.api_group, a.namespace)
    return 'User "%s" cannot %s resource "%s" in API group "%s" at the cluster scope' % (
        a.user.name, a.verb, resource, a.api_group)


def forbidden_error(a):
    # responsewriters.Forbidden → apierrors.NewForbidden(GroupResource{group, resource}, name, msg)
    if not a.resource_request:
        return errors.ApiError(403, "Forbidden", "forbidden: " + forbidden_message(a),
                               {})
    return errors.forbidden(a.api_group, a.resource, a.name, forbidden_message(a))


def _rule_allows(rule, a):
    verbs = rule.get("verbs") or []
    if "*" not in verbs and a.verb not in verbs:
        return False
    if not a.resource_request:
        for url in rule.get("nonResourceURLs") or []:
            if url == "*" or url == a.path or (url.endswith("*") and a.path.startswith(url[:-1])):
                return True
        return False
    if rule.get("nonResourceURLs") and not rule.get("resources"):
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and a.api_group not in groups:
        return False
    combined = a.resource + ("/" + a.subresource if a.subresource else "")
    ok = False
    for r in rule.get("resources") or []:
        if r == "*" or r == combined:
            ok = True
            break
        if a.subresource and r == "*/" + a.subresource:
            ok = True
            break
    if not ok:
        return False
    names = rule.get("resourceNames") or []
    if names and a.name not in names:
        return False
    return True


def _subject_matches(subject, user, binding_ns):
    kind = subject.get("kind")
    if kind == "User":
        return subject.get("name") == user.name
    if kind == "Group":
        return subject.get("name") in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return user.name == "system:serviceaccount:%s:%s" % (ns, subject.get("name"))
    return False


class RBACAuthorizer:
    def __init__(self, store):
        self.store = store

    def _role_rules(self, ref, ns):
        try:
            if ref.get("kind") == "ClusterRole":
                role = self.store.get("rbac.authorization.k8s.io", "v1", "clusterroles", None, ref.get("name"))
                rules = list(role.get("rules") or [])
                # aggregated ClusterRoles (clusterrole aggregation controller), done at read time
                agg = role.get("aggregationRule") or {}
                if agg.get("clusterRoleSelectors"):
                    from .selectors import selector_from_label_selector_object
                    roles, _ = self.store.list("rbac.authorization.k8s.io", "v1", "clusterroles")
                    for sel in agg["clusterRoleSelectors"]:
                        s = selector_from_label_selector_object(sel)
                        for r in roles:
                            if s.matches(r["metadata"].get("labels")) and r["metadata"]["name"] != ref.get("name"):
                                rules.extend(r.get("rules") or [])
                return rules
            role = self.store.get("rbac.authorization.k8s.io", "v1", "roles", ns, ref.get("name"))
            return list(role.get("rules") or [])
        except errors.ApiError:
            return []

    def authorize(self, a):
        """(allowed: bool, reason: str)"""
        if "system:masters" in a.user.groups:
            return True, ""
        crbs, _ = self.store.list("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
        for b in crbs:
            if any(_subject_matches(s, a.user, "") for s in b.get("subjects") or []):
                for rule in self._role_rules(b.get("roleRef") or {}, None):
                    if _rule_allows(rule, a):
                        return True, 'RBAC: allowed by ClusterRoleBinding "%s" of ClusterRole "%s" to %s' % (
                            b["metadata"]["name"], b["roleRef"]["name"], _describe(a.user))
        if a.namespace and a.resource_request:
            rbs, _ = self.store.list("rbac.authorization.k8s.io", "v1", "rolebindings", a.namespace)
            for b in rbs:
                if any(_subject_matches(s, a.user, a.namespace) for s in b.get("subjects") or []):
                    for rule in self._role_rules(b.get("roleRef") or {}, a.namespace):
                        if _rule_allows(rule, a):
                            return True, 'RBAC: allowed by RoleBinding "%s/%s" of %s "%s" to %s' % (
                                b["metadata"]["name"], a.namespace, b["roleRef"]["kind"],
                                b["roleRef"]["name"], _describe(a.user))
        return False, ""

    def rules_for(self, user, namespace):
        """(resourceRules, nonResourceRules) for SelfSubjectRulesReview."""
        if "system:masters" in user.groups:
            return ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                    [{"verbs": ["*"], "nonResourceURLs": ["*"]}])
        rules = []
        crbs, _ = self.store.list("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
        for b in crbs:
            if any(_subject_matches(s, user, "") for s in b.get("subjects") or []):
                rules += self._role_rules(b.get("roleRef") or {}, None)
        rbs, _ = self.store.list("rbac.authorization.k8s.io", "v1", "rolebindings", namespace)
        for b in rbs:
            if any(_subject_matches(s, user, namespace) for s in b.get("subjects") or []):
                rules += self._role_rules(b.get("roleRef") or {}, namespace)
        res = [{k: r[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if k in r}
               for r in rules if r.get("resources")]
        non = [{k: r[k] for k in ("verbs", "nonResourceURLs") if k in r}
               for r in rules if r.get("nonResourceURLs")]
        return res, non


def _describe(user):
    if user.name.startswith("system:serviceaccount:"):
        _, _, ns, name = user.name.split(":", 3)
        return 'ServiceAccount "%s/%s"' % (name, ns)
    return 'User "%s"' % user.name


RBAC = "rbac.authorization.k8s.io"


def bootstrap_rbac():
    """The default ClusterRoles/Bindings the sandbox needs (subset of
    plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go)."""
    ro = ["get", "list", "watch"]
    rw = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    core_ns = ["pods", "pods/log", "pods/status", "services", "endpoints", "configmaps",
               "persistentvolumeclaims", "serviceaccounts", "events", "replicationcontrollers",
               "limitranges", "resourcequotas"]
    apps = ["deployments", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets",
            "statefulsets/scale", "daemonsets", "controllerrevisions"]
    label = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    ann = {"rbac.authorization.kubernetes.io/autoupdate": "true"}

    def cr(name, rules, extra_labels=None):
        return {"metadata": {"name": name, "labels": dict(label, **(extra_labels or {})),
                             "annotations": ann}, "rules": rules}

    roles = [
        cr("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                             {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        cr("admin", [
            {"apiGroups": [""], "resources": core_ns + ["secrets", "pods/exec", "pods/attach",
                                                        "pods/portforward", "pods/proxy", "services/proxy"], "verbs": rw},
            {"apiGroups": ["apps"], "resources": apps, "verbs": rw},
            {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": rw},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": rw},
            {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": rw},
            {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": rw},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ro},
        ], {"kubernetes.io/bootstrapping": "rbac-defaults"}),
        cr("edit", [
            {"apiGroups": [""], "resources": core_ns + ["secrets", "pods/exec", "pods/attach"], "verbs": rw},
            {"apiGroups": ["apps"], "resources": apps, "verbs": rw},
            {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": rw},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": rw},
            {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": rw},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ro},
        ]),
        cr("view", [
            {"apiGroups": [""], "resources": core_ns + ["namespaces"], "verbs": ro},
            {"apiGroups": ["apps"], "resources": apps, "verbs": ro},
            {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ro},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": ro},
            {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ro},
        ]),
        cr("system:discovery", [{"nonResourceURLs": [
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
            "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
        cr("system:basic-user", [{"apiGroups": ["authorization.k8s.io"], "resources": [
            "selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
        cr("system:public-info-viewer", [{"nonResourceURLs": [
            "/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
    ]
    bindings = []
    for name, group in (("cluster-admin", "system:masters"),
                        ("system:discovery", "system:authenticated"),
                        ("system:basic-user", "system:authenticated"),
                        ("system:public-info-viewer", "system:authenticated")):
        bindings.append({"metadata": {"name": name, "labels": dict(label), "annotations": ann},
                         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": name},
                         "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": group}]})
    bindings.append({"metadata": {"name": "kubeadm:cluster-admins"},
                     "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
                     "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": "kubeadm:cluster-admins"}]})
    return roles, bindings
