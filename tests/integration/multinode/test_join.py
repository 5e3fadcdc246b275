"""Joining nodes against a real in-process control plane (TLS, certificate controllers):
bootstrap tokens, discovery with and without a CA pin, CSR approval and signing, refusals."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from cryptography import x509

from kubelite.bootstrap import tokenapi
from kubelite.bootstrap.join import JoinConfig, JoinError, join
from kubelite.bootstrap.tokens import BootstrapToken, Token, ca_cert_hash
from kubelite.client import Client, ClientConfig, load_kubeconfig
from kubelite.cluster.controlplane import ClusterControlPlane
from kubelite.controlplane.config import ServerConfig
from kubelite.machinery import errors
from kubelite.machinery.timeutil import rfc3339_micro
from kubelite.testing import free_port
from kubelite.testing.wait import async_wait_until


@contextlib.asynccontextmanager
async def control_plane(tmp_path):
    cfg = ServerConfig(data_dir=tmp_path / "server", bind_address="127.0.0.1", port=free_port(),
                       agent=False, scheduler=False, cluster_dns=False)
    cp = ClusterControlPlane(cfg, controller_options={"node_monitor_period": 1.0})
    task = asyncio.create_task(cp.run())
    ready = asyncio.ensure_future(cp.ready.wait())
    done, _ = await asyncio.wait([task, ready], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    assert ready in done, "control plane did not start"
    admin = Client.from_config(load_kubeconfig(cfg.kubeconfig_path))
    await async_wait_until(lambda: _exists(admin, "clusterrolebindings", "kubelite:kubelet-bootstrap"), timeout=15,
                           message="bootstrap RBAC")
    try:
        yield cp, admin
    finally:
        await admin.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _exists(admin, resource, name, namespace=None):
    try:
        await admin.get(resource, name, namespace)
        return True
    except errors.StatusError as e:
        if errors.is_not_found(e):
            return False
        raise


async def signed(admin, token_id):
    cm = await admin.get("configmaps", "cluster-info", "kube-public")
    return f"jws-kubeconfig-{token_id}" in (cm.get("data") or {})


def identity(path):
    doc = yaml.safe_load(path.read_text())
    cert = x509.load_pem_x509_certificate(base64.b64decode(doc["users"][0]["user"]["client-certificate-data"]))
    return cert.subject.rfc4514_string()


def test_join_with_token(tmp_path):
    async def run():
        async with control_plane(tmp_path) as (cp, admin):
            bt = await tokenapi.create_token(admin, ttl=timedelta(minutes=10), description="test")
            await async_wait_until(lambda: signed(admin, bt.token.id), timeout=15, message="cluster-info signed")
            url = cp.cfg.server_url
            kc = tmp_path / "n1.kubeconfig"
            path = await join(JoinConfig(server=url, token=str(bt.token), node_name="n1", kubeconfig=kc,
                                         timeout=30))
            assert path == kc and (kc.stat().st_mode & 0o777) == 0o600
            assert identity(kc) == "CN=system:node:n1,O=system:nodes"
            node = Client.from_config(load_kubeconfig(kc))
            try:
                review = await node.create("selfsubjectreviews.authentication.k8s.io",
                                           {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
                info = review["status"]["userInfo"]
                assert info["username"] == "system:node:n1" and "system:nodes" in info["groups"]
                # the node may register itself, and nothing an admin may do
                with pytest.raises(errors.StatusError) as e:
                    await node.list("secrets", "kube-system")
                assert e.value.code == 403
            finally:
                await node.close()
            # the CSR records who asked, as the server saw it
            csrs = (await admin.list("certificatesigningrequests"))["items"]
            assert [c["spec"]["username"] for c in csrs] == [f"system:bootstrap:{bt.token.id}"]
            assert "system:bootstrappers" in csrs[0]["spec"]["groups"]
            # a restarted agent reuses its credentials: no second CSR
            await join(JoinConfig(server=url, token="zzzzzz.zzzzzzzzzzzzzzzz", node_name="n1", kubeconfig=kc))
            assert len((await admin.list("certificatesigningrequests"))["items"]) == 1
            # pinned to the real CA: fine; pinned to another: refused before any token is sent
            ca_hash = ca_cert_hash(cp.creds.ca.cert_pem)
            await join(JoinConfig(server=url, token=str(bt.token), node_name="n2", kubeconfig=tmp_path / "n2",
                                  ca_cert_hashes=[ca_hash]))
            with pytest.raises(JoinError, match="does not match the pinned"):
                await join(JoinConfig(server=url, token=str(bt.token), node_name="n3", kubeconfig=tmp_path / "n3",
                                      ca_cert_hashes=["sha256:" + "0" * 64]))
            # k3s-style full token carries the pin
            full = f"K10{ca_hash[7:]}::{bt.token}"
            await join(JoinConfig(server=url, token=full, node_name="n4", kubeconfig=tmp_path / "n4"))

    asyncio.run(run())


def test_wrong_expired_and_malformed_tokens_are_refused(tmp_path):
    async def run():
        async with control_plane(tmp_path) as (cp, admin):
            bt = await tokenapi.create_token(admin, ttl=timedelta(minutes=10))
            await async_wait_until(lambda: signed(admin, bt.token.id), timeout=15)
            url = cp.cfg.server_url
            cfg = lambda tok, **kw: JoinConfig(server=url, token=tok, node_name="x",  # noqa: E731
                                               kubeconfig=tmp_path / "x.kubeconfig", timeout=10, **kw)
            wrong_secret = f"{bt.token.id}.{'a' * 16}"
            with pytest.raises(JoinError, match="join token is wrong"):
                await join(cfg(wrong_secret))
            with pytest.raises(JoinError, match="not valid for this cluster"):
                await join(cfg("abcdef.0123456789abcdef"))
            with pytest.raises(JoinError, match="invalid join token"):
                await join(cfg("not-a-token"))
            # pinned, an unknown token id has no signature to check: the API server refuses the token
            ca_hash = ca_cert_hash(cp.creds.ca.cert_pem)
            with pytest.raises(JoinError, match="refused the join token"):
                await join(cfg("abcdef.0123456789abcdef", ca_cert_hashes=[ca_hash]))
            # expired: the server says so (while the token cleaner has not removed it yet)
            past = BootstrapToken(Token.generate(), expiration=datetime.now(timezone.utc) + timedelta(seconds=2))
            await admin.create("secrets", past.to_secret(), "kube-system")
            await asyncio.sleep(2.5)
            raw = Client.from_config(ClientConfig(server=url, ca_data=cp.creds.ca.cert_pem, token=str(past.token)))
            try:
                with pytest.raises(errors.StatusError) as e:
                    await raw.list("certificatesigningrequests")
                assert e.value.code == 401
            finally:
                await raw.close()
            with pytest.raises(JoinError, match="refused|not valid"):
                await join(cfg(str(past.token), ca_cert_hashes=[ca_hash]))
            # the token cleaner deletes it
            await async_wait_until(lambda: _gone(admin, past.token), timeout=15, message="expired token deleted")
            assert not [c for c in (await admin.list("certificatesigningrequests"))["items"]]

    asyncio.run(run())


async def _gone(admin, token):
    try:
        await admin.get("secrets", token.secret_name, "kube-system")
        return False
    except errors.StatusError as e:
        return errors.is_not_found(e)


def test_second_agent_for_a_live_node_is_refused(tmp_path):
    async def run():
        async with control_plane(tmp_path) as (cp, admin):
            bt = await tokenapi.create_token(admin, ttl=timedelta(minutes=10))
            await async_wait_until(lambda: signed(admin, bt.token.id), timeout=15)
            url = cp.cfg.server_url
            await join(JoinConfig(server=url, token=str(bt.token), node_name="dup", kubeconfig=tmp_path / "a"))
            # the first agent registers its node and keeps its lease fresh
            await admin.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "dup"}})
            lease = await admin.create("leases.coordination.k8s.io", {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "dup", "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": "dup", "leaseDurationSeconds": 40, "renewTime": rfc3339_micro()}})
            with pytest.raises(JoinError, match="denied: NodeNameInUse: .*agent is alive"):
                await join(JoinConfig(server=url, token=str(bt.token), node_name="dup", kubeconfig=tmp_path / "b",
                                      timeout=20))
            assert not (tmp_path / "b").exists()
            # once the first agent is gone (lease expired) the name can be joined again
            lease["spec"]["renewTime"] = rfc3339_micro(datetime.now(timezone.utc) - timedelta(minutes=5))
            await admin.update("leases.coordination.k8s.io", lease)
            await join(JoinConfig(server=url, token=str(bt.token), node_name="dup", kubeconfig=tmp_path / "b",
                                  timeout=20))
            assert identity(tmp_path / "b") == "CN=system:node:dup,O=system:nodes"

    asyncio.run(run())


def test_bootstrapper_cannot_approve_its_own_request(tmp_path):
    async def run():
        async with control_plane(tmp_path) as (cp, admin):
            bt = await tokenapi.create_token(admin, ttl=timedelta(minutes=10))
            client = Client.from_config(ClientConfig(server=cp.cfg.server_url, ca_data=cp.creds.ca.cert_pem,
                                                     token=str(bt.token)))
            from cryptography.hazmat.primitives.asymmetric import ec

            from kubelite.bootstrap.join import build_csr

            try:
                body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                        "metadata": {"name": "sneaky"},
                        "spec": {"request": base64.b64encode(build_csr(ec.generate_private_key(ec.SECP256R1()),
                                                                       "x")).decode(),
                                 "signerName": "example.com/other", "usages": ["client auth"],
                                 "username": "system:admin", "groups": ["system:masters"]}}
                csr = await client.create("certificatesigningrequests", body)
                assert csr["spec"]["username"] == f"system:bootstrap:{bt.token.id}"  # stamped by the server
                assert "system:masters" not in csr["spec"]["groups"]
                csr.setdefault("status", {})["conditions"] = [{"type": "Approved", "status": "True",
                                                               "reason": "Me", "message": "me"}]
                with pytest.raises(errors.StatusError) as e:
                    await client.update_subresource("certificatesigningrequests", "sneaky", "approval", csr)
                assert e.value.code == 403
                # an admin may (kubectl certificate approve); Approved and Denied then stay exclusive
                await admin.update_subresource("certificatesigningrequests", "sneaky", "approval", csr)
                got = await admin.get("certificatesigningrequests", "sneaky")
                assert [c["type"] for c in got["status"]["conditions"]] == ["Approved"]
                got["status"]["conditions"].append({"type": "Denied", "status": "True", "reason": "No"})
                with pytest.raises(errors.StatusError) as e:
                    await admin.update_subresource("certificatesigningrequests", "sneaky", "approval", got)
                assert e.value.code == 422
            finally:
                await client.close()

    asyncio.run(run())
