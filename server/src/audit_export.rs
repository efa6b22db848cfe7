//! `GET /o/{slug}/audit.csv`: the audit log under the page's filter, as CSV
//! streamed straight from the database cursor, so a million rows need
//! neither a long wait before the first byte nor memory to hold them.

use app::{
    api::{
        audit::parse_filter,
        context::{Ctx, member_of},
    },
    domain::audit_view,
    error::AppError,
    roles::Permission,
};
use axum::{
    Extension,
    body::Body,
    extract::{Path, Query},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use futures::StreamExt;
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};
use uuid::Uuid;

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
    ctx: Ctx,
    Extension(slots): Extension<Arc<ExportSlots>>,
    Path(slug): Path<String>,
    Query(params): Query<ExportParams>,
) -> Response {
    let filter = match parse_filter(&params.group, &params.actor, &params.from, &params.to) {
        Ok(filter) => filter,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let mut tx = match member_of(&ctx, &slug, Permission::ViewAudit).await {
        Ok((tx, _)) => tx,
        Err(AppError::Unauthenticated) => {
            let login = app::api::navigation::local_path(
                &ctx.state.settings.public_base_url,
                &format!("/o/{slug}/login"),
            )
            .unwrap_or_else(|| "/login".into());
            return Redirect::to(&login).into_response();
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

    let Some(slot) = slots.claim(tx.org_id().0) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            "Too many exports are running at the moment. Try again in a minute.",
        )
            .into_response();
    };
    let deadline = ctx.state.settings.export_chunk_deadline;

    // The transaction moves into a task that feeds the body; a slow reader
    // slows the task down (bounded channel) instead of filling memory. A
    // reader that takes no chunk for `deadline` loses the download, and the
    // task gives its pooled connection back.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let send = |chunk: String| {
            let sender = &sender;
            async move {
                match tokio::time::timeout(deadline, sender.send(Ok(chunk))).await {
                    Ok(Ok(())) => true,
                    Ok(Err(_)) => false, // the client went away
                    Err(_) => {
                        tracing::warn!("audit export ended: the client stopped reading");
                        false
                    }
                }
            }
        };
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
                            if !send(std::mem::take(&mut chunk)).await {
                                return;
                            }
                        }
                    }
                    Err(error) => return fail(&sender, error).await,
                }
            }
        }
        if !chunk.is_empty() && !send(chunk).await {
            return;
        }
        let _ = tx.commit().await;
        done.store(true, Ordering::Release);
    });
    // The body ends with an error unless the task sent everything, so a
    // download cut short never looks complete.
    let body = futures::stream::unfold(
        (receiver, finished, false),
        |(mut receiver, finished, over)| async move {
            if over {
                return None;
            }
            match receiver.recv().await {
                Some(item) => Some((item, (receiver, finished, false))),
                None if finished.load(Ordering::Acquire) => None,
                None => Some((
                    Err(std::io::Error::other("export cut short")),
                    (receiver, finished, true),
                )),
            }
        },
    );
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

/// How many exports may run at once, in all and per organization: each one
/// holds a pooled connection for as long as its download lasts.
#[derive(Debug)]
pub struct ExportSlots {
    total: usize,
    per_org: usize,
    running: Mutex<HashMap<Uuid, usize>>,
}

impl ExportSlots {
    /// At most a third of the pool (at least one) and two per organization.
    pub fn for_pool(max_connections: u32) -> Self {
        Self {
            total: (max_connections as usize / 3).max(1),
            per_org: 2,
            running: Mutex::new(HashMap::new()),
        }
    }

    fn claim(self: &Arc<Self>, org: Uuid) -> Option<ExportSlot> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = running.values().sum();
        let mine = running.get(&org).copied().unwrap_or(0);
        if total >= self.total || mine >= self.per_org {
            return None;
        }
        running.insert(org, mine + 1);
        Some(ExportSlot {
            slots: self.clone(),
            org,
        })
    }
}

/// A running export's place; freed when the export ends, however it ends.
struct ExportSlot {
    slots: Arc<ExportSlots>,
    org: Uuid,
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        let mut running = self.slots.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.org) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.org);
            }
        }
    }
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
