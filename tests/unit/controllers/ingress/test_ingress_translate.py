"""Ingresses -> load balancer configuration (pure)."""

import base64

from kubelite.controllers.ingress import reasons
from kubelite.controllers.ingress.translate import ClusterView, Options, build, targets_for
from kubelite.lb import Certificate, FixedResponse, Forward, PathMatchType, Redirect, Router, Target, self_signed

DEFAULT_CERT = Certificate("default", *self_signed("default"))


def ingress(name, rules=(), *, ns="default", created="2024-01-01T00:00:00Z", tls=(), default=None, annotations=None):
    spec = {"rules": [{**({"host": h} if h else {}), "http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": s, "port": port}}} for p, t, s, port in paths]}}
        for h, paths in rules]}
    if tls:
        spec["tls"] = list(tls)
    if default:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    return {"metadata": {"name": name, "namespace": ns, "creationTimestamp": created,
                         "annotations": annotations or {}}, "spec": spec}


def service(name, ports=(("http", 80),), ns="default", type_="ClusterIP"):
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"type": type_, "ports": [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports]}}


def eps(svc, port_name, port, *endpoints, ns="default"):
    return {"metadata": {"name": f"{svc}-x", "namespace": ns, "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": cond} for ip, cond in endpoints]}


def tls_secret(name, cert, key, ns="default"):
    return {"metadata": {"name": name, "namespace": ns}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(cert.encode()).decode(),
                     "tls.key": base64.b64encode(key.encode()).decode()}}


READY = {"ready": True, "serving": True, "terminating": False}
TERMINATING = {"ready": False, "serving": True, "terminating": True}
GONE = {"ready": False, "serving": False, "terminating": True}


def view(services=(), slices=(), secrets=()):
    svcs = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in services}
    secs = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in secrets}

    def by_service(ns, name):
        return [s for s in slices if s["metadata"]["namespace"] == ns
                and s["metadata"]["labels"]["kubernetes.io/service-name"] == name]
    return ClusterView(lambda ns, n: svcs.get((ns, n)), by_service, lambda ns, n: secs.get((ns, n)))


N80 = {"number": 80}


def backend_of(plan, listener, host, path):
    lst = next(x for x in plan.config.listeners if x.name == listener)
    action = Router(lst.rules, lst.default_action).route(host, path).action
    if isinstance(action, Forward):
        return action.target_groups[0].name.split("/")[1].split(":")[0]
    return action


def test_precedence_hosts_then_longest_path_then_exact_then_age():
    ings = [
        ingress("new", [("a.example", [("/api", "Prefix", "new-api", N80)])], created="2024-02-01T00:00:00Z"),
        ingress("old", [("a.example", [("/", "Prefix", "root", N80), ("/api", "Prefix", "old-api", N80),
                                       ("/api/v2", "Exact", "v2-exact", N80), ("/api/v2", "Prefix", "v2", N80)]),
                        ("*.example", [("/", "Prefix", "wild", N80)]),
                        ("", [("/static", "Prefix", "static", N80)])]),
    ]
    svcs = [service(n) for n in ("new-api", "root", "old-api", "v2-exact", "v2", "wild", "static")]
    plan = build(ings, view(svcs), Options())
    cases = {("a.example", "/api/v1"): "old-api",          # older Ingress wins the duplicate
             ("a.example", "/api/v2"): "v2-exact",         # Exact before Prefix at the same length
             ("a.example", "/api/v2/x"): "v2",             # longest prefix
             ("a.example", "/apis"): "root",               # element-wise prefix
             ("b.example", "/anything"): "wild",
             ("x.b.example", "/static/x"): "static",       # wildcard is one label: falls to the host-less rule
             ("other.org", "/static"): "static"}
    for (host, path), want in cases.items():
        assert backend_of(plan, "http", host, path) == want, (host, path)
    assert backend_of(plan, "http", "other.org", "/nope") == FixedResponse(404, "404 Not Found\n")
    assert plan.problems == {}
    assert ("default", "root") in plan.services
    assert ("default", "new-api") not in plan.services   # its only path is taken by the older Ingress


def test_backends_resolve_ports_and_endpoints_and_report_what_is_missing():
    ings = [ingress("i", [("", [("/a", "Prefix", "web", {"name": "http"}), ("/b", "Prefix", "missing", N80),
                                ("/c", "Prefix", "web", {"number": 9999}), ("/d", "Prefix", "ext", N80)])])]
    svcs = [service("web", (("http", 80), ("metrics", 9090))), service("ext", type_="ExternalName")]
    slices = [eps("web", "http", 8080, ("198.19.0.1", READY), ("198.19.0.2", TERMINATING), ("198.19.0.3", GONE)),
              eps("web", "metrics", 9091, ("198.19.0.1", READY))]
    plan = build(ings, view(svcs, slices), Options())
    (tg,) = plan.config.target_groups
    assert tg.name == "default/web:80" and tg.targets == (Target("198.19.0.1", 8080),)
    for path in ("/b", "/c", "/d"):
        assert backend_of(plan, "http", "h", path) == FixedResponse(503, "503 Service Unavailable\n")
    got = {(p.reason, p.message) for p in plan.problems["default/i"]}
    assert got == {(reasons.SERVICE_NOT_FOUND, 'service "default/missing" not found; answering 503'),
                   (reasons.SERVICE_PORT_NOT_FOUND, 'service "default/web" has no port 9999; answering 503'),
                   (reasons.UNSUPPORTED_BACKEND, 'service "default/ext" is of type ExternalName, which is not '
                                                 'supported; answering 503')}


