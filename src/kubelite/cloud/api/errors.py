"""AWS service errors as data: a code, a message, an HTTP status, and modelled extra members.

    ServiceError                      code, message, status, fields (extra members), sender_fault
    ├── constructors for EKS           resource_not_found, resource_in_use, invalid_parameter,
    │                                  invalid_request, client_error, not_found, bad_request,
    │                                  access_denied, server_error
    ├── constructors for query APIs   no_such_entity, entity_already_exists, invalid_input,
    │                                  malformed_policy_document, limit_exceeded, delete_conflict,
    │                                  validation_error, query_access_denied
    AuthenticationFailure             kind + message; auth_error(kind, protocol, message) renders
                                      it with each protocol's codes

The protocol renderers (`api.protocols`) turn a `ServiceError` into the envelope of the
protocol the request came in (rest-json header + body, query XML, EC2 XML, JSON 1.1 `__type`).
Nothing else in `kubelite.cloud` formats errors. The core (`kubelite.machinery.errors`) never
sees these.
"""

from __future__ import annotations

from typing import Any

from kubelite.cloud import sigv4


class ServiceError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, *, sender_fault: bool = True,
                 **fields: Any):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        self.fields = {k: v for k, v in fields.items() if v is not None}


# -- EKS (rest-json) -----------------------------------------------------------------------------


def resource_not_found(message: str, **fields: Any) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 404, **fields)


def resource_in_use(message: str, **fields: Any) -> ServiceError:
    return ServiceError("ResourceInUseException", message, 409, **fields)


def invalid_parameter(message: str, **fields: Any) -> ServiceError:
    return ServiceError("InvalidParameterException", message, 400, **fields)


def invalid_request(message: str, **fields: Any) -> ServiceError:
    return ServiceError("InvalidRequestException", message, 400, **fields)


def client_error(message: str, **fields: Any) -> ServiceError:
    return ServiceError("ClientException", message, 400, **fields)


def resource_limit_exceeded(message: str, **fields: Any) -> ServiceError:
    return ServiceError("ResourceLimitExceededException", message, 400, **fields)


def not_found(message: str = "Resource was not found") -> ServiceError:
    return ServiceError("NotFoundException", message, 404)


def bad_request(message: str) -> ServiceError:
    return ServiceError("BadRequestException", message, 400)


def access_denied(message: str) -> ServiceError:
    return ServiceError("AccessDeniedException", message, 403)


def server_error(message: str = "An internal error occurred.") -> ServiceError:
    return ServiceError("ServerException", message, 500, sender_fault=False)


def unknown_operation(message: str = "Unknown operation") -> ServiceError:
    return ServiceError("UnknownOperationException", message, 404)


def serialization_error(message: str) -> ServiceError:
    return ServiceError("SerializationException", message, 400)


# -- IAM / STS / EC2 (query and ec2 protocols) ---------------------------------------------------


def no_such_entity(message: str) -> ServiceError:
    return ServiceError("NoSuchEntity", message, 404)


def entity_already_exists(message: str) -> ServiceError:
    return ServiceError("EntityAlreadyExists", message, 409)


def invalid_input(message: str) -> ServiceError:
    return ServiceError("InvalidInput", message, 400)


def malformed_policy_document(message: str) -> ServiceError:
    return ServiceError("MalformedPolicyDocument", message, 400)


def limit_exceeded(message: str) -> ServiceError:
    return ServiceError("LimitExceeded", message, 409)


def delete_conflict(message: str) -> ServiceError:
    return ServiceError("DeleteConflict", message, 409)


def validation_error(message: str) -> ServiceError:
    """The generic query-protocol input error (`ValidationError`, as STS and IAM answer)."""
    return ServiceError("ValidationError", message, 400)


def missing_parameter(name: str) -> ServiceError:
    return ServiceError("MissingParameter", f"The request must contain the parameter {name}", 400)


def invalid_action(action: str, version: str) -> ServiceError:
    return ServiceError("InvalidAction", f"Could not find operation {action} for version {version}", 400)


def query_access_denied(message: str) -> ServiceError:
    return ServiceError("AccessDenied", message, 403)


def ec2_unauthorized(message: str = "You are not authorized to perform this operation.") -> ServiceError:
    return ServiceError("UnauthorizedOperation", message, 403)


def ec2_error(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 400)


# -- authentication failures, as each protocol names them ----------------------------------------


class AuthenticationFailure(Exception):
    """The request could not be authenticated; `kind` is one of `sigv4`'s kinds or
    `expired-token`. The gateway renders it with `auth_error` in the request's protocol."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


REST_JSON = "rest-json"
JSON = "json"
QUERY = "query"
EC2 = "ec2"

_AUTH_CODES = {
    # kind: (rest-json/json code, query code, ec2 code)
    sigv4.MISSING: ("MissingAuthenticationTokenException", "MissingAuthenticationToken", "AuthFailure"),
    sigv4.MALFORMED: ("IncompleteSignatureException", "IncompleteSignature", "AuthFailure"),
    sigv4.UNKNOWN_KEY: ("UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure"),
    sigv4.MISMATCH: ("InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure"),
    sigv4.EXPIRED: ("InvalidSignatureException", "SignatureDoesNotMatch", "RequestExpired"),
    "expired-token": ("ExpiredTokenException", "ExpiredToken", "RequestExpired"),
}


def auth_error(kind: str, protocol: str, message: str) -> ServiceError:
    json_code, query_code, ec2_code = _AUTH_CODES.get(kind, _AUTH_CODES[sigv4.MISMATCH])
    if protocol == EC2:
        if ec2_code == "AuthFailure":
            message = "AWS was not able to validate the provided access credentials"
        return ServiceError(ec2_code, message, 401 if ec2_code == "AuthFailure" else 400)
    if protocol == QUERY:
        return ServiceError(query_code, message, 403)
    return ServiceError(json_code, message, 403)
