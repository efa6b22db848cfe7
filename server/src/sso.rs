//! The single sign-on redirects, outside the Leptos router: the browser is
//! sent here by the app's own pages and by the provider, never by a form
//! (a sign-in starts with the `sso/start` server function, a same-origin
//! POST; see `app::api::sso_flow`).

use app::api::{context::Ctx, sso_flow};
use axum::{
    extract::{Path, Query},
    response::{IntoResponse, Redirect, Response},
};

#[derive(Debug, serde::Deserialize)]
pub struct StartParams {
    ticket: Option<String>,
    org: Option<String>,
    test: Option<String>,
    login_hint: Option<String>,
}

/// `GET /sso/start?ticket=…`: to the org's provider, with the ticket a
/// same-origin POST left in this session. Without one (`?org=…`, an old
/// link or another site's) nothing starts: the person is asked to confirm.
pub async fn start(ctx: Ctx, Query(params): Query<StartParams>) -> Response {
    let test = params
        .test
        .as_deref()
        .is_some_and(|t| t == "1" || t == "true");
    respond(
        sso_flow::start_from_get(
            &ctx,
            params.ticket.as_deref(),
            params.org.as_deref(),
            test,
            params.login_hint.as_deref(),
        )
        .await,
    )
}

/// `GET /sso/callback/{connection id}`: back from the provider.
pub async fn callback(
    ctx: Ctx,
    Path(connection_id): Path<String>,
    Query(params): Query<sso_flow::CallbackParams>,
) -> Response {
    respond(sso_flow::callback(&ctx, &connection_id, params).await)
}

/// `GET /sso/callback`: the callback all organizations shared before each
/// connection had its own; answers with a page that says so.
pub async fn legacy_callback() -> Response {
    Redirect::to(&sso_flow::legacy_callback()).into_response()
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
