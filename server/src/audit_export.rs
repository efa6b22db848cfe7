//! `GET /o/{slug}/audit.csv`: the audit log under the page's filter, as CSV
//! streamed straight from the database cursor, so a million rows need
//! neither a long wait before the first byte nor memory to hold them.

use app::{
    api::{
        audit::parse_filter,
        context::{Ctx, member_of},
    },
    domain::{audit_view, request::RequestMeta},
    error::AppError,
    roles::Permission,
    state::AppState,
};
use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use futures::StreamExt;
use tower_sessions::Session;

#[derive(Debug, serde::Deserialize)]
pub struct ExportParams {
    group: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// Rows per chunk handed to the HTTP body.
const CHUNK_ROWS: usize = 500;

pub async fn export(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    Path(slug): Path<String>,
    Query(params): Query<ExportParams>,
) -> Response {
    let ctx = Ctx {
        state,
        session,
        meta: RequestMeta::from_parts(&parts),
        page: None,
    };
    let filter = match parse_filter(&params.group, &params.actor, &params.from, &params.to) {
        Ok(filter) => filter,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let mut tx = match member_of(&ctx, &slug, Permission::ViewAudit).await {
        Ok((tx, _)) => tx,
        Err(AppError::Unauthenticated) => {
            return Redirect::to(&format!("/o/{slug}/login")).into_response();
        }
        Err(AppError::Forbidden) => {
            return (
                StatusCode::FORBIDDEN,
                "Your role does not include the audit log.",
            )
                .into_response();
        }
        Err(error) => {
            tracing::error!(%error, "audit export failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };

    // The transaction moves into a task that feeds the body; a slow reader
    // slows the task down (bounded channel) instead of filling memory.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    tokio::spawn(async move {
        // A byte-order mark, so spreadsheet programs read the UTF-8 as such.
        let mut chunk = format!(
            "\u{feff}{}",
            audit_view::csv_record(audit_view::CSV_COLUMNS)
        );
        let mut in_chunk = 0;
        {
            let mut rows = match audit_view::stream(&mut tx, &filter).await {
                Ok(rows) => rows,
                Err(error) => return fail(&sender, error).await,
            };
            while let Some(row) = rows.next().await {
                match row {
                    Ok(row) => {
                        chunk.push_str(&audit_view::csv_row(&row));
                        in_chunk += 1;
                        if in_chunk == CHUNK_ROWS {
                            in_chunk = 0;
                            if sender.send(Ok(std::mem::take(&mut chunk))).await.is_err() {
                                return; // the client went away
                            }
                        }
                    }
                    Err(error) => return fail(&sender, error).await,
                }
            }
        }
        if !chunk.is_empty() {
            let _ = sender.send(Ok(chunk)).await;
        }
        let _ = tx.commit().await;
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let date = time::OffsetDateTime::now_utc().date();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit-{slug}-{date}.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// Ends an export's body with an error (the client sees a broken download,
/// not a short file that looks complete); the cause goes to the log.
async fn fail(
    sender: &tokio::sync::mpsc::Sender<Result<String, std::io::Error>>,
    error: sqlx::Error,
) {
    tracing::error!(%error, "audit export stopped");
    let _ = sender
        .send(Err(std::io::Error::other("database error")))
        .await;
}
