"""Host and path matching, and rule precedence (Kubernetes' Ingress path table, ALB patterns)."""

import pytest

from kubelite.lb import FixedResponse, PathMatch, PathMatchType, Router, Rule, host_matches, normalize_host
from kubelite.lb.routing import path_matches

E, P, X = PathMatchType.EXACT, PathMatchType.PREFIX, PathMatchType.PATTERN


# Kubernetes' "Examples" table for Ingress path types (kubernetes.io/docs/concepts/services-networking/ingress)
@pytest.mark.parametrize("kind,path,request_path,matches", [
    (P, "/", "/", True),
    (P, "/", "/anything/at/all", True),
    (E, "/foo", "/foo", True),
    (E, "/foo", "/bar", False),
    (E, "/foo", "/foo/", False),
    (E, "/foo/", "/foo", False),
    (P, "/foo", "/foo", True),
    (P, "/foo", "/foo/", True),
    (P, "/foo/", "/foo", True),
    (P, "/foo/", "/foo/", True),
    (P, "/aaa/bb", "/aaa/bbb", False),
    (P, "/aaa/bbb", "/aaa/bbb", True),
    (P, "/aaa/bbb/", "/aaa/bbb", True),
    (P, "/aaa/bbb", "/aaa/bbb/", True),
    (P, "/aaa/bbb", "/aaa/bbb/ccc", True),
    (P, "/aaa/bbb", "/aaa/bbbxyz", False),
    (P, "/foo", "/FOO", False),
    (X, "/api/*", "/api/v1/x", True),
    (X, "/api/*", "/api", False),
    (X, "/img/?.png", "/img/a.png", True),
    (X, "/img/?.png", "/img/ab.png", False),
    (X, "*", "/whatever", True),
], ids=lambda v: str(v))
def test_path_matching(kind, path, request_path, matches):
    assert path_matches(PathMatch(kind, path), request_path) is matches


@pytest.mark.parametrize("pattern,host,matches", [
    ("foo.bar.com", "foo.bar.com", True),
    ("foo.bar.com", "bar.com", False),
    ("*.foo.com", "bar.foo.com", True),
    ("*.foo.com", "baz.bar.foo.com", False),   # one label only
    ("*.foo.com", "foo.com", False),
    ("*.foo.com", ".foo.com", False),
])
def test_host_matching(pattern, host, matches):
    assert host_matches(pattern, host) is matches


@pytest.mark.parametrize("header,host", [
    ("Foo.Example.COM", "foo.example.com"),
    ("foo.example.com:8080", "foo.example.com"),
    ("foo.example.com.", "foo.example.com"),
    ("[::1]:80", "::1"),
    ("127.0.0.1:80", "127.0.0.1"),
    ("", ""),
])
def test_normalize_host(header, host):
    assert normalize_host(header) == host


def fixed(tag):
    return FixedResponse(200, tag)


def test_rules_apply_in_priority_order_and_default_answers_the_rest():
    r = Router([
        Rule(20, fixed("root"), paths=(PathMatch(P, "/"),)),
        Rule(10, fixed("api"), paths=(PathMatch(P, "/api"),)),
        Rule(5, fixed("exact"), paths=(PathMatch(E, "/api/exact"),)),
    ], fixed("default"))
    assert r.route("x", "/api/exact").action.body == "exact"
    assert r.route("x", "/api/exact/more").action.body == "api"
    assert r.route("x", "/apix").action.body == "root"
    assert r.route("x", "/api").priority == 10
    r2 = Router([Rule(1, fixed("api"), paths=(PathMatch(P, "/api"),))], fixed("default"))
    assert r2.route("x", "/other").action.body == "default"
    assert r2.route("x", "/other").priority is None


def test_hosts_are_indexed_and_fall_through_to_hostless_rules():
    r = Router([
        Rule(1, fixed("a-api"), hosts=("a.example.com",), paths=(PathMatch(P, "/api"),)),
        Rule(2, fixed("wild"), hosts=("*.example.com",)),
        Rule(3, fixed("any-static"), paths=(PathMatch(P, "/static"),)),
        Rule(4, fixed("b"), hosts=("b.example.com", "c.example.com")),
    ], fixed("default"))
    assert r.route("a.example.com", "/api/x").action.body == "a-api"
    assert r.route("a.example.com", "/other").action.body == "wild"      # the wildcard covers a.example.com too
    assert r.route("z.example.com", "/static").action.body == "wild"
    assert r.route("other.org", "/static/x").action.body == "any-static"
    assert r.route("other.org", "/").action.body == "default"
    assert r.route("c.example.com", "/static").action.body == "wild"     # priority 2 beats 4
    assert r.route("x.y.example.com", "/q").action.body == "default"      # wildcard is one label


def test_rule_with_several_paths_matches_any_of_them():
    r = Router([Rule(1, fixed("m"), paths=(PathMatch(E, "/a"), PathMatch(P, "/b")))], fixed("d"))
    assert [r.route("h", p).action.body for p in ("/a", "/a/", "/b/c", "/c")] == ["m", "d", "m", "d"]
