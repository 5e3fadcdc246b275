"""networking.k8s.io/v1 (Ingress, IngressClass, NetworkPolicy) and discovery.k8s.io/v1 (EndpointSlice)."""

from __future__ import annotations

import ipaddress
import re

from kubelite.machinery.errors import (CauseType, FieldError, duplicate, forbidden, invalid, not_supported,
                                       required, too_long)

from . import gotext, names
from .service import non_special_ip
from .meta import (child, dns1123_label, dns1123_subdomain, immutable, index, int_of, label_selector, list_of,
                   obj_of, qualified_name, text)

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")
_HTTP_PATH_FMT = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
_HTTP_PATH_RE = re.compile("^" + _HTTP_PATH_FMT + "$")
ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
PROTOCOLS = ("SCTP", "TCP", "UDP")


def too_many(path: str, actual: int, limit: int) -> FieldError:
    return FieldError(CauseType.TOO_MANY, path, actual, f"must have at most {limit} items")


# -- Ingress -----------------------------------------------------------------------------------------

def _backend(b: dict, path: str) -> list[FieldError]:
    has_res, has_svc = b.get("resource") is not None, b.get("service") is not None
    if has_res and has_svc:
        return [invalid(path, "", "cannot set both resource and service backends")]
    errs: list[FieldError] = []
    if has_res:
        res = obj_of(b["resource"])
        rp = child(path, "resource")
        if not res.get("name"):
            errs.append(required(child(rp, "name")))
        if not res.get("kind"):
            errs.append(required(child(rp, "kind")))
        return errs
    if not has_svc:
        return [invalid(path, "", "resource or service backend is required")]
    svc = obj_of(b["service"])
    name = text(svc.get("name"))
    if not name:
        errs.append(required(child(path, "service", "name")))
    else:
        errs += [invalid(child(path, "service", "name"), name, m) for m in names.name_is_dns1035_label(name, False)]
    port = obj_of(svc.get("port"))
    pname, pnum = text(port.get("name")), port.get("number") or 0
    if pname and pnum:
        errs.append(invalid(path, "", "cannot set both port name & port number"))
    elif pname:
        errs += [invalid(child(path, "service", "port", "name"), pname, m) for m in names.is_valid_port_name(pname)]
    elif pnum:
        errs += [invalid(child(path, "service", "port", "number"), pnum, m)
                 for m in names.is_valid_port_num(int_of(pnum))]
    else:
        errs.append(required(path, "port name or number is required"))
    return errs


def _http_path(p: dict, path: str) -> list[FieldError]:
    pt = p.get("pathType")
    if pt is None:
        return [required(child(path, "pathType"), "pathType must be specified")]
    errs: list[FieldError] = []
    value = text(p.get("path"))
    if pt in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.append(invalid(child(path, "path"), value, "must be an absolute path"))
        if value:
            errs += [invalid(child(path, "path"), value, f"must not contain '{seq}'")
                     for seq in INVALID_PATH_SEQUENCES if seq in value]
            errs += [invalid(child(path, "path"), value, f"cannot end with '{suf}'")
                     for suf in INVALID_PATH_SUFFIXES if value.endswith(suf)]
    elif pt == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errs.append(invalid(child(path, "path"), value, "must be an absolute path"))
    else:
        errs.append(not_supported(child(path, "pathType"), pt, PATH_TYPES))
    errs += _backend(obj_of(p.get("backend")), child(path, "backend"))
    return errs


