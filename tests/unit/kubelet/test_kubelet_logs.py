"""Log paths, restart counts from the log directory, the FallbackToLogsOnError tail, rotation,
and the PodLookup the kubelet server uses."""

import asyncio
import gzip

from kubelite.kubelet.logs import ContainerLogManager, read_log_tail, restart_count_from_log_dir
from kubelite.kubelet.runtime import crilog
from kubelite.kubelet.testing import KubeletHarness, container_status, make_pod


def test_restart_count_from_log_dir(tmp_path):
    assert restart_count_from_log_dir(tmp_path / "none") == 0
    for name in ("0.log", "1.log", "3.log.20250101-000000.gz", "junk"):
        (tmp_path / name).write_text("")
    assert restart_count_from_log_dir(tmp_path) == 4


def test_read_log_tail(tmp_path):
    p = tmp_path / "0.log"
    data = b"".join(crilog.encode("stdout", f"line {i}\n".encode()) for i in range(100))
    data += crilog.encode("stderr", b"partial ") + crilog.encode("stderr", b"end\n")
    p.write_bytes(data)
    tail = read_log_tail(str(p))
    lines = tail.splitlines()
    assert lines[-1] == "partial end" and len(lines) == 80 and lines[0] == "line 21"
    assert len(read_log_tail(str(p), max_bytes=20)) == 20


class Runtime:
    def __init__(self, path):
        self.path = path
        self.reopened = 0

    async def reopen_container_log(self, cid):
        self.reopened += 1
        self.path.write_bytes(b"")


def test_rotation(tmp_path):
    log = tmp_path / "0.log"
    rt = Runtime(log)
    mgr = ContainerLogManager(rt, max_size=10, max_files=4)

    async def rotate_n(n):
        for i in range(n):
            log.write_bytes(b"x" * 20 + str(i).encode())
            await mgr.rotate("c1", log)
            await asyncio.sleep(1.01)  # rotated names carry the second

    asyncio.run(rotate_n(4))
    rotated = sorted(p.name for p in tmp_path.iterdir() if p.name != "0.log")
    # at most max_files - 2 kept before each rotation, all but the newest of them gzipped
    assert rt.reopened == 4 and len(rotated) == 3, rotated
    assert rotated[0].endswith(".gz") and not rotated[1].endswith(".gz") and not rotated[2].endswith(".gz")
    assert gzip.decompress((tmp_path / rotated[0]).read_bytes()) == b"x" * 20 + b"1"
    assert log.exists() and log.read_bytes() == b""


def test_pod_lookup(tmp_path):
    async def body():
        async with KubeletHarness(tmp_path, config={"crash_backoff_initial": 0.05}) as h:
            await h.create_pod(make_pod("web", command=["sleep", "100"]))
            await h.create_pod(make_pod("crash", command=["sh", "-c", "echo boom; exit 1"]))
            await h.wait_for_pod("web", lambda p: p["status"].get("phase") == "Running")
            await h.wait_for_pod("crash", lambda p: container_status(p, "crash").get("restartCount", 0) >= 2)
            lk = h.kubelet.lookup
            ref = await lk.find_container("default", "web", "web")
            assert ref.running and ref.log_path.endswith("/web/0.log") and ref.previous_log_path == ""
            assert (await lk.find_container("default", "web", "")).container_id == ref.container_id
            assert await lk.find_container("default", "web", "nope") is None
            assert await lk.find_container("default", "absent", "web") is None
            pod = await lk.find_pod("default", "web")
            assert pod.uid == h.get_pod("web")["metadata"]["uid"] and pod.sandbox_id
            crash = await lk.find_container("default", "crash", "crash")
            assert not crash.running and crash.previous_log_path == crash.log_path  # back-off: lastState
    asyncio.run(asyncio.wait_for(body(), 30))
