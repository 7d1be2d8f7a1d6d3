#!/usr/bin/env bash
# Builds the Tyk stand-in images (standins/) and makes sure the local registry has every tag listed in
# standins/images.txt. Idempotent and cheap when warm:
#  - one base image FROM scratch: the host's node binary + exactly the libraries `ldd` lists, at their paths
#    (local only: tyk-upgrade/standin-base:latest; its ~100 MB layer is shared by all tags, pushed once);
#  - each tag FROM that base, adding only the small program files;
#  - every image carries the label tyk-upgrade.standin-hash (a hash of standins/, this script and the node
#    binary + libs); a tag whose local image already has that hash is not rebuilt;
#  - a tag is pushed only when the registry's manifest does not point at the local image (config digest);
#  - kind "redis" (the sandbox's Redis) is FROM scratch too: the host's redis-server + the libraries `ldd` lists.
# Uses the legacy builder (DOCKER_BUILDKIT=0). Build contexts are assembled in a temp dir.
# Env: STANDINS_FORCE=1 rebuilds every tag; STANDIN_NODE=/path/to/node picks another node binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

standins="$root/standins"
node_bin=${STANDIN_NODE:-/usr/bin/node}
base_image=tyk-upgrade/standin-base:latest
export DOCKER_BUILDKIT=0
started=$SECONDS

[ -x "$node_bin" ] || die "node not found at $node_bin"
need_cmd curl curl
need_cmd flock util-linux
docker_answers || bash "$here/docker-engine.sh"
http_ok "http://$REGISTRY_ADDR/v2/" || bash "$here/registry.sh"

mkdir -p "$RIG_STATE"
build_log="$RIG_STATE/standins-build.log"
# One run at a time, whatever RIG_STATE says (tests may call this concurrently): the engine and registry are shared.
exec 9>"${STANDINS_LOCK:-/tmp/tyk-upgrade-standins.lock}"
flock 9

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tyk-standins.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- what goes into the base: node + the libraries ldd lists (not the vdso) -------------------------------
mapfile -t runtime_files < <(
  printf '%s\n' "$node_bin"
  ldd "$node_bin" | awk '
    $2 == "=>" && $3 == "not" { print "MISSING " $1; next }
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\// { print $1 }'
)
for f in "${runtime_files[@]}"; do
  case $f in MISSING*) die "ldd $node_bin: ${f#MISSING } not found" ;; esac
done

# --- the Redis stand-in's files: Debian's redis-server + its libraries, only when images.txt lists one ----------
redis_files=() redis_hash='' redis_version=''
if grep -q '^redis[[:space:]]' "$standins/images.txt"; then
  need_cmd redis-server redis-server
  redis_bin=$(readlink -f "$(command -v redis-server)")
  mapfile -t redis_files < <(
    printf '%s\n' "$redis_bin"
    ldd "$redis_bin" | awk '
      $2 == "=>" && $3 == "not" { print "MISSING " $1; next }
      $2 == "=>" && $3 ~ /^\// { print $3; next }
      $1 ~ /^\// { print $1 }'
  )
  for f in "${redis_files[@]}"; do
    case $f in MISSING*) die "ldd $redis_bin: ${f#MISSING } not found" ;; esac
  done
  redis_version=$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
fi

