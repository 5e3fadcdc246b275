"""`kubelite token create|list|delete` against an in-process control plane (run in a thread)."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest
from click.testing import CliRunner

from kubelite.bootstrap.tokens import TOKEN_RE, ca_cert_hash
from kubelite.cli.token import token_group
from kubelite.cluster.controlplane import ClusterControlPlane
from kubelite.controlplane.config import ServerConfig
from kubelite.testing import free_port


@pytest.fixture
def server(tmp_path):
    cfg = ServerConfig(data_dir=tmp_path / "server", bind_address="127.0.0.1", port=free_port(), agent=False,
                       scheduler=False, controllers=False, cluster_dns=False)
    cp = ClusterControlPlane(cfg)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict = {}

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def main() -> None:
            holder["task"] = asyncio.current_task()
            runner = asyncio.ensure_future(cp.run())
            await cp.ready.wait()
            started.set()
            await runner

        try:
            loop.run_until_complete(main())
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - reported through `started`
            pass
        finally:
            loop.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert started.wait(30), "control plane did not start"
    yield cfg, cp
    loop.call_soon_threadsafe(holder["task"].cancel)
    t.join(15)


def cli(*args: str):
    return CliRunner().invoke(token_group, list(args), catch_exceptions=False)


def test_create_list_delete(server):
    cfg, cp = server
    kc = str(cfg.kubeconfig_path)
    r = cli("create", "--kubeconfig", kc, "--ttl", "1h", "--description", "rack 3")
    assert r.exit_code == 0, r.output
    token = r.output.strip()
    assert TOKEN_RE.match(token)
    tid = token.split(".")[0]
    r = cli("create", "--kubeconfig", kc, "--ttl", "0", "--print-join-command")
    assert r.exit_code == 0, r.output
    m = re.fullmatch(r"kubelite agent --server (\S+) --token (\S+) --ca-cert-hash (\S+)\n", r.output)
    assert m and m.group(1) == cfg.server_url and m.group(3) == ca_cert_hash(cp.creds.ca.cert_pem)
    forever = m.group(2).split(".")[0]
    r = cli("list", "--kubeconfig", kc)
    assert r.exit_code == 0
    lines = {line.split()[0]: line for line in r.output.splitlines()[1:]}
    assert set(lines) == {f"{tid}.<redacted>", f"{forever}.<redacted>"}
    assert "rack 3" in lines[f"{tid}.<redacted>"] and re.search(r"\s(59m|1h)\s", lines[f"{tid}.<redacted>"])
    assert "<forever>" in lines[f"{forever}.<redacted>"] and "authentication,signing" in r.output
    assert token.split(".")[1] not in r.output  # never the secret
    r = cli("delete", "--kubeconfig", kc, tid, m.group(2))  # by id and by whole token
    assert r.exit_code == 0 and r.output.count("deleted") == 2
    assert "No bootstrap tokens" in cli("list", "--kubeconfig", kc).output


def test_errors_are_clear(server, tmp_path):
    cfg, _ = server
    kc = str(cfg.kubeconfig_path)
    r = CliRunner().invoke(token_group, ["create", "--kubeconfig", kc, "--ttl", "soon"])
    assert r.exit_code == 1 and "invalid duration" in r.output
    r = CliRunner().invoke(token_group, ["delete", "--kubeconfig", kc, "abcdef"])
    assert r.exit_code == 1 and 'secrets "bootstrap-token-abcdef" not found' in r.output
    r = CliRunner().invoke(token_group, ["delete", "--kubeconfig", kc, "not-a-token"])
    assert r.exit_code == 1 and "neither a token id" in r.output
    r = CliRunner().invoke(token_group, ["list", "--data-dir", str(tmp_path / "nowhere")])
    assert r.exit_code == 1 and "--kubeconfig" in r.output
