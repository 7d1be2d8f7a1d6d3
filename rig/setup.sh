#!/usr/bin/env bash
# Everything the demo and the tests need on this machine, idempotent and quick when already done:
# Debian packages, npm dependencies, the build, the Docker engine (no bridge), the local registry, Redis,
# the Tyk stand-in images, the real Tyk images (rig/tyk-real.sh: built from TYK_SRC_DIR's archives, or pulled) and the
# Temporal CLI (built once from its Go module and cached).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
. "$here/lib.sh"
t0=$(date +%s)
bash rig/packages.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "building (tsc)"
npx tsc -p .
bash rig/docker-engine.sh
bash rig/registry.sh
bash rig/redis.sh
bash rig/standins.sh
bash rig/tyk-real.sh
node dist/src/devserver/temporal-cli.js >/dev/null
# Temporal server, schema tool and Web UI server for the PostgreSQL-backed cluster tests (built once, cached).
node dist/src/devserver/temporal-binaries.js >/dev/null
log "rig ready in $(( $(date +%s) - t0 )) s"
