//! From configuration to a serving process: pools, migrations, the role
//! check, demo data, the router, graceful shutdown.

use crate::{config::Config, health::healthz};
use app::{
    App,
    domain::{
        db::{Db, MIGRATOR},
        demo,
    },
    shell,
    state::{AppState, Environment, Settings},
};
use axum::{Router, routing::get};
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{LeptosRoutes, generate_route_list};
use sqlx::{PgPool, postgres::PgPoolOptions};
use std::{sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
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
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

const CONNECT_HINT: &str =
    "For local development, scripts/dev.sh creates the roles and the database.";

/// Starts everything and serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<(), StartupError> {
    migrate(&config).await?;

    let pool = PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
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

    let state = AppState {
        db: db.clone(),
        settings: Arc::new(Settings {
            environment: config.environment,
            public_base_url: config.public_base_url.clone(),
        }),
        leptos_options: leptos_options(&config),
    };

    let session_store = PostgresStore::new(db.pool().clone());
    let deletion = tokio::spawn(
        tower_sessions::session_store::ExpiredDeletion::continuously_delete_expired(
            session_store.clone(),
            tokio::time::Duration::from_secs(300),
        ),
    );

    let router = build_router(state, session_store);
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .map_err(|source| StartupError::Listen {
            addr: config.listen_addr,
            source,
        })?;
    tracing::info!(addr = %config.listen_addr, url = %config.public_base_url, "listening");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(StartupError::Serve)?;

    deletion.abort();
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

/// The whole HTTP surface: Leptos pages and server functions, the routes
/// outside Leptos, static files, and the layers around them.
pub fn build_router(state: AppState, session_store: PostgresStore) -> Router {
    let secure_cookies = state.settings.public_base_url.starts_with("https://");
    let sessions = SessionManagerLayer::new(session_store)
        .with_name("trellis_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::hours(12),
        ));

    let routes = generate_route_list(App);
    Router::new()
        .route("/healthz", get(healthz))
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(sessions)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
