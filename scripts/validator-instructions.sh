#!/usr/bin/env bash
# Instructions per validation of the two benchmarked validators (bind and 1000-hash
# lookup bodies), counted by callgrind: unlike criterion's times, the counts do not move
# with the machine's load. With a git revision as argument, the same is measured on that
# revision's generated crate (the example is copied into a temporary worktree) for a
# before/after comparison.
#
#   scripts/validator-instructions.sh            # this tree
#   scripts/validator-instructions.sh 817fa47    # this tree and 817fa47
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

measure() { # <tree> <label>
    local tree=$1 label=$2 bin
    (cd "$tree" && cargo build -q --release -p oxident-api --example validate_loop)
    bin="$tree/target/release/examples/validate_loop"
    for case in bind lookup; do
        local a b
        a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$case" 1000 2>&1 | awk '/Collected/ {print $4}')
        b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$case" 3000 2>&1 | awk '/Collected/ {print $4}')
        echo "$label $case: $(( (b - a) / 2000 )) instructions per validation"
    done
}

if [ $# -ge 1 ]; then
    dir=$(mktemp -d)
    trap 'git worktree remove --force "$dir" >/dev/null 2>&1 || true' EXIT
    git worktree add -q --detach "$dir" "$1"
    mkdir -p "$dir/generated/examples"
    cp generated/examples/validate_loop.rs "$dir/generated/examples/"
    measure "$dir" "$1"
fi
measure . "$(git rev-parse --short HEAD)"
