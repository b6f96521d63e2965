#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for tests.
#
#   scripts/pg-throwaway.sh start DIR   # prints postgres://postgres@127.0.0.1:PORT/tessera (also in DIR/url)
#   scripts/pg-throwaway.sh stop DIR    # stops the cluster and removes DIR
#
# Layout: DIR/data (PGDATA), DIR/.s.PGSQL.PORT (socket), DIR/log, DIR/url.
# Trust auth, loopback only, durability off (fsync etc.): never use for real data.
# As root, the server runs as the `postgres` OS user; otherwise as the current user.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

die() { echo "pg-throwaway: error: $*" >&2; exit 1; }
log() { echo "pg-throwaway: $*" >&2; }

as_pg() {
  # cd /: the postgres user may not be allowed into the caller's working directory.
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

ensure_installed() {
  if [ -x "$PGBIN/initdb" ] && { [ "$(id -u)" -ne 0 ] || id postgres >/dev/null 2>&1; }; then
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL 15 not found in $PGBIN; install postgresql-15 (needs root)"
  log "installing postgresql-15 with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql-15; } >&2 \
    || die "apt-get install postgresql-15 failed"
  [ -x "$PGBIN/initdb" ] || die "postgresql-15 installed but $PGBIN/initdb is missing"
  id postgres >/dev/null 2>&1 || die "postgresql-15 installed but OS user 'postgres' is missing"
}

# A port nobody listens on now (the server start is retried if we lose a race).
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  die "no free TCP port found on 127.0.0.1"
}

running() { [ -f "$1/data/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" status -D "$1/data" >/dev/null 2>&1; }

# Only ever delete what looks like ours: an empty dir, or one we marked or that holds a cluster.
ours() { [ -z "$(ls -A "$1")" ] || [ -f "$1/.pg-throwaway" ] || [ -f "$1/data/PG_VERSION" ]; }

start() {
  local dir=$1 port url
  ensure_installed
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)

  if running "$dir" && [ -s "$dir/url" ]; then   # already up: idempotent
    cat "$dir/url"; return
  fi
  ours "$dir" || die "$dir is not empty and not a throwaway cluster; refusing to touch it"
  running "$dir" && as_pg "$PGBIN/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null 2>&1 || true
  find "$dir" -mindepth 1 -delete
  touch "$dir/.pg-throwaway"

  # Unix socket paths are limited to 107 bytes.
  [ ${#dir} -le 90 ] || die "DIR path too long for a unix socket ($dir); use a shorter one"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  chmod 700 "$dir"
  as_pg test -w "$dir" || die "OS user postgres cannot write $dir (is a parent directory closed to it?)"

  as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale -E UTF8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed (log above)"; }
  cat >>"$dir/data/postgresql.conf" <<EOF

# pg-throwaway settings
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_pg "$PGBIN/pg_ctl" start -D "$dir/data" -l "$dir/log" -o "-p $port" -w -t 60 >/dev/null; then
      break
    fi
    running "$dir" && as_pg "$PGBIN/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null 2>&1 || true
    [ "$attempt" -lt 5 ] || { tail -n 30 "$dir/log" >&2 || true; die "server failed to start (log above: $dir/log)"; }
    log "start on port $port failed, retrying with another port"
  done

  for _ in $(seq 60); do
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
  done
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" || die "server not accepting connections on port $port"

  # The role `postgres` is the superuser created by initdb.
  "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres tessera || die "createdb tessera failed"

  url="postgres://postgres@127.0.0.1:$port/tessera"
  echo "$url" >"$dir/url"
  echo "$url"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || { log "$dir does not exist; nothing to stop"; return; }
  ours "$dir" || die "$dir is not a throwaway cluster; refusing to delete it"
  if running "$dir"; then
    as_pg "$PGBIN/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null || die "pg_ctl stop failed for $dir"
  fi
  rm -rf "$dir" || die "could not remove $dir"
}

case "${1:-}:${2:-}" in
  start:?*) start "$2" ;;
  stop:?*) stop "$2" ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
