#!/usr/bin/env bash
# The status target measured where wall-clock noise cannot move it: CPU time per status request
# (utime + stime of the server over a wrk run, divided by wrk's request count), for oxident and
# the bare hyper baseline in turn, plus req/s. With one core for the server, capacity is
# 1 / (CPU per request), so the CPU ratio is the capacity ratio.
#
#   scripts/status-cpu.sh                       # ROUNDS=2 DURATION=6s
#   OLD=/tmp/oldtarget/release/oxident scripts/status-cpu.sh   # also an earlier build
#
# Server on CPU $SERVER_CPU (0), wrk -t2 -c32 on CPU $LOAD_CPU (1), 2 s warm-up per server.
set -euo pipefail
cd "$(dirname "$0")/.."
# The build measured: `dist` (what packages run, and every figure in docs/benchmarks.md
# unless it says otherwise) or `release` (Cargo.toml, the two profiles).
PROFILE="${PROFILE:-dist}"
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-6s}"
SERVER_CPU="${SERVER_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
cargo build --profile "$PROFILE" --quiet --bin oxident --example bare_hyper
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=status-config.sh
. scripts/status-config.sh
write_status_config "$work"
one() { # name port command...
  local name="$1" port="$2"; shift 2
  taskset -c "$SERVER_CPU" "$@" >"$work/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/_matrix/identity/v2" 2>/dev/null && break
    sleep 0.1
  done
  local url="http://127.0.0.1:$port/_matrix/identity/v2"
  taskset -c "$LOAD_CPU" wrk -t2 -c32 -d2s "$url" >/dev/null
  local before after out
  before="$(awk '{print $14 + $15}' "/proc/$pid/stat")"
  out="$(taskset -c "$LOAD_CPU" wrk -t2 -c32 -d"$DURATION" "$url")"
  read -r user system < <(awk '{print $14, $15}' "/proc/$pid/stat")
  after=$((user + system))
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v name="$name" -v ticks="$((after - before))" -v hz="$(getconf CLK_TCK)" \
    -v n="$(awk '/requests in/ {print $1}' <<<"$out")" \
    -v rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    'BEGIN {printf "%-12s %9.0f req/s  %6.2f us CPU per request\n", name, rps, ticks * 1e6 / hz / n}'
}
for _ in $(seq 1 "$ROUNDS"); do
  one oxident 8097 target/$PROFILE/oxident --config "$work/oxident.toml"
  if [ -n "${OLD:-}" ]; then one old 8097 "$OLD" --config "$work/oxident.toml"; fi
  one bare_hyper 8099 target/$PROFILE/examples/bare_hyper 127.0.0.1:8099
done
