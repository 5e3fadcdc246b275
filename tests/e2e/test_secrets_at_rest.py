"""Secrets are encrypted at rest; key rotation re-encrypts them."""

import base64
import json
import sqlite3
import subprocess
import sys

from kubelite.testing import CONTROL_PLANE_ONLY, ServerProcess


def raw_rows(db):
    conn = sqlite3.connect(db)
    try:
        return [bytes(r[0]) for r in conn.execute("SELECT value FROM kv WHERE key LIKE '/registry/core/secrets/%'")]
    finally:
        conn.close()


def test_secret_is_not_plaintext_and_survives_rotation(tmp_path):
    s = ServerProcess(tmp_path / "data", args=CONTROL_PLANE_ONLY).start()
    try:
        s.kubectl("create", "secret", "generic", "topsecret", "--from-literal=password=hunter2-very-secret")
        db = tmp_path / "data" / "state.db"
        rows = raw_rows(db)
        assert rows and all(r.startswith(b"k8s:enc:aesgcm:v1:key1:") for r in rows)
        blob = db.read_bytes() + (tmp_path / "data" / "state.db-wal").read_bytes()
        assert b"hunter2-very-secret" not in blob
        assert base64.b64encode(b"hunter2-very-secret") not in blob
    finally:
        s.stop()
    r = subprocess.run([sys.executable, "-m", "kubelite.cli.main", "encryption", "rotate", "--data-dir",
                        str(tmp_path / "data")], capture_output=True, text=True)
    assert r.returncode == 0 and "key2" in r.stdout
    s2 = ServerProcess(tmp_path / "data", port=s.port, args=CONTROL_PLANE_ONLY).start()
    try:
        from kubelite.testing import wait_until
        wait_until(lambda: all(row.startswith(b"k8s:enc:aesgcm:v1:key2:") for row in raw_rows(db)), timeout=20)
        got = json.loads(s2.kubectl("get", "secret", "topsecret", "-o", "json").stdout)
        assert base64.b64decode(got["data"]["password"]) == b"hunter2-very-secret"
    finally:
        s2.stop()
    subprocess.run([sys.executable, "-m", "kubelite.cli.main", "encryption", "prune", "--data-dir",
                    str(tmp_path / "data")], check=True, capture_output=True)
    s3 = ServerProcess(tmp_path / "data", port=s.port, args=CONTROL_PLANE_ONLY).start()
    try:
        got = json.loads(s3.kubectl("get", "secret", "topsecret", "-o", "json").stdout)
        assert base64.b64decode(got["data"]["password"]) == b"hunter2-very-secret"
    finally:
        s3.stop()
