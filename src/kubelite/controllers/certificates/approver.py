"""`CSRApprovingController`: approves kubelet client certificates automatically (Kubernetes'
`csrapproving` controller) and refuses a second agent for a node that is alive.

`sync_csr(name)` looks at CSRs for `kubernetes.io/kube-apiserver-client-kubelet` that are neither
approved nor denied and whose request is a well-formed kubelet client request:

- the node renewing its own certificate (`spec.username` = the request's CN, in
  `system:nodes`) is approved if a SubjectAccessReview allows it to create
  `certificatesigningrequests/selfnodeclient`;
- anyone else (a bootstrap token) needs `certificatesigningrequests/nodeclient`; then, if the
  node named in the request is alive (its Lease in kube-node-lease was renewed within its
  duration, or its Ready heartbeat is younger than `node_alive_grace` seconds), the request is
  denied with reason `NodeNameInUse`: two agents must never share one node identity. A node whose
  agent is gone (lease expired) may be joined again.

Requests it does not recognise are left for a person (`kubectl certificate approve`).
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timezone

from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_not_found
from kubelite.machinery.timeutil import parse_time, rfc3339

from . import csr as csrutil

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
APPROVED_MESSAGE = "Auto approving kubelet client certificate after SubjectAccessReview."
IN_USE_REASON = "NodeNameInUse"


def node_alive(node: dict | None, lease: dict | None, now: datetime, grace: float) -> tuple[bool, str]:
    """Whether an agent is currently serving this node, and how we know (pure)."""
    if lease is not None:
        spec = lease.get("spec") or {}
        renew = parse_time(spec.get("renewTime"))
        duration = float(spec.get("leaseDurationSeconds") or 40)
        if renew is not None and (now - renew).total_seconds() < duration:
            return True, f"its lease was renewed {max(0, int((now - renew).total_seconds()))}s ago " \
                         f"(expires after {int(duration)}s without renewal)"
    if node is not None:
        for c in (node.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready" and c.get("status") == "True":
                beat = parse_time(c.get("lastHeartbeatTime"))
                if beat is not None and (now - beat).total_seconds() < grace:
                    return True, f"it is Ready with a heartbeat {max(0, int((now - beat).total_seconds()))}s ago"
    return False, ""


class CSRApprovingController(Controller):
    name = "csrapproving"
    workers = 1

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        inf = ctx.informers
        self.csrs = inf.informer_for("certificatesigningrequests.certificates.k8s.io")
        self.nodes = inf.informer_for("nodes")
        self.leases = inf.informer_for("leases.coordination.k8s.io", namespace=LEASE_NAMESPACE)
        self.csr_lister = self.csrs.lister()
        self.node_lister = self.nodes.lister()
        self.lease_lister = self.leases.lister()
        self.grace = float(ctx.option("node_alive_grace", 40.0))
        self.csrs.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), None)

    def now(self) -> datetime:
        t = self.clock.now()
        return t if t.tzinfo else t.replace(tzinfo=timezone.utc)

    async def sync(self, key: str) -> None:
        await self.sync_csr(key)

    async def sync_csr(self, name: str) -> None:
        try:
            obj = self.csr_lister.get(name)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        spec = obj.get("spec") or {}
        if spec.get("signerName") != csrutil.KUBELET_CLIENT_SIGNER:
            return
        if csrutil.is_approved(obj) or csrutil.is_denied(obj) or csrutil.is_failed(obj):
            return
        try:
            req = csrutil.parse_request(obj)
        except csrutil.BadRequest as e:
            log.info("csr %s: %s", name, e)
            return
        if csrutil.kubelet_client_problem(req, list(spec.get("usages") or [])):
            return
        cn, _ = csrutil.subject(req)
        node = csrutil.node_name(req)
        self_renewal = spec.get("username") == cn and csrutil.NODES_GROUP in (spec.get("groups") or [])
        sub = "selfnodeclient" if self_renewal else "nodeclient"
        if not await self.authorized(spec, sub):
            log.info("csr %s: %s may not create certificatesigningrequests/%s; leaving it for a person",
                     name, spec.get("username"), sub)
            return
        if not self_renewal:
            alive, why = node_alive(self._get(self.node_lister, node), self._get(self.lease_lister, node,
                                                                                  LEASE_NAMESPACE),
                                    self.now(), self.grace)
            if alive:
                await self.set_condition(obj, "Denied", IN_USE_REASON,
                                         f'node "{node}" is already registered and its agent is alive ({why}); '
                                         f"two agents cannot share one node name: choose another --node-name, or "
                                         f"stop the other agent and retry once its lease has expired")
                self.event(obj, "Warning", IN_USE_REASON, f"Denied certificate request for node {node}: in use")
                return
        await self.set_condition(obj, "Approved", "AutoApproved", APPROVED_MESSAGE)

    @staticmethod
    def _get(lister, name: str, namespace: str | None = None) -> dict | None:
        try:
            return lister.get(name, namespace)
        except StatusError as e:
            if is_not_found(e):
                return None
            raise

    async def authorized(self, spec: dict, subresource: str) -> bool:
        sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
               "spec": {"user": spec.get("username", ""), "groups": list(spec.get("groups") or []),
                        "resourceAttributes": {"group": "certificates.k8s.io", "resource": "certificatesigningrequests",
                                               "subresource": subresource, "verb": "create"}}}
        if spec.get("uid"):
            sar["spec"]["uid"] = spec["uid"]
        if spec.get("extra"):
            sar["spec"]["extra"] = spec["extra"]
        res = await self.client.create("subjectaccessreviews.authorization.k8s.io", sar)
        return bool((res.get("status") or {}).get("allowed"))

    async def set_condition(self, obj: dict, type_: str, reason: str, message: str) -> None:
        obj = copy.deepcopy(obj)
        now = rfc3339()
        conds = list((obj.get("status") or {}).get("conditions") or [])
        conds.append({"type": type_, "status": "True", "reason": reason, "message": message,
                      "lastUpdateTime": now, "lastTransitionTime": now})
        obj.setdefault("status", {})["conditions"] = conds
        await self.client.update_subresource("certificatesigningrequests", obj["metadata"]["name"], "approval", obj)
        log.info("csr %s: %s (%s)", obj["metadata"]["name"], type_, reason)
