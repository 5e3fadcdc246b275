"""Discovery documents: /version, legacy /api and /apis, per-group-version resource lists, and the
aggregated v2 / v2beta1 documents kubectl 1.32 asks for first.
"""

from __future__ import annotations

import hashlib

import orjson

from kubelite import KUBERNETES_VERSION
from kubelite.api.scheme import Resource, Scheme

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def version_info() -> dict:
    return {"major": "1", "minor": "32", "gitVersion": KUBERNETES_VERSION,
            "gitCommit": "kubelite", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.23.6", "compiler": "gc", "platform": "linux/amd64"}


class Discovery:
    def __init__(self, scheme: Scheme, served: set[tuple[str, str, str]] | None = None):
        self.scheme = scheme
        self._cache: dict[str, bytes] = {}

    def _resources(self, group: str, version: str) -> list[Resource]:
        return self.scheme.in_group_version(group, version)

    # -- legacy --------------------------------------------------------------------------------
    def api_versions(self, server_address: str) -> dict:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}

    def _group(self, group: str) -> dict:
        versions = self.scheme.versions_of(group)
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}

    def api_group_list(self) -> dict:
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [self._group(g) for g in self.scheme.groups() if g]}

    def api_group(self, group: str) -> dict | None:
        if group not in self.scheme.groups() or not group:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group(group)}

    def resource_list(self, group: str, version: str) -> dict | None:
        rs = self._resources(group, version)
        if not rs:
            return None
        out = []
        for r in rs:
            if r.plural == "bindings" and not group:
                pass
            e = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": list(r.verbs)}
            if r.short_names:
                e["shortNames"] = list(r.short_names)
            if r.categories:
                e["categories"] = list(r.categories)
            if r.stored:
                e["storageVersionHash"] = _hash(f"{r.group}/{r.version}/{r.kind}")
            out.append(e)
            for s in r.subresources:
                se = {"name": f"{r.plural}/{s.name}", "singularName": "", "namespaced": r.namespaced,
                      "kind": s.kind, "verbs": list(s.verbs)}
                if s.group != r.group or s.version != r.version:
                    se["group"] = s.group
                    se["version"] = s.version
                out.append(se)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}

    # -- aggregated ----------------------------------------------------------------------------
    def _aggregated_group(self, group: str) -> dict:
        versions = []
        for v in self.scheme.versions_of(group):
            resources = []
            for r in self._resources(group, v):
                e: dict = {"resource": r.plural, "responseKind": {"group": "", "version": "", "kind": r.kind},
                           "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
                           "verbs": list(r.verbs)}
                if r.short_names:
                    e["shortNames"] = list(r.short_names)
                if r.categories:
                    e["categories"] = list(r.categories)
                subs = []
                for s in r.subresources:
                    rk = {"group": s.group if s.group != r.group else "",
                          "version": s.version if (s.group != r.group or s.version != r.version) else "",
                          "kind": s.kind}
                    subs.append({"subresource": s.name, "responseKind": rk, "verbs": list(s.verbs)})
                if subs:
                    e["subresources"] = subs
                resources.append(e)
            versions.append({"version": v, "resources": resources, "freshness": "Current"})
        return {"metadata": {"name": group, "creationTimestamp": None}, "versions": versions}

    def aggregated(self, core: bool, version: str = "v2") -> bytes:
        key = f"{core}:{version}"
        b = self._cache.get(key)
        if b is None:
            groups = [""] if core else [g for g in self.scheme.groups() if g]
            doc = {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
                   "metadata": {}, "items": [self._aggregated_group(g) for g in groups]}
            b = orjson.dumps(doc)
            self._cache[key] = b
        return b


def _hash(s: str) -> str:
    import base64

    return base64.b64encode(hashlib.sha256(s.encode()).digest()[:8]).decode()
