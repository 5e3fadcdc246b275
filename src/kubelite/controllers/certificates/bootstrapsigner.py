"""`BootstrapSignerController`: keeps `kube-public/cluster-info` signed with every bootstrap token
that allows signing (Kubernetes' BootstrapSigner).

One key, the ConfigMap itself: on any change to it or to a token Secret, `sync_cluster_info`
computes `jws-kubeconfig-<id>` for every valid, unexpired signing token over the published
kubeconfig, drops signatures of tokens that are gone, and writes the ConfigMap if anything
changed. It requeues itself for the next token expiry.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timezone

from kubelite.bootstrap.tokens import (
    CLUSTER_INFO_KEY,
    CLUSTER_INFO_NAME,
    CLUSTER_INFO_NAMESPACE,
    JWS_PREFIX,
    NAMESPACE,
    SECRET_PREFIX,
    SECRET_TYPE,
    BootstrapToken,
    InvalidToken,
    sign_detached,
)
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_conflict, is_not_found

log = logging.getLogger(__name__)

KEY = f"{CLUSTER_INFO_NAMESPACE}/{CLUSTER_INFO_NAME}"


def signing_tokens(secrets: list[dict], now: datetime) -> list[BootstrapToken]:
    out = []
    for s in secrets:
        md = s.get("metadata") or {}
        if s.get("type") != SECRET_TYPE or not md.get("name", "").startswith(SECRET_PREFIX) \
                or md.get("deletionTimestamp"):
            continue
        try:
            bt = BootstrapToken.from_secret(s)
        except InvalidToken:
            continue
        if "signing" in bt.usages and not bt.expired(now):
            out.append(bt)
    return out


def signed_data(data: dict, tokens: list[BootstrapToken]) -> dict:
    """The ConfigMap data with exactly one signature per token (pure)."""
    content = data.get(CLUSTER_INFO_KEY, "")
    out = {k: v for k, v in data.items() if not k.startswith(JWS_PREFIX)}
    if content:
        for bt in tokens:
            out[JWS_PREFIX + bt.token.id] = sign_detached(content, bt.token)
    return out


class BootstrapSignerController(Controller):
    name = "bootstrapsigner"
    workers = 1

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        inf = ctx.informers
        self.secrets = inf.informer_for("secrets", namespace=NAMESPACE, field_selector=f"type={SECRET_TYPE}")
        self.configmaps = inf.informer_for("configmaps", namespace=CLUSTER_INFO_NAMESPACE)
        self.secret_lister = self.secrets.lister()
        self.cm_lister = self.configmaps.lister()
        kick = lambda *_: self.enqueue(KEY)  # noqa: E731
        self.secrets.add_event_handler(kick, kick, kick)
        self.configmaps.add_event_handler(self._cm_changed, lambda old, new: self._cm_changed(new), None)

    def _cm_changed(self, cm: dict) -> None:
        if (cm.get("metadata") or {}).get("name") == CLUSTER_INFO_NAME:
            self.enqueue(KEY)

    async def run(self) -> None:
        self.enqueue(KEY)
        await super().run()

    async def sync(self, key: str) -> None:
        await self.sync_cluster_info()

    async def sync_cluster_info(self) -> None:
        try:
            cm = self.cm_lister.get(CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        now = datetime.now(timezone.utc)
        tokens = signing_tokens(self.secret_lister.list(NAMESPACE), now)
        expiries = [bt.expiration for bt in tokens if bt.expiration is not None]
        if expiries:
            self.enqueue_after(KEY, max(0.5, (min(expiries) - now).total_seconds() + 0.5))
        data = signed_data(dict(cm.get("data") or {}), tokens)
        if data == (cm.get("data") or {}):
            return
        cm = copy.deepcopy(cm)
        cm["data"] = data
        try:
            await self.client.update("configmaps", cm)
        except StatusError as e:
            if is_conflict(e) or is_not_found(e):
                self.enqueue(KEY)
                return
            raise
