#!/usr/bin/env bash
# Installs the Debian packages the rig needs, only those whose commands are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

missing=()
want() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
want curl curl
want ip iproute2
want dockerd docker.io
want docker-registry docker-registry
want redis-server redis-server
want docker-compose docker-compose
want chromium chromium
want nginx nginx
want systemd-analyze systemd
want haproxy haproxy
# ssh-keygen -Y sign/verify for signed approvals (and ssh-agent in their tests).
want ssh-keygen openssh-client
want ssh-agent openssh-client
# PostgreSQL for the Temporal cluster tests; Debian keeps its server programs off PATH, per major version.
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; else log "packages present"; fi
