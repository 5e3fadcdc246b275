"""Docker's token endpoint (`GET/POST /token`), served inside the registry or on its own.

`issue_token` answers `GET ?service=&scope=…&account=` (Basic credentials, or none for an
anonymous token when the registry allows anonymous pulls) and the OAuth2 `POST` grants
(`password`, `refresh_token`). `TokenServer` is a separate authorization server on its own
address, like Docker Hub's `auth.docker.io`: give the registry's `RegistryAuth` its URL as
`realm` and both share the signing secret.
"""

from __future__ import annotations

import socket

from aiohttp import web

from . import errors as E
from .auth import RegistryAuth
from .errors import RegistryError


async def issue_token(auth: RegistryAuth, request: web.Request) -> web.StreamResponse:
    if auth.mode != "token":
        raise RegistryError(E.UNSUPPORTED, 404, "token auth is not enabled")
    scopes = request.query.getall("scope", [])
    subject: str | None = None
    if request.method == "POST":
        form = await request.post()
        grant = form.get("grant_type", "")
        scopes += str(form.get("scope", "")).split()
        if grant == "password":
            if not auth.check_password(str(form.get("username", "")), str(form.get("password", ""))):
                raise RegistryError(E.UNAUTHORIZED, 401, "invalid username or password")
            subject = str(form.get("username"))
        elif grant == "refresh_token":
            claims = auth.verify(str(form.get("refresh_token", "")))
            if not claims or not claims.get("sub"):
                raise RegistryError(E.UNAUTHORIZED, 401, "invalid refresh token")
            subject = claims["sub"]
        else:
            raise RegistryError(E.UNSUPPORTED, 400, f"unsupported grant_type {grant!r}")
    else:
        subject = auth.basic_user(request.headers.get("Authorization", ""))
    if subject is None and not auth.anonymous_pull:
        raise RegistryError(E.UNAUTHORIZED, 401, "authentication required",
                            headers={"WWW-Authenticate": f'Basic realm="{auth.service}"'})
    body = auth.issue(subject or "", auth.grant(subject, scopes))
    if subject and (request.query.get("offline_token") == "true" or request.method == "POST"):
        body["refresh_token"] = auth.issue(subject, [])["token"]
    return web.json_response(body)


class TokenServer:
    """A stand-alone token server on `host:port` (port 0 picks one); `.realm` is its token URL."""

    def __init__(self, auth: RegistryAuth, host: str = "127.0.0.1", port: int = 0) -> None:
        self.auth = auth
        self.host = host
        self.port = port
        self.requests: list[dict[str, object]] = []   # what clients asked for (tests look at it)
        self._runner: web.AppRunner | None = None

    @property
    def realm(self) -> str:
        return f"http://{self.host}:{self.port}/token"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"method": request.method, "scope": request.query.getall("scope", []),
                              "service": request.query.get("service", ""),
                              "basic": request.headers.get("Authorization", "").startswith("Basic ")})
        try:
            return await issue_token(self.auth, request)
        except RegistryError as e:
            return web.Response(status=e.status, body=e.body(), content_type="application/json", headers=e.headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/token", self._handle)
        app.router.add_route("POST", "/token", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TokenServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
