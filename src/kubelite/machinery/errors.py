"""Kubernetes API errors as data: `metav1.Status` and the `StatusError` that carries one.

Hierarchy::

    Exception
      StatusError            -- any API failure with a Status (code, reason, message, details)

Build errors with the constructors (`new_not_found`, `new_conflict`, ...) and test them with
the predicates (`is_not_found`, ...), never by message text. The message formats are the ones
kubectl prints, so they copy Kubernetes' wording exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StatusReason(StrEnum):
    UNKNOWN = ""
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    NOT_FOUND = "NotFound"
    ALREADY_EXISTS = "AlreadyExists"
    CONFLICT = "Conflict"
    GONE = "Gone"
    INVALID = "Invalid"
    SERVER_TIMEOUT = "ServerTimeout"
    TIMEOUT = "Timeout"
    TOO_MANY_REQUESTS = "TooManyRequests"
    BAD_REQUEST = "BadRequest"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    NOT_ACCEPTABLE = "NotAcceptable"
    REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    INTERNAL_ERROR = "InternalError"
    EXPIRED = "Expired"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"


class CauseType(StrEnum):
    NOT_FOUND = "FieldValueNotFound"
    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    INTERNAL = "InternalError"
    TYPE_INVALID = "FieldValueTypeInvalid"
    UNEXPECTED_SERVER_RESPONSE = "UnexpectedServerResponse"
    FIELD_MANAGER_CONFLICT = "FieldManagerConflict"
    RESOURCE_VERSION_TOO_LARGE = "ResourceVersionTooLarge"


@dataclass
class FieldError:
    """One validation failure at a field path (Kubernetes' `field.Error`)."""

    type: CauseType
    field: str
    value: Any = None
    detail: str = ""
    has_value: bool = True

    def error_body(self) -> str:
        """The message part after the field path, as Kubernetes' `ErrorBody` writes it."""
        t = self.type
        if t == CauseType.REQUIRED:
            s = "Required value"
        elif t == CauseType.FORBIDDEN:
            s = "Forbidden"
        elif t == CauseType.TOO_LONG:
            s = "Too long"
        elif t == CauseType.TOO_MANY:
            s = "Too many"
        elif t == CauseType.INTERNAL:
            s = "Internal error"
        elif t == CauseType.NOT_FOUND:
            s = f"Not found: {_format_value(self.value)}"
        elif t == CauseType.DUPLICATE:
            s = f"Duplicate value: {_format_value(self.value)}"
        elif t == CauseType.NOT_SUPPORTED:
            s = f"Unsupported value: {_format_value(self.value)}"
        else:
            s = f"Invalid value: {_format_value(self.value)}" if self.has_value else "Invalid value"
        if self.detail:
            s += f": {self.detail}"
        return s

    def message(self) -> str:
        return f"{self.field}: {self.error_body()}" if self.field else self.error_body()


def _format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if v is None:
        return "null"
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v, separators=(",", ":"))
    return str(v)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(CauseType.REQUIRED, path, None, detail, has_value=False)


