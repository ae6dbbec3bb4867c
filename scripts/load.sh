#!/usr/bin/env bash
# Load benchmark on loopback: the optimised server (PROFILE below) with 100 000 seeded email associations,
# measured with wrk, against a bare hyper server answering `{}` (examples/bare_hyper.rs, the
# issue's baseline) and a bare axum one (examples/bare.rs, for reference).
#
#   scripts/load.sh                  # DURATION=10s WARMUP=3s COUNT=100000 by default
#   BENCH_SERVER=../old/target/release/oxident scripts/load.sh    # another build, same seed
#
# Pinning (2-core machine): the server runs on CPU $SERVER_CPU (default 0) and wrk on
# CPU $LOAD_CPU (default 1), both with `taskset -c`, so they never compete for a core.
# Tokio sizes its worker pool from the affinity mask, so the server runs one worker.
# wrk: 2 threads, 32 connections, --latency. Peak RSS is VmHWM from /proc/<pid>/status after
# all runs against that server.
set -euo pipefail
cd "$(dirname "$0")/.."
# The build measured: `dist` (what packages run, and every figure in docs/benchmarks.md
# unless it says otherwise) or `release` (Cargo.toml, the two profiles).
PROFILE="${PROFILE:-dist}"

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-3s}"
COUNT="${COUNT:-100000}"
SERVER_CPU="${SERVER_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
PORT="${PORT:-8097}"
BARE_PORT="${BARE_PORT:-8098}"
HYPER_PORT="${HYPER_PORT:-8099}"
# Another build of the server to measure (an earlier commit's, say) against the same seed. Not
# named OXIDENT_*: the server reads every OXIDENT_* variable as configuration.
BENCH_SERVER="${BENCH_SERVER:-target/$PROFILE/oxident}"
WRK=(taskset -c "$LOAD_CPU" wrk -t2 -c32 --latency)

for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y $tool)" >&2; exit 2; }
done

echo "== build ($PROFILE)" >&2
cargo build --profile "$PROFILE" --quiet --bin oxident --example seed --example bare --example bare_hyper

work="$(mktemp -d)"
shm="$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work" "$shm"
}
trap cleanup EXIT

echo "== seed $COUNT associations" >&2
# Every bind is an fsynced transaction (synchronous=FULL): seed on tmpfs, then copy the
# closed database (WAL checkpointed on close) into the server's data folder on disk.
target/$PROFILE/examples/seed "$shm/oxident.sqlite" "$work/bench" "$COUNT"
mkdir -p "$work/data"
cp "$shm/oxident.sqlite" "$work/data/oxident.sqlite"
rm -rf "$shm"

cat >"$work/oxident.toml" <<TOML
[server]
bind = "127.0.0.1:$PORT"
server_name = "localhost:$PORT"
public_base_url = "http://127.0.0.1:$PORT"
[storage]
sqlite_path = "$work/data/oxident.sqlite"
[keys]
signing_key_path = "$work/data/signing.key"
[email]
outbox_dir = "$work/data/outbox"
[ratelimit]
lookup_per_ip_per_second = 1000000000
TOML

wait_up() { # url
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not come up at $1" >&2
  tail -n 20 "$work/server.log" >&2 2>/dev/null || true
  exit 1
}

base="http://127.0.0.1:$PORT"
token="$(cat "$work/bench/token")"
v1_address="$(cat "$work/bench/v1_address")"
v1_url="$base/_matrix/identity/api/v1/lookup?medium=email&address=${v1_address/@/%40}"

results="$work/results"
: >"$results"
run() { # name, wrk arguments...
  local name="$1"; shift
  "${WRK[@]}" -d "$WARMUP" "$@" >/dev/null
  local out
  out="$("${WRK[@]}" -d "$DURATION" "$@")"
  printf '%s\n' "--- $name" "$out" >&2
  if grep -q "Non-2xx" <<<"$out"; then
    echo "$name: non-2xx answers, see above" >&2
    exit 1
  fi
  local rps p50 p99
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  printf '%s %s %s %s\n' "$name" "$rps" "$p50" "$p99" >>"$results"
}
vmhwm() { awk '/^VmHWM/ {print $2 " " $3}' "/proc/$1/status"; }

