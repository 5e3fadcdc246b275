"""Tables for `kubectl get`: the server formats every cell (AGE included) with the printers."""

from __future__ import annotations

from datetime import datetime

from kubelite.api.scheme import Resource
from kubelite.machinery import errors, timeutil

from . import printers as _printers

_DEFAULT_COLUMNS = [
    {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.",
     "priority": 0},
    {"name": "Created At", "type": "date", "format": "",
     "description": "CreationTimestamp is when the object was created.", "priority": 0},
]


def columns(r: Resource) -> list[dict]:
    fn = getattr(_printers, "column_definitions", None)
    return fn(r.group, r.kind) if fn else _DEFAULT_COLUMNS


def cells(r: Resource, obj: dict, now: datetime) -> list:
    fn = getattr(_printers, "row_cells", None)
    if fn:
        return fn(r.group, r.kind, obj, now)
    md = obj.get("metadata", {})
    return [md.get("name", ""), md.get("creationTimestamp", "")]


def check_include_object(value: str | None) -> str:
    value = value or "Metadata"
    if value not in ("Metadata", "Object", "None"):
        raise errors.new_bad_request(f'includeObject: Unsupported value: "{value}": supported values: '
                                     f'"Metadata", "None", "Object"')
    return value


def row_object(obj: dict, include: str) -> dict | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def row(r: Resource, obj: dict, include: str, now: datetime) -> dict:
    out: dict = {"cells": cells(r, obj, now)}
    o = row_object(obj, include)
    if o is not None:
        out["object"] = o
    cond = getattr(_printers, "row_conditions", None)
    if cond:
        c = cond(r.group, r.kind, obj)
        if c:
            out["conditions"] = c
    return out


def table(r: Resource, objs: list[dict], *, resource_version: str, continue_token: str = "",
          include: str = "Metadata", version: str = "v1", headers: bool = True,
          remaining: int | None = None) -> dict:
    now = timeutil.now()
    md: dict = {"resourceVersion": resource_version}
    if continue_token:
        md["continue"] = continue_token
    if remaining is not None:
        md["remainingItemCount"] = remaining
    t = {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": md,
         "columnDefinitions": columns(r) if headers else None,
         "rows": [row(r, o, include, now) for o in objs]}
    if not headers:
        t.pop("columnDefinitions")
    return t


def status_table(status: dict) -> dict:
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
            "columnDefinitions": [
                {"name": "Status", "type": "string", "format": "", "description": "Status of the operation.",
                 "priority": 0},
                {"name": "Reason", "type": "string", "format": "", "description": "Reason of the failure.",
                 "priority": 0},
                {"name": "Message", "type": "string", "format": "", "description": "Description of the failure.",
                 "priority": 0}],
            "rows": [{"cells": [status.get("status", ""), status.get("reason", ""), status.get("message", "")],
                      "object": status}]}
