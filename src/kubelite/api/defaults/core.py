"""core/v1 defaults (Kubernetes' `pkg/apis/core/v1/defaults.go`).

`pod_spec` is what every object embedding a pod template gets (Deployments, Jobs...); `pod` adds
the rules Kubernetes applies to Pods only (limits copied into requests, `enableServiceLinks`,
host ports for host-network pods).
"""

from __future__ import annotations

import base64
import re
DEFAULT_MODE = 0o644            # 420: secret, configMap, downwardAPI and projected volumes
TOKEN_EXPIRATION_SECONDS = 3600
CLIENT_IP_AFFINITY_SECONDS = 10800


def _dict(parent: dict, key: str) -> dict | None:
    v = parent.get(key)
    return v if isinstance(v, dict) else None


def _dicts(parent: dict, key: str) -> list[dict]:
    v = parent.get(key)
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def field_dict(parent: dict, key: str) -> dict | None:
    """The object at `key`, created when absent or null; None when it is not an object (the
    schema rejects such input; defaulting leaves it alone)."""
    v = parent.get(key)
    if v is None:
        v = parent[key] = {}
    return v if isinstance(v, dict) else None


dict_items = _dicts


# -- containers --------------------------------------------------------------------------------------

_DIGEST_RE = re.compile(r"@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")


def image_tag(image: str) -> str:
    """The tag Kubernetes reads from an image reference: `latest` when neither tag nor digest is given,
    "" when only a digest is (or the reference does not parse)."""
    if not image or image != image.strip() or any(c.isupper() for c in image.split("/")[-1].split(":")[0]):
        return ""
    has_digest = bool(_DIGEST_RE.search(image))
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if not tag and not has_digest:
        return "latest"
    return tag


def probe(pr: dict) -> None:
    pr.setdefault("timeoutSeconds", 1)
    pr.setdefault("periodSeconds", 10)
    pr.setdefault("successThreshold", 1)
    pr.setdefault("failureThreshold", 3)
    handler(pr)


def handler(h: dict) -> None:
    get = _dict(h, "httpGet")
    if get is not None:
        if not get.get("path"):
            get["path"] = "/"
        if not get.get("scheme"):
            get["scheme"] = "HTTP"


def _env(env: list[dict]) -> None:
    for ev in env:
        vf = _dict(ev, "valueFrom")
        if vf is None:
            continue
        ref = _dict(vf, "fieldRef")
        if ref is not None and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"
        rref = _dict(vf, "resourceFieldRef")
        if rref is not None:
            rref.setdefault("divisor", "0")


def container(c: dict) -> None:
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = "Always" if image_tag(c.get("image") or "") == "latest" else "IfNotPresent"
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    c.setdefault("resources", {})      # a struct on the wire: always present, even empty
    for port in _dicts(c, "ports"):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        pr = _dict(c, name)
        if pr is not None:
            probe(pr)
    lc = _dict(c, "lifecycle")
    if lc is not None:
        for hook in ("postStart", "preStop"):
            h = _dict(lc, hook)
            if h is not None:
                handler(h)
    _env(_dicts(c, "env"))


# -- volumes -----------------------------------------------------------------------------------------

_VOLUME_SOURCES = ("hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
                   "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
                   "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk",
                   "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral",
                   "image")


def _downward_api_items(items: list[dict]) -> None:
    for item in items:
        ref = _dict(item, "fieldRef")
        if ref is not None and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"
        rref = _dict(item, "resourceFieldRef")
        if rref is not None:
            rref.setdefault("divisor", "0")


def persistent_volume_claim_spec(spec: dict) -> None:
    if not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"


