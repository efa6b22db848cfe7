//! What every server function starts with: the app state, the session, the
//! client, and — for org data — a verified member transaction.

use crate::{
    domain::{
        request::RequestMeta,
        session::{self, OrgSession},
        sessions::EndReason,
        tenancy::{MemberCheck, MemberTx, Tenant, TenantError},
    },
    error::AppError,
    roles::Permission,
    state::AppState,
};
use http::{Method, header::ACCEPT, request::Parts};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use std::sync::Arc;
use tower_sessions::Session;

/// The request a server function is serving.
pub struct Ctx {
    pub state: AppState,
    pub session: Session,
    pub meta: RequestMeta,
    /// Set while rendering a page: the membership check its server functions share.
    pub page: Option<PageMembership>,
}

/// The membership check of one page render, shared by the server functions
/// that render it (the app frame's and the page's own), so that a page reads
/// the membership once instead of once per server function. The shell
/// provides a fresh one for every page request (a GET); a server function
/// called on its own, and anything that changes data, never sees one and
/// checks afresh. Removal and role changes still count from the next request.
#[derive(Clone, Default)]
pub struct PageMembership(Arc<tokio::sync::Mutex<Option<MemberCheck>>>);

impl Ctx {
    pub fn db(&self) -> &crate::domain::db::Db {
        &self.state.db
    }

    pub fn base_url(&self) -> &str {
        &self.state.settings.public_base_url
    }

    pub fn auth_env(&self) -> crate::domain::auth::AuthEnv<'_> {
        crate::domain::auth::AuthEnv {
            db: &self.state.db,
            base_url: &self.state.settings.public_base_url,
            limits: &self.state.settings.rate_limits,
            meta: &self.meta,
        }
    }
}

/// The same context for a plain axum route (outside Leptos): the state, the
/// session and the client, read from the request.
impl axum::extract::FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| internal("no session layer"))?;
        Ok(Ctx {
            state: state.clone(),
            session,
            meta: RequestMeta::from_parts(parts),
            page: None,
        })
    }
}

/// Reads the context Leptos provides for every request.
pub async fn ctx() -> Result<Ctx, AppError> {
    let state =
        use_context::<AppState>().ok_or_else(|| internal("AppState missing from context"))?;
    let parts =
        use_context::<Parts>().ok_or_else(|| internal("request parts missing from context"))?;
    let session = parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| internal("no session layer"))?;
    let page = matches!(parts.method, Method::GET | Method::HEAD)
        .then(use_context::<PageMembership>)
        .flatten();
    Ok(Ctx {
        meta: RequestMeta::from_parts(&parts),
        state,
        session,
        page,
    })
}

/// The signed-in member, re-checked against the database: the session is
/// fresh, the membership still exists, and the role (read now) allows
/// `permission`. Ends the session when it no longer counts.
pub async fn member(ctx: &Ctx, permission: Permission) -> Result<(MemberTx, OrgSession), AppError> {
    let Some(current) = session::org_session(&ctx.session)
        .await
        .map_err(session_error)?
    else {
        return Err(AppError::Unauthenticated);
    };
    // Held while checking, so that a page's other server functions wait
    // for this check instead of making their own.
    let mut page = match &ctx.page {
        Some(page) => Some(page.0.lock().await),
        None => None,
    };
    let earlier = page
        .as_deref()
        .and_then(Option::as_ref)
        .filter(|check| check.org_id == current.org_id && check.actor.user_id == current.user_id);
    let tx = match earlier {
        Some(check) => Tenant::begin_checked(ctx.db(), check.clone()).await?,
        None => match Tenant::begin_session(
            ctx.db(),
            current.org_id,
            current.user_id,
            current.session_id,
        )
        .await
        {
            Ok(tx) => {
                if let Some(page) = page.as_deref_mut() {
                    *page = tx.checked();
                }
                tx
            }
            Err(TenantError::NotAMember | TenantError::SessionEnded) => {
                session::end(&ctx.session).await.map_err(session_error)?;
                return Err(AppError::Unauthenticated);
            }
            Err(TenantError::Database(e)) => return Err(e.into()),
        },
    };
    drop(page);
    let span = tracing::Span::current();
    span.record("org_id", tracing::field::display(current.org_id));
    span.record("user_id", tracing::field::display(current.user_id));
    let actor = tx.actor();
    if current
        .staleness(
            &ctx.state.settings.session,
            session::now(),
            actor.sessions_valid_after,
        )
        .is_some()
    {
        session::end(&ctx.session).await.map_err(session_error)?;
        return Err(AppError::Unauthenticated);
    }
    if let Some(reason) = sso_rule_ends(&current, &tx) {
        // The organization's single sign-on changed since this session
        // signed in: it ends now, on its next request.
        let mut tx = tx;
        session_ended(&mut tx, &ctx.meta, &current, reason).await?;
        tx.commit().await?;
        session::end(&ctx.session).await.map_err(session_error)?;
        return Err(AppError::Unauthenticated);
    }
    if !actor.role.can(permission) {
        return Err(AppError::Forbidden);
    }
    if session::touch(&ctx.session, &current)
        .await
        .map_err(session_error)?
    {
        crate::domain::sessions::seen(ctx.db(), &ctx.meta, &current).await?;
    }
    Ok((tx, current))
}

