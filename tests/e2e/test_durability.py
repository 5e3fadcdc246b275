"""SIGKILL in the middle of concurrent writes loses nothing that was acknowledged."""

import json
import threading
import time

from kubelite.testing import CONTROL_PLANE_ONLY, ServerProcess


def test_acknowledged_writes_survive_sigkill(tmp_path):
    s = ServerProcess(tmp_path / "data", args=CONTROL_PLANE_ONLY).start()
    acked: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w: int) -> None:
        i = 0
        while not stop.is_set():
            name = f"w{w}-{i}"
            doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"i": str(i)}}
            try:
                status, _, raw = s.request("POST", "/api/v1/namespaces/default/configmaps", doc, timeout=5)
            except OSError:
                return  # the server is gone
            if status == 201:
                with lock:
                    acked[name] = int(json.loads(raw)["metadata"]["resourceVersion"])
            i += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    s.kill()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 300, f"only {len(acked)} writes acknowledged before the kill"
    s2 = ServerProcess(tmp_path / "data", port=s.port, args=CONTROL_PLANE_ONLY).start()
    try:
        out = json.loads(s2.kubectl("get", "configmaps", "-n", "default", "-o", "json").stdout)
        present = {i["metadata"]["name"]: int(i["metadata"]["resourceVersion"]) for i in out["items"]}
        missing = [n for n in acked if n not in present]
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
        for n, rv in acked.items():
            assert present[n] == rv
        status, _, raw = s2.request("POST", "/api/v1/namespaces/default/configmaps",
                                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}})
        assert status == 201
        assert int(json.loads(raw)["metadata"]["resourceVersion"]) > max(acked.values())
    finally:
        s2.stop()
