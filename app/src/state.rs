//! What every server function and SSR render can reach through context.

use crate::domain::{db::Db, rate_limit::RateLimits, session::SessionPolicy, sso::SsoRuntime};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Where the server runs; decides defaults and how strict start-up is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    /// Development conveniences (demo data, the local mailbox page, plain
    /// http) are on outside production only.
    pub fn is_production(self) -> bool {
        self == Environment::Production
    }
}

/// Settings the application reads at request time. Secrets stay in the
/// server crate's configuration and never reach this struct.
#[derive(Clone, Debug)]
pub struct Settings {
    pub environment: Environment,
    /// Whether `/dev/mailbox` shows the outbox (to loopback clients only):
    /// outside production, when no SMTP server is configured.
    pub dev_mailbox: bool,
    /// Scheme, host and port people reach the app at, without a trailing
    /// slash; every link in mail is built from it.
    pub public_base_url: String,
    pub session: SessionPolicy,
    pub rate_limits: RateLimits,
    /// How long invitation links work.
    pub invitation_ttl: time::Duration,
    /// How long an export may wait for its reader to take the next chunk
    /// before it gives its database connection back.
    pub export_chunk_deadline: std::time::Duration,
}

/// Shared application state, cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub sso: Arc<SsoRuntime>,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
