"""Connecting to a pod's port for port-forward: `PortDialer`.

- `NetnsDialer` (real): like the CRI runtimes, connect to localhost:<port> *inside* the pod's
  network namespace (the sandbox's pinned netns, else that of a running container's init); a
  host-network pod is dialled on the host's loopback. The socket is created in a short-lived
  thread that enters the namespace with setns(2) and leaves it at once; connecting then happens
  on the event loop.
- `LoopbackDialer` (fake): pod ports mapped to ports on the host's loopback.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import socket
import threading
from typing import Protocol

from kubelite.kubelet.runtime import ContainerFilter, ContainerState, RuntimeService

from .lookup import PodRef

CLONE_NEWNET = 0x40000000
CONNECT_TIMEOUT = 10.0

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class PortDialer(Protocol):
    async def dial(self, pod: PodRef, port: int) -> Streams:
        """Connect to `port` of the pod; raises OSError with a message for the client."""


def _socket_in_netns(netns: str, family: int, loop: asyncio.AbstractEventLoop) -> asyncio.Future[socket.socket]:
    """A TCP socket created inside `netns` (by a thread that enters it and returns)."""
    fut: asyncio.Future[socket.socket] = loop.create_future()

    def deliver(result: socket.socket | BaseException) -> None:
        if fut.done():
            if isinstance(result, socket.socket):
                result.close()
            return
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)

    def run() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        own = target = -1
        try:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            target = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            if libc.setns(target, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"setns {netns}: {os.strerror(e)}")
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            finally:
                if libc.setns(own, CLONE_NEWNET) != 0:  # pragma: no cover - the thread ends anyway
                    pass
            loop.call_soon_threadsafe(deliver, sock)
        except BaseException as e:  # noqa: BLE001 - handed to the waiting coroutine
            loop.call_soon_threadsafe(deliver, e)
        finally:
            for fd in (own, target):
                if fd >= 0:
                    os.close(fd)

    threading.Thread(target=run, name="netns-dial", daemon=True).start()
    return fut


def _describe(family: int, port: int, e: OSError) -> str:
    if family == socket.AF_INET:
        what = f"dial tcp4 127.0.0.1:{port}"
    else:
        what = f"dial tcp6 [::1]:{port}"
    reason = os.strerror(e.errno) if e.errno else str(e)
    return f"{what}: connect: {reason.lower()}"


async def _connect(sock: socket.socket, address: tuple) -> Streams:
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await loop.sock_connect(sock, address)
    except TimeoutError:
        sock.close()
        raise OSError(errno.ETIMEDOUT, os.strerror(errno.ETIMEDOUT)) from None
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


class NetnsDialer:
    def __init__(self, runtime: RuntimeService):
        self.runtime = runtime

    async def _netns(self, pod: PodRef) -> str | None:
        """The pod's netns path; None for a host-network pod."""
        status = await self.runtime.pod_sandbox_status(pod.sandbox_id)
        if status.host_network:
            return None
        if status.netns:
            return status.netns
        for c in await self.runtime.list_containers(ContainerFilter(pod_sandbox_id=pod.sandbox_id,
                                                                   state=ContainerState.RUNNING)):
            st = await self.runtime.container_status(c.id)
            if st.pid:
                return f"/proc/{st.pid}/ns/net"
        raise OSError(errno.ENOENT, f"no network namespace found for sandbox {pod.sandbox_id}")

    async def dial(self, pod: PodRef, port: int) -> Streams:
        netns = await self._netns(pod)
        loop = asyncio.get_running_loop()
        failures = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            try:
                sock = socket.socket(family, socket.SOCK_STREAM) if netns is None else \
                    await _socket_in_netns(netns, family, loop)
            except OSError as e:
                failures.append(f"{'IPv4' if family == socket.AF_INET else 'IPv6'}: {e}")
                continue
            try:
                return await _connect(sock, (host, port))
            except OSError as e:
                failures.append(f"{'IPv4' if family == socket.AF_INET else 'IPv6'}: {_describe(family, port, e)}")
        where = f' inside namespace "{pod.sandbox_id}"' if netns is not None else ""
        raise OSError(errno.ECONNREFUSED, f"failed to connect to localhost:{port}{where}, " + " ".join(failures))


class LoopbackDialer:
    """Pod ports -> host loopback ports: `ports[(sandbox_id, pod_port)]` or `ports[pod_port]`."""

    def __init__(self, ports: dict | None = None):
        self.ports: dict = ports if ports is not None else {}

    async def dial(self, pod: PodRef, port: int) -> Streams:
        target = self.ports.get((pod.sandbox_id, port), self.ports.get(port))
        if target is None:
            raise OSError(errno.ECONNREFUSED, f"failed to connect to localhost:{port} inside namespace "
                                              f'"{pod.sandbox_id}", IPv4: dial tcp4 127.0.0.1:{port}: '
                                              f"connect: connection refused")
        try:
            return await asyncio.open_connection("127.0.0.1", target)
        except OSError as e:
            raise OSError(e.errno, f"failed to connect to localhost:{port} inside namespace "
                                   f'"{pod.sandbox_id}", IPv4: {_describe(socket.AF_INET, port, e)}') from None
