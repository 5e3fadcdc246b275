import os

import pytest

from kubelite.kubelet.runtime.runc import seccomp
from kubelite.kubelet.runtime.runc.spec import DEFAULT_CAPABILITIES

PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "includes": {}, "excludes": {}},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["arm_fadvise64_64"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    ],
}


def test_conversion_filters_by_arch_and_caps():
    out = seccomp.to_oci(PROFILE, set(DEFAULT_CAPABILITIES), ("amd64", "SCMP_ARCH_X86_64"))
    assert out["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert out["defaultAction"] == "SCMP_ACT_ERRNO" and out["defaultErrnoRet"] == 38
    names = [(r["names"], r["action"]) for r in out["syscalls"]]
    assert names == [(["read", "write"], "SCMP_ACT_ALLOW"), (["arch_prctl"], "SCMP_ACT_ALLOW"),
                     (["mount"], "SCMP_ACT_ERRNO"), (["personality"], "SCMP_ACT_ALLOW")]
    assert out["syscalls"][2]["errnoRet"] == 1 and out["syscalls"][3]["args"][0]["value"] == 8
    admin = seccomp.to_oci(PROFILE, set(DEFAULT_CAPABILITIES) | {"CAP_SYS_ADMIN"}, ("amd64", "SCMP_ARCH_X86_64"))
    assert (["mount"], "SCMP_ACT_ALLOW") in [(r["names"], r["action"]) for r in admin["syscalls"]]


def test_missing_profile_is_none(tmp_path, caplog):
    assert seccomp.load(tmp_path / "nope.json") is None
    assert "without seccomp" in caplog.text


@pytest.mark.skipif(not os.path.exists(seccomp.DEFAULT_PROFILE), reason="Debian profile not installed")
def test_debian_profile_counts():
    profile = seccomp.load(seccomp.DEFAULT_PROFILE)
    out = seccomp.to_oci(profile, set(DEFAULT_CAPABILITIES), ("amd64", "SCMP_ARCH_X86_64"))
    assert len(out["syscalls"]) == 19  # contract §1.2: 19 rules with the 14 default caps
