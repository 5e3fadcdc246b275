"""The registry's endpoints through aiohttp's in-process test client (dataplane §7)."""

import asyncio
import base64
import hashlib
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kubelite.images import oci
from kubelite.images.registry.app import RegistryApp
from kubelite.images.registry.auth import RegistryAuth
from kubelite.images.registry.storage import RegistryStorage

API = ("Docker-Distribution-API-Version", "registry/2.0")


def d(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def run(tmp_path, fn, auth=None):
    async def main():
        storage = RegistryStorage(tmp_path / "reg")
        async with TestClient(TestServer(RegistryApp(storage, auth).build())) as client:
            await fn(client, storage)

    asyncio.run(main())


async def error_code(resp):
    body = await resp.json()
    return body["errors"][0]["code"]


async def push_blob(client, name, data):
    r = await client.post(f"/v2/{name}/blobs/uploads/", params={"digest": d(data)}, data=data)
    assert r.status == 201, await r.text()
    return d(data)


def manifest_for(config_digest, config_size, layers, **extra):
    doc = {"schemaVersion": 2, "mediaType": oci.OCI_MANIFEST,
           "config": {"mediaType": oci.OCI_CONFIG, "digest": config_digest, "size": config_size},
           "layers": [{"mediaType": oci.OCI_LAYER_GZIP, "digest": dg, "size": n} for dg, n in layers]}
    doc.update(extra)
    return json.dumps(doc).encode()


async def push_image(client, name, tag="v1", layer=b"layer-bytes", config=b'{"os":"linux"}'):
    ld = await push_blob(client, name, layer)
    cd = await push_blob(client, name, config)
    m = manifest_for(cd, len(config), [(ld, len(layer))])
    r = await client.put(f"/v2/{name}/manifests/{tag}", data=m, headers={"Content-Type": oci.OCI_MANIFEST})
    assert r.status == 201, await r.text()
    return m, ld, cd


def test_base_and_api_version_header(tmp_path):
    async def t(client, storage):
        r = await client.get("/v2/")
        assert r.status == 200 and r.headers[API[0]] == API[1] and await r.json() == {}
        r = await client.get("/v2/nope/blobs/" + d(b"x"))
        assert r.status == 404 and r.headers[API[0]] == API[1]
        assert await error_code(r) == "BLOB_UNKNOWN"

    run(tmp_path, t)


def test_streamed_upload_then_get_head_range(tmp_path):
    data = bytes(range(256)) * 1000

    async def t(client, storage):
        r = await client.post("/v2/team/app/blobs/uploads/")
        assert r.status == 202 and r.headers["Docker-Upload-UUID"]
        loc = r.headers["Location"]
        r = await client.patch(loc, data=data, headers={"Content-Type": "application/octet-stream"})
        assert r.status == 202 and r.headers["Range"] == f"0-{len(data) - 1}"
        r = await client.put(r.headers["Location"], params={"digest": d(data)})
        assert r.status == 201 and r.headers["Docker-Content-Digest"] == d(data)
        r = await client.head(f"/v2/team/app/blobs/{d(data)}")
        assert r.status == 200 and int(r.headers["Content-Length"]) == len(data)
        r = await client.get(f"/v2/team/app/blobs/{d(data)}")
        assert await r.read() == data
        r = await client.get(f"/v2/team/app/blobs/{d(data)}", headers={"Range": "bytes=10-19"})
        assert r.status == 206 and await r.read() == data[10:20]

    run(tmp_path, t)


def test_chunked_upload_out_of_order_and_status(tmp_path):
    data = b"a" * 1000 + b"b" * 1000

    async def t(client, storage):
        loc = (await client.post("/v2/app/blobs/uploads/")).headers["Location"]
        r = await client.patch(loc, data=data[1000:], headers={"Content-Range": "1000-1999"})
        assert r.status == 416
        r = await client.patch(loc, data=data[:1000], headers={"Content-Range": "0-999"})
        assert r.status == 202
        r = await client.patch(loc, data=data[:1000], headers={"Content-Range": "0-999"})  # retry old chunk
        assert r.status == 416
        r = await client.get(loc)
        assert r.status == 204 and r.headers["Range"] == "0-999" and r.headers["Location"]
        r = await client.patch(loc, data=data[1000:], headers={"Content-Range": "1000-1999"})
        assert r.status == 202
        r = await client.put(loc, params={"digest": d(data)})
        assert r.status == 201
        r = await client.get(f"/v2/app/blobs/{d(data)}")
        assert await r.read() == data

    run(tmp_path, t)


def test_put_with_body_and_cancel(tmp_path):
    async def t(client, storage):
        loc = (await client.post("/v2/app/blobs/uploads/")).headers["Location"]
        r = await client.put(loc, params={"digest": d(b"body")}, data=b"body")
        assert r.status == 201
        loc = (await client.post("/v2/app/blobs/uploads/")).headers["Location"]
        assert (await client.delete(loc)).status == 204
        r = await client.get(loc)
        assert r.status == 404 and await error_code(r) == "BLOB_UPLOAD_UNKNOWN"

    run(tmp_path, t)


def test_wrong_digest_is_rejected_and_nothing_stored(tmp_path):
    async def t(client, storage):
        wrong = d(b"something else")
        r = await client.post("/v2/app/blobs/uploads/", params={"digest": wrong}, data=b"actual")
        assert r.status == 400 and await error_code(r) == "DIGEST_INVALID"
        loc = (await client.post("/v2/app/blobs/uploads/")).headers["Location"]
        await client.patch(loc, data=b"actual")
        r = await client.put(loc, params={"digest": wrong})
        assert r.status == 400 and await error_code(r) == "DIGEST_INVALID"
        assert storage.content.walk_nowait() == []
        assert not storage.has_blob(d(b"actual"))
        assert list((tmp_path / "reg" / "uploads").iterdir()) == []

    run(tmp_path, t)


def test_interrupted_upload_leaves_no_blob(tmp_path):
    async def t(client, storage):
        loc = (await client.post("/v2/app/blobs/uploads/")).headers["Location"]

        async def body():
            yield b"x" * 100_000
            raise ConnectionResetError("client went away")

        with pytest.raises(Exception):
            await client.patch(loc, data=body())
        assert storage.content.walk_nowait() == []
        # the session is still resumable from what arrived
        r = await client.get(loc)
        assert r.status == 204

    run(tmp_path, t)


def test_manifest_roundtrip_tags_and_missing_blobs(tmp_path):
    async def t(client, storage):
        m, ld, cd = await push_image(client, "team/app", "v1")
        r = await client.get("/v2/team/app/manifests/v1", headers={"Accept": oci.OCI_MANIFEST})
        assert r.status == 200 and await r.read() == m
        assert r.headers["Content-Type"] == oci.OCI_MANIFEST and r.headers["Docker-Content-Digest"] == d(m)
        r = await client.head(f"/v2/team/app/manifests/{d(m)}")
        assert r.status == 200 and int(r.headers["Content-Length"]) == len(m)
        # digest reference must match the body
        r = await client.put(f"/v2/team/app/manifests/{d(b'other')}", data=m,
                             headers={"Content-Type": oci.OCI_MANIFEST})
        assert r.status == 400 and await error_code(r) == "DIGEST_INVALID"
        # missing referenced blob
        bad = manifest_for(cd, 14, [(d(b"never pushed"), 12)])
        r = await client.put("/v2/team/app/manifests/bad", data=bad, headers={"Content-Type": oci.OCI_MANIFEST})
        assert r.status == 400 and await error_code(r) == "MANIFEST_BLOB_UNKNOWN"
        r = await client.get("/v2/team/app/manifests/nope")
        assert r.status == 404 and await error_code(r) == "MANIFEST_UNKNOWN"
        # extra tags with ?tag=
        r = await client.put(f"/v2/team/app/manifests/{d(m)}", params=[("tag", "a"), ("tag", "b")], data=m,
                             headers={"Content-Type": oci.OCI_MANIFEST})
        assert r.status == 201
        r = await client.get("/v2/team/app/tags/list")
        assert (await r.json())["tags"] == ["a", "b", "v1"]

    run(tmp_path, t)


def test_tags_pagination_and_catalog(tmp_path):
    async def t(client, storage):
        m, _, _ = await push_image(client, "app", "t0")
        for tag in ["t3", "t1", "t2"]:
            await client.put(f"/v2/app/manifests/{tag}", data=m, headers={"Content-Type": oci.OCI_MANIFEST})
        r = await client.get("/v2/app/tags/list", params={"n": "2"})
        assert (await r.json())["tags"] == ["t0", "t1"]
        assert r.headers["Link"] == '</v2/app/tags/list?n=2&last=t1>; rel="next"'
        r = await client.get("/v2/app/tags/list", params={"n": "2", "last": "t1"})
        assert (await r.json())["tags"] == ["t2", "t3"] and "Link" not in r.headers
        r = await client.get("/v2/app/tags/list", params={"n": "0"})
        assert (await r.json())["tags"] == [] and "Link" not in r.headers
        r = await client.get("/v2/missing/tags/list")
        assert r.status == 404 and await error_code(r) == "NAME_UNKNOWN"
        await push_image(client, "other/x")
        r = await client.get("/v2/_catalog")
        assert (await r.json())["repositories"] == ["app", "other/x"]

    run(tmp_path, t)


def test_deletes(tmp_path):
    async def t(client, storage):
        m, ld, _ = await push_image(client, "app", "v1")
        await client.put("/v2/app/manifests/v2", data=m, headers={"Content-Type": oci.OCI_MANIFEST})
        assert (await client.delete("/v2/app/manifests/v2")).status == 202
        assert (await client.get("/v2/app/manifests/v2")).status == 404
        assert (await client.get("/v2/app/manifests/v1")).status == 200
        assert (await client.delete(f"/v2/app/manifests/{d(m)}")).status == 202
        assert (await client.get("/v2/app/manifests/v1")).status == 404
        assert (await client.get(f"/v2/app/manifests/{d(m)}")).status == 404
        assert (await client.get("/v2/app/tags/list")).status == 200
        assert (await client.delete(f"/v2/app/blobs/{ld}")).status == 202
        assert (await client.get(f"/v2/app/blobs/{ld}")).status == 404
        assert (await client.delete(f"/v2/app/blobs/{ld}")).status == 404

    run(tmp_path, t)


def test_cross_repo_mount(tmp_path):
    async def t(client, storage):
        _, ld, _ = await push_image(client, "src/app")
        r = await client.post("/v2/dst/app/blobs/uploads/", params={"mount": ld, "from": "src/app"})
        assert r.status == 201 and r.headers["Location"] == f"/v2/dst/app/blobs/{ld}"
        assert (await client.head(f"/v2/dst/app/blobs/{ld}")).status == 200
        r = await client.post("/v2/third/blobs/uploads/", params={"mount": ld})  # no from: automatic
        assert r.status == 201
        r = await client.post("/v2/dst/app/blobs/uploads/", params={"mount": d(b"unknown"), "from": "src/app"})
        assert r.status == 202 and "/blobs/uploads/" in r.headers["Location"]
        assert (await client.head(f"/v2/fourth/blobs/{ld}")).status == 404  # not visible without a mount

    run(tmp_path, t)


def test_referrers_and_index(tmp_path):
    async def t(client, storage):
        m, _, _ = await push_image(client, "app", "v1")
        subject = {"mediaType": oci.OCI_MANIFEST, "digest": d(m), "size": len(m)}
        await push_blob(client, "app", oci.EMPTY_JSON)
        art = json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_MANIFEST, "artifactType": "application/x-sbom",
                          "config": {"mediaType": oci.OCI_EMPTY, "digest": oci.EMPTY_DIGEST, "size": 2},
                          "layers": [], "subject": subject, "annotations": {"k": "v"}}).encode()
        r = await client.put(f"/v2/app/manifests/{d(art)}", data=art, headers={"Content-Type": oci.OCI_MANIFEST})
        assert r.status == 201 and r.headers["OCI-Subject"] == d(m)
        r = await client.get(f"/v2/app/referrers/{d(m)}")
        body = await r.json()
        assert r.status == 200 and r.headers["Content-Type"] == oci.OCI_INDEX
        assert [x["digest"] for x in body["manifests"]] == [d(art)]
        assert body["manifests"][0]["artifactType"] == "application/x-sbom"
        r = await client.get(f"/v2/app/referrers/{d(m)}", params={"artifactType": "other"})
        assert (await r.json())["manifests"] == [] and r.headers["OCI-Filters-Applied"] == "artifactType"
        r = await client.get(f"/v2/app/referrers/{d(b'nothing')}")
        assert r.status == 200 and (await r.json())["manifests"] == []
        index = json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": [
            {**subject, "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
        r = await client.put("/v2/app/manifests/multi", data=index, headers={"Content-Type": oci.OCI_INDEX})
        assert r.status == 201
        r = await client.get("/v2/app/manifests/multi")
        assert r.headers["Content-Type"] == oci.OCI_INDEX
        missing = json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": [
            {"mediaType": oci.OCI_MANIFEST, "digest": d(b"nope"), "size": 4}]}).encode()
        r = await client.put("/v2/app/manifests/broken", data=missing, headers={"Content-Type": oci.OCI_INDEX})
        assert r.status == 400 and await error_code(r) == "MANIFEST_BLOB_UNKNOWN"

    run(tmp_path, t)


