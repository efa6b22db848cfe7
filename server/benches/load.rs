//! The load benchmark: seeds its own database, starts the release server,
//! drives it over loopback with `wrk`, and prints one table.
//!
//! Run it with `scripts/bench.sh` (which installs wrk and checks PostgreSQL
//! first), or `cargo bench -p server --bench load`. With `-- --seed-only` it
//! only builds the database (`trellis_bench`: the demo orgs plus `bigco` with
//! 10,000 members and 1,000,000 audit events) and leaves it for clicking
//! through. Settings, all optional:
//!
//! - `POSTGRES_SUPERUSER_URL` (postgres://postgres@127.0.0.1:5432/postgres)
//! - `BENCH_SECONDS` per measurement (10), `BENCH_CONNECTIONS` (32)
//! - `BENCH_MEMBERS` (10000), `BENCH_EVENTS` (1000000)
//!
//! Every figure of the table comes from this run: the baseline (a minimal
//! axum handler with one session look-up and one indexed query) is served by
//! this process while the server is idle, and the row-level-security ratio
//! runs the same queries as the runtime role and as the superuser, back to
//! back. A run fails if any request fails.

use app::domain::{db::Db, db::MIGRATOR, demo, password};
use axum::{extract::State, http::HeaderMap, routing::get};
use sqlx::{Connection, PgPool, postgres::PgPoolOptions};
use std::{
    fmt::Write as _,
    process::ExitCode,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::process::{Child, Command};
use tower_sessions::{SessionStore, session::Id};
use tower_sessions_sqlx_store::PostgresStore;
use uuid::Uuid;

// The server's allocator: the baseline is served by this program.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DATABASE: &str = "trellis_bench";
const ORIGIN: &str = "https://trellis.bench.test";
const BIG: &str = "bigco";
const ROLES_SQL: &str = include_str!("../../scripts/db/roles.sql");

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Settings {
    superuser_url: String,
    seconds: u64,
    connections: u32,
    members: usize,
    events: i64,
}

impl Settings {
    fn from_env() -> Result<Self, Error> {
        fn number<T: FromStr>(name: &str, default: T) -> Result<T, Error> {
            match std::env::var(name) {
                Ok(v) => v
                    .parse()
                    .map_err(|_| format!("{name} must be a number, got {v:?}").into()),
                Err(_) => Ok(default),
            }
        }
        Ok(Self {
            superuser_url: std::env::var("POSTGRES_SUPERUSER_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            seconds: number("BENCH_SECONDS", 10)?,
            connections: number("BENCH_CONNECTIONS", 32)?,
            members: number("BENCH_MEMBERS", 10_000)?,
            events: number("BENCH_EVENTS", 1_000_000)?,
        })
    }

    /// The superuser URL pointed at `database` as `role` (None: the superuser).
    fn url(&self, role: Option<&str>, database: &str) -> Result<String, Error> {
        let mut url = reqwest::Url::parse(&self.superuser_url)?;
        if let Some(role) = role {
            url.set_username(role).map_err(|_| "bad URL")?;
            url.set_password(None).map_err(|_| "bad URL")?;
        }
        url.set_path(database);
        Ok(url.to_string())
    }
}

/// One line of the table.
struct Row {
    name: String,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Peak resident memory of the server during this measurement.
    peak_mb: Option<f64>,
    /// CPU time per request: the serving process, and PostgreSQL.
    cpu: Option<CpuPerRequest>,
    note: String,
}

fn main() -> ExitCode {
    // Two workers, as the server has on this two-core machine: the harness's
    // own work (seeding, the baseline server) then competes like the server.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    match runtime.block_on(run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, Error> {
    let settings = Settings::from_env()?;
    let seed_only = std::env::args().any(|a| a == "--seed-only");
    let started = Instant::now();

    let seeded = seed(&settings).await?;
    eprintln!(
        "seeded {DATABASE} in {:.0} s ({} members, {} audit events in {BIG})",
        seeded.took.as_secs_f64(),
        settings.members,
        settings.events
    );
    if seed_only {
        eprintln!(
            "Database left in place: DATABASE_URL={} with SEED_DEMO_DATA=false; \
             sign in to /o/{BIG}/login as owner@{BIG}.test / {}",
            settings.url(Some("app_runtime"), DATABASE)?,
            demo::DEMO_PASSWORD
        );
        return Ok(true);
    }

    let server = Server::start(&settings).await?;
    let mut seeded = seeded;
    seeded.owner_cookie = sign_in(&server.base, BIG, &format!("owner@{BIG}.test")).await?;
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let duration = Duration::from_secs(settings.seconds);
    let load = Load {
        connections: settings.connections,
        duration,
    };

    // The baseline first, while the server is idle.
    let baseline = Baseline::start(&settings).await?;
    let base_row = load
        .run(
            "baseline: axum + session look-up + indexed query",
            &Request::get(&baseline.url()).cookie(&seeded.owner_cookie),
            None,
        )
        .await?;
    baseline.stop();
    let baseline_rps = base_row.0.rps;
    collect(&mut rows, &mut failures, base_row);

    let owner = seeded.owner_cookie.as_str();
    let pages: [(&str, String, Option<&str>); 7] = [
        (
            "org login page (anonymous)",
            format!("/o/{BIG}/login"),
            None,
        ),
        ("dashboard (signed in)", format!("/o/{BIG}"), Some(owner)),
        (
            "members, first page (10k)",
            format!("/o/{BIG}/members"),
            Some(owner),
        ),
        (
            "members, search (10k)",
            format!("/o/{BIG}/members?q=person0424"),
            Some(owner),
        ),
        (
            "audit, first page (1M)",
            format!("/o/{BIG}/audit"),
            Some(owner),
        ),
        (
            "audit, filtered by kind (1M)",
            format!("/o/{BIG}/audit?group=roles"),
            Some(owner),
        ),
        (
            "audit, filtered by actor's email (1M)",
            format!("/o/{BIG}/audit?actor=person00042%40{BIG}.test"),
            Some(owner),
        ),
    ];
    for (name, path, cookie) in pages {
        let mut request = Request::get(&format!("{}{path}", server.base));
        if let Some(cookie) = cookie {
            request = request.cookie(cookie);
        }
        collect(
            &mut rows,
            &mut failures,
            load.run(name, &request, Some(&server)).await?,
        );
    }

    // A write and its audit event: role changes over a thousand members.
    let bodies: Vec<String> = seeded
        .member_ids
        .iter()
        .take(1000)
        .flat_map(|id| {
            ["member", "viewer"].map(|role| format!("slug={BIG}&user_id={id}&role={role}"))
        })
        .collect();
    let request =
        Request::post(&format!("{}/api/members/change_role", server.base), bodies).cookie(owner);
    collect(
        &mut rows,
        &mut failures,
        load.run("role change (server function)", &request, Some(&server))
            .await?,
    );

    // Password sign-in, next to the raw hashing rate of this machine.
    let bodies: Vec<String> = (0..settings.members.min(2000))
        .map(|i| {
            format!(
                "email=person{i:05}%40{BIG}.test&password={}&org={BIG}",
                demo::DEMO_PASSWORD
            )
        })
        .collect();
    let request = Request::post(&format!("{}/api/auth/sign_in", server.base), bodies);
    let (mut sign_in, failed) = load
        .run("password sign-in", &request, Some(&server))
        .await?;
    let hashes = argon2_rate(duration).await;
    sign_in.note = format!(
        "{:.0}% of raw argon2 ({hashes:.1} verifies/s on {} threads)",
        100.0 * sign_in.rps / hashes,
        cores()
    );
    collect(&mut rows, &mut failures, (sign_in, failed));
    server.stop().await;
    let peak_overall = rows.iter().filter_map(|r| r.peak_mb).reduce(f64::max);

    // Row-level security: the same queries, with and without it.
    let rls = rls_overhead(&settings, &seeded, duration).await?;

    print_table(&settings, &rows, baseline_rps, &rls, peak_overall);
    eprintln!("whole run: {:.0} s", started.elapsed().as_secs_f64());
    for failure in &failures {
        eprintln!("FAILED: {failure}");
    }
    Ok(failures.is_empty())
}

fn collect(rows: &mut Vec<Row>, failures: &mut Vec<String>, (row, failed): (Row, Option<String>)) {
    if let Some(failed) = failed {
        failures.push(format!("{}: {failed}", row.name));
    }
    rows.push(row);
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

// ---------------------------------------------------------------------------
// The database
// ---------------------------------------------------------------------------

struct Seeded {
    took: Duration,
    org_id: Uuid,
    owner_id: Uuid,
    /// A session cookie of bigco's owner, signed in through the app.
    owner_cookie: String,
    member_ids: Vec<Uuid>,
}

/// Creates `trellis_bench` from scratch, as production does (roles, then
/// migrations as app_owner), with the demo data and the big organization.
async fn seed(settings: &Settings) -> Result<Seeded, Error> {
    let started = Instant::now();
    let mut su = sqlx::PgConnection::connect(&settings.superuser_url).await?;
    sqlx::raw_sql(ROLES_SQL).execute(&mut su).await?;
    for statement in [
        format!("drop database if exists {DATABASE} with (force)"),
        format!("create database {DATABASE} owner app_owner"),
    ] {
        sqlx::raw_sql(&statement).execute(&mut su).await?;
    }
    su.close().await?;
    let mut su = sqlx::PgConnection::connect(&settings.url(None, DATABASE)?).await?;
    sqlx::raw_sql("alter schema public owner to app_owner")
        .execute(&mut su)
        .await?;
    let mut owner =
        sqlx::PgConnection::connect(&settings.url(Some("app_owner"), DATABASE)?).await?;
    MIGRATOR.run(&mut owner).await?;
    owner.close().await?;

    let runtime = PgPoolOptions::new()
        .max_connections(8)
        .connect(&settings.url(Some("app_runtime"), DATABASE)?)
        .await?;
    let db = Db::new(runtime.clone());
    demo::seed(&db).await?;
    let org = demo::seed_big_org(&db, BIG, settings.members).await?;
    demo::seed_audit_events(&db, org, settings.members, settings.events).await?;
    runtime.close().await;
    sqlx::raw_sql("vacuum analyze").execute(&mut su).await?;
    let (owner_id,): (Uuid,) = sqlx::query_as("select user_id from app_user where email = $1")
        .bind(format!("owner@{BIG}.test"))
        .fetch_one(&mut su)
        .await?;
    let member_ids: Vec<Uuid> = sqlx::query_scalar(
        "select user_id from membership where org_id = $1 and role <> 'owner' order by user_id",
    )
    .bind(org.0)
    .fetch_all(&mut su)
    .await?;
    su.close().await?;
    Ok(Seeded {
        took: started.elapsed(),
        org_id: org.0,
        owner_id,
        owner_cookie: String::new(),
        member_ids,
    })
}

// ---------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------

struct Server {
    child: Child,
    pid: u32,
    base: String,
}

impl Server {
    /// Starts the release binary in production mode on a free port.
    async fn start(settings: &Settings) -> Result<Self, Error> {
        let port = free_port()?;
        let key = {
            use base64::Engine;
            let bytes = [Uuid::new_v4().into_bytes(), Uuid::new_v4().into_bytes()].concat();
            format!(
                "bench:{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
        };
        let log = std::fs::File::create(std::env::temp_dir().join("trellis-bench-server.log"))?;
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("APP_ENV", "production")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("PUBLIC_BASE_URL", ORIGIN)
            .env("DATABASE_URL", settings.url(Some("app_runtime"), DATABASE)?)
            .env(
                "DATABASE_OWNER_URL",
                settings.url(Some("app_owner"), DATABASE)?,
            )
            // Nothing is mailed during the run; production wants a relay named.
            .env("SMTP_URL", "smtp://127.0.0.1:9")
            .env("MAIL_FROM", "Trellis <no-reply@trellis.bench.test>")
            .env("SSO_ENCRYPTION_KEYS", key)
            // The run signs in thousands of times from one address.
            .env("RATE_LIMIT_MULTIPLIER", "1000000")
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        let mut child = child;
        let pid = child.id().ok_or("the server exited at once")?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await
                && r.status().is_success()
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "the server exited ({status}); see trellis-bench-server.log in the temp directory"
                )
                .into());
            }
            if Instant::now() > deadline {
                return Err("the server did not become healthy within 60 s (see trellis-bench-server.log in the temp directory)".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self { child, pid, base })
    }

    /// Resets the peak-memory mark (Linux: `/proc/<pid>/clear_refs`).
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
    }

    /// Peak resident memory since the last reset, in MB.
    fn peak_mb(&self) -> Option<f64> {
        status_kb(self.pid, "VmHWM:").map(|kb| kb / 1024.0)
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn status_kb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time spent so far, in clock ticks (`USER_HZ`, 100 per second on
/// Linux): by one process, by every PostgreSQL process, and by the whole
/// machine.
struct CpuSample {
    serving: u64,
    postgres: u64,
    machine: u64,
}

/// Milliseconds of CPU per request during one measurement.
#[derive(Clone, Copy)]
struct CpuPerRequest {
    serving_ms: f64,
    postgres_ms: f64,
    /// Everything else on the machine: wrk itself, and the harness.
    other_ms: f64,
}

impl CpuSample {
    fn take(serving: u32) -> Option<Self> {
        let serving = process_ticks(serving)?;
        let mut postgres = 0;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let is_postgres = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres");
            if is_postgres {
                // With the time of its children that have exited: the
                // postmaster reaps backends and autovacuum workers that come
                // and go during a row.
                postgres +=
                    process_ticks(pid).unwrap_or(0) + exited_children_ticks(pid).unwrap_or(0);
            }
        }
        // The first line of /proc/stat: user nice system idle iowait irq softirq steal …
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let busy = fields
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 3 && *i != 4);
        Some(Self {
            serving,
            postgres,
            machine: busy.map(|(_, t)| t).take(6).sum(),
        })
    }

    fn per_request_since(&self, before: &Self, requests: u64) -> CpuPerRequest {
        let ms = |ticks: u64| ticks as f64 * 10.0 / requests.max(1) as f64;
        let serving = self.serving.saturating_sub(before.serving);
        let postgres = self.postgres.saturating_sub(before.postgres);
        let machine = self.machine.saturating_sub(before.machine);
        CpuPerRequest {
            serving_ms: ms(serving),
            postgres_ms: ms(postgres),
            other_ms: ms(machine.saturating_sub(serving + postgres)),
        }
    }
}

/// utime + stime of a process (and its threads), in clock ticks.
fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; count from after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the whole line are the 12th and 13th after ')'.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// cutime + cstime: the CPU time of a process's children that have exited
/// and been waited for, in clock ticks.
fn exited_children_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?)
}

fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Signs in through the app's own form and returns the session cookie.
async fn sign_in(base: &str, slug: &str, email: &str) -> Result<String, Error> {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(format!("{base}/api/auth/sign_in"))
        .header("origin", ORIGIN)
        .header("accept", "text/html")
        .form(&[
            ("email", email),
            ("password", demo::DEMO_PASSWORD),
            ("org", slug),
        ])
        .send()
        .await?;
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("trellis_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
        .ok_or_else(|| format!("{email} could not sign in ({})", response.status()).into())
}

// ---------------------------------------------------------------------------
// Load with wrk
// ---------------------------------------------------------------------------

struct Request {
    url: String,
    cookie: Option<String>,
    /// Form bodies for a POST, picked at random per request.
    bodies: Option<Vec<String>>,
}

impl Request {
    fn get(url: &str) -> Self {
        Self {
            url: url.to_string(),
            cookie: None,
            bodies: None,
        }
    }

    fn post(url: &str, bodies: Vec<String>) -> Self {
        Self {
            url: url.to_string(),
            cookie: None,
            bodies: Some(bodies),
        }
    }

    fn cookie(mut self, cookie: &str) -> Self {
        self.cookie = Some(cookie.to_string());
        self
    }

    /// The wrk script that sends this request.
    fn script(&self) -> String {
        let mut lua = String::new();
        let _ = writeln!(lua, "wrk.headers[\"Origin\"] = \"{ORIGIN}\"");
        if let Some(cookie) = &self.cookie {
            let _ = writeln!(lua, "wrk.headers[\"Cookie\"] = \"{cookie}\"");
        }
        match &self.bodies {
            None => {
                let _ = writeln!(lua, "wrk.headers[\"Accept\"] = \"text/html\"");
            }
            Some(bodies) => {
                lua.push_str(concat!(
                    "wrk.method = \"POST\"\n",
                    "wrk.headers[\"Accept\"] = \"application/json\"\n",
                    "wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n",
                    "local threads = 0\n",
                    "function setup(thread) threads = threads + 1; thread:set(\"id\", threads) end\n",
                    "function init(args) math.randomseed(os.time() * 100 + id) end\n",
                    "local bodies = {\n",
                ));
                for body in bodies {
                    let _ = writeln!(lua, "  \"{body}\",");
                }
                lua.push_str(concat!(
                    "}\n",
                    "function request() return wrk.format(nil, nil, nil, bodies[math.random(#bodies)]) end\n",
                ));
            }
        }
        lua
    }
}

struct Load {
    connections: u32,
    duration: Duration,
}

impl Load {
    /// Warms up for two seconds, then measures; the second value names a
    /// failure (requests that errored or answered other than 2xx/3xx).
    async fn run(
        &self,
        name: &str,
        request: &Request,
        server: Option<&Server>,
    ) -> Result<(Row, Option<String>), Error> {
        let script = std::env::temp_dir().join(format!("trellis-bench-{}.lua", std::process::id()));
        std::fs::write(&script, request.script())?;
        wrk(
            &script,
            &request.url,
            self.connections,
            Duration::from_secs(2),
        )
        .await?;
        if let Some(server) = server {
            server.reset_peak();
        }
        // The baseline is served by this process.
        let serving = server.map_or(std::process::id(), |s| s.pid);
        let before = CpuSample::take(serving);
        let out = wrk(&script, &request.url, self.connections, self.duration).await?;
        let after = CpuSample::take(serving);
        let _ = std::fs::remove_file(&script);
        let parsed =
            WrkOutput::parse(&out).ok_or_else(|| format!("unreadable wrk output:\n{out}"))?;
        let failed = (parsed.bad > 0)
            .then(|| format!("{} of {} requests failed", parsed.bad, parsed.requests));
        let cpu = before
            .zip(after)
            .map(|(b, a)| a.per_request_since(&b, parsed.requests));
        eprintln!(
            "{name}: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, CPU ms/req {}{}",
            parsed.rps,
            parsed.p50_ms,
            parsed.p99_ms,
            cpu.map(|c| format!(
                "server {:.2} db {:.2} other {:.2}",
                c.serving_ms, c.postgres_ms, c.other_ms
            ))
            .unwrap_or_default(),
            failed
                .as_deref()
                .map(|f| format!(" — {f}"))
                .unwrap_or_default()
        );
        Ok((
            Row {
                name: name.to_string(),
                rps: parsed.rps,
                p50_ms: parsed.p50_ms,
                p99_ms: parsed.p99_ms,
                peak_mb: server.and_then(Server::peak_mb),
                cpu,
                note: String::new(),
            },
            failed,
        ))
    }
}

async fn wrk(
    script: &std::path::Path,
    url: &str,
    connections: u32,
    duration: Duration,
) -> Result<String, Error> {
    let output = Command::new("wrk")
        .arg(format!("--threads={}", cores().min(connections as usize)))
        .arg(format!("--connections={connections}"))
        .arg(format!("--duration={}s", duration.as_secs()))
        .arg("--timeout=10s")
        .arg("--latency")
        .arg(format!("--script={}", script.display()))
        .arg(url)
        .output()
        .await
        .map_err(|e| format!("wrk could not run ({e}); scripts/bench.sh installs it"))?;
    if !output.status.success() {
        return Err(format!("wrk failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

struct WrkOutput {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    /// Socket errors, timeouts and answers other than 2xx/3xx.
    bad: u64,
}

impl WrkOutput {
    fn parse(out: &str) -> Option<Self> {
        let after = |prefix: &str| {
            out.lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix(prefix))
                .map(str::trim)
        };
        let millis = |text: &str| -> Option<f64> {
            let split = text.find(|c: char| c.is_ascii_alphabetic())?;
            let (n, unit) = text.split_at(split);
            let n: f64 = n.parse().ok()?;
            match unit {
                "us" => Some(n / 1000.0),
                "ms" => Some(n),
                "s" => Some(n * 1000.0),
                "m" => Some(n * 60_000.0),
                _ => None,
            }
        };
        let requests = out
            .lines()
            .find(|l| l.contains("requests in"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        let non_2xx: u64 = after("Non-2xx or 3xx responses:")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let socket: u64 = after("Socket errors:")
            .map(|rest| {
                rest.split(',')
                    .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0);
        Some(Self {
            rps: after("Requests/sec:")?.parse().ok()?,
            p50_ms: millis(after("50%")?)?,
            p99_ms: millis(after("99%")?)?,
            requests,
            bad: non_2xx + socket,
        })
    }
}

// ---------------------------------------------------------------------------
// The baseline: what this machine allows for one session look-up and one
// indexed query behind axum
// ---------------------------------------------------------------------------

struct Baseline {
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

#[derive(Clone)]
struct BaselineState {
    store: PostgresStore,
    pool: PgPool,
}

impl Baseline {
    /// Serves `GET /baseline` on its own two-worker runtime (as the server
    /// has), with a pool configured as the server's (default size), as
    /// app_runtime, and the server's allocator (this program's too).
    async fn start(settings: &Settings) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let url = settings.url(Some("app_runtime"), DATABASE)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let pool = match server::startup::runtime_pool_options(10)
                .connect(&url)
                .await
            {
                Ok(pool) => pool,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let state = BaselineState {
                store: PostgresStore::new(pool.clone()),
                pool,
            };
            let app = axum::Router::new()
                .route("/baseline", get(baseline))
                .with_state(state);
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            let _ = ready_tx.send(Ok(()));
            let _ = axum::serve(listener, app).await;
        });
        ready_rx.await?.map_err(|e| format!("baseline pool: {e}"))?;
        Ok(Self {
            port,
            runtime: Some(runtime),
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/baseline", self.port)
    }

    fn stop(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn baseline(
    State(state): State<BaselineState>,
    headers: HeaderMap,
) -> (http::StatusCode, String) {
    let id = headers
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| {
            c.split("; ")
                .find_map(|p| p.strip_prefix("trellis_session="))
        })
        .and_then(|v| Id::from_str(v).ok());
    let Some(id) = id else {
        return (http::StatusCode::UNAUTHORIZED, "no session".into());
    };
    match state.store.load(&id).await {
        Ok(Some(_)) => {}
        _ => return (http::StatusCode::UNAUTHORIZED, "no session".into()),
    }
    let name: Result<Option<String>, _> =
        sqlx::query_scalar("select name from lookup.org_by_slug($1)")
            .bind(BIG)
            .fetch_optional(&state.pool)
            .await;
    match name {
        Ok(Some(name)) => (http::StatusCode::OK, name),
        _ => (
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "query failed".into(),
        ),
    }
}

// ---------------------------------------------------------------------------
// Raw argon2 rate
// ---------------------------------------------------------------------------

/// Verifies per second with the app's own parameters, one thread per core,
/// outside any server.
async fn argon2_rate(duration: Duration) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let hash = password::hash(&app::validation::NewPassword::parse(demo::DEMO_PASSWORD).unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    let threads: Vec<_> = (0..cores())
        .map(|_| {
            let (count, stop, hash) = (count.clone(), stop.clone(), hash.clone());
            std::thread::spawn(move || {
                use argon2::{PasswordHash, PasswordVerifier};
                let params = argon2::Params::new(
                    password::MEMORY_KIB,
                    password::ITERATIONS,
                    password::LANES,
                    None,
                )
                .unwrap();
                let argon = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    params,
                );
                let parsed = PasswordHash::new(&hash).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    assert!(
                        argon
                            .verify_password(demo::DEMO_PASSWORD.as_bytes(), &parsed)
                            .is_ok()
                    );
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------------------
// Row-level security overhead
// ---------------------------------------------------------------------------

struct RlsResult {
    with_rls: f64,
    without: f64,
}

impl RlsResult {
    /// How much slower the runtime role under RLS is, in percent.
    fn overhead_percent(&self) -> f64 {
        (self.without / self.with_rls - 1.0) * 100.0
    }
}

/// One org-scoped query the pages run, in both forms: as the runtime role
/// under RLS, and as the superuser with only the explicit `where org_id = $1`.
/// The two are the same statement except for the search, which the app runs
/// through `lookup.members_matching` (scoped to the org in context); its plain
/// counterpart is the query that function runs. $1 is the org, $2 the user,
/// $3 `pattern`.
struct RlsQuery {
    label: &'static str,
    rls_sql: &'static str,
    plain_sql: &'static str,
    pattern: &'static str,
    /// Planned as the app plans it: member transactions reuse a generic plan
    /// per prepared statement; the audit view plans for each execution's
    /// values (OrgTx::plan_for_these_parameters), and so does the search
    /// function inside.
    generic_plan: bool,
}

const AUDIT_FIRST_PAGE_SQL: &str =
    "select audit_event_id, occurred_at, actor_email, actor_name, action, target_label, details
     from audit_event where org_id = $1 and $3::text is not null
     order by occurred_at desc, audit_event_id desc limit 51";

const RLS_QUERIES: &[RlsQuery] = &[
    RlsQuery {
        label: "members, first page",
        rls_sql: MEMBERS_SQL,
        plain_sql: MEMBERS_SQL,
        pattern: "",
        generic_plan: true,
    },
    RlsQuery {
        label: "members, search",
        rls_sql: "select * from lookup.members_matching($3, null, null, 51)
                  where $1::uuid is not null and $2::uuid is not null",
        plain_sql: MEMBERS_SEARCH_SQL,
        pattern: "%person0424%",
        generic_plan: false,
    },
    RlsQuery {
        label: "membership check",
        rls_sql: MEMBERSHIP_SQL,
        plain_sql: MEMBERSHIP_SQL,
        pattern: "",
        generic_plan: true,
    },
    RlsQuery {
        label: "audit, first page",
        rls_sql: AUDIT_FIRST_PAGE_SQL,
        plain_sql: AUDIT_FIRST_PAGE_SQL,
        pattern: "",
        generic_plan: false,
    },
    RlsQuery {
        label: "audit, by kind",
        rls_sql: AUDIT_BY_KIND_SQL,
        plain_sql: AUDIT_BY_KIND_SQL,
        pattern: "",
        generic_plan: false,
    },
];

/// No table at all: the difference is what setting the context with BEGIN
/// costs by itself.
const CONTEXT_ONLY: &[RlsQuery] = &[RlsQuery {
    label: "context only (no table)",
    rls_sql: "select 1 where $1::uuid is not null and $2::uuid is not null and $3::text is not null",
    plain_sql: "select 1 where $1::uuid is not null and $2::uuid is not null and $3::text is not null",
    pattern: "",
    generic_plan: true,
}];

const MEMBERS_SQL: &str =
    "select m.user_id, u.display_name, u.email, m.role, m.created_at, m.last_sign_in_at
     from membership m join app_user u on u.user_id = m.user_id
     where m.org_id = $1 and $3::text is not null
     order by m.created_at desc, m.user_id desc limit 51";

const MEMBERS_SEARCH_SQL: &str =
    "select m.user_id, u.display_name, u.email, m.role, m.created_at, m.last_sign_in_at
     from membership m join app_user u on u.user_id = m.user_id
     where m.org_id = $1 and (u.display_name ilike $3 or u.email ilike $3)
     order by m.created_at desc, m.user_id desc limit 51";

/// What Tenant::begin reads: the member, their role, and the org's names.
const MEMBERSHIP_SQL: &str =
    "select u.email, u.display_name, m.role, u.sessions_valid_after, o.slug, o.name
     from membership m
     join app_user u on u.user_id = m.user_id
     join organization o on o.org_id = m.org_id
     where m.org_id = $1 and m.user_id = $2 and $3::text is not null";

const AUDIT_BY_KIND_SQL: &str =
    "select audit_event_id, occurred_at, actor_email, actor_name, action, target_label, details
     from audit_event where org_id = $1 and action = 'member.role_changed' and $3::text is not null
     order by occurred_at desc, audit_event_id desc limit 51";

/// Runs the same queries, in the same transactions, with 32 concurrent
/// callers over a pool of 10: as app_runtime with the org context set (what
/// the app does), and as the superuser, which row-level security does not
/// apply to, with only the explicit `where`. (app_owner cannot serve as the
/// unprotected side: RLS is forced on it too.) First all of them mixed, then
/// each alone; every measurement alternates the two sides twice, so drift in
/// the machine affects both alike.
async fn rls_overhead(
    settings: &Settings,
    seeded: &Seeded,
    duration: Duration,
) -> Result<Vec<(&'static str, RlsResult)>, Error> {
    let connect = |url: String| async move {
        PgPoolOptions::new()
            .max_connections(10)
            .min_connections(10)
            .connect(&url)
            .await
    };
    let runtime = connect(settings.url(Some("app_runtime"), DATABASE)?).await?;
    let superuser = connect(settings.url(None, DATABASE)?).await?;
    rls_round(&runtime, true, seeded, RLS_QUERIES, Duration::from_secs(1)).await?;
    rls_round(
        &superuser,
        false,
        seeded,
        RLS_QUERIES,
        Duration::from_secs(1),
    )
    .await?;
    let mut results = Vec::new();
    let mut measure = async |label: &'static str, queries: &'static [RlsQuery], slice| {
        let (mut with_rls, mut without) = (0.0, 0.0);
        for _ in 0..2 {
            with_rls += rls_round(&runtime, true, seeded, queries, slice).await?;
            without += rls_round(&superuser, false, seeded, queries, slice).await?;
        }
        results.push((
            label,
            RlsResult {
                with_rls: with_rls / 2.0,
                without: without / 2.0,
            },
        ));
        Ok::<(), Error>(())
    };
    measure("all of them, mixed", RLS_QUERIES, duration / 2).await?;
    for i in 0..RLS_QUERIES.len() {
        measure(RLS_QUERIES[i].label, &RLS_QUERIES[i..=i], duration / 4).await?;
    }
    measure(CONTEXT_ONLY[0].label, CONTEXT_ONLY, duration / 4).await?;
    runtime.close().await;
    superuser.close().await;
    Ok(results)
}

/// Transactions per second for one side.
async fn rls_round(
    pool: &PgPool,
    rls: bool,
    seeded: &Seeded,
    queries: &'static [RlsQuery],
    duration: Duration,
) -> Result<f64, Error> {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..32u64 {
        let (pool, done) = (pool.clone(), done.clone());
        let (org, user) = (seeded.org_id, seeded.owner_id);
        tasks.spawn(async move {
            let mut i = task as usize;
            while Instant::now() < deadline {
                // As the app does: the context travels with BEGIN, and so
                // does the plan setting of member transactions (on both
                // sides, so that only the policies differ).
                let query = &queries[i % queries.len()];
                let plans = if query.generic_plan {
                    ", set_config('plan_cache_mode', 'force_generic_plan', true)"
                } else {
                    ""
                };
                let mut tx = if rls {
                    pool.begin_with(format!(
                        "begin; select set_config('app.org_id', '{org}', true), set_config('app.user_id', '{user}', true){plans}"
                    ))
                    .await?
                } else if query.generic_plan {
                    pool.begin_with(
                        "begin; select set_config('plan_cache_mode', 'force_generic_plan', true)",
                    )
                    .await?
                } else {
                    pool.begin().await?
                };
                let sql = if rls { query.rls_sql } else { query.plain_sql };
                let rows = sqlx::query(sql)
                    .persistent(query.generic_plan)
                    .bind(org)
                    .bind(user)
                    .bind(query.pattern)
                    .fetch_all(&mut *tx)
                    .await?;
                if rows.is_empty() {
                    return Err::<(), Error>("an org-scoped query found nothing".into());
                }
                tx.commit().await?;
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            Ok(())
        });
    }
    let started = Instant::now();
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

fn print_table(
    settings: &Settings,
    rows: &[Row],
    baseline_rps: f64,
    rls: &[(&str, RlsResult)],
    peak_overall: Option<f64>,
) {
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!();
    println!(
        "{} cores ({machine}), {} connections, {} s per row, release build, APP_ENV=production",
        cores(),
        settings.connections,
        settings.seconds
    );
    println!();
    println!(
        "| {:<48} | {:>8} | {:>8} | {:>8} | {:>8} | {:>7} | {:>17} | note",
        "path", "req/s", "p50 ms", "p99 ms", "peak MB", "of base", "CPU ms srv/db/oth"
    );
    println!(
        "|{:-<50}|{:->10}|{:->10}|{:->10}|{:->10}|{:->9}|{:->19}|------",
        "", "", "", "", "", "", ""
    );
    for row in rows {
        println!(
            "| {:<48} | {:>8.0} | {:>8.1} | {:>8.1} | {:>8} | {:>6.0}% | {:>17} | {}",
            row.name,
            row.rps,
            row.p50_ms,
            row.p99_ms,
            row.peak_mb
                .map(|m| format!("{m:.0}"))
                .unwrap_or_else(|| "-".into()),
            100.0 * row.rps / baseline_rps,
            row.cpu
                .map(|c| format!("{:.2}/{:.2}/{:.2}", c.serving_ms, c.postgres_ms, c.other_ms))
                .unwrap_or_else(|| "-".into()),
            row.note
        );
    }
    println!(
        "(CPU ms per request: the serving process / every PostgreSQL process / the rest of the machine, mostly wrk)"
    );
    println!();
    println!(
        "row-level security, transactions/s as app_runtime under RLS vs as the superuser with only the explicit where:"
    );
    for (label, r) in rls {
        println!(
            "  {label:<22} {:>7.0} vs {:>7.0}  overhead {:>5.1}%",
            r.with_rls,
            r.without,
            r.overhead_percent()
        );
    }
    if let Some(peak) = peak_overall {
        println!("server peak resident memory, highest of all rows: {peak:.0} MB");
    }
}
