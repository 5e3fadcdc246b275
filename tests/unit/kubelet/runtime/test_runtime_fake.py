import asyncio

import pytest

from kubelite.kubelet.network.fake import FakeNetworkPlugin
from kubelite.kubelet.network.interface import NetworkError
from kubelite.kubelet.runtime import testsuite
from kubelite.kubelet.runtime.errors import RuntimeServiceError
from kubelite.kubelet.runtime.fake import FakeProcess, FakeRuntime, Step, shell_handler
from kubelite.kubelet.runtime.interface import (
    ContainerConfig,
    ContainerReason,
    ContainerState,
    PodSandboxConfig,
)


@pytest.mark.parametrize(
    "argv,kinds",
    [
        (["sh", "-c", "echo a; echo b >&2; exit 3"], ["out", "out", "exit"]),
        (["sh", "-c", "trap 'exit 0' TERM; sleep 60 & wait"], ["trap", "sleep"]),
        (["sleep", "infinity"], ["block"]),
        (["nginx", "-g", "daemon off;"], ["block"]),
        (["/bin/echo", "hi"], ["out"]),
    ],
)
def test_shell_handler(argv, kinds):
    assert [s.kind for s in shell_handler(argv).steps] == kinds


def test_stderr_redirect_and_trap_actions():
    steps = shell_handler(["sh", "-c", "echo -n oops 1>&2; trap '' INT TERM"]).steps
    assert steps[0].stream == "stderr" and steps[0].data == b"oops"
    assert steps[1].signals == (2, 15) and steps[1].action is None


def _pod():
    return PodSandboxConfig(name="p", namespace="ns", uid="u1")


def test_handler_override_and_oom():
    async def run():
        rt = FakeRuntime(handler=lambda argv: FakeProcess([Step("exit", code=137)], oom_killed=True))
        sid = await rt.run_pod_sandbox(_pod())
        cid = await rt.create_container(sid, ContainerConfig(name="c", command=["x"]), _pod())
        await rt.start_container(cid)
        st = await rt.container_status(cid)
        assert (st.state, st.exit_code, st.reason) == (ContainerState.EXITED, 137, ContainerReason.OOM_KILLED)
        assert rt.calls[:3] == ["run_pod_sandbox", "create_container", "start_container"]

    asyncio.run(run())


def test_fail_next_and_network_failure_rolls_back():
    async def run():
        net = FakeNetworkPlugin()
        rt = FakeRuntime(network=net)
        rt.fail_next("start_container", RuntimeServiceError("boom"))
        sid = await rt.run_pod_sandbox(_pod())
        cid = await rt.create_container(sid, ContainerConfig(name="c", command=["sleep", "1"]), _pod())
        with pytest.raises(RuntimeServiceError):
            await rt.start_container(cid)
        await rt.start_container(cid)  # only the next call fails
        net.setup_error = RuntimeError("no IPs left")
        other = PodSandboxConfig(name="q", namespace="ns", uid="u2")
        with pytest.raises(NetworkError):
            await rt.run_pod_sandbox(other)
        assert ("teardown_pod" in [c for c, _ in net.calls]) and len(await rt.list_pod_sandbox()) == 1
        assert (await rt.pod_sandbox_status(sid)).ip == "198.19.0.2"
        await rt.remove_pod_sandbox(sid)

    asyncio.run(run())


def test_attach_streams_output_and_stdin():
    async def run():
        rt = FakeRuntime()
        sid = await rt.run_pod_sandbox(_pod())
        cid = await rt.create_container(sid, ContainerConfig(name="c", command=["cat"], stdin=True), _pod())
        await rt.start_container(cid)
        att = await rt.attach(cid, stdin=True)
        att.stdin.write(b"hello\n")
        assert await att.stdout.readline() == b"hello\n"
        att.stdin.close()
        assert await asyncio.wait_for(att.wait(), 5) == 0
        assert (await rt.container_status(cid)).reason == ContainerReason.COMPLETED

    asyncio.run(run())


@pytest.mark.parametrize("check", testsuite.CHECKS[:3], ids=lambda c: c.__name__)
def test_fake_harness_smoke(check, tmp_path):
    async def run():
        h = testsuite.FakeHarness(tmp_path)
        try:
            await check(h)
        finally:
            await h.close()

    asyncio.run(run())
