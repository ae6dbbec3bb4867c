#!/usr/bin/env bash
# The PostgreSQL half of the tests: the store's PostgreSQL tests (conformance, following,
# delivery claims), the multi-instance test and the whole integration suite on PostgreSQL.
# Uses TEST_POSTGRES_URL if set, else starts a throwaway cluster (scripts/pg-cluster.sh) and
# stops it afterwards. Without the PostgreSQL server installed it prints one SKIPPED line
# (and fails when CI is set). Extra arguments go to each `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${TEST_POSTGRES_URL:-}" ]]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1 \
    && [[ -z "${PG_BINDIR:-}" ]]; then
    if [[ -n "${CI:-}" ]]; then
      echo "CI is set but the PostgreSQL server is not installed (apt-get install -y postgresql)" >&2
      exit 1
    fi
    echo "SKIPPED the PostgreSQL tests: no PostgreSQL server; to run them: apt-get install -y postgresql, then scripts/test-postgres.sh"
    exit 0
  fi
  pg_dir="$(mktemp -d)"
  trap 'scripts/pg-cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"' EXIT
  TEST_POSTGRES_URL="$(scripts/pg-cluster.sh start "$pg_dir")"
fi
export TEST_POSTGRES_URL

cargo test --lib store::postgres "$@"
TEST_BACKEND=postgres cargo test --test it "$@"
