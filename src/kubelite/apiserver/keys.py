"""Typed keys for what the filters store on a request (aiohttp's RequestKey)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubelite.registry.generic.store import UserInfo

from .requestinfo import RequestInfo

USER = web.RequestKey("kubelite_user", UserInfo)
INFO = web.RequestKey("kubelite_info", RequestInfo)
REQUEST_OBJECT = web.RequestKey("kubelite_request_object", Any)
DUPLICATE_FIELDS = web.RequestKey("kubelite_duplicate_fields", list)
