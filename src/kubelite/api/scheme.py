"""The scheme: which resources exist, their group/version/kind, names, scope, verbs, subresources.

Pure data, no behaviour. The API server serves discovery from it; the client maps kinds to paths
with it; strategies (behaviour) are attached elsewhere (`kubelite.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)


@dataclass(frozen=True)
class Subresource:
    name: str
    group: str
    version: str
    kind: str
    verbs: tuple[str, ...]


@dataclass
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    message: str = ""                   # schema message name (kubelite.api.schema)
    stored: bool = True                 # False for virtual resources (reviews, metrics)
    list_kind: str = ""
    storage_version_hash: str = ""

    def __post_init__(self) -> None:
        if not self.list_kind:
            self.list_kind = self.kind + "List"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key_prefix(self) -> str:
        """Storage key prefix: `/registry/<group>/<plural>/` (core: `/registry/core/<plural>/`)."""
        return f"/registry/{self.group or 'core'}/{self.plural}/"

    def key(self, namespace: str, name: str) -> str:
        if self.namespaced:
            return f"{self.key_prefix}{namespace}/{name}"
        return f"{self.key_prefix}{name}"

    def subresource(self, name: str) -> Subresource | None:
        for s in self.subresources:
            if s.name == name:
                return s
        return None


@dataclass
class Scheme:
    resources: list[Resource] = field(default_factory=list)
    group_order: list[str] = field(default_factory=list)

    def add(self, r: Resource) -> Resource:
        self.resources.append(r)
        gv = r.api_version
        if gv not in self.group_order:
            self.group_order.append(gv)
        return r

    def by_gvr(self, group: str, version: str, plural: str) -> Resource | None:
        for r in self.resources:
            if r.group == group and r.version == version and r.plural == plural:
                return r
        return None

    def by_gvk(self, group: str, version: str, kind: str) -> Resource | None:
        for r in self.resources:
            if r.group == group and r.version == version and r.kind == kind:
                return r
        return None

    def by_api_version_kind(self, api_version: str, kind: str) -> Resource | None:
        group, _, version = api_version.rpartition("/")
        return self.by_gvk(group, version, kind)

    def by_kind(self, kind: str) -> Resource | None:
        for r in self.resources:
            if r.kind == kind:
                return r
        return None

    def group_versions(self) -> list[str]:
        return list(self.group_order)

    def in_group_version(self, group: str, version: str) -> list[Resource]:
        return [r for r in self.resources if r.group == group and r.version == version]

    def groups(self) -> list[str]:
        out: list[str] = []
        for gv in self.group_order:
            g = gv.rpartition("/")[0]
            if g not in out:
                out.append(g)
        return out

    def versions_of(self, group: str) -> list[str]:
        out: list[str] = []
        for gv in self.group_order:
            g, _, v = gv.rpartition("/")
            if g == group and v not in out:
                out.append(v)
        return out
