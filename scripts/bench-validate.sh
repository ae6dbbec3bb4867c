#!/usr/bin/env bash
# Request validation: our emitted validators (criterion, generated/benches/validate.rs) and
# ajv (generated/benches/ajv/bench.mjs) on the same schemas and payloads, in one run, with a
# comparison. Needs node and npm (installs ajv + ajv-formats into generated/benches/ajv).
#
#   scripts/bench-validate.sh          # both pinned to CPU $BENCH_CPU (default 1)
#
# criterion's figure is its estimate of the mean; ajv's is the median of 15 timed batches of
# a warm loop (see bench.mjs). Both include their loop's overhead (under 0.5 ns).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd generated/benches/ajv && { [ -d node_modules/ajv ] || npm ci --no-audit --no-fund --silent; })

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c "${BENCH_CPU:-1}")
cargo bench --quiet -p oxident-api --bench validate --no-run 2>/dev/null

rust="$(mktemp)"; js="$(mktemp)"
trap 'rm -f "$rust" "$js"' EXIT
"${PIN[@]}" cargo bench --quiet -p oxident-api --bench validate 2>/dev/null | tee "$rust" | grep -E '^[a-z]|time:'
"${PIN[@]}" node generated/benches/ajv/bench.mjs | tee "$js"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# criterion: "<name>   time:   [low mid high]" (mid = estimate) → ns
ns_rust() {
  awk -v n="$1" '
    $1 == n { found = 1 }
    found && /time:/ {
      sub(/.*time: *\[/, ""); split($0, f, " ")
      v = f[3]; u = f[4]
      if (u == "ps") v /= 1000; else if (u == "µs" || u == "us") v *= 1000; else if (u == "ms") v *= 1e6
      print v; exit
    }' "$rust"
}
ns_js() { awk -v n="$1" '$2 == n {print $3}' "$js"; }

echo
printf '%-22s %14s %16s %16s %10s\n' case "oxident (ns)" "ajv default" "ajv allErrors" "ours/ajv"
for c in validate/bind_v2 validate/lookup_v2_1000; do
  o="$(ns_rust "$c")"; a="$(ns_js "$c[default]")"; e="$(ns_js "$c[allErrors]")"
  awk -v c="$c" -v o="$o" -v a="$a" -v e="$e" 'BEGIN {
    best = (a < e) ? a : e
    printf "%-22s %14.2f %16.2f %16.2f %9.2fx\n", c, o, a, e, o / best }'
done
for c in bind_v2 lookup_v2_1000; do
  awk -v c="jsonschema/$c" -v o="$(ns_rust "jsonschema/$c")" 'BEGIN { printf "%-26s %10.2f   (the jsonschema crate, for reference)\n", c, o }'
done
o="$(ns_rust parse/bind_v2)"; a="$(ns_js 'parse/bind_v2[JSON.parse]')"
awk -v o="$o" -v a="$a" 'BEGIN { printf "%-22s %14.2f %16s %16s   (JSON.parse %.2f)\n", "parse/bind_v2", o, "-", "-", a }'
echo "ours/ajv < 1 means we are faster than ajv's faster configuration."
