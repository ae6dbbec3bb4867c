#!/usr/bin/env bash
# Codegen cost per spec: wall time and peak RSS of the release xtask (median of N runs),
# operations and generated lines per operation. Specs: any files or folders given, else
# every spec of ../shared/openapi-corpus and ../shared/openapi-corpus-next.
#   scripts/codegen-cost.sh [-n RUNS] [SPEC...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
if [ "${1:-}" = "-n" ]; then runs="$2"; shift 2; fi
shared="${SHARED_DIR:-../shared}"
specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  for d in "$shared"/openapi-corpus/*/ "$shared"/openapi-corpus-next/*/; do
    case "$d" in */gaps/) continue ;; esac
    specs+=("${d%/}")
  done
fi
cargo build --quiet --release -p xtask
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
printf '| spec | operations | codegen wall (s) | CPU user+sys (s) | peak RSS (MiB) | generated lines | lines / operation |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for spec in "${specs[@]}"; do
  name="$(basename "$spec")"
  name="${name%.*}"
  times=() mems=() cpus=()
  for _ in $(seq "$runs"); do
    rm -rf "$out/crate"
    /usr/bin/time -f '%e %M %U %S' -o "$out/t" target/release/xtask codegen --spec "$spec" \
      --out "$out/crate" --crate-name "cost-$name" >/dev/null 2>&1
    read -r t m u sy <"$out/t"
    times+=("$t") mems+=("$m") cpus+=("$(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }')")
  done
  t="$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")"
  m="$(printf '%s\n' "${mems[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")"
  c="$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")"
  ops="$(grep -c 'OperationInfo::of::<' "$out/crate/src/validate.rs" || true)"
  lines="$(find "$out/crate/src" -name '*.rs' -print0 | xargs -0 cat | wc -l)"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$ops" "$t" "$c" "$((m / 1024))" "$lines" \
    "$([ "$ops" -gt 0 ] && echo $((lines / ops)) || echo -)"
done
