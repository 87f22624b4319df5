#!/bin/sh
# Run once by the postgres image on an empty data directory: the app's role and database. The role
# is neither superuser nor BYPASSRLS, so row-level security binds Hookline as it does in the tests.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v password="$PGPASSWORD" <<'SQL'
CREATE ROLE hookline_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD :'password';
CREATE DATABASE hookline OWNER hookline_app;
SQL
