#!/usr/bin/env bash
# Scale benchmark: v2/v1 lookups with many associations, on SQLite or PostgreSQL, one
# instance or two; index build time and memory at start. Sibling of scripts/load.sh (same
# pinning and wrk settings); rows seeded in bulk by examples/seed_bulk.rs (COPY on PostgreSQL).
#
#   BACKEND=sqlite   COUNTS="100000 1000000" scripts/load-scale.sh
#   BACKEND=postgres COUNTS="100000 1000000 10000000" scripts/load-scale.sh
#
# PostgreSQL: BENCH_DATABASE_URL (an admin URL) or a throwaway cluster (scripts/pg-cluster.sh)
# started and stopped here; a fresh database per count. TWO=1 (PostgreSQL only) also runs two
# instances on that database, each with its own wrk (half the connections), and sums.
set -euo pipefail
cd "$(dirname "$0")/.."
# The build measured: `dist` (what packages run, and every figure in docs/benchmarks.md
# unless it says otherwise) or `release` (Cargo.toml, the two profiles).
PROFILE="${PROFILE:-dist}"

BACKEND="${BACKEND:-sqlite}"
COUNTS="${COUNTS:-100000 1000000}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-3s}"
SERVER_CPU="${SERVER_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
PORT="${PORT:-8097}"
PORT_B="${PORT_B:-8096}"
TWO="${TWO:-1}"

for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y $tool)" >&2; exit 2; }
done
if [[ -z "${SKIP_BUILD:-}" ]]; then
  echo "== build ($PROFILE)" >&2
  cargo build --profile "$PROFILE" --quiet --bin oxident --example seed_bulk
fi

work="$(mktemp -d)"
pids=()
pg_dir=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n "$pg_dir" ]] && { scripts/pg-cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
  rm -rf "$work"
}
trap cleanup EXIT

admin="${BENCH_DATABASE_URL:-}"
if [[ "$BACKEND" == postgres && -z "$admin" ]]; then
  pg_dir="$(mktemp -d)"
  admin="$(scripts/pg-cluster.sh start "$pg_dir")"
fi
psql_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)/psql"

