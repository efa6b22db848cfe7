#!/usr/bin/env bash
# Runs the whole test suite: formatting and lints, unit tests, database and
# HTTP tests against real PostgreSQL, then browser tests in Chromium against
# the real server. Installs what is missing first. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

superuser_url=${POSTGRES_SUPERUSER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
# CI builds everything once: an incremental cache would only cost disk.
if [ -n "${CI:-}" ]; then
    export CARGO_INCREMENTAL=0
fi

ensure_rust
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_node
ensure_npm_packages .
ensure_npm_packages end2end
ensure_chromium
ensure_postgres "$superuser_url"
# Roles are cluster-wide; the test harness and the e2e database need them.
PGOPTIONS='-c client_min_messages=warning' psql "$superuser_url" -v ON_ERROR_STOP=1 -q -f scripts/db/roles.sql

log "Checking formatting"
cargo fmt --all --check

log "Checking that .sqlx/ (the offline query data) matches the queries"
scripts/sqlx-prepare.sh --check

log "Linting (server build, then browser build)"
cargo clippy -p app -p server --features app/ssr --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

# ssr and hydrate are never enabled together, so the workspace is never
# tested as a whole: app with ssr, plus the server crate.
log "Unit, database and HTTP tests (PostgreSQL as app_runtime)"
DATABASE_URL=$superuser_url cargo test -p app -p server --features app/ssr

log "Building the app (server, wasm bundle, CSS)"
cargo leptos build

log "Browser tests (Chromium, with and without JavaScript)"
e2e_db=trellis_e2e
psql "$superuser_url" -qc "drop database if exists $e2e_db with (force)"
scripts/db/create-database.sh "$superuser_url" "$e2e_db"
rm -rf end2end/screenshots
pg_hostport=$(host_and_port "$superuser_url")
(cd end2end && E2E_DATABASE=$e2e_db E2E_PG_HOST=$pg_hostport npx playwright test)

# The resource generator, run into a scratch copy and tested there, so it
# cannot fall behind the code it copies (about ten minutes).
if [ -z "${SKIP_GENERATOR_CHECK:-}" ]; then
    scripts/check-new-resource.sh
fi

log "All tests passed. Screenshots are in end2end/screenshots/."
