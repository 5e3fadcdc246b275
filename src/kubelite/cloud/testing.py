"""Test tools for the managed service.

- `CloudThread`: a `CloudService` on 127.0.0.1 in a background thread with its own event loop
  (fake or real provisioner), so tests can drive it with the synchronous boto3 and the real AWS
  CLI. Stopping it stops everything it started.
- `CloudProcess`: `kubelite cloud` as a child process (for end-to-end tests), stopped by PID.
- `aws_env(home, endpoint, ...)`: the environment for the real `aws` CLI: a temporary HOME with
  a profile for the starter account (or given credentials), no inherited AWS settings.
- `boto3_client(service, endpoint, ...)`: a boto3 client for the endpoint.

    with CloudThread(tmp_path) as cloud:
        eks = cloud.client("eks")
        eks.create_cluster(name="demo", roleArn=cloud.cluster_role, resourcesVpcConfig={})
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import config as cfgmod
from .config import CloudConfig
from .provisioner.process import free_port

CLUSTER_ROLE = f"arn:aws:iam::{cfgmod.STARTER_ACCOUNT_ID}:role/{cfgmod.STARTER_CLUSTER_ROLE}"
NODE_ROLE = f"arn:aws:iam::{cfgmod.STARTER_ACCOUNT_ID}:role/{cfgmod.STARTER_NODE_ROLE}"


def aws_env(home: Path, endpoint: str, *, access_key_id: str = cfgmod.STARTER_ACCESS_KEY_ID,
            secret: str = cfgmod.STARTER_SECRET_ACCESS_KEY, session_token: str = "",
            region: str = cfgmod.DEFAULT_REGION, kubeconfig: Path | None = None) -> dict[str, str]:
    """Environment for the real `aws` CLI and kubectl: credentials in env vars, the endpoint for
    every service (so `aws eks get-token --role-arn` reaches the local STS too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("KUBECONFIG",)}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), AWS_ACCESS_KEY_ID=access_key_id, AWS_SECRET_ACCESS_KEY=secret,
               AWS_DEFAULT_REGION=region, AWS_ENDPOINT_URL=endpoint, AWS_CONFIG_FILE=str(home / "aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"), AWS_PAGER="",
               AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="2",
               KUBECACHEDIR=str(home / "kube-cache"))
    if session_token:
        env["AWS_SESSION_TOKEN"] = session_token
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    bin_dir = str(Path(sys.executable).parent)
    if shutil.which("aws", path=bin_dir):
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def run_aws(env: dict[str, str], *args: str, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
    r = subprocess.run(["aws", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r



def aws_json(env: dict[str, str], *args: str) -> Any:
    """An `aws` command's JSON output (the command must succeed)."""
    return json.loads(run_aws(env, *args).stdout)


def aws_error(env: dict[str, str], *args: str) -> str:
    """An `aws` command that must fail: its stderr."""
    r = run_aws(env, *args, check=False)
    assert r.returncode != 0, args
    return r.stderr

def run_kubectl(env: dict[str, str], *args: str, check: bool = True,
                timeout: float = 60) -> subprocess.CompletedProcess:
    r = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def boto3_client(service: str, endpoint: str, *, access_key_id: str = cfgmod.STARTER_ACCESS_KEY_ID,
                 secret: str = cfgmod.STARTER_SECRET_ACCESS_KEY, session_token: str | None = None,
                 region: str = cfgmod.DEFAULT_REGION) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key_id,
                        aws_secret_access_key=secret, aws_session_token=session_token,
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


class OffsetClock:
    """The real clock moved by `offset` (a `timedelta` tests change) — for expiry and skew."""

    def __init__(self) -> None:
        from datetime import timedelta

        from kubelite.client.clock import REAL_CLOCK

        self.offset = timedelta(0)
        self._real = REAL_CLOCK

    def now(self) -> Any:
        return self._real.now() + self.offset

    def monotonic(self) -> float:
        return self._real.monotonic()

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)

    def after(self, seconds: float) -> Any:
        return self._real.after(seconds)


class CloudThread:
    """A `CloudService` in a background thread; `stop()` cancels it and waits for its cleanup."""

    def __init__(self, data_dir: Path, *, control_planes: Any = None, instances: Any = None,
                 config: CloudConfig | None = None, resync: float = 30.0, clock: Any = None, **kw: Any):
        kw.setdefault("port", free_port())
        self.config = config or CloudConfig(data_dir=Path(data_dir), **kw)
        self.control_planes = control_planes
        self.instances = instances
        self.resync = resync
        self.clock = clock
        self.service: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task | None = None
        self._error: BaseException | None = None
        self._started = threading.Event()

    @property
    def endpoint(self) -> str:
        return self.config.endpoint_url

    cluster_role = CLUSTER_ROLE
    node_role = NODE_ROLE

    def client(self, service: str, **kw: Any) -> Any:
        return boto3_client(service, self.endpoint, **kw)

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the service's loop (to look at or poke its state)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, timeout: float = 30) -> "CloudThread":
        from .service import CloudService

        def main() -> None:
            async def run() -> None:
                self.loop = asyncio.get_running_loop()
                self.service = CloudService(self.config, control_planes=self.control_planes,
                                            instances=self.instances, resync=self.resync, clock=self.clock)
                self._task = asyncio.current_task()
                watcher = asyncio.ensure_future(self._signal_started())
                try:
                    await self.service.run()
                finally:
                    watcher.cancel()

            try:
                asyncio.run(run())
            except asyncio.CancelledError:
                pass
            except BaseException as e:  # noqa: BLE001 - reported to the test
                self._error = e
            finally:
                self._started.set()

        self._thread = threading.Thread(target=main, name="kubelite-cloud", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout) or self._error is not None:
            raise RuntimeError(f"the cloud did not start: {self._error!r}")
        return self

    async def _signal_started(self) -> None:
        await self.service.ready.wait()
        self._started.set()

    def stop(self, timeout: float = 60) -> None:
        if self.loop is not None and self._task is not None and not self._task.done():
            self.loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
        if self._error is not None and not isinstance(self._error, asyncio.CancelledError):
            raise RuntimeError(f"the cloud failed: {self._error!r}") from self._error

    def __enter__(self) -> "CloudThread":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class CloudProcess:
    """`kubelite cloud` in a child process with its own data dir and port; stopped by PID."""

    def __init__(self, data_dir: Path, *, port: int | None = None, args: list[str] | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.args = args or []
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "CloudProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        cmd = [sys.executable, "-m", "kubelite.cli.main", "-v", "cloud", "--addr", f"127.0.0.1:{self.port}",
               "--data-dir", str(self.data_dir), *self.args]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kubelite cloud exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/_kubelite/healthz", timeout=1)
            except OSError:
                time.sleep(0.1)
                continue
            return self
        raise TimeoutError(f"kubelite cloud did not start:\n{self.log()[-3000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        self.proc = None

    def __enter__(self) -> "CloudProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
