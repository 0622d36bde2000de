#!/usr/bin/env bash
# npm run test:compose: runs infra/compose.yaml as shipped with podman-compose (Debian's package), the way a user runs
# `docker compose up`: the server image built from infra/Dockerfile, PostgreSQL 17 from `postgres:17`, the shipped
# infra/config mounted read-only, the volumes of the file. No registry is reachable here, so `postgres:17` is a local
# stand-in (scripts/postgres-standin: Debian 13's postgresql-17 with an entry point honouring POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB and PGDATA like the official image). Checks that the first start ends with a verified
# backup in the `backups` volume, the key in `keys`, /ready answering (the compose health check) and no ERROR line;
# then `down -v` leaves no container and no volume of the project. Prints the time from `up` to the first backup.
# Needs root (podman); installs podman-compose, podman and the base image when missing. Environment: CONTAINER_BASE.
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=bomnipotent_compose_$$
COMPOSE=(podman-compose -p "$PROJECT" -f infra/compose.yaml)
STANDIN=docker.io/library/postgres:17
SERVER_IMAGE=$(sed -n 's/^    image: \(bomnipotent-server:.*\)$/\1/p' infra/compose.yaml)
fail() { echo "test:compose FAILED: $*" >&2; exit 1; }
step() { echo "--- $*"; }
now_s() { date +%s; }
server() { echo "${PROJECT}_server_1"; }
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    for c in "$(server)" "${PROJECT}_db_1"; do
      echo "=== logs of $c" >&2
      podman logs "$c" 2>&1 | tail -n 30 >&2 || true
    done
  fi
  "${COMPOSE[@]}" down -v >/dev/null 2>&1 || true
  exit $rc
}
trap cleanup EXIT

if ! command -v podman-compose >/dev/null; then
  step "installing podman-compose"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose >/dev/null
fi
# shellcheck source=scripts/pg17-image.sh
. scripts/pg17-image.sh
pg17_image

# The stand-in, rebuilt when its files or its base change (the label records which).
standin_id=$( (cat scripts/postgres-standin/*; echo "$PG17_IMAGE") | sha256sum | cut -c1-12)
if [ "$(podman image inspect --format '{{index .Labels "bomnipotent.standin"}}' "$STANDIN" 2>/dev/null)" != "$standin_id" ]; then
  step "building the stand-in $STANDIN (scripts/postgres-standin on $PG17_IMAGE)"
  podman build -q --format docker --build-arg "BASE=$PG17_IMAGE" --label "bomnipotent.standin=$standin_id" \
    -t "$STANDIN" scripts/postgres-standin >/dev/null || fail "the build of the stand-in failed"
fi

# The server image as compose would build it, built here because npm inside the build needs this machine's CA
# bundle (container-base.sh --print-ca-mount), which compose cannot pass; compose then runs it with --no-build.
step "building $SERVER_IMAGE from infra/Dockerfile"
started=$(now_s)
# shellcheck disable=SC2046 # the CA mount is two words: -v <dir>:<dir>:ro
podman build -q --format docker --ignorefile infra/Dockerfile.dockerignore $("$(container_base_script)" --print-ca-mount) \
  -f infra/Dockerfile -t "$SERVER_IMAGE" . >/dev/null || fail "the build of infra/Dockerfile failed"
step "built in $(($(now_s) - started)) s"

# What infra/.env would hold (the environment wins over it; the repository's infra/.env is not touched).
POSTGRES_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
BOMNIPOTENT_HTTP_PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
export POSTGRES_PASSWORD BOMNIPOTENT_HTTP_PORT

# podman-compose 1.0.3 (Debian 12) knows no profiles: it would start the optional services too, so the default
# ones are named (docs/deployment.md, podman-compose).
step "podman-compose up -d db server (project $PROJECT, http port $BOMNIPOTENT_HTTP_PORT)"
started=$(now_s)
"${COMPOSE[@]}" up -d --no-build db server >"/tmp/$PROJECT-up.log" 2>&1 || { tail -n 30 "/tmp/$PROJECT-up.log"; rm -f "/tmp/$PROJECT-up.log"; fail "up failed"; }
rm -f "/tmp/$PROJECT-up.log"
volume_files() { podman run --rm --entrypoint ls -v "${PROJECT}_$1:/v:ro" "$SERVER_IMAGE" -A /v 2>/dev/null; }
until podman logs "$(server)" 2>&1 | grep -q 'Stored database backup'; do
  [ $(($(now_s) - started)) -lt 180 ] || fail "no backup within 180 s of up"
  sleep 1
done
BACKUP_S=$(($(now_s) - started))
files=$(volume_files backups)
echo "$files" | grep -qE '^bomnipotent_[0-9]{8}_[0-9]{6}\.dump' || fail "no backup in the volume: $files"
echo "$files" | grep -q '\.manifest\.json$' || fail "the backup has no signed manifest in the volume: $files"
if echo "$files" | grep -q '\.partial$'; then fail "a partial file stayed in the volume: $files"; fi
volume_files keys | grep -qx 'backup-signing-key.pem' || fail "no signing key in the keys volume"
until curl -sf -o /dev/null "http://127.0.0.1:$BOMNIPOTENT_HTTP_PORT/ready"; do
  [ $(($(now_s) - started)) -lt 240 ] || fail "/ready does not answer 200 on the published port"
  sleep 1
done
# There is no systemd here to schedule compose's health checks: run them once by hand.
podman healthcheck run "$(server)" >/dev/null || fail "the server's compose health check does not pass"
podman healthcheck run "${PROJECT}_db_1" >/dev/null || fail "the database's compose health check does not pass"
if podman logs "$(server)" 2>&1 | grep -F '[ERROR]'; then fail "the server logged an ERROR line"; fi
step "first backup $(echo "$files" | grep -E '\.dump' | grep -v manifest) in the volume ${BACKUP_S} s after up"

step "podman-compose down -v"
"${COMPOSE[@]}" down -v >/dev/null 2>&1 || fail "down -v failed"
left=$( (podman ps -a --format '{{.Names}}'; podman volume ls --format '{{.Name}}') | grep -F "$PROJECT" || true)
[ -z "$left" ] || fail "down -v left: $left"
echo "test:compose passed: first verified backup ${BACKUP_S} s after up, no ERROR line, down -v left nothing"
