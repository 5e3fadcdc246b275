"""The Dockerfile builder: stages in order, each instruction applied to a stage state.

A stage state is an image in the making: its config, its layer descriptors and its cache key.
Metadata instructions edit the config (`imageconfig`); RUN, COPY, ADD and WORKDIR work on an
overlay of the stage's layers (`sandbox.Rootfs`), and the overlay upper dir, converted per
dataplane §5.4, becomes the step's layer (no layer when nothing changed). The upper dir is then
adopted as the layer's snapshot, so the next step mounts it without extracting anything.
Steps are looked up in the build cache first (`cache`). Nothing is tagged unless every needed
stage built; a failing RUN raises `RunError` pointing at its Dockerfile line.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import oci
from ..errors import ImageError, InvalidReference
from ..interface import Image
from ..progress import NullProgress, Progress
from ..reference import parse_reference
from ..store import LocalImageStore
from . import imageconfig as ic
from .cache import BuildCache, step_key
from .commit import commit_upper
from .context import DockerIgnore, Source, checksum, select_sources
from .download import download
from .errors import BuildError, RunError
from .fsutil import Chown, copy_sources, extract_archive, is_archive, mkdir_all
from .parser import Dockerfile, Instruction, parse
from .sandbox import Rootfs, run_container
from .shell import parse_key_values, process_word, process_words
from .stages import PROXY_ARGS, Plan, Stage, plan, stage_ref
from .users import resolve_chown, resolve_user

log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = Path("/run/kubelite/build-runc")


@dataclass
class BuildOptions:
    context: Path
    dockerfile: Path | None = None          # default: <context>/Dockerfile
    dockerfile_text: str | None = None      # instead of a file (`-f -`)
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    progress: Progress = field(default_factory=NullProgress)


@dataclass
class BuildResult:
    image: Image
    steps: int = 0
    cached: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class StageState:
    label: str
    config: dict[str, Any]
    layers: list[dict[str, Any]]
    key: str
    args: dict[str, str | None] = field(default_factory=dict)
    cmd_set: bool = False
    created: str = ic.EPOCH   # time of the last filesystem change (history and image `created`)

    @property
    def diff_ids(self) -> list[str]:
        return self.config["rootfs"]["diff_ids"]

    def clone(self) -> StageState:
        return StageState(self.label, copy.deepcopy(self.config), [dict(d) for d in self.layers], self.key,
                          created=self.created)


@dataclass
class _Build:
    opts: BuildOptions
    df: Dockerfile
    plan: Plan
    filename: str
    ignore: DockerIgnore
    work: Path
    states: dict[int, StageState] = field(default_factory=dict)
    step: int = 0
    steps: int = 0
    cached: int = 0
    used_args: set[str] = field(default_factory=set)


class Builder:
    def __init__(self, store: LocalImageStore, *, state_dir: Path = DEFAULT_STATE_DIR,
                 pull: Callable[[str], Awaitable[Image]] | None = None) -> None:
        self.store = store
        self.cache = BuildCache(store)
        self.state_dir = Path(state_dir)
        self._pull = pull

    # -- entry point --

    async def build(self, opts: BuildOptions) -> BuildResult:
        await self.store.start()
        context = Path(opts.context).resolve()
        if not context.is_dir():
            raise BuildError(f"unable to prepare context: path {str(opts.context)!r} not found")
        dockerfile = opts.dockerfile or context / "Dockerfile"
        filename = os.path.basename(str(dockerfile)) if opts.dockerfile_text is None else "Dockerfile"
        if opts.dockerfile_text is not None:
            text = opts.dockerfile_text
        else:
            try:
                text = await asyncio.to_thread(Path(dockerfile).read_text)
            except FileNotFoundError:
                raise BuildError(f"failed to read dockerfile: open {dockerfile}: no such file or directory") from None
        df = parse(text, filename)
        pl = plan(df, opts.build_args, opts.target, filename)
        ignore = await asyncio.to_thread(DockerIgnore.load, context,
                                         Path(dockerfile) if opts.dockerfile_text is None else None)
        work = Path(self.store.root) / "builds" / uuid.uuid4().hex[:12]
        b = _Build(opts, df, pl, filename, ignore, work, used_args=set(pl.used_build_args))
        b.opts.context = context
        started = time.monotonic()
        try:
            for i in pl.needed:
                b.states[i] = await self._build_stage(b, pl.stages[i])
            final = b.states[pl.target]
            image = await self._commit(final, opts.tags)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        warnings = []
        unused = sorted(set(opts.build_args) - b.used_args - PROXY_ARGS)
        if unused:
            warnings.append(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed")
        for w in warnings:
            opts.progress.log(w)
        opts.progress.log(f"writing image {image.id} done ({time.monotonic() - started:.1f}s)")
        for t in opts.tags:
            opts.progress.log(f"naming to {parse_reference(t)} done")
        return BuildResult(image, b.steps, b.cached, warnings)

    # -- stages --

    async def _image(self, ref: str) -> Image:
        image = await self.store.get(ref)
        if image is None:
            if self._pull is None:
                raise BuildError(f"{ref}: not found in the local store and no registry access configured")
            image = await self._pull(ref)
        return image

    async def _image_state(self, label: str, ref: str) -> StageState:
        image = await self._image(ref)
        resolved = await self.store.resolve(image)
        layers = [{k: d[k] for k in ("mediaType", "digest", "size") if k in d} for d in resolved.layers]
        cfg = ic.base_config(image.config)
        return StageState(label, cfg, layers, step_key("", ["image", image.id]),
                          created=image.config.get("created") or ic.EPOCH)

    async def _build_stage(self, b: _Build, stage: Stage) -> StageState:
        ins = stage.from_ins
        total = 1 + len(stage.instructions)
        b.step += 1
        prefix = f"#{b.step} [{stage.label} 1/{total}]"
        dep = stage_ref(b.plan.stages, stage.base, stage.index)
        try:
            if dep is not None:
                st = b.states[dep].clone()
                st.label = stage.label
            elif stage.base.lower() == "scratch":
                st = StageState(stage.label, ic.empty_config(), [], step_key("", "scratch"))
            else:
                b.opts.progress.log(f"{prefix} FROM {stage.base}")
                st = await self._image_state(stage.label, stage.base)
        except InvalidReference as e:
            raise BuildError(f"failed to parse stage name {stage.base!r}: {e}", filename=b.filename,
                             line=ins.line) from e
        except BuildError as e:
            if not e.line:
                raise BuildError(e.message, filename=b.filename, line=ins.line) from e
            raise
        except ImageError as e:
            raise BuildError(str(e), filename=b.filename, line=ins.line) from e
        if dep is not None or stage.base.lower() == "scratch":
            b.opts.progress.log(f"{prefix} FROM {stage.base}")
        instructions = list(stage.instructions)
        triggers = st.config["config"].pop("OnBuild", None) or []
        if triggers:
            onbuild = parse("\n".join(f"{t}" for t in triggers), "ONBUILD").instructions
            for t in onbuild:
                t.line, t.end_line = ins.line, ins.end_line
            instructions = onbuild + instructions
        for n, step in enumerate(instructions, start=2):
            b.step += 1
            b.steps += 1
            label = f"#{b.step} [{stage.label} {n}/{total}] {step.original}"
            try:
                await self._dispatch(b, st, step, label)
            except RunError:
                raise
            except BuildError as e:
                if not e.line:
                    raise BuildError(e.message, filename=b.filename, line=step.line, end_line=step.end_line) from e
                raise
            except (ImageError, OSError) as e:
                raise BuildError(str(e), filename=b.filename, line=step.line, end_line=step.end_line) from e
        return st

    # -- instruction dispatch --

    def _env(self, st: StageState) -> dict[str, str]:
        env = {k: v for k, v in st.args.items() if v is not None}
        env.update(ic.env_map(st.config))
        return env

    async def _dispatch(self, b: _Build, st: StageState, ins: Instruction, label: str) -> None:
        esc = b.df.escape
        env = self._env(st)
        c = st.config["config"]
        cmd = ins.cmd
        history = f"{cmd.upper()} {ins.args}".strip()
        if cmd in ("run", "copy", "add", "workdir"):
            await getattr(self, f"_{cmd}")(b, st, ins, label)
            return
        b.opts.progress.log(label)
        if cmd == "env":
            pairs = parse_key_values(ins.args, env, esc, "env")
            for k, v in pairs:
                ic.set_env(st.config, k, v)
            history = "ENV " + " ".join(f"{k}={v}" for k, v in pairs)
        elif cmd == "arg":
            for k, default in parse_key_values(ins.args, env, esc, "arg"):
                if k in b.opts.build_args:
                    st.args[k] = b.opts.build_args[k]
                    b.used_args.add(k)
                elif default != "\0":
                    st.args[k] = default
                else:
                    st.args[k] = b.plan.meta_args.get(k)
        elif cmd == "label":
            labels = dict(c.get("Labels") or {})
            pairs = parse_key_values(ins.args, env, esc, "label")
            labels.update(pairs)
            c["Labels"] = labels
            history = "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)
        elif cmd == "maintainer":
            st.config["author"] = process_word(ins.args, env, esc)
        elif cmd == "expose":
            ports = ic.expose_ports(process_words(ins.args, env, esc))
            exposed = dict(c.get("ExposedPorts") or {})
            exposed.update({p: {} for p in ports})
            c["ExposedPorts"] = exposed
            history = "EXPOSE " + " ".join(ports)
        elif cmd == "user":
            c["User"] = process_word(ins.args, env, esc)
            history = f"USER {c['User']}"
        elif cmd == "cmd":
            c["Cmd"] = ins.json if ins.json is not None else ic.shell_command(st.config, ins.args)
            st.cmd_set = True
            history = f"CMD {json.dumps(c['Cmd'])}"
        elif cmd == "entrypoint":
            c["Entrypoint"] = ins.json if ins.json is not None else ic.shell_command(st.config, ins.args)
            if not st.cmd_set:
                c.pop("Cmd", None)
            history = f"ENTRYPOINT {json.dumps(c['Entrypoint'])}"
        elif cmd == "shell":
            if ins.json is None:
                raise BuildError("SHELL requires the arguments to be in JSON form")
            c["Shell"] = ins.json
        elif cmd == "volume":
            vols = [process_word(v, env, esc) for v in ins.json] if ins.json is not None else \
                process_words(ins.args, env, esc)
            if not vols or any(not v for v in vols):
                raise BuildError("VOLUME specified can not be an empty string")
            volumes = dict(c.get("Volumes") or {})
            volumes.update({v: {} for v in vols})
            c["Volumes"] = volumes
            history = "VOLUME " + json.dumps(vols)
        elif cmd == "stopsignal":
            c["StopSignal"] = process_word(ins.args, env, esc)
        elif cmd == "healthcheck":
            c["Healthcheck"] = ic.healthcheck(ins.flags, ins.args, ins.json)
        elif cmd == "onbuild":
            trigger = ins.args.strip()
            first = trigger.split(None, 1)[0].upper() if trigger else ""
            if first in ("ONBUILD", "FROM", "MAINTAINER", ""):
                raise BuildError(f"{first or 'empty'} isn't allowed as an ONBUILD trigger")
            c["OnBuild"] = [*(c.get("OnBuild") or []), trigger]
        elif cmd == "from":
            raise BuildError("FROM inside a stage")
        st.config["history"].append(ic.history_entry(history, True, st.created))

    # -- filesystem steps --

    async def _lowers(self, st: StageState) -> list[Path]:
        layers = st.layers
        return await self.store.snapshots.prepare(
            list(st.diff_ids), lambda i: self.store.content.open_blob(layers[i]["digest"]))

    async def _fs_step(self, b: _Build, st: StageState, label: str, definition: Any, created_by: str,
                       apply: Callable[[Rootfs], Awaitable[set[str]]]) -> None:
        key = step_key(st.key, definition)
        b.opts.progress.log(label)
        if not b.opts.no_cache:
            entry = await asyncio.to_thread(self.cache.get_nowait, key)
            if entry is not None:
                b.cached += 1
                b.opts.progress.log(f"#{b.step} CACHED")
                self._add_layer(st, key, entry.get("layer"), entry.get("diff_id"), created_by,
                                entry.get("created") or st.created)
                return
        started = time.monotonic()
        rootfs = Rootfs(b.work / uuid.uuid4().hex[:12], self.store.snapshots.root, await self._lowers(st))
        try:
            await rootfs.mount()
            try:
                skip = await apply(rootfs)
            finally:
                await rootfs.unmount()
            layer, diff_id = await asyncio.to_thread(commit_upper, self.store, rootfs, skip, st.diff_ids)
            created = ic.now_rfc3339() if layer is not None else st.created
            await asyncio.to_thread(self.cache.put_nowait, key, layer, diff_id, created)
        finally:
            await rootfs.cleanup()
        self._add_layer(st, key, layer, diff_id, created_by, created)
        b.opts.progress.log(f"#{b.step} DONE {time.monotonic() - started:.1f}s")

    def _add_layer(self, st: StageState, key: str, layer: dict[str, Any] | None, diff_id: str | None,
                   created_by: str, created: str) -> None:
        st.key = key
        st.created = created
        if layer is not None and diff_id:
            st.layers.append(layer)
            st.diff_ids.append(diff_id)
        st.config["history"].append(ic.history_entry(created_by, layer is None, created))

    async def _workdir(self, b: _Build, st: StageState, ins: Instruction, label: str) -> None:
        env = self._env(st)
        path = process_word(ins.args.strip(), env, b.df.escape)
        if not path:
            raise BuildError("WORKDIR requires exactly one argument")
        cur = st.config["config"].get("WorkingDir") or "/"
        path = os.path.normpath(path if path.startswith("/") else os.path.join(cur, path))
        st.config["config"]["WorkingDir"] = path
        user = st.config["config"].get("User") or ""

        async def apply(rootfs: Rootfs) -> set[str]:
            def op() -> None:
                uid = gid = 0
                if user:
                    try:
                        u = resolve_user(str(rootfs.merged), user)
                        uid, gid = u.uid, u.gid
                    except BuildError:
                        pass
                mkdir_all(str(rootfs.merged), path, uid=uid, gid=gid)

            await asyncio.to_thread(op)
            return set()

        await self._fs_step(b, st, label, ["WORKDIR", path, user], f"WORKDIR {path}", apply)

    async def _run(self, b: _Build, st: StageState, ins: Instruction, label: str) -> None:
        c = st.config["config"]
        if ins.heredocs:
            doc = ins.heredocs[0]
            head = ins.args.strip()
            if head.startswith("<<") and len(ins.heredocs) == 1 and head.split()[0].lstrip("<-'\"") == doc.name:
                script = doc.content
            else:
                script = head + "\n" + "".join(f"{h.content}{h.name}\n" for h in ins.heredocs)
            args = ic.shell_command(st.config, script)
            shown = ins.args
        elif ins.json is not None:
            args = list(ins.json)
            shown = " ".join(args)
        else:
            args = ic.shell_command(st.config, ins.args)
            shown = " ".join(args)
        if not args:
            raise BuildError("RUN requires at least one argument")
        config_env = ic.env_map(st.config)
        arg_env = {k: v for k, v in st.args.items() if v is not None and k not in config_env}
        env = [f"{k}={v}" for k, v in config_env.items()] + [f"{k}={v}" for k, v in sorted(arg_env.items())]
        if "PATH" not in config_env and "PATH" not in arg_env:
            env.insert(0, f"PATH={ic.DEFAULT_PATH}")
        proxies = [f"{k}={v}" for k, v in b.opts.build_args.items() if k in PROXY_ARGS and k not in st.args]
        cwd = c.get("WorkingDir") or "/"
        user = c.get("User") or ""
        definition = ["RUN", args, sorted(env), user, cwd, "none"]
        created_by = "RUN " + (f"|{len(arg_env)} " + " ".join(f"{k}={v}" for k, v in sorted(arg_env.items())) + " "
                               if arg_env else "") + shown + " # buildkit"
        step = b.step
        started = time.monotonic()

        async def apply(rootfs: Rootfs) -> set[str]:
            exec_user = await asyncio.to_thread(resolve_user, str(rootfs.merged), user)

            def out(line: str) -> None:
                b.opts.progress.log(f"#{step} {time.monotonic() - started:.3f} {line}")

            code, created = await run_container(rootfs, self.state_dir, args, env + proxies, cwd, exec_user, out)
            if code != 0:
                raise RunError(" ".join(args), code, filename=b.filename, line=ins.line, end_line=ins.end_line)
            return created

        await self._fs_step(b, st, label, definition, created_by, apply)

    async def _sources(self, b: _Build, st: StageState, ins: Instruction, srcs: list[str]
                       ) -> tuple[list[Source], DockerIgnore | None, bool, Rootfs | None, Path | None]:
        """(sources, ignore rules, keep owners, source rootfs to unmount, temp dir to delete)."""
        frm = ins.flag("from")
        env = self._env(st)
        if ins.heredocs:
            tmp = b.work / f"heredoc-{uuid.uuid4().hex[:8]}"
            tmp.mkdir(parents=True)
            names = []
            for h in ins.heredocs:
                content = process_word(h.content, env, b.df.escape) if h.expand else h.content
                (tmp / h.name).write_text(content)
                os.chmod(tmp / h.name, 0o644)
                names.append(h.name)
            return [Source(tmp, n, False) for n in names], None, False, None, tmp
        if frm:
            ref = process_word(frm, {**b.plan.meta_args, **env}, b.df.escape)
            idx = stage_ref(b.plan.stages, ref, len(b.plan.stages))
            if idx is not None:
                if idx not in b.states:
                    raise BuildError(f"stage {ref!r} is not built before this step (COPY --from a later stage?)")
                src_state = b.states[idx]
            else:
                src_state = await self._image_state(ref, ref)
            rootfs = Rootfs(b.work / uuid.uuid4().hex[:12], self.store.snapshots.root, await self._lowers(src_state))
            await rootfs.mount()
            try:
                sources = await asyncio.to_thread(select_sources, rootfs.merged, srcs, None)
            except BaseException:
                await rootfs.cleanup()
                raise
            return sources, None, True, rootfs, None
        urls = [s for s in srcs if s.startswith(("http://", "https://"))]
        if urls:
            if ins.cmd != "add":
                raise BuildError("source can't be a URL for COPY")
            tmp = b.work / f"download-{uuid.uuid4().hex[:8]}"
            tmp.mkdir(parents=True)
            sources = []
            for u in srcs:
                if u in urls:
                    sources.append(await download(u, tmp, ins.flag("checksum")))
                else:
                    sources.extend(await asyncio.to_thread(select_sources, b.opts.context, [u], b.ignore))
            return sources, b.ignore, False, None, tmp
        sources = await asyncio.to_thread(select_sources, b.opts.context, srcs, b.ignore)
        return sources, b.ignore, False, None, None

    async def _copy(self, b: _Build, st: StageState, ins: Instruction, label: str) -> None:
        await self._copy_or_add(b, st, ins, label)

    async def _add(self, b: _Build, st: StageState, ins: Instruction, label: str) -> None:
        await self._copy_or_add(b, st, ins, label)

    async def _copy_or_add(self, b: _Build, st: StageState, ins: Instruction, label: str) -> None:
        env = self._env(st)
        esc = b.df.escape
        for unsupported in ("parents", "exclude", "keep-git-dir"):
            if unsupported in ins.flags:
                raise BuildError(f"{ins.cmd.upper()} --{unsupported} is not supported")
        if ins.json is not None:
            words = [process_word(w, env, esc) for w in ins.json]
        else:
            words = process_words(ins.args, env, esc)
        if ins.heredocs:
            words = [w for w in words if not w.startswith("<<")]
            srcs, dest = [h.name for h in ins.heredocs], words[-1] if words else ""
        else:
            if len(words) < 2:
                raise BuildError(f"{ins.cmd.upper()} requires at least two arguments, but only one was provided. "
                                 f"Destination could not be determined")
            srcs, dest = words[:-1], words[-1]
        cwd = st.config["config"].get("WorkingDir") or "/"
        trailing = dest.endswith("/") or dest in (".", "..")
        dest = os.path.normpath(os.path.join(cwd, dest))
        if trailing and dest != "/":
            dest += "/"
        chown = process_word(ins.flag("chown") or "", env, esc)
        chmod_raw = process_word(ins.flag("chmod") or "", env, esc)
        try:
            chmod = int(chmod_raw, 8) if chmod_raw else None
        except ValueError:
            raise BuildError(f"invalid chmod parameter {chmod_raw!r}") from None
        sources, ignore, keep_owner, src_rootfs, tmp = await self._sources(b, st, ins, srcs)
        try:
            sum_ = await asyncio.to_thread(checksum, sources, ignore, owners=keep_owner)
            definition = [ins.cmd.upper(), srcs, dest, chown, chmod_raw, sum_, bool(ins.flag("from"))]
            created_by = f"{ins.cmd.upper()} {ins.args} # buildkit"
            is_add = ins.cmd == "add"

            async def apply(rootfs: Rootfs) -> set[str]:
                def op() -> None:
                    merged = str(rootfs.merged)
                    opts = Chown(mode=chmod)
                    if chown:
                        opts.uid, opts.gid = resolve_chown(merged, chown)
                    plain: list[Source] = []
                    for s in sources:
                        if is_add and not s.is_dir and not ins.flag("from") and is_archive(str(s.path)) \
                                and not str(s.rel).startswith(("http://", "https://")) and tmp is None:
                            extract_archive(merged, str(s.path), dest if dest.endswith("/") else dest + "/")
                        else:
                            plain.append(s)
                    if plain:
                        copy_sources(merged, plain, dest, opts, ignore=ignore, keep_owner=keep_owner)

                await asyncio.to_thread(op)
                return set()

            await self._fs_step(b, st, label, definition, created_by, apply)
        finally:
            if src_rootfs is not None:
                await src_rootfs.cleanup()
            if tmp is not None:
                await asyncio.to_thread(shutil.rmtree, tmp, True)

    # -- result --

    async def _commit(self, st: StageState, tags: list[str]) -> Image:
        cfg = copy.deepcopy(st.config)
        cfg["created"] = st.created  # a fully cached rebuild gives the same image ID
        cfg["config"] = {k: v for k, v in cfg["config"].items() if v not in (None, [], {}, "")}
        layers = []
        for d in st.layers:
            d = dict(d)
            if d.get("mediaType") == oci.DOCKER_LAYER_GZIP:
                d["mediaType"] = oci.OCI_LAYER_GZIP
            elif d.get("mediaType") == oci.DOCKER_LAYER:
                d["mediaType"] = oci.OCI_LAYER
            layers.append(d)
        names = [str(parse_reference(t)) for t in tags]
        return await self.store.commit(cfg, layers, names)
