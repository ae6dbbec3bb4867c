#!/usr/bin/env bash
# Builds the production image (Dockerfile) around an already built binary and checks that it
# runs as documented: as the unprivileged user, state in /data, the health check turning
# healthy, the API answering through a published port, and `docker stop` (SIGTERM) exiting 0.
#
#   scripts/container-smoke.sh [BINARY]     # default: target/debug/oxident
#
# Needs a Docker daemon (CI installs docker.io and starts dockerd). Registries other than
# Debian's are out of reach here, so the base image is made with debootstrap and the binary is
# given to the Dockerfile's BINARY_FROM instead of building it in a Rust image: the runtime
# stage, which is what ships, is the Dockerfile's own.
set -euo pipefail
cd "$(dirname "$0")/.."
BINARY="${1:-target/debug/oxident}"
TAG=oxident-smoke
work="$(mktemp -d)"
cleanup() {
  docker rm -f "$TAG" >/dev/null 2>&1 || true
  docker volume rm -f "$TAG-data" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! docker image inspect "$TAG/debian:bookworm" >/dev/null 2>&1; then
  echo "== base image: debootstrap bookworm (minbase, ca-certificates)" >&2
  debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" \
    http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/rootfs" -c . | docker import - "$TAG/debian:bookworm" >/dev/null
  rm -rf "$work/rootfs"
fi
echo "== binary image from $BINARY" >&2
mkdir -p "$work/bin"
cp "$BINARY" "$work/bin/oxident"
tar -C "$work/bin" -c oxident | docker import - "$TAG/binary" >/dev/null

echo "== docker build" >&2
# Without BuildKit (Debian's docker.io has no buildx) every stage is built, the Rust one too:
# the Dockerfile is taken without its `build` stage; the stages that ship are unchanged.
sed '/^FROM ${RUST_IMAGE} AS build$/,/^RUN cargo build/d' Dockerfile >"$work/Dockerfile"
grep -q 'AS build$' "$work/Dockerfile" && { echo "could not drop the build stage" >&2; exit 1; }
DOCKER_BUILDKIT=0 docker build -q -t "$TAG" -f "$work/Dockerfile" \
  --build-arg RUNTIME_IMAGE="$TAG/debian:bookworm" \
  --build-arg BINARY_FROM="$TAG/binary" . >/dev/null

echo "== run" >&2
docker run -d --name "$TAG" -v "$TAG-data:/data" \
  -p 127.0.0.1::8090 -p 127.0.0.1::9090 \
  --health-interval=1s --health-start-period=30s \
  -e OXIDENT_SERVER__SERVER_NAME=id.smoke.test "$TAG" >/dev/null
api_port="$(docker port "$TAG" 8090/tcp | head -1 | sed 's/.*://')"
status=""
for _ in $(seq 1 60); do
  status="$(docker inspect -f '{{.State.Health.Status}}' "$TAG")"
  [ "$status" = healthy ] && break
  sleep 1
done
if [ "$status" != healthy ]; then
  docker logs "$TAG" >&2
  echo "FAIL: health status '$status' after 60 s" >&2
  exit 1
fi
fail() { echo "FAIL: $*" >&2; docker logs "$TAG" >&2; exit 1; }
uid="$(docker exec "$TAG" id -u)"
[ "$uid" = 10001 ] || fail "runs as uid $uid, not the oxident user"
owner="$(docker exec "$TAG" stat -c '%U %a' /data/signing.key)"
[ "$owner" = "oxident 600" ] || fail "/data/signing.key is '$owner'"
docker exec "$TAG" test -f /data/oxident.sqlite || fail "no database in /data"
ping="$(curl -fsS "http://127.0.0.1:$api_port/_matrix/identity/v2")" || fail "the API does not answer"
[ "$ping" = "{}" ] || fail "ping answered $ping"
ready="$(docker exec "$TAG" oxident health --ready)" || fail "not ready: $ready"
docker stop -t 20 "$TAG" >/dev/null
code="$(docker inspect -f '{{.State.ExitCode}}' "$TAG")"
[ "$code" = 0 ] || fail "exit status $code after docker stop"
echo "container smoke test: ok (healthy, uid 10001, /data, API on a published port, SIGTERM exit 0)"
