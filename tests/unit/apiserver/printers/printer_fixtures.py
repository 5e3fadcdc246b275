"""Shared test helpers: a fixed clock and timestamps relative to it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def ago(seconds: float) -> str:
    """An RFC 3339 timestamp `seconds` before NOW."""
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def metadata(name: str = "x", age: float = 300, **extra) -> dict:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(age), **extra}
