"""`CSRSigningController`: issues approved kubelet client certificates with the cluster CA
(Kubernetes' `csrsigning` controller for `kubernetes.io/kube-apiserver-client-kubelet`).

`sync_csr(name)` signs a CSR that is approved, not failed and has no certificate yet: the
request must be a kubelet client request (see `csr.kubelet_client_problem`), otherwise it gets a
`Failed` condition with reason `SignerValidationFailure`. The certificate keeps the request's
subject and public key, is valid for `cluster_signing_duration` seconds (default one year) or
the request's `expirationSeconds` if shorter (at least 10 minutes), and is written through
`/status`. Without `cluster_signing_cert_file` and `cluster_signing_key_file` the controller
signs nothing and says so once.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import logging
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from kubelite.client import pki
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_conflict, is_not_found
from kubelite.machinery.timeutil import rfc3339

from . import csr as csrutil

log = logging.getLogger(__name__)

DEFAULT_DURATION = 365 * 24 * 3600
MIN_DURATION = 600


def certificate_duration(configured: float, expiration_seconds: int | None) -> dt.timedelta:
    secs = float(configured)
    if expiration_seconds:
        secs = min(secs, max(float(expiration_seconds), MIN_DURATION))
    return dt.timedelta(seconds=secs)


def issue(ca: pki.CertKey, obj: dict, duration: float) -> bytes:
    """The certificate PEM for a valid kubelet client CSR (raises csr.BadRequest otherwise)."""
    req = csrutil.parse_request(obj)
    spec = obj.get("spec") or {}
    problem = csrutil.kubelet_client_problem(req, list(spec.get("usages") or []))
    if problem:
        raise csrutil.BadRequest(problem)
    cn, orgs = csrutil.subject(req)
    ck = pki.sign(ca, common_name=cn, organizations=orgs, client=True, public_key=req.public_key(),
                  validity=certificate_duration(duration, spec.get("expirationSeconds")))
    return ck.cert.public_bytes(serialization.Encoding.PEM)


class CSRSigningController(Controller):
    name = "csrsigning"
    workers = 1

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        self.csrs = ctx.informers.informer_for("certificatesigningrequests.certificates.k8s.io")
        self.lister = self.csrs.lister()
        self.cert_file = ctx.option("cluster_signing_cert_file", "")
        self.key_file = ctx.option("cluster_signing_key_file", "")
        self.duration = float(ctx.option("cluster_signing_duration", DEFAULT_DURATION))
        self.ca: pki.CertKey | None = ctx.option("cluster_signing_ca", None)
        self.csrs.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), None)

    async def run(self) -> None:
        if self.ca is None:
            if not self.cert_file or not self.key_file:
                log.warning("csrsigning: no cluster_signing_cert_file/cluster_signing_key_file; not signing")
                return
            self.ca = await asyncio.to_thread(pki.CertKey.load, Path(self.cert_file), Path(self.key_file))
        await super().run()

    async def sync(self, key: str) -> None:
        await self.sync_csr(key)

    async def sync_csr(self, name: str) -> None:
        try:
            obj = self.lister.get(name)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        spec = obj.get("spec") or {}
        if spec.get("signerName") != csrutil.KUBELET_CLIENT_SIGNER or self.ca is None:
            return
        if not csrutil.is_approved(obj) or csrutil.is_failed(obj) or csrutil.has_certificate(obj):
            return
        obj = copy.deepcopy(obj)
        try:
            pem = await asyncio.to_thread(issue, self.ca, obj, self.duration)
        except csrutil.BadRequest as e:
            now = rfc3339()
            conds = list((obj.get("status") or {}).get("conditions") or [])
            conds.append({"type": "Failed", "status": "True", "reason": "SignerValidationFailure",
                          "message": str(e), "lastUpdateTime": now, "lastTransitionTime": now})
            obj.setdefault("status", {})["conditions"] = conds
            await self._write(obj)
            self.event(obj, "Warning", "SignerValidationFailure", f"Certificate request {name}: {e}")
            return
        obj.setdefault("status", {})["certificate"] = base64.b64encode(pem).decode()
        await self._write(obj)
        log.info("csr %s: issued a certificate for %s", name, csrutil.subject(csrutil.parse_request(obj))[0])

    async def _write(self, obj: dict) -> None:
        try:
            await self.client.update_status("certificatesigningrequests", obj)
        except StatusError as e:
            if is_conflict(e):
                self.enqueue(obj["metadata"]["name"])
                return
            raise
