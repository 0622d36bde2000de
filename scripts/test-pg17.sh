#!/usr/bin/env bash
# npm run test:pg17: the backup, restore and rehearsal suites against PostgreSQL 17 with the 17 tools, and the upgrade
# path users take through a backup (PostgreSQL 15 -> 17), in a container built from Debian 13's own archive
# (scripts/pg17.Dockerfile: Node 24, postgresql-17, postgresql-client-17, zstd, age). The repository is mounted, not
# copied: the image is built once and rebuilt only when the Dockerfile changes (its tag is the file's hash).
#   1. A PostgreSQL 17 cluster of its own in the container (initdb, default settings: autovacuum on) and the suites
#      against it (PGTEST_URL), run as `node vitest` inside the container, where pg_dump, psql, createdb are 17's.
#   2. tests/integration/major-upgrade.test.ts in three steps: on this host's PostgreSQL 15 with its pg_dump 15 a backup is
#      made by the product; in the container it is restored by the product into 17 (table contents identical), and
#      the restored 17 database backed up; on the host that 17 backup is refused by the 15 server (BACKUP.NEWER_MAJOR).
# Arguments replace the default list of suites: `npm run test:pg17 -- tests/integration/restore-atomic.test.ts`.
# Needs root (podman); installs podman and the base image through container-base.sh if missing. Environment:
# CONTAINER_BASE (the container-base.sh to use), PGTEST_URL (the host's PostgreSQL 15 for step 2; default as tests).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DOCKERFILE=scripts/pg17.Dockerfile
IMAGE=bomnipotent-test-pg17:$(sha256sum "$DOCKERFILE" | cut -c1-12)
NAME=bomnipotent-test-pg17-$$
WORK=$(mktemp -d /tmp/bomnipotent-test-pg17-XXXXXX)
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(tests/integration/restore- tests/integration/rehearsal.test.ts
  tests/integration/backup-create.test.ts tests/integration/backup-format2 tests/e2e/backup-restore.test.ts
  tests/e2e/rehearsal.test.ts)

fail() { echo "test:pg17 FAILED: $*" >&2; exit 1; }
step() { echo "--- $*"; }
now_s() { date +%s; }
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && podman container exists "$NAME" 2>/dev/null; then
    echo "=== the PostgreSQL 17 log" >&2
    podman exec "$NAME" tail -n 30 /var/lib/postgresql/log >&2 2>/dev/null || true
  fi
  podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# ------------------------------------------------------------------ podman, the base image, the image
BASE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' "$DOCKERFILE")
if ! command -v podman >/dev/null || ! podman image exists "docker.io/library/$BASE_IMAGE"; then
  BASE_SCRIPT=
  for candidate in "${CONTAINER_BASE:-}" "$REPO/../shared/tools/container-base.sh" /work/shared/tools/container-base.sh; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && { BASE_SCRIPT=$candidate; break; }
  done
  [ -n "$BASE_SCRIPT" ] || fail "container-base.sh not found: set CONTAINER_BASE to its path"
  step "installing podman and the base image $BASE_IMAGE ($BASE_SCRIPT)"
  "$BASE_SCRIPT" >/dev/null
fi
started=$(now_s)
if podman image exists "$IMAGE"; then
  step "image $IMAGE is there (built from $DOCKERFILE)"
else
  step "building $IMAGE from $DOCKERFILE"
  mkdir "$WORK/context" # the image needs nothing of the repository: an empty build context
  podman build -q --format docker -f "$DOCKERFILE" -t "$IMAGE" "$WORK/context" >"$WORK/build.log" 2>&1 \
    || { tail -n 30 "$WORK/build.log"; fail "the build failed"; }
  step "built in $(($(now_s) - started)) s, $(($(podman image inspect --format '{{.Size}}' "$IMAGE") / 1000000)) MB"
fi

# ------------------------------------------------------------------ the container and its PostgreSQL 17
# The repository at its own path (and node_modules where its symlink points, as in a worktree), the shared fixtures
# some suites load, and the folder that carries the backups of step 2 between host and container.
MOUNTS=(-v "$REPO:$REPO" -v "$WORK:$WORK")
MODULES=$(realpath node_modules)
case "$MODULES" in "$REPO"/*) ;; *) MOUNTS+=(-v "$MODULES:$MODULES") ;; esac
[ -d /work/shared/fixtures ] && MOUNTS+=(-v /work/shared/fixtures:/work/shared/fixtures:ro)
PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
PG17_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
podman run -d --name "$NAME" --network host "${MOUNTS[@]}" -w "$REPO" "$IMAGE" sleep infinity >/dev/null
as_postgres() { podman exec --user postgres "$NAME" "$@"; }
# Trust logins as on the shared cluster (suites connect as roles they create, without passwords); otherwise initdb's
# defaults: autovacuum on with its naptime, fsync on, no tuning.
as_postgres initdb -D /var/lib/postgresql/data -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" \
  || { cat "$WORK/initdb.log"; fail "initdb failed"; }
as_postgres pg_ctl -D /var/lib/postgresql/data -l /var/lib/postgresql/log -w \
  -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null || fail "PostgreSQL 17 did not start"
in_container() { podman exec -e PGTEST_URL="$PG17_URL" -e CI="${CI:-}" "$NAME" "$@"; }
step "PostgreSQL 17 on 127.0.0.1:$PORT: $(in_container psql -X -At -d "$PG17_URL" -c 'SELECT version()' | cut -d, -f1)"
in_container sh -c 'pg_dump --version; psql --version' | sed 's/^/    /'

vitest() { node node_modules/vitest/vitest.mjs run --project postgres "$@"; }

# ------------------------------------------------------------------ 1. the suites on 17
t=$(now_s)
step "the suites against PostgreSQL 17: ${SUITES[*]}"
in_container node node_modules/vitest/vitest.mjs run --project postgres "${SUITES[@]}" || fail "the suites failed on 17"
SUITES_S=$(($(now_s) - t))

# ------------------------------------------------------------------ 2. 15 -> 17 through a backup, and 17 -> 15 refused
t=$(now_s)
export MAJOR_UPGRADE_DIR=$WORK/upgrade
mkdir -p "$MAJOR_UPGRADE_DIR"
step "upgrade path 1/3: a backup of this host's PostgreSQL $(psql -X -At -d "${PGTEST_URL:-postgres://root@127.0.0.1:5432/postgres}" -c 'SHOW server_version' | cut -d' ' -f1) by the product"
MAJOR_UPGRADE_STEP=backup vitest tests/integration/major-upgrade.test.ts || fail "the backup on the host failed"
step "upgrade path 2/3: that backup restored by the product into PostgreSQL 17, table contents compared"
in_container env MAJOR_UPGRADE_DIR="$MAJOR_UPGRADE_DIR" MAJOR_UPGRADE_STEP=restore \
  node node_modules/vitest/vitest.mjs run --project postgres tests/integration/major-upgrade.test.ts \
  || fail "the restore into 17 failed"
step "upgrade path 3/3: the restored database's 17 backup refused by the host's older server"
MAJOR_UPGRADE_STEP=refuse vitest tests/integration/major-upgrade.test.ts || fail "the 17 backup was not refused on the host"
UPGRADE_S=$(($(now_s) - t))

echo "test:pg17 passed: suites on 17 in ${SUITES_S} s, upgrade path in ${UPGRADE_S} s, $(($(now_s) - started)) s in all"
