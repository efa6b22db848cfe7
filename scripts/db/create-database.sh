#!/usr/bin/env bash
# Creates the application's roles and an empty database owned by app_owner.
# Idempotent. Usage: scripts/db/create-database.sh <superuser-url> <database-name>
set -euo pipefail
superuser_url=$1
database=$2
here=$(cd "$(dirname "$0")" && pwd)
export PGOPTIONS='-c client_min_messages=warning'

psql "$superuser_url" -v ON_ERROR_STOP=1 -q -f "$here/roles.sql"
if [ -z "$(psql "$superuser_url" -tAc "select 1 from pg_database where datname = '$database'")" ]; then
    psql "$superuser_url" -v ON_ERROR_STOP=1 -q -c "create database \"$database\" owner app_owner"
fi
# PostgreSQL 15+ creates schema public owned by pg_database_owner; hand it to
# app_owner so migrations can create objects there without inherited rights.
database_url=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$superuser_url" "$database")
psql "$database_url" -v ON_ERROR_STOP=1 -q -c "alter schema public owner to app_owner"
