"""What every endpoint handler receives: the parsed request, the caller, and helpers to reply."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from kubelite.api.scheme import Resource
from kubelite.machinery import errors

from .. import negotiation
from kubelite.registry.generic.store import UserInfo, WriteOptions
from ..requestinfo import RequestInfo


@dataclass
class RequestContext:
    request: web.Request
    info: RequestInfo
    user: UserInfo
    resource: Resource | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def query(self):
        return self.request.query

    def q(self, name: str, default: str = "") -> str:
        return self.request.query.get(name, default)

    def q_bool(self, name: str) -> bool:
        v = self.request.query.get(name, "")
        return v.lower() in ("true", "1", "t", "yes")

    def q_int(self, name: str) -> int | None:
        v = self.request.query.get(name)
        if v is None or v == "":
            return None
        try:
            return int(v)
        except ValueError:
            raise errors.new_bad_request(f'{name}: Invalid value: "{v}": must be an integer') from None

    @property
    def dry_run(self) -> bool:
        vals = self.request.query.getall("dryRun", [])
        for v in vals:
            if v != "All":
                raise errors.new_bad_request(f'Invalid dry run value: dryRun: Unsupported value: "{v}": '
                                             f'supported values: "All"')
        return bool(vals)

    def field_manager(self, required: bool = False) -> str:
        fm = self.q("fieldManager")
        if not fm:
            if required:
                raise errors.new_bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
            ua = self.request.headers.get("User-Agent", "")
            fm = ua.split("/", 1)[0] if ua else "unknown"
        if len(fm) > 128:
            raise errors.new_bad_request("fieldManager: Too long: may not be longer than 128 characters")
        return fm

    def write_options(self, subresource: str = "", required_manager: bool = False) -> WriteOptions:
        return WriteOptions(dry_run=self.dry_run, field_manager=self.field_manager(required_manager),
                            user=self.user, subresource=subresource, warnings=self.warnings)

    @property
    def accept(self) -> list[negotiation.MediaRange]:
        return negotiation.parse_accept(self.request.headers.get("Accept"))

    def reply(self, obj: object, status: int = 200) -> web.Response:
        headers = {}
        if self.warnings:
            headers["Warning"] = ", ".join(f'299 - "{w}"' for w in dict.fromkeys(self.warnings))
        return negotiation.json_response(obj, status, headers)
