"""Dockerfile builds (BuildKit's semantics, dataplane §6), run with runc over overlayfs.

- `parser`: directives, continuations, flags, JSON forms, heredocs → `Instruction`s.
- `shell`: variable substitution and word splitting; `stages`: global ARGs, targets, needed stages.
- `context`: `.dockerignore`, COPY/ADD source selection, mtime-free checksums.
- `imageconfig`: config edits of metadata instructions; `users`: USER/--chown lookups.
- `sandbox`: the overlay root of a step and RUN with runc (no network); `fsutil`: in-root copies.
- `cache`: step keys and cached layers; `build`: the `Builder`.

May import: `kubelite.images` (store, layers, oci, reference, progress). Runs `runc`, `mount`
and `umount` as subprocesses (the only images package allowed to).
"""

from .build import BuildOptions, BuildResult, Builder
from .errors import BuildError, RunError

__all__ = ["BuildOptions", "BuildResult", "Builder", "BuildError", "RunError"]
