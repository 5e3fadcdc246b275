"""How a kubelite process runs its main coroutine: the event loop (uvloop when allowed and
installed) and SIGTERM/SIGINT, which cancel the coroutine so that it cleans up and returns.

Used by the `kubelite` commands and by the processes `kubelite cluster` starts (a cluster's
supervisor and node agents), which may not import the CLI.
"""

from __future__ import annotations

import asyncio
import signal


def run_async(main, *, uvloop_ok: bool = True) -> None:
    """Run a coroutine (with uvloop when allowed and available); SIGTERM/SIGINT cancel it cleanly.

    The embedded node agent's subprocess- and thread-heavy work measured 1.5-2x slower under
    uvloop, so a server with an agent runs on asyncio's own loop."""
    runner = asyncio.run
    if uvloop_ok:
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:  # pragma: no cover
            pass

    async def wrapper():
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await main
        except asyncio.CancelledError:
            pass

    runner(wrapper())
