"""ADD <url>: fetch a file (mode 600, mtime from Last-Modified, optional `--checksum`)."""

from __future__ import annotations

import os
from email.utils import parsedate_to_datetime
from pathlib import Path

import aiohttp

from ..oci import sha256_digest
from .context import Source
from .errors import BuildError


async def download(url: str, tmp: Path, want: str | None) -> Source:
    """Fetch `url` into `tmp` (only loopback URLs are reachable on the test machines)."""
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "download"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        if resp.status != 200:
            raise BuildError(f"failed to load {url}: HTTP {resp.status}")
        data = await resp.read()
        modified = resp.headers.get("Last-Modified")
    if want and sha256_digest(data) != want:
        raise BuildError(f"digest mismatch for {url}: expected {want}, got {sha256_digest(data)}")
    p = tmp / name
    p.write_bytes(data)
    os.chmod(p, 0o600)
    if modified:
        try:
            t = parsedate_to_datetime(modified).timestamp()
            os.utime(p, (t, t))
        except (TypeError, ValueError):
            pass
    return Source(tmp, name, False)
