"""core/v1 kinds other than Pod and Service: Namespace, ConfigMap, Secret, Node, Endpoints,
Event, LimitRange, ResourceQuota, ServiceAccount, PodTemplate, Binding."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from typing import Any

from kubelite.machinery import quantity
from kubelite.machinery.errors import (FieldError, duplicate, forbidden, invalid, not_supported, required,
                                       too_long)

from . import gotext, names
from .container import resource_quantity_value
from .meta import (child, dns1123_label, dns1123_subdomain, immutable, index, int_of, is_set, key, label_name,
                   list_of, obj_of, qualified_name, text)
from .pod import pod_template_spec, taint_effect
from .service import non_special_ip

MAX_SECRET_SIZE = 1024 * 1024
PROTOCOLS = ("SCTP", "TCP", "UDP")
LIMIT_TYPES = ("Container", "PersistentVolumeClaim", "Pod")
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"


# -- Namespace ---------------------------------------------------------------------------------------

def _kube_finalizer_names(fins: Any, path: str, *, indexed: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, f in enumerate(list_of(fins)):
        f = text(f)
        p = index(path, i) if indexed else path
        errs += [invalid(p, f, m) for m in names.is_qualified_name(f)]
        if "/" not in f and f not in ("kubernetes", "orphan", "foregroundDeletion"):
            errs.append(invalid(p, f, "name is neither a standard finalizer name nor is it fully qualified"))
    return errs


def validate_namespace(ns: dict) -> list[FieldError]:
    return _kube_finalizer_names(obj_of(ns.get("spec")).get("finalizers"), "spec.finalizers", indexed=False)


def validate_namespace_status(new: dict, old: dict) -> list[FieldError]:
    phase = obj_of(new.get("status")).get("phase") or ""
    if not obj_of(new.get("metadata")).get("deletionTimestamp"):
        if phase != "Active":
            return [invalid("status.Phase", phase, "may only be 'Active' if `deletionTimestamp` is empty")]
    elif phase != "Terminating":
        return [invalid("status.Phase", phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")]
    return []


# -- ConfigMap and Secret ----------------------------------------------------------------------------

def _decoded_len(v: Any) -> int:
    if not isinstance(v, str):
        return 0
    try:
        return len(base64.b64decode(v, validate=True))
    except (binascii.Error, ValueError):
        return len(v)


def validate_config_map(cm: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    data, binary = obj_of(cm.get("data")), obj_of(cm.get("binaryData"))
    total = 0
    for k, v in sorted(data.items()):
        total += len(v) if isinstance(v, str) else 0
        errs += [invalid(key("data", k), k, m) for m in names.is_config_map_key(k)]
        if k in binary:
            errs.append(invalid(key("data", k), k, "duplicate of key present in binaryData"))
    for k, v in sorted(binary.items()):
        total += _decoded_len(v)
        errs += [invalid(key("binaryData", k), k, m) for m in names.is_config_map_key(k)]
        if k in data:
            errs.append(invalid(key("binaryData", k), k, "duplicate of key present in data"))
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("", "", MAX_SECRET_SIZE))
    return errs


def validate_config_map_update(new: dict, old: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    if old.get("immutable") is True:
        if new.get("immutable") is not True:
            errs.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
        if obj_of(new.get("data")) != obj_of(old.get("data")):
            errs.append(forbidden("data", IMMUTABLE_WHEN_SET))
        if obj_of(new.get("binaryData")) != obj_of(old.get("binaryData")):
            errs.append(forbidden("binaryData", IMMUTABLE_WHEN_SET))
    return errs


def validate_secret(secret: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    data = obj_of(secret.get("data"))
    total = 0
    for k, v in sorted(data.items()):
        errs += [invalid(key("data", k), k, m) for m in names.is_config_map_key(k)]
        total += _decoded_len(v)
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("data", "", MAX_SECRET_SIZE))
    t = text(secret.get("type"))
    if t == "kubernetes.io/service-account-token":
        ann = obj_of(obj_of(secret.get("metadata")).get("annotations"))
        if not ann.get("kubernetes.io/service-account.name"):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif t in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        k = ".dockercfg" if t == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if k not in data:
            errs.append(required(key("data", k)))
        else:
            try:
                doc = json.loads(base64.b64decode(data[k]))
                if not isinstance(doc, dict):
                    raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
            except (ValueError, binascii.Error) as e:
                errs.append(invalid(key("data", k), "<secret contents redacted>", str(e)))
    elif t == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs += [required("data[username]"), required("data[password]")]
    elif t == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            errs.append(required("data[ssh-privatekey]"))
    elif t == "kubernetes.io/tls":
        for k in ("tls.crt", "tls.key"):
            if k not in data:
                errs.append(required(key("data", k)))
    return errs


def validate_secret_update(new: dict, old: dict) -> list[FieldError]:
    errs = immutable(text(new.get("type")), text(old.get("type")), "type")
    if old.get("immutable") is True:
        if new.get("immutable") is not True:
            errs.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
        if obj_of(new.get("data")) != obj_of(old.get("data")):
            errs.append(forbidden("data", IMMUTABLE_WHEN_SET))
    return errs


# -- Node --------------------------------------------------------------------------------------------

def node_taints(items: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple] = set()
    for i, t in enumerate(list_of(items)):
        t, p = obj_of(t), index(path, i)
        errs += label_name(text(t.get("key")), child(p, "key"))
        msgs = names.is_valid_label_value(text(t.get("value")))
        if msgs:
            errs.append(invalid(child(p, "value"), text(t.get("value")), ";".join(msgs)))
        errs += taint_effect(t.get("effect"), child(p, "effect"), allow_empty=False)
        k = (t.get("effect"), t.get("key"))
        if k in seen:
            e = duplicate(p, gotext.GoValue(gotext.struct("core.Taint", [
                ("Key", gotext.quote(t.get("key"))), ("Value", gotext.quote(t.get("value"))),
                ("Effect", gotext.quote(t.get("effect"))), ("TimeAdded", "<nil>")])))
            e.detail = "taints must be unique by key and effect pair"
            errs.append(e)
        seen.add(k)
    return errs


def _node_resources(node: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    st = obj_of(node.get("status"))
    for f in ("capacity", "allocatable"):
        for name, q in sorted(obj_of(st.get(f)).items()):
            errs += resource_quantity_value(name, q, key(f"status.{f}", name))
    return errs


def validate_node(node: dict) -> list[FieldError]:
    spec = obj_of(node.get("spec"))
    errs = node_taints(spec.get("taints"), "metadata.taints")
    errs += _node_resources(node)
    cidrs = list_of(spec.get("podCIDRs"))
    for i, c in enumerate(cidrs):
        errs += [invalid(index("spec.podCIDRs", i), c, m) for m in names.is_valid_cidr(c)]
    if len(cidrs) > 1:
        versions = set()
        for c in cidrs:
            try:
                versions.add(ipaddress.ip_network(c, strict=False).version)
            except ValueError:
                pass
        if len(cidrs) > 2 or len(versions) != 2:
            errs.append(invalid("spec.podCIDRs", gotext.GoValue(gotext.string_slice(cidrs)),
                                "may specify no more than one CIDR for each IP family"))
        seen: set[str] = set()
        for i, c in enumerate(cidrs):
            if c in seen:
                errs.append(duplicate(index("spec.podCIDRs", i), c))
            seen.add(c)
    return errs


def validate_node_update(new: dict, old: dict) -> list[FieldError]:
    ns, os_ = obj_of(new.get("spec")), obj_of(old.get("spec"))
    errs: list[FieldError] = []
    msg = 'node updates may not change podCIDR except from "" to valid'
    old_c, new_c = list_of(os_.get("podCIDRs")), list_of(ns.get("podCIDRs"))
    if old_c and (len(old_c) != len(new_c) or any(a != b for a, b in zip(old_c, new_c))):
        errs.append(forbidden("spec.podCIDRs", msg))
    if os_.get("providerID") and os_.get("providerID") != ns.get("providerID"):
        errs.append(forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'))
    errs += _node_status(new)
    return errs


def _node_status(node: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple] = set()
    for i, a in enumerate(list_of(obj_of(node.get("status")).get("addresses"))):
        k = (obj_of(a).get("type"), obj_of(a).get("address"))
        if k in seen:
            errs.append(duplicate(f"status.addresses[{i}]", gotext.GoValue(
                f'core.NodeAddress{{Type:{gotext.quote(k[0])}, Address:{gotext.quote(k[1])}}}')))
        seen.add(k)
    return errs


def validate_node_status(new: dict, old: dict) -> list[FieldError]:
    return validate_node_update(new, old) + _node_resources(new)


# -- Endpoints ---------------------------------------------------------------------------------------

def endpoint_port(port: dict, require_name: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = text(port.get("name"))
    if require_name and not name:
        errs.append(required(child(path, "name")))
    elif name:
        errs += dns1123_label(name, child(path, "name"))
    p = port.get("port")
    errs += [invalid(child(path, "port"), p, m) for m in names.is_valid_port_num(int_of(p))]
    proto = text(port.get("protocol"))
    if not proto:
        errs.append(required(child(path, "protocol")))
    elif proto not in PROTOCOLS:
        errs.append(not_supported(child(path, "protocol"), proto, PROTOCOLS))
    if port.get("appProtocol") is not None:
        errs += qualified_name(port["appProtocol"], child(path, "appProtocol"))
    return errs


def validate_endpoints(ep: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ss in enumerate(list_of(ep.get("subsets"))):
        ss, p = obj_of(ss), index("subsets", i)
        if not list_of(ss.get("addresses")) and not list_of(ss.get("notReadyAddresses")):
            errs.append(required(p, "must specify `addresses` or `notReadyAddresses`"))
        for group in ("addresses", "notReadyAddresses"):
            for j, addr in enumerate(list_of(ss.get(group))):
                addr, ap = obj_of(addr), index(child(p, group), j)
                ip = text(addr.get("ip"))
                errs += [invalid(child(ap, "ip"), ip, m) for m in names.is_valid_ip(ip)]
                if addr.get("hostname"):
                    errs += dns1123_label(addr["hostname"], child(ap, "hostname"))
                if addr.get("nodeName") is not None:
                    errs += dns1123_subdomain(addr["nodeName"], child(ap, "nodeName"))
                errs += non_special_ip(ip, child(ap, "ip"))
        ports = list_of(ss.get("ports"))
        for j, port in enumerate(ports):
            errs += endpoint_port(obj_of(port), len(ports) > 1, index(child(p, "ports"), j))
    return errs


# -- Event -------------------------------------------------------------------------------------------

def validate_event(ev: dict) -> list[FieldError]:
    """Legacy (core/v1) event rules."""
    md = obj_of(ev.get("metadata"))
    ns = text(md.get("namespace"))
    io_ns = obj_of(ev.get("involvedObject")).get("namespace") or ""
    errs: list[FieldError] = []
    if not ev.get("eventTime"):
        if not io_ns:
            if ns not in ("", "default"):
                errs.append(invalid("involvedObject.namespace", io_ns, "does not match event.namespace"))
        elif ns != io_ns:
            errs.append(invalid("involvedObject.namespace", io_ns, "does not match event.namespace"))
    else:
        if not io_ns and ns not in ("default", "kube-system"):
            errs.append(invalid("involvedObject.namespace", io_ns, "does not match event.namespace"))
        errs += _reporting(ev, "reportingComponent", "reportingController", "message")
    return errs


def _reporting(ev: dict, controller_field: str, controller_path: str, note_field: str) -> list[FieldError]:
    """The new-style event rules; core/v1 spells the controller `reportingComponent` on the wire."""
    errs: list[FieldError] = []
    rc = ev.get(controller_field) or ""
    if not rc:
        errs.append(required(controller_path))
    errs += qualified_name(rc, controller_path)
    for f, limit in (("reportingInstance", 128), ("action", 128), ("reason", 128)):
        v = text(ev.get(f))
        if not v:
            errs.append(required(f))
        if len(v) > limit:
            errs.append(invalid(f, "", f"can have at most {limit} characters"))
    if len(text(ev.get(note_field))) > 1024:
        errs.append(invalid(note_field, "", "can have at most 1024 characters"))
    return errs


def validate_events_v1(ev: dict) -> list[FieldError]:
    """events.k8s.io/v1: the strict rules for new-style events."""
    errs = _reporting(ev, "reportingController", "reportingController", "note")
    if not ev.get("eventTime"):
        errs.append(required("eventTime"))
    t = text(ev.get("type"))
    if t not in ("Normal", "Warning"):
        errs.append(invalid("type", "", f"has invalid value: {t}"))
    for f in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp"):
        if ev.get(f):
            errs.append(invalid(f, "", "needs to be unset"))
    if ev.get("deprecatedCount"):
        errs.append(invalid("deprecatedCount", "", "needs to be unset"))
    if is_set(ev.get("deprecatedSource")):
        errs.append(invalid("deprecatedSource", "", "needs to be unset"))
    series = ev.get("series")
    if series is not None:
        if (int_of(obj_of(series).get("count")) or 0) < 2:
            errs.append(invalid("series.count", "", "should be at least 2"))
        if not obj_of(series).get("lastObservedTime"):
            errs.append(required("series.lastObservedTime"))
    return errs


# -- LimitRange, ResourceQuota -----------------------------------------------------------------------

def validate_limit_range(lr: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    types_seen: set[str] = set()
    for i, item in enumerate(list_of(obj_of(lr.get("spec")).get("limits"))):
        item, p = obj_of(item), index("spec.limits", i)
        t = text(item.get("type"))
        errs += [invalid(child(p, "type"), t, m) for m in names.is_qualified_name(t)]
        if "/" not in t and t not in LIMIT_TYPES:
            errs.append(invalid(child(p, "type"), t, "must be a standard limit type or fully qualified"))
        if t in types_seen:
            errs.append(duplicate(child(p, "type"), t))
        types_seen.add(t)
        groups = {f: obj_of(item.get(f)) for f in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")}
        if t == "Pod":
            for f in ("default", "defaultRequest"):
                if groups[f]:
                    errs.append(forbidden(child(p, f), "may not be specified when `type` is 'Pod'"))
        if t == "PersistentVolumeClaim" and "storage" not in groups["min"] and "storage" not in groups["max"]:
            errs.append(required(child(p, "limits"), "either minimum or maximum storage value is required, but "
                                                     "neither was provided"))
        for f, g in groups.items():
            for name, q in sorted(g.items()):
                errs += resource_quantity_value(name, q, key(child(p, f), name))
        errs += _limit_relations(groups, p)
    return errs


def _limit_relations(g: dict[str, dict], p: str) -> list[FieldError]:
    def q(f: str, k: str):
        try:
            return quantity.parse(g[f][k]) if k in g[f] else None
        except (quantity.QuantityError, ValueError, TypeError, ZeroDivisionError):
            return None

    def s(f: str, k: str) -> str:
        v = g[f][k]
        return v if isinstance(v, str) else str(v)

    errs: list[FieldError] = []
    for k in sorted(set().union(*(set(x) for x in g.values()))):
        mn, mx, df, dr, ratio = q("min", k), q("max", k), q("default", k), q("defaultRequest", k), \
            q("maxLimitRequestRatio", k)
        if mn is not None and mx is not None and mn > mx:
            errs.append(invalid(key(child(p, "min"), k), s("min", k),
                                f"min value {s('min', k)} is greater than max value {s('max', k)}"))
        if dr is not None and mn is not None and mn > dr:
            errs.append(invalid(key(child(p, "defaultRequest"), k), s("defaultRequest", k),
                                f"min value {s('min', k)} is greater than default request value "
                                f"{s('defaultRequest', k)}"))
        if dr is not None and mx is not None and dr > mx:
            errs.append(invalid(key(child(p, "defaultRequest"), k), s("defaultRequest", k),
                                f"default request value {s('defaultRequest', k)} is greater than max value "
                                f"{s('max', k)}"))
        if dr is not None and df is not None and dr > df:
            errs.append(invalid(key(child(p, "defaultRequest"), k), s("defaultRequest", k),
                                f"default request value {s('defaultRequest', k)} is greater than default limit "
                                f"value {s('default', k)}"))
        if df is not None and mn is not None and mn > df:
            errs.append(invalid(key(child(p, "default"), k), s("min", k),
                                f"min value {s('min', k)} is greater than default value {s('default', k)}"))
        if df is not None and mx is not None and df > mx:
            errs.append(invalid(key(child(p, "default"), k), s("max", k),
                                f"default value {s('default', k)} is greater than max value {s('max', k)}"))
        if ratio is not None and ratio < 1:
            errs.append(invalid(key(child(p, "maxLimitRequestRatio"), k), s("maxLimitRequestRatio", k),
                                f"ratio {s('maxLimitRequestRatio', k)} is less than 1"))
    return errs


QUOTA_RESOURCES = frozenset({
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims",
    "services.nodeports", "services.loadbalancers", "cpu", "memory", "ephemeral-storage", "requests.cpu",
    "requests.memory", "requests.storage", "requests.ephemeral-storage", "limits.cpu", "limits.memory",
    "limits.ephemeral-storage"})
QUOTA_SCOPES = ("BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass",
                "Terminating")


def _quota_values(m: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for name, q in sorted(obj_of(m).items()):
        p = key(path, name)
        errs += [invalid(p, name, msg) for msg in names.is_qualified_name(name)]
        hugepages = name.startswith(("hugepages-", "requests.hugepages-"))
        if "/" not in name and name not in QUOTA_RESOURCES and not hugepages:
            errs.append(invalid(p, name, "must be a standard resource for quota"))
        errs += resource_quantity_value(name, q, p)
    return errs


def validate_resource_quota(rq: dict) -> list[FieldError]:
    spec = obj_of(rq.get("spec"))
    errs = _quota_values(spec.get("hard"), "spec.hard")
    for i, s in enumerate(list_of(spec.get("scopes"))):
        if s not in QUOTA_SCOPES:
            errs.append(not_supported(index("spec.scopes", i), s, QUOTA_SCOPES))
    errs += validate_resource_quota_status(rq, {})
    return errs


def validate_resource_quota_status(new: dict, old: dict) -> list[FieldError]:
    st = obj_of(new.get("status"))
    return _quota_values(st.get("hard"), "status.hard") + _quota_values(st.get("used"), "status.used")


# -- the rest ----------------------------------------------------------------------------------------

def validate_pod_template(pt: dict) -> list[FieldError]:
    return pod_template_spec(pt.get("template"), "template")


def validate_binding(b: dict) -> list[FieldError]:
    target = obj_of(b.get("target"))
    errs: list[FieldError] = []
    if target.get("kind") and target["kind"] != "Node":
        errs.append(not_supported("target.kind", target["kind"], ("Node", "<empty>")))
    if not target.get("name"):
        errs.append(required("target.name"))
    return errs
