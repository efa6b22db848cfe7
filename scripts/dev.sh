#!/usr/bin/env bash
# Runs Trellis locally: installs what is missing, prepares PostgreSQL (roles
# and the trellis_dev database), then builds and serves the app with
# cargo-leptos, rebuilding on change. Safe to run again.
#
# With nothing configured it uses local PostgreSQL, keeps mail in the local
# outbox, and seeds demo data (accounts in README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

superuser_url=${POSTGRES_SUPERUSER_URL:-postgres://postgres@127.0.0.1:5432/postgres}

ensure_rust
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_node
ensure_npm_packages .

# An explicitly configured database (.env or environment) is used as it is.
if [ -z "${DATABASE_URL:-}" ] && ! grep -qs '^DATABASE_URL=' .env; then
    ensure_postgres "$superuser_url"
    log "Preparing roles and the trellis_dev database"
    scripts/db/create-database.sh "$superuser_url" trellis_dev
    export DATABASE_URL=$(with_role_and_db "$superuser_url" app_runtime trellis_dev)
    export DATABASE_OWNER_URL=$(with_role_and_db "$superuser_url" app_owner trellis_dev)
fi

log "Starting Trellis at http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000} (demo password: demo-password)"
exec cargo leptos watch "$@"
