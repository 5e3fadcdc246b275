"""Image commands, Docker-style: build, push, pull, images, tag, rmi, inspect, history, save, load,
prune, login, logout, and `registry` (serve an OCI Distribution registry).

The image store root comes from `--root` or `KUBELITE_IMAGE_ROOT` (default
/var/lib/kubelite/images). Transfers and builds show rich progress; `--progress plain` prints
BuildKit-style lines.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from kubelite.images.errors import ImageError
from kubelite.images.interface import ImageNotFound
from kubelite.images.reference import familiar, parse_reference
from kubelite.images.store import DEFAULT_ROOT, LocalImageStore

console = Console(highlight=False, emoji=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def print_table(headers: list[str], rows: list[tuple[str, ...]]) -> None:
    """Columns padded like Docker's tabwriter (three spaces between columns)."""
    widths = [max([len(h), *(len(str(r[i])) for r in rows)]) for i, h in enumerate(headers)]
    for r in [tuple(headers), *rows]:
        click.echo("   ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())

root_option = click.option("--root", "root", envvar="KUBELITE_IMAGE_ROOT", default=DEFAULT_ROOT, show_default=True,
                           type=click.Path(file_okay=False), help="Image store directory (env KUBELITE_IMAGE_ROOT).")


registries_option = click.option(
    "--registries", "registries", envvar="KUBELITE_REGISTRIES", default=None, type=click.Path(),
    help="Registries file (k3s registries.yaml shape, or a containerd hosts directory): mirrors, rewrites, "
         "insecure registries, credentials (env KUBELITE_REGISTRIES; default /etc/kubelite/registries.yaml).")


def _hosts(registries: str | None) -> Any:
    from kubelite.images.distribution import RegistryHosts
    from kubelite.images.distribution.registries import RegistriesFile

    hosts = RegistryHosts.from_file(registries)
    if isinstance(hosts.registries, RegistriesFile) and hosts.registries.error:
        _fail(hosts.registries.error)
    return hosts


def _warn(message: str) -> None:
    err_console.print(f"Warning: {message}", markup=False)


def _platform(value: str | None) -> dict[str, str] | None:
    from kubelite.images import oci

    if not value:
        return None
    try:
        return oci.parse_platform(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--platform") from None


def _store(root: str) -> LocalImageStore:
    """The store, refusing to remove images whose layers a mounted overlay uses."""
    from kubelite.images.inuse import OverlayUsage

    usage: OverlayUsage | None = None

    async def in_use(image_id: str) -> str | None:
        return await usage(image_id) if usage is not None else None

    store = LocalImageStore(root, in_use=in_use)
    usage = OverlayUsage(store)
    return store


def _fail(msg: str, code: int = 1) -> None:
    err_console.print(f"Error: {msg}", markup=False)
    sys.exit(code)


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except ImageNotFound as e:
        _fail(f"{e.args[0] if e.args else e}")
    except ImageError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        sys.exit(130)


def _parse_or_fail(name: str) -> Any:
    """A reference, or Docker's message and exit status 1 (`invalid reference format`)."""
    try:
        return parse_reference(name)
    except ImageError as e:
        _fail(str(e))


def human_size(n: float) -> str:
    """Docker's decimal sizes: 1.04MB, 5.58kB, 0B."""
    units = ["B", "kB", "MB", "GB", "TB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000
        i += 1
    return f"{n:.3g}{units[i]}" if i else f"{int(n)}B"


def human_ago(created: str) -> str:
    if not created:
        return "N/A"
    try:
        t = dt.datetime.fromisoformat(created.replace("Z", "+00:00")[:26] + ("+00:00" if created.endswith("Z")
                                                                                else ""))
    except ValueError:
        try:
            t = dt.datetime.strptime(created[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
        except ValueError:
            return created
    s = (dt.datetime.now(dt.timezone.utc) - t).total_seconds()
    for unit, secs in (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400), ("day", 86400),
                       ("hour", 3600), ("minute", 60)):
        if s >= 2 * secs or (unit in ("hour", "minute") and s >= secs):
            n = int(s // secs)
            return f"{'About an' if n == 1 and unit == 'hour' else n} {unit}{'s' if n != 1 else ''} ago"
    return "Less than a second ago" if s < 1 else f"{int(s)} seconds ago"


# -- progress renderers --

class TransferBars:
    """Rich bars per layer for push and pull."""

    def __init__(self) -> None:
        self.bars = Progress(TextColumn("{task.fields[key]}: {task.description:<22}"), BarColumn(),
                             DownloadColumn(binary_units=False), TransferSpeedColumn(), console=console,
                             transient=False)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> TransferBars:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def _task(self, key: str, total: int = 0) -> Any:
        if key not in self.tasks:
            self.tasks[key] = self.bars.add_task("Waiting", key=key, total=total or None)
        return self.tasks[key]

    def start(self, key: str, description: str, total: int = 0) -> None:
        t = self._task(key, total)
        self.bars.update(t, description=description, total=total or None)

    def advance(self, key: str, n: int) -> None:
        self.bars.advance(self._task(key), n)

    def finish(self, key: str, status: str) -> None:
        t = self._task(key)
        total = self.bars.tasks[t].total if t in self.bars.task_ids else None
        self.bars.update(t, description=status, completed=total or 0, total=total or 1)
        if not total:
            self.bars.update(t, completed=1)

    def log(self, line: str) -> None:
        self.bars.console.print(line, markup=False)


class BuildOutput:
    """`--progress plain` prints BuildKit-style lines; `auto` adds colour and a spinner on a terminal."""

    def __init__(self, mode: str) -> None:
        self.plain = mode == "plain" or (mode == "auto" and not console.is_terminal)
        self.status: Any = None

    def __enter__(self) -> BuildOutput:
        if not self.plain:
            self.status = console.status("building")
            self.status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.stop()

    def start(self, key: str, description: str, total: int = 0) -> None:
        pass

    def advance(self, key: str, n: int) -> None:
        pass

    def finish(self, key: str, status: str) -> None:
        pass

    def log(self, line: str) -> None:
        if self.plain:
            click.echo(line)
            return
        style = None
        head = line.split(" ", 2)
        if len(head) > 1 and head[1].startswith("["):
            style = "bold blue"
            self.status.update(line)
        elif line.endswith(" CACHED"):
            style = "cyan"
        elif " DONE " in line:
            style = "green"
        elif line.startswith("#"):
            style = "dim"
        console.print(line, style=style, markup=False)


# -- commands --

@click.command()
@root_option
@click.option("-t", "--tag", "tags", multiple=True, help="Name and optionally a tag (name:tag).")
@click.option("-f", "--file", "dockerfile", help="Name of the Dockerfile (default: CONTEXT/Dockerfile; - for stdin).")
@click.option("--build-arg", "build_args", multiple=True, help="Set a build-time variable (KEY=VALUE).")
@click.option("--target", default="", help="Build the stage of this name.")
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--progress", type=click.Choice(["auto", "plain"]), default="auto", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Print only the image ID.")
@click.option("--platform", "platform", default=None, help="Platform of base images to pull (os/arch[/variant]).")
@registries_option
@click.argument("context", type=click.Path(exists=True, file_okay=False))
def build(root: str, tags: tuple[str, ...], dockerfile: str | None, build_args: tuple[str, ...], target: str,
          no_cache: bool, progress: str, quiet: bool, platform: str | None, registries: str | None,
          context: str) -> None:
    """Build an image from a Dockerfile."""
    from kubelite.images.builder import BuildError, BuildOptions, Builder
    from kubelite.images.distribution import Transfer, pull
    from kubelite.images.progress import NullProgress

    args: dict[str, str] = {}
    for a in build_args:
        k, sep, v = a.partition("=")
        if not sep:
            v = os.environ.get(k, "")
        args[k] = v
    for t in tags:
        try:
            parse_reference(t)
        except ImageError as e:
            _fail(f'invalid argument "{t}" for "-t, --tag" flag: {e}')
    text = sys.stdin.read() if dockerfile == "-" else None
    store = _store(root)
    hosts = _hosts(registries)
    want = _platform(platform)

    async def go() -> None:
        out = NullProgress() if quiet else BuildOutput(progress)
        builder = Builder(store, pull=lambda ref: pull(store, ref, Transfer(hosts=hosts, progress=out, platform=want,
                                                                            warn=_warn)))
        opts = BuildOptions(Path(context), Path(dockerfile) if dockerfile and dockerfile != "-" else None, text,
                            list(tags), args, target, no_cache, out)
        if isinstance(out, BuildOutput):
            with out:
                result = await builder.build(opts)
        else:
            result = await builder.build(opts)
        click.echo(result.image.id)

    try:
        asyncio.run(go())
    except BuildError as e:
        err_console.print(f"ERROR: failed to solve: {e.message}", markup=False)
        lines = []
        if e.line:
            try:
                lines = (text if text is not None else
                         Path(dockerfile or os.path.join(context, "Dockerfile")).read_text()).splitlines()
            except OSError:
                pass
            err_console.print(f"{e.filename}:{e.line}", markup=False)
            snippet = e.snippet(lines)
            if snippet:
                err_console.print(snippet, markup=False)
        sys.exit(1)
    except ImageError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        sys.exit(130)


@click.command()
@root_option
@click.option("-q", "--quiet", is_flag=True)
@registries_option
@click.argument("name")
def push(root: str, quiet: bool, registries: str | None, name: str) -> None:
    """Upload an image to a registry."""
    from kubelite.images.distribution import Transfer
    from kubelite.images.distribution import push as do_push
    from kubelite.images.progress import NullProgress

    store = _store(root)
    ref = _parse_or_fail(name)
    hosts = _hosts(registries)
    if not quiet:
        click.echo(f"The push refers to repository [{ref.name}]")

    async def go() -> None:
        if quiet:
            r = await do_push(store, name, Transfer(hosts=hosts, progress=NullProgress()))
            click.echo(r.digest)
            return
        with TransferBars() as bars:
            await do_push(store, name, Transfer(hosts=hosts, progress=bars))

    _run(go())


@click.command()
@root_option
@click.option("-q", "--quiet", is_flag=True)
@click.option("--platform", "platform", default=None,
              help="Pick this platform from a multi-platform image (os/arch[/variant]; default: this host's).")
@registries_option
@click.argument("name")
def pull(root: str, quiet: bool, platform: str | None, registries: str | None, name: str) -> None:
    """Download an image from a registry."""
    from kubelite.images.distribution import Transfer
    from kubelite.images.distribution import pull as do_pull
    from kubelite.images.progress import NullProgress

    store = _store(root)
    ref = _parse_or_fail(name)
    hosts = _hosts(registries)
    want = _platform(platform)

    async def go() -> None:
        if quiet:
            await do_pull(store, name, Transfer(hosts=hosts, progress=NullProgress(), platform=want, warn=_warn))
        else:
            if ref.tag and not ref.digest:
                click.echo(f"{ref.tag}: Pulling from {ref.familiar_name}")
            with TransferBars() as bars:
                await do_pull(store, name, Transfer(hosts=hosts, progress=bars, platform=want, warn=_warn))
        click.echo(str(ref))

    _run(go())


@click.command()
@root_option
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.option("--no-trunc", is_flag=True)
@click.argument("repository", required=False)
def images(root: str, quiet: bool, digests: bool, no_trunc: bool, repository: str | None) -> None:
    """List images."""
    store = _store(root)
    imgs = _run(store.list())
    rows = []
    for img in imgs:
        names = img.repo_tags or [""]
        for n in names:
            if n:
                r = parse_reference(n)
                repo, tag = r.familiar_name, r.tag
            else:
                repo, tag = "<none>", "<none>"
            if repository and repo != familiar(repository).split(":")[0] and repo != repository:
                continue
            digest = next((d.partition("@")[2] for d in img.repo_digests if n and d.startswith(
                parse_reference(n).name + "@")), "<none>")
            image_id = img.id if no_trunc else img.id.removeprefix("sha256:")[:12]
            rows.append((repo, tag, digest, image_id, img.config.get("created", ""), img.size))
    rows.sort(key=lambda r: (r[0], r[1]))
    if quiet:
        seen = []
        for r in rows:
            if r[3] not in seen:
                seen.append(r[3])
                click.echo(r[3])
        return
    cols = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + ["IMAGE ID", "CREATED", "SIZE"]
    print_table(cols, [(repo, tag, *([digest] if digests else []), image_id, human_ago(created), human_size(size))
                       for repo, tag, digest, image_id, created, size in rows])


@click.command()
@root_option
@click.argument("source")
@click.argument("target")
def tag(root: str, source: str, target: str) -> None:
    """Create a tag TARGET that refers to SOURCE."""
    _run(_store(root).tag(source, target))


@click.command()
@root_option
@click.option("-f", "--force", is_flag=True, help="Force removal of the image.")
@click.argument("names", nargs=-1, required=True)
def rmi(root: str, force: bool, names: tuple[str, ...]) -> None:
    """Remove one or more images."""
    store = _store(root)
    failed = False

    async def go() -> None:
        nonlocal failed
        for n in names:
            try:
                report = await store.remove(n, force=force)
            except ImageNotFound:
                err_console.print(f"Error response from daemon: No such image: {n}", markup=False)
                failed = True
                continue
            except ImageError as e:
                err_console.print(f"Error response from daemon: {e}", markup=False)
                failed = True
                continue
            for u in report.untagged:
                click.echo(f"Untagged: {familiar(u)}")
            for d in report.deleted:
                click.echo(f"Deleted: {d}")

    _run(go())
    if failed:
        sys.exit(1)


@click.command()
@root_option
@click.option("-f", "--format", "fmt", default="", help="Go-template-like field path, e.g. {{.Id}}.")
@click.argument("names", nargs=-1, required=True)
def inspect(root: str, fmt: str, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more images."""
    store = _store(root)

    async def go() -> list[dict[str, Any]]:
        return [await store.inspect(n) for n in names]

    docs = _run(go())
    if fmt:
        for d in docs:
            click.echo(_format(fmt, d))
        return
    click.echo(json.dumps(docs, indent=4))


def _format(fmt: str, doc: dict[str, Any]) -> str:
    """A tiny `{{.A.B}}` / `{{json .A}}` subset of Go templates."""
    import re

    def repl(m: Any) -> str:
        expr = m.group(1).strip()
        as_json = expr.startswith("json ")
        path = expr.removeprefix("json ").strip().lstrip(".")
        v: Any = doc
        for part in filter(None, path.split(".")):
            v = v.get(part) if isinstance(v, dict) else None
        return json.dumps(v) if as_json or isinstance(v, (dict, list)) else ("" if v is None else str(v))

    return re.sub(r"\{\{(.*?)\}\}", repl, fmt)


@click.command()
@root_option
@click.option("--no-trunc", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.argument("name")
def history(root: str, no_trunc: bool, quiet: bool, name: str) -> None:
    """Show the history of an image."""
    rows = _run(_store(root).history(name))
    if quiet:
        for r in rows:
            click.echo(r["id"] if no_trunc or r["id"] == "<missing>" else r["id"].removeprefix("sha256:")[:12])
        return
    out = []
    for r in rows:
        image_id = r["id"] if no_trunc or r["id"] == "<missing>" else r["id"].removeprefix("sha256:")[:12]
        by = r["created_by"]
        if not no_trunc and len(by) > 45:
            by = by[:44] + "…"
        out.append((image_id, human_ago(r["created"]), by, human_size(r["size"]), r["comment"]))
    print_table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], out)


@click.command()
@root_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Write to a file.")
@click.option("--format", "fmt", type=click.Choice(["oci", "docker"]), default="oci", show_default=True)
@click.argument("names", nargs=-1, required=True)
def save(root: str, output: str, fmt: str, names: tuple[str, ...]) -> None:
    """Save one or more images to a tar archive (OCI archive or docker-archive)."""
    from kubelite.images import archive

    _run(archive.save(_store(root), list(names), output, format=fmt))


@click.command()
@root_option
@click.option("-i", "--input", "input_", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-q", "--quiet", is_flag=True)
def load(root: str, input_: str, quiet: bool) -> None:
    """Load images from a tar archive (OCI archive or docker-archive, gzip allowed)."""
    from kubelite.images import archive

    result = _run(archive.load(_store(root), input_))
    for n in result.names:
        click.echo(f"Loaded image: {familiar(n)}")
    for i in result.image_ids:
        click.echo(f"Loaded image ID: {i}")


@click.command()
@root_option
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images and the build cache.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
def prune(root: str, all_: bool, force: bool) -> None:
    """Remove unused images (dangling ones, or all unused with -a) and unreferenced content."""
    if not force:
        what = "all images without at least one container associated to them" if all_ else "all dangling images"
        click.confirm(f"WARNING! This will remove {what}.\nAre you sure you want to continue?", abort=True)
    store = _store(root)

    async def go() -> Any:
        if all_:
            from kubelite.images.builder.cache import BuildCache

            await asyncio.to_thread(BuildCache(store).prune_nowait)
        return await store.prune(all=all_, grace=None if all_ else 600.0)

    report = _run(go())
    if report.images_deleted:
        click.echo("Deleted Images:")
        for i in report.images_deleted:
            click.echo(f"deleted: {i}")
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(report.bytes_freed)}")


@click.command()
@click.option("-u", "--username", default=None)
@click.option("-p", "--password", default=None, help="Password (prefer --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin.")
@click.argument("server")
def login(username: str | None, password: str | None, password_stdin: bool, server: str) -> None:
    """Log in to a registry (credentials go to ~/.docker/config.json)."""
    from kubelite.images.distribution import login as do_login

    if password_stdin:
        if password:
            _fail("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.read().rstrip("\n")
    if not username:
        username = click.prompt("Username")
    if password is None:
        password = click.prompt("Password", hide_input=True)
    if not password:
        _fail("Password Required")
    domain = server.removeprefix("https://").removeprefix("http://").rstrip("/")
    _run(do_login(domain, username, password))
    click.echo("Login Succeeded")


@click.command()
@click.argument("server")
def logout(server: str) -> None:
    """Log out from a registry."""
    from kubelite.images.distribution import DockerConfig

    domain = server.removeprefix("https://").removeprefix("http://").rstrip("/")
    if DockerConfig().remove(domain):
        click.echo(f"Removing login credentials for {domain}")
    else:
        click.echo(f"Not logged in to {domain}")


@click.command()
@click.option("--addr", default="127.0.0.1:5000", show_default=True, help="Listen address host:port.")
@click.option("--root", "registry_root", default="/var/lib/kubelite/registry", show_default=True,
              type=click.Path(file_okay=False), help="Registry storage directory.")
@click.option("--auth", "auth_mode", type=click.Choice(["none", "basic", "token"]), default="none", show_default=True)
@click.option("--user", "users", multiple=True, help="USER:PASSWORD allowed to log in (basic/token auth).")
@click.option("--anonymous-pull", is_flag=True, help="Allow pulls without credentials.")
def registry(addr: str, registry_root: str, auth_mode: str, users: tuple[str, ...], anonymous_pull: bool) -> None:
    """Serve an OCI Distribution registry."""
    from kubelite.images.registry import RegistryAuth, RegistryServer

    host, _, port = addr.rpartition(":")
    auth = RegistryAuth(mode=auth_mode, users=dict(u.split(":", 1) for u in users if ":" in u),
                        anonymous_pull=anonymous_pull)

    async def go() -> None:
        server = RegistryServer(host.strip("[]") or "127.0.0.1", int(port), registry_root, auth)
        await server.start()
        err_console.print(f"registry listening on {server.url} (storage {registry_root}, auth {auth_mode})")
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        pass


@click.group("image")
def image() -> None:
    """Manage images (bootstrap base images from Debian packages)."""


@image.command("bootstrap")
@root_option
@click.option("--name", "names", multiple=True,
              help="Store the image under this name instead of its usual one (repeatable; one NAME only).")
@click.option("--no-cache", is_flag=True, help="Rebuild even when the store has an image of the same recipe.")
@click.option("--list", "list_", is_flag=True, help="List the images that can be bootstrapped.")
@click.argument("wanted", metavar="[NAME]...", nargs=-1)
def bootstrap(root: str, names: tuple[str, ...], no_cache: bool, list_: bool, wanted: tuple[str, ...]) -> None:
    """Build base images from Debian packages with mmdebstrap, through this machine's apt sources:
    debian:bookworm, debian:bookworm-slim, python:3.11-slim, nginx:latest, busybox (default: all)."""
    from kubelite.images.bootstrap import DEFAULT_ORDER, RECIPES, Bootstrapper, recipe_for

    if list_:
        print_table(["NAME", "DESCRIPTION"], [(familiar(n), RECIPES[n].description) for n in DEFAULT_ORDER])
        return
    recipes = []
    for w in wanted or [familiar(n) for n in DEFAULT_ORDER]:
        try:
            r = recipe_for(w)
        except ImageError as e:
            _fail(str(e))
        if r is None:
            _fail(f"no bootstrap recipe for {w} (have: {', '.join(familiar(n) for n in DEFAULT_ORDER)})")
        recipes.append(r)
    if names and len(recipes) != 1:
        _fail("--name needs exactly one NAME")
    for n in names:
        _parse_or_fail(n)
    store = _store(root)

    class Lines(BuildOutput):
        def log(self, line: str) -> None:
            if ": I: " in line and not any(k in line for k in ("downloading", "extracting", "installing",
                                                               "success", "running --customize")):
                return
            click.echo(line)

    async def go() -> list[Any]:
        b = Bootstrapper(store, progress=Lines("plain"), no_cache=no_cache)
        return [await b.bootstrap(r, list(names) or None) for r in recipes]

    results = _run(go())
    print_table(["IMAGE", "DIGEST", "SIZE", "TIME"],
                [(familiar(r.names[0]), r.image.digest, human_size(r.image.size),
                  "cached" if r.cached else f"{r.seconds:.1f}s") for r in results])


commands: list[click.Command] = [build, push, pull, images, tag, rmi, inspect, history, save, load, prune, login,
                                 logout, registry, image]
