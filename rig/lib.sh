# Shared helpers for the rig scripts (sourced, not run).
RIG_STATE=${RIG_STATE:-/var/lib/tyk-upgrade-rig}
REGISTRY_ADDR=${REGISTRY_ADDR:-127.0.0.1:5000}
REDIS_PORT=${REDIS_PORT:-6379}

log() { printf '[rig] %s\n' "$*" >&2; }
die() { printf '[rig] error: %s\n' "$*" >&2; exit 1; }

docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_updated=0
apt_install() {
  [ "$(id -u)" = 0 ] || die "need root to install $* (or install them yourself: apt-get install $*)"
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# need_cmd CMD PACKAGE: install PACKAGE when CMD is missing.
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_install "$2"; }

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }
