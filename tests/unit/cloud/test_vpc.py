"""The VPC model (CreateVpc/CreateSubnet rules, addresses), instance types' pod limits, and the
VPC-CNI network configuration of managed nodes."""

import asyncio
import random

import pytest

from kubelite.cloud.api.errors import ServiceError
from kubelite.cloud.ec2 import instance_types
from kubelite.cloud.ec2.network import Network
from kubelite.cloud.ids import Ids
from kubelite.cloud.provisioner.vpc_agent import address_ranges, vpc_conflist
from kubelite.cloud.state import State
from kubelite.storage import open_backend

ACCT, REGION = "000000000000", "us-east-1"


def network() -> Network:
    state = State(open_backend("memory://"))
    asyncio.run(state.load())
    return Network(state, Ids(random.Random(1)), pool="198.18.64.0/18")


def code_of(coro) -> str:
    with pytest.raises(ServiceError) as e:
        asyncio.run(coro)
    return e.value.code


def test_default_vpc_has_a_subnet_per_zone_inside_the_pool():
    n = network()
    vpc = asyncio.run(n.ensure_default_vpc(ACCT, REGION))
    assert vpc["cidrBlock"] == "198.18.64.0/21" and vpc["isDefault"]
    subnets = n.subnets(ACCT, REGION)
    assert sorted((s["availabilityZone"], s["cidrBlock"]) for s in subnets) == [
        ("us-east-1a", "198.18.64.0/23"), ("us-east-1b", "198.18.66.0/23"), ("us-east-1c", "198.18.68.0/23")]
    assert all(s["availableIpAddressCount"] == 512 - 5 for s in subnets)
    assert any(g["vpcId"] == vpc["vpcId"] for g in n.security_groups(ACCT, REGION))


@pytest.mark.parametrize("cidr, code", [
    ("10.0.0.0/16", "InvalidVpc.Range"),          # outside this machine's VPC pool
    ("198.18.0.0/15", "InvalidVpc.Range"),        # bigger than /16
    ("198.18.64.0/29", "InvalidVpc.Range"),       # smaller than /28
    ("198.18.64.0/24", "InvalidVpc.Range"),       # overlaps the default VPC
    ("not-a-cidr", "InvalidParameterValue"),
    ("198.18.80.1/24", "InvalidParameterValue"),  # host bits set
], ids=["outside-pool", "too-big", "too-small", "overlap", "garbage", "host-bits"])
def test_create_vpc_refuses(cidr, code):
    n = network()
    asyncio.run(n.ensure_default_vpc(ACCT, REGION))
    assert code_of(n.create_vpc(ACCT, REGION, cidr)) == code


def test_subnets_inside_their_vpc_without_overlap():
    n = network()
    vpc = asyncio.run(n.create_vpc(ACCT, REGION, "198.18.80.0/20"))
    a = asyncio.run(n.create_subnet(ACCT, REGION, vpc["vpcId"], "198.18.80.0/22", zone="us-east-1a"))
    assert a["availableIpAddressCount"] == 1024 - 5 and a["vpcId"] == vpc["vpcId"]
    assert code_of(n.create_subnet(ACCT, REGION, vpc["vpcId"], "198.18.81.0/24")) == "InvalidSubnet.Conflict"
    assert code_of(n.create_subnet(ACCT, REGION, vpc["vpcId"], "198.18.96.0/24")) == "InvalidSubnet.Range"
    assert code_of(n.create_subnet(ACCT, REGION, vpc["vpcId"], "198.18.84.0/24", zone="us-east-1z")) == \
        "InvalidParameterValue"
    assert code_of(n.create_subnet(ACCT, REGION, "vpc-nope", "198.18.84.0/24")) == "InvalidVpcID.NotFound"
    b = asyncio.run(n.create_subnet(ACCT, REGION, vpc["vpcId"], "198.18.84.0/24"))
    assert b["availabilityZone"] == "us-east-1b"     # the zone with the fewest subnets
    assert code_of(n.delete_vpc(ACCT, REGION, vpc["vpcId"])) == "DependencyViolation"


def test_addresses_skip_the_reserved_ones_and_subnets_in_use_stay():
    n = network()
    vpc = asyncio.run(n.create_vpc(ACCT, REGION, "198.18.80.0/24"))
    s = asyncio.run(n.create_subnet(ACCT, REGION, vpc["vpcId"], "198.18.80.0/28"))
    got = asyncio.run(n.allocate_addresses(ACCT, REGION, s["subnetId"], 3))
    assert got == ["198.18.80.4", "198.18.80.5", "198.18.80.6"]
    assert n.subnet(ACCT, REGION, s["subnetId"])["availableIpAddressCount"] == 16 - 5 - 3
    assert code_of(n.allocate_addresses(ACCT, REGION, s["subnetId"], 9)) == "InsufficientFreeAddressesInSubnet"
    assert code_of(n.delete_subnet(ACCT, REGION, s["subnetId"])) == "DependencyViolation"
    asyncio.run(n.release_addresses(ACCT, REGION, s["subnetId"], got))
    asyncio.run(n.delete_subnet(ACCT, REGION, s["subnetId"]))
    asyncio.run(n.delete_vpc(ACCT, REGION, vpc["vpcId"]))
    assert n.vpcs(ACCT, REGION) == []


@pytest.mark.parametrize("name, pods", [("t3.micro", 4), ("t3.small", 11), ("t3.medium", 17), ("t3.large", 35),
                                        ("m5.large", 29), ("m5.xlarge", 58), ("m5.4xlarge", 234)])
def test_max_pods_as_eks_computes_it(name, pods):
    assert instance_types.max_pods(name) == pods
    t = instance_types.instance_type(name)
    assert t.secondary_addresses == pods - 2


def test_vpc_cni_conflist_uses_the_nodes_secondary_addresses():
    addrs = ["198.18.66.5", "198.18.66.6", "198.18.66.7", "198.18.66.20"]
    assert address_ranges(addrs, "198.18.66.0/23", "198.18.66.1") == [
        {"subnet": "198.18.66.0/23", "rangeStart": "198.18.66.5", "rangeEnd": "198.18.66.7",
         "gateway": "198.18.66.1"},
        {"subnet": "198.18.66.0/23", "rangeStart": "198.18.66.20", "rangeEnd": "198.18.66.20",
         "gateway": "198.18.66.1"}]
    conf = vpc_conflist(addresses=addrs, subnet_cidr="198.18.66.0/23", data_dir="/run/x/ipam")
    ptp = conf["plugins"][0]
    assert ptp["type"] == "ptp" and ptp["ipMasq"] is False
    assert ptp["ipam"]["type"] == "host-local" and ptp["ipam"]["routes"] == [{"dst": "0.0.0.0/0"}]
    assert [p["type"] for p in conf["plugins"]] == ["ptp", "portmap"]
