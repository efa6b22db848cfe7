#!/usr/bin/env bash
# Regenerates .sqlx/ — the offline data behind sqlx's compile-checked
# queries — from a scratch database built from migrations/. Run it after
# changing a migration or a query!, and commit the result.
#
# Queries are described as app_runtime, the role that runs them, so a query
# needing a privilege the runtime role lacks fails here, at build time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

superuser_url=${POSTGRES_SUPERUSER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
database=trellis_sqlx
psql "$superuser_url" -qc "drop database if exists $database with (force)"
scripts/db/create-database.sh "$superuser_url" "$database"
owner_url=$(with_role_and_db "$superuser_url" app_owner "$database")
for migration in migrations/*.sql; do
    psql "$owner_url" -v ON_ERROR_STOP=1 -q -1 -f "$migration"
done

rm -rf .sqlx && mkdir .sqlx
# The macros only run when their crate recompiles.
cargo clean -p app -p server
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" \
    DATABASE_URL=$(with_role_and_db "$superuser_url" app_runtime "$database") \
    cargo check -p server --tests
echo "Wrote $(ls .sqlx | wc -l) query files to .sqlx/"
