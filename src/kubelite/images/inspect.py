"""`docker image inspect` and `docker history` documents for a stored image. Pure."""

from __future__ import annotations

from typing import Any

from .interface import Image
from .reference import familiar

_CONFIG_DEFAULTS: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
    "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None,
    "Labels": None,
}


def inspect_image(image: Image, manifest: dict[str, Any], snapshot_dirs: list[str]) -> dict[str, Any]:
    cfg = image.config
    c = {**_CONFIG_DEFAULTS, **(cfg.get("config") or {})}
    return {
        "Id": image.id,
        "RepoTags": [familiar(t) for t in image.repo_tags],
        "RepoDigests": [familiar(d) for d in image.repo_digests],
        "Parent": "",
        "Comment": _last_comment(cfg),
        "Created": cfg.get("created", ""),
        "DockerVersion": "",
        "Author": cfg.get("author", ""),
        "Config": c,
        "Architecture": cfg.get("architecture", ""),
        "Variant": cfg.get("variant") or None,
        "Os": cfg.get("os", ""),
        "Size": image.size,
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {"LowerDir": ":".join(reversed(snapshot_dirs))} if snapshot_dirs else {},
        },
        "RootFS": {"Type": "layers", "Layers": list(image.diff_ids)},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        "Descriptor": {"mediaType": manifest.get("mediaType", ""), "digest": image.digest},
    }


def _last_comment(cfg: dict[str, Any]) -> str:
    hist = cfg.get("history") or []
    return (hist[-1].get("comment") or "") if hist else ""


def image_history(image: Image, layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows newest first: id (the image ID on the top row, `<missing>` below), created, created_by,
    size (the layer's blob size, 0 for metadata-only steps), comment, tags."""
    hist = list(image.config.get("history") or [])
    if not hist:  # images without history: one row per layer
        hist = [{"created": image.config.get("created", ""), "created_by": ""} for _ in layers]
    sizes = [int(d.get("size") or 0) for d in layers]
    rows = []
    li = 0
    for h in hist:
        size = 0
        if not h.get("empty_layer"):
            size = sizes[li] if li < len(sizes) else 0
            li += 1
        rows.append({"id": "<missing>", "created": h.get("created", ""), "created_by": h.get("created_by", ""),
                     "size": size, "comment": h.get("comment", ""), "empty_layer": bool(h.get("empty_layer")),
                     "tags": []})
    rows.reverse()
    if rows:
        rows[0]["id"] = image.id
        rows[0]["tags"] = [familiar(t) for t in image.repo_tags]
    return rows
