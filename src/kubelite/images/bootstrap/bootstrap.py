"""`kubelite image bootstrap`: make base images from Debian packages, offline from Docker Hub.

For each recipe: if the store already has the image under its name with the same recipe key (a
digest of the mmdebstrap command, the apt sources and the format version) it is reused; else
mmdebstrap writes a rootfs tar into a work dir under the store, the tar becomes a reproducible
layer (a diff over the base image's layer for derived images), and the image is committed with
labels saying what it was built from. The work dir is removed whatever happens.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import oci
from ..builtin import _busybox_applets, busybox_entries, write_entries
from ..interface import Image
from ..layers.apply import WHITEOUT_PREFIX
from ..progress import NullProgress, Progress
from ..reference import parse_reference
from ..store import LocalImageStore
from .debian import apt_sources, mmdebstrap_argv, mmdebstrap_version, run_mmdebstrap
from .errors import BootstrapError
from .layer import dpkg_versions, extract_member, index_layer_blob, write_rootfs_layer
from .recipes import RECIPES, SOURCE_DATE_EPOCH, SUITE, Recipe

FORMAT_VERSION = "1"
LABEL_PREFIX = "io.kubelite.bootstrap."
LABEL_RECIPE = LABEL_PREFIX + "recipe"
CREATED = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(SOURCE_DATE_EPOCH))


@dataclass
class BootstrapResult:
    recipe: Recipe
    image: Image
    names: list[str]
    cached: bool
    seconds: float
    packages: dict[str, str] = field(default_factory=dict)


def _sources_uris(mirrors: list[str]) -> list[str]:
    uris: list[str] = []
    for m in mirrors:
        try:
            text = Path(m).read_text()
        except OSError:
            text = m
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("URIs:"):
                uris += line[5:].split()
            elif line.startswith("deb "):
                uris += [w for w in line.split()[1:] if "://" in w][:1]
    return sorted(set(uris))


def recipe_key(recipe: Recipe, mirrors: list[str], base_key: str = "") -> str:
    contents = []
    for m in mirrors:
        try:
            contents.append(Path(m).read_text())
        except OSError:
            contents.append(m)
    doc = {"format": FORMAT_VERSION, "argv": mmdebstrap_argv(recipe, "TARGET", ["MIRROR"]), "kind": recipe.kind,
           "config": recipe.config, "sources": contents, "epoch": SOURCE_DATE_EPOCH, "base": base_key}
    return "sha256:" + hashlib.sha256(oci.canonical_json(doc)).hexdigest()


def packages_digest(packages: dict[str, str]) -> str:
    text = "".join(f"{p}={v}\n" for p, v in sorted(packages.items()))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class Bootstrapper:
    def __init__(self, store: LocalImageStore, *, progress: Progress | None = None, mirrors: list[str] | None = None,
                 no_cache: bool = False) -> None:
        self.store = store
        self.progress = progress or NullProgress()
        self.mirrors = list(mirrors) if mirrors is not None else apt_sources()
        self.no_cache = no_cache
        self._tool = ""
        self._done: dict[tuple[str, ...], BootstrapResult] = {}

    async def bootstrap(self, recipe: Recipe, names: list[str] | None = None) -> BootstrapResult:
        """Make (or reuse) the image of `recipe`, its base first, stored under `names` (default:
        the recipe's name, e.g. `docker.io/library/python:3.11-slim`)."""
        targets = [str(parse_reference(n)) for n in names or []] or [recipe.name]
        memo = (recipe.name, *targets)
        if memo in self._done:
            return self._done[memo]
        if not self.mirrors:
            raise BootstrapError("no apt sources found (/etc/apt/sources.list.d/*.sources or /etc/apt/sources.list)")
        await self.store.start()
        base = await self.bootstrap(RECIPES[recipe.base]) if recipe.base else None
        key = recipe_key(recipe, self.mirrors, (base.image.container_config.get("Labels") or {}).get(LABEL_RECIPE, "")
                         if base else "")
        shown = parse_reference(targets[0]).familiar()
        started = time.monotonic()
        existing = await self.store.get(targets[0])
        if existing is not None and not self.no_cache and \
                (existing.container_config.get("Labels") or {}).get(LABEL_RECIPE) == key:
            for n in targets[1:]:
                await self.store.tag(targets[0], n)
            image = await self.store.require(targets[0])
            self.progress.log(f"{shown}: CACHED {image.digest}")
            result = BootstrapResult(recipe, image, targets, True, time.monotonic() - started)
        else:
            self.progress.log(f"{shown}: building from Debian {SUITE} packages")
            image, packages = await self._build(recipe, key, base, targets)
            result = BootstrapResult(recipe, image, targets, False, time.monotonic() - started, packages)
            self.progress.log(f"{shown}: {image.digest} in {result.seconds:.1f}s")
        self._done[memo] = result
        return result

    async def _build(self, recipe: Recipe, key: str, base: BootstrapResult | None, names: list[str]
                     ) -> tuple[Image, dict[str, str]]:
        if not self._tool:
            self._tool = await mmdebstrap_version()
        workdir = self.store.root / "bootstrap" / f"tmp-{uuid.uuid4().hex[:12]}"
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        try:
            target = workdir / "rootfs.tar"
            argv = mmdebstrap_argv(recipe, str(target), self.mirrors)
            name = parse_reference(recipe.name).familiar()
            await run_mmdebstrap(argv, workdir, lambda line: self.progress.log(f"{name}: {line}"))
            if recipe.kind == "busybox":
                layer, diff_id, packages = await self._busybox_layer(target, workdir)
            else:
                layer, diff_id, packages = await asyncio.to_thread(self._rootfs_layer, target, base)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
        labels = self._labels(recipe, key, base, packages)
        created_by = " ".join(a if " " not in a else json.dumps(a) for a in
                              mmdebstrap_argv(recipe, "rootfs.tar", ["<apt sources>"])[:-2])
        history = list(base.image.config.get("history") or []) if base else []
        history.append({"created": CREATED, "created_by": created_by, "comment": "kubelite image bootstrap"})
        container_config = {**recipe.config, "Labels": labels}
        base_layers = (await self.store.resolve(base.image)).layers if base else []
        config = {
            "created": CREATED,
            "architecture": oci.host_platform()["architecture"],
            "os": "linux",
            "config": container_config,
            "rootfs": {"type": "layers", "diff_ids": [*(base.image.diff_ids if base else []), diff_id]},
            "history": history,
        }
        image = await self.store.commit(config, [*base_layers, layer], names)
        return image, packages

    def _rootfs_layer(self, target: Path, base: BootstrapResult | None) -> tuple[dict[str, Any], str, dict[str, str]]:
        base_index = None
        if base is not None:
            base_index = {}
            for d in self.store.resolve_record_nowait({"digest": base.image.digest}).layers:
                for name, entry in index_layer_blob(lambda: self.store.content.open_blob(d["digest"]),
                                                    SOURCE_DATE_EPOCH).items():
                    parent, _, leaf = name.rpartition("/")
                    if leaf.startswith(WHITEOUT_PREFIX):
                        gone = f"{parent}/{leaf[len(WHITEOUT_PREFIX):]}".lstrip("/")
                        base_index = {n: e for n, e in base_index.items()
                                      if n != gone and not n.startswith(gone + "/")}
                    else:
                        base_index[name] = entry
        tmp = self.store.content.temp_path()
        try:
            with open(tmp, "wb") as out:
                diff_id, digest, size, _, _ = write_rootfs_layer(target, out, sde=SOURCE_DATE_EPOCH, base=base_index)
                out.flush()
            self.store.content.adopt_nowait(tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)
        return oci.descriptor(oci.OCI_LAYER_GZIP, digest, size), diff_id, dpkg_versions(target)

    async def _busybox_layer(self, target: Path, workdir: Path) -> tuple[dict[str, Any], str, dict[str, str]]:
        binary = workdir / "busybox"
        found = False
        for member in ("bin/busybox", "usr/bin/busybox"):
            if await asyncio.to_thread(extract_member, target, member, binary):
                found = True
                break
        if not found:
            raise BootstrapError("busybox-static did not provide bin/busybox")
        applets = await _busybox_applets(str(binary))
        proc = await asyncio.create_subprocess_exec(str(binary), stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
        banner = out.decode(errors="replace").splitlines()[0] if out else ""
        version = banner.split("(Debian ", 1)[1].split(")", 1)[0] if "(Debian " in banner else banner
        layer = await asyncio.to_thread(write_entries, self.store, busybox_entries(applets, str(binary)))
        diff_id = layer.pop("diff_id")
        return layer, diff_id, {"busybox-static": version}

    def _labels(self, recipe: Recipe, key: str, base: BootstrapResult | None, packages: dict[str, str]
                ) -> dict[str, str]:
        wanted = {p: packages[p] for p in recipe.include if p in packages}
        labels = {
            "org.opencontainers.image.title": parse_reference(recipe.name).familiar(),
            "org.opencontainers.image.description": recipe.description,
            "org.opencontainers.image.created": CREATED,
            LABEL_RECIPE: key,
            LABEL_PREFIX + "source": f"Debian {SUITE} packages via {self._tool} (variant {recipe.variant}"
                                     f"{', slim' if recipe.slim else ''})",
            LABEL_PREFIX + "apt-sources": " ".join(_sources_uris(self.mirrors)),
            LABEL_PREFIX + "packages": ",".join(f"{p}={v}" for p, v in wanted.items()) or f"{len(packages)} packages",
            LABEL_PREFIX + "packages-digest": packages_digest(packages),
        }
        if base is not None:
            labels["org.opencontainers.image.base.name"] = base.recipe.name
            labels["org.opencontainers.image.base.digest"] = base.image.digest
        return labels
