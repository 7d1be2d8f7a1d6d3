#!/usr/bin/env bash
# The real Tyk Gateway and Pump images in the local registry, under tyk-real/ (never beside the stand-ins):
#   bash rig/tyk-real.sh                          every build the tests use (gateway v5.2.0 v5.3.0 v5.8.10, pump v1.9.0 v1.12.2)
#   bash rig/tyk-real.sh gateway:v5.3.0 pump:v1.9.0   only those
# TYK_SRC_DIR names the folder with Tyk's source archives (tyk-gateway-vX.Y.Z.tar.gz, tyk-pump-vX.Y.Z.tar.gz,
# SHA256SUMS): each binary is built once with `go build` (cached by the archive's sha256 under ~/.cache/tyk-upgrade)
# and its image made FROM scratch like the official one; a warm run only checks. Without TYK_SRC_DIR an image
# already in the registry is used and a missing one is pulled from Tyk's official repository (needs internet);
# with CI=true it fails instead. Details: src/real-tyk/rig.ts, standins/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

need_cmd curl curl
need_cmd flock util-linux
docker_answers || bash "$here/docker-engine.sh"
http_ok "http://$REGISTRY_ADDR/v2/" || bash "$here/registry.sh"
[ -f "$root/dist/src/real-tyk/rig.js" ] || (cd "$root" && npx tsc -p .)

# One run at a time: two runs would build the same binaries twice and race on the same tags.
exec 8>"${TYK_REAL_LOCK:-/tmp/tyk-upgrade-real.lock}"
flock 8
node "$root/dist/src/real-tyk/rig.js" "$@"
