"""The one endpoint (`http://127.0.0.1:4566`) in front of every service.

For each request: recognise the service and its protocol (`X-Amz-Target`, then the SigV4
credential scope, then the form's `Version`, then the path), verify the SigV4 signature against
the IAM store and find the calling `Principal`, hand a `Call` to the service, and render what it
returns or raises in that protocol's envelope. Every failure is an AWS error (4xx for the
caller's mistakes; an unexpected exception is logged and answered 500 `ServerException` /
`InternalFailure`); nothing stops the service.

Paths under `/_kubelite/` are the service's own (the clusters' token-review webhook); they are
routed to registered handlers before any of the above.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable, Protocol

from aiohttp import web

from kubelite.cloud import sigv4

from . import errors
from .errors import EC2, JSON, QUERY, REST_JSON, AuthenticationFailure, ServiceError
from .protocols import FormParams, Response, render_error

log = logging.getLogger(__name__)

# Form `Version` → signing name, for requests whose Authorization header we cannot read.
QUERY_VERSIONS = {"2011-06-15": "sts", "2010-05-08": "iam", "2016-11-15": "ec2", "2015-12-01": "elasticloadbalancing"}
# `X-Amz-Target` prefixes of JSON 1.1 services.
JSON_TARGETS = {"AWSOrganizationsV20161128": "organizations", "CertificateManager": "acm",
                "AmazonEC2ContainerRegistry_V20150921": "ecr"}
REST_PATHS = ("/clusters", "/tags/", "/access-policies", "/addons", "/eks-anywhere")


@dataclass
class Call:
    """One authenticated request, as a service sees it."""

    service: str
    protocol: str
    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    principal: Any                       # iam.store.Principal
    region: str
    request_id: str
    now: datetime
    action: str = ""                     # query/json: the operation; rest-json: set by the service router
    params: FormParams | None = None     # query and ec2 parameters
    extra: dict = field(default_factory=dict)

    @property
    def form(self) -> FormParams:
        """The query or ec2 parameters (empty for other protocols)."""
        return self.params if self.params is not None else FormParams([])

    def json_body(self) -> dict:
        import orjson

        if not self.body:
            return {}
        try:
            doc = orjson.loads(self.body)
        except orjson.JSONDecodeError as e:
            raise errors.serialization_error("Could not parse request body into json: " + str(e)) from e
        if not isinstance(doc, dict):
            raise errors.serialization_error("Request body must be a JSON object")
        return doc


class Service(Protocol):
    name: str       # the signing name (credential scope service)
    protocol: str

    async def handle(self, call: Call) -> Response: ...


class Authenticator(Protocol):
    def secret_for(self, access_key_id: str) -> str | None: ...

    def principal_for_key(self, access_key_id: str, security_token: str = "") -> Any: ...


InternalHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Identified:
    service: str
    protocol: str
    action: str = ""
    params: FormParams | None = None


class Gateway:
    def __init__(self, services: list[Service], iam: Authenticator, clock: Any, *, strict: bool = True,
                 fallback_key: str = "", default_region: str = "us-east-1"):
        self.services = {s.name: s for s in services}
        self.iam = iam
        self.clock = clock
        self.strict = strict
        self.fallback_key = fallback_key
        self.default_region = default_region
        self.internal: dict[str, InternalHandler] = {}
        self.app = web.Application(client_max_size=16 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    def add_internal(self, prefix: str, handler: InternalHandler) -> None:
        self.internal[prefix] = handler

    # -- recognising the service ---------------------------------------------------------------
    def identify(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                 body: bytes) -> Identified:
        lower = {k.lower(): v for k, v in headers.items()}
        target = lower.get("x-amz-target", "")
        if target:
            prefix, _, op = target.partition(".")
            svc = JSON_TARGETS.get(prefix)
            if svc is None:
                raise errors.unknown_operation()
            return Identified(svc, JSON, op)
        scope_service = ""
        auth = lower.get("authorization", "")
        if auth.startswith(sigv4.ALGORITHM):
            try:
                scope_service = sigv4.parse_authorization(auth)[0].service
            except sigv4.SignatureError:
                scope_service = ""
        query_pairs = sigv4.parse_query(raw_query)
        if not scope_service:
            cred = dict(query_pairs).get("X-Amz-Credential", "")
            if cred.count("/") == 4:
                scope_service = cred.split("/")[3]
        form: FormParams | None = None
        ctype = lower.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded") or (method == "GET" and "Action=" in raw_query):
            pairs = list(query_pairs)
            if ctype.startswith("application/x-www-form-urlencoded"):
                pairs += sigv4.parse_query(body.decode("utf-8", "replace"))
            form = FormParams(pairs)
        if not scope_service and form is not None:
            scope_service = QUERY_VERSIONS.get(form.get("Version") or "", "")
        if not scope_service and raw_path.startswith(REST_PATHS):
            scope_service = "eks"
        svc = self.services.get(scope_service)
        if svc is None:
            raise errors.unknown_operation(f"The service '{scope_service or '?'}' is not served here")
        if svc.protocol in (QUERY, EC2):
            if form is None:
                form = FormParams(query_pairs)
            return Identified(svc.name, svc.protocol, form.get("Action") or "", form)
        return Identified(svc.name, svc.protocol)

    # -- the handler ---------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path, _, raw_query = request.raw_path.partition("?")
        for prefix, handler in self.internal.items():
            if raw_path.startswith(prefix):
                return await handler(request)
        request_id = str(uuid.uuid4())
        body = await request.read()
        headers = dict(request.headers)
        protocol = REST_JSON
        try:
            ident = self.identify(request.method, raw_path, raw_query, headers, body)
            protocol = ident.protocol
            principal, region = self.authenticate(request.method, raw_path, raw_query, headers, body)
            call = Call(ident.service, protocol, request.method, raw_path, raw_query, headers, body, principal,
                        region, request_id, self.clock.now(), ident.action, ident.params)
            resp = await self.services[ident.service].handle(call)
        except ServiceError as e:
            resp = render_error(protocol, e, request_id)
        except AuthenticationFailure as e:
            resp = render_error(protocol, errors.auth_error(e.kind, protocol, e.message), request_id)
        except sigv4.SignatureError as e:
            resp = render_error(protocol, errors.auth_error(e.kind, protocol, e.message), request_id)
        except Exception:
            log.exception("internal error serving %s %s", request.method, raw_path)
            code = "ServerException" if protocol == REST_JSON else "InternalFailure"
            resp = render_error(protocol, ServiceError(code, "An internal error occurred.", 500,
                                                       sender_fault=False), request_id)
        return web.Response(status=resp.status, headers=resp.headers, body=resp.body)

    def authenticate(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                     body: bytes) -> tuple[Any, str]:
        """The caller and the region of a SigV4-signed request."""
        now = self.clock.now()
        try:
            v = sigv4.verify_request(method, raw_path, raw_query, headers, body, self.iam.secret_for, now=now)
        except sigv4.SignatureError as e:
            if self.strict or e.kind not in (sigv4.UNKNOWN_KEY, sigv4.MISMATCH):
                raise
            # Permissive mode: any key acts as the starter admin.
            return self.iam.principal_for_key(self.fallback_key), self._region_of(headers, raw_query)
        return self.iam.principal_for_key(v.scope.access_key_id, v.security_token), v.scope.region

    def _region_of(self, headers: dict[str, str], raw_query: str) -> str:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        try:
            return sigv4.parse_authorization(auth)[0].region
        except sigv4.SignatureError:
            return self.default_region