def test_terminating_endpoints_serve_only_when_none_is_ready():
    s = [eps("web", "", 80, ("198.19.0.2", TERMINATING), ("198.19.0.3", GONE), ("198.19.0.1", TERMINATING))]
    assert targets_for(s, "") == (Target("198.19.0.1", 80), Target("198.19.0.2", 80))
    s.append(eps("web", "", 80, ("198.19.0.9", {"ready": True})))
    assert targets_for(s, "") == (Target("198.19.0.9", 80),)
    assert targets_for(s, "other") == ()


def test_tls_secrets_make_certificates_and_redirects_and_bad_ones_are_reported():
    good_crt, good_key = self_signed("secure.example", hosts=("secure.example",))
    _, other_key = self_signed("x")
    secrets = [tls_secret("good", good_crt, good_key), tls_secret("mismatch", good_crt, other_key),
               {"metadata": {"name": "junk", "namespace": "default"}, "data": {"tls.crt": "!!!", "tls.key": ""}}]
    ings = [
        ingress("a", [("secure.example", [("/", "Prefix", "web", N80)])],
                tls=[{"hosts": ["secure.example"], "secretName": "good"}]),
        ingress("b", [("bad.example", [("/", "Prefix", "web", N80)])],
                tls=[{"hosts": ["bad.example"], "secretName": "mismatch"},
                     {"hosts": ["junk.example"], "secretName": "junk"},
                     {"hosts": ["nosecret.example"], "secretName": "absent"}]),
        ingress("c", [("plain.example", [("/", "Prefix", "web", N80)])],
                tls=[{"hosts": ["plain.example"], "secretName": "good"}],
                annotations={"kubelite.io/ssl-redirect": "false"}),
    ]
    plan = build(ings, view([service("web")], [], secrets),
                 Options(redirect_port=8443, default_certificate=DEFAULT_CERT))
    https = next(x for x in plan.config.listeners if x.name == "https")
    assert [c.name for c in https.certificates] == ["default", "default/good", "default/good"]
    assert https.certificates[1].hosts == ("secure.example",)
    redirect = backend_of(plan, "http", "secure.example", "/x")
    assert redirect == Redirect(protocol="HTTPS", port="8443", status=308)
    assert backend_of(plan, "http", "bad.example", "/") == "web"            # served without TLS, no redirect
    assert backend_of(plan, "http", "plain.example", "/") == "web"          # redirect switched off
    assert backend_of(plan, "https", "secure.example", "/") == "web"
    problems = {p.reason: p.message for p in plan.problems["default/b"]}
    assert problems[reasons.INVALID_CERTIFICATE].startswith('secret "default/') and \
        "served without TLS" in problems[reasons.INVALID_CERTIFICATE]
    assert problems[reasons.SECRET_NOT_FOUND] == \
        'secret "default/absent" not found; hosts nosecret.example served without TLS'
    assert len(plan.problems["default/b"]) == 3
    assert "default/a" not in plan.problems and "default/c" not in plan.problems
    assert ("default", "absent") in plan.secrets


def test_default_backend_catches_its_hosts_and_everything_else():
    ings = [ingress("i", [("a.example", [("/api", "Prefix", "api", N80)])], default="fallback"),
            ingress("j", [("b.example", [("/", "Prefix", "b", N80)])], default="late",
                    created="2024-03-01T00:00:00Z")]
    plan = build(ings, view([service(n) for n in ("api", "fallback", "b", "late")]), Options())
    assert backend_of(plan, "http", "a.example", "/api/x") == "api"
    assert backend_of(plan, "http", "a.example", "/other") == "fallback"
    assert backend_of(plan, "http", "b.example", "/x") == "b"
    assert backend_of(plan, "http", "nohost.example", "/x") == "fallback"    # the oldest default backend


def test_patterns_and_health_check_annotation():
    ings = [ingress("i", [("", [("/img/*.png", "ImplementationSpecific", "img", N80),
                                ("/docs", "ImplementationSpecific", "docs", N80)])],
                    annotations={"kubelite.io/healthcheck-path": "/healthz"})]
    plan = build(ings, view([service("img"), service("docs")]), Options())
    http = plan.config.listeners[0]
    kinds = {r.paths[0].value: r.paths[0].type for r in http.rules}
    assert kinds == {"/img/*.png": PathMatchType.PATTERN, "/docs": PathMatchType.PREFIX}
    assert backend_of(plan, "http", "h", "/img/a/b.png") == "img"
    assert backend_of(plan, "http", "h", "/docs/x") == "docs"
    hc = plan.config.target_groups[0].health_check
    assert hc.enabled and hc.path == "/healthz"
    assert len(plan.config.listeners) == 1   # no certificate at all: no HTTPS listener
