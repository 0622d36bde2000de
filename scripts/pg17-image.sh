# Sourced by scripts/test-pg17.sh and scripts/test-compose.sh (bash, set -eu, cwd = the repository, fail and step
# defined): podman and the local base image through container-base.sh when missing, then the PostgreSQL 17 image of
# scripts/pg17.Dockerfile, built once: its tag is the Dockerfile's hash. Sets PG17_IMAGE.
PG17_DOCKERFILE=scripts/pg17.Dockerfile
PG17_IMAGE=bomnipotent-test-pg17:$(sha256sum "$PG17_DOCKERFILE" | cut -c1-12)

# container-base.sh: CONTAINER_BASE, else beside the worktrees (../shared/tools), else /work/shared/tools.
container_base_script() {
  local candidate
  for candidate in "${CONTAINER_BASE:-}" "$PWD/../shared/tools/container-base.sh" /work/shared/tools/container-base.sh; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  fail "container-base.sh not found: set CONTAINER_BASE to its path"
}

pg17_image() {
  local base
  base=$(sed -n 's/^ARG NODE_IMAGE=//p' "$PG17_DOCKERFILE")
  if ! command -v podman >/dev/null || ! podman image exists "docker.io/library/$base"; then
    step "installing podman and the base image $base"
    "$(container_base_script)" >/dev/null
  fi
  if podman image exists "$PG17_IMAGE"; then
    step "image $PG17_IMAGE is there (built from $PG17_DOCKERFILE)"
    return
  fi
  step "building $PG17_IMAGE from $PG17_DOCKERFILE"
  local started context
  started=$(date +%s) context=$(mktemp -d) # the image needs nothing of the repository: an empty build context
  podman build -q --format docker -f "$PG17_DOCKERFILE" -t "$PG17_IMAGE" "$context" >"$context.log" 2>&1 \
    || { rmdir "$context"; tail -n 30 "$context.log"; rm -f "$context.log"; fail "the build of $PG17_IMAGE failed"; }
  rmdir "$context" && rm -f "$context.log"
  step "built in $(($(date +%s) - started)) s, $(($(podman image inspect --format '{{.Size}}' "$PG17_IMAGE") / 1000000)) MB"
}
