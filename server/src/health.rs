//! `/healthz`: readiness, including the database.

use app::state::AppState;
use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;
use std::time::Duration;

/// 200 when the server can reach PostgreSQL within two seconds, 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let probe = state.db.probe();
    let database = match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check: database unreachable");
            Err("unreachable")
        }
        Err(_) => {
            tracing::warn!("health check: database timed out");
            Err("timeout")
        }
    };
    match database {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "checks": { "database": "ok" } })),
        ),
        Err(problem) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "checks": { "database": problem } })),
        ),
    }
}
