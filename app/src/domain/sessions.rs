//! The signed-in sessions a person, and their organization's admins, can
//! see and end (the `user_session` table). [`super::session`] is what the
//! cookie holds; each signed-in session also has a row here, under the id
//! the session carries ([`OrgSession::session_id`]). Every member check
//! reads the row ([`super::tenancy::Tenant::begin_session`]): once it is
//! ended, the session's very next request is signed out.

use super::{
    audit::{self, Event, Target},
    db::Db,
    request::RequestMeta,
    session::{AuthMethod, OrgSession, SessionPolicy},
    tenancy::{MemberTx, OrgTx, UserScope},
};
use crate::{
    audit::AuditAction,
    ids::{OrgId, UserId},
    roles::{Permission, Role},
};
use sqlx::types::ipnetwork::IpNetwork;
use time::OffsetDateTime;
use uuid::Uuid;

/// One live session, as the lists show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub session_id: Uuid,
    pub org_id: OrgId,
    pub org_name: String,
    pub method: AuthMethod,
    pub second_factor: bool,
    pub authenticated_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub client_ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

/// Why a session was ended (stored with the row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    SignedOut,
    Switched,
    EndedByUser,
    EndedByAdmin,
    /// The browser signed in again: its earlier session gave way.
    Replaced,
    /// The organization came to require single sign-on since.
    SsoRequired,
    /// The organization replaced the provider the session signed in with.
    ProviderReplaced,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed_out",
            EndReason::Switched => "switched",
            EndReason::EndedByUser => "ended_by_user",
            EndReason::EndedByAdmin => "ended_by_admin",
            EndReason::Replaced => "replaced",
            EndReason::SsoRequired => "sso_required",
            EndReason::ProviderReplaced => "provider_replaced",
        }
    }
}

/// What ending someone else's session can run into.
#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    /// No live session with that id (of that member, in this organization).
    #[error("no such session")]
    NotFound,
    /// Only an owner sees or ends an owner's sessions.
    #[error("only an owner acts on an owner's sessions")]
    OwnersOnly,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<SessionsError> for crate::error::AppError {
    #[track_caller]
    fn from(error: SessionsError) -> Self {
        match error {
            SessionsError::NotFound => crate::error::AppError::NotFound,
            SessionsError::OwnersOnly => crate::error::AppError::Forbidden,
            SessionsError::Database(e) => e.into(),
        }
    }
}

/// A `user_session` row as the lists read it.
struct Record {
    session_id: Uuid,
    org_id: Uuid,
    org_name: String,
    method: String,
    second_factor: bool,
    authenticated_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
    client_ip: Option<IpNetwork>,
    user_agent: Option<String>,
}

impl From<Record> for SessionRow {
    fn from(r: Record) -> Self {
        SessionRow {
            session_id: r.session_id,
            org_id: OrgId(r.org_id),
            org_name: r.org_name,
            method: method_from(&r.method),
            second_factor: r.second_factor,
            authenticated_at: r.authenticated_at,
            last_seen_at: r.last_seen_at,
            client_ip: r.client_ip.map(|ip| ip.ip()),
            user_agent: r.user_agent,
        }
    }
}

fn method_from(code: &str) -> AuthMethod {
    match code {
        "sso" => AuthMethod::Sso,
        "email_link" => AuthMethod::EmailLink,
        _ => AuthMethod::Password,
    }
}

