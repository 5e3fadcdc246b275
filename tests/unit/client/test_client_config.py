import asyncio
import base64
import ssl
import sys
import textwrap

import pytest
import yaml

from kubelite.client.auth import Authenticator
from kubelite.client.config import ClientConfig, ConfigError, in_cluster_config, load_kubeconfig
from kubelite.client.transport import build_ssl_context
from kubelite.machinery.clock import FakeClock


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_kubeconfig(path, *, clusters, users, contexts, current="") -> str:
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": current,
           "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
           "users": [{"name": n, "user": u} for n, u in users.items()],
           "contexts": [{"name": n, "context": c} for n, c in contexts.items()]}
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_kubeconfig_with_cert_data_and_token(tmp_path, pki):
    path = write_kubeconfig(
        tmp_path / "config",
        clusters={"local": {"server": "https://127.0.0.1:6443/", "certificate-authority-data": b64(pki["ca"]),
                            "tls-server-name": "kubernetes.default.svc"}},
        users={"admin": {"client-certificate-data": b64(pki["client_cert"]),
                         "client-key-data": b64(pki["client_key"]), "token": "abc123"}},
        contexts={"admin@local": {"cluster": "local", "user": "admin", "namespace": "team-a"}},
        current="admin@local")
    cfg = load_kubeconfig(path)
    assert cfg.server == "https://127.0.0.1:6443"
    assert cfg.ca_data == pki["ca"]
    assert cfg.cert_data == pki["client_cert"]
    assert cfg.key_data == pki["client_key"]
    assert cfg.token == "abc123"
    assert cfg.namespace == "team-a"
    assert cfg.tls_server_name == "kubernetes.default.svc"
    assert not cfg.insecure
    ctx = build_ssl_context(cfg)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert asyncio.run(Authenticator(cfg).headers()) == {"Authorization": "Bearer abc123"}


def test_kubeconfig_relative_files_and_context_choice(tmp_path, pki):
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(pki["ca"])
    (tmp_path / "token").write_text("from-file\n")
    path = write_kubeconfig(
        tmp_path / "config",
        clusters={"a": {"server": "https://a:6443", "certificate-authority": "pki/ca.crt"},
                  "b": {"server": "http://b:8080", "insecure-skip-tls-verify": True}},
        users={"u": {"tokenFile": "token"}, "basic": {"username": "jane", "password": "pw"}},
        contexts={"ca": {"cluster": "a", "user": "u"}, "cb": {"cluster": "b", "user": "basic"}},
        current="ca")
    a = load_kubeconfig(path)
    assert a.ca_file == str(tmp_path / "pki" / "ca.crt")
    assert a.token_file == str(tmp_path / "token")
    assert a.namespace == "default"
    assert asyncio.run(Authenticator(a).headers()) == {"Authorization": "Bearer from-file"}
    b = load_kubeconfig(path, context="cb")
    assert b.insecure and b.server == "http://b:8080"
    assert asyncio.run(Authenticator(b).headers()) == {"Authorization": "Basic " + b64(b"jane:pw")}


@pytest.mark.parametrize("context,message", [
    ("nope", 'context "nope" does not exist'),
    ("broken", 'cluster "missing" does not exist'),
], ids=["unknown-context", "unknown-cluster"])
def test_kubeconfig_errors(tmp_path, context, message):
    path = write_kubeconfig(tmp_path / "config", clusters={"c": {"server": "https://x"}}, users={},
                            contexts={"ok": {"cluster": "c"}, "broken": {"cluster": "missing"}})
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(path, context=context)


def test_kubeconfig_missing_file_and_no_current_context(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_kubeconfig(tmp_path / "absent")
    path = write_kubeconfig(tmp_path / "config", clusters={}, users={}, contexts={})
    with pytest.raises(ConfigError, match="current-context is not set"):
        load_kubeconfig(path)


def test_kubeconfig_env_merges_files_first_wins(tmp_path, monkeypatch):
    one = write_kubeconfig(tmp_path / "one", clusters={"c": {"server": "https://first"}}, users={},
                           contexts={"x": {"cluster": "c"}}, current="x")
    two = write_kubeconfig(tmp_path / "two", clusters={"c": {"server": "https://second"},
                                                       "d": {"server": "https://d"}},
                           users={}, contexts={"y": {"cluster": "d"}}, current="y")
    monkeypatch.setenv("KUBECONFIG", f"{one}:{tmp_path / 'missing'}:{two}")
    assert load_kubeconfig().server == "https://first"
    assert load_kubeconfig(context="y").server == "https://d"


def test_exec_plugin_token_is_cached_until_expiry(tmp_path):
    counter = tmp_path / "calls"
    script = tmp_path / "plugin.py"
    script.write_text(textwrap.dedent(f"""
        import json, os, pathlib
        p = pathlib.Path({str(counter)!r})
        n = int(p.read_text()) + 1 if p.exists() else 1
        p.write_text(str(n))
        info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
        assert info["kind"] == "ExecCredential"
        print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential",
                          "status": {{"token": os.environ["PREFIX"] + str(n),
                                     "expirationTimestamp": "2025-01-01T00:10:00Z"}}}}))
    """))
    path = write_kubeconfig(
        tmp_path / "config", clusters={"c": {"server": "https://x"}},
        users={"u": {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                              "args": [str(script)], "env": [{"name": "PREFIX", "value": "tok-"}],
                              "interactiveMode": "Never"}}},
        contexts={"x": {"cluster": "c", "user": "u"}}, current="x")
    cfg = load_kubeconfig(path)
    assert cfg.exec is not None and cfg.exec.env == {"PREFIX": "tok-"}
    clock = FakeClock()                  # starts at 2025-01-01T00:00:00Z

    async def main():
        auth = Authenticator(cfg, clock=clock)
        assert await auth.token() == "tok-1"
        assert await auth.token() == "tok-1"
        clock.step(600)
        assert await auth.token() == "tok-2"
        auth.invalidate()
        assert await auth.token() == "tok-3"

    asyncio.run(main())


def test_token_file_is_reread_every_minute(tmp_path):
    token = tmp_path / "token"
    token.write_text("t1")
    clock = FakeClock()

    async def main():
        auth = Authenticator(ClientConfig(server="https://x", token_file=str(token)), clock=clock)
        assert await auth.token() == "t1"
        token.write_text("t2")
        clock.step(30)
        assert await auth.token() == "t1"
        clock.step(31)
        assert await auth.token() == "t2"
        token.unlink()
        clock.step(61)
        assert await auth.token() == "t2", "a failed re-read keeps the last good token"

    asyncio.run(main())


def test_in_cluster_config(tmp_path, pki):
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_bytes(pki["ca"])
    (tmp_path / "namespace").write_text("kube-system\n")
    cfg = in_cluster_config(environ={"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"},
                            root=tmp_path)
    assert cfg.server == "https://10.96.0.1:443"
    assert cfg.token_file == str(tmp_path / "token")
    assert cfg.ca_file == str(tmp_path / "ca.crt")
    assert cfg.namespace == "kube-system"
    v6 = in_cluster_config(environ={"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"},
                           root=tmp_path)
    assert v6.server == "https://[fd00::1]:443"
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        in_cluster_config(environ={}, root=tmp_path)