def invalid(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(CauseType.INVALID, path, value, detail)


def not_supported(path: str, value: Any, valid: list[str] | tuple[str, ...]) -> FieldError:
    detail = "supported values: " + ", ".join(f'"{v}"' for v in valid) if valid else ""
    return FieldError(CauseType.NOT_SUPPORTED, path, value, detail)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(CauseType.FORBIDDEN, path, None, detail, has_value=False)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(CauseType.DUPLICATE, path, value)


def not_found(path: str, value: Any) -> FieldError:
    return FieldError(CauseType.NOT_FOUND, path, value)


def too_long(path: str, value: Any, max_len: int) -> FieldError:
    return FieldError(CauseType.TOO_LONG, path, value, f"must have at most {max_len} bytes")


@dataclass
class StatusError(Exception):
    """An API failure carrying a `metav1.Status`."""

    code: int
    reason: StatusReason
    message: str
    details: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        return self.message

    def status(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": str(self.reason),
            "code": self.code,
        }
        if not s["reason"]:
            del s["reason"]  # omitted when unknown, as metav1.Status serialises it
        if self.details is not None:
            s["details"] = self.details
        return s


def _qualified(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(group: str, resource: str, name: str, causes: list[dict] | None = None) -> dict:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if resource:
        d["kind"] = resource
    if causes:
        d["causes"] = causes
    return d


def new_not_found(group: str, resource: str, name: str) -> StatusError:
    return StatusError(404, StatusReason.NOT_FOUND, f'{_qualified(group, resource)} "{name}" not found',
                       _details(group, resource, name))


def new_already_exists(group: str, resource: str, name: str) -> StatusError:
    return StatusError(409, StatusReason.ALREADY_EXISTS,
                       f'{_qualified(group, resource)} "{name}" already exists', _details(group, resource, name))


def new_conflict(group: str, resource: str, name: str, err: str) -> StatusError:
    return StatusError(409, StatusReason.CONFLICT,
                       f'Operation cannot be fulfilled on {_qualified(group, resource)} "{name}": {err}',
                       _details(group, resource, name))


OPTIMISTIC_LOCK_MSG = "the object has been modified; please apply your changes to the latest version and try again"


def new_optimistic_conflict(group: str, resource: str, name: str) -> StatusError:
    return new_conflict(group, resource, name, OPTIMISTIC_LOCK_MSG)


def new_invalid(group: str, kind: str, name: str, errs: list[FieldError]) -> StatusError:
    causes = [{"reason": str(e.type), "message": e.error_body(), "field": e.field} for e in errs]
    qualified_kind = f"{kind}.{group}" if group else kind
    if len(errs) == 1:
        body = errs[0].message()
    else:
        body = "[" + ", ".join(e.message() for e in errs) + "]"
    msg = f'{qualified_kind} "{name}" is invalid: {body}'
    return StatusError(422, StatusReason.INVALID, msg, _details(group, kind, name, causes))


def new_bad_request(message: str) -> StatusError:
    return StatusError(400, StatusReason.BAD_REQUEST, message)


def new_unauthorized(message: str = "Unauthorized") -> StatusError:
    return StatusError(401, StatusReason.UNAUTHORIZED, message)


def new_forbidden(group: str, resource: str, name: str, err: str) -> StatusError:
    res = _qualified(group, resource)
    if name:
        msg = f'{res} "{name}" is forbidden: {err}'
    elif res:
        msg = f"{res} is forbidden: {err}"
    else:
        msg = f"forbidden: {err}"
    return StatusError(403, StatusReason.FORBIDDEN, msg, _details(group, resource, name))


def new_method_not_supported(group: str, resource: str, action: str) -> StatusError:
    return StatusError(405, StatusReason.METHOD_NOT_ALLOWED,
                       f"{action} is not supported on resources of kind {_qualified(group, resource)!r}".replace("'", '"'),
                       _details(group, resource, ""))


def new_gone(message: str) -> StatusError:
    return StatusError(410, StatusReason.GONE, message)


def new_resource_expired(message: str) -> StatusError:
    return StatusError(410, StatusReason.EXPIRED, message)


def new_too_many_requests(message: str, retry_after: int = 0) -> StatusError:
    d = {"retryAfterSeconds": retry_after} if retry_after else None
    e = StatusError(429, StatusReason.TOO_MANY_REQUESTS, message, d)
    if retry_after:
        e.headers["Retry-After"] = str(retry_after)
    return e


def new_request_entity_too_large(message: str) -> StatusError:
    return StatusError(413, StatusReason.REQUEST_ENTITY_TOO_LARGE, f"Request entity too large: {message}")


def new_unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(415, StatusReason.UNSUPPORTED_MEDIA_TYPE,
                       f'the body of the request was in an unknown format - accepted media types include: '
                       f'application/json, application/yaml, application/vnd.kubernetes.protobuf',
                       None)


def new_not_acceptable(message: str) -> StatusError:
    return StatusError(406, StatusReason.NOT_ACCEPTABLE, message)


def new_internal_error(err: object) -> StatusError:
    return StatusError(500, StatusReason.INTERNAL_ERROR, f"Internal error occurred: {err}",
                       {"causes": [{"message": str(err)}]})


def new_service_unavailable(message: str) -> StatusError:
    return StatusError(503, StatusReason.SERVICE_UNAVAILABLE, message)


def new_timeout(message: str, retry_after: int = 0) -> StatusError:
    return StatusError(504, StatusReason.TIMEOUT, message, {"retryAfterSeconds": retry_after} if retry_after else None)


def reason_for(e: BaseException) -> StatusReason:
    return e.reason if isinstance(e, StatusError) else StatusReason.UNKNOWN


def is_not_found(e: BaseException) -> bool:
    return reason_for(e) == StatusReason.NOT_FOUND


def is_already_exists(e: BaseException) -> bool:
    return reason_for(e) == StatusReason.ALREADY_EXISTS


def is_conflict(e: BaseException) -> bool:
    return reason_for(e) == StatusReason.CONFLICT


def is_invalid(e: BaseException) -> bool:
    return reason_for(e) == StatusReason.INVALID


def is_forbidden(e: BaseException) -> bool:
    return reason_for(e) == StatusReason.FORBIDDEN


def is_gone(e: BaseException) -> bool:
    return reason_for(e) in (StatusReason.GONE, StatusReason.EXPIRED)


def from_status(status: dict[str, Any]) -> StatusError:
    """Rebuild a StatusError from a Status body received from a server."""
    try:
        reason = StatusReason(status.get("reason", ""))
    except ValueError:
        reason = StatusReason.UNKNOWN
    return StatusError(int(status.get("code") or 500), reason, status.get("message", ""), status.get("details"))
