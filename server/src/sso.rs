//! The single sign-on redirects, outside the Leptos router: the browser is
//! sent here by links and by the provider, never by a form.

use app::{
    api::{context::Ctx, sso_flow},
    domain::request::RequestMeta,
    state::AppState,
};
use axum::{
    extract::{Query, State},
    http::request::Parts,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

#[derive(Debug, serde::Deserialize)]
pub struct StartParams {
    org: String,
    test: Option<String>,
    login_hint: Option<String>,
}

/// `GET /sso/start?org=…[&test=1][&login_hint=…]`: to the org's provider.
pub async fn start(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    Query(params): Query<StartParams>,
) -> Response {
    let ctx = context(state, session, &parts);
    let test = params
        .test
        .as_deref()
        .is_some_and(|t| t == "1" || t == "true");
    respond(sso_flow::start(&ctx, &params.org, test, params.login_hint.as_deref()).await)
}

/// `GET /sso/callback`: back from the provider.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    Query(params): Query<sso_flow::CallbackParams>,
) -> Response {
    let ctx = context(state, session, &parts);
    respond(sso_flow::callback(&ctx, params).await)
}

fn context(state: AppState, session: Session, parts: &Parts) -> Ctx {
    Ctx {
        state,
        session,
        meta: RequestMeta::from_parts(parts),
        page: None,
    }
}

/// 303 to wherever the flow goes next; an internal error is a plain 500
/// page (the details are in the log).
fn respond(result: Result<String, app::error::AppError>) -> Response {
    match result {
        Ok(location) => Redirect::to(&location).into_response(),
        Err(error) => {
            tracing::error!(%error, "SSO request failed");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                axum::response::Html(
                    "<!doctype html><title>Sign-in failed</title><p>Something went wrong on our side. \
                     Please try again in a moment.</p><p><a href=\"/login\">Back to sign-in</a></p>",
                ),
            )
                .into_response()
        }
    }
}
