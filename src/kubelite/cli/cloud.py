"""`kubelite cloud` (the EKS-compatible managed service) and `kubelite cloud configure` (an AWS CLI
profile for its starter account)."""

from __future__ import annotations

import configparser
import logging
import os
import sys
from pathlib import Path

import click

from kubelite.cloud import config as cloudcfg


def _addr(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


@click.group("cloud", invoke_without_command=True)
@click.option("--addr", default="127.0.0.1:4566", show_default=True, help="Where to serve the AWS APIs.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=cloudcfg.DEFAULT_DATA_DIR, show_default=True,
              help="Durable state and every managed cluster's data.")
@click.option("--region", default=cloudcfg.DEFAULT_REGION, show_default=True,
              help="Region of the starter account's default VPC.")
@click.option("--permissive", is_flag=True,
              help="Accept any access key as the starter admin (no signature checks). Default: strict.")
@click.option("--vpc-pool", default=cloudcfg.CloudConfig.vpc_pool, show_default=True,
              help="Where VPC blocks come from (inside 198.18.0.0/15; each VPC is a network on this machine).")
@click.option("--lb-pool", default=cloudcfg.CloudConfig.lb_pool, show_default=True,
              help="Addresses of internet-facing load balancers and the ECR registry (the first one).")
@click.option("--hosts-file", default=cloudcfg.CloudConfig.hosts_file, show_default=True,
              help="Where load balancer and ECR names resolve: the service's own block of this file "
                   "(\"\" = nowhere).")
@click.pass_context
def cloud_group(ctx: click.Context, addr: str, data_dir: Path, region: str, permissive: bool, vpc_pool: str,
                lb_pool: str, hosts_file: str) -> None:
    """Run the local EKS-compatible cloud: EKS, IAM, STS, EC2, ELBv2, ACM and ECR on one endpoint.

    Every cluster it creates is a real kubelite control plane; kubectl authenticates with IAM
    (`aws eks update-kubeconfig`). The starter account is 000000000000, user `admin`, access key
    AKIAKUBELITESTARTER0 (see `kubelite cloud configure`). Load balancer and ECR names resolve
    through the service's block of /etc/hosts; for `kubelite login/push` to ECR, export
    KUBELITE_REGISTRIES=<data-dir>/ecr/registries.yaml (it trusts the registry's CA).
    """
    ctx.ensure_object(dict)
    ctx.obj["addr"] = addr
    if ctx.invoked_subcommand is not None:
        return
    import asyncio

    from kubelite.cli.server import run_async
    from kubelite.cloud.config import CloudConfig
    from kubelite.cloud.service import CloudService

    host, port = _addr(addr)
    cfg = CloudConfig(data_dir=data_dir, host=host, port=port, default_region=region, strict=not permissive,
                      vpc_pool=vpc_pool, lb_pool=lb_pool, hosts_file=hosts_file)
    if logging.getLogger().level > logging.INFO:
        logging.getLogger("kubelite").setLevel(logging.INFO)
    service = CloudService(cfg)

    async def main() -> None:
        async def announce() -> None:
            await service.ready.wait()
            click.echo(f"kubelite cloud is running: {cfg.endpoint_url}  (AWS CLI: kubelite cloud configure; "
                       f"then aws --profile kubelite eks list-clusters)", err=True)

        t = asyncio.ensure_future(announce())
        try:
            await service.run()
        finally:
            t.cancel()

    try:
        run_async(main())
    except OSError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)


def write_profile(aws_dir: Path, profile: str, endpoint: str, region: str) -> tuple[Path, Path]:
    """Add (or replace) an AWS CLI profile for the starter account; other profiles are kept."""
    aws_dir.mkdir(parents=True, exist_ok=True)
    config_path, creds_path = aws_dir / "config", aws_dir / "credentials"
    section = "default" if profile == "default" else f"profile {profile}"
    cfg = configparser.RawConfigParser()
    cfg.read(config_path)
    if not cfg.has_section(section):
        cfg.add_section(section)
    cfg.set(section, "region", region)
    cfg.set(section, "output", "json")
    cfg.set(section, "endpoint_url", endpoint)
    creds = configparser.RawConfigParser()
    creds.read(creds_path)
    if not creds.has_section(profile):
        creds.add_section(profile)
    creds.set(profile, "aws_access_key_id", cloudcfg.STARTER_ACCESS_KEY_ID)
    creds.set(profile, "aws_secret_access_key", cloudcfg.STARTER_SECRET_ACCESS_KEY)
    for path, parser in ((config_path, cfg), (creds_path, creds)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            parser.write(f)
    return config_path, creds_path


@cloud_group.command("configure")
@click.option("--profile", default="kubelite", show_default=True, help="AWS CLI profile to write.")
@click.option("--endpoint-url", default=None, help="Default: http://<the cloud's --addr>.")
@click.option("--region", default=cloudcfg.DEFAULT_REGION, show_default=True)
@click.option("--aws-dir", type=click.Path(path_type=Path), default=None, help="Default: ~/.aws.")
@click.pass_context
def configure_cmd(ctx: click.Context, profile: str, endpoint_url: str | None, region: str,
                  aws_dir: Path | None) -> None:
    """Write an AWS CLI profile (config + credentials) for the starter account."""
    endpoint = endpoint_url or f"http://{ctx.obj.get('addr', '127.0.0.1:4566')}"
    aws = aws_dir or Path(os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")).expanduser().parent
    config_path, creds_path = write_profile(aws, profile, endpoint, region)
    click.echo(f"wrote profile {profile!r} to {config_path} and {creds_path}")
    click.echo(f"  account {cloudcfg.STARTER_ACCOUNT_ID}, user {cloudcfg.STARTER_USER}, "
               f"access key {cloudcfg.STARTER_ACCESS_KEY_ID}, endpoint {endpoint}, region {region}")
    click.echo(f"  roles: arn:aws:iam::{cloudcfg.STARTER_ACCOUNT_ID}:role/{cloudcfg.STARTER_CLUSTER_ROLE}, "
               f"arn:aws:iam::{cloudcfg.STARTER_ACCOUNT_ID}:role/{cloudcfg.STARTER_NODE_ROLE}")
    click.echo(f"try: export AWS_PROFILE={profile}; aws sts get-caller-identity")
    click.echo("for ECR with kubelite login/push: export KUBELITE_REGISTRIES=<the cloud's data dir>/ecr/registries.yaml")


commands = [cloud_group]
