"""CNI network configuration lists and per-plugin requests (CNI spec 1.0.0). Pure.

A plugin's request is its object from the list plus the list's `cniVersion` and `name`, the
`runtimeConfig` for each capability it declares and the runtime provides, and `prevResult`
(the previous plugin's result on ADD; the final ADD result on DEL and CHECK).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..interface import PodNetworkRequest, PortMapping

CNI_VERSION = "1.0.0"

LOOPBACK_CONFLIST: dict[str, Any] = {
    "cniVersion": CNI_VERSION,
    "name": "cni-loopback",
    "plugins": [{"type": "loopback"}],
}


def node_conflist(
    *, pod_cidr: str, data_dir: str, name: str = "kubelite", bridge: str = "cni0", mtu: int = 0
) -> dict[str, Any]:
    """bridge + host-local (the node's pod CIDR, its own dataDir) + portmap (hostPort).
    No masquerade: pod-to-pod traffic is never NATed (contract §3.2)."""
    net = ipaddress.ip_network(pod_cidr)
    gateway = str(next(net.hosts()))
    bridge_plugin: dict[str, Any] = {
        "type": "bridge",
        "bridge": bridge,
        "isGateway": True,
        "ipMasq": False,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": str(net), "gateway": gateway}]],
            "routes": [{"dst": "0.0.0.0/0" if net.version == 4 else "::/0"}],
            "dataDir": data_dir,
        },
    }
    if mtu:
        bridge_plugin["mtu"] = mtu
    return {
        "cniVersion": CNI_VERSION,
        "name": name,
        "plugins": [bridge_plugin, {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}],
    }


def validate_conflist(conflist: dict[str, Any]) -> list[str]:
    errs = []
    if not conflist.get("name"):
        errs.append("conflist has no name")
    if not conflist.get("cniVersion"):
        errs.append("conflist has no cniVersion")
    plugins = conflist.get("plugins")
    if not isinstance(plugins, list) or not plugins:
        errs.append("conflist has no plugins")
    else:
        errs += [f"plugin {i} has no type" for i, p in enumerate(plugins) if not p.get("type")]
    return errs


def plugin_types(conflist: dict[str, Any]) -> list[str]:
    """Every binary the list needs (plugins and their IPAM plugins)."""
    out = []
    for p in conflist.get("plugins") or []:
        out.append(p["type"])
        if isinstance(p.get("ipam"), dict) and p["ipam"].get("type"):
            out.append(p["ipam"]["type"])
    return out


def port_mappings_arg(mappings: list[PortMapping]) -> list[dict[str, Any]]:
    out = []
    for m in mappings:
        if not m.host_port:
            continue
        entry: dict[str, Any] = {"hostPort": m.host_port, "containerPort": m.container_port,
                                 "protocol": (m.protocol or "TCP").lower()}
        if m.host_ip:
            entry["hostIP"] = m.host_ip
        out.append(entry)
    return out


def capability_args(request: PodNetworkRequest) -> dict[str, Any]:
    ports = port_mappings_arg(request.port_mappings)
    return {"portMappings": ports} if ports else {}


def cni_args(request: PodNetworkRequest) -> list[tuple[str, str]]:
    return [
        ("IgnoreUnknown", "1"),
        ("K8S_POD_NAMESPACE", request.namespace),
        ("K8S_POD_NAME", request.name),
        ("K8S_POD_INFRA_CONTAINER_ID", request.sandbox_id),
        ("K8S_POD_UID", request.uid),
    ]


def format_cni_args(args: list[tuple[str, str]] | list[list[str]]) -> str:
    return ";".join(f"{k}={v}" for k, v in args)


def plugin_request(
    conflist: dict[str, Any],
    plugin: dict[str, Any],
    *,
    prev_result: dict[str, Any] | None,
    capabilities: dict[str, Any],
) -> dict[str, Any]:
    conf = {k: v for k, v in plugin.items() if k != "capabilities"}
    conf["cniVersion"] = conflist["cniVersion"]
    conf["name"] = conflist["name"]
    declared = plugin.get("capabilities") or {}
    runtime = {k: v for k, v in capabilities.items() if declared.get(k)}
    if runtime:
        conf["runtimeConfig"] = {**(conf.get("runtimeConfig") or {}), **runtime}
    if prev_result is not None:
        conf["prevResult"] = prev_result
    return conf


def skip_check(conflist: dict[str, Any], plugin: dict[str, Any]) -> bool:
    """CHECK is disabled for the list, or broken for the plugin (portmap 1.1.1 on IPv4-only)."""
    return bool(conflist.get("disableCheck")) or plugin.get("type") == "portmap"


def pod_ips(result: dict[str, Any] | None, ifname: str) -> list[str]:
    """Addresses (without prefix length) on the sandbox interface `ifname`."""
    if not result:
        return []
    interfaces = result.get("interfaces") or []
    wanted = {i for i, itf in enumerate(interfaces) if itf.get("name") == ifname and itf.get("sandbox")}
    out = []
    for ip in result.get("ips") or []:
        idx = ip.get("interface")
        if wanted and idx not in wanted:
            continue
        out.append(str(ipaddress.ip_interface(ip["address"]).ip))
    return out
