"""The EC2 service (ec2 protocol, API 2016-11-15): the VPC model — CreateVpc, DeleteVpc,
CreateSubnet, DeleteSubnet, CreateTags, DescribeVpcs, DescribeSubnets, DescribeSecurityGroups,
DescribeAvailabilityZones, DescribeRegions and DescribeInstances (node-group and Fargate
instances), with EC2's filters and error codes."""

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


def _tag_specs(params: FormParams, resource_type: str) -> list[dict]:
    """`TagSpecification.N.ResourceType` + `TagSpecification.N.Tag.M.Key/Value` for this type."""
    out = []
    for spec in params.structs("TagSpecification", member=False):
        rt = spec.get("ResourceType") or ""
        if rt != resource_type:
            raise errors.ec2_error("InvalidParameterValue", f"'{rt}' is not a valid taggable resource type for "
                                                            f"this operation.")
        out += [{"key": t.get("Key") or "", "value": t.get("Value") or ""} for t in spec.structs("Tag", member=False)]
    return out


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
        if hasattr(result, "__await__"):
            result = await result
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

    # -- writes --------------------------------------------------------------------------------
    async def op_CreateVpc(self, call: Call, params: FormParams) -> dict:
        cidr = params.get("CidrBlock")
        if not cidr:
            if params.get("Ipv4IpamPoolId"):
                raise errors.ec2_error("InvalidParameterValue", "IPAM pools are not supported by this service")
            raise errors.missing_parameter("CidrBlock")
        if params.bool("AmazonProvidedIpv6CidrBlock") or params.get("Ipv6CidrBlock"):
            raise errors.ec2_error("InvalidParameterValue", "IPv6 VPCs are not supported by this service")
        vpc = await self.network.create_vpc(call.principal.account, call.region, cidr,
                                            tags=_tag_specs(params, "vpc"))
        return {"vpc": public(vpc)}

    async def op_DeleteVpc(self, call: Call, params: FormParams) -> dict:
        await self.network.delete_vpc(call.principal.account, call.region, params.require("VpcId"))
        return {"return": True}

    async def op_CreateSubnet(self, call: Call, params: FormParams) -> dict:
        vpc_id = params.require("VpcId")
        cidr = params.get("CidrBlock")
        if not cidr:
            raise errors.missing_parameter("CidrBlock")
        zone = params.get("AvailabilityZone") or ""
        zone_by_id = params.get("AvailabilityZoneId")
        if zone_by_id and not zone:
            zones = self.network.zones(call.region)
            ids = [zone_id(call.region, i) for i in range(len(zones))]
            if zone_by_id not in ids:
                raise errors.ec2_error("InvalidParameterValue", f"Value ({zone_by_id}) for parameter "
                                                                f"availabilityZoneId is invalid.")
            zone = zones[ids.index(zone_by_id)]
        subnet = await self.network.create_subnet(call.principal.account, call.region, vpc_id, cidr, zone=zone,
                                                  tags=_tag_specs(params, "subnet"))
        return {"subnet": public(subnet)}

    async def op_DeleteSubnet(self, call: Call, params: FormParams) -> dict:
        await self.network.delete_subnet(call.principal.account, call.region, params.require("SubnetId"))
        return {"return": True}

    async def op_CreateTags(self, call: Call, params: FormParams) -> dict:
        tags = [{"key": t.get("Key") or "", "value": t.get("Value") or ""} for t in params.structs("Tag", member=False)]
        await self.network.create_tags(call.principal.account, call.region, params.list("ResourceId", member=False),
                                       tags)
        return {"return": True}

    # -- reads ---------------------------------------------------------------------------------
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
