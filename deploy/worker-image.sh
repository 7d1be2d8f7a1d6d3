#!/usr/bin/env bash
# Builds the tyk-upgrade worker image (deploy/worker.Dockerfile) from the npm package:
#   bash deploy/worker-image.sh -t registry.internal/tyk-upgrade-worker:0.3.0
# then push it to your registry and run it on each Docker host with deploy/docker-compose.worker.yml.
# It packs this repository (`npm pack`, whose prepack builds it) unless --package names a tarball, installs the
# package with npm into the build context (dependencies from your npm registry), keeps only the Temporal core
# bridge binary for the engine's platform, and runs `docker build`. Needs node 20, npm and docker where it runs.
#   --package FILE.tgz   install this tarball (npm pack's output) instead of packing the repository
#   --base IMAGE         the Node 20 image to build on (default node:20-bookworm-slim, pulled by docker build)
#   --host-node          FROM scratch with this machine's node and the libraries it and the core bridge load, for
#                        machines that cannot pull a base image (the test suite builds it this way)
#   -t, --tag TAG        the image's name (default tyk-upgrade-worker:<package version>)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
die() { printf 'worker-image: %s\n' "$*" >&2; exit 2; }
log() { printf 'worker-image: %s\n' "$*" >&2; }

package='' base=node:20-bookworm-slim host_node=0 tag=''
while [ $# -gt 0 ]; do
  case $1 in
    --package) package=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --base) base=$2; shift 2 ;;
    --host-node) host_node=1; shift ;;
    -t | --tag) tag=$2; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
for cmd in node npm docker; do command -v "$cmd" >/dev/null 2>&1 || die "$cmd is needed on the machine that builds the image"; done

ctx=$(mktemp -d "${TMPDIR:-/tmp}/tyk-upgrade-worker-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
if [ -z "$package" ]; then
  log "npm pack (builds the package first)"
  package=$(cd "$root" && npm pack --silent --pack-destination "$ctx")
  package=$ctx/$package
fi
[ -f "$package" ] || die "no package at $package"
version=$(tar -xOzf "$package" package/package.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).version))')
tag=${tag:-tyk-upgrade-worker:$version}
sha=$(sha256sum "$package" | cut -d' ' -f1)

prefix=$ctx/package/opt/tyk-upgrade
mkdir -p "$ctx/runtime"
log "npm install -g --prefix /opt/tyk-upgrade $(basename "$package")"
# From the build context, not this repository: the install sees only the tarball and the npm registry.
(cd "$ctx" && env -u NODE_PATH npm install -g --prefix "$prefix" --omit=dev --no-audit --no-fund --loglevel=error "$package") >&2
pkg=$prefix/lib/node_modules/tyk-upgrade
[ -f "$pkg/dist/workflow-bundle.js" ] || die "the package has no prebuilt workflow bundle (dist/workflow-bundle.js): build it with npm pack"

# The core bridge ships a native binary for five platforms; the image runs on one.
case $(docker version --format '{{.Server.Arch}}') in
  amd64) target=x86_64-unknown-linux-gnu ;;
  arm64) target=aarch64-unknown-linux-gnu ;;
  *) die "no Temporal core bridge binary for the engine's architecture $(docker version --format '{{.Server.Arch}}')" ;;
esac
bridge=$pkg/node_modules/@temporalio/core-bridge
[ -f "$bridge/releases/$target/index.node" ] || die "the Temporal core bridge has no $target binary"
find "$bridge/releases" -mindepth 1 -maxdepth 1 ! -name "$target" -exec rm -rf {} +
rm -rf "$bridge/sdk-core" # its Rust sources: built into index.node, never read at run time

if [ "$host_node" = 1 ]; then
  base=scratch
  node_bin=$(readlink -f "$(command -v node)")
  # node and the core bridge, and every library either loads (ldd), at the paths they are loaded from.
  mapfile -t files < <({
    echo "$node_bin"
    for f in "$node_bin" "$bridge/releases/$target/index.node"; do ldd "$f"; done | awk '
      $2 == "=>" && $3 == "not" { print "MISSING " $1; next }
      $2 == "=>" && $3 ~ /^\// { print $3; next }
      $1 ~ /^\// { print $1 }'
  } | sort -u)
  for f in "${files[@]}"; do
    case $f in MISSING*) die "ldd: ${f#MISSING } not found" ;; esac
    mkdir -p "$ctx/runtime$(dirname "$f")"
    cp -L --preserve=mode "$f" "$ctx/runtime$f"
  done
  # /usr/bin/node is what ENTRYPOINT's "node" finds on Docker's default PATH.
  [ "$node_bin" = /usr/bin/node ] || { mkdir -p "$ctx/runtime/usr/bin"; ln -s "$node_bin" "$ctx/runtime/usr/bin/node"; }
  mkdir -p "$ctx/runtime/tmp"
  chmod 1777 "$ctx/runtime/tmp"
fi
mkdir -p "$ctx/package/var/lib/tyk-upgrade/backups"
chmod 700 "$ctx/package/var/lib/tyk-upgrade/backups"
cp "$root/deploy/worker.Dockerfile" "$ctx/Dockerfile"
# Fixed times: the same package on the same base gives the same layer.
find "$ctx/runtime" "$ctx/package" -exec touch -h -d @946684800 {} +

log "docker build -t $tag (FROM $base)"
DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" --build-arg "VERSION=$version" \
  --label "tyk-upgrade.package-sha256=$sha" -t "$tag" "$ctx" >/dev/null
log "built $tag: $(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }') (tyk-upgrade $version, FROM $base)"
echo "$tag"