def _host(host: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    try:
        ipaddress.ip_address(host)
        errs.append(invalid(path, host, "must be a DNS name, not an IP address"))
    except ValueError:
        pass
    if "*" in host:
        errs += [invalid(path, host, m) for m in names.is_wildcard_dns1123_subdomain(host)]
    else:
        errs += [invalid(path, host, m) for m in names.is_dns1123_subdomain(host)]
    return errs


def validate_ingress(ing: dict) -> list[FieldError]:
    spec = obj_of(ing.get("spec"))
    rules = list_of(spec.get("rules"))
    errs: list[FieldError] = []
    if not rules and spec.get("defaultBackend") is None:
        errs.append(invalid("spec", gotext.GoValue("[]networking.IngressRule(nil)"),
                            "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        errs += _backend(obj_of(spec["defaultBackend"]), "spec.defaultBackend")
    for i, rule in enumerate(rules):
        rule, rp = obj_of(rule), index("spec.rules", i)
        if text(rule.get("host")):
            errs += _host(rule["host"], child(rp, "host"))
        http = rule.get("http")
        if http is not None:
            paths = list_of(obj_of(http).get("paths"))
            if not paths:
                errs.append(required(child(rp, "http", "paths")))
            for j, p in enumerate(paths):
                errs += _http_path(obj_of(p), index(child(rp, "http", "paths"), j))
    for i, tls in enumerate(list_of(spec.get("tls"))):
        tls, tp = obj_of(tls), index("spec.tls", i)
        for j, host in enumerate(list_of(tls.get("hosts"))):
            host = text(host)
            hp = index(child(tp, "hosts"), j)
            msgs = names.is_wildcard_dns1123_subdomain(host) if "*" in host else names.is_dns1123_subdomain(host)
            errs += [invalid(hp, host, m) for m in msgs]
        if tls.get("secretName"):
            errs += [invalid(child(tp, "secretName"), tls["secretName"], m)
                     for m in names.is_dns1123_subdomain(tls["secretName"])]
    icn = spec.get("ingressClassName")
    if icn is not None:
        errs += [invalid("spec.ingressClassName", icn, m) for m in names.is_dns1123_subdomain(icn)]
    return errs


def validate_ingress_status(new: dict, old: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ing in enumerate(list_of(obj_of(obj_of(new.get("status")).get("loadBalancer")).get("ingress"))):
        ing, p = obj_of(ing), f"status.loadBalancer.ingress[{i}]"
        if ing.get("ip"):
            errs += [invalid(f"{p}.ip", ing["ip"], m) for m in names.is_valid_ip(ing["ip"])]
        if ing.get("hostname"):
            errs += dns1123_subdomain(ing["hostname"], f"{p}.hostname")
    return errs


def validate_ingress_class(ic: dict) -> list[FieldError]:
    spec = obj_of(ic.get("spec"))
    ctrl = text(spec.get("controller"))
    errs: list[FieldError] = []
    if len(ctrl) > 250:
        errs.append(too_long("spec.controller", ctrl, 250))
    if not ctrl:
        errs.append(required("spec.controller"))
    else:
        host, sep, rest = ctrl.partition("/")
        if not sep or not host:
            errs.append(invalid("spec.controller", ctrl, 'must be a domain-prefixed path (such as "acme.io/foo")'))
        else:
            errs += [invalid("spec.controller", host, m) for m in names.is_dns1123_subdomain(host)]
            if not _HTTP_PATH_RE.match(rest):
                errs.append(invalid("spec.controller", rest, names.regex_error("Invalid path", _HTTP_PATH_FMT)))
    params = spec.get("parameters")
    if params is not None:
        params, pp = obj_of(params), "spec.parameters"
        if not params.get("kind"):
            errs.append(required(f"{pp}.kind"))
        if not params.get("name"):
            errs.append(required(f"{pp}.name"))
        scope = params.get("scope")
        if scope is None:
            errs.append(required(f"{pp}.scope"))
        elif scope not in ("Cluster", "Namespace"):
            errs.append(not_supported(f"{pp}.scope", scope, ("Cluster", "Namespace")))
        elif scope == "Namespace" and not params.get("namespace"):
            errs.append(required(f"{pp}.namespace", "`parameters.scope` is set to 'Namespace'"))
        elif scope == "Cluster" and params.get("namespace") is not None:
            errs.append(forbidden(f"{pp}.namespace", "`parameters.scope` is set to 'Cluster'"))
    return errs


def validate_ingress_class_update(new: dict, old: dict) -> list[FieldError]:
    return immutable(obj_of(new.get("spec")).get("controller"), obj_of(old.get("spec")).get("controller"),
                     "spec.controller")


# -- NetworkPolicy -----------------------------------------------------------------------------------

def _np_port(port: dict, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    proto = port.get("protocol")
    if proto is not None and proto not in ("TCP", "UDP", "SCTP"):
        errs.append(not_supported(child(path, "protocol"), proto, ("TCP", "UDP", "SCTP")))
    p, end = port.get("port"), port.get("endPort")
    if p is not None:
        if isinstance(p, str):
            if end is not None:
                errs.append(invalid(child(path, "endPort"), end, "may not be specified when `port` is non-numeric"))
            errs += [invalid(child(path, "port"), p, m) for m in names.is_valid_port_name(p)]
        else:
            errs += [invalid(child(path, "port"), p, m) for m in names.is_valid_port_num(int_of(p))]
            if end is not None:
                if int_of(end) is not None and int_of(p) is not None and end < p:
                    errs.append(invalid(child(path, "endPort"), p, "must be greater than or equal to `port`"))
                errs += [invalid(child(path, "endPort"), end, m) for m in names.is_valid_port_num(int_of(end))]
    elif end is not None:
        errs.append(invalid(child(path, "endPort"), end, "may not be specified when `port` is not specified"))
    return errs


def _ip_block(ipb: dict, path: str) -> list[FieldError]:
    cidr = text(ipb.get("cidr"))
    if not cidr:
        return [required(child(path, "cidr"))]
    errs = [invalid(child(path, "cidr"), cidr, m) for m in names.is_valid_cidr(cidr)]
    if errs:
        return errs
    net = ipaddress.ip_network(cidr, strict=False)
    for i, ex in enumerate(list_of(ipb.get("except"))):
        ep = index(child(path, "except"), i)
        msgs = names.is_valid_cidr(ex)
        if msgs:
            errs += [invalid(ep, ex, m) for m in msgs]
            continue
        exn = ipaddress.ip_network(ex, strict=False)
        if exn.version != net.version or not (exn.subnet_of(net) and exn.prefixlen > net.prefixlen):
            errs.append(invalid(ep, str(exn), "must be a strict subset of `cidr`"))
    return errs


def _peer(peer: dict, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    n = 0
    for k in ("podSelector", "namespaceSelector"):
        if peer.get(k) is not None:
            n += 1
            errs += label_selector(peer[k], child(path, k))
    if peer.get("ipBlock") is not None:
        n += 1
        errs += _ip_block(obj_of(peer["ipBlock"]), child(path, "ipBlock"))
    if n == 0:
        errs.append(required(path, "must specify a peer"))
    elif n > 1 and peer.get("ipBlock") is not None:
        errs.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return errs


def validate_network_policy(np: dict) -> list[FieldError]:
    spec = obj_of(np.get("spec"))
    errs = label_selector(spec.get("podSelector"), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(list_of(spec.get(direction))):
            rule, rp = obj_of(rule), index(f"spec.{direction}", i)
            for j, port in enumerate(list_of(rule.get("ports"))):
                errs += _np_port(obj_of(port), index(child(rp, "ports"), j))
            for j, peer in enumerate(list_of(rule.get(peers))):
                errs += _peer(obj_of(peer), index(child(rp, peers), j))
    types = list_of(spec.get("policyTypes"))
    for i, t in enumerate(types):
        if t not in ("Ingress", "Egress"):
            errs.append(not_supported(index("spec.policyTypes", i), t, ("Ingress", "Egress")))
    if len(types) > 2:
        errs.append(invalid("spec.policyTypes", gotext.GoValue(gotext.string_slice(types)),
                            "may not specify more than two policyTypes"))
    return errs


# -- EndpointSlice -----------------------------------------------------------------------------------

def _slice_address(addr: str, addr_type: str, path: str) -> list[FieldError]:
    if addr_type in ("IPv4", "IPv6"):
        try:
            ip = ipaddress.ip_address(addr)
            ok = ip.version == (4 if addr_type == "IPv4" else 6)
        except ValueError:
            ok = False
        if not ok:
            return [invalid(path, addr, f"must be a valid {addr_type} address")]
        return non_special_ip(addr, path)
    if addr_type == "FQDN":
        msgs = names.is_dns1123_subdomain(addr.removesuffix(".").lower())
        if "." not in addr.removesuffix("."):
            return [invalid(path, addr, "should be a domain with at least two segments separated by dots")]
        return [invalid(path, addr, m) for m in msgs]
    return []


def validate_endpoint_slice(es: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    at = text(es.get("addressType"))
    if not at:
        errs.append(required("addressType"))
    elif at not in ADDRESS_TYPES:
        errs.append(not_supported("addressType", at, ADDRESS_TYPES))
    eps = list_of(es.get("endpoints"))
    if len(eps) > 1000:
        errs.append(too_many("endpoints", len(eps), 1000))
    for i, ep in enumerate(eps):
        ep, p = obj_of(ep), index("endpoints", i)
        addrs = list_of(ep.get("addresses"))
        if not addrs:
            errs.append(required(child(p, "addresses"), "must contain at least 1 address"))
        elif len(addrs) > 100:
            errs.append(too_many(child(p, "addresses"), len(addrs), 100))
        for j, a in enumerate(addrs):
            errs += _slice_address(a, at, index(child(p, "addresses"), j))
        if ep.get("nodeName") is not None:
            errs += dns1123_subdomain(ep["nodeName"], child(p, "nodeName"))
        if ep.get("hostname") is not None:
            errs += dns1123_label(ep["hostname"], child(p, "hostname"))
    ports = list_of(es.get("ports"))
    if len(ports) > 20000:
        errs.append(too_many("ports", len(ports), 20000))
    seen: set[str] = set()
    for i, port in enumerate(ports):
        port, p = obj_of(port), index("ports", i)
        name = text(port.get("name"))
        if name:
            errs += dns1123_label(name, child(p, "name"))
        if name in seen:
            errs.append(duplicate(child(p, "name"), name))
        seen.add(name)
        proto = port.get("protocol")
        if proto is None:
            errs.append(required(child(p, "protocol")))
        elif proto not in PROTOCOLS:
            errs.append(not_supported(child(p, "protocol"), proto, PROTOCOLS))
        if port.get("appProtocol") is not None:
            errs += qualified_name(port["appProtocol"], child(p, "appProtocol"))
    return errs


def validate_endpoint_slice_update(new: dict, old: dict) -> list[FieldError]:
    return immutable(text(new.get("addressType")), text(old.get("addressType")), "addressType")
