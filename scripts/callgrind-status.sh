#!/usr/bin/env bash
# Instructions per status request: the server (or SERVER=... any binary taking `--config`,
# BARE=1 for examples/bare_hyper) under callgrind, N requests (default 5000) on one keep-alive
# connection after 500 warm-up requests, instrumentation on only while they run.
#
#   scripts/callgrind-status.sh            # prints Ir per request; KEEP=1 keeps the profile
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-5000}"
cargo build --release --quiet --bin oxident --example bare_hyper
work="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
# shellcheck source=status-config.sh
. scripts/status-config.sh
write_status_config "$work"
if [ -n "${BARE:-}" ]; then
  cmd=(target/release/examples/bare_hyper 127.0.0.1:8097)
else
  cmd=("${SERVER:-target/release/oxident}" --config "$work/oxident.toml")
fi
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg" "${cmd[@]}" \
  >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  curl -fsS -o /dev/null http://127.0.0.1:8097/_matrix/identity/v2 2>/dev/null && break
  sleep 0.2
done
client() {
  python3 - "$1" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", 8097)
for _ in range(int(sys.argv[1])):
    c.request("GET", "/_matrix/identity/v2")
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
}
client 500
callgrind_control -i on "$pid" >/dev/null
client "$N"
callgrind_control -i off "$pid" >/dev/null
callgrind_control -d "$pid" >/dev/null
sleep 1
kill "$pid"; wait "$pid" 2>/dev/null || true
total="$(callgrind_annotate "$work"/cg.* 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
echo "Ir per request: $((total / N))"
if [ -n "${KEEP:-}" ]; then echo "profile kept: callgrind_annotate $work/cg.*"; fi
