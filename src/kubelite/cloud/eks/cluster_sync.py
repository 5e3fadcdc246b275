"""Drive one cluster to what its record asks for (level-triggered; called by a worker):

- `CREATING`: give its control plane a network interface in the cluster's VPC (an address of
  its first subnet, held by the host on the VPC's bridge: the API server is advertised there and
  cluster DNS listens there), start it (`ControlPlanes.start`), put the access-entry RBAC in
  place, then `ACTIVE` with the endpoint and CA; a start that fails or times out makes it
  `FAILED` with a health issue (its processes stopped, its data kept for DeleteCluster).
- `ACTIVE`: keep it running (after a restart of the service, start it again on the same port)
  and keep the RBAC for access policies in step with the access entries.
- `UPDATING`: apply the update in progress, mark it `Successful` (or `Failed`), back to `ACTIVE`.
- `DELETING`: destroy the control plane, what the cluster's load balancers and Fargate nodes
  left (the `on_delete` hooks), its network interface, and everything recorded about it, so it
  is gone (DescribeCluster answers 404, which the `cluster-deleted` waiter waits for).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

from kubelite.cloud.api.errors import ServiceError
from kubelite.machinery import errors as kerrors

from ..provisioner.interface import ControlPlanes, ControlPlaneSpec, ProvisionError
from ..provisioner.vpcnet import FakeHostNetwork, HostNetworks
from . import access, model, rbac, updates
from .service import EKSEnv

log = logging.getLogger(__name__)


# What a managed cluster's controller manager does not run: node IPAM (pods take VPC addresses,
# not per-node pod CIDRs), the service load-balancer and Ingress controllers (the service's
# load balancer controller makes NLBs and ALBs instead).
MANAGED_CONTROLLERS = "*,-nodeipam,-servicelb,-ingress"

DeleteHook = Callable[[str, dict], Awaitable[None]]


class ClusterSync:
    def __init__(self, env: EKSEnv, control_planes: ControlPlanes, webhook_url: Callable[[str], str], *,
                 host_network: HostNetworks | None = None):
        self.env = env
        self.control_planes = control_planes
        self.webhook_url = webhook_url
        self.host_network = host_network or FakeHostNetwork()
        self.on_delete: list[DeleteHook] = []

    def spec(self, c: dict) -> ControlPlaneSpec:
        internal = c["internal"]
        data_dir = Path(internal.get("dataDir") or self.env.config.clusters_dir / f"{c['name']}-{c['id'][:8]}")
        return ControlPlaneSpec(cluster_id=c["id"], name=c["name"], version=c["version"], data_dir=data_dir,
                                port=internal.get("port") or 0,
                                service_cidr=c["kubernetesNetworkConfig"]["serviceIpv4Cidr"],
                                webhook_url=self.webhook_url(c["id"]), webhook_token=internal["webhookSecret"],
                                vpc_address=internal.get("vpcAddress") or "", controllers=MANAGED_CONTROLLERS)

    def vpc_cidr(self, c: dict) -> str:
        internal = c["internal"]
        if internal.get("vpcCidr"):
            return internal["vpcCidr"]
        vpc = self.env.network.vpc(internal["account"], internal["region"], c["resourcesVpcConfig"]["vpcId"])
        return vpc["cidrBlock"] if vpc else ""

    async def _vpc_address(self, key: str, c: dict) -> dict:
        """The control plane's address in the VPC (allocated once), held by the host."""
        internal = c["internal"]
        if not internal.get("vpcAddress"):
            subnet = c["resourcesVpcConfig"]["subnetIds"][0]
            ip = await self.env.network.allocate_address(internal["account"], internal["region"], subnet)
            cur = self.env.state.get("eks-clusters", key)
            if cur is None:
                await self.env.network.release_address(internal["account"], internal["region"], subnet, ip)
                return c
            cur["internal"].update(vpcAddress=ip, vpcAddressSubnet=subnet, vpcCidr=self.vpc_cidr(cur))
            await self.env.state.put("eks-clusters", key, cur)
            c = cur
        await self.host_network.attach(self.vpc_cidr(c), c["internal"]["vpcAddress"])
        return c

    async def sync(self, key: str) -> bool:
        c = self.env.state.get("eks-clusters", key)
        if c is None:
            return True
        status = c["status"]
        if status == model.CREATING:
            await self._create(key, c)
        elif status in (model.ACTIVE, model.UPDATING):
            if not self.control_planes.running(c["id"]):
                await self._start(key, c)
            if status == model.UPDATING:
                await self._apply_update(key)
            await self.sync_access(key)
        elif status == model.DELETING:
            await self._delete(key, c)
            return True
        return False

    async def _start(self, key: str, c: dict) -> None:
        c = await self._vpc_address(key, c)
        spec = self.spec(c)
        ep = await asyncio.wait_for(self.control_planes.start(spec), self.env.config.cluster_start_timeout)
        cur = self.env.state.get("eks-clusters", key)
        if cur is None:
            return
        cur["endpoint"] = ep.url
        cur["certificateAuthority"] = {"data": base64.b64encode(ep.ca_pem).decode()}
        cur["internal"]["port"] = ep.port
        cur["internal"]["dataDir"] = str(spec.data_dir)
        await self.env.state.put("eks-clusters", key, cur)

    async def _create(self, key: str, c: dict) -> None:
        try:
            await self._start(key, c)
            await self.sync_access(key)
        except (ProvisionError, asyncio.TimeoutError, OSError, kerrors.StatusError, ServiceError) as e:
            message = getattr(e, "message", "") or str(e) or "the control plane did not become ready in time"
            log.warning("cluster %s failed to start: %s", key, message)
            await self.control_planes.stop(c["id"])
            cur = self.env.state.get("eks-clusters", key)
            if cur is not None and cur["status"] == model.CREATING:
                cur["status"] = model.FAILED
                cur["health"] = {"issues": [{"code": "InternalFailure", "message": message, "resourceIds": []}]}
                await self.env.state.put("eks-clusters", key, cur)
            return
        cur = self.env.state.get("eks-clusters", key)
        if cur is not None and cur["status"] == model.CREATING:
            cur["status"] = model.ACTIVE
            await self.env.state.put("eks-clusters", key, cur)
            log.info("cluster %s is ACTIVE at %s", key, cur.get("endpoint"))

    async def _apply_update(self, key: str) -> None:
        u = updates.in_progress(self.env, key)
        c = self.env.state.get("eks-clusters", key)
        if c is None:
            return
        if u is None:
            c["status"] = model.ACTIVE
            await self.env.state.put("eks-clusters", key, c)
            return
        desired = u["internal"]["desired"]
        errs: list[dict] = []
        try:
            if "version" in desired:
                c["version"] = desired["version"]
                await self.env.state.put("eks-clusters", key, c)
                await self.control_planes.stop(c["id"])
                await self._start(key, c)
                c = self.env.state.get("eks-clusters", key) or c
            if "resourcesVpcConfig" in desired:
                c["resourcesVpcConfig"].update(desired["resourcesVpcConfig"])
            if "accessConfig" in desired:
                c["accessConfig"].update(desired["accessConfig"])
                await self._creator_entry(key, c)
            for k in ("logging", "upgradePolicy", "deletionProtection", "zonalShiftConfig"):
                if k in desired:
                    c[k] = desired[k]
        except (ProvisionError, asyncio.TimeoutError, OSError) as e:
            errs.append({"errorCode": "Unknown", "errorMessage": str(e) or "update failed", "resourceIds": [c["name"]]})
        u = self.env.state.get("eks-updates", model.child_key(key, u["id"])) or u
        u["status"] = model.UPDATE_FAILED if errs else model.SUCCESSFUL
        u["errors"] = errs
        await self.env.state.put("eks-updates", model.child_key(key, u["id"]), u)
        c["status"] = model.ACTIVE
        await self.env.state.put("eks-clusters", key, c)

    async def _creator_entry(self, key: str, c: dict) -> None:
        """Moving from CONFIG_MAP to an API mode keeps the creator an admin, through an access entry."""
        if c["accessConfig"]["authenticationMode"] == "CONFIG_MAP":
            return
        if not c["accessConfig"].get("bootstrapClusterCreatorAdminPermissions", True):
            return
        creator = c["internal"].get("creator")
        if not creator or self.env.state.has("eks-access-entries", model.child_key(key, creator)):
            return
        await access.put_entry(self.env, key, c, creator,
                               policies=[{"policyArn": model.access_policy_arn("AmazonEKSClusterAdminPolicy"),
                                          "accessScope": {"type": "cluster", "namespaces": []}}])

    async def _delete(self, key: str, c: dict) -> None:
        for hook in self.on_delete:
            await hook(key, c)
        await self.control_planes.destroy(self.spec(c))
        internal = c["internal"]
        if internal.get("vpcAddress"):
            await self.host_network.detach(self.vpc_cidr(c), internal["vpcAddress"])
            await self.env.network.release_address(internal["account"], internal["region"],
                                                   internal["vpcAddressSubnet"], internal["vpcAddress"])
        for table in ("eks-updates", "eks-access-entries", "eks-nodegroups"):
            for k, _ in list(self.env.state.items(table, key + "/")):
                await self.env.state.delete(table, k)
        await self.env.state.delete("eks-clusters", key)
        log.info("cluster %s deleted", key)

    # -- access policies as RBAC ---------------------------------------------------------------
    async def sync_access(self, key: str) -> None:
        c = self.env.state.get("eks-clusters", key)
        if c is None or not self.control_planes.running(c["id"]):
            return
        client: Any = self.control_planes.client(c["id"])
        entries = self.env.state.values("eks-access-entries", key + "/")
        namespaces = [n["metadata"]["name"] for n in (await client.list("namespaces"))["items"]]
        want = {(b["kind"], b["metadata"].get("namespace", ""), b["metadata"]["name"]): b
                for b in rbac.desired_bindings(entries, namespaces)}
        have: dict[tuple[str, str, str], dict] = {}
        for plural, kind in (("clusterrolebindings", "ClusterRoleBinding"), ("rolebindings", "RoleBinding")):
            for b in (await client.list(plural, label_selector=rbac.SELECTOR))["items"]:
                have[(kind, b["metadata"].get("namespace", ""), b["metadata"]["name"])] = b
        for k, b in have.items():
            if k not in want or not rbac.same(b, want[k]):
                plural = "clusterrolebindings" if k[0] == "ClusterRoleBinding" else "rolebindings"
                try:
                    await client.delete(plural, k[2], k[1] or None)
                except kerrors.StatusError as e:
                    if not kerrors.is_not_found(e):
                        raise
        for k, b in want.items():
            if k in have and rbac.same(have[k], b):
                continue
            plural = "clusterrolebindings" if k[0] == "ClusterRoleBinding" else "rolebindings"
            try:
                await client.create(plural, b, k[1] or None)
            except kerrors.StatusError as e:
                if not kerrors.is_already_exists(e):
                    raise
