#!/bin/bash
# Run once by the postgres image on an empty data directory (mounted into /docker-entrypoint-initdb.d by
# docker-compose.yml), as the superuser. Least privilege, one role per job:
#   ramflow_owner  owns the `ramflow` database and its schema: the `migrate` service (Alembic) only
#   ramflow_app    the API and the worker: reads and writes rows, changes no schema
#   temporal       owns `temporal` and `temporal_visibility` (auto-setup creates the schema); no access to ramflow
# The superuser (POSTGRES_USER) is used by nothing else.
set -euo pipefail

: "${RAMFLOW_OWNER_DB_PASSWORD:?}" "${RAMFLOW_APP_DB_PASSWORD:?}" "${TEMPORAL_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$RAMFLOW_OWNER_DB_PASSWORD" -v app_pw="$RAMFLOW_APP_DB_PASSWORD" -v temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE ramflow_owner LOGIN PASSWORD :'owner_pw' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE ramflow_app LOGIN PASSWORD :'app_pw' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE temporal LOGIN PASSWORD :'temporal_pw' NOSUPERUSER NOCREATEDB NOCREATEROLE;

CREATE DATABASE ramflow OWNER ramflow_owner;
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;

REVOKE ALL ON DATABASE ramflow, temporal, temporal_visibility FROM PUBLIC;
GRANT CONNECT ON DATABASE ramflow TO ramflow_app;
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname ramflow <<'SQL'
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO ramflow_owner;
GRANT USAGE ON SCHEMA public TO ramflow_app;
-- every table and sequence the migrations create: rows only, for the application
ALTER DEFAULT PRIVILEGES FOR ROLE ramflow_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ramflow_app;
ALTER DEFAULT PRIVILEGES FOR ROLE ramflow_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO ramflow_app;
SQL
