#!/usr/bin/env bash
# A private PostgreSQL for the test suite: own data dir and socket dir, port 55432 (override PGPORT).
# Usage: scripts/pg.sh start|stop|url
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
BASE="${DOCEXCHANGE_PG_DIR:-/tmp/docexchange-pg}"
PORT="${PGPORT:-55432}"
URL="postgresql+psycopg://docexchange:docexchange@127.0.0.1:${PORT}/docexchange"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-}" in
  start)
    [ -n "$PGBIN" ] || { echo "PostgreSQL server binaries not found (install Debian postgresql)"; exit 1; }
    mkdir -p "$BASE"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$BASE"
    if [ ! -f "$BASE/data/PG_VERSION" ]; then
      as_pg "$PGBIN/initdb" -D "$BASE/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_pg "$PGBIN/pg_ctl" -D "$BASE/data" status >/dev/null 2>&1; then
      as_pg "$PGBIN/pg_ctl" -D "$BASE/data" -l "$BASE/log" -w -t 60 \
        -o "-p $PORT -k $BASE -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
    fi
    psql_() { as_pg psql -h "$BASE" -p "$PORT" -U postgres -d postgres -tAqc "$1"; }
    [ "$(psql_ "SELECT 1 FROM pg_roles WHERE rolname='docexchange'")" = 1 ] || \
      psql_ "CREATE ROLE docexchange LOGIN SUPERUSER PASSWORD 'docexchange'"
    [ "$(psql_ "SELECT 1 FROM pg_database WHERE datname='docexchange'")" = 1 ] || \
      psql_ "CREATE DATABASE docexchange OWNER docexchange"
    echo "$URL"
    ;;
  stop)
    [ -f "$BASE/data/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$BASE/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|url"; exit 2 ;;
esac