# --- content hashes ------------------------------------------------------------------------------------------
base_hash=$(
  {
    "$node_bin" --version
    for f in "${runtime_files[@]}"; do
      printf '%s %s\n' "$f" "$(sha256sum <"$(readlink -f "$f")" | cut -d' ' -f1)"
    done
    sha256sum <"$standins/base/Dockerfile"
  } | sha256sum | cut -d' ' -f1
)
standin_hash=$(
  {
    echo "$base_hash"
    cd "$root"
    find standins rig/standins.sh -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -d' ' -f1
)

if [ ${#redis_files[@]} -gt 0 ]; then
  redis_hash=$(
    {
      echo "$standin_hash"
      for f in "${redis_files[@]}"; do
        printf '%s %s\n' "$f" "$(sha256sum <"$(readlink -f "$f")" | cut -d' ' -f1)"
      done
    } | sha256sum | cut -d' ' -f1
  )
fi

label_of() { # IMAGE LABEL -> value, empty when the image or label is missing
  docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null | grep -v '^<no value>$' || true
}
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# Fixed mtimes, so a rebuild of unchanged content yields the same layer digests.
normalise_tree() { find "$1" -exec touch -h -d @946684800 {} +; }

run_build() { # TAG CONTEXT ARGS...
  local tag=$1 ctx=$2
  shift 2
  if ! docker build --force-rm "$@" -t "$tag" "$ctx" >>"$build_log" 2>&1; then
    tail -n 30 "$build_log" >&2
    die "docker build of $tag failed (full log: $build_log)"
  fi
}

base_ready=0
ensure_base() {
  [ "$base_ready" = 1 ] && return 0
  if [ "${STANDINS_FORCE:-0}" != 1 ] && [ "$(label_of "$base_image" tyk-upgrade.standin-base-hash)" = "$base_hash" ]; then
    base_ready=1
    return 0
  fi
  log "building $base_image (node $("$node_bin" --version) + ${#runtime_files[@]} files)"
  local ctx="$tmp/base" f dest old
  mkdir -p "$ctx/rootfs"
  cp "$standins/base/Dockerfile" "$ctx/Dockerfile"
  for f in "${runtime_files[@]}"; do
    dest="$ctx/rootfs$f"
    mkdir -p "$(dirname "$dest")"
    cp -L --preserve=mode "$f" "$dest"
  done
  normalise_tree "$ctx/rootfs"
  old=$(image_id "$base_image")
  run_build "$base_image" "$ctx" --build-arg "STANDIN_BASE_HASH=$base_hash"
  [ -n "$old" ] && [ "$old" != "$(image_id "$base_image")" ] && docker rmi "$old" >/dev/null 2>&1 || true
  base_ready=1
}

build_variant() { # KIND REPO TAG VERSION FAULT IMAGE
  local kind=$1 repo=$2 tag=$3 version=$4 fault=$5 image=$6
  local ctx="$tmp/ctx-${repo//\//_}-$tag" dir prog fault_json old
  case $kind in
    gateway) dir="$ctx/opt/tyk-gateway" prog=tyk ;;
    pump) dir="$ctx/opt/tyk-pump" prog=tyk-pump ;;
    *) die "images.txt: unknown kind $kind" ;;
  esac
  mkdir -p "$dir" "$ctx/opt/tyk-standin"
  cp "$standins/$kind/Dockerfile" "$ctx/Dockerfile"
  cp "$standins"/lib/*.js "$ctx/opt/tyk-standin/"
  if [ "$kind" = gateway ]; then
    cp "$standins/gateway/tyk.js" "$dir/tyk"
    cp "$standins/gateway/tyk.conf" "$dir/tyk.conf"
    mkdir -p "$dir/apps" "$dir/middleware" "$dir/policies" "$dir/certs"
    cp -r "$standins/gateway/templates" "$dir/templates"
  else
    cp "$standins/pump/tyk-pump.js" "$dir/tyk-pump"
    cp "$standins/pump/pump.conf" "$dir/pump.conf"
    # Tyk's pump images from 1.12 are distroless :nonroot and run as 65532, so a pump.conf only root can read is
    # not read (the real 1.12.2 then starts on its defaults); earlier ones run as root.
    case $version in 1.[0-9].* | 1.1[01].*) ;; *) printf 'USER 65532\n' >>"$ctx/Dockerfile" ;; esac
  fi
  if [ "$fault" = - ]; then fault_json=null; else fault_json="\"$fault\""; fi
  printf '{"version":"%s","fault":%s}\n' "$version" "$fault_json" >"$dir/.standin.json"
  find "$ctx/opt" -type d -exec chmod 755 {} +
  find "$ctx/opt" -type f -exec chmod 644 {} +
  chmod 755 "$dir/$prog"
  normalise_tree "$ctx/opt"
  # Tyk's images label the version as goreleaser did up to gateway 5.3 / pump 1.9 (5.3.0), and with the git tag's v
  # from the metadata-action builds on (v5.8.10, v1.12.2).
  local label_version=$version
  case $kind:$version in gateway:5.[0-7].* | gateway:[0-4].* | pump:1.[0-9].* | pump:1.1[01].*) ;; *) label_version="v$version" ;; esac
  old=$(image_id "$image")
  run_build "$image" "$ctx" \
    --build-arg "BASE_IMAGE=$base_image" --build-arg "VERSION=$version" --build-arg "LABEL_VERSION=$label_version" --build-arg "TAG=$tag" \
    --build-arg "STANDIN_HASH=$standin_hash"
  # Drop the image this tag pointed at before, unless something still uses it.
  [ -n "$old" ] && [ "$old" != "$(image_id "$image")" ] && docker rmi "$old" >/dev/null 2>&1 || true
}

build_redis() { # IMAGE: redis-server (as /usr/local/bin/redis-server, so argv[0] picks server mode) + libs
  local image=$1 ctx="$tmp/ctx-redis" f dest old
  mkdir -p "$ctx/rootfs/usr/local/bin"
  cp "$standins/redis/Dockerfile" "$ctx/Dockerfile"
  cp -L --preserve=mode "${redis_files[0]}" "$ctx/rootfs/usr/local/bin/redis-server"
  for f in "${redis_files[@]:1}"; do
    dest="$ctx/rootfs$f"
    mkdir -p "$(dirname "$dest")"
    cp -L --preserve=mode "$f" "$dest"
  done
  normalise_tree "$ctx/rootfs"
  old=$(image_id "$image")
  run_build "$image" "$ctx" --build-arg "VERSION=$redis_version" --build-arg "STANDIN_HASH=$redis_hash"
  [ -n "$old" ] && [ "$old" != "$(image_id "$image")" ] && docker rmi "$old" >/dev/null 2>&1 || true
}

registry_config_digest() { # REPO TAG -> config digest of the manifest in the registry, empty if none
  curl -fsS --max-time 10 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY_ADDR/v2/$1/manifests/$2" 2>/dev/null |
    "$node_bin" -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        try { const m = JSON.parse(s); if (m.config && m.config.digest) console.log(m.config.digest); } catch {}
      });' || true
}

built=0 pushed=0
images=()
while read -r kind repo tag version fault; do
  case $kind in '' | '#'*) continue ;; esac
  image="$REGISTRY_ADDR/$repo:$tag"
  images+=("$image")
  want_hash=$standin_hash
  [ "$kind" = redis ] && want_hash=$redis_hash
  if [ "${STANDINS_FORCE:-0}" = 1 ] || [ "$(label_of "$image" tyk-upgrade.standin-hash)" != "$want_hash" ]; then
    log "building $image"
    if [ "$kind" = redis ]; then
      build_redis "$image"
    else
      ensure_base
      build_variant "$kind" "$repo" "$tag" "$version" "$fault" "$image"
    fi
    built=$((built + 1))
  fi
  if [ "$(registry_config_digest "$repo" "$tag")" != "$(image_id "$image")" ]; then
    log "pushing $image"
    if ! docker push "$image" >>"$build_log" 2>&1; then
      tail -n 20 "$build_log" >&2
      die "docker push of $image failed (full log: $build_log)"
    fi
    pushed=$((pushed + 1))
  fi
done <"$standins/images.txt"

log "stand-ins ready (hash ${standin_hash:0:12}; built $built, pushed $pushed, $((SECONDS - started)) s):"
printf '  %s\n' "${images[@]}" >&2