/// Why the org's single sign-on rules no longer let `current` count: the
/// org requires SSO and the session signed in another way (an owner's
/// break-glass sign-in excepted), or it signed in through a provider the
/// org has since replaced.
fn sso_rule_ends(current: &OrgSession, tx: &MemberTx) -> Option<EndReason> {
    let (org, actor) = (tx.org(), tx.actor());
    if current.method == session::AuthMethod::Sso {
        let replaced = org.sso_sessions_valid_after.is_some_and(|after| {
            current.authenticated_at < (after.unix_timestamp_nanos() / 1_000_000) as i64
        });
        replaced.then_some(EndReason::ProviderReplaced)
    } else if org.sso_enforced && !counts_under_required_sso(current, actor.role) {
        Some(EndReason::SsoRequired)
    } else {
        None
    }
}

/// Whether a session counts in an organization that requires single
/// sign-on: it signed in through the provider, or it is an owner's
/// break-glass sign-in (while they are an owner).
pub fn counts_under_required_sso(current: &OrgSession, role: crate::roles::Role) -> bool {
    current.method == session::AuthMethod::Sso
        || (current.break_glass && role == crate::roles::Role::Owner)
}

/// Records, in the member's transaction, that their session ends because of
/// the organization's single sign-on (`reason`: `SsoRequired`, or
/// `ProviderReplaced`), and closes its row.
pub async fn session_ended(
    tx: &mut crate::domain::tenancy::OrgTx,
    meta: &RequestMeta,
    current: &OrgSession,
    reason: crate::domain::sessions::EndReason,
) -> Result<(), sqlx::Error> {
    crate::domain::sessions::close(tx, current, reason).await?;
    crate::domain::audit::record(
        tx,
        meta,
        crate::domain::audit::Event::new(crate::audit::AuditAction::SessionEnded).details(
            serde_json::json!({ "reason": reason.as_str(), "method": current.method.as_str() }),
        ),
    )
    .await
}

pub fn session_error(error: tower_sessions::session::Error) -> AppError {
    tracing::error!(%error, "session store error");
    AppError::Internal
}

pub fn internal(what: &str) -> AppError {
    tracing::error!(what, "internal error");
    AppError::Internal
}

/// Gives API callers (fetch, curl) an HTTP status that matches the error.
/// Plain HTML form posts are left alone: Leptos answers those with a
/// redirect back to the form, carrying the error.
pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result
        && let (Some(response), Some(parts)) =
            (use_context::<ResponseOptions>(), use_context::<Parts>())
    {
        let html_form = parts
            .headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        if !html_form {
            response.set_status(error.status());
        }
    }
    result
}

/// The redirect and status of the response as they were before an action,
/// put back when it fails: a redirect the action asked for before failing
/// (say, before its commit) must not make the error look like success, and
/// what the rest of a page render set stays.
struct ResponseSnapshot {
    response: Option<ResponseOptions>,
    location: Option<http::HeaderValue>,
    redirect: Option<http::HeaderValue>,
    status: Option<http::StatusCode>,
}

impl ResponseSnapshot {
    fn take() -> Self {
        let response = use_context::<ResponseOptions>();
        let (location, redirect, status) = match &response {
            Some(response) => {
                let read = response.0.read().unwrap_or_else(|e| e.into_inner());
                (
                    read.headers.get(http::header::LOCATION).cloned(),
                    read.headers
                        .get(leptos::server_fn::redirect::REDIRECT_HEADER)
                        .cloned(),
                    read.status,
                )
            }
            None => (None, None, None),
        };
        Self {
            response,
            location,
            redirect,
            status,
        }
    }

    fn restore(self) {
        let Some(response) = self.response else {
            return;
        };
        let mut written = response.0.write().unwrap_or_else(|e| e.into_inner());
        let restore = |headers: &mut http::HeaderMap, name, value: Option<http::HeaderValue>| {
            match value {
                Some(value) => headers.insert(name, value),
                None => headers.remove(name),
            };
        };
        restore(&mut written.headers, http::header::LOCATION, self.location);
        restore(
            &mut written.headers,
            http::HeaderName::from_static(leptos::server_fn::redirect::REDIRECT_HEADER),
            self.redirect,
        );
        written.status = self.status;
    }
}

/// A server function outside any organization (signing in, the org
/// picker, an invitation link): its request context, and the HTTP status an
/// API caller gets when it fails. A failure also takes back any redirect
/// the action asked for before it failed.
pub async fn with_ctx<T>(
    action: impl AsyncFnOnce(Ctx) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let before = ResponseSnapshot::take();
    let result = async {
        let ctx = ctx().await?;
        action(ctx).await
    }
    .await;
    if result.is_err() {
        before.restore();
    }
    with_status(result)
}

