"""The registry behind every ECR repository URI: one `kubelite.images.registry` (OCI Distribution)
in the service's process, answering for `<account>.dkr.ecr.<region>.amazonaws.com` over HTTPS
(port 443 on the service's registry address; the names resolve there through the hosts file;
the certificate comes from the service's own CA, `<data dir>/ecr/ca.crt`).

As ECR does it:
- Basic authentication as user `AWS` with a `GetAuthorizationToken` password (401 with
  `WWW-Authenticate: Basic realm="https://<host>/",service="ecr.amazonaws.com"` without one; an
  expired token gets 403 `DENIED` "Your authorization token has expired. Reauthenticate and try
  again."); the token's principal needs `ecr:BatchGetImage` to pull, `ecr:PutImage` (and the
  layer-upload actions) to push, by its policies or the repository's;
- a repository must exist (CreateRepository) before anything is pushed to it; tags of an
  `IMMUTABLE` repository cannot be overwritten;
- each account and region is its own namespace: the host picks it, and the registry's storage
  keeps `<account>/<region>/<repository>`; the catalog is not served.

`write_client_config` writes `<data dir>/ecr/registries.yaml`, a registries file (k3s shape) that
makes `kubelite login/push/pull` trust the service's CA for every ECR host it knows
(`export KUBELITE_REGISTRIES=<that file>`); `node_registries` is the same plus the node's own
credentials, for a managed node's pulls.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
import ssl
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from kubelite.client import pki
from kubelite.images.registry import errors as E
from kubelite.images.registry.app import _ROUTES, RegistryApp
from kubelite.images.registry.auth import RegistryAuth
from kubelite.images.registry.errors import RegistryError
from kubelite.images.registry.storage import RegistryStorage

from . import repositories as repos
from .tokens import EXPIRED, VALID, Tokens

log = logging.getLogger(__name__)

# The regions the registry's certificate names (`*.dkr.ecr.<region>.amazonaws.com`).
REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
           "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "ap-south-1", "ap-northeast-1",
           "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "sa-east-1", "me-south-1",
           "af-south-1")


def _action(kind: str, method: str) -> str:
    if method in ("GET", "HEAD"):
        return "ecr:BatchGetImage" if kind in ("manifest", "tags", "referrers") else "ecr:GetDownloadUrlForLayer"
    if method == "DELETE":
        return "ecr:BatchDeleteImage"
    return "ecr:PutImage" if kind == "manifest" else "ecr:UploadLayerPart"


class ECRRegistryApp(RegistryApp):
    def __init__(self, storage: RegistryStorage, *, repositories: repos.Repositories, tokens: Tokens):
        super().__init__(storage, RegistryAuth(mode="none"))
        self.repositories = repositories
        self.tokens = tokens

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        host = request.headers.get("Host") or request.host
        where = repos.parse_host(host)
        if where is None:
            raise RegistryError(E.DENIED, 403, f"{host} is not an ECR registry host "
                                               f"(<account>.dkr.ecr.<region>.amazonaws.com)")
        account, region = where
        principal = self._principal(request, host)
        tail = request.match_info.get("tail", "").lstrip("/")
        if tail == "":
            return await super().dispatch(request)
        if tail == "_catalog":
            raise RegistryError(E.UNSUPPORTED, 405, "The catalog is not available from ECR")
        kind, name, ref = "", "", ""
        for k, rx in _ROUTES:
            m = rx.match(tail)
            if m:
                kind, name, ref = k, m.group("name"), m.groupdict().get("ref", "")
                break
        if not name:
            raise RegistryError(E.NAME_UNKNOWN, 404, "unknown endpoint")
        repo = self.repositories.get(account, region, name)
        if repo is None:
            raise RegistryError(E.NAME_UNKNOWN, 404, f"The repository with name '{name}' does not exist in the "
                                                     f"registry with id '{account}'")
        action = _action(kind, request.method)
        if not self.repositories.allowed(principal, action, repo):
            raise RegistryError(E.DENIED, 403, f"User: {principal.arn} is not authorized to perform: {action} on "
                                               f"resource: {repo['repositoryArn']}")
        prefix = f"{account}/{region}/"
        sname = prefix + name
        if kind == "manifest" and request.method == "PUT" and repo["imageTagMutability"] == "IMMUTABLE" \
                and not ref.startswith("sha256:") \
                and await asyncio.to_thread(self.storage.resolve_tag, sname, ref) is not None:
            raise RegistryError(E.TAG_INVALID, 400, f"The image tag '{ref}' already exists in the '{name}' "
                                                    f"repository and cannot be overwritten because the repository "
                                                    f"is immutable.")
        request.match_info["tail"] = prefix + tail
        if "from" in request.query:  # cross-repository mounts stay inside the namespace
            request = request.clone(rel_url=request.rel_url.update_query({"from": prefix + request.query["from"]}))
        resp = await super().dispatch(request)
        for h in ("Location", "Link"):
            if h in resp.headers:
                resp.headers[h] = resp.headers[h].replace(f"/v2/{prefix}", "/v2/")
        return resp

    def _principal(self, request: web.Request, host: str) -> Any:
        challenge = {"WWW-Authenticate": f'Basic realm="https://{host}/",service="ecr.amazonaws.com"'}
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            raise RegistryError(E.UNAUTHORIZED, 401, "Not Authorized", headers=challenge)
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise RegistryError(E.UNAUTHORIZED, 401, "Not Authorized", headers=challenge) from None
        status, principal = self.tokens.check(user, password)
        if status == EXPIRED:
            raise RegistryError(E.DENIED, 403, "Your authorization token has expired. Reauthenticate and try again.")
        if status != VALID or principal is None:
            raise RegistryError(E.UNAUTHORIZED, 401, "Not Authorized", headers=challenge)
        return principal


class ECRRegistry:
    """The registry server: storage under `<data dir>/ecr/registry`, TLS from `<data dir>/ecr/`."""

    def __init__(self, data_dir: Path, repositories: repos.Repositories, tokens: Tokens, *, address: str,
                 port: int):
        self.dir = Path(data_dir) / "ecr"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.storage = RegistryStorage(self.dir / "registry")
        self.repositories = repositories
        self.tokens = tokens
        self.address = address
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def ca_file(self) -> Path:
        return self.dir / "ca.crt"

    def _tls(self) -> ssl.SSLContext:
        ca = pki.load_or_create_ca(self.dir, "ca", "kubelite-cloud-ecr-ca")
        names = [f"*.dkr.ecr.{r}.amazonaws.com" for r in REGIONS]
        ck = pki.load_or_issue(self.dir, "serving", ca, common_name="*.dkr.ecr.amazonaws.com", dns_names=names,
                               ip_addresses=[self.address], server=True)
        del ck
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.dir / "serving.crt"), str(self.dir / "serving.key"))
        return ctx

    async def start(self) -> None:
        ctx = await asyncio.to_thread(self._tls)
        app = ECRRegistryApp(self.storage, repositories=self.repositories, tokens=self.tokens).build()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.address, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=ctx).start()
        log.info("ECR registry listening on https://%s:%d", self.address, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def host_port(self, host: str) -> str:
        return host if self.port == 443 else f"{host}:{self.port}"

    def client_config(self, hosts: list[str]) -> dict:
        return {"configs": {self.host_port(h): {"tls": {"ca_file": str(self.ca_file)}} for h in sorted(hosts)}}

    def write_client_config(self, hosts: list[str]) -> Path:
        path = self.dir / "registries.yaml"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(self.client_config(hosts)))
        os.replace(tmp, path)
        return path

    def node_registries(self, host: str, password: str) -> dict:
        """A managed node's registries file: trust the CA and log in with the node's token."""
        hp = self.host_port(host)
        return {"configs": {hp: {"tls": {"ca_file": str(self.ca_file)},
                                 "auth": {"username": "AWS", "password": password}}}, "allow": [hp]}
