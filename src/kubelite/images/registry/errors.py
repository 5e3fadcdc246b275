"""OCI Distribution error codes and the JSON body registries send (`{"errors":[...]}`).

Hierarchy::

    Exception
      RegistryError   -- code (spec's error code), message, HTTP status, optional detail
                         and extra response headers (e.g. `WWW-Authenticate`, `Range`)

Raised by handlers and the auth filter; the error middleware turns it into the JSON body.
"""

from __future__ import annotations

import json
from typing import Any

BLOB_UNKNOWN = "BLOB_UNKNOWN"
BLOB_UPLOAD_INVALID = "BLOB_UPLOAD_INVALID"
BLOB_UPLOAD_UNKNOWN = "BLOB_UPLOAD_UNKNOWN"
DIGEST_INVALID = "DIGEST_INVALID"
MANIFEST_BLOB_UNKNOWN = "MANIFEST_BLOB_UNKNOWN"
MANIFEST_INVALID = "MANIFEST_INVALID"
MANIFEST_UNKNOWN = "MANIFEST_UNKNOWN"
NAME_INVALID = "NAME_INVALID"
NAME_UNKNOWN = "NAME_UNKNOWN"
SIZE_INVALID = "SIZE_INVALID"
TAG_INVALID = "TAG_INVALID"
UNAUTHORIZED = "UNAUTHORIZED"
DENIED = "DENIED"
UNSUPPORTED = "UNSUPPORTED"
TOOMANYREQUESTS = "TOOMANYREQUESTS"
RANGE_INVALID = "BLOB_UPLOAD_INVALID"

_MESSAGES = {
    BLOB_UNKNOWN: "blob unknown to registry",
    BLOB_UPLOAD_INVALID: "blob upload invalid",
    BLOB_UPLOAD_UNKNOWN: "blob upload unknown to registry",
    DIGEST_INVALID: "provided digest did not match uploaded content",
    MANIFEST_BLOB_UNKNOWN: "manifest references a manifest or blob unknown to registry",
    MANIFEST_INVALID: "manifest invalid",
    MANIFEST_UNKNOWN: "manifest unknown",
    NAME_INVALID: "invalid repository name",
    NAME_UNKNOWN: "repository name not known to registry",
    SIZE_INVALID: "provided length did not match content length",
    TAG_INVALID: "manifest tag did not match URI",
    UNAUTHORIZED: "authentication required",
    DENIED: "requested access to the resource is denied",
    UNSUPPORTED: "the operation is unsupported",
    TOOMANYREQUESTS: "too many requests",
}


class RegistryError(Exception):
    def __init__(self, code: str, status: int, message: str = "", detail: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        self.code = code
        self.status = status
        self.message = message or _MESSAGES.get(code, code.lower())
        self.detail = detail
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    def body(self) -> bytes:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            err["detail"] = self.detail
        return json.dumps({"errors": [err]}).encode()


def blob_unknown(digest: str) -> RegistryError:
    return RegistryError(BLOB_UNKNOWN, 404, detail={"digest": digest})


def manifest_unknown(ref: str) -> RegistryError:
    return RegistryError(MANIFEST_UNKNOWN, 404, detail={"reference": ref} if ref else None)


def name_unknown(name: str) -> RegistryError:
    return RegistryError(NAME_UNKNOWN, 404, detail={"name": name})


def upload_unknown(uuid: str) -> RegistryError:
    return RegistryError(BLOB_UPLOAD_UNKNOWN, 404, detail={"uuid": uuid})


def digest_invalid(expected: str, actual: str = "") -> RegistryError:
    return RegistryError(DIGEST_INVALID, 400, detail={"expected": expected, "actual": actual} if actual else
                         {"digest": expected})
