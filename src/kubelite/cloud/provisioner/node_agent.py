"""One managed node's agent process:

    python -m kubelite.cloud.provisioner.node_agent <instance dir>/agent.json

`kubelite agent` with the options a managed node needs that the command does not expose: the
VPC CNI network and the kubelet server inside the node's namespace (`vpc_agent.VPCAgent`). It
authenticates with the kubeconfig next to its config (an exec plugin for IAM tokens) and exits
when its parent (the service) is gone; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any


class ParentGone(Exception):
    pass


async def run(config: dict[str, Any], kubeconfig: Path, parent_pid: int, vpc: dict[str, Any] | None = None,
              capacity: dict[str, Any] | None = None) -> None:
    from kubelite.agent import Agent, AgentConfig
    from kubelite.client import Client, load_kubeconfig

    from .vpc_agent import VPCAgent

    fields = AgentConfig.__dataclass_fields__
    paths = {"data_dir", "run_dir", "log_dir", "image_dir", "client_ca_file"}
    kw = {k: (Path(v) if k in paths and v else v) for k, v in config.items() if k in fields and v is not None}
    cfg = AgentConfig(**kw)
    client = Client.from_config(await asyncio.to_thread(load_kubeconfig, kubeconfig))

    async def orphan_watch() -> None:
        while parent_pid and os.getppid() == parent_pid:
            await asyncio.sleep(1.0)
        raise ParentGone(f"parent {parent_pid} is gone")

    try:
        async with asyncio.TaskGroup() as tg:
            agent = VPCAgent(cfg, client, vpc=vpc, capacity=capacity) if vpc else Agent(cfg, client)
            tg.create_task(agent.run(), name="agent")
            if parent_pid:
                tg.create_task(orphan_watch(), name="orphan-watch")
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0])
    doc = json.loads(path.read_text())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)

    async def guarded() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
        try:
            try:
                await run(doc["agent"], Path(doc["kubeconfig"]), int(doc.get("parent_pid") or 0), doc.get("vpc"),
                          doc.get("capacity"))
            except* ParentGone as eg:
                logging.getLogger(__name__).warning("%s; stopping", eg.exceptions[0])
        except asyncio.CancelledError:
            pass

    asyncio.run(guarded())  # the agent runs on asyncio's own loop (ADR 0005)


if __name__ == "__main__":
    main()