/// One action in the organization at `slug`, with everything around it: the
/// request context, the membership (re-checked now), `permission`, the
/// action, the commit when it succeeds (a failure rolls everything back),
/// and the HTTP status an API caller gets. A server function is then its
/// input validation and this.
pub async fn in_org<T>(
    slug: &str,
    permission: Permission,
    action: impl AsyncFnOnce(&Ctx, &mut MemberTx) -> Result<T, AppError>,
) -> Result<T, AppError> {
    with_ctx(async |ctx| act_in_org(&ctx, slug, permission, action).await).await
}

/// [`in_org`] for a caller that already has its context: the membership,
/// `permission`, the action and the commit.
pub async fn act_in_org<T>(
    ctx: &Ctx,
    slug: &str,
    permission: Permission,
    action: impl AsyncFnOnce(&Ctx, &mut MemberTx) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let (mut tx, _) = member_of(ctx, slug, permission).await?;
    let value = action(ctx, &mut tx).await?;
    tx.commit().await?;
    Ok(value)
}

/// [`in_org`] for a sensitive action (single sign-on, admins and owners,
/// removing members, retention, deleting the org): the session must have
/// authenticated or confirmed within the step-up window, or `reauth` must
/// carry the person's password or a current authenticator code. Without
/// either the action is refused with [`AppError::StepUpRequired`] (403),
/// which the form answers by asking for it. `keep` is echoed back to the
/// form (which row it was, say).
pub async fn in_org_confirmed<T>(
    slug: &str,
    permission: Permission,
    reauth: Option<&str>,
    keep: &[(&str, &str)],
    action: impl AsyncFnOnce(&Ctx, &mut MemberTx) -> Result<T, AppError>,
) -> Result<T, AppError> {
    with_ctx(async |ctx| act_in_org_confirmed(&ctx, slug, permission, reauth, keep, action).await)
        .await
}

/// [`in_org_confirmed`] for a caller that already has its context.
pub async fn act_in_org_confirmed<T>(
    ctx: &Ctx,
    slug: &str,
    permission: Permission,
    reauth: Option<&str>,
    keep: &[(&str, &str)],
    action: impl AsyncFnOnce(&Ctx, &mut MemberTx) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let (mut tx, current) = member_of(ctx, slug, permission).await?;
    confirm_recent(ctx, &tx, &current, reauth, keep).await?;
    let value = action(ctx, &mut tx).await?;
    tx.commit().await?;
    Ok(value)
}

/// The step-up check of [`in_org_confirmed`], for an action that decides
/// for itself whether it is sensitive. Returns the session as it stands
/// after the check (with the confirmation noted, when one was made).
pub async fn confirm_recent(
    ctx: &Ctx,
    tx: &MemberTx,
    current: &OrgSession,
    reauth: Option<&str>,
    keep: &[(&str, &str)],
) -> Result<OrgSession, AppError> {
    if current.recently_confirmed(&ctx.state.settings.session, session::now()) {
        return Ok(current.clone());
    }
    let Some(answer) = reauth.filter(|a| !a.trim().is_empty()) else {
        return Err(AppError::StepUpRequired { values: Vec::new() }.keeping(keep));
    };
    let actor = tx.actor();
    let who = crate::domain::auth::Confirming {
        user_id: actor.user_id,
        email: &actor.email,
        org_id: tx.org_id(),
    };
    crate::domain::auth::confirm_identity(&ctx.auth_env(), &ctx.state.sso.keys, &who, answer)
        .await
        .map_err(|e| e.keeping(keep))?;
    session::mark_confirmed(&ctx.session, current)
        .await
        .map_err(session_error)
}

/// Like [`member`], for a page or action of the organization at `slug`: a
/// session in another organization counts as not signed in there.
pub async fn member_of(
    ctx: &Ctx,
    slug: &str,
    permission: Permission,
) -> Result<(MemberTx, OrgSession), AppError> {
    // Check who the member is before what they may do, so that a session of
    // another org is told to sign in rather than "not allowed".
    let (tx, current) = member(ctx, Permission::ViewWorkspace).await?;
    if tx.org().slug != slug.trim() {
        return Err(AppError::Unauthenticated);
    }
    if !tx.actor().role.can(permission) {
        return Err(AppError::Forbidden);
    }
    Ok((tx, current))
}

/// "today", "yesterday", "3 days ago", or the date.
pub fn when(at: time::OffsetDateTime) -> String {
    let days = (time::OffsetDateTime::now_utc().date() - at.date()).whole_days();
    match days {
        ..=0 => "today".to_string(),
        1 => "yesterday".to_string(),
        2..=30 => format!("{days} days ago"),
        _ => at.date().to_string(),
    }
}

/// How long ago, for times within hours ("just now", "5 minutes ago");
/// older ones as [`when`] says them.
pub fn ago(at: time::OffsetDateTime) -> String {
    let minutes = (time::OffsetDateTime::now_utc() - at).whole_minutes();
    match minutes {
        ..=0 => "just now".to_string(),
        1 => "a minute ago".to_string(),
        2..=59 => format!("{minutes} minutes ago"),
        60..=119 => "an hour ago".to_string(),
        120..=1439 => format!("{} hours ago", minutes / 60),
        _ => when(at),
    }
}

pub use crate::text::query_encode as url_encode;
