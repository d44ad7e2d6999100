#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: a new cluster in a temporary folder, listening
# only on a Unix socket in that folder (no TCP port), run as a non-root user (nobody when
# called as root, since PostgreSQL refuses to run as root). Nothing outside the folder changes.
#
#   tests/support/postgres.sh run CMD ARGS...   start, run CMD with the URL exported, stop
#   eval "$(tests/support/postgres.sh start)"   start; prints the export lines for
#                                               RECOVERY_BOT_TEST_DATABASE_URL and
#                                               RECOVERY_BOT_TEST_PGDIR
#   tests/support/postgres.sh stop DIR          stop the server started in DIR, remove DIR
#   tests/support/postgres.sh find              print the folder of initdb/pg_ctl, or fail
#
# Example: tests/support/postgres.sh run .venv/bin/python -m pytest tests/store
# Needs PostgreSQL's server programs (Debian: apt-get install postgresql).
set -euo pipefail

PORT=5432  # only names the socket file (.s.PGSQL.5432) inside the folder; no TCP listener

find_bin() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then
    echo "$PG_BIN"
    return 0
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$newest" ] && [ -x "$newest/initdb" ] && [ -x "$newest/pg_ctl" ]; then
    echo "$newest"
    return 0
  fi
  echo "postgres.sh: PostgreSQL's initdb and pg_ctl were not found;" \
    "install them (Debian: apt-get install postgresql) or set PG_BIN" >&2
  return 1
}

# Run a command as the server's user: nobody when we are root, else ourselves.
as_server_user() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PGDIR" "$@"
  else
    "$@"
  fi
}

start() {
  local bin started finished
  bin=$(find_bin)
  started=$(date +%s%3N)
  PGDIR=$(mktemp -d /tmp/recovery-bot-pg.XXXXXX)
  chmod 700 "$PGDIR"
  if [ "$(id -u)" = 0 ]; then
    chown 65534:65534 "$PGDIR"
  fi
  (
    cd "$PGDIR"
    as_server_user "$bin/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C \
      --no-sync >"$PGDIR/initdb.log" 2>&1 ||
      { cat "$PGDIR/initdb.log" >&2; exit 1; }
    as_server_user "$bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
      -o "-k $PGDIR -p $PORT -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >"$PGDIR/pg_ctl.log" 2>&1 ||
      { cat "$PGDIR/pg_ctl.log" "$PGDIR/server.log" >&2; exit 1; }
  ) || { rm -rf "$PGDIR"; return 1; }
  finished=$(date +%s%3N)
  local elapsed=$((finished - started))
  printf 'postgres.sh: PostgreSQL %s started in %d.%03d s (socket in %s)\n' \
    "$("$bin/pg_ctl" --version | awk '{print $3}')" \
    $((elapsed / 1000)) $((elapsed % 1000)) "$PGDIR" >&2
  echo "export RECOVERY_BOT_TEST_DATABASE_URL='postgresql:///postgres?host=$PGDIR&port=$PORT&user=postgres'"
  echo "export RECOVERY_BOT_TEST_PGDIR='$PGDIR'"
}

stop() {
  PGDIR=${1:?usage: postgres.sh stop DIR}
  case "$PGDIR" in
    /tmp/recovery-bot-pg.*) ;;
    *) echo "postgres.sh: $PGDIR is not a folder this script made" >&2; return 1 ;;
  esac
  local bin
  bin=$(find_bin)
  if [ -f "$PGDIR/data/postmaster.pid" ]; then
    (cd "$PGDIR" && as_server_user "$bin/pg_ctl" -D "$PGDIR/data" -m fast -w -t 30 stop \
      >/dev/null) || echo "postgres.sh: could not stop the server in $PGDIR" >&2
  fi
  rm -rf "$PGDIR"
}

case "${1:-}" in
  find) find_bin ;;
  start) start ;;
  stop) stop "${2:-}" ;;
  run)
    shift
    [ $# -gt 0 ] || { echo "usage: postgres.sh run CMD ARGS..." >&2; exit 2; }
    exports=$(start)
    eval "$exports"
    trap 'stop "$RECOVERY_BOT_TEST_PGDIR"' EXIT
    "$@"
    ;;
  *)
    sed -n '2,15p' "$0" >&2
    exit 2
    ;;
esac
