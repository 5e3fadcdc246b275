"""core/v1 Service (`ValidateService`, `ValidateServiceUpdate`, `ValidateServiceStatusUpdate`)."""

from __future__ import annotations

import ipaddress

from kubelite.machinery.errors import FieldError, duplicate, forbidden, invalid, not_supported, required

from . import gotext, names
from .meta import (child, dns1123_label, dns1123_subdomain, immutable, index, int_of, labels, list_of, obj_of,
                   port_num_or_name, qualified_name, text)

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
SESSION_AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILIES = ("IPv4", "IPv6")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
PROTOCOLS = ("SCTP", "TCP", "UDP")
MAX_AFFINITY_SECONDS = 86400


def _cluster_ips(spec: dict) -> list[str]:
    ips = list_of(spec.get("clusterIPs"))
    if not ips and spec.get("clusterIP"):
        ips = [spec["clusterIP"]]
    return [ip for ip in ips if isinstance(ip, str)]


def _is_headless(spec: dict) -> bool:
    ips = _cluster_ips(spec)
    return bool(ips) and ips[0] == "None"


def externally_accessible(spec: dict) -> bool:
    t = spec.get("type")
    return t in ("LoadBalancer", "NodePort") or (t == "ClusterIP" and bool(list_of(spec.get("externalIPs"))))


