#!/bin/bash
# docker-entrypoint-initdb.d script of the postgres image (runs once, on an empty data
# directory): a login role and a database of its own for each service, exactly what
# shared/platform/config.py's defaults expect (jinwei_<service> / jinwei_<service>) and what
# `make run` provisions (tools/launcher/provision.py). Passwords: JINWEI_DATABASE_PASSWORD
# (default "jinwei", the default of shared/platform/config.py; set it for anything but a trial).
set -euo pipefail
password=${JINWEI_DATABASE_PASSWORD:-jinwei}
# Keep in step with shared/platform/config.py SERVICES (tests/ops checks it).
SERVICES="organizations evaluation npe cadres resources accounts"
for service in $SERVICES; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v role="jinwei_${service}" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
SQL
done
