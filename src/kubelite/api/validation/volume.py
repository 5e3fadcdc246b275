"""Pod volumes: Kubernetes' `ValidateVolumes` and `validateVolumeSource`."""

from __future__ import annotations

from typing import Any

from kubelite.machinery.errors import FieldError, duplicate, forbidden, invalid, not_supported, required

from .container import local_descending_path, no_backsteps, object_field_selector, resource_field_selector
from .meta import child, dns1123_label, index, int_of, list_of, obj_of, text

HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
                   "Socket")
VOLUME_FIELD_PATHS = ("metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                      "metadata.uid")
FILE_MODE_MSG = "must be a number between 0 and 0777 (octal), both inclusive"

# Volume source fields in the order Kubernetes checks them.
SOURCES = ("emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs",
           "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
           "downwardAPI", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
           "portworxVolume", "scaleIO", "storageos", "configMap", "projected", "csi", "ephemeral", "image")


def _mode(v: Any, path: str) -> list[FieldError]:
    n = int_of(v)
    if n is not None and not 0 <= n <= 0o777:
        return [invalid(path, n, FILE_MODE_MSG)]
    return []


def local_non_reserved_path(target: str, path: str) -> list[FieldError]:
    errs = local_descending_path(target, path)
    if target.startswith("..") and not target.startswith("../"):
        errs.append(invalid(path, target, "must not start with '..'"))
    return errs


def _key_to_paths(items: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, kp in enumerate(list_of(items)):
        kp, p = obj_of(kp), index(path, i)
        if not kp.get("key"):
            errs.append(required(child(p, "key")))
        if not kp.get("path"):
            errs.append(required(child(p, "path")))
        errs += local_non_reserved_path(text(kp.get("path")), child(p, "path"))
        errs += _mode(kp.get("mode"), child(p, "mode"))
    return errs


def _downward_api_files(items: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, f in enumerate(list_of(items)):
        f, p = obj_of(f), index(path, i)
        if not f.get("path"):
            errs.append(required(child(p, "path")))
        errs += local_non_reserved_path(text(f.get("path")), child(p, "path"))
        if f.get("fieldRef") is not None:
            errs += object_field_selector(obj_of(f["fieldRef"]), VOLUME_FIELD_PATHS, child(p, "fieldRef"))
            if f.get("resourceFieldRef") is not None:
                errs.append(invalid(p, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
        elif f.get("resourceFieldRef") is not None:
            errs += resource_field_selector(obj_of(f["resourceFieldRef"]), child(p, "resourceFieldRef"), volume=True)
        else:
            errs.append(required(p, "one of fieldRef and resourceFieldRef is required"))
        errs += _mode(f.get("mode"), child(p, "mode"))
    return errs


def _projected(src: dict, path: str) -> list[FieldError]:
    errs = _mode(src.get("defaultMode"), child(path, "defaultMode"))
    for i, s in enumerate(list_of(src.get("sources"))):
        s, p = obj_of(s), index(child(path, "sources"), i)
        n = 0
        for kind in ("secret", "configMap", "downwardAPI", "serviceAccountToken", "clusterTrustBundle"):
            if s.get(kind) is None:
                continue
            sp = child(p, kind)
            if n > 0:
                errs.append(forbidden(sp, "may not specify more than 1 volume type per source"))
                continue
            n += 1
            proj = obj_of(s[kind])
            if kind in ("secret", "configMap"):
                if not proj.get("name"):
                    errs.append(required(child(sp, "name")))
                errs += _key_to_paths(proj.get("items"), child(sp, "items"))
            elif kind == "downwardAPI":
                errs += _downward_api_files(proj.get("items"), child(sp, "items"))
            elif kind == "serviceAccountToken":
                exp = int_of(proj.get("expirationSeconds"))
                if exp is not None and exp < 600:
                    errs.append(invalid(child(sp, "expirationSeconds"), exp,
                                        "may not specify a duration less than 10 minutes"))
                elif exp is not None and exp > 1 << 32:
                    errs.append(invalid(child(sp, "expirationSeconds"), exp,
                                        "may not specify a duration larger than 2^32 seconds"))
                if not proj.get("path"):
                    errs.append(required(child(sp, "path")))
    return errs


def _source(kind: str, src: dict, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if kind == "emptyDir":
        size = src.get("sizeLimit")
        if isinstance(size, str) and size.startswith("-"):
            errs.append(forbidden(child(path, "sizeLimit"), "SizeLimit field must be a valid resource quantity"))
    elif kind == "hostPath":
        hp = text(src.get("path"))
        if not hp:
            return [required(child(path, "path"))]
        errs += no_backsteps(hp, child(path, "path"))
        t = src.get("type")
        if t is not None and t not in HOST_PATH_TYPES:
            errs.append(not_supported(child(path, "type"), t, HOST_PATH_TYPES))
    elif kind == "secret":
        if not src.get("secretName"):
            errs.append(required(child(path, "secretName")))
        errs += _mode(src.get("defaultMode"), child(path, "defaultMode"))
        errs += _key_to_paths(src.get("items"), child(path, "items"))
    elif kind == "configMap":
        if not src.get("name"):
            errs.append(required(child(path, "name")))
        errs += _mode(src.get("defaultMode"), child(path, "defaultMode"))
        errs += _key_to_paths(src.get("items"), child(path, "items"))
    elif kind == "persistentVolumeClaim":
        if not src.get("claimName"):
            errs.append(required(child(path, "claimName")))
    elif kind == "downwardAPI":
        errs += _mode(src.get("defaultMode"), child(path, "defaultMode"))
        errs += _downward_api_files(src.get("items"), child(path, "items"))
    elif kind == "projected":
        errs += _projected(src, path)
    elif kind == "nfs":
        if not src.get("server"):
            errs.append(required(child(path, "server")))
        p = text(src.get("path"))
        if not p:
            errs.append(required(child(path, "path")))
        elif not p.startswith("/"):
            errs.append(invalid(child(path, "path"), p, "must be an absolute path"))
    elif kind == "csi":
        if not src.get("driver"):
            errs.append(required(child(path, "driver")))
    elif kind == "ephemeral":
        if src.get("volumeClaimTemplate") is None:
            errs.append(required(child(path, "volumeClaimTemplate")))
    elif kind == "image":
        if not src.get("reference"):
            errs.append(required(child(path, "reference")))
    return errs


def volume_source(vol: dict, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    n = 0
    for kind in SOURCES:
        if vol.get(kind) is None:
            continue
        if n > 0:
            errs.append(forbidden(child(path, kind), "may not specify more than 1 volume type"))
            continue
        n += 1
        errs += _source(kind, obj_of(vol[kind]), child(path, kind))
    if n == 0:
        errs.append(required(path, "must specify a volume type"))
    return errs


def volumes(items: Any, path: str) -> tuple[dict[str, dict], list[FieldError]]:
    """Valid volumes by name (mounts may refer only to these) and the errors found."""
    valid: dict[str, dict] = {}
    errs: list[FieldError] = []
    for i, vol in enumerate(list_of(items)):
        vol, p = obj_of(vol), index(path, i)
        name = text(vol.get("name"))
        el = volume_source(vol, p)
        if not name:
            el.append(required(child(p, "name")))
        else:
            el += dns1123_label(name, child(p, "name"))
        if name in valid:
            el.append(duplicate(child(p, "name"), name))
        if el:
            errs += el
        else:
            valid[name] = vol
    return valid, errs
