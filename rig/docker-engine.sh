#!/usr/bin/env bash
# Makes sure a Docker engine answers. On a user's machine with an engine already running it does nothing;
# otherwise it installs Debian's docker.io and starts dockerd with no bridge and no iptables, so the engine
# creates no private-range addresses (containers use host networking on 127.0.0.1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

if docker_answers; then
  log "docker engine already answers"
  exit 0
fi
need_cmd dockerd docker.io
if ! command -v docker >/dev/null 2>&1; then apt_install docker.io; fi

mkdir -p "$RIG_STATE"
log "starting dockerd (no bridge, no iptables); log: $RIG_STATE/dockerd.log"
nohup dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
  --host=unix:///var/run/docker.sock >"$RIG_STATE/dockerd.log" 2>&1 &
echo $! >"$RIG_STATE/dockerd.pid"
for _ in $(seq 1 120); do
  docker_answers && { log "docker engine up"; exit 0; }
  sleep 0.5
done
tail -n 30 "$RIG_STATE/dockerd.log" >&2
die "dockerd did not answer within 60 s (see $RIG_STATE/dockerd.log)"
