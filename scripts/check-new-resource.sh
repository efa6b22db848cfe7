#!/usr/bin/env bash
# Proves the resource generator still works: copies this working tree to a
# scratch directory, makes a "widget" resource there with
# scripts/new-resource.sh, and builds and tests the result — its isolation
# entry, its HTTP tests, the audit completeness test, and its browser tests
# with and without JavaScript. The copy shares this tree's cargo target and
# npm packages, so only the application crates are built again.
# Run by scripts/test.sh; needs what that script installs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
here=$PWD
superuser_url=${POSTGRES_SUPERUSER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar --exclude=./target --exclude=./.git --exclude='./node_modules' \
    --exclude='./end2end/node_modules' --exclude='./end2end/test-results' \
    --exclude='./end2end/screenshots' -cf - . | tar -xf - -C "$scratch"
ln -s "$here/node_modules" "$scratch/node_modules"
ln -s "$here/end2end/node_modules" "$scratch/end2end/node_modules"
cd "$scratch"

log "Generator: making a widget resource in a scratch copy"
scripts/new-resource.sh widget
scripts/sqlx-prepare.sh >/dev/null
cargo clippy -p app -p server --features app/ssr --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

log "Generator: the widget's isolation, HTTP and audit tests"
DATABASE_URL=$superuser_url cargo test -p app --features ssr --lib
DATABASE_URL=$superuser_url cargo test -p server --features app/ssr \
    --test it -- isolation:: widgets:: audit_completeness::

log "Generator: the widget's browser tests"
cargo leptos build
e2e_db=trellis_e2e_widget
psql "$superuser_url" -qc "drop database if exists $e2e_db with (force)"
scripts/db/create-database.sh "$superuser_url" "$e2e_db"
pg_hostport=$(host_and_port "$superuser_url")
(cd end2end && E2E_DATABASE=$e2e_db E2E_PG_HOST=$pg_hostport npx playwright test tests/widgets.spec.ts)
psql "$superuser_url" -qc "drop database if exists $e2e_db with (force)"
psql "$superuser_url" -qc "drop database if exists trellis_sqlx with (force)"
log "Generator: the widget resource builds and passes its tests"
