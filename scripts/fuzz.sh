#!/usr/bin/env bash
# Runs one of the generator's fuzz targets for a set time, seeded with every corpus spec
# under 64 KiB and the saved regressions; a crash is saved under xtask/fuzz/artifacts/.
#   scripts/fuzz.sh yaml_loader 600
#   scripts/fuzz.sh spec_model 600
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?target: yaml_loader or spec_model}"
seconds="${2:-600}"
shared="${SHARED_DIR:-../shared}"
corpus="target/fuzz-corpus/$target"
mkdir -p "$corpus"
for f in "$shared"/openapi-corpus/*/* "$shared"/openapi-corpus/gaps/*/* \
  xtask/tests/gaps/*/* xtask/tests/gaps/*/*/*/* xtask/tests/fixtures/*/* spec/*.yaml \
  xtask/fuzz/regressions/*; do
  [ -f "$f" ] || continue
  [ "$(stat -c %s "$f")" -lt 65536 ] || continue
  cp "$f" "$corpus/$(echo "$f" | tr '/' '_')"
done
cd xtask
exec cargo +nightly fuzz run "$target" "../$corpus" -- \
  -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1
