"""What each bootstrapped base image is made of: Debian packages, mmdebstrap options, hooks and the
image config, mirroring the official Docker Hub images. Pure data.

- `debian:bookworm`: the `minbase` variant (Essential and Priority: required packages plus apt),
  `CMD ["bash"]`, as debuerreotype builds the official image.
- `debian:bookworm-slim`: the same with documentation, man pages and locales left out by dpkg
  path filters (kept in the image, so later `apt-get install`s stay slim).
- `python:3.11-slim`: bookworm-slim plus Debian's python3, pip, venv and `python-is-python3`
  (`python` on the PATH), pip allowed to install system-wide (no EXTERNALLY-MANAGED marker, like
  the official image), `CMD ["python3"]`; its own layer over the slim layer.
- `nginx:latest`: bookworm-slim plus Debian's nginx, serving `/usr/share/nginx/html` on port 80
  with the upstream welcome page (`conf.d/default.conf` as in the official image), logs to the
  container's stdout/stderr, `CMD ["nginx", "-g", "daemon off;"]`, `STOPSIGNAL SIGQUIT`.
- `busybox`: Debian's busybox-static laid out as the official image (`/bin/busybox` and one
  symlink per applet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SUITE = "bookworm"
# Every timestamp the images contain is clamped to this (Debian 12's release day, 2023-06-10), so
# the same packages give the same bytes whenever they are built.
SOURCE_DATE_EPOCH = 1686355200
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

SLIM_DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/groff/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/linda/*",
    "path-exclude=/usr/share/locale/*",
)

NGINX_DEFAULT_CONF = """\
server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
"""

# Shell run by mmdebstrap's --customize-hook with the root directory as $1.
NGINX_HOOKS = (
    'rm -f "$1"/etc/nginx/sites-enabled/default',
    "printf '%s' '" + NGINX_DEFAULT_CONF.replace("'", "'\\''") + "' > \"$1\"/etc/nginx/conf.d/default.conf",
    'ln -sf /dev/stdout "$1"/var/log/nginx/access.log',
    'ln -sf /dev/stderr "$1"/var/log/nginx/error.log',
    'test -f "$1"/usr/share/nginx/html/index.html',
)
PYTHON_HOOKS = (
    'rm -f "$1"/usr/lib/python3.*/EXTERNALLY-MANAGED',
    'test -x "$1"/usr/bin/python',
)


@dataclass(frozen=True)
class Recipe:
    name: str                                   # normalised reference it is stored under
    kind: str = "debian"                        # "debian" (mmdebstrap) or "busybox"
    variant: str = "minbase"
    include: tuple[str, ...] = ()               # packages on top of the variant (and of the base)
    slim: bool = False
    base: str = ""                              # recipe whose image this one adds a layer to
    hooks: tuple[str, ...] = ()                 # --customize-hook shell snippets
    config: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def dpkg_options(self) -> tuple[str, ...]:
        return SLIM_DPKG_OPTIONS if self.slim else ()


RECIPES: dict[str, Recipe] = {r.name: r for r in [
    Recipe("docker.io/library/debian:bookworm", config={"Env": [DEFAULT_PATH], "Cmd": ["bash"]},
           description="Debian 12 minbase"),
    Recipe("docker.io/library/debian:bookworm-slim", slim=True, config={"Env": [DEFAULT_PATH], "Cmd": ["bash"]},
           description="Debian 12 minbase without docs, man pages and locales"),
    Recipe("docker.io/library/python:3.11-slim", slim=True, base="docker.io/library/debian:bookworm-slim",
           include=("python3", "python3-pip", "python3-venv", "python-is-python3"), hooks=PYTHON_HOOKS,
           config={"Env": [DEFAULT_PATH, "LANG=C.UTF-8", "PIP_DISABLE_PIP_VERSION_CHECK=1"], "Cmd": ["python3"]},
           description="Debian 12 python3 with pip"),
    Recipe("docker.io/library/nginx:latest", slim=True, base="docker.io/library/debian:bookworm-slim",
           include=("nginx",), hooks=NGINX_HOOKS,
           config={"Env": [DEFAULT_PATH], "Cmd": ["nginx", "-g", "daemon off;"], "ExposedPorts": {"80/tcp": {}},
                   "StopSignal": "SIGQUIT"},
           description="Debian 12 nginx serving /usr/share/nginx/html on port 80"),
    Recipe("docker.io/library/busybox:latest", kind="busybox", variant="extract", include=("busybox-static",),
           config={"Env": [DEFAULT_PATH], "Cmd": ["sh"]}, description="Debian's busybox-static"),
]}

DEFAULT_ORDER = list(RECIPES)


def recipe_for(name: str) -> Recipe | None:
    """The recipe for a reference (`python:3.11-slim`, `docker.io/library/nginx`)."""
    from ..reference import parse_reference

    return RECIPES.get(str(parse_reference(name)))


def with_dependencies(recipes: list[Recipe]) -> list[Recipe]:
    """The recipes and the bases they build on, bases first, each once."""
    out: list[Recipe] = []

    def add(r: Recipe) -> None:
        if r.base:
            add(RECIPES[r.base])
        if r not in out:
            out.append(r)

    for r in recipes:
        add(r)
    return out
