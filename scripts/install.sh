#!/usr/bin/env bash
# Install everything kubelite needs on Debian 12, as root: system packages and a Python venv at .venv.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  runc conmon containernetworking-plugins catatonit busybox-static   # containers
  golang-github-containers-common util-linux                         # seccomp profile, nsenter
  mmdebstrap zstd                                                      # offline base images, zstd layers
  nftables conntrack iproute2 iptables                                 # networking and the service proxy
  ca-certificates
)
if [ "${1:-}" = "--test" ]; then
  # Only the test suite needs these: skopeo (registry interoperability) and etcd (datastore tests).
  DEB_PACKAGES+=(skopeo etcd-server)
fi

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Don't let package scripts start services (etcd-server would start a system etcd).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "error: kubelite needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  if ! "$PY" -m venv .venv 2>/dev/null; then
    apt-get install -y -qq python3-venv >/dev/null
    rm -rf .venv
    "$PY" -m venv .venv
  fi
fi
stamp=.venv/.kubelite-lock
if [ ! -f "$stamp" ] || ! cmp -s requirements.lock "$stamp"; then
  echo "==> installing Python packages (requirements.lock)"
  # The lock is a complete, tested set: install exactly it (kubernetes 37 declares python-dateutil>=3
  # while botocore declares <3; both work with the pinned 2.9 in our tests).
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements.lock
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
  cp requirements.lock "$stamp"
fi
