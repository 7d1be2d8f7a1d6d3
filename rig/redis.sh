#!/usr/bin/env bash
# A real Redis on 127.0.0.1 for the sandbox stack. Tests start their own redis-server per test on free
# ports (they need to stop it), so this only installs the binary and runs the shared instance.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

need_cmd redis-server redis-server
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  log "redis already answers on 127.0.0.1:$REDIS_PORT"
  exit 0
fi
mkdir -p "$RIG_STATE/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$RIG_STATE/redis" \
  --logfile "$RIG_STATE/redis.log" --pidfile "$RIG_STATE/redis.pid"
for _ in $(seq 1 40); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && { log "redis up on 127.0.0.1:$REDIS_PORT"; exit 0; }
  sleep 0.25
done
die "redis did not answer on 127.0.0.1:$REDIS_PORT"
