#!/usr/bin/env bash
# Runs the load benchmark: seeds its own database (trellis_bench: the demo
# orgs, plus bigco with 10,000 members and 1,000,000 audit events), starts
# the release server in production mode, drives it with wrk over loopback,
# and prints a table. Installs what is missing first. Safe to run again.
#
#   scripts/bench.sh               the whole run
#   scripts/bench.sh --seed-only   only build trellis_bench, to click through
#
# Settings: BENCH_SECONDS (10 per row), BENCH_CONNECTIONS (32),
# BENCH_MEMBERS (10000), BENCH_EVENTS (1000000), POSTGRES_SUPERUSER_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

export POSTGRES_SUPERUSER_URL=${POSTGRES_SUPERUSER_URL:-postgres://postgres@127.0.0.1:5432/postgres}

ensure_rust
ensure_postgres "$POSTGRES_SUPERUSER_URL"
if ! command -v wrk >/dev/null; then
    apt_install wrk
fi

# The bench profile is the release profile; cargo builds the server binary
# the benchmark starts.
log "Building the release server and the benchmark (the first time takes a while)"
cargo bench -p server --bench load --no-run
log "Running the benchmark"
cargo bench -p server --bench load -- "$@"