def test_docker_media_types_and_invalid_input(tmp_path):
    async def t(client, storage):
        ld = await push_blob(client, "app", b"l")
        cd = await push_blob(client, "app", b"{}")
        m = json.dumps({"schemaVersion": 2, "mediaType": oci.DOCKER_MANIFEST,
                        "config": {"mediaType": oci.DOCKER_CONFIG, "digest": cd, "size": 2},
                        "layers": [{"mediaType": oci.DOCKER_LAYER_GZIP, "digest": ld, "size": 1}]}).encode()
        r = await client.put("/v2/app/manifests/docker", data=m, headers={"Content-Type": oci.DOCKER_MANIFEST})
        assert r.status == 201
        r = await client.get("/v2/app/manifests/docker")
        assert r.headers["Content-Type"] == oci.DOCKER_MANIFEST
        r = await client.put("/v2/app/manifests/x", data=b"not json", headers={"Content-Type": oci.OCI_MANIFEST})
        assert r.status == 400 and await error_code(r) == "MANIFEST_INVALID"
        r = await client.put("/v2/app/manifests/y", data=m, headers={"Content-Type": oci.OCI_MANIFEST})
        assert r.status == 400 and await error_code(r) == "MANIFEST_INVALID"
        r = await client.get("/v2/Bad_Name/tags/list")
        assert r.status == 400 and await error_code(r) == "NAME_INVALID"
        r = await client.get("/v2/app/blobs/sha256:zz")
        assert r.status == 400 and await error_code(r) == "DIGEST_INVALID"

    run(tmp_path, t)


