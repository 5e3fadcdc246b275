"""The EC2 service (ec2 protocol, API 2016-11-15): the read side of the VPC model —
DescribeVpcs, DescribeSubnets, DescribeSecurityGroups, DescribeAvailabilityZones,
DescribeRegions and DescribeInstances (node-group instances), with EC2's filters."""

from __future__ import annotations

import re
from typing import Any, Callable

from kubelite.cloud.api import errors
from kubelite.cloud.api.errors import EC2
from kubelite.cloud.api.gateway import Call
from kubelite.cloud.api.protocols import FormParams, Response, render_ec2

from .network import Network, public, zone_id

NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
VERSION = "2016-11-15"


def _wild(pattern: str, value: str) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value) is not None


def _field(obj: dict, name: str) -> list[str]:
    """The values an EC2 filter name refers to."""
    if name.startswith("tag:"):
        key = name[4:]
        return [t["value"] for t in obj.get("tagSet") or [] if t["key"] == key]
    if name == "tag-key":
        return [t["key"] for t in obj.get("tagSet") or []]
    v = obj
    for part in _FILTER_PATHS.get(name, [name]):
        if not isinstance(v, dict):
            return []
        v = v.get(part)  # type: ignore[assignment]
    if v is None:
        return []
    if isinstance(v, bool):
        return ["true" if v else "false"]
    return [str(v)]


_FILTER_PATHS = {
    "vpc-id": ["vpcId"], "subnet-id": ["subnetId"], "cidr": ["cidrBlock"], "cidr-block": ["cidrBlock"],
    "cidrBlock": ["cidrBlock"], "is-default": ["isDefault"], "default-for-az": ["defaultForAz"],
    "availability-zone": ["availabilityZone"], "availabilityZone": ["availabilityZone"], "state": ["state"],
    "owner-id": ["ownerId"], "group-id": ["groupId"], "group-name": ["groupName"],
    "instance-id": ["instanceId"], "instance-state-name": ["instanceState", "name"],
    "private-ip-address": ["privateIpAddress"], "private-dns-name": ["privateDnsName"],
    "instance-type": ["instanceType"], "zone-name": ["zoneName"], "region-name": ["regionName"],
}


def _filtered(objs: list[dict], params: FormParams) -> list[dict]:
    for f in params.structs("Filter", member=False):
        name = f.get("Name") or ""
        values = f.list("Value", member=False)
        objs = [o for o in objs if any(_wild(v, have) for v in values for have in _field(o, name))]
    return objs


class EC2Service:
    name = "ec2"
    protocol = EC2

    def __init__(self, network: Network, iam: Any):
        self.network = network
        self.iam = iam
        self.ops: dict[str, Callable] = {n[3:]: getattr(self, n) for n in dir(self) if n.startswith("op_")}

    async def handle(self, call: Call) -> Response:
        op = self.ops.get(call.action)
        if op is None:
            raise errors.ec2_error("InvalidAction", f"The action {call.action} is not valid for this web service.")
        p = call.principal
        action = f"ec2:{call.action}"
        if not self.iam.is_allowed(p, action, "*", call.region):
            raise errors.ec2_unauthorized()
        await self.network.ensure_default_vpc(p.account, call.region)
        result = op(call, call.form)
        return render_ec2(call.action, NAMESPACE, result, call.request_id)

    def _by_ids(self, objs: list[dict], ids: list[str], key: str, code: str, what: str) -> list[dict]:
        if not ids:
            return objs
        known = {o[key] for o in objs}
        missing = [i for i in ids if i not in known]
        if missing:
            raise errors.ec2_error(code, f"The {what} ID{'s' if len(missing) > 1 else ''} "
                                         f"'{', '.join(missing)}' do{'' if len(missing) > 1 else 'es'} not exist")
        return [o for o in objs if o[key] in ids]

    def op_DescribeVpcs(self, call: Call, params: FormParams) -> dict:
        vpcs = self.network.vpcs(call.principal.account, call.region)
        vpcs = self._by_ids(vpcs, params.list("VpcId", member=False), "vpcId", "InvalidVpcID.NotFound", "vpc")
        return {"vpcSet": [public(v) for v in _filtered(vpcs, params)]}

    def op_DescribeSubnets(self, call: Call, params: FormParams) -> dict:
        subnets = self.network.subnets(call.principal.account, call.region)
        subnets = self._by_ids(subnets, params.list("SubnetId", member=False), "subnetId",
                               "InvalidSubnetID.NotFound", "subnet")
        return {"subnetSet": [public(s) for s in _filtered(subnets, params)]}

    def op_DescribeSecurityGroups(self, call: Call, params: FormParams) -> dict:
        groups = self.network.security_groups(call.principal.account, call.region)
        groups = self._by_ids(groups, params.list("GroupId", member=False), "groupId",
                              "InvalidGroup.NotFound", "security group")
        return {"securityGroupInfo": _filtered(groups, params)}

    def op_DescribeAvailabilityZones(self, call: Call, params: FormParams) -> dict:
        zones = [{"zoneState": "available", "optInStatus": "opt-in-not-required", "messageSet": [],
                  "regionName": call.region, "zoneName": z, "zoneId": zone_id(call.region, i),
                  "groupName": call.region, "networkBorderGroup": call.region, "zoneType": "availability-zone"}
                 for i, z in enumerate(self.network.zones(call.region))]
        names = params.list("ZoneName", member=False)
        if names:
            zones = [z for z in zones if z["zoneName"] in names]
        return {"availabilityZoneInfo": _filtered(zones, params)}

    def op_DescribeRegions(self, call: Call, params: FormParams) -> dict:
        return {"regionInfo": [{"regionName": call.region, "regionEndpoint": f"ec2.{call.region}.amazonaws.com",
                                "optInStatus": "opt-in-not-required"}]}

    def op_DescribeInstances(self, call: Call, params: FormParams) -> dict:
        insts = self.network.instances(call.principal.account, call.region)
        ids = params.list("InstanceId", member=False)
        if ids:
            known = {i["instanceId"] for i in insts}
            missing = [i for i in ids if i not in known]
            if missing:
                raise errors.ec2_error("InvalidInstanceID.NotFound",
                                       f"The instance IDs '{', '.join(missing)}' do not exist")
            insts = [i for i in insts if i["instanceId"] in ids]
        insts = _filtered(insts, params)
        return {"reservationSet": [{"reservationId": i.get("reservationId", "r-" + i["instanceId"][2:]),
                                    "ownerId": call.principal.account, "groupSet": [],
                                    "instancesSet": [{k: v for k, v in i.items() if k != "reservationId"}]}
                                   for i in insts]}
