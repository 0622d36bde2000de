#!/usr/bin/env bash
# npm run test:image: builds infra/Dockerfile with podman and runs the image against the PostgreSQL on this host, as
# the shipped compose files do: the config of infra/config mounted read-only (only db_url and http_port changed), the
# backups and the signing key in volumes. Checks the start-up backup, `database-backup create` and
# `completely-restore` through the client with their exact lines, the server programs of point-in-time recovery
# (initdb, pg_ctl, postgres, pg_waldump of PG_MAJOR), the executor sidecar variant, and SIGTERM in the
# middle of a backup (no partial file stays). Prints the image size, the build time and the start-to-ready time.
# Needs root (podman, mount of the volumes); installs podman and the base image through container-base.sh if missing.
# Environment: PGHOST/PGPORT/PGUSER (default 127.0.0.1, 5432, root: a superuser reachable without a password),
# CONTAINER_BASE (the container-base.sh to use), IMAGE (the tag to build, default bomnipotent-server:test-image).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-root}
IMAGE=${IMAGE:-bomnipotent-server:test-image}
RUN_ID="ti$$"
DB="test_image_$$"
WORK=$(mktemp -d /tmp/bomnipotent-test-image-XXXXXX)
CONTAINERS=() VOLUMES=() LOCKER_PID=
ADMIN=admin@example.com

fail() { echo "test:image FAILED: $*" >&2; exit 1; }
step() { echo "--- $*"; }
now_ms() { date +%s%3N; }

# The locking session sleeps on in the server when its psql is killed: it is ended there.
end_locker() {
  psql -X -q -At -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'test-image-locker' AND datname = '$DB'" >/dev/null 2>&1 || true
  [ -n "$LOCKER_PID" ] && { kill "$LOCKER_PID" 2>/dev/null; wait "$LOCKER_PID" 2>/dev/null; } || true
  LOCKER_PID=
}