/// Records a session that just started in `tx`'s organization (in the
/// transaction that records the sign-in). Starting again under the same
/// id (a password change that ends the others) moves its sign-in time.
pub async fn open(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    session: &OrgSession,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into user_session (org_id, session_id, user_id, method, second_factor,
                                  authenticated_at, last_seen_at, client_ip, user_agent)
        values ($1, $2, $3, $4, $5, $6, now(), $7, $8)
        on conflict (org_id, session_id) do update
            set authenticated_at = excluded.authenticated_at,
                second_factor = user_session.second_factor or excluded.second_factor
        "#,
        session.org_id.0,
        session.session_id,
        session.user_id.0,
        session.method.as_str(),
        session.second_factor,
        at(session.authenticated_at),
        meta.ip.map(IpNetwork::from),
        meta.user_agent.as_deref(),
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

fn at(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Notes a request of the session (its caller does so at most once a
/// minute), with the address it came from.
pub async fn seen(db: &Db, meta: &RequestMeta, session: &OrgSession) -> Result<(), sqlx::Error> {
    let mut tx =
        super::tenancy::Tenant::begin_without_membership(db, session.org_id, Some(session.user_id))
            .await?;
    sqlx::query!(
        "update user_session set last_seen_at = now(), client_ip = coalesce($3, client_ip)
         where org_id = $1 and session_id = $2 and ended_at is null",
        session.org_id.0,
        session.session_id,
        meta.ip.map(IpNetwork::from),
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Marks the session ended because its person signed out or switched
/// organization (both recorded in the audit log by their callers).
pub async fn close(
    tx: &mut OrgTx,
    session: &OrgSession,
    reason: EndReason,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update user_session set ended_at = now(), ended_reason = $3
         where org_id = $1 and session_id = $2 and ended_at is null",
        session.org_id.0,
        session.session_id,
        reason.as_str(),
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Closes the row of the org session `browser` holds, if it holds one:
/// called before the browser's state is cleared for another sign-in (or
/// dropped), so that the session it had is not listed as open until it
/// lapses. A membership gone since has taken its rows with it.
pub async fn close_held(
    db: &Db,
    browser: &tower_sessions::Session,
    reason: EndReason,
) -> Result<(), crate::error::AppError> {
    let held = super::session::org_session(browser).await.map_err(|e| {
        tracing::error!(error = %e, "session store failed");
        crate::error::AppError::Internal
    })?;
    let Some(held) = held else {
        return Ok(());
    };
    let mut tx =
        super::tenancy::Tenant::begin_without_membership(db, held.org_id, Some(held.user_id))
            .await?;
    close(&mut tx, &held, reason).await?;
    tx.commit().await?;
    Ok(())
}

/// The person's live sessions in all their organizations, most recently
/// used first (see [`live`]).
pub async fn mine(
    db: &Db,
    user_id: UserId,
    policy: &SessionPolicy,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let mut tx = UserScope::begin(db, user_id).await?;
    let rows = live(tx.conn(), user_id, None, policy).await?;
    tx.commit().await?;
    Ok(rows)
}

/// The live sessions of `user_id` (in `org`, or wherever the transaction's
/// scope shows them): not ended, within the idle and absolute timeouts, and
/// not voided by a password reset or change since.
async fn live(
    conn: &mut sqlx::PgConnection,
    user_id: UserId,
    org: Option<OrgId>,
    policy: &SessionPolicy,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Record,
        r#"
        select s.session_id, s.org_id, o.name as org_name, s.method, s.second_factor,
               s.authenticated_at, s.last_seen_at, s.client_ip, s.user_agent
        from user_session s
        join organization o on o.org_id = s.org_id
        join app_user u on u.user_id = s.user_id
        where s.user_id = $1 and ($2::uuid is null or s.org_id = $2) and s.ended_at is null
          and s.authenticated_at >= u.sessions_valid_after
          and s.last_seen_at > now() - make_interval(secs => $3)
          and s.authenticated_at > now() - make_interval(secs => $4)
        order by s.last_seen_at desc, s.session_id
        limit 200
        "#,
        user_id.0,
        org.map(|o| o.0),
        policy.idle.as_secs_f64(),
        policy.absolute.as_secs_f64(),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(SessionRow::from).collect())
}

/// The ids among `rows` that `which` picks (all when `None`), `keep`
/// excepted.
fn picked(rows: Vec<SessionRow>, which: Option<Uuid>, keep: Uuid) -> Vec<Uuid> {
    rows.into_iter()
        .map(|r| r.session_id)
        .filter(|id| *id != keep && which.is_none_or(|w| w == *id))
        .collect()
}

/// Ends the person's own sessions: `which` (ids from [`mine`]), or every
/// one but `keep` when `which` is `None` — only live ones, as [`mine`]
/// lists them (a lapsed session is not ended, or recorded, again).
/// Recorded in each organization a session ended in. Returns how many
/// ended.
#[tracing::instrument(skip_all, fields(user_id = %user_id))]
pub async fn end_mine(
    db: &Db,
    meta: &RequestMeta,
    user_id: UserId,
    which: Option<Uuid>,
    keep: Uuid,
    policy: &SessionPolicy,
) -> Result<usize, sqlx::Error> {
    let mut tx = UserScope::begin(db, user_id).await?;
    let ids = picked(live(tx.conn(), user_id, None, policy).await?, which, keep);
    let ended = sqlx::query!(
        r#"
        update user_session set ended_at = now(), ended_reason = 'ended_by_user'
        where user_id = $1 and ended_at is null and session_id = any($2)
        returning org_id, session_id, method
        "#,
        user_id.0,
        &ids,
    )
    .fetch_all(tx.conn())
    .await?;
    for row in &ended {
        audit::record_for_user(
            &mut tx,
            meta,
            Event::new(AuditAction::SessionRevoked).details(serde_json::json!({
                "session": row.session_id,
                "method": row.method,
                "by": "self",
            })),
            Some(OrgId(row.org_id)),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(ended.len())
}

/// A member's live sessions in this organization, for its admins.
pub async fn of_member(
    tx: &mut MemberTx,
    user_id: UserId,
    policy: &SessionPolicy,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let org = tx.org_id();
    live(tx.conn(), user_id, Some(org), policy).await
}

/// Who an admin may see and end the sessions of: any member, except that
/// only an owner acts on an owner's sessions. Returns the member's
/// address and name.
pub async fn member_for_admin(
    tx: &mut MemberTx,
    user_id: UserId,
) -> Result<(String, String), SessionsError> {
    let row = sqlx::query!(
        r#"select u.email, u.display_name, m.role as "role: Role"
           from membership m join app_user u on u.user_id = m.user_id
           where m.org_id = $1 and m.user_id = $2"#,
        tx.org_id().0,
        user_id.0,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or(SessionsError::NotFound)?;
    if row.role == Role::Owner && !tx.actor().role.can(Permission::ManageOwners) {
        return Err(SessionsError::OwnersOnly);
    }
    Ok((row.email, row.display_name))
}

/// An admin ends sessions of a member in this organization: `which`, or
/// all of them when `None` (the admin's own current session excepted) —
/// live ones only, as [`of_member`] lists them. Audited. Returns how many
/// ended.
#[tracing::instrument(skip_all, fields(member = %user_id))]
pub async fn end_for_member(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    user_id: UserId,
    which: Option<Uuid>,
    keep: Uuid,
    policy: &SessionPolicy,
) -> Result<usize, SessionsError> {
    let (email, _) = member_for_admin(tx, user_id).await?;
    let ids = picked(of_member(tx, user_id, policy).await?, which, keep);
    let ended = sqlx::query!(
        r#"
        update user_session set ended_at = now(), ended_reason = 'ended_by_admin'
        where org_id = $1 and user_id = $2 and ended_at is null and session_id = any($3)
        returning session_id, method
        "#,
        tx.org_id().0,
        user_id.0,
        &ids,
    )
    .fetch_all(tx.conn())
    .await?;
    if which.is_some() && ended.is_empty() {
        return Err(SessionsError::NotFound);
    }
    for row in &ended {
        audit::record(
            tx,
            meta,
            Event::new(AuditAction::SessionRevoked)
                .target(Target::user(user_id, &email))
                .details(serde_json::json!({
                    "session": row.session_id,
                    "method": row.method,
                    "by": "admin",
                    "email": email,
                })),
        )
        .await?;
    }
    Ok(ended.len())
}

/// Removes the rows of sessions that ended or lapsed a month ago
/// (`maintenance.purge_old_sessions`); returns how many went.
pub async fn purge_old(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select maintenance.purge_old_sessions()")
        .fetch_one(db.pool())
        .await
}

/// A readable name for the browser behind a user agent: "Firefox on
/// Linux", "Chrome on Android", or the first word of an unknown one.
pub fn browser_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return "Unknown browser".to_string();
    };
    let has = |needle: &str| ua.contains(needle);
    // Order matters: Edge and Opera also say Chrome; Chrome also says Safari.
    let browser = if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
        Some("Edge")
    } else if has("OPR/") || has("Opera") {
        Some("Opera")
    } else if has("Firefox/") || has("FxiOS/") {
        Some("Firefox")
    } else if has("HeadlessChrome") {
        Some("Headless Chrome")
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        Some("Chrome")
    } else if has("Safari/") && has("Version/") {
        Some("Safari")
    } else {
        None
    };
    let system = if has("Android") {
        Some("Android")
    } else if has("iPhone") || has("iPad") || has("iOS") {
        Some("iOS")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Linux") || has("X11") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, _) => {
            // A program rather than a browser: "curl/8.5.0" reads as "curl".
            let word: String = ua
                .split(['/', ' ', ';', '('])
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .take(40)
                .collect();
            if word.is_empty() {
                "Unknown browser".to_string()
            } else {
                word
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::browser_name;

    #[test]
    fn user_agents_read_as_a_browser_and_a_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0 Mobile/15E148 Safari/604.1",
                "Chrome on iOS",
            ),
            ("curl/8.5.0", "curl"),
            ("", "Unknown browser"),
            ("<script>/1", "script"),
        ];
        for (ua, name) in cases {
            assert_eq!(browser_name(Some(ua)), name, "{ua}");
        }
        assert_eq!(browser_name(None), "Unknown browser");
    }
}
