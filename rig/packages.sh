#!/usr/bin/env bash
# Installs the Debian packages a profile of the rig needs (demo or test, see setup.sh), only those whose commands
# are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
profile=${1:-test}

missing=()
want() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
# The demo's: the engine, the registry and Redis (the sandbox's Redis image is built from Debian's redis-server).
want curl curl
want dockerd docker.io
want docker-registry docker-registry
want redis-server redis-server
if [ "$profile" = test ]; then
  want ip iproute2
  want docker-compose docker-compose
  want chromium chromium
  want nginx nginx
  want systemd-analyze systemd
  want haproxy haproxy
  want git git
  # ssh-keygen -Y sign/verify for signed approvals (and ssh-agent in their tests).
  want ssh-keygen openssh-client
  want ssh-agent openssh-client
  # PostgreSQL for the Temporal cluster tests; Debian keeps its server programs off PATH, per major version.
  [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; else log "packages present ($profile)"; fi
