"""Errors of the distribution client.

Hierarchy::

    ImageError (kubelite.images.errors)
      DistributionError       -- a registry answered with an error (HTTP status, spec code, message)
        AuthenticationError   -- 401 after the challenge flow (bad or missing credentials)
        ManifestNotFound      -- the tag or digest does not exist (404 MANIFEST_UNKNOWN / NAME_UNKNOWN)
      TransferError           -- a blob transfer failed after all retries
"""

from __future__ import annotations

import json

from ..errors import ImageError


class DistributionError(ImageError):
    def __init__(self, status: int, code: str = "", message: str = "", url: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message or code or f"HTTP {status}"
        self.url = url
        text = f"{code.lower().replace('_', ' ')}: {self.message}" if code else self.message
        super().__init__(text)

    @classmethod
    def from_body(cls, status: int, body: bytes, url: str = "") -> DistributionError:
        code, message = "", ""
        try:
            errs = json.loads(body).get("errors") or []
            if errs:
                code, message = errs[0].get("code", ""), errs[0].get("message", "")
        except (ValueError, AttributeError):
            message = body[:200].decode(errors="replace").strip()
        kind = cls
        if status == 401:
            kind = AuthenticationError
        elif status == 404 and code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"):
            kind = ManifestNotFound
        return kind(status, code, message, url)


class AuthenticationError(DistributionError):
    pass


class ManifestNotFound(DistributionError):
    pass


class TransferError(ImageError):
    pass
