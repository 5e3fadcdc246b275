"""Test tools shipped with kubelite (as trio ships `trio.testing`): run a real server process,
drive the real kubectl against it, and wait for conditions without bare sleeps.
"""

from .process import CONTROL_PLANE_ONLY, ServerProcess, free_port, kubectl_env
from .wait import async_wait_until, wait_until

__all__ = ["CONTROL_PLANE_ONLY", "ServerProcess", "free_port", "kubectl_env", "wait_until", "async_wait_until"]