wait_up() { # url log
  for _ in $(seq 1 1200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not come up at $1" >&2; tail -n 20 "$2" >&2; exit 1
}
summary() { # wrk output -> "rps p50 p99"
  awk '/^Requests\/sec/ {r=$2} $1 == "50%" {p=$2} $1 == "99%" {q=$2} END {print r, p, q}' <<<"$1"
}
config() { # dir port database-section
  cat >"$1/oxident-$2.toml" <<TOML
[server]
bind = "127.0.0.1:$2"
server_name = "localhost:$2"
public_base_url = "http://127.0.0.1:$2"
$3
[keys]
signing_key_path = "$1/signing.key"
[email]
outbox_dir = "$1/outbox"
[ratelimit]
lookup_per_ip_per_second = 1000000000
TOML
}
start() { # dir port -> pid in $started
  taskset -c "$SERVER_CPU" target/$PROFILE/oxident --config "$1/oxident-$2.toml" >"$1/server-$2.log" 2>&1 &
  started=$!
  pids+=("$started")
  wait_up "http://127.0.0.1:$2/_matrix/identity/v2" "$1/server-$2.log"
}

results="$work/results"
: >"$results"
lua="scripts/wrk/post_json.lua"
for count in $COUNTS; do
  dir="$work/$count"
  mkdir -p "$dir"
  if [[ "$BACKEND" == postgres ]]; then
    db="scale_$count"
    "$psql_bin" -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    url="${admin%/*}/$db"
    target="$url"
    section=$'[database]\nurl = "'"$url"$'"'
  else
    target="$dir/oxident.sqlite"
    section=$'[storage]\nsqlite_path = "'"$target"$'"'
  fi
  echo "== $BACKEND: seed $count" >&2
  seed_start=$(date +%s.%N)
  target/$PROFILE/examples/seed_bulk "$BACKEND" "$target" "$dir/bench" "$count"
  seed_s=$(echo "$(date +%s.%N) - $seed_start" | bc)
  token="$(cat "$dir/bench/token")"
  v1="http://127.0.0.1:$PORT/_matrix/identity/api/v1/lookup?medium=email&address=$(sed 's/@/%40/' "$dir/bench/v1_address")"

  config "$dir" "$PORT" "$section"
  t0=$(date +%s.%N)
  start "$dir" "$PORT"; a=$started
  up_s=$(echo "$(date +%s.%N) - $t0" | bc)
  line="$(grep -m1 'lookup hashes loaded' "$dir/server-$PORT.log")"
  kib="$(grep -o 'kib=[0-9]*' <<<"$line" | cut -d= -f2)"
  ms="$(grep -o 'ms=[0-9]*' <<<"$line" | cut -d= -f2)"
  rss="$(awk '/^VmRSS/ {print $2}' /proc/$a/status)"
  printf '%s %s start seed_s=%.1f up_s=%.1f index_build_ms=%s index_kib=%s bytes_per_assoc=%s rss_kib=%s\n' \
    "$BACKEND" "$count" "$seed_s" "$up_s" "$ms" "$kib" "$(( kib * 1024 / count ))" "$rss" | tee -a "$results" >&2

  base="http://127.0.0.1:$PORT/_matrix/identity/v2/lookup"
  n="$(curl -fsS -H "Authorization: Bearer $token" -d @"$dir/bench/lookup1000.json" "$base" | grep -o '"@user[0-9]*:example.org"' | wc -l)"
  [[ "$n" == 1000 ]] || { echo "1000-hash lookup matched $n" >&2; exit 1; }
  for case in lookup_v2_1 lookup_v2_1000 lookup_v1; do
    case "$case" in
      lookup_v2_1) args=(-s "$lua" "$base"); body="$dir/bench/lookup1.json" ;;
      lookup_v2_1000) args=(-s "$lua" "$base"); body="$dir/bench/lookup1000.json" ;;
      lookup_v1) args=("$v1"); body="" ;;
    esac
    TOKEN="$token" BODY_FILE="$body" taskset -c "$LOAD_CPU" wrk -t2 -c32 -d "$WARMUP" "${args[@]}" >/dev/null
    out="$(TOKEN="$token" BODY_FILE="$body" taskset -c "$LOAD_CPU" wrk -t2 -c32 -d "$DURATION" --latency "${args[@]}")"
    grep -q "Non-2xx" <<<"$out" && { echo "$out" >&2; exit 1; }
    echo "$BACKEND $count one_instance $case $(summary "$out")" | tee -a "$results" >&2
  done

  if [[ "$BACKEND" == postgres && "$TWO" == 1 ]]; then
    config "$dir" "$PORT_B" "$section"
    start "$dir" "$PORT_B"; b=$started
    base_b="http://127.0.0.1:$PORT_B/_matrix/identity/v2/lookup"
    for case in lookup_v2_1 lookup_v2_1000; do
      body="$dir/bench/lookup${case#lookup_v2_}.json"
      # (`wait` with pids: a bare `wait` would also wait for the servers.)
      TOKEN="$token" BODY_FILE="$body" taskset -c "$LOAD_CPU" wrk -t1 -c16 -d "$WARMUP" -s "$lua" "$base" >/dev/null &
      w1=$!
      TOKEN="$token" BODY_FILE="$body" taskset -c "$LOAD_CPU" wrk -t1 -c16 -d "$WARMUP" -s "$lua" "$base_b" >/dev/null &
      w2=$!
      wait "$w1" "$w2"
      TOKEN="$token" BODY_FILE="$body" taskset -c "$LOAD_CPU" wrk -t1 -c16 -d "$DURATION" --latency -s "$lua" "$base" >"$dir/wa" &
      w1=$!
      TOKEN="$token" BODY_FILE="$body" taskset -c "$LOAD_CPU" wrk -t1 -c16 -d "$DURATION" --latency -s "$lua" "$base_b" >"$dir/wb" &
      w2=$!
      wait "$w1" "$w2"
      read -r ra pa qa <<<"$(summary "$(cat "$dir/wa")")"
      read -r rb pb qb <<<"$(summary "$(cat "$dir/wb")")"
      echo "$BACKEND $count two_instances $case $(echo "$ra + $rb" | bc) A:$pa/$qa B:$pb/$qb" | tee -a "$results" >&2
    done
    kill "$b"; wait "$b" 2>/dev/null || true
  fi
  kill "$a"; wait "$a" 2>/dev/null || true
  if [[ "$BACKEND" == postgres ]]; then
    "$psql_bin" -q "$admin" -c "DROP DATABASE scale_$count" >/dev/null
  fi
done

echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  cpus: $(nproc)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -c32 -d$DURATION (after $WARMUP); server(s) on CPU $SERVER_CPU, wrk on CPU $LOAD_CPU"
echo "backend count instances case req/s p50 p99"
cat "$results"
