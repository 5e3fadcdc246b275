"""Service environment variables (Kubernetes' `pkg/kubelet/envvars`): `<NAME>_SERVICE_HOST`,
`<NAME>_SERVICE_PORT[_<PORT NAME>]` and the Docker-link style `<NAME>_PORT...` variables, for the
`kubernetes` Service of `default` always, and for the pod's namespace when `enableServiceLinks`."""

from __future__ import annotations

MASTER_SERVICES = ("kubernetes",)


def env_name(name: str) -> str:
    return name.replace("-", "_").upper()


def _ip_set(service: dict) -> bool:
    ip = (service.get("spec") or {}).get("clusterIP") or ""
    return ip not in ("", "None")


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def from_services(services: list[dict]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for svc in services:
        if not _ip_set(svc):
            continue
        spec = svc.get("spec") or {}
        ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
        if not ports:
            continue
        ip = spec["clusterIP"]
        prefix = env_name(svc["metadata"]["name"])
        out.append((f"{prefix}_SERVICE_HOST", ip))
        base = f"{prefix}_SERVICE_PORT"
        out.append((base, str(ports[0].get("port"))))
        for p in ports:
            if p.get("name"):
                out.append((f"{base}_{env_name(p['name'])}", str(p.get("port"))))
        for i, p in enumerate(ports):
            proto = str(p.get("protocol") or "TCP")
            hp = _join_host_port(ip, int(p.get("port") or 0))
            if i == 0:
                out.append((f"{prefix}_PORT", f"{proto.lower()}://{hp}"))
            pp = f"{prefix}_PORT_{p.get('port')}_{proto.upper()}"
            out += [(pp, f"{proto.lower()}://{hp}"), (f"{pp}_PROTO", proto.lower()),
                    (f"{pp}_PORT", str(p.get("port"))), (f"{pp}_ADDR", ip)]
    return out


def service_env_map(services: list[dict], namespace: str, enable_service_links: bool) -> dict[str, str]:
    chosen: dict[str, dict] = {}
    for svc in services:
        if not _ip_set(svc):
            continue
        md = svc.get("metadata") or {}
        name, ns = md.get("name", ""), md.get("namespace", "")
        if ns == "default" and name in MASTER_SERVICES:
            chosen.setdefault(name, svc)
        elif ns == namespace and enable_service_links:
            chosen[name] = svc
    return dict(from_services([chosen[k] for k in sorted(chosen)]))
