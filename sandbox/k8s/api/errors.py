"""Kubernetes ``Status`` errors.

Reasons, codes and message formats follow
staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go (NewNotFound, NewAlreadyExists,
NewConflict, NewInvalid, NewForbidden, NewGone/NewResourceExpired, NewMethodNotSupported ...).
"""


class ApiError(Exception):
    """An API error that the server answers as a ``Status`` object."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = int(code)
        self.reason = reason
        self.message = message
        self.details = details

    def status_object(self):
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status

    def __repr__(self):
        return "ApiError(%d, %r, %r)" % (self.code, self.reason, self.message)


def qualified(group, plural):
    """``pods`` / ``deployments.apps`` as in schema.GroupResource.String()."""
    return plural if not group else "%s.%s" % (plural, group)


def _details(group, plural, name):
    details = {"name": name, "kind": plural} if name else {"kind": plural}
    if group:
        details["group"] = group
    return details


def not_found(group, plural, name):
    # errors.go NewNotFound: "%s %q not found"
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(group, plural), name),
                    _details(group, plural, name))


def already_exists(group, plural, name):
    # errors.go NewAlreadyExists: "%s %q already exists"
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(group, plural), name),
                    _details(group, plural, name))


def conflict(group, plural, name, why):
    # errors.go NewConflict: "Operation cannot be fulfilled on %s %q: %v"
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s'
                    % (qualified(group, plural), name, why), _details(group, plural, name))


# registry/generic/registry/store.go and storage/errors.go: OptimisticLockErrorMsg
OPTIMISTIC_LOCK_MSG = ("the object has been modified; please apply your changes to the latest "
                       "version and try again")


def stale(group, plural, name):
    return conflict(group, plural, name, OPTIMISTIC_LOCK_MSG)


def gone(message):
    # errors.go NewResourceExpired: 410, reason Expired (used for "too old resource version")
    return ApiError(410, "Expired", message)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def forbidden(group, plural, name, message):
    # errors.go NewForbidden: "%s %q is forbidden: %v" (name "" -> "%s is forbidden: %v")
    res = qualified(group, plural)
    if name:
        text = '%s "%s" is forbidden: %s' % (res, name, message)
    else:
        text = "%s is forbidden: %s" % (res, message)
    return ApiError(403, "Forbidden", text, _details(group, plural, name))


def unauthorized(message="Unauthorized"):
    return ApiError(401, "Unauthorized", message)


def method_not_supported(group, plural, action):
    # errors.go NewMethodNotSupported: "%s is not supported on resources of kind %q"
    return ApiError(405, "MethodNotAllowed",
                    '%s is not supported on resources of kind "%s"' % (action, qualified(group, plural)),
                    {"group": group, "kind": plural} if group else {"kind": plural})


def unsupported_media_type(content_type):
    # handlers/rest.go: NewUnsupportedMediaTypeError -> "the body of the request was in an unknown format - accepted media types include: ..."
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json-patch+json, application/merge-patch+json, "
                    "application/apply-patch+yaml, application/strategic-merge-patch+json"
                    if content_type is None else
                    'the body of the request was in an unknown format - accepted media types include: '
                    'application/json, application/yaml, application/vnd.kubernetes.protobuf')


def internal(message):
    return ApiError(500, "InternalError", "Internal error occurred: %s" % message)


class FieldError:
    """One field.Error (apimachinery/pkg/util/validation/field/errors.go)."""

    def __init__(self, kind, field, value=None, detail="", has_value=True):
        self.kind = kind  # Invalid, Required, Forbidden, NotSupported, Duplicate, TooLong
        self.field = field
        self.value = value
        self.detail = detail
        self.has_value = has_value

    def reason(self):
        return {
            "Invalid": "FieldValueInvalid", "Required": "FieldValueRequired",
            "Forbidden": "FieldValueForbidden", "NotSupported": "FieldValueNotSupported",
            "Duplicate": "FieldValueDuplicate", "TooLong": "FieldValueTooLong",
        }.get(self.kind, "FieldValueInvalid")

    def body(self):
        # field/errors.go Error.ErrorBody(): "<Type>: <value>: <detail>"
        # ErrorTypeInvalid String() is "Invalid value", Required "Required value", etc.
        label = {
            "Invalid": "Invalid value", "Required": "Required value", "Forbidden": "Forbidden",
            "NotSupported": "Unsupported value", "Duplicate": "Duplicate value",
            "TooLong": "Too long",
        }.get(self.kind, self.kind)
        if self.kind in ("Required", "Forbidden", "TooLong") or not self.has_value:
            text = label
        else:
            text = "%s: %s" % (label, _go_repr(self.value))
        if self.detail:
            text += ": " + self.detail
        return text

    def __str__(self):
        return "%s: %s" % (self.field, self.body())


def _go_repr(value):
    # field.Error formats strings with %q and other values with %#v (roughly).
    import json
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def invalid(group, kind, name, errors):
    # errors.go NewInvalid: `%s %q is invalid: %v` with an aggregate "[a, b]" for several errors
    errs = list(errors)
    if len(errs) == 1:
        agg = str(errs[0])
    else:
        agg = "[" + ", ".join(str(e) for e in errs) + "]"
    details = {"name": name, "kind": kind,
               "causes": [{"reason": e.reason(), "message": e.body(), "field": e.field} for e in errs]}
    if group:
        details["group"] = group
    # GroupKind.String(): "Pod", "Deployment.apps"
    qkind = kind if not group else "%s.%s" % (kind, group)
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (qkind, name, agg), details)
