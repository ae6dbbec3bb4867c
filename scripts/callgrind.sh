#!/usr/bin/env bash
# Instructions per request of one request kind: the optimised server, PROFILE below (or SERVER=... any binary
# taking `--config`; BARE=1 for examples/bare_hyper, status only) under callgrind, N requests
# on one keep-alive connection after a warm-up, instrumentation on only while they run.
# Instruction counts do not move with the machine's load, so they compare builds exactly.
#
#   scripts/callgrind.sh [CASE]     # CASE: status (default), lookup1, lookup1000, v1
#   N=300 KEEP=1 scripts/callgrind.sh lookup1000   # keep the profile for callgrind_annotate
#
# The lookup cases seed COUNT associations (default 100 000) with examples/seed first.
set -euo pipefail
cd "$(dirname "$0")/.."
# The build measured: `dist` (what packages run, and every figure in docs/benchmarks.md
# unless it says otherwise) or `release` (Cargo.toml, the two profiles).
PROFILE="${PROFILE:-dist}"
CASE="${1:-status}"
case "$CASE" in
  status) n_default=5000 ;;
  lookup1) n_default=2000 ;;
  v1) n_default=1000 ;;
  lookup1000) n_default=50 ;;
  *) echo "unknown case $CASE (status, lookup1, lookup1000, v1)" >&2; exit 2 ;;
esac
N="${N:-$n_default}"
COUNT="${COUNT:-100000}"
PORT="${PORT:-8097}"
export PORT
cargo build --profile "$PROFILE" --quiet --bin oxident --example bare_hyper --example seed
work="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
# shellcheck source=status-config.sh
. scripts/status-config.sh
write_status_config "$work"
if [ "$CASE" != status ]; then
  echo "== seed $COUNT associations" >&2
  target/$PROFILE/examples/seed "$work/oxident.sqlite" "$work/bench" "$COUNT" >/dev/null
  printf '[ratelimit]\nlookup_per_ip_per_second = 1000000000\n' >>"$work/oxident.toml"
fi
if [ -n "${BARE:-}" ]; then
  cmd=(target/$PROFILE/examples/bare_hyper "127.0.0.1:$PORT")
else
  cmd=("${SERVER:-target/$PROFILE/oxident}" --config "$work/oxident.toml")
fi
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg" "${cmd[@]}" \
  >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  curl -fsS -o /dev/null http://127.0.0.1:$PORT/_matrix/identity/v2 2>/dev/null && break
  sleep 0.2
done
client() { # count
  python3 - "$1" "$CASE" "$work/bench" "$PORT" <<'PY'
import http.client, pathlib, sys, urllib.parse
count, case, bench = int(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
method, path, body, headers = "GET", "/_matrix/identity/v2", None, {}
if case in ("lookup1", "lookup1000"):
    method, path = "POST", "/_matrix/identity/v2/lookup"
    body = (bench / f"{case}.json").read_bytes()
    headers = {"Content-Type": "application/json",
               "Authorization": "Bearer " + (bench / "token").read_text().strip()}
elif case == "v1":
    address = urllib.parse.quote((bench / "v1_address").read_text().strip())
    path = f"/_matrix/identity/api/v1/lookup?medium=email&address={address}"
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[4]))
for _ in range(count):
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse(); data = r.read()
    assert r.status == 200, (r.status, data)
    assert case == "status" or b"@user" in data, data
PY
}
client "$(( N / 5 + 10 ))"
callgrind_control -i on "$pid" >/dev/null
client "$N"
callgrind_control -i off "$pid" >/dev/null
callgrind_control -d "$pid" >/dev/null
sleep 1
kill "$pid"; wait "$pid" 2>/dev/null || true
total="$(callgrind_annotate "$work"/cg.* 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
echo "$CASE: Ir per request: $((total / N)) ($N requests)"
if [ -n "${KEEP:-}" ]; then echo "profile kept: callgrind_annotate $work/cg.*"; fi
