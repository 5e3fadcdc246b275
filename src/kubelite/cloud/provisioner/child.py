"""One managed cluster's control plane, as a child process of the EKS service:

    python -m kubelite.cloud.provisioner.child --data-dir D --https-port P \
        --authentication-token-webhook-config-file F [--service-cidr C] [--parent-pid N] \
        [--advertise-address A --cluster-dns-address A] [--controllers SPEC]

It is `kubelite server --no-agent` (the same `ControlPlane` and components) plus a webhook token
authenticator pointed at the service (EKS tokens are checked there) and the Fargate admission
plugin (pods matching a Fargate profile of `<data-dir>/fargate-profiles.json` go to the
`fargate-scheduler`). With `--cluster-dns-address` (the control plane's address in the cluster's
VPC) it serves cluster DNS there. Once the webhook is in place it writes `<data-dir>/cloud-ready`;
it exits when its parent (the service) is gone.

(When `kubelite server` gains `--authentication-token-webhook-config-file`, this becomes that
command.)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

READY_FILE = "cloud-ready"


SKIPPED_COMPONENTS = {"cluster-dns"}


class ParentGone(Exception):
    pass


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kubelite-cloud-control-plane")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--https-port", type=int, required=True)
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--advertise-address", default="")
    p.add_argument("--authentication-token-webhook-config-file", type=Path, required=True)
    p.add_argument("--authentication-token-webhook-cache-ttl", type=float, default=30.0)
    p.add_argument("--service-cidr", default="")
    p.add_argument("--cluster-dns-address", default="")
    p.add_argument("--controllers", default="*")
    p.add_argument("--parent-pid", type=int, default=0)
    p.add_argument("-v", "--verbose", action="count", default=0)
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    from kubelite.controlplane import components
    from kubelite.controlplane.config import ServerConfig
    from kubelite.controlplane.run import ControlPlane
    from kubelite.machinery.addressplan import DEFAULT, AddressPlan

    from .fargate_admission import FARGATE_PROFILES_FILE, FargateAdmission
    from .webhook import WebhookTokenAuthenticator

    plan = AddressPlan(service_cidr=args.service_cidr) if args.service_cidr else DEFAULT
    cfg = ServerConfig(data_dir=args.data_dir, bind_address=args.bind_address, port=args.https_port, agent=False,
                       plan=plan, controller_names=args.controllers, cluster_dns_address=args.cluster_dns_address)
    if args.advertise_address:
        cfg.advertise_address = args.advertise_address
    cp = ControlPlane(cfg)
    components.attach(cp)
    if not args.cluster_dns_address:
        # Without its own address in the VPC, cluster DNS would bind the host's node-network
        # address (198.18.0.1:53), one per machine: not there.
        cp.components = [(n, c) for n, c in cp.components if n not in SKIPPED_COMPONENTS]
    webhook = WebhookTokenAuthenticator.from_config_file(args.authentication_token_webhook_config_file,
                                                         ttl=args.authentication_token_webhook_cache_ttl)
    ready = args.data_dir / READY_FILE
    ready.unlink(missing_ok=True)

    async def iam_tokens(cp: ControlPlane) -> None:
        if cp.server is None:  # components start after the server exists
            raise RuntimeError("control plane has no API server")
        cp.server.authenticator.token_authenticators.append(webhook)
        cp.server.admission.plugins.append(FargateAdmission(args.data_dir / FARGATE_PROFILES_FILE))
        ready.write_text(f"{os.getpid()}\n")
        try:
            await asyncio.Event().wait()
        finally:
            await webhook.close()

    cp.components.append(("iam-token-webhook", iam_tokens))

    async def orphan_watch() -> None:
        while args.parent_pid and os.getppid() == args.parent_pid:
            await asyncio.sleep(1.0)
        raise ParentGone(f"parent {args.parent_pid} is gone")

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(cp.run(), name="control-plane")
            if args.parent_pid:
                tg.create_task(orphan_watch(), name="orphan-watch")
    finally:
        ready.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    level = logging.WARNING if args.verbose == 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run

    async def guarded() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
        try:
            try:
                await run(args)
            except* ParentGone as eg:
                logging.getLogger(__name__).warning("%s; stopping", eg.exceptions[0])
        except asyncio.CancelledError:
            pass

    runner(guarded())


if __name__ == "__main__":
    main()
