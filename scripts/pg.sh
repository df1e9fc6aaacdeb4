#!/usr/bin/env bash
# A private, throwaway PostgreSQL server for the tests (docs/storage.md; toolchain notes §6).
#
#   bash scripts/pg.sh up          start one on a free loopback port; print its SQLAlchemy URL
#   bash scripts/pg.sh down [URL]  stop it and delete its data (URL defaults to
#                                  $BACKSTORY_TEST_POSTGRES_URL)
#
# Data lives in /tmp/backstory-pg-PORT, owned by postgres, with trust authentication on
# 127.0.0.1 only and fsync off: for tests, never for real records. As root the server runs as
# the postgres user (and PostgreSQL is installed with apt-get when no server is found);
# otherwise it runs as the current user. Progress goes to stderr, only the URL to stdout.
set -euo pipefail

say() { echo "pg.sh: $*" >&2; }

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

as_owner() {
  # Run a command as the server's owner: postgres when we are root, else ourselves.
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$1"
  else
    sh -c "$1"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

up() {
  local bin port data
  bin=$(find_bin)
  if [ -z "$bin" ]; then
    if [ "$(id -u)" != 0 ]; then
      say "no PostgreSQL server found and not root, so it cannot be installed"
      return 1
    fi
    say "installing PostgreSQL with apt-get"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2
    bin=$(find_bin)
    [ -n "$bin" ] || { say "PostgreSQL was installed but no server binary was found"; return 1; }
  fi
  port=$(free_port)
  data=/tmp/backstory-pg-$port
  rm -rf "$data"
  if [ "$(id -u)" = 0 ]; then
    install -d -m 700 -o postgres -g postgres "$data"
  else
    install -d -m 700 "$data"
  fi
  if ! as_owner "$bin/initdb -D $data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null" \
    || ! as_owner "$bin/pg_ctl -D $data -l $data/server.log -w -o '-h 127.0.0.1 -p $port -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off' start >/dev/null" \
    || ! as_owner "$bin/createdb -h 127.0.0.1 -p $port -U postgres backstory_test"; then
    say "could not start PostgreSQL (log: $data/server.log, if it got that far)"
    [ -f "$data/server.log" ] && tail -5 "$data/server.log" >&2
    as_owner "$bin/pg_ctl -D $data -m immediate -w stop >/dev/null 2>&1" || true
    rm -rf "$data"
    return 1
  fi
  say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running on 127.0.0.1:$port (data $data)"
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/backstory_test"
}

down() {
  local url=${1:-${BACKSTORY_TEST_POSTGRES_URL:-}} bin port data
  [ -n "$url" ] || { say "down: give the URL printed by 'up'"; return 1; }
  port=$(printf '%s\n' "$url" | sed -E 's#^[^/]*//[^/]*:([0-9]+)/.*$#\1#')
  case $port in ''|*[!0-9]*) say "down: no port in $url"; return 1 ;; esac
  data=/tmp/backstory-pg-$port
  [ -d "$data" ] || { say "down: no test server data at $data"; return 0; }
  bin=$(find_bin)
  as_owner "$bin/pg_ctl -D $data -m fast -w stop >/dev/null" || true
  rm -rf "$data"
  say "stopped the test server on port $port"
}

case ${1:-} in
  up) up ;;
  down) down "${2:-}" ;;
  *) echo "usage: bash scripts/pg.sh up | down [URL]" >&2; exit 2 ;;
esac
