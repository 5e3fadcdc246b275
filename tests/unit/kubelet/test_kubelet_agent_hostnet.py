"""The agent's network bootstrap pieces, inside a throwaway network namespace."""

import asyncio
import os
import secrets
import shutil
import subprocess
import sys

import pytest

from kubelite.agent import hostnet

pytestmark = pytest.mark.root


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("nft"):
        pytest.skip("needs root and nft")
    name = f"kltg{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield f"/var/run/netns/{name}"
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def test_egress_guard_and_forwarding(netns):
    asyncio.run(hostnet.ensure_egress_guard("198.19.0.0/16", "198.18.0.0/15", netns))
    asyncio.run(hostnet.ensure_egress_guard("198.19.0.0/16", "198.18.0.0/15", netns))  # idempotent
    out = subprocess.run(["nsenter", f"--net={netns}", "nft", "list", "table", "inet", "kubelite-guard"],
                         capture_output=True, text=True, check=True).stdout
    assert out.count("drop") == 1 and "ip saddr 198.19.0.0/16 ip daddr != 198.18.0.0/15 drop" in out
    asyncio.run(hostnet.enable_forwarding(netns))
    val = subprocess.run(["nsenter", f"--net={netns}", "cat", "/proc/sys/net/ipv4/ip_forward"],
                         capture_output=True, text=True).stdout.strip()
    assert val == "1"
    with pytest.raises(hostnet.HostNetworkError):
        asyncio.run(hostnet.enable_forwarding(""))


def test_bridge_in_a_netns(netns):
    name = os.path.basename(netns)
    # ensure_bridge runs `ip` in the caller's namespace: run it from inside the test namespace
    r = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c",
                        "import asyncio; from kubelite.agent import hostnet;"
                        "print(asyncio.run(hostnet.ensure_bridge('kltbr0', '198.18.0.1', '198.18.0.0/20')),"
                        " asyncio.run(hostnet.ensure_bridge('kltbr0', '198.18.0.1', '198.18.0.0/20')))"],
                       capture_output=True, text=True)
    assert r.stdout.split() == ["True", "False"], r.stderr
    out = subprocess.run(["ip", "netns", "exec", name, "ip", "-o", "-4", "addr", "show", "dev", "kltbr0"],
                         capture_output=True, text=True).stdout
    assert "198.18.0.1/20" in out
