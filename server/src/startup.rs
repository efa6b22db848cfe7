//! From configuration to a serving process: pools, migrations, the role
//! check, demo data, the router, graceful shutdown.

use crate::{
    config::Config,
    health::healthz,
    http::{AllowedOrigins, client_ip, same_origin, security_headers},
    mail::{MailConfigError, MailWorker, Schedule},
};
use app::{
    App,
    domain::{
        db::{Db, MIGRATOR},
        demo, rate_limit,
        rate_limit::RateLimits,
        session::SessionPolicy,
        sso::{SecretKeys, SsoRuntime},
    },
    shell,
    state::{AppState, Environment, Settings},
};
use axum::{
    Router, middleware,
    routing::{MethodRouter, get},
};
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{LeptosRoutes, generate_route_list};
use sqlx::{Connection, PgPool, postgres::PgPoolOptions};
use std::{sync::Arc, time::Duration};
use tokio::net::TcpListener;

/// How long a CSV export waits for its reader to take the next chunk before
/// it ends the download and gives its database connection back.
const EXPORT_CHUNK_DEADLINE: Duration = Duration::from_secs(15);
use tower_http::{catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, trace::TraceLayer};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};
use tower_sessions_sqlx_store::PostgresStore;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot connect to PostgreSQL as the {role} role: {source}. {hint}")]
    Connect {
        role: &'static str,
        source: sqlx::Error,
        hint: &'static str,
    },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the runtime role is unsafe to serve requests: {0}")]
    UnsafeRuntimeRole(String),
    #[error("demo data: {0}")]
    Seed(#[from] demo::SeedError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("mail: {0}")]
    Mail(#[from] MailConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("SSO: {0}")]
    Sso(String),
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

const CONNECT_HINT: &str =
    "For local development, scripts/dev.sh creates the roles and the database.";

/// The runtime role's pool: `max_connections` at most, and a connection
/// that sat idle for a while (the server or a proxy may have closed it) is
/// checked before use. Under load none sits idle, and checking every one
/// (sqlx's default) cost a round trip per transaction: three per page view.
pub fn runtime_pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > Duration::from_secs(30) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// The application before it serves: its state, its router and its mail
/// worker. `main` (through [`run`]) and the test harness build it the same
/// way, from a [`Config`]; the benchmark runs the binary.
pub struct Application {
    pub state: AppState,
    pub router: Router,
    /// The sessions behind the router (expired ones go in maintenance).
    pub session_store: PostgresStore,
    /// The outbox's delivery worker, not running yet.
    pub mail: MailWorker,
}

impl Application {
    /// The whole start-up: migrations as the owner role, the runtime pool
    /// (refused if its role could bypass row-level security), demo data
    /// when asked, then [`Application::assemble`].
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        migrate(config).await?;
        let pool = runtime_pool_options(config.database_max_connections)
            .connect(config.database_url.expose())
            .await
            .map_err(|source| StartupError::Connect {
                role: "runtime",
                source,
                hint: CONNECT_HINT,
            })?;
        let db = Db::new(pool);

        let role = db.runtime_role().await?;
        let problems = role.problems();
        if !problems.is_empty() {
            return Err(StartupError::UnsafeRuntimeRole(problems.join("; ")));
        }
        tracing::info!(role = %role.name, "runtime role checked: not superuser, no BYPASSRLS, owns nothing");

        if config.seed_demo_data {
            if demo::seed(&db).await? {
                tracing::info!(
                    password = demo::DEMO_PASSWORD,
                    "demo data created (see README for the accounts)"
                );
            } else {
                tracing::info!("demo data already present");
            }
        }
        Self::assemble(config, db, Schedule::default(), |_| {})
    }

    /// The state, the router and the mail worker from `config`, over a pool
    /// already connected. `adjust` may change the settings first (the tests
    /// loosen rate limits and shorten deadlines).
    pub fn assemble(
        config: &Config,
        db: Db,
        mail_schedule: Schedule,
        adjust: impl FnOnce(&mut Settings),
    ) -> Result<Self, StartupError> {
        // Outside production, identity providers may be plain http on
        // loopback (a provider started next to the app, or by the tests).
        let keys =
            SecretKeys::parse(config.sso_encryption_keys.expose()).map_err(StartupError::Sso)?;
        let sso = SsoRuntime::new(
            keys,
            config.dns_resolver,
            !config.environment.is_production(),
        )
        .map_err(StartupError::Sso)?;
        let mut settings = Settings {
            environment: config.environment,
            dev_mailbox: !config.environment.is_production() && config.smtp_url.is_none(),
            public_base_url: config.public_base_url.clone(),
            session: SessionPolicy {
                idle: config.session_idle_timeout,
                absolute: config.session_absolute_timeout,
                step_up: config.step_up_window,
                ..SessionPolicy::default()
            },
            rate_limits: RateLimits::default().scaled(config.rate_limit_multiplier),
            invitation_ttl: config.invitation_ttl,
            export_chunk_deadline: EXPORT_CHUNK_DEADLINE,
        };
        adjust(&mut settings);
        let state = AppState {
            db: db.clone(),
            sso: Arc::new(sso),
            settings: Arc::new(settings),
            leptos_options: leptos_options(config),
        };
        let mail = MailWorker::new(
            db.clone(),
            config.smtp_url.as_ref().map(|s| s.expose()),
            &config.mail_from,
            mail_schedule,
        )?;
        let session_store = PostgresStore::new(db.pool().clone());
        let router = build_router(
            state.clone(),
            session_store.clone(),
            RouterOptions {
                trusted_proxy_hops: config.trusted_proxy_hops,
                idle_timeout: state.settings.session.idle,
            },
        );
        Ok(Self {
            state,
            router,
            session_store,
            mail,
        })
    }
}

/// Starts everything and serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<(), StartupError> {
    let app = Application::build(&config).await?;
    let db = app.state.db.clone();

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    if config.smtp_url.is_none() {
        tracing::info!("no SMTP_URL: mail is kept in the outbox; read it at /dev/mailbox");
    }
    let mail_task = tokio::spawn(app.mail.run(shutdown_rx.clone()));
    let maintenance = tokio::spawn(maintenance(db.clone(), app.session_store, shutdown_rx));

    let listener = TcpListener::bind(config.listen_addr)
        .await
        .map_err(|source| StartupError::Listen {
            addr: config.listen_addr,
            source,
        })?;
    tracing::info!(addr = %config.listen_addr, url = %config.public_base_url, "listening");
    axum::serve(
        listener,
        app.router
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(StartupError::Serve)?;

    let _ = shutdown_tx.send(true);
    let _ = mail_task.await;
    let _ = maintenance.await;
    db.pool().close().await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Applies pending migrations as the owner role, then lets that connection go.
async fn migrate(config: &Config) -> Result<(), StartupError> {
    let owner: PgPool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(config.database_owner_url.expose())
        .await
        .map_err(|source| StartupError::Connect {
            role: "owner",
            source,
            hint: CONNECT_HINT,
        })?;
    MIGRATOR.run(&owner).await?;
    owner.close().await;
    tracing::info!("migrations applied");
    Ok(())
}

fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("trellis")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .env(if config.environment == Environment::Development {
            Env::DEV
        } else {
            Env::PROD
        })
        .site_addr(config.listen_addr)
        .reload_port(config.reload_port)
        .build()
}

/// Periodic clean-up: expired sessions and old rate-limit buckets.
async fn maintenance(
    db: Db,
    sessions: PostgresStore,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use tower_sessions::session_store::ExpiredDeletion;
    loop {
        if let Err(error) = sessions.delete_expired().await {
            tracing::warn!(%error, "could not delete expired sessions");
        }
        if let Err(error) = rate_limit::prune(&db).await {
            tracing::warn!(%error, "could not prune rate limits");
        }
        match app::domain::sessions::purge_old(&db).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "old session records removed"),
            Err(error) => tracing::warn!(%error, "could not remove old session records"),
        }
        match app::domain::audit_view::purge_expired(&db).await {
            Ok((0, _)) => {}
            Ok((orgs, removed)) => tracing::info!(orgs, removed, "expired audit events removed"),
            Err(error) => tracing::warn!(%error, "could not remove expired audit events"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = shutdown.changed() => break,
        }
    }
}