def volume(v: dict) -> None:
    if not any(v.get(s) is not None for s in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    for kind in ("secret", "configMap", "downwardAPI", "projected"):
        src = _dict(v, kind)
        if src is not None and src.get("defaultMode") is None:
            src["defaultMode"] = DEFAULT_MODE
    dapi = _dict(v, "downwardAPI")
    if dapi is not None:
        _downward_api_items(_dicts(dapi, "items"))
    proj = _dict(v, "projected")
    if proj is not None:
        for src in _dicts(proj, "sources"):
            tok = _dict(src, "serviceAccountToken")
            if tok is not None and tok.get("expirationSeconds") is None:
                tok["expirationSeconds"] = TOKEN_EXPIRATION_SECONDS
            d = _dict(src, "downwardAPI")
            if d is not None:
                _downward_api_items(_dicts(d, "items"))
    hp = _dict(v, "hostPath")
    if hp is not None and hp.get("type") is None:
        hp["type"] = ""
    iscsi = _dict(v, "iscsi")
    if iscsi is not None and not iscsi.get("iscsiInterface"):
        iscsi["iscsiInterface"] = "default"
    rbd = _dict(v, "rbd")
    if rbd is not None:
        rbd.setdefault("pool", "rbd")
        rbd.setdefault("user", "admin")
        rbd.setdefault("keyring", "/etc/ceph/keyring")
    eph = _dict(v, "ephemeral")
    tpl = _dict(eph, "volumeClaimTemplate") if eph is not None else None
    if tpl is not None and _dict(tpl, "spec") is not None:
        persistent_volume_claim_spec(tpl["spec"])


# -- pod spec, pod template, pod ---------------------------------------------------------------------

def pod_spec(spec: dict) -> None:
    """`SetDefaults_PodSpec` and the defaults of everything a pod spec holds."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for c in _dicts(spec, group):
            container(c)
    for v in _dicts(spec, "volumes"):
        volume(v)


def pod_template(tpl: dict) -> None:
    """A PodTemplateSpec inside a workload. `creationTimestamp: null` is how Kubernetes 1.32 writes
    the template's (zero) timestamp on the wire."""
    md = field_dict(tpl, "metadata")
    if md is not None:
        md.setdefault("creationTimestamp", None)
    spec = field_dict(tpl, "spec")
    if spec is not None:
        pod_spec(spec)


def _limits_into_requests(c: dict) -> None:
    res = _dict(c, "resources")
    limits = _dict(res, "limits") if res is not None else None
    if not limits:
        return
    requests = res.setdefault("requests", {})
    for k, v in limits.items():
        requests.setdefault(k, v)


def pod(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    pod_spec(spec)
    for group in ("containers", "initContainers"):
        for c in _dicts(spec, group):
            _limits_into_requests(c)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        for group in ("containers", "initContainers"):
            for c in _dicts(spec, group):
                for port in _dicts(c, "ports"):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")


def pod_template_object(obj: dict) -> None:
    tpl = field_dict(obj, "template")
    if tpl is not None:
        pod_template(tpl)


# -- other core kinds --------------------------------------------------------------------------------

def externally_accessible(spec: dict) -> bool:
    t = spec.get("type")
    return t in ("LoadBalancer", "NodePort") or (t == "ClusterIP" and bool(spec.get("externalIPs")))


def service(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        cfg = _dict(spec, "sessionAffinityConfig")
        client_ip = _dict(cfg, "clientIP") if cfg is not None else None
        if client_ip is None or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": CLIENT_IP_AFFINITY_SECONDS}}
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    for port in _dicts(spec, "ports"):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in ("NodePort", "LoadBalancer", "ClusterIP"):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is None:
            spec["allocateLoadBalancerNodePorts"] = True
        lb = _dict(obj["status"], "loadBalancer") if isinstance(obj.get("status"), dict) else None
        for ing in _dicts(lb or {}, "ingress"):
            if ing.get("ip") and ing.get("ipMode") is None:
                ing["ipMode"] = "VIP"


def namespace(obj: dict) -> None:
    """`SetDefaults_NamespaceStatus`. (The `kubernetes` finalizer is a create-time rule of the
    namespace strategy, see `namespace_finalizers_on_create`, not a default: defaulting it would
    put it back on every `/finalize` body.)"""
    status = field_dict(obj, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Active"


def namespace_finalizers_on_create(obj: dict) -> None:
    """What Kubernetes' namespace strategy does in PrepareForCreate: ensure the `kubernetes` finalizer."""
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    fins = spec.get("finalizers") if isinstance(spec.get("finalizers"), list) else []
    if "kubernetes" not in fins:
        spec["finalizers"] = [*fins, "kubernetes"]


def secret(obj: dict) -> None:
    """`SetDefaults_Secret`, and the v1 conversion that folds write-only `stringData` into `data`."""
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        obj["data"] = data


def node(obj: dict) -> None:
    status = _dict(obj, "status")
    if status is not None and status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = dict(status["capacity"])


def endpoints(obj: dict) -> None:
    for subset in _dicts(obj, "subsets"):
        for port in _dicts(subset, "ports"):
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def limit_range(obj: dict) -> None:
    spec = _dict(obj, "spec")
    for item in _dicts(spec or {}, "limits"):
        if item.get("type") != "Container":
            continue
        default = dict(_dict(item, "default") or {})
        request = dict(_dict(item, "defaultRequest") or {})
        for k, v in (_dict(item, "max") or {}).items():
            default.setdefault(k, v)
        for k, v in default.items():
            request.setdefault(k, v)
        for k, v in (_dict(item, "min") or {}).items():
            request.setdefault(k, v)
        if default:
            item["default"] = default
        if request:
            item["defaultRequest"] = request


def persistent_volume_claim(obj: dict) -> None:
    spec = _dict(obj, "spec")
    if spec is not None:
        persistent_volume_claim_spec(spec)
    status = field_dict(obj, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Pending"
