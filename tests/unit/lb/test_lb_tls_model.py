"""Certificates, SNI selection and configuration validation."""

import datetime

import pytest

from kubelite.lb import (Certificate, CertificateError, FixedResponse, Forward, HealthCheck, Listener,
                         ListenerProtocol, LoadBalancerConfig, PathMatch, PathMatchType, Redirect, Rule, Target,
                         TargetGroup, parse_certificate, self_signed, validate)
from kubelite.lb.tls import CertificateSelector, build_contexts


def test_parse_certificate_reads_names_and_checks_the_key():
    cert, key = self_signed("a.example", hosts=("a.example", "*.b.example"))
    info = parse_certificate(cert, key)
    assert info.names == ("a.example", "*.b.example")
    assert not info.expired()
    assert info.expired(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=400))
    _, other_key = self_signed("x")
    with pytest.raises(CertificateError, match="does not match"):
        parse_certificate(cert, other_key)
    with pytest.raises(CertificateError, match="no PEM certificate"):
        parse_certificate("hello", key)
    with pytest.raises(CertificateError, match="not a valid"):
        parse_certificate(cert, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    cn_only = parse_certificate(*self_signed("cn.example"))
    assert cn_only.names == ("cn.example",)


def test_sni_selector_prefers_exact_then_wildcard_then_default():
    sel = CertificateSelector([(["a.example"], "A"), (["*.example"], "W"), (["b.example", "a.example"], "B")],
                              "D")
    assert sel.select("a.example") == "A"          # the first certificate naming a host wins
    assert sel.select("B.Example.") == "B"
    assert sel.select("c.example") == "W"
    assert sel.select("x.c.example") == "D"        # wildcard is one label
    assert sel.select(None) == "D" and sel.select("") == "D"


def test_build_contexts_reuses_contexts():
    c1 = Certificate("one", *self_signed("one.example", hosts=("one.example",)))
    c2 = Certificate("two", *self_signed("two.example"), hosts=("two.example", "2.example"))
    first = build_contexts((c1, c2))
    again = build_contexts((c2, c1), first.by_fingerprint)
    assert set(first.by_fingerprint.values()) == set(again.by_fingerprint.values())
    assert again.selector.select("2.example") is first.selector.select("two.example")
    assert again.selector.default is first.selector.select("two.example")


def cfg(**kw):
    base = dict(listeners=(Listener(ListenerProtocol.HTTP, 80, Forward.to("tg")),),
                target_groups=(TargetGroup("tg", targets=(Target("198.19.0.1", 8080),)),))
    return LoadBalancerConfig("lb", **{**base, **kw})


def test_valid_configuration_has_no_problems():
    assert validate(cfg()) == []


@pytest.mark.parametrize("config,problem", [
    (cfg(listeners=(Listener(ListenerProtocol.HTTP, 80, Forward.to("nope")),)), "target group 'nope' not found"),
    (cfg(listeners=(Listener(ListenerProtocol.HTTPS, 443, Forward.to("tg")),)), "needs a certificate"),
    (cfg(listeners=(Listener(ListenerProtocol.TCP, 80, FixedResponse(200)),)), "needs an HTTP or HTTPS listener"),
    (cfg(listeners=(Listener(ListenerProtocol.HTTP, 80, name="a"), Listener(ListenerProtocol.HTTP, 80, name="b"))),
     "port 80 is already used"),
    (cfg(listeners=(Listener(ListenerProtocol.HTTP, 80, rules=(Rule(1, FixedResponse(200)), Rule(1, Redirect()))),)),
     "priority is used twice"),
    (cfg(listeners=(Listener(ListenerProtocol.HTTP, 80, rules=(
        Rule(1, FixedResponse(200), paths=(PathMatch(PathMatchType.PREFIX, "api"),)),)),)), "must start with '/'"),
    (cfg(listeners=(Listener(ListenerProtocol.HTTP, 80, FixedResponse(700)),)), "between 200 and 599"),
    (cfg(listeners=(Listener(ListenerProtocol.HTTP, 80, Redirect(status=200)),)), "redirect status"),
    (cfg(target_groups=(TargetGroup("tg", health_check=HealthCheck(enabled=True, interval=1, timeout=5)),)),
     "timeout must be positive and at most the interval"),
    (cfg(target_groups=(TargetGroup("tg"), TargetGroup("tg"))), "defined twice"),
    (cfg(target_groups=(TargetGroup("tg", targets=(Target("198.19.0.1", 0),)),)), "invalid port"),
], ids=range(11))
def test_invalid_configurations(config, problem):
    assert any(problem in p for p in validate(config)), validate(config)


def test_health_check_success_codes():
    hc = HealthCheck(success_codes="200,300-302")
    assert [hc.code_matches(c) for c in (200, 201, 301, 303)] == [True, False, True, False]