def _service_port(sp: dict, require_name: bool, seen: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = text(sp.get("name"))
    if require_name and not name:
        errs.append(required(child(path, "name")))
    elif name:
        errs += dns1123_label(name, child(path, "name"))
        if name in seen:
            errs.append(duplicate(child(path, "name"), name))
        else:
            seen.add(name)
    port = sp.get("port")
    errs += [invalid(child(path, "port"), port, m) for m in names.is_valid_port_num(int_of(port))]
    proto = text(sp.get("protocol"))
    if not proto:
        errs.append(required(child(path, "protocol")))
    elif proto not in PROTOCOLS:
        errs.append(not_supported(child(path, "protocol"), proto, PROTOCOLS))
    errs += port_num_or_name(sp.get("targetPort"), child(path, "targetPort"))
    if sp.get("appProtocol") is not None:
        errs += qualified_name(sp["appProtocol"], child(path, "appProtocol"))
    return errs


def _go_service_port(sp: dict) -> gotext.GoValue:
    return gotext.GoValue(gotext.struct("core.ServicePort", [
        ("Name", gotext.quote("")), ("Protocol", gotext.quote(text(sp.get("protocol")))),
        ("AppProtocol", "(*string)(nil)"), ("Port", str(sp.get("port"))),
        ("TargetPort", 'intstr.IntOrString{Type:0, IntVal:0, StrVal:""}'), ("NodePort", "0")]))


def _cluster_ip_fields(spec: dict) -> list[FieldError]:
    if spec.get("type") == "ExternalName":
        return []
    errs: list[FieldError] = []
    cip = text(spec.get("clusterIP"))
    ips = list_of(spec.get("clusterIPs"))
    shown = gotext.GoValue(gotext.string_slice(ips))
    if cip and ips and ips[0] != cip:
        errs.append(invalid("spec.clusterIPs", shown, "first value must match `clusterIP`"))
    elif not cip and ips:
        errs.append(invalid("spec.clusterIPs", shown, "must be empty when `clusterIP` is not specified"))
    seen: set[str] = set()
    for i, fam in enumerate(text(f) for f in list_of(spec.get("ipFamilies"))):
        if fam not in IP_FAMILIES:
            errs.append(not_supported(index("spec.ipFamilies", i), fam, IP_FAMILIES))
        if fam in seen:
            errs.append(duplicate(index("spec.ipFamilies", i), fam))
        seen.add(fam)
    pol = spec.get("ipFamilyPolicy")
    if pol is not None and pol not in IP_FAMILY_POLICIES:
        errs.append(not_supported("spec.ipFamilyPolicy", pol, IP_FAMILY_POLICIES))
    for i, ip in enumerate(_cluster_ips(spec)):
        if i == 0 and ip == "None":
            if len(_cluster_ips(spec)) > 1:
                errs.append(invalid("spec.clusterIPs", shown, "'None' must be the first and only value"))
            continue
        errs += [invalid(index("spec.clusterIPs", i), ip, m) for m in names.is_valid_ip(ip)]
    if len(ips) > 2:
        errs.append(invalid("spec.clusterIPs", shown, "may only hold up to 2 values"))
    return errs


def non_special_ip(ip: str, path: str) -> list[FieldError]:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return [invalid(path, ip, "must be a valid IP address")]
    errs = []
    if addr.is_unspecified:
        errs.append(invalid(path, ip, f"may not be unspecified ({ip})"))
    if addr.is_loopback:
        errs.append(invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if addr.is_link_local:
        errs.append(invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
    multicast = ipaddress.ip_network("224.0.0.0/24" if addr.version == 4 else "ff02::/16")
    if addr in multicast:
        errs.append(invalid(path, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
    return errs


def validate_service(svc: dict) -> list[FieldError]:
    spec = obj_of(svc.get("spec"))
    t = text(spec.get("type"))
    ports = [obj_of(p) for p in list_of(spec.get("ports"))]
    headless = _is_headless(spec)
    errs: list[FieldError] = []
    if not ports and not headless and t != "ExternalName":
        errs.append(required("spec.ports"))
    if t in ("LoadBalancer", "NodePort") and headless:
        errs.append(invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {t} services"))
    elif t == "ExternalName":
        if list_of(spec.get("clusterIPs")) or spec.get("clusterIP"):
            errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if list_of(spec.get("ipFamilies")):
            errs.append(forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = (text(spec.get("externalName"))).removesuffix(".")
        if cname:
            errs += dns1123_subdomain(cname, "spec.externalName")
        else:
            errs.append(required("spec.externalName"))
    seen: set[str] = set()
    for i, sp in enumerate(ports):
        errs += _service_port(sp, len(ports) > 1, seen, index("spec.ports", i))
    if spec.get("selector") is not None:
        errs += labels(spec["selector"], "spec.selector")
    sa = text(spec.get("sessionAffinity"))
    if not sa:
        errs.append(required("spec.sessionAffinity"))
    elif sa not in SESSION_AFFINITIES:
        errs.append(not_supported("spec.sessionAffinity", sa, SESSION_AFFINITIES))
    cfg = spec.get("sessionAffinityConfig")
    if sa == "ClientIP":
        when = "when session affinity type is ClientIP"
        client_ip = obj_of(cfg).get("clientIP")
        if cfg is None:
            errs.append(required("spec.sessionAffinityConfig", when))
        elif client_ip is None:
            errs.append(required("spec.sessionAffinityConfig.clientIP", when))
        elif obj_of(client_ip).get("timeoutSeconds") is None:
            errs.append(required("spec.sessionAffinityConfig.clientIP.timeoutSeconds", when))
        else:
            ts = client_ip["timeoutSeconds"]
            if int_of(ts) is None or not 0 < ts <= MAX_AFFINITY_SECONDS:
                errs.append(invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", ts,
                                    f"must be greater than 0 and less than {MAX_AFFINITY_SECONDS}"))
    elif sa == "None" and cfg is not None:
        errs.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
    errs += _cluster_ip_fields(spec)
    for i, ip in enumerate(list_of(spec.get("externalIPs"))):
        p = index("spec.externalIPs", i)
        bad = [invalid(p, ip, m) for m in names.is_valid_ip(ip)]
        errs += bad or non_special_ip(ip, p)
    if not t:
        errs.append(required("spec.type"))
    elif t not in SERVICE_TYPES:
        errs.append(not_supported("spec.type", t, SERVICE_TYPES))
    if t == "ClusterIP":
        for i, sp in enumerate(ports):
            if sp.get("nodePort"):
                errs.append(forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"))
    for i, sp in enumerate(ports):
        np = sp.get("nodePort")
        if np:
            errs += [invalid(f"spec.ports[{i}].nodePort", np, m) for m in names.is_valid_port_num(int_of(np))]
    node_ports: set[tuple] = set()
    for i, sp in enumerate(ports):
        if not sp.get("nodePort"):
            continue
        k = (text(sp.get("protocol")), repr(sp["nodePort"]))
        if k in node_ports:
            errs.append(duplicate(f"spec.ports[{i}].nodePort", sp["nodePort"]))
        node_ports.add(k)
    pairs: set[tuple] = set()
    for i, sp in enumerate(ports):
        k = (text(sp.get("protocol")), repr(sp.get("port")))
        if k in pairs:
            errs.append(duplicate(f"spec.ports[{i}]", _go_service_port(sp)))
        pairs.add(k)
    ranges = list_of(spec.get("loadBalancerSourceRanges"))
    if ranges:
        if t != "LoadBalancer":
            errs.append(forbidden("spec.loadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"))
        for i, r in enumerate(ranges):
            errs += [invalid(index("spec.loadBalancerSourceRanges", i), r, m) for m in names.is_valid_cidr(r.strip())]
    albnp = spec.get("allocateLoadBalancerNodePorts")
    if albnp is not None and t != "LoadBalancer":
        errs.append(forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"))
    if t == "LoadBalancer" and albnp is None:
        errs.append(required("allocateLoadBalancerNodePorts"))
    lbc = spec.get("loadBalancerClass")
    if lbc is not None:
        if t != "LoadBalancer":
            errs.append(forbidden("spec.loadBalancerClass", "may only be used when service type is 'LoadBalancer'"))
        else:
            errs += qualified_name(lbc, "spec.loadBalancerClass")
    etp = text(spec.get("externalTrafficPolicy"))
    if not externally_accessible(spec):
        if etp:
            errs.append(invalid("spec.externalTrafficPolicy", etp,
                                "may only be set for externally-accessible services"))
    elif not etp:
        errs.append(required("spec.externalTrafficPolicy"))
    elif etp not in TRAFFIC_POLICIES:
        errs.append(not_supported("spec.externalTrafficPolicy", etp, TRAFFIC_POLICIES))
    hc = spec.get("healthCheckNodePort") or 0
    if not (t == "LoadBalancer" and etp == "Local"):
        if hc:
            errs.append(invalid("spec.healthCheckNodePort", hc,
                                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
    elif not hc:
        errs.append(required("spec.healthCheckNodePort"))
    else:
        errs += [invalid("spec.healthCheckNodePort", hc, m) for m in names.is_valid_port_num(int_of(hc))]
    itp = spec.get("internalTrafficPolicy")
    if itp is None and t in ("NodePort", "LoadBalancer", "ClusterIP"):
        errs.append(required("spec.internalTrafficPolicy"))
    if itp is not None and itp not in TRAFFIC_POLICIES:
        errs.append(not_supported("spec.internalTrafficPolicy", itp, TRAFFIC_POLICIES))
    td = spec.get("trafficDistribution")
    if td is not None and td != "PreferClose":
        errs.append(not_supported("spec.trafficDistribution", td, ("PreferClose",)))
    return errs


def validate_service_update(new: dict, old: dict) -> list[FieldError]:
    ns, os_ = obj_of(new.get("spec")), obj_of(old.get("spec"))
    if "ExternalName" in (ns.get("type"), os_.get("type")):
        return []
    if _is_headless(ns) and _is_headless(os_):
        return []
    errs: list[FieldError] = []
    new_ips, old_ips = _cluster_ips(ns), _cluster_ips(os_)
    shown = gotext.GoValue(gotext.string_slice(new_ips))
    if len(old_ips) == len(new_ips):
        errs += [invalid("spec.clusterIPs[0]", shown, "may not change once set")
                 for a, b in zip(old_ips, new_ips) if a != b]
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(invalid("spec.clusterIPs[0]", shown, "primary clusterIP can not be unset"))
        elif new_ips[0] != old_ips[0]:
            errs.append(invalid("spec.clusterIPs[0]", shown, "may not change once set"))
        if len(new_ips) == 1 and ns.get("ipFamilyPolicy") != "SingleStack":
            errs.append(invalid("spec.clusterIPs[0]", shown, "`ipFamilyPolicy` must be set to 'SingleStack' when "
                                                             "releasing the secondary clusterIP"))
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid("spec.clusterIPs[0]", shown, "may not change once set"))
    new_f, old_f = list_of(ns.get("ipFamilies")), list_of(os_.get("ipFamilies"))
    if old_f and new_f and new_f[0] != old_f[0]:
        errs.append(invalid("spec.ipFamilies[0]", gotext.GoValue(gotext.string_slice(new_f)),
                            "may not change once set"))
    if os_.get("loadBalancerClass") is not None and os_.get("type") == ns.get("type") == "LoadBalancer":
        errs += immutable(ns.get("loadBalancerClass"), os_.get("loadBalancerClass"), "spec.loadBalancerClass")
    return errs


def validate_service_status(new: dict, old: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    ingress = list_of(obj_of(obj_of(new.get("status")).get("loadBalancer")).get("ingress"))
    for i, ing in enumerate(ingress):
        ing, p = obj_of(ing), f"status.loadBalancer.ingress[{i}]"
        if ing.get("ip"):
            errs += [invalid(f"{p}.ip", ing["ip"], m) for m in names.is_valid_ip(ing["ip"])]
        if ing.get("hostname"):
            errs += dns1123_subdomain(ing["hostname"], f"{p}.hostname")
        mode = ing.get("ipMode")
        if mode is not None:
            if not ing.get("ip"):
                errs.append(forbidden(f"{p}.ipMode", "may not be specified when `ip` is not set"))
            elif mode not in ("Proxy", "VIP"):
                errs.append(not_supported(f"{p}.ipMode", mode, ("Proxy", "VIP")))
    return errs