/// HTTP settings that are not application state.
#[derive(Clone, Copy, Debug)]
pub struct RouterOptions {
    pub trusted_proxy_hops: usize,
    /// How long a session cookie and record live without being refreshed.
    pub idle_timeout: Duration,
}

/// Requests larger than this are refused before they are read: every form of
/// the app fits in a few kilobytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The routes outside Leptos (its pages and server functions are listed by
/// Leptos itself). Add new ones here, not in [`build_router`]: the audit
/// completeness test enumerates this list, and fails for a route it does not
/// know to be read-only or to record an audit event.
pub fn plain_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/healthz", get(healthz)),
        ("/sso/start", get(crate::sso::start)),
        ("/sso/callback", get(crate::sso::legacy_callback)),
        ("/sso/callback/{connection_id}", get(crate::sso::callback)),
        ("/o/{slug}/audit.csv", get(crate::audit_export::export)),
        ("/account/my-data.json", get(crate::my_data::download)),
    ]
}

/// The session cookie's name. Served over https it carries the `__Host-`
/// prefix, with which browsers accept it only when it is Secure, has no
/// Domain and the path `/`: no sibling subdomain can set or shadow it.
pub fn session_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-trellis_session"
    } else {
        "trellis_session"
    }
}

/// The whole HTTP surface: Leptos pages and server functions, the routes
/// outside Leptos, static files, and the layers around them.
pub fn build_router(
    state: AppState,
    session_store: PostgresStore,
    options: RouterOptions,
) -> Router {
    let https = state.settings.public_base_url.starts_with("https://");
    let sessions = SessionManagerLayer::new(session_store)
        .with_name(session_cookie_name(https))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(https)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(options.idle_timeout.as_secs() as i64),
        ));
    let origins = Arc::new(AllowedOrigins::new(
        &state.settings.public_base_url,
        state.settings.environment,
    ));

    let seal = Arc::new(crate::form_errors::FormErrorSeal::new(
        state.sso.keys.derive("form error seal"),
        &state.settings.public_base_url,
    ));

    let exports = Arc::new(crate::audit_export::ExportSlots::for_pool(
        state.db.pool().options().get_max_connections(),
    ));

    let routes = generate_route_list(App);
    let mut router = Router::new();
    for (path, route) in plain_routes() {
        router = router.route(path, route);
    }
    router
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::Extension(exports))
        .layer(middleware::from_fn(crate::http::server_fn_inputs))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            seal,
            crate::form_errors::seal_form_errors,
        ))
        .layer(middleware::from_fn_with_state(origins, same_origin))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            options.trusted_proxy_hops,
            client_ip,
        ))
        // A panic in any request is a logged 500 page, not a dropped
        // connection; inside the security headers, so that page gets them.
        .layer(CatchPanicLayer::custom(crate::http::panic_page))
        .layer(middleware::from_fn_with_state(https, security_headers))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// Every log line of a request carries its id, method and path, and — once
/// the membership check has run (`app::api::context::member`) — the org and
/// the user it acts for.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::info_span!(
        "request",
        id = %uuid::Uuid::now_v7(),
        method = %request.method(),
        path = request.uri().path(),
        org_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    )
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
