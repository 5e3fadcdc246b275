"""Authorization cost: GET/s for a user authorized through RBAC, among 1,000 RoleBindings, as a
ratio to GET/s for the admin (system:masters, no RBAC evaluation) in the same run.

Target (issue 9): ratio >= 0.8.

Usage: .venv/bin/python bench/authz.py [--n 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from apiclient import Client  # noqa: E402

from kubelite.client.pki import CertKey, sign  # noqa: E402
from kubelite.testing import ServerProcess  # noqa: E402

NAMESPACES = 50
BINDINGS = 1000


async def gets(c: Client, path: str, n: int) -> float:
    sem = asyncio.Semaphore(32)

    async def one() -> None:
        async with sem:
            st, body = await c.req("GET", path)
            assert st == 200, body[:200]

    t = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return n / (time.perf_counter() - t)


async def run(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-authz-"))
    server = ServerProcess(tmp / "data", args=["--no-agent", "--disable-scheduler", "--disable-cluster-dns",
                                                "--controllers=serviceaccount,namespace"]).start()
    admin = Client(server)
    try:
        rbac = "rbac.authorization.k8s.io"
        for i in range(NAMESPACES):
            await admin.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                            "metadata": {"name": f"ns{i}"}})
        sem = asyncio.Semaphore(32)

        async def binding(i: int) -> None:
            ns = f"ns{i % NAMESPACES}"
            user = "bench-user" if i == BINDINGS - 1 else f"user{i}"
            async with sem:
                st, body = await admin.req("POST", f"/apis/{rbac}/v1/namespaces/{ns}/rolebindings", {
                    "apiVersion": f"{rbac}/v1", "kind": "RoleBinding", "metadata": {"name": f"rb{i}"},
                    "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "view"},
                    "subjects": [{"apiGroup": rbac, "kind": "User", "name": user},
                                 {"apiGroup": rbac, "kind": "Group", "name": f"group{i % 7}"}]})
                assert st == 201, body[:300]

        await asyncio.gather(*(binding(i) for i in range(BINDINGS)))
        ns = f"ns{(BINDINGS - 1) % NAMESPACES}"
        await admin.req("POST", f"/api/v1/namespaces/{ns}/configmaps",
                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "target"}})
        tls = server.data_dir / "tls"
        ca = CertKey.load(tls / "ca.crt", tls / "ca.key")
        ck = sign(ca, common_name="bench-user", organizations=["devs"], client=True)
        ck.save(tmp / "user.crt", tmp / "user.key")
        user = Client(server, cert=(str(tmp / "user.crt"), str(tmp / "user.key")))
        path = f"/api/v1/namespaces/{ns}/configmaps/target"
        await gets(admin, path, 200)
        await gets(user, path, 200)
        a = await gets(admin, path, n)
        u = await gets(user, path, n)
        a2 = await gets(admin, path, n)
        await user.close()
    finally:
        await admin.close()
        server.stop()
    base = (a + a2) / 2
    print(f"GETs as the admin (no RBAC evaluation)          {base:8.1f} /s   baseline")
    print(f"GETs as a user bound by 1 of {BINDINGS} RoleBindings  {u:8.1f} /s   ratio {u / base:.2f} (target >= 0.8)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4000)
    asyncio.run(run(ap.parse_args().n))
