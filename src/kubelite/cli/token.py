"""`kubelite token create|list|delete`: bootstrap tokens for joining nodes (kubeadm's `token`)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from kubelite.controlplane.config import DEFAULT_DATA_DIR


def _fail(msg: str) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(1)


def _client_config(kubeconfig: Path | None, data_dir: Path):
    from kubelite.client import ConfigError, load_kubeconfig

    path = kubeconfig or data_dir / "admin.kubeconfig"
    try:
        return load_kubeconfig(path)
    except ConfigError as e:
        _fail(f"{e} (pass --kubeconfig, or --data-dir of the server)")


def _run(cfg, fn):
    from kubelite.client import Client, TransportError
    from kubelite.machinery.errors import StatusError

    async def main():
        client = Client.from_config(cfg)
        try:
            return await fn(client)
        finally:
            await client.close()

    try:
        return asyncio.run(main())
    except StatusError as e:
        _fail(str(e))
    except (TransportError, OSError) as e:
        _fail(f"cannot reach the API server at {cfg.server}: {e}")


_common = [
    click.option("--kubeconfig", type=click.Path(path_type=Path), default=None,
                 help="Admin credentials (default: <data-dir>/admin.kubeconfig)."),
    click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True),
]


def common(f):
    for opt in reversed(_common):
        f = opt(f)
    return f


@click.group("token")
def token_group():
    """Bootstrap tokens: what `kubelite agent --server URL --token TOKEN` joins with."""


@token_group.command("create")
@common
@click.option("--ttl", default="24h", show_default=True, help="Lifetime (e.g. 30m, 2h; 0 = never expires).")
@click.option("--description", default="", help="A note shown by `kubelite token list`.")
@click.option("--print-join-command", is_flag=True, help="Print the full `kubelite agent` command.")
def create_cmd(kubeconfig, data_dir, ttl, description, print_join_command):
    """Create a token and print it."""
    from kubelite.bootstrap import tokenapi
    from kubelite.bootstrap.tokens import InvalidToken, ca_cert_hash, parse_ttl

    try:
        duration = parse_ttl(ttl)
    except InvalidToken as e:
        _fail(str(e))
        return
    cfg = _client_config(kubeconfig, data_dir)
    bt = _run(cfg, lambda c: tokenapi.create_token(c, ttl=duration, description=description))
    if not print_join_command:
        click.echo(str(bt.token))
        return
    ca = cfg.ca_data or (Path(cfg.ca_file).read_bytes() if cfg.ca_file else None)
    pin = f" --ca-cert-hash {ca_cert_hash(ca)}" if ca else ""
    click.echo(f"kubelite agent --server {cfg.server} --token {bt.token}{pin}")


@token_group.command("list")
@common
def list_cmd(kubeconfig, data_dir):
    """List tokens (id, time left, expiry, usages, description; never the secret)."""
    from kubelite.bootstrap import tokenapi
    from kubelite.bootstrap.tokens import format_ttl

    cfg = _client_config(kubeconfig, data_dir)
    tokens = _run(cfg, tokenapi.list_tokens)
    if not tokens:
        click.echo("No bootstrap tokens.", err=True)
        return
    click.echo(f"{'TOKEN':<24} {'TTL':<10} {'EXPIRES':<21} {'USAGES':<30} {'DESCRIPTION':<30} EXTRA GROUPS")
    for t in tokens:
        left = tokenapi.remaining(t)
        ttl = "<forever>" if left is None else format_ttl(left)
        expires = "<never>" if t.expiration is None else t.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
        usages = ",".join(t.usages) or "<none>"
        click.echo(f"{t.token.id + '.<redacted>':<24} {ttl:<10} {expires:<21} {usages:<30} "
                   f"{t.description or '<none>':<30} {','.join(t.groups)}")


@token_group.command("delete")
@common
@click.argument("tokens", nargs=-1, required=True)
def delete_cmd(kubeconfig, data_dir, tokens):
    """Revoke tokens (by id or whole token)."""
    from kubelite.bootstrap import tokenapi
    from kubelite.bootstrap.tokens import InvalidToken

    cfg = _client_config(kubeconfig, data_dir)
    for t in tokens:
        try:
            tokenapi.token_id(t)
        except InvalidToken as e:
            _fail(str(e))
    for t in tokens:
        tid = _run(cfg, lambda c, t=t: tokenapi.delete_token(c, t))
        click.echo(f'bootstrap token "{tid}" deleted')


commands = [token_group]
