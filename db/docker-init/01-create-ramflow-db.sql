-- Run once by the postgres image on an empty data directory
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
-- The Ramflow application database; Temporal's auto-setup creates its own
-- `temporal` and `temporal_visibility` databases.
CREATE DATABASE ramflow;
