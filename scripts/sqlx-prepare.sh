#!/usr/bin/env bash
# Regenerates .sqlx/ — the offline data behind sqlx's compile-checked
# queries — from a scratch database built from migrations/. Run it after
# changing a migration or a query!, and commit the result.
#
#   scripts/sqlx-prepare.sh           # rewrite .sqlx/
#   scripts/sqlx-prepare.sh --check   # fail if .sqlx/ is not what it would write (CI)
#
# Queries are described as app_runtime, the role that runs them, so a query
# needing a privilege the runtime role lacks fails here, at build time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

check=
if [[ "${1:-}" == "--check" ]]; then
    check=1
fi

superuser_url=${POSTGRES_SUPERUSER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
database=trellis_sqlx
psql "$superuser_url" -qc "drop database if exists $database with (force)"
scripts/db/create-database.sh "$superuser_url" "$database"
owner_url=$(with_role_and_db "$superuser_url" app_owner "$database")
for migration in migrations/*.sql; do
    psql "$owner_url" -v ON_ERROR_STOP=1 -q -1 -f "$migration"
done

if [ -n "$check" ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
else
    out="$PWD/.sqlx"
    rm -rf "$out" && mkdir "$out"
fi
# The macros only run when their crate recompiles.
cargo clean -p app -p server
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" \
    DATABASE_URL=$(with_role_and_db "$superuser_url" app_runtime "$database") \
    cargo check -p server --tests
if [ -n "$check" ]; then
    if ! diff -r -q .sqlx "$out"; then
        echo "The committed .sqlx/ does not match the queries: run scripts/sqlx-prepare.sh and commit .sqlx/." >&2
        exit 1
    fi
    echo ".sqlx/ matches every query ($(ls "$out" | wc -l) files)"
else
    echo "Wrote $(ls .sqlx | wc -l) query files to .sqlx/"
fi
