#!/usr/bin/env bash
# npm run test:deploy: builds the production image and runs the compose stack for real, on a host that
# reaches no image registry: Debian's docker.io and docker-compose (v1), a local base image (debootstrap +
# this host's Node.js 20, see base-image.sh) and local stand-ins for nginx, postgres and redis.
# Then a customer and a rep chat across the replicas through nginx, one replica gets SIGTERM, its client
# resumes through the other, and everything is taken down. Needs root. Prints timings at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCKER=/usr/bin/docker            # Debian's client: a newer one may come first on the PATH
COMPOSE=/usr/bin/docker-compose
BASE_TAG=${BASE_TAG:-switchboard-base:bookworm-node20}
PROJECT=sbdeploytest
WORK=$(mktemp -d)
STARTED_DOCKERD=
log() { printf 'test:deploy: %s\n' "$*"; }

need=()
[ -x "$DOCKER" ] || need+=(docker.io)
[ -x "$COMPOSE" ] || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! "$DOCKER" info >/dev/null 2>&1; then
  # No systemd here: the daemon is started by hand, with no iptables and no default bridge (compose's own
  # network is enough), and stopped again at the end. The builds run in the daemon, not in this script, so
  # the daemon is the one to be niced on a shared machine.
  log "starting dockerd"
  nice -n 10 dockerd --iptables=false --bridge=none >"$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq 1 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 1; done
  "$DOCKER" info >/dev/null 2>&1 || { cat "$WORK/dockerd.log"; exit 1; }
fi

cat >"$WORK/.env" <<ENV
POSTGRES_PASSWORD=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
JWT_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
METRICS_TOKEN=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
REP_REGISTRATION=admin
HTTP_BIND=127.0.0.1
HTTP_PORT=${HTTP_PORT:-18080}
BASE_IMAGE=$BASE_TAG
SWITCHBOARD_IMAGE=switchboard:test-deploy
NGINX_IMAGE=switchboard-standin-nginx:local
POSTGRES_IMAGE=switchboard-standin-postgres:local
REDIS_IMAGE=switchboard-standin-redis:local
ENV
compose() { "$COMPOSE" -p "$PROJECT" --env-file "$WORK/.env" -f "$ROOT/deploy/docker-compose.yml" "$@"; }

cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then compose logs --tail=40 2>/dev/null || true; fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  if [ -n "$STARTED_DOCKERD" ]; then kill "$STARTED_DOCKERD" 2>/dev/null || true; wait "$STARTED_DOCKERD" 2>/dev/null || true; fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

t0=$(date +%s)
bash deploy/base-image.sh "$BASE_TAG"
for target in nginx postgres redis; do
  "$DOCKER" build -q --force-rm --network host --target "$target" --build-arg BASE_IMAGE="$BASE_TAG" \
    -t "switchboard-standin-$target:local" deploy/standin >/dev/null
done
t1=$(date +%s)
log "base image and stand-ins ready in $((t1 - t0)) s"

"$DOCKER" build --force-rm --network host -f deploy/Dockerfile --build-arg BASE_IMAGE="$BASE_TAG" -t switchboard:test-deploy . >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log"; exit 1; }
t2=$(date +%s)
size=$("$DOCKER" image inspect -f '{{.Size}}' switchboard:test-deploy)
log "image built in $((t2 - t1)) s, $((size / 1024 / 1024)) MiB"
# The stack runs on PostgreSQL; the image's default (SQLite in DATA_DIR) needs the addon compiled in the build.
"$DOCKER" run --rm --network none switchboard:test-deploy \
  node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

"$COMPOSE" version --short >/dev/null
compose config -q
compose up -d --no-build
BASE=http://127.0.0.1:$(grep ^HTTP_PORT= "$WORK/.env" | cut -d= -f2)
for _ in $(seq 1 120); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "$BASE/readyz" >/dev/null
t3=$(date +%s)
log "stack up (nginx answers /readyz) $((t3 - t2)) s after the build"
# Every container's own health check passing too (nginx's first check runs 10 s after its start).
states() { "$DOCKER" ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}'; }
for _ in $(seq 1 120); do
  [ "$(states | grep -c '(healthy)')" -eq 5 ] && break
  sleep 1
done
[ "$(states | grep -c '(healthy)')" -eq 5 ] || { states; log "not all 5 containers became healthy"; exit 1; }
t3h=$(date +%s)
log "all 5 containers healthy $((t3h - t2)) s after the build"
compose ps

node --import tsx scripts/deploy-smoke.ts "$BASE" "$COMPOSE" -p "$PROJECT" --env-file "$WORK/.env" -f "$ROOT/deploy/docker-compose.yml"
t4=$(date +%s)

compose down -v --remove-orphans
t5=$(date +%s)
filter=(--filter "label=com.docker.compose.project=$PROJECT")
left="$("$DOCKER" ps -aq "${filter[@]}")$("$DOCKER" network ls -q "${filter[@]}")$("$DOCKER" volume ls -q "${filter[@]}")"
[ -z "$left" ] || { log "left behind (containers, networks, volumes): $left"; exit 1; }
log "OK. base+stand-ins $((t1 - t0)) s, image build $((t2 - t1)) s, image $((size / 1024 / 1024)) MiB, stack up $((t3 - t2)) s, all healthy $((t3h - t2)) s, smoke $((t4 - t3h)) s, down $((t5 - t4)) s, total $((t5 - t0)) s"
