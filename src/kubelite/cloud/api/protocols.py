"""The AWS wire protocols the service speaks, as botocore's parsers read them:

- `query` (IAM, STS): form-encoded `Action=...&Version=...`, lists as `Names.member.1`, maps as
  `Tags.member.1.Key`; XML answers `<OpResponse><OpResult>…</OpResult><ResponseMetadata>…`,
  list items `<member>`, errors `<ErrorResponse><Error><Type/><Code/><Message/></Error>`.
- `ec2`: the same form encoding without `member` (`SubnetId.1`, `Filter.1.Value.1`); XML answers
  with lowerCamel names and `<item>` list members; errors `<Response><Errors><Error>…`.
- `rest-json` (EKS): the operation is the method and path; JSON bodies; errors carry the code in
  the `x-amzn-ErrorType` header and `{"message": ...}` plus modelled members in the body.
- `json` 1.1 (Organizations): `X-Amz-Target: <prefix>.<Operation>`; errors as `__type`.

Pure functions: parse a request into parameters, render a result or a `ServiceError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from xml.sax.saxutils import escape

import orjson

from .errors import EC2, JSON, QUERY, REST_JSON, ServiceError


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


# -- query and ec2 requests -------------------------------------------------------------------------


class FormParams:
    """Form parameters of a query or ec2 request, with helpers for their list and map encodings."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.flat: dict[str, str] = {}
        for k, v in pairs:
            self.flat.setdefault(k, v)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.flat.get(name, default)

    def require(self, name: str) -> str:
        v = self.flat.get(name)
        if v is None or v == "":
            from .errors import missing_parameter

            raise missing_parameter(name)
        return v

    def int(self, name: str) -> int | None:
        v = self.flat.get(name)
        if v is None or v == "":
            return None
        try:
            return int(v)
        except ValueError:
            from .errors import validation_error

            raise validation_error(f"Value '{v}' for parameter {name} is invalid. It must be an integer.") from None

    def bool(self, name: str) -> bool | None:
        v = self.flat.get(name)
        return None if v is None else v.lower() == "true"

    def _indexed(self, prefix: str) -> list[int]:
        idx = set()
        for k in self.flat:
            if k.startswith(prefix):
                head = k[len(prefix):].split(".", 1)[0]
                if head.isdigit():
                    idx.add(int(head))
        return sorted(idx)

    def list(self, name: str, *, member: bool = True) -> list[str]:
        """`Name.member.N` (query) or `Name.N` (ec2)."""
        prefix = f"{name}.member." if member else f"{name}."
        return [self.flat[f"{prefix}{i}"] for i in self._indexed(prefix) if f"{prefix}{i}" in self.flat]

    def structs(self, name: str, *, member: bool = True) -> list["FormParams"]:
        """`Name.member.N.Field...` as one `FormParams` per N (with the prefix removed)."""
        prefix = f"{name}.member." if member else f"{name}."
        out = []
        for i in self._indexed(prefix):
            p = f"{prefix}{i}."
            out.append(FormParams([(k[len(p):], v) for k, v in self.flat.items() if k.startswith(p)]))
        return out

    def tags(self, name: str = "Tags") -> list[dict[str, str]]:
        return [{"Key": s.get("Key") or "", "Value": s.get("Value") or ""} for s in self.structs(name)]


# -- XML -----------------------------------------------------------------------------------------


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return escape(str(v))


def to_xml(value: Any, item: str) -> str:
    """Elements for a result: dict keys become element names; lists become `<item>` children
    (`member` or `item`); `None` is left out."""
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if v is None:
                continue
            out.append(f"<{k}>{to_xml(v, item)}</{k}>")
        return "".join(out)
    if isinstance(value, list):
        return "".join(f"<{item}>{to_xml(v, item)}</{item}>" for v in value)
    return _scalar(value)


def render_query(action: str, namespace: str, result: dict | None, request_id: str) -> Response:
    inner = f"<{action}Result>{to_xml(result, 'member')}</{action}Result>" if result is not None else ""
    body = (f'<{action}Response xmlns="{namespace}">{inner}'
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>")
    return Response(200, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode())


def render_ec2(action: str, namespace: str, result: dict, request_id: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<{action}Response xmlns="{namespace}">'
            f"<requestId>{request_id}</requestId>{to_xml(result, 'item')}</{action}Response>")
    return Response(200, {"Content-Type": "text/xml;charset=UTF-8"}, body.encode())


def render_json(result: Any, request_id: str, *, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(status, {"Content-Type": content_type, "x-amzn-RequestId": request_id},
                    orjson.dumps(result if result is not None else {}))


def render_error(protocol: str, err: ServiceError, request_id: str) -> Response:
    if protocol == QUERY:
        kind = "Sender" if err.sender_fault else "Receiver"
        body = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>{kind}</Type>'
                f"<Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return Response(err.status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode())
    if protocol == EC2:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{escape(err.code)}</Code>'
                f"<Message>{escape(err.message)}</Message></Error></Errors><RequestID>{request_id}</RequestID>"
                f"</Response>")
        return Response(err.status, {"Content-Type": "text/xml;charset=UTF-8"}, body.encode())
    doc: dict[str, Any] = {"message": err.message, **err.fields}
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": err.code}
    if protocol == JSON:
        doc["__type"] = err.code
        headers["Content-Type"] = "application/x-amz-json-1.1"
    else:
        headers["Content-Type"] = "application/json"
    return Response(err.status, headers, orjson.dumps(doc))


PROTOCOLS = (REST_JSON, JSON, QUERY, EC2)
