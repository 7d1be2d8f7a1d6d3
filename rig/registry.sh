#!/usr/bin/env bash
# A real image registry on 127.0.0.1:5000 (Debian's docker-registry, distribution 2.8), so every pull in the
# tests and the sandbox is a real pull. Idempotent: does nothing when the registry already answers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

if http_ok "http://$REGISTRY_ADDR/v2/"; then
  log "registry already answers on $REGISTRY_ADDR"
  exit 0
fi
need_cmd docker-registry docker-registry
mkdir -p "$RIG_STATE/registry"
cat >"$RIG_STATE/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $RIG_STATE/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
YML
log "starting docker-registry on $REGISTRY_ADDR; log: $RIG_STATE/registry.log"
nohup docker-registry serve "$RIG_STATE/registry.yml" >"$RIG_STATE/registry.log" 2>&1 &
echo $! >"$RIG_STATE/registry.pid"
for _ in $(seq 1 60); do
  http_ok "http://$REGISTRY_ADDR/v2/" && { log "registry up"; exit 0; }
  sleep 0.5
done
die "registry did not answer on $REGISTRY_ADDR (see $RIG_STATE/registry.log)"