echo "== oxident (CPU $SERVER_CPU) vs wrk (CPU $LOAD_CPU), $DURATION per case after $WARMUP warm-up" >&2
taskset -c "$SERVER_CPU" "$BENCH_SERVER" --config "$work/oxident.toml" \
  >"$work/server.log" 2>&1 &
server=$!
pids+=("$server")
wait_up "$base/_matrix/identity/v2"
echo "server RSS after start: $(awk '/^VmRSS/ {print $2 " " $3}' /proc/$server/status)" >&2

# Sanity: every case answers 200 with what it should.
auth=(-H "Authorization: Bearer $token")
n1000="$(curl -fsS "${auth[@]}" -d @"$work/bench/lookup1000.json" "$base/_matrix/identity/v2/lookup" \
  | grep -o '"@user[0-9]*:example.org"' | wc -l)"
[ "$n1000" = 1000 ] || { echo "1000-hash lookup matched $n1000, expected 1000" >&2; exit 1; }
curl -fsS "${auth[@]}" -d @"$work/bench/lookup1.json" "$base/_matrix/identity/v2/lookup" | grep -q '@user0:example.org'
curl -fsS "$v1_url" | grep -q '"signatures"'

lua="scripts/wrk/post_json.lua"
run status "$base/_matrix/identity/v2"
TOKEN="$token" BODY_FILE="$work/bench/lookup1.json" run lookup_v2_1 -s "$lua" "$base/_matrix/identity/v2/lookup"
TOKEN="$token" BODY_FILE="$work/bench/lookup1000.json" run lookup_v2_1000 -s "$lua" "$base/_matrix/identity/v2/lookup"
run lookup_v1 "$v1_url"
server_hwm="$(vmhwm "$server")"
kill "$server"; wait "$server" 2>/dev/null || true

# A baseline server on the server's CPU: name, binary, port. Sets `baseline_hwm`.
baseline() {
  echo "== $1 (CPU $SERVER_CPU)" >&2
  taskset -c "$SERVER_CPU" "$2" "127.0.0.1:$3" &
  local pid=$!
  pids+=("$pid")
  wait_up "http://127.0.0.1:$3/_matrix/identity/v2"
  run "${1}_status" "http://127.0.0.1:$3/_matrix/identity/v2"
  baseline_hwm="$(vmhwm "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
baseline bare target/$PROFILE/examples/bare "$BARE_PORT"
bare_hwm="$baseline_hwm"
baseline bare_hyper target/$PROFILE/examples/bare_hyper "$HYPER_PORT"

echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  cpus: $(nproc)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "load average before the summary: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t2 -c32 -d$DURATION --latency (after $WARMUP warm-up); server on CPU $SERVER_CPU, wrk on CPU $LOAD_CPU; $COUNT associations"
printf '%-16s %12s %10s %10s\n' case req/s p50 p99
while read -r name rps p50 p99; do
  printf '%-16s %12s %10s %10s\n' "$name" "$rps" "$p50" "$p99"
done <"$results"
rps_of() { awk -v n="$1" '$1 == n {print $2}' "$results"; }
awk -v s="$(rps_of status)" -v b="$(rps_of bare_status)" -v h="$(rps_of bare_hyper_status)" -v l="$(rps_of lookup_v2_1)" 'BEGIN {
  printf "status / bare hyper:    %.1f %% (target >= 80 %%)\n", 100 * s / h
  printf "status / bare axum:     %.1f %% (for reference)\n", 100 * s / b
  printf "lookup_v2_1 / status:   %.1f %% (target >= 70 %%)\n", 100 * l / s
}'
echo "peak RSS (VmHWM): oxident $server_hwm (target <= 22 MiB = 22528 kB), bare $bare_hwm"
