"""A `kubelite server` in a child process, for end-to-end tests with the real kubectl."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .wait import wait_until

# A server with no node on this host: it leaves the host bridge's DNS and HTTP(S) ports
# (198.18.0.1:53/80/443) to the server whose agent made the bridge, as a test may run one of those
# at the same time.
CONTROL_PLANE_ONLY = ["--no-agent", "--disable-cluster-dns", "--controllers", "*,-ingress"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kubectl_env(kubeconfig: Path, cache_dir: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["KUBECONFIG"] = str(kubeconfig)
    env["KUBECACHEDIR"] = cache_dir or tempfile.mkdtemp(prefix="kubectl-cache-")
    env.pop("KUBERNETES_SERVICE_HOST", None)
    return env


class ServerProcess:
    """Start `kubelite server` with its own data dir and port; stop it by PID."""

    def __init__(self, data_dir: Path, *, port: int | None = None, args: list[str] | None = None,
                 log_path: Path | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.args = args or []
        self.log_path = log_path or (self.data_dir.parent / f"{self.data_dir.name}.log")
        self.proc: subprocess.Popen | None = None
        self.cache_dir = tempfile.mkdtemp(prefix="kubectl-cache-")

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "ServerProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        cmd = [sys.executable, "-m", "kubelite.cli.main", "-v", "server", "--data-dir", str(self.data_dir),
               "--https-port", str(self.port), "--bind-address", "127.0.0.1", *self.args]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_until(self.ready, timeout=timeout, interval=0.1, message=f"kubelite server on {self.url}")
        return self

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"kubelite server exited with {self.proc.returncode}; log:\n{self.log()[-4000:]}")
        if not self.kubeconfig.exists():
            return False
        ctx = ssl.create_default_context(cafile=str(self.data_dir / "tls" / "ca.crt"))
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL, 5)

    def request(self, method: str, path: str, body: bytes | str | dict | list | None = None, *,
                headers: dict | None = None, cert: bool = True, token: str | None = None,
                timeout: float = 30) -> tuple[int, dict, bytes]:
        """A raw HTTPS request as the admin (client certificate), a token holder, or anonymous."""
        import http.client
        import json as _json

        ctx = ssl.create_default_context(cafile=str(self.data_dir / "tls" / "ca.crt"))
        if cert and token is None:
            ctx.load_cert_chain(str(self.data_dir / "tls" / "admin.crt"), str(self.data_dir / "tls" / "admin.key"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=timeout)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            body = _json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def user_kubeconfig(self, user: str, groups: list[str] | None = None) -> Path:
        """A kubeconfig for `user` (client certificate signed by the cluster CA; CN=user, O=groups)."""
        from kubelite.client import pki
        from kubelite.controlplane import bootstrap

        tls = self.data_dir / "tls"
        ca = pki.CertKey.load(tls / "ca.crt", tls / "ca.key")
        ck = pki.sign(ca, common_name=user, organizations=groups or [], client=True)
        safe = user.replace(":", "_")
        path = self.data_dir.parent / f"{self.data_dir.name}-{safe}.kubeconfig"
        bootstrap.write_kubeconfig(path, bootstrap.kubeconfig(self.url, ca.cert_pem, user=safe,
                                                              cert_pem=ck.cert_pem, key_pem=ck.key_pem))
        return path

    def kubectl_as(self, kubeconfig: Path, *args: str, **kw) -> subprocess.CompletedProcess:
        env = kubectl_env(kubeconfig, tempfile.mkdtemp(prefix="kubectl-cache-"))
        return self.kubectl(*args, env={"KUBECONFIG": env["KUBECONFIG"], "KUBECACHEDIR": env["KUBECACHEDIR"]}, **kw)

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin.token").read_text().strip()

    def env(self) -> dict[str, str]:
        return kubectl_env(self.kubeconfig, self.cache_dir)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60,
                env: dict | None = None) -> subprocess.CompletedProcess:
        e = self.env()
        if env:
            e.update(env)
        r = subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True, timeout=timeout, env=e)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_ = time
