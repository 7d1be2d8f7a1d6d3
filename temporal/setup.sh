#!/bin/sh
# The namespace and tyk-upgrade's search attributes on a Temporal server, each created only when missing.
# One script for both ways of running Temporal: docker-compose.temporal.yml's temporal-setup service runs it in
# the admin-tools image, and the test cluster (test/support/temporal-cluster.ts) runs it with the Temporal CLI
# the rig built, so what the tests prove is what the compose file sets up.
#
# The temporal CLI reads the server from TEMPORAL_ADDRESS (host:port of a frontend or of the load balancer in
# front of the frontends). TEMPORAL_NAMESPACE (default "default") and TEMPORAL_RETENTION (default 720h).
set -eu
# NAME=Type for each search attribute in src/shared/names.ts; test/rig.test.ts checks the two lists agree.
SEARCH_ATTRIBUTES="TykStack=Keyword TykTargetVersion=Keyword TykStage=Keyword TykRun=Keyword"

ns=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_RETENTION:-720h}
addr=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
n=0
until temporal operator cluster health 2>/dev/null | grep -q SERVING; do
  n=$((n + 1)); [ "$n" -lt 60 ] || { echo "setup: the server at $addr is not serving" >&2; exit 1; }
  sleep 2
done
if temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
  echo "setup: namespace $ns exists"
else
  temporal operator namespace create --namespace "$ns" --retention "$retention"
fi
for sa in $SEARCH_ATTRIBUTES; do
  name=${sa%%=*}
  type=${sa#*=}
  n=0
  # A new namespace takes a few seconds to reach every node's cache: retry until the attribute is listed.
  until temporal operator search-attribute list --namespace "$ns" 2>/dev/null | grep -qw "$name"; do
    n=$((n + 1)); [ "$n" -lt 30 ] || { echo "setup: could not create search attribute $name" >&2; exit 1; }
    temporal operator search-attribute create --namespace "$ns" --name "$name" --type "$type" >/dev/null 2>&1 || true
    sleep 1
  done
  echo "setup: search attribute $name ($type) present"
done
echo "setup: done"
