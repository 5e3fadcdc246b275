"""Content negotiation: request bodies in (JSON, YAML, protobuf) and what the client accepts out
(plain JSON, Tables, PartialObjectMetadata, aggregated discovery).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import yaml
from aiohttp import web

from kubelite.machinery import errors

MAX_BODY = 3 * 1024 * 1024
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # Kubernetes' default request body limit

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply-cbor",
}


@dataclass
class MediaRange:
    type: str
    params: dict[str, str]


def parse_accept(header: str | None) -> list[MediaRange]:
    out: list[MediaRange] = []
    for part in (header or "").split(","):
        part = part.strip()
        if not part:
            continue
        items = [p.strip() for p in part.split(";")]
        params = {}
        for p in items[1:]:
            k, _, v = p.partition("=")
            params[k.strip()] = v.strip()
        out.append(MediaRange(items[0].lower(), params))
    return out


def wants(accept: list[MediaRange], as_: str, group: str = "meta.k8s.io",
          versions: tuple[str, ...] = ("v1", "v1beta1")) -> str | None:
    """The version of `as=<as_>` the client asks for first, if any."""
    for m in accept:
        if m.params.get("as") == as_ and m.params.get("g") == group and m.params.get("v") in versions:
            return m.params["v"]
    return None


def accepts_json(accept: list[MediaRange]) -> bool:
    if not accept:
        return True
    for m in accept:
        if m.type in ("application/json", "*/*", "application/*", "application/yaml", PROTOBUF) and "as" not in m.params:
            return True
    return False


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


async def read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise errors.new_request_entity_too_large(f"limit is {MAX_BODY}")
    chunks = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_BODY:
            raise errors.new_request_entity_too_large(f"limit is {MAX_BODY}")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_object(body: bytes, content_type: str, *, what: str = "") -> object:
    """Decode a request body to a JSON value (no schema checks)."""
    ct = media_type(content_type)
    if not body.strip():
        raise errors.new_bad_request("the server rejected our request due to an error in our request: empty body")
    if ct in ("", JSON, "text/plain", "application/octet-stream") or ct.endswith("+json"):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise errors.new_bad_request(f"the body of the request could not be decoded as JSON: {e}") from None
    if ct in (YAML, "application/x-yaml", "text/yaml", "application/apply-patch+yaml"):
        if body.lstrip()[:1] in (b"{", b"["):
            try:  # kubectl sends JSON, which is YAML too: take the fast path
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                pass
        try:
            return yaml.load(body, Loader=_YAML_LOADER)
        except yaml.YAMLError as e:
            raise errors.new_bad_request(f"the body of the request could not be decoded as YAML: {e}") from None
    if ct == PROTOBUF:
        return decode_protobuf(body)
    raise errors.new_unsupported_media_type(ct)


def json_response(obj: object, status: int = 200, headers: dict | None = None,
                  content_type: str = "application/json") -> web.Response:
    return web.Response(body=orjson.dumps(obj), status=status, headers={"Content-Type": content_type, **(headers or {})})


def decode_protobuf(body: bytes) -> dict:
    from kubelite.api import protobuf

    return protobuf.decode_object(body)


def decode_json_checked(body: bytes) -> tuple[object, list[str]]:
    """Decode a JSON body and report duplicate fields (for fieldValidation)."""
    if not body.strip():
        raise errors.new_bad_request("the server rejected our request due to an error in our request: empty body")
    from kubelite.api import decode

    return decode.parse_json(body)
