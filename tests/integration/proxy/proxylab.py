"""A throwaway data plane for the proxy tests: network namespaces, veths, a bridge, servers.

    client (198.18.0.100) ── veth ── node (198.18.0.11; bridge 198.19.1.1/24) ── veth ── pod1 198.19.1.2
                                                                               └── veth ── pod2 198.19.1.3

Everything is named `<prefix>-...` with a random prefix, lives inside the namespaces (the host
sees none of it but the `ip netns` pins), and `close()` kills the servers by PID, deletes the
namespaces (which removes their veths, bridge and nft tables) and checks nothing is left.
The node's default route points at the client netns, so Service IPs without endpoints are
routed (and rejected by the proxy) instead of failing with ENETUNREACH (dataplane contract
§4.3); no address outside 198.18.0.0/15 is ever used.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time

HTTP_SERVER = textwrap.dedent("""
    import socket, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    name, port = sys.argv[1], int(sys.argv[2])
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"{name} {self.client_address[0]}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    class S(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128
    def udp():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("0.0.0.0", port))
        while True:
            data, addr = u.recvfrom(2048)
            u.sendto(name.encode(), addr)
    threading.Thread(target=udp, daemon=True).start()
    S(("0.0.0.0", port), H).serve_forever()
""")

CLIENT = textwrap.dedent("""
    import errno, json, socket, sys, time
    mode, ip, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    out = []
    if mode == "http":
        for _ in range(n):
            t = time.monotonic()
            try:
                s = socket.create_connection((ip, port), timeout=3)
                s.sendall(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                s.close()
                out.append(data.split(b"\\r\\n\\r\\n", 1)[-1].decode())
            except OSError as e:
                out.append("ERR:" + (errno.errorcode.get(e.errno, "") if e.errno else type(e).__name__)
                           + f":{time.monotonic() - t:.3f}")
    else:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("0.0.0.0", int(sys.argv[5])))
        u.settimeout(2)
        for _ in range(n):
            try:
                u.sendto(b"ping", (ip, port))
                out.append(u.recv(2048).decode())
            except OSError as e:
                out.append("ERR:" + (errno.errorcode.get(e.errno, "") if e.errno else type(e).__name__))
    print(json.dumps(out))
""")


def sh(*args: str, check: bool = True) -> str:
    p = subprocess.run(list(args), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


class Lab:
    NODE_IP = "198.18.0.11"
    CLIENT_IP = "198.18.0.100"
    GATEWAY = "198.19.1.1"
    POD_IPS = ("198.19.1.2", "198.19.1.3")
    PORT = 8080

    def __init__(self) -> None:
        self.prefix = "kp" + secrets.token_hex(3)
        self.node = f"{self.prefix}-node"
        self.client = f"{self.prefix}-cli"
        self.pods = [f"{self.prefix}-pod{i + 1}" for i in range(len(self.POD_IPS))]
        self.procs: list[subprocess.Popen] = []

    @property
    def node_netns(self) -> str:
        return f"/run/netns/{self.node}"

    def ns(self, netns: str, *args: str, check: bool = True) -> str:
        return sh("ip", "netns", "exec", netns, *args, check=check)

    def namespaces(self) -> list[str]:
        return [self.node, self.client, *self.pods]

    def setup(self) -> "Lab":
        for n in self.namespaces():
            sh("ip", "netns", "add", n)
            self.ns(n, "ip", "link", "set", "lo", "up")
        # a new netns may start with forwarding off (the CNI bridge plugin's isGateway turns it on)
        self.ns(self.node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # node <-> client uplink
        self.ns(self.node, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "up0")
        self.ns(self.node, "ip", "link", "set", "up0", "netns", self.client)
        self.ns(self.client, "ip", "link", "set", "up0", "name", "eth0")
        self.ns(self.node, "ip", "addr", "add", f"{self.NODE_IP}/24", "dev", "eth0")
        self.ns(self.client, "ip", "addr", "add", f"{self.CLIENT_IP}/24", "dev", "eth0")
        self.ns(self.node, "ip", "link", "set", "eth0", "up")
        self.ns(self.client, "ip", "link", "set", "eth0", "up")
        self.ns(self.client, "ip", "route", "add", "198.18.128.0/20", "via", self.NODE_IP)
        self.ns(self.client, "ip", "route", "add", "198.18.192.0/20", "via", self.NODE_IP)
        self.ns(self.client, "ip", "route", "add", "198.19.0.0/16", "via", self.NODE_IP)
        self.ns(self.node, "ip", "route", "add", "default", "via", self.CLIENT_IP)
        # Service IPs without endpoints are routed back out of eth0, where they came in: the ICMP
        # redirect the kernel would send first uses up the per-peer ICMP rate-limit token, and the
        # proxy's port-unreachable would then be suppressed for about a second.
        self.ns(self.node, "sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0",
                "net.ipv4.conf.eth0.send_redirects=0")
        # the pod bridge
        self.ns(self.node, "ip", "link", "add", "cni0", "type", "bridge")
        self.ns(self.node, "ip", "addr", "add", f"{self.GATEWAY}/24", "dev", "cni0")
        self.ns(self.node, "ip", "link", "set", "cni0", "up")
        for i, (pod, ip) in enumerate(zip(self.pods, self.POD_IPS)):
            host = f"veth{i}"
            self.ns(self.node, "ip", "link", "add", host, "type", "veth", "peer", "name", "p0")
            self.ns(self.node, "ip", "link", "set", "p0", "netns", pod)
            self.ns(self.node, "ip", "link", "set", host, "master", "cni0")
            self.ns(self.node, "ip", "link", "set", host, "type", "bridge_slave", "hairpin", "on")
            self.ns(self.node, "ip", "link", "set", host, "up")
            self.ns(pod, "ip", "link", "set", "p0", "name", "eth0")
            self.ns(pod, "ip", "addr", "add", f"{ip}/24", "dev", "eth0")
            self.ns(pod, "ip", "link", "set", "eth0", "up")
            self.ns(pod, "ip", "route", "add", "default", "via", self.GATEWAY)
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", pod, sys.executable, "-c", HTTP_SERVER, f"pod{i + 1}", str(self.PORT)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        return self

    def wait_servers(self) -> None:
        for ip in self.POD_IPS:
            for _ in range(50):
                out = json.loads(self.ns(self.client, sys.executable, "-c", CLIENT, "http", ip, str(self.PORT), "1"))
                if not out[0].startswith("ERR"):
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"server on {ip} did not start")

    async def http(self, netns: str, ip: str, port: int, n: int = 1) -> list[str]:
        return await self._client(netns, "http", ip, port, n)

    async def udp(self, netns: str, ip: str, port: int, n: int, source_port: int) -> list[str]:
        return await self._client(netns, "udp", ip, port, n, source_port)

    async def _client(self, netns: str, *args) -> list[str]:
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", netns, sys.executable, "-c", CLIENT, *map(str, args),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        if proc.returncode:
            raise RuntimeError(err.decode())
        return json.loads(out)

    def nft_tables(self, netns: str | None = None) -> str:
        return self.ns(netns or self.node, "nft", "list", "tables")

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        for n in self.namespaces():
            sh("ip", "netns", "del", n, check=False)
        left = [n for n in sh("ip", "netns", "list").split() if n.startswith(self.prefix)]
        assert not left, f"left behind: {left}"
