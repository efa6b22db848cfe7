//! `GET /account/my-data.json`: the signed-in person's own data as a JSON
//! download (see `app::domain::my_data`).

use app::{api::context::Ctx, error::AppError};
use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};

pub async fn download(ctx: Ctx) -> Response {
    match app::api::account::my_data(&ctx).await {
        Ok(document) => {
            let Ok(body) = serde_json::to_vec_pretty(&document) else {
                tracing::error!("my data export could not be written out");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"my-data.json\"",
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(AppError::Unauthenticated) => Redirect::to("/login").into_response(),
        Err(error) => {
            tracing::error!(%error, "my data export failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
