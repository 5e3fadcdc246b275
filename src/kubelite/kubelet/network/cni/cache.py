"""The CNI result cache (libcni's `cniCacheV1` idea): per network, container and interface, the
config, args and final ADD result, so DEL and CHECK can be replayed after an agent restart."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

KIND = "cniCacheV1"


class ResultCache:
    def __init__(self, directory: Path):
        self.dir = Path(directory) / "results"

    def path(self, network: str, container_id: str, ifname: str) -> Path:
        return self.dir / f"{network}-{container_id}-{ifname}"

    def _save(self, path: Path, entry: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, path)

    async def save(
        self, *, network: str, container_id: str, ifname: str, config: dict[str, Any],
        cni_args: list[tuple[str, str]], capability_args: dict[str, Any], netns: str,
        result: dict[str, Any] | None,
    ) -> None:
        entry = {
            "kind": KIND, "containerId": container_id, "ifName": ifname, "networkName": network,
            "config": config, "cniArgs": [list(a) for a in cni_args], "capabilityArgs": capability_args,
            "netns": netns, "result": result,
        }
        await asyncio.to_thread(self._save, self.path(network, container_id, ifname), entry)

    async def load(self, network: str, container_id: str, ifname: str) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            try:
                entry = json.loads(self.path(network, container_id, ifname).read_text())
            except (OSError, ValueError):
                return None
            return entry if entry.get("kind") == KIND else None

        return await asyncio.to_thread(read)

    async def delete(self, network: str, container_id: str, ifname: str) -> None:
        def rm() -> None:
            try:
                self.path(network, container_id, ifname).unlink()
            except FileNotFoundError:
                pass

        await asyncio.to_thread(rm)
