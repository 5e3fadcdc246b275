"""The VPC model: each account has, per region, a default VPC with one default subnet per
availability zone; subnets hand out private addresses to instances (node "instances" of managed
node groups), reserving the first four and the last address as AWS does.

Addresses come from the service's VPC pool (`CloudConfig.vpc_pool`, inside the 198.18.0.0/15
address plan): each default VPC takes the next free /21 of the pool, split into one /23 per zone.
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
_ABBREV = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c", "northeast": "ne",
           "southeast": "se", "northwest": "nw", "southwest": "sw"}


def zone_names(region: str, count: int) -> list[str]:
    return [f"{region}{chr(ord('a') + i)}" for i in range(count)]


def zone_id(region: str, index: int) -> str:
    parts = region.split("-")
    short = parts[0] + "".join(_ABBREV.get(p, p[:1]) for p in parts[1:-1]) + parts[-1]
    return f"{short}-az{index + 1}"


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

    # -- the default VPC -------------------------------------------------------------------------
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
        vpc_id = self.ids.ec2("vpc")
        vpc = {"cidrBlock": str(block), "dhcpOptionsId": self.ids.ec2("dopt"), "state": "available",
               "vpcId": vpc_id, "ownerId": account, "instanceTenancy": "default",
               "cidrBlockAssociationSet": [{"associationId": self.ids.ec2("vpc-cidr-assoc"),
                                            "cidrBlock": str(block),
                                            "cidrBlockState": {"state": "associated"}}],
               "isDefault": True, "tagSet": []}
        await self.state.put("ec2-vpcs", f"{account}/{region}/{vpc_id}", vpc)
        for i, (zone, cidr) in enumerate(zip(self.zones(region), block.subnets(new_prefix=DEFAULT_SUBNET_PREFIX))):
            subnet_id = self.ids.ec2("subnet")
            subnet = {"availabilityZone": zone, "availabilityZoneId": zone_id(region, i),
                      "availableIpAddressCount": cidr.num_addresses - 5, "cidrBlock": str(cidr),
                      "defaultForAz": True, "mapPublicIpOnLaunch": True, "state": "available",
                      "subnetId": subnet_id, "vpcId": vpc_id, "ownerId": account,
                      "assignIpv6AddressOnCreation": False, "ipv6CidrBlockAssociationSet": [],
                      "tagSet": [], "subnetArn": f"arn:aws:ec2:{region}:{account}:subnet/{subnet_id}",
                      "enableDns64": False, "ipv6Native": False,
                      "privateDnsNameOptionsOnLaunch": {"hostnameType": "ip-name",
                                                        "enableResourceNameDnsARecord": False,
                                                        "enableResourceNameDnsAAAARecord": False},
                      "allocated": []}
            await self.state.put("ec2-subnets", f"{account}/{region}/{subnet_id}", subnet)
        sg_id = self.ids.ec2("sg")
        await self.state.put("ec2-security-groups", f"{account}/{region}/{sg_id}", {
            "groupId": sg_id, "groupName": "default", "groupDescription": "default VPC security group",
            "vpcId": vpc_id, "ownerId": account, "ipPermissions": [], "ipPermissionsEgress": [
                {"ipProtocol": "-1", "ipRanges": [{"cidrIp": "0.0.0.0/0"}]}], "tagSet": [],
            "securityGroupArn": f"arn:aws:ec2:{region}:{account}:security-group/{sg_id}"})
        return vpc

    # -- addresses -------------------------------------------------------------------------------
    async def allocate_address(self, account: str, region: str, subnet_id: str) -> str:
        s = self.require_subnet(account, region, subnet_id)
        net = ipaddress.ip_network(s["cidrBlock"])
        used = set(s.get("allocated") or [])
        hosts = list(net.hosts())[3:]  # .1 router, .2 DNS, .3 reserved (the last is the broadcast)
        for ip in hosts:
            if str(ip) not in used:
                s.setdefault("allocated", []).append(str(ip))
                s["availableIpAddressCount"] = net.num_addresses - 5 - len(s["allocated"])
                await self.state.put("ec2-subnets", f"{account}/{region}/{subnet_id}", s)
                return str(ip)
        raise errors.ec2_error("InsufficientFreeAddressesInSubnet",
                               f"There are not enough free addresses in subnet '{subnet_id}' to satisfy the "
                               f"requested number of instances.")

    async def release_address(self, account: str, region: str, subnet_id: str, ip: str) -> None:
        s = self.subnet(account, region, subnet_id)
        if s is None or ip not in (s.get("allocated") or []):
            return
        s["allocated"].remove(ip)
        net = ipaddress.ip_network(s["cidrBlock"])
        s["availableIpAddressCount"] = net.num_addresses - 5 - len(s["allocated"])
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
