#!/usr/bin/env bash
# Set up this machine and start a kubelite cluster on the embedded defaults (one node: this host).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/kubelite server "$@"
