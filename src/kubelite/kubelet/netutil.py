"""TCP connections and small HTTP GETs to pods, from the node's network namespace.

When the agent runs a node whose network lives in another namespace (`KubeletConfig.node_netns`),
pod IPs are reachable only from inside it: the socket is created there (setns in a dedicated
thread, then back), and connected and used from the event loop as usual, since a socket keeps
the namespace it was made in. Used by httpGet/tcpSocket probes and httpGet lifecycle hooks.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
USER_AGENT = "kube-probe/1.32"
MAX_BODY = 10 * 1024

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_executor: ThreadPoolExecutor | None = None


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def _socket_in_netns(netns: str, family: int) -> socket.socket:
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns, os.O_RDONLY)
        try:
            _setns(target)
            try:
                return socket.socket(family, socket.SOCK_STREAM)
            finally:
                _setns(own)
        finally:
            os.close(target)
    finally:
        os.close(own)


async def connect(host: str, port: int, *, netns: str = "", timeout: float = 1.0,
                  ssl_context: ssl.SSLContext | None = None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    global _executor
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    async with asyncio.timeout(timeout):
        if not netns:
            return await asyncio.open_connection(host, port, ssl=ssl_context,
                                                 server_hostname=host if ssl_context else None)
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netns")
        loop = asyncio.get_running_loop()
        sock = await loop.run_in_executor(_executor, _socket_in_netns, netns, family)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, (host, port))
            return await asyncio.open_connection(sock=sock, ssl=ssl_context,
                                                 server_hostname=host if ssl_context else None)
        except BaseException:
            sock.close()
            raise


def dial_error(host: str, port: int, e: BaseException) -> str:
    addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(e, ConnectionRefusedError):
        return f"dial tcp {addr}: connect: connection refused"
    if isinstance(e, TimeoutError):
        return f"dial tcp {addr}: i/o timeout"
    if isinstance(e, OSError) and e.strerror:
        return f"dial tcp {addr}: connect: {e.strerror.lower()}"
    return f"dial tcp {addr}: {e}"


async def tcp_check(host: str, port: int, *, netns: str = "", timeout: float = 1.0) -> None:
    """Connect and close; raises OSError/TimeoutError with Go-like messages."""
    try:
        _, writer = await connect(host, port, netns=netns, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise ConnectionError(dial_error(host, port, e)) from e
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass


@dataclass
class HTTPResult:
    status: int
    body: bytes


async def http_get(scheme: str, host: str, port: int, path: str, headers: list[tuple[str, str]] | None = None,
                   *, netns: str = "", timeout: float = 1.0, host_header: str = "") -> HTTPResult:
    """One GET; the status and up to 10 KiB of the body. Errors raise ConnectionError with the
    message Kubernetes' Go client would give."""
    url = f"{scheme.lower()}://{host if ':' not in host else f'[{host}]'}:{port}{path or '/'}"
    ctx = None
    if scheme.upper() == "HTTPS":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await connect(host, port, netns=netns, timeout=timeout, ssl_context=ctx)
            try:
                hdrs = {"Host": host_header or f"{host}:{port}", "User-Agent": USER_AGENT, "Accept": "*/*",
                        "Connection": "close"}
                for k, v in headers or []:
                    hdrs[k.title() if k.lower() != "host" else "Host"] = v
                req = f"GET {path or '/'} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
                writer.write(req.encode())
                await writer.drain()
                line = await reader.readline()
                parts = line.decode("latin-1").split()
                if len(parts) < 2 or not parts[1].isdigit():
                    raise ConnectionError(f'Get "{url}": malformed HTTP response {line[:40]!r}')
                status = int(parts[1])
                length = None
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    if k.strip().lower() == "content-length" and v.strip().isdigit():
                        length = int(v.strip())
                want = MAX_BODY if length is None else min(MAX_BODY, length)
                body = b""
                while len(body) < want:
                    chunk = await reader.read(want - len(body))
                    if not chunk:
                        break
                    body += chunk
                return HTTPResult(status, body)
            finally:
                writer.close()
    except TimeoutError:
        raise ConnectionError(f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting '
                              "headers)") from None
    except ConnectionError as e:
        if str(e).startswith("Get "):
            raise
        raise ConnectionError(f'Get "{url}": {dial_error(host, port, e)}') from e
    except OSError as e:
        raise ConnectionError(f'Get "{url}": {dial_error(host, port, e)}') from e