cleanup() {
  local rc=$?
  end_locker
  if [ $rc -ne 0 ]; then
    for c in "${CONTAINERS[@]}"; do echo "=== logs of $c" >&2; podman logs "$c" 2>&1 | tail -n 30 >&2 || true; done
  fi
  # -v: also the anonymous volumes of the image's VOLUMEs a container did not mount (the executor's keys, the sidecar
  # server's backups); without it each run left two behind.
  for c in "${CONTAINERS[@]}"; do podman rm -f -v -t 0 "$c" >/dev/null 2>&1 || true; done
  for v in "${VOLUMES[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1 || true; done
  psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# ------------------------------------------------------------------ podman, the base image, the build
container_base() {
  for candidate in "${CONTAINER_BASE:-}" "$REPO/../shared/tools/container-base.sh" /work/shared/tools/container-base.sh; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  fail "container-base.sh not found: set CONTAINER_BASE to its path"
}
BASE_SCRIPT=$(container_base)
NODE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' infra/Dockerfile)
if ! command -v podman >/dev/null || ! podman image exists "docker.io/library/$NODE_IMAGE"; then
  step "installing podman and the base image $NODE_IMAGE ($BASE_SCRIPT)"
  NODE_MAJOR=$(echo "$NODE_IMAGE" | sed -E 's/^node:([0-9]+)-.*/\1/') SUITE=$(echo "$NODE_IMAGE" | sed -E 's/^node:[0-9]+-([a-z]+)-slim$/\1/') \
    "$BASE_SCRIPT" >/dev/null
fi
CA_MOUNT=$("$BASE_SCRIPT" --print-ca-mount)

step "building infra/Dockerfile as $IMAGE"
build_start=$(now_ms)
# shellcheck disable=SC2086 # CA_MOUNT is two words: -v <dir>:<dir>:ro
podman build -q --format docker --ignorefile infra/Dockerfile.dockerignore $CA_MOUNT \
  -f infra/Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log"; fail "the build failed"; }
BUILD_MS=$(( $(now_ms) - build_start ))
IMAGE_BYTES=$(podman image inspect --format '{{.Size}}' "$IMAGE")
podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep '/ready' >/dev/null \
  || fail "the image has no HEALTHCHECK on /ready (built without --format docker?)"
# Point-in-time recovery's server programs, of the image's PG_MAJOR, run as the image's user (docs/pitr.md).
PG_MAJOR=$(sed -n 's/^ARG PG_MAJOR=//p' infra/Dockerfile)
SERVER_VERSIONS=$(podman run --rm --entrypoint sh "$IMAGE" -c \
  'for p in initdb pg_ctl postgres pg_waldump; do "$p" --version || exit 1; done' 2>&1) \
  || fail "the image lacks a server program of point-in-time recovery: $SERVER_VERSIONS"
for p in initdb pg_ctl postgres pg_waldump; do
  echo "$SERVER_VERSIONS" | grep -q "^$p (PostgreSQL) $PG_MAJOR\." || fail "$p of PostgreSQL $PG_MAJOR is not in the image: $SERVER_VERSIONS"
done

# ------------------------------------------------------------------ helpers
free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
client() { XDG_CONFIG_HOME="$WORK/admin-home" node bin/bomnipotent_client.js -d "$URL" "$@"; }
as_admin() { client -u "$ADMIN" "$@"; }
sql() { psql -X -q -At -d "$DB" -c "$1"; }
volume_files() { podman run --rm --entrypoint ls -v "$1:/v:ro" "$IMAGE" -A /v 2>/dev/null; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: polls every 50 ms
  local deadline=$(( $(now_ms) + $1 * 1000 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "timed out waiting for $what"
    sleep 0.05
  done
}
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/ready")" = 200 ]; }
logged() { podman logs "$1" 2>&1 | grep -- "$2" >/dev/null; }
reloads() { [ "$(podman logs "$1" 2>&1 | grep -c 'Configuration successfully reloaded')" -ge "$2" ]; }
expect_line() { # expect_line ACTUAL REGEX
  printf '%s\n' "$1" | grep -xE -- "$2" >/dev/null || fail "expected a line matching '$2', got: $1"
}
no_error_lines() { if podman logs "$1" 2>&1 | grep -F '[ERROR]'; then fail "$1 logged an ERROR line"; fi; }
# A config of infra/config with only db_url and http_port changed (and executor_url for the sidecar variant).
config_dir() { # config_dir NAME FILE PORT [EXECUTOR_PORT]
  local dir="$WORK/$1"; mkdir -p "$dir"
  sed -e "s#^db_url = .*#db_url = \"postgres://$PGUSER@$PGHOST:$PGPORT/$DB\"#" -e "s#^http_port = .*#http_port = $3#" \
    ${4:+-e "s#^executor_url = .*#executor_url = \"http://127.0.0.1:$4\"#"} "infra/config/$2" >"$dir/$2"
  chmod 755 "$dir" && chmod 644 "$dir/$2"
  echo "$dir"
}
run_server() { # run_server NAME CONFIG_DIR BACKUPS_VOLUME|- [podman args...]
  local name=$1 dir=$2 backups=$3; shift 3
  CONTAINERS+=("$name") VOLUMES+=("$name-keys")
  local mounts=(-v "$dir:/etc/bomnipotent_server/configs:ro" -v "$name-keys:/var/lib/bomnipotent/keys")
  [ "$backups" != - ] && mounts+=(-v "$backups:/etc/bomnipotent_server/backups")
  # The health check follows http_port through BOMNIPOTENT_HEALTH_URL, as docs/deployment.md says.
  podman_run -d --name "$name" --network host "${mounts[@]}" -e "BOMNIPOTENT_HEALTH_URL=http://127.0.0.1:$PORT/ready" \
    "$@" "$IMAGE"
}
# podman run without its complaint that there is no systemd to schedule health checks (we run them by hand).
podman_run() { podman run "$@" 2> >(grep -v 'unable to get systemd connection' >&2) >/dev/null; }

psql -q -d postgres -c "CREATE DATABASE \"$DB\"" >/dev/null
SERVER_MAJOR=$(psql -X -At -d postgres -c 'SHOW server_version_num' | cut -c1-2)

# ------------------------------------------------------------------ 1. the shipped config, read-only
step "server with infra/config/config.toml mounted read-only, against PostgreSQL $SERVER_MAJOR on this host"
PORT=$(free_port) URL="http://127.0.0.1:$PORT"
CONFIG=$(config_dir config config.toml "$PORT")
BACKUPS="$RUN_ID-backups"; VOLUMES+=("$BACKUPS")
start=$(now_ms)
run_server "$RUN_ID-server" "$CONFIG" "$BACKUPS"
wait_for 60 "GET /ready to answer 200" ready
READY_MS=$(( $(now_ms) - start ))
podman healthcheck run "$RUN_ID-server" >/dev/null || fail "the image's HEALTHCHECK does not pass"
wait_for 120 "the start-up backup" logged "$RUN_ID-server" 'Stored database backup'
volume_files "$BACKUPS" | grep -E "^${DB}_[0-9]{8}_[0-9]{6}\.dump\.zst$" >/dev/null || fail "no start-up backup in the volume"
volume_files "$BACKUPS" | grep -E '\.partial$' >/dev/null && fail "a partial file stayed in the volume"
logged "$RUN_ID-server" 'Generated the backup-signing key /var/lib/bomnipotent/keys/backup-signing-key.pem' \
  || fail "the signing key was not generated in its volume"
no_error_lines "$RUN_ID-server"
echo "start-up backup in the volume: $(volume_files "$BACKUPS" | grep -E '\.dump\.zst$')"

step "the first admin through the client (tmp_admin by a hot reload of the mounted file)"
mkdir -p "$WORK/admin-home"
# tmp_admin names the key as well as the email: the fingerprint is the one `user request` printed.
FINGERPRINT=$(client user request "$ADMIN" | grep -oE 'SHA256:[A-Za-z0-9+/=]+' | head -n 1)
[ -n "$FINGERPRINT" ] || fail "user request printed no key fingerprint"
cp "$CONFIG/config.toml" "$WORK/config.base"
printf '[user]\ntmp_admin = "%s:%s"\n' "$ADMIN" "$FINGERPRINT" >>"$CONFIG/config.toml"
wait_for 30 "the reload with tmp_admin" reloads "$RUN_ID-server" 1
as_admin user approve "$ADMIN" >/dev/null
as_admin user-role add "$ADMIN" admin >/dev/null
cp "$WORK/config.base" "$CONFIG/config.toml"
wait_for 30 "the reload without tmp_admin" reloads "$RUN_ID-server" 2

step "database-backup create and completely-restore through the client"
sql "CREATE TABLE docs (id serial PRIMARY KEY, title text NOT NULL); INSERT INTO docs (title) VALUES ('sbom-1'), ('csaf-1')"
created=$(as_admin database-backup create)
expect_line "$created" "\[INFO\] Successfully stored database backup under '/etc/bomnipotent_server/backups/${DB}_[0-9]{8}_[0-9]{6}\.dump\.zst'\."
echo "$created"
sql "INSERT INTO docs (title) VALUES ('added-later'); DELETE FROM docs WHERE title = 'sbom-1'"
restored=$(as_admin database-backup completely-restore --yes)
expect_line "$restored" "\[INFO\] Successfully restored database from backup '/etc/bomnipotent_server/backups/${DB}_[0-9]{8}_[0-9]{6}\.dump\.zst'\."
echo "$restored"
[ "$(sql 'SELECT string_agg(title, $$,$$ ORDER BY id) FROM docs')" = "sbom-1,csaf-1" ] || fail "the restore did not bring back the data at backup time"
# (Not checked for ERROR lines here: the client's poll during the swap is answered 503 SERVER.MAINTENANCE and logged
# as an error, although the client rides it out.)

step "SIGTERM in the middle of a backup"
# pg_dump waits for a lock another session holds: the backup has begun its file and cannot finish.
sql "CREATE TABLE sigterm_blocker (id int)"
PGAPPNAME=test-image-locker psql -X -q -d "$DB" -c "BEGIN; LOCK TABLE sigterm_blocker IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300)" >/dev/null 2>&1 &
LOCKER_PID=$!
locked() { [ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'sigterm_blocker' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ]; }
wait_for 20 "the lock" locked
before=$(volume_files "$BACKUPS" | sort)
(as_admin database-backup create >"$WORK/sigterm-create.out" 2>&1 || true) &
wait_for 60 "the partial file of the blocked backup" sh -c "podman run --rm --entrypoint ls -v '$BACKUPS:/v:ro' '$IMAGE' -A /v | grep -q '\.partial\$'"
podman stop -t 30 "$RUN_ID-server" 2> >(grep -v 'unable to get systemd connection' >&2) >/dev/null
[ "$(podman inspect --format '{{.State.ExitCode}}' "$RUN_ID-server")" = 0 ] || fail "the server did not exit 0 on SIGTERM"
after=$(volume_files "$BACKUPS" | sort)
[ "$before" = "$after" ] || fail "SIGTERM left files behind: $(diff <(echo "$before") <(echo "$after") | grep '^>' | tr '\n' ' ')"
logged "$RUN_ID-server" 'cancelled before it finished; nothing was kept' || fail "the cancelled backup was not logged"
end_locker
echo "stopped mid-backup: exit 0, nothing left in the volume"

# ------------------------------------------------------------------ 2. the executor sidecar
step "executor sidecar (infra/compose.sidecar.yaml's wiring) and server with config.sidecar.toml"
EXEC_PORT=$(free_port) PORT=$(free_port); URL="http://127.0.0.1:$PORT"
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
SIDECAR_BACKUPS="$RUN_ID-sidecar-backups"; VOLUMES+=("$SIDECAR_BACKUPS")
CONTAINERS+=("$RUN_ID-executor")
podman_run -d --name "$RUN_ID-executor" --network host --entrypoint node \
  -e BOMNIPOTENT_EXECUTOR_DB_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB" -e BOMNIPOTENT_EXECUTOR_TOKEN="$TOKEN" \
  -e BOMNIPOTENT_EXECUTOR_DIRECTORY=/etc/bomnipotent_server/backups -e BOMNIPOTENT_EXECUTOR_HOST=127.0.0.1 \
  -e BOMNIPOTENT_EXECUTOR_PORT="$EXEC_PORT" -v "$SIDECAR_BACKUPS:/etc/bomnipotent_server/backups" \
  "$IMAGE" --expose-gc bin/bomnipotent_executor.js
wait_for 60 "the executor" logged "$RUN_ID-executor" 'Executor sidecar listening'
SIDECAR_CONFIG=$(config_dir sidecar-config config.sidecar.toml "$PORT" "$EXEC_PORT")
run_server "$RUN_ID-sidecar-server" "$SIDECAR_CONFIG" - \
  -e BOMNIPOTENT_CONFIG=/etc/bomnipotent_server/configs/config.sidecar.toml -e BOMNIPOTENT_EXECUTOR_TOKEN="$TOKEN"
wait_for 60 "GET /ready of the sidecar server" ready
wait_for 120 "the start-up backup through the sidecar" logged "$RUN_ID-sidecar-server" 'Stored database backup'
volume_files "$SIDECAR_BACKUPS" | grep -E "^${DB}_[0-9]{8}_[0-9]{6}\.dump\.zst$" >/dev/null || fail "no backup in the executor's volume"
no_error_lines "$RUN_ID-sidecar-server"
no_error_lines "$RUN_ID-executor"
podman stop -t 10 "$RUN_ID-executor" 2> >(grep -v 'unable to get systemd connection' >&2) >/dev/null
wait_for 30 "GET /ready to answer 503 with the executor down" sh -c "curl -s '$URL/ready' | grep -q 'executor sidecar'"
echo "sidecar: start-up backup in the executor's volume; /ready names the executor once it is down"

printf '\ntest:image passed. image %s MB, build %s s, start to ready %s s\n' \
  "$(( IMAGE_BYTES / 1000000 ))" "$(awk "BEGIN{printf \"%.1f\", $BUILD_MS/1000}")" "$(awk "BEGIN{printf \"%.2f\", $READY_MS/1000}")"
