"""The VPC model: each account has, per region, a default VPC with one default subnet per
availability zone, and may create more VPCs and subnets (CreateVpc, CreateSubnet: sizes /16 to
/28, a subnet inside its VPC and overlapping no other subnet of it). Subnets hand out private
addresses (node instances, their pods' secondary addresses, the control plane's and load
balancers' network interfaces), reserving the first four and the last address as AWS does.

Every VPC is a real network on this machine (a bridge the host is attached to), so its block
must come from the service's VPC pool (`CloudConfig.vpc_pool`, inside the 198.18.0.0/15 address
plan) and overlap no other VPC here. Each default VPC takes the next free /21 of the pool, split
into one /23 per zone.
Objects are kept with EC2's XML member names (`vpcId`, `cidrBlock`, `tagSet`, ...) so the
service can render them as they are.

Tables: `ec2-vpcs`, `ec2-subnets`, `ec2-security-groups`, `ec2-instances`, each keyed
`<account>/<region>/<id>`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kubelite.cloud.api import errors
from kubelite.cloud.ids import Ids
from kubelite.cloud.state import State

DEFAULT_VPC_PREFIX = 21
DEFAULT_SUBNET_PREFIX = 23
MIN_PREFIX, MAX_PREFIX = 16, 28      # the sizes EC2 allows for VPCs and subnets
RESERVED_PER_SUBNET = 5              # network, router, DNS, reserved, broadcast
_ABBREV = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c", "northeast": "ne",
           "southeast": "se", "northwest": "nw", "southwest": "sw"}


def zone_names(region: str, count: int) -> list[str]:
    return [f"{region}{chr(ord('a') + i)}" for i in range(count)]


def zone_id(region: str, index: int) -> str:
    parts = region.split("-")
    short = parts[0] + "".join(_ABBREV.get(p, p[:1]) for p in parts[1:-1]) + parts[-1]
    return f"{short}-az{index + 1}"


def parse_cidr(text: str, field: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise errors.ec2_error("InvalidParameterValue", f"Value ({text}) for parameter {field} is invalid. This is "
                                                        f"not a valid CIDR block.") from None
    if net.version != 4:
        raise errors.ec2_error("InvalidParameterValue", f"Value ({text}) for parameter {field} is invalid. This is "
                                                        f"not a valid CIDR block.")
    return net  # type: ignore[return-value]


def private_dns_name(region: str, ip: str) -> str:
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{ip.replace('.', '-')}.{domain}"


class Network:
    def __init__(self, state: State, ids: Ids, *, pool: str, zones_per_region: int = 3):
        self.state = state
        self.ids = ids
        self.pool = ipaddress.ip_network(pool)
        self.zones_per_region = zones_per_region

    # -- lookups ---------------------------------------------------------------------------------
    def vpcs(self, account: str, region: str) -> list[dict]:
        return self.state.values("ec2-vpcs", f"{account}/{region}/")

    def vpc(self, account: str, region: str, vpc_id: str) -> dict | None:
        return self.state.get("ec2-vpcs", f"{account}/{region}/{vpc_id}")

    def subnets(self, account: str, region: str) -> list[dict]:
        return self.state.values("ec2-subnets", f"{account}/{region}/")

    def subnet(self, account: str, region: str, subnet_id: str) -> dict | None:
        return self.state.get("ec2-subnets", f"{account}/{region}/{subnet_id}")

    def require_subnet(self, account: str, region: str, subnet_id: str) -> dict:
        s = self.subnet(account, region, subnet_id)
        if s is None:
            raise errors.ec2_error("InvalidSubnetID.NotFound", f"The subnet ID '{subnet_id}' does not exist")
        return s

    def security_groups(self, account: str, region: str) -> list[dict]:
        return self.state.values("ec2-security-groups", f"{account}/{region}/")

    def default_vpc(self, account: str, region: str) -> dict | None:
        return next((v for v in self.vpcs(account, region) if v["isDefault"]), None)

    def zones(self, region: str) -> list[str]:
        return zone_names(region, self.zones_per_region)

    # -- VPCs and subnets ------------------------------------------------------------------------
    def _check_vpc_block(self, block: ipaddress.IPv4Network) -> None:
        """A VPC's block must lie in this service's pool and overlap no other VPC here: every VPC
        is a network on this machine, reached from the host (AWS would allow overlaps)."""
        if not block.subnet_of(self.pool):  # type: ignore[arg-type]
            raise errors.ec2_error("InvalidVpc.Range", f"The CIDR '{block}' is invalid. VPCs of this service must "
                                                       f"lie inside its address pool {self.pool}.")
        for v in self.state.values("ec2-vpcs"):
            other = ipaddress.ip_network(v["cidrBlock"])
            if block.overlaps(other):
                raise errors.ec2_error("InvalidVpc.Range", f"The CIDR '{block}' is invalid. It overlaps "
                                                           f"{v['vpcId']} ({other}); VPCs on this machine must "
                                                           f"not overlap.")

    def _next_block(self) -> ipaddress.IPv4Network:
        used = {ipaddress.ip_network(v["cidrBlock"]) for v in self.state.values("ec2-vpcs")}
        for block in self.pool.subnets(new_prefix=DEFAULT_VPC_PREFIX):
            if not any(block.overlaps(u) for u in used):
                return block  # type: ignore[return-value]
        raise errors.ec2_error("VpcLimitExceeded", f"The VPC pool {self.pool} has no room for another VPC.")

    async def ensure_default_vpc(self, account: str, region: str) -> dict:
        """The account's default VPC in this region, made (with its subnets and default security
        group) on first use."""
        vpc = self.default_vpc(account, region)
        if vpc is not None:
            return vpc
        block = self._next_block()
        vpc = await self.create_vpc(account, region, str(block), default=True)
        for zone, cidr in zip(self.zones(region), block.subnets(new_prefix=DEFAULT_SUBNET_PREFIX)):
            await self.create_subnet(account, region, vpc["vpcId"], str(cidr), zone=zone, default=True)
        return vpc

    async def create_vpc(self, account: str, region: str, cidr: str, *, tags: list[dict] | None = None,
                         default: bool = False) -> dict:
        block = parse_cidr(cidr, "cidrBlock")
        if not MIN_PREFIX <= block.prefixlen <= MAX_PREFIX:
            raise errors.ec2_error("InvalidVpc.Range", f"The CIDR '{cidr}' is invalid.")
        self._check_vpc_block(block)
        vpc_id = self.ids.ec2("vpc")
        vpc = {"cidrBlock": str(block), "dhcpOptionsId": self.ids.ec2("dopt"), "state": "available",
               "vpcId": vpc_id, "ownerId": account, "instanceTenancy": "default",
               "cidrBlockAssociationSet": [{"associationId": self.ids.ec2("vpc-cidr-assoc"),
                                            "cidrBlock": str(block),
                                            "cidrBlockState": {"state": "associated"}}],
               "isDefault": default, "tagSet": list(tags or [])}
        await self.state.put("ec2-vpcs", f"{account}/{region}/{vpc_id}", vpc)
        sg_id = self.ids.ec2("sg")
        await self.state.put("ec2-security-groups", f"{account}/{region}/{sg_id}", {
            "groupId": sg_id, "groupName": "default", "groupDescription": "default VPC security group",
            "vpcId": vpc_id, "ownerId": account, "ipPermissions": [], "ipPermissionsEgress": [
                {"ipProtocol": "-1", "ipRanges": [{"cidrIp": "0.0.0.0/0"}]}], "tagSet": [],
            "securityGroupArn": f"arn:aws:ec2:{region}:{account}:security-group/{sg_id}"})
        return vpc

    def require_vpc(self, account: str, region: str, vpc_id: str) -> dict:
        v = self.vpc(account, region, vpc_id)
        if v is None:
            raise errors.ec2_error("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")
        return v

    async def delete_vpc(self, account: str, region: str, vpc_id: str) -> None:
        self.require_vpc(account, region, vpc_id)
        if any(s["vpcId"] == vpc_id for s in self.subnets(account, region)):
            raise errors.ec2_error("DependencyViolation", f"The vpc '{vpc_id}' has dependencies and cannot be "
                                                          f"deleted.")
        for key, g in list(self.state.items("ec2-security-groups", f"{account}/{region}/")):
            if g["vpcId"] == vpc_id:
                await self.state.delete("ec2-security-groups", key)
        await self.state.delete("ec2-vpcs", f"{account}/{region}/{vpc_id}")

    async def create_subnet(self, account: str, region: str, vpc_id: str, cidr: str, *, zone: str = "",
                            tags: list[dict] | None = None, default: bool = False) -> dict:
        vpc = self.require_vpc(account, region, vpc_id)
        block = parse_cidr(cidr, "cidrBlock")
        vpc_block = ipaddress.ip_network(vpc["cidrBlock"])
        if not MIN_PREFIX <= block.prefixlen <= MAX_PREFIX or not block.subnet_of(vpc_block):  # type: ignore
            raise errors.ec2_error("InvalidSubnet.Range", f"The CIDR '{cidr}' is invalid.")
        for s in self.subnets(account, region):
            if s["vpcId"] == vpc_id and block.overlaps(ipaddress.ip_network(s["cidrBlock"])):
                raise errors.ec2_error("InvalidSubnet.Conflict", f"The CIDR '{cidr}' conflicts with another subnet")
        zones = self.zones(region)
        if zone and zone not in zones:
            raise errors.ec2_error("InvalidParameterValue",
                                   f"Value ({zone}) for parameter availabilityZone is invalid. Subnets can currently "
                                   f"only be created in the following availability zones: {', '.join(zones)}.")
        if not zone:  # as EC2 does: a zone chosen for you (the one with the fewest subnets of this VPC)
            used = [s["availabilityZone"] for s in self.subnets(account, region) if s["vpcId"] == vpc_id]
            zone = min(zones, key=lambda z: (used.count(z), z))
        index = zones.index(zone)
        subnet_id = self.ids.ec2("subnet")
        subnet = {"availabilityZone": zone, "availabilityZoneId": zone_id(region, index),
                  "availableIpAddressCount": block.num_addresses - RESERVED_PER_SUBNET, "cidrBlock": str(block),
                  "defaultForAz": default, "mapPublicIpOnLaunch": default, "state": "available",
                  "subnetId": subnet_id, "vpcId": vpc_id, "ownerId": account,
                  "assignIpv6AddressOnCreation": False, "ipv6CidrBlockAssociationSet": [],
                  "tagSet": list(tags or []), "subnetArn": f"arn:aws:ec2:{region}:{account}:subnet/{subnet_id}",
                  "enableDns64": False, "ipv6Native": False,
                  "privateDnsNameOptionsOnLaunch": {"hostnameType": "ip-name",
                                                    "enableResourceNameDnsARecord": False,
                                                    "enableResourceNameDnsAAAARecord": False},
                  "allocated": []}
        await self.state.put("ec2-subnets", f"{account}/{region}/{subnet_id}", subnet)
        return subnet

    async def delete_subnet(self, account: str, region: str, subnet_id: str) -> None:
        s = self.require_subnet(account, region, subnet_id)
        if s.get("allocated"):
            raise errors.ec2_error("DependencyViolation", f"The subnet '{subnet_id}' has dependencies and cannot be "
                                                          f"deleted.")
        await self.state.delete("ec2-subnets", f"{account}/{region}/{subnet_id}")

    async def create_tags(self, account: str, region: str, resource_ids: list[str], tags: list[dict]) -> None:
        for rid in resource_ids:
            table = {"vpc": "ec2-vpcs", "subnet": "ec2-subnets", "sg": "ec2-security-groups",
                     "i": "ec2-instances"}.get(rid.split("-", 1)[0])
            obj = self.state.get(table, f"{account}/{region}/{rid}") if table else None
            if obj is None:
                raise errors.ec2_error("InvalidID", f"The ID '{rid}' is not valid")
            have = {t["key"]: t for t in obj.get("tagSet") or []}
            for t in tags:
                have[t["key"]] = {"key": t["key"], "value": t.get("value", "")}
            obj["tagSet"] = list(have.values())
            await self.state.put(table, f"{account}/{region}/{rid}", obj)

    def vpc_of_subnet(self, account: str, region: str, subnet_id: str) -> dict:
        s = self.require_subnet(account, region, subnet_id)
        return self.require_vpc(account, region, s["vpcId"])

    # -- addresses -------------------------------------------------------------------------------
    async def allocate_addresses(self, account: str, region: str, subnet_id: str, count: int) -> list[str]:
        """`count` free private addresses of the subnet (all or none), lowest first."""
        s = self.require_subnet(account, region, subnet_id)
        net = ipaddress.ip_network(s["cidrBlock"])
        used = set(s.get("allocated") or [])
        hosts = list(net.hosts())[3:]  # .1 router, .2 DNS, .3 reserved (the last is the broadcast)
        free = [str(ip) for ip in hosts if str(ip) not in used]
        if len(free) < count:
            raise errors.ec2_error("InsufficientFreeAddressesInSubnet",
                                   f"There are not enough free addresses in subnet '{subnet_id}' to satisfy the "
                                   f"requested number of instances.")
        got = free[:count]
        s.setdefault("allocated", []).extend(got)
        s["availableIpAddressCount"] = net.num_addresses - RESERVED_PER_SUBNET - len(s["allocated"])
        await self.state.put("ec2-subnets", f"{account}/{region}/{subnet_id}", s)
        return got

    async def allocate_address(self, account: str, region: str, subnet_id: str) -> str:
        return (await self.allocate_addresses(account, region, subnet_id, 1))[0]

    async def release_address(self, account: str, region: str, subnet_id: str, ip: str) -> None:
        await self.release_addresses(account, region, subnet_id, [ip])

    async def release_addresses(self, account: str, region: str, subnet_id: str, ips: list[str]) -> None:
        s = self.subnet(account, region, subnet_id)
        if s is None:
            return
        before = list(s.get("allocated") or [])
        s["allocated"] = [a for a in before if a not in set(ips)]
        if s["allocated"] == before:
            return
        net = ipaddress.ip_network(s["cidrBlock"])
        s["availableIpAddressCount"] = net.num_addresses - RESERVED_PER_SUBNET - len(s["allocated"])
        await self.state.put("ec2-subnets", f"{account}/{region}/{subnet_id}", s)

    # -- instances -------------------------------------------------------------------------------
    def instances(self, account: str, region: str) -> list[dict]:
        return self.state.values("ec2-instances", f"{account}/{region}/")

    def instance(self, account: str, region: str, instance_id: str) -> dict | None:
        return self.state.get("ec2-instances", f"{account}/{region}/{instance_id}")

    async def put_instance(self, account: str, region: str, inst: dict) -> None:
        await self.state.put("ec2-instances", f"{account}/{region}/{inst['instanceId']}", inst)

    async def delete_instance(self, account: str, region: str, instance_id: str) -> None:
        await self.state.delete("ec2-instances", f"{account}/{region}/{instance_id}")


def public(obj: dict) -> dict[str, Any]:
    """An object as EC2 shows it (without the service's own bookkeeping)."""
    return {k: v for k, v in obj.items() if k not in ("allocated",)}
