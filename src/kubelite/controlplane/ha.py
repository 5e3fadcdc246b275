"""Several API servers on one etcd cluster.

Every server of a cluster must hold the same cluster material: the CA (certificate and key; all
certificates chain to it), the service account signing key (tokens issued by one verify on the
others), the key that encrypts Secrets at rest (`encryption.json`: one server writes, any reads)
and the admin token. Each server keeps its own serving certificate (its own addresses) and data
dir. `share_material(first, second)` copies what must be shared from the first server's data dir
into a new server's data dir before it starts (`kubelite server --join-ca-from` would call it):

    kubelite server --datastore etcd://a:2379,b:2379,c:2379 --data-dir /srv/k1 --https-port 6443
    # then, for the second server:
    copy /srv/k1/{tls/ca.crt,tls/ca.key,tls/service-account.key,encryption.json,admin.token} to /srv/k2
    kubelite server --datastore etcd://a:2379,b:2379,c:2379 --data-dir /srv/k2 --https-port 6444

`start_backend` opens a datastore that may not be reachable yet: it retries with backoff and a
clear log line until it answers or `timeout` passes (then `DatastoreUnavailable`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)

SHARED_FILES = ("tls/ca.crt", "tls/ca.key", "tls/service-account.key", "encryption.json", "admin.token")


class DatastoreUnavailable(Exception):
    pass


def share_material(src: Path, dst: Path) -> list[str]:
    """Copy the cluster material a second API server needs; returns what was copied."""
    src, dst = Path(src), Path(dst)
    missing = [f for f in SHARED_FILES if not (src / f).exists()]
    if missing:
        raise FileNotFoundError(f"{src} is not the data dir of a started server (missing {', '.join(missing)})")
    copied = []
    for f in SHARED_FILES:
        target = dst / f
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(target.parent, 0o700)
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(src / f, tmp)
        os.chmod(tmp, 0o644 if f.endswith(".crt") else 0o600)
        os.replace(tmp, target)
        copied.append(f)
    return copied


async def start_backend(backend, url: str, *, timeout: float | None = None, max_delay: float = 5.0) -> None:
    """`backend.start()`, retried with backoff while the datastore does not answer."""
    from kubelite.storage.errors import StorageError

    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.5
    attempt = 0
    while True:
        attempt += 1
        try:
            await backend.start()
            if attempt > 1:
                log.info("datastore %s is reachable", redact(url))
            return
        except (StorageError, OSError) as e:
            with_close = getattr(backend, "close", None)
            if with_close is not None:
                await with_close()
            if deadline is not None and time.monotonic() + delay > deadline:
                raise DatastoreUnavailable(f"the datastore {redact(url)} is unreachable: {e}") from None
            log.warning("the datastore %s is unreachable (%s); retrying in %.1fs", redact(url), e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


def redact(url: str) -> str:
    """A datastore URL without credentials (`user:password@`)."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
