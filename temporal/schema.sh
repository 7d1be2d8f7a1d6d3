#!/bin/sh
# Creates Temporal's two PostgreSQL databases (persistence and visibility) and brings their schemas to the
# version of the schema files. Run again, it changes nothing. One script for both ways of running Temporal:
# docker-compose.temporal.yml's temporal-schema service runs it in the admin-tools image, and the test cluster
# (test/support/temporal-cluster.ts) runs it with the schema tool built by rig/ (docs/temporal-server.md).
#
# temporal-sql-tool reads its connection from SQL_PLUGIN (postgres12), SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD. TEMPORAL_SCHEMA_DIR is where the schema files are (the admin-tools image keeps them at the default).
set -eu
schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
for db in temporal temporal_visibility; do
  case $db in
    temporal) dir=$schema/temporal/versioned ;;
    *) dir=$schema/visibility/versioned ;;
  esac
  [ -d "$dir" ] || { echo "schema: no schema files in $dir (set TEMPORAL_SCHEMA_DIR)" >&2; exit 1; }
  echo "schema: database $db"
  temporal-sql-tool --db "$db" create-database || echo "schema: $db already exists"
  # Version 0.0 is the bare versioning table; update-schema then applies every versioned step not yet applied.
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$dir"
done
echo "schema: done"