def test_sha512_upload(tmp_path):
    data = b"sha512 content"
    dg = "sha512:" + hashlib.sha512(data).hexdigest()

    async def t(client, storage):
        r = await client.post("/v2/app/blobs/uploads/", params={"digest-algorithm": "sha512"})
        assert r.status == 202
        r = await client.put(r.headers["Location"], params={"digest": dg}, data=data)
        assert r.status == 201
        r = await client.get(f"/v2/app/blobs/{dg}")
        assert await r.read() == data

    run(tmp_path, t)


def basic(user, pw):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}


def test_basic_auth(tmp_path):
    async def t(client, storage):
        r = await client.get("/v2/")
        assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert await error_code(r) == "UNAUTHORIZED"
        r = await client.post("/v2/app/blobs/uploads/", params={"digest": d(b"x")}, data=b"x")
        assert r.status == 401 and storage.content.walk_nowait() == []
        assert (await client.get("/v2/", headers=basic("u", "wrong"))).status == 401
        r = await client.post("/v2/app/blobs/uploads/", params={"digest": d(b"x")}, data=b"x", headers=basic("u", "p"))
        assert r.status == 201

    run(tmp_path, t, RegistryAuth(mode="basic", users={"u": "p"}))


def test_token_auth_flow(tmp_path):
    async def t(client, storage):
        r = await client.post("/v2/team/app/blobs/uploads/")
        assert r.status == 401
        challenge = r.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="http://') and 'service="kubelite-registry"' in challenge
        assert 'scope="repository:team/app:pull,push"' in challenge
        # anonymous token: refused (no anonymous pull)
        r = await client.get("/token", params={"service": "kubelite-registry", "scope": "repository:team/app:pull"})
        assert r.status == 401
        r = await client.get("/token", params={"scope": "repository:team/app:pull,push"}, headers=basic("u", "bad"))
        assert r.status == 401
        r = await client.get("/token", params=[("service", "kubelite-registry"),
                                                ("scope", "repository:team/app:pull,push"),
                                                ("scope", "repository:other:pull"), ("account", "u")],
                             headers=basic("u", "p"))
        body = await r.json()
        assert r.status == 200 and body["token"] == body["access_token"] and body["expires_in"] > 0
        bearer = {"Authorization": "Bearer " + body["token"]}
        r = await client.post("/v2/team/app/blobs/uploads/", headers=bearer)
        assert r.status == 202
        # a token for one repository does not open another
        r = await client.post("/v2/elsewhere/blobs/uploads/", headers=bearer)
        assert r.status == 401 and 'scope="repository:elsewhere:pull,push"' in r.headers["WWW-Authenticate"]
        r = await client.get("/v2/", headers={"Authorization": "Bearer forged.token"})
        assert r.status == 401

    run(tmp_path, t, RegistryAuth(mode="token", users={"u": "p"}))


def test_token_anonymous_pull(tmp_path):
    async def t(client, storage):
        r = await client.get("/token", params={"scope": "repository:app:pull,push"})
        body = await r.json()
        assert r.status == 200
        bearer = {"Authorization": "Bearer " + body["token"]}
        assert (await client.get("/v2/app/tags/list", headers=bearer)).status == 404  # allowed, repo missing
        assert (await client.post("/v2/app/blobs/uploads/", headers=bearer)).status == 401  # no push

    run(tmp_path, t, RegistryAuth(mode="token", users={"u": "p"}, anonymous_pull=True))
