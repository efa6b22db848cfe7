# Shared by scripts/dev.sh and scripts/test.sh: each `ensure_*` installs one
# thing if it is missing and does nothing otherwise, so both commands are
# safe to run again.

CARGO_LEPTOS_VERSION=0.3.10

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root (directly, or through sudo when available).
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root to run: $*"
    fi
}

apt_install() {
    log "Installing $* (apt)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# postgres://user:pw@host:port/db → postgres://<role>@host:port/<database>
with_role_and_db() {
    python3 - "$1" "$2" "$3" <<'PY'
import sys, urllib.parse as u
url, role, database = sys.argv[1:]
p = u.urlsplit(url)
host = p.hostname or "127.0.0.1"
port = f":{p.port}" if p.port else ""
print(u.urlunsplit((p.scheme, f"{role}@{host}{port}", "/" + database, p.query, "")))
PY
}

# postgres://user@host:port/db → host:port
host_and_port() {
    python3 - "$1" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(f"{p.hostname or '127.0.0.1'}:{p.port or 5432}")
PY
}

ensure_rust() {
    command -v cargo >/dev/null || die "Rust is not installed; see https://rustup.rs"
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        log "Adding the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown
    fi
}

ensure_cargo_leptos() {
    if ! cargo leptos --version >/dev/null 2>&1; then
        log "Installing cargo-leptos $CARGO_LEPTOS_VERSION (takes about 13 minutes on 2 cores, once)"
        cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
    fi
}

# The wasm-bindgen CLI must match the library version in Cargo.lock exactly.
ensure_wasm_bindgen() {
    local wanted
    wanted=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
    [ -n "$wanted" ] || die "wasm-bindgen not found in Cargo.lock"
    if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wanted" ]; then
        log "Installing wasm-bindgen-cli $wanted (matches Cargo.lock)"
        # --locked can fail when the registry lacks a version the CLI's own
        # lock file names; the unlocked build is the fallback.
        cargo install wasm-bindgen-cli --version "$wanted" --locked --force \
            || cargo install wasm-bindgen-cli --version "$wanted" --force
    fi
}

ensure_node() {
    if ! command -v npm >/dev/null; then
        apt_install nodejs npm
    fi
}

# Installs the npm packages in $1 from its package-lock.json, unless
# node_modules was installed from this very lock file (a copy is kept as a
# stamp). `npm install` rather than `npm ci`: registry mirrors that serve only
# this platform's optional packages (Tailwind's native binaries) leave the lock
# without the others, which `npm ci` refuses.
ensure_npm_packages() {
    local dir=$1
    if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-from-lock" 2>/dev/null; then
        log "Installing npm packages in $dir"
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
        cp "$dir/package-lock.json" "$dir/node_modules/.installed-from-lock"
    fi
}

ensure_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        apt_install chromium
    fi
}

# Makes sure a PostgreSQL server answers at $POSTGRES_SUPERUSER_URL: starts
# the local cluster if it is down, installs one if there is none.
ensure_postgres() {
    local url=$1
    command -v psql >/dev/null || apt_install postgresql postgresql-client
    if psql "$url" -tAc 'select 1' >/dev/null 2>&1; then
        return
    fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
    if [ -z "$version" ]; then
        apt_install postgresql
        version=$(ls /etc/postgresql | sort -n | tail -1)
        # A fresh Debian cluster asks for passwords on loopback; this
        # development cluster trusts loopback instead, like the one this
        # project is developed on.
        local hba="/etc/postgresql/$version/main/pg_hba.conf"
        as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    fi
    log "Starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do
        psql "$url" -tAc 'select 1' >/dev/null 2>&1 && return
        sleep 1
    done
    die "PostgreSQL does not answer at $url (set POSTGRES_SUPERUSER_URL to a superuser URL that works)"
}
