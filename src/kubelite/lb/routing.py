"""Which action answers a request: host and path matching and rule order (pure).

Hosts are matched case-insensitively without the port; `*.example.com` matches exactly one
label in front of `example.com` (as Kubernetes defines Ingress wildcards). Paths:

- `Exact`: the whole path, case-sensitive.
- `Prefix`: Kubernetes' element-wise prefix. The path is split on "/" and the prefix matches
  when its elements are the first elements of the request's; a trailing slash on either side
  is ignored. `/foo` matches `/foo`, `/foo/` and `/foo/bar`, never `/foobar`; `/` matches all.
- `Pattern`: ALB's path-pattern, where "*" matches any run of characters and "?" one.

Rules are tried in priority order (lowest first) and the first match wins; when none matches,
the listener's default action answers. A `Router` indexes rules by exact host so that a request
only looks at the rules that can apply to its host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .model import Action, PathMatch, PathMatchType, Rule

PathTest = Callable[[str], bool]


def normalize_host(host: str) -> str:
    """The Host header without port or trailing dot, lower case (`[::1]:80` -> `::1`)."""
    host = host.strip()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end].lower() if end > 0 else host.lower()
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".").lower()


def host_matches(pattern: str, host: str) -> bool:
    """`pattern` is an exact name or `*.suffix` (one label); both already lower case."""
    if pattern.startswith("*."):
        first, dot, rest = host.partition(".")
        return bool(first) and bool(dot) and rest == pattern[2:]
    return pattern == host


def prefix_test(prefix: str) -> PathTest:
    """Kubernetes' Prefix match, element by element (trailing slashes ignored)."""
    base = prefix.rstrip("/")
    if not base:
        return lambda path: True
    with_slash = base + "/"

    def test(path: str) -> bool:
        return path == base or path.startswith(with_slash)
    return test


def pattern_test(pattern: str) -> PathTest:
    rx = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
                    re.DOTALL)
    return lambda path: rx.fullmatch(path) is not None


def path_test(match: PathMatch) -> PathTest:
    if match.type is PathMatchType.EXACT:
        value = match.value
        return lambda path: path == value
    if match.type is PathMatchType.PREFIX:
        return prefix_test(match.value)
    return pattern_test(match.value)


def path_matches(match: PathMatch, path: str) -> bool:
    return path_test(match)(path)


@dataclass(frozen=True)
class _Compiled:
    priority: int
    action: Action
    hosts: tuple[str, ...]          # lower case; empty: any host
    wildcard_hosts: tuple[str, ...]
    paths: tuple[PathTest, ...]     # empty: any path

    def matches_path(self, path: str) -> bool:
        if not self.paths:
            return True
        for test in self.paths:
            if test(path):
                return True
        return False

    def may_match_host(self, host: str) -> bool:
        if not self.hosts and not self.wildcard_hosts:
            return True
        if host in self.hosts:
            return True
        return any(host_matches(w, host) for w in self.wildcard_hosts)


@dataclass(frozen=True)
class Route:
    action: Action
    priority: int | None  # None: the listener's default action


class Router:
    """Rules compiled for matching; `route(host, path)` is what a request asks."""

    def __init__(self, rules: tuple[Rule, ...] | list[Rule], default_action: Action) -> None:
        compiled = []
        for r in sorted(rules, key=lambda r: r.priority):
            hosts = tuple(h.lower().rstrip(".") for h in r.hosts)
            compiled.append(_Compiled(r.priority, r.action,
                                      tuple(h for h in hosts if not h.startswith("*")),
                                      tuple(h for h in hosts if h.startswith("*.")),
                                      tuple(path_test(p) for p in r.paths)))
        self.default = Route(default_action, None)
        self._generic = [c for c in compiled if c.wildcard_hosts or not c.hosts]  # for any host
        self._by_host: dict[str, list[_Compiled]] = {}
        for host in {h for c in compiled for h in c.hosts}:
            self._by_host[host] = [c for c in compiled if c.may_match_host(host)]

    def route(self, host: str, path: str) -> Route:
        """`host` normalized (see `normalize_host`), `path` without the query string."""
        known = self._by_host.get(host)
        if known is not None:
            for c in known:  # every one of these accepts this host
                if c.matches_path(path):
                    return Route(c.action, c.priority)
            return self.default
        for c in self._generic:
            if c.wildcard_hosts and not c.may_match_host(host):
                continue
            if c.matches_path(path):
                return Route(c.action, c.priority)
        return self.default
