#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and benchmarks: initdb in a folder, listening on
# 127.0.0.1 (random port) and a Unix socket in that folder only, trust authentication (nothing
# else can reach it), fsync off (it holds test data).
#
#   scripts/pg-cluster.sh start DIR   # prints the admin URL, e.g. postgres://oxident@127.0.0.1:41234/postgres
#   scripts/pg-cluster.sh stop DIR    # stops it (then rm -rf DIR)
#
#   export TEST_POSTGRES_URL="$(scripts/pg-cluster.sh start /tmp/pg)"
#   cargo test --test it             # the PostgreSQL half of the suite
#
# Needs the server binaries (Debian: apt-get install -y postgresql). initdb refuses to run as
# root: as root, the cluster runs as the `postgres` user (created by the package).
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

bindir="${PG_BINDIR:-}"
if [[ -z "$bindir" ]]; then
  if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/initdb" ]]; then
    bindir="$(pg_config --bindir)"
  else
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  fi
fi
[[ -x "$bindir/initdb" ]] || { echo "PostgreSQL server binaries not found (apt-get install -y postgresql, or set PG_BINDIR)" >&2; exit 1; }

as_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$dir"
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      as_owner "$bindir/initdb" -D "$dir/data" -U oxident --auth=trust --encoding=UTF8 \
        --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      port="$(shuf -i 20000-60000 -n 1)"
      if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        >/dev/null 2>&1; then
        echo "postgres://oxident@127.0.0.1:$port/postgres"
        exit 0
      fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
  stop)
    dir="$(cd "$dir" && pwd)"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
