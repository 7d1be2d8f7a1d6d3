#!/usr/bin/env bash
# Everything the demo or the tests need on this machine, idempotent and quick when already done. The profile says
# which (package.json's scripts pass it):
#   demo  `npm run demo`: Debian packages the demo uses, npm dependencies, the build (tsc and the workflow bundle),
#         a Docker engine started without a bridge or iptables, the local registry, Redis, the images the demo's
#         sandbox runs (real Tyk gateway v5.3.0 and v5.8.10, pump v1.9.0 and v1.12.2, and the sandbox's Redis), and the
#         Temporal CLI (built once from its Go module and cached).
#   test  `npm test`, `npm run bench` (the default): the same, and what only the suite uses: every real Tyk build,
#         the Tyk stand-ins (faulty builds, fast fault tests), the packages of the load-balancer, cluster and browser
#         tests, the Temporal server, SQL tool and Web UI server of the cluster tests, compose v2 for the compose
#         tests, and the previous release's build for the tool-upgrade test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
. "$here/lib.sh"
profile=${1:-test}
case $profile in demo | test) ;; *) die "unknown profile \"$profile\": use \`bash rig/setup.sh demo\` or \`bash rig/setup.sh test\`" ;; esac
t0=$(date +%s)
bash rig/packages.sh "$profile"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
# Always both: a bundle older than the workflow code would not be used (workers check its hash), only slower.
log "building (tsc, workflow bundle)"
npx tsc -p .
node dist/src/workflow-bundle.js
bash rig/docker-engine.sh
bash rig/registry.sh
bash rig/redis.sh
# The real Tyk images (rig/tyk-real.sh: built from TYK_SRC_DIR's archives, or pulled) and the stand-ins; the demo
# needs only the real builds it upgrades between and the sandbox's Redis image.
if [ "$profile" = demo ]; then
  bash rig/standins.sh redis
  bash rig/tyk-real.sh gateway:v5.3.0 gateway:v5.8.10 pump:v1.9.0 pump:v1.12.2
else
  bash rig/standins.sh
  bash rig/tyk-real.sh
fi
node dist/src/devserver/temporal-cli.js >/dev/null
if [ "$profile" = test ]; then
  # Compose v2 (`docker compose`), built once from its Go module and installed as the Docker CLI plugin; compose v1
  # (Debian's docker-compose 1.29) comes with the packages. The compose tests run both.
  node dist/src/devserver/compose-cli.js >/dev/null
  # Temporal server, schema tool and Web UI server for the PostgreSQL-backed cluster tests (built once, cached).
  node dist/src/devserver/temporal-binaries.js >/dev/null
  # The last release, built once, for the test that upgrades the tool under a waiting gate.
  bash rig/previous-release.sh >/dev/null
fi
log "rig ready for the $profile profile in $(($(date +%s) - t0)) s"
