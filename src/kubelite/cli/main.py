"""Entry point: `kubelite <command>`."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from kubelite import KUBERNETES_VERSION, __version__

# Modules under kubelite.cli that define commands; each exposes `commands: list[click.Command]`.
COMMAND_MODULES = ["server", "images", "agent", "cluster", "token", "cloud"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(f"{__version__} (Kubernetes {KUBERNETES_VERSION})", prog_name="kubelite")
def main(verbose: int) -> None:
    """kubelite: Kubernetes and a local EKS, with real containers."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _load() -> None:
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"kubelite.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"kubelite.cli.{name}":
                continue
            raise
        for cmd in getattr(mod, "commands", []):
            main.add_command(cmd)


_load()

if __name__ == "__main__":
    main()
