#!/bin/sh
# The official postgres image's start, as far as infra/compose.yaml relies on it: as root, make PGDATA and the socket
# folder the postgres user's and go on as that user; on an empty PGDATA, initdb with POSTGRES_USER as the superuser
# and POSTGRES_PASSWORD as its password (scram-sha-256 over TCP, trust on the local socket, as the official image),
# then POSTGRES_DB (default: POSTGRES_USER) created; then PostgreSQL in the foreground on every address, as PID 1.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "Error: the database is uninitialized and POSTGRES_PASSWORD is not set." >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$db" != postgres ]; then
    echo 'CREATE DATABASE :"db"' | psql -X -q -v ON_ERROR_STOP=1 -U "$user" -d postgres --set db="$db"
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "PostgreSQL init process complete; ready for start up."
fi
if [ "${1:-}" = postgres ]; then shift; exec postgres -c listen_addresses='*' "$@"; fi
exec "$@"
