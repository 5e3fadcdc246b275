"""Which components run beside the API server in `kubelite server` (controllers, scheduler, agent)."""

from __future__ import annotations

from .run import ControlPlane


def attach(cp: ControlPlane) -> None:
    """Register the components the config asks for. (Controllers, scheduler and agent plug in here.)"""
    return None
