"""Base images built offline from Debian's packages (`kubelite image bootstrap`).

- `recipes`: what `debian:bookworm`, `debian:bookworm-slim`, `python:3.11-slim`, `nginx:latest`
  and `busybox` are made of (packages, mmdebstrap options, hooks, image config). Pure.
- `debian`: the mmdebstrap command line (pure) and its run through the machine's apt sources.
- `layer`: a rootfs tar → a reproducible OCI layer, or the diff over a base layer.
- `bootstrap`: `Bootstrapper`: cache check by recipe key, build, label, commit to the store.

May import: `kubelite.images` (store, oci, reference, layers, builtin, progress).
"""

from .bootstrap import Bootstrapper, BootstrapResult, recipe_key
from .errors import BootstrapError
from .recipes import DEFAULT_ORDER, RECIPES, Recipe, recipe_for, with_dependencies

__all__ = ["Bootstrapper", "BootstrapResult", "BootstrapError", "Recipe", "RECIPES", "DEFAULT_ORDER", "recipe_for",
           "with_dependencies", "recipe_key"]
