"""Turn a request path into Kubernetes' `RequestInfo`: group, version, namespace, resource, name,
subresource and the API verb (get, list, watch, create, update, patch, delete, deletecollection).
"""

from __future__ import annotations

from dataclasses import dataclass

_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}


@dataclass
class RequestInfo:
    is_resource_request: bool
    path: str
    verb: str = ""
    api_prefix: str = ""
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def parse(method: str, path: str, query: dict[str, str] | None = None) -> RequestInfo:
    query = query or {}
    segments = [s for s in path.strip("/").split("/") if s != ""]
    nonres = RequestInfo(False, path, verb=method.lower())
    if not segments or segments[0] not in ("api", "apis"):
        return nonres
    prefix = segments[0]
    rest = segments[1:]
    info = RequestInfo(True, path, api_prefix=prefix)
    if prefix == "api":
        if not rest:
            return nonres
        info.version = rest[0]
        rest = rest[1:]
    else:
        if len(rest) < 2:
            return nonres
        info.group, info.version = rest[0], rest[1]
        rest = rest[2:]
    if not rest:
        return RequestInfo(False, path, verb=method.lower(), api_prefix=prefix, group=info.group,
                           version=info.version)
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    # /watch/... legacy form
    if rest[0] == "watch":
        verb = "watch"
        rest = rest[1:]
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        info.namespace = rest[1]
        # /namespaces/<ns>/<resource>... addresses namespaced resources; /namespaces/<ns>[/status|/finalize]
        # addresses the namespace object itself.
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    if rest:
        info.resource = rest[0]
        if len(rest) > 1:
            info.name = rest[1]
        if len(rest) > 2:
            info.subresource = rest[2]
        info.parts = tuple(rest)
    if info.resource and not info.name and verb == "get":
        verb = "list"
    if verb == "list" and query.get("watch") in ("1", "true"):
        verb = "watch"
    if verb == "delete" and not info.name:
        verb = "deletecollection"
    info.verb = verb
    return info
