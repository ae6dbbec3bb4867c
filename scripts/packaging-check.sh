#!/usr/bin/env bash
# The production path, checked: the systemd unit passes `systemd-analyze verify`, and the
# container image builds and runs (scripts/container-smoke.sh). Installs docker.io and
# debootstrap when missing and starts a Docker daemon (vfs storage) when none runs.
#
#   scripts/packaging-check.sh [BINARY]     # default: target/debug/oxident
set -euo pipefail
cd "$(dirname "$0")/.."
BINARY="${1:-target/debug/oxident}"
work="$(mktemp -d)"
dockerd_pid=""
cleanup() {
  [ -n "$dockerd_pid" ] && kill "$dockerd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== systemd-analyze verify packaging/systemd/oxident.service" >&2
# verify checks that ExecStart's binary exists: point it at this build.
sed "s#/usr/local/bin/oxident#$PWD/$BINARY#" packaging/systemd/oxident.service \
  >"$work/oxident.service"
out="$(systemd-analyze verify "$work/oxident.service" 2>&1)" || { echo "$out" >&2; exit 1; }
[ -z "$out" ] || { echo "$out" >&2; exit 1; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  dockerd --storage-driver=vfs >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 "$work/dockerd.log" >&2; exit 1; }
fi
scripts/container-smoke.sh "$BINARY"
