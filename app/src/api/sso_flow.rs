//! The browser legs of an SSO sign-in.
//!
//! Starting one changes who will be signed in, so it never happens on a
//! bare GET another site can cause (login CSRF): a same-origin POST (the
//! `sso/start` server function, or a form that leads to single sign-on)
//! leaves a one-time ticket in the session and sends the browser to
//! `/sso/continue?ticket=…`, which moves on to `GET /sso/start?ticket=…`;
//! only a ticket of this session starts the flow there. (The stop is needed
//! because a form may not redirect to another origin under the content
//! security policy's `form-action 'self'`.) A GET without a ticket lands on
//! a page where the person confirms.
//!
//! The flow (connection, issuer, client id, state, nonce, PKCE verifier)
//! waits in the server-side session, so it is bound to this browser; it is
//! removed at the callback whatever happens, so a callback works once. The
//! callback of each connection has its own path, `/sso/callback/{id}`.

use super::context::{Ctx, act_in_org, session_error, url_encode};
use crate::{
    audit::AuditAction,
    domain::{
        audit::{self, Event},
        auth::{self, Entered},
        rate_limit,
        session::{self, AuthMethod},
        sso::{
            connection::{self, Connection},
            oidc::{self, Failure, Flow, Purpose, Response},
            sign_in::{self, Admission, PendingLink, Refusal},
        },
        tenancy::{Tenant, lookup::OrgSummary},
        tokens::NewToken,
    },
    error::AppError,
    ids::OrgId,
    roles::Permission,
    validation::Email,
};
use serde::{Deserialize, Serialize};

const FLOW: &str = "sso_flow";
const TICKET: &str = "sso_ticket";
/// Where an identity waits for its account to be proved (see `sso_link`).
pub(crate) const PENDING_LINK: &str = "sso_pending_link";

/// Permission to start one sign-in, left by a same-origin POST.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Ticket {
    id: String,
    org_slug: String,
    test: bool,
    login_hint: Option<String>,
    /// Unix milliseconds.
    issued_at: i64,
}

impl Ticket {
    const LIFETIME_MS: i64 = 5 * 60 * 1000;
}

/// Why an SSO sign-in stopped, for the failure page and the audit log.
enum Stop {
    Failure(Failure),
    Refusal(Refusal),
    NotEnabled,
}

impl Stop {
    fn code(&self) -> &'static str {
        match self {
            Stop::Failure(f) => f.code(),
            Stop::Refusal(r) => r.code(),
            Stop::NotEnabled => "sso_not_enabled",
        }
    }

    fn detail(&self) -> String {
        match self {
            Stop::Failure(f) => f.detail(),
            other => other.code().to_string(),
        }
    }
}

/// Called by a same-origin POST: allows this browser to start one sign-in
/// into `slug` and returns where to send it (`/sso/continue?ticket=…`).
pub async fn begin(
    ctx: &Ctx,
    slug: &str,
    test: bool,
    login_hint: Option<&str>,
) -> Result<String, AppError> {
    let ticket = Ticket {
        id: NewToken::generate().token,
        org_slug: slug.trim().to_string(),
        test,
        login_hint: login_hint
            .and_then(|h| Email::parse(h).ok())
            .map(|e| e.as_str().to_string()),
        issued_at: session::now(),
    };
    let path = format!("/sso/continue?ticket={}", ticket.id);
    ctx.session
        .insert(TICKET, ticket)
        .await
        .map_err(session_error)?;
    Ok(path)
}

/// `GET /sso/start?ticket=…`: spends this session's ticket and sends the
/// browser to the provider. `GET /sso/start?org=…` without one (an old link,
/// or another site) changes nothing and asks the person to confirm.
pub async fn start_from_get(
    ctx: &Ctx,
    ticket: Option<&str>,
    org: Option<&str>,
    test: bool,
    login_hint: Option<&str>,
) -> Result<String, AppError> {
    let Some(id) = ticket else {
        return Ok(match org {
            Some(slug) if test => format!("/o/{}/sso", url_encode(slug.trim())),
            Some(slug) => confirm_path(slug.trim(), login_hint.unwrap_or_default()),
            None => "/login".to_string(),
        });
    };
    let held: Option<Ticket> = ctx.session.get(TICKET).await.map_err(session_error)?;
    let Some(ticket) =
        held.filter(|t| t.id == id && session::now() - t.issued_at <= Ticket::LIFETIME_MS)
    else {
        return Ok(failed_page(None, "start_expired"));
    };
    let _: Option<Ticket> = ctx.session.remove(TICKET).await.map_err(session_error)?;
    start(
        ctx,
        &ticket.org_slug,
        ticket.test,
        ticket.login_hint.as_deref(),
    )
    .await
}

/// The page where a person confirms a sign-in nobody started here.
pub fn confirm_path(slug: &str, login_hint: &str) -> String {
    let mut path = format!("/sso/continue?org={}", url_encode(slug));
    if !login_hint.is_empty() {
        path.push_str("&login_hint=");
        path.push_str(&url_encode(login_hint));
    }
    path
}

/// Sends the browser to the organization's provider, for a sign-in or (with
/// `test`, for its SSO managers) a test.
async fn start(
    ctx: &Ctx,
    slug: &str,
    test: bool,
    login_hint: Option<&str>,
) -> Result<String, AppError> {
    let Some(org) = crate::domain::tenancy::lookup::org_by_slug(ctx.db(), slug.trim()).await?
    else {
        return Ok(failed_page(None, "unknown_org"));
    };
    let purpose = if test { Purpose::Test } else { Purpose::SignIn };
    let connection = if test {
        // Only someone who manages SSO for this org, signed in to it, tests.
        let loaded = act_in_org(ctx, &org.slug, Permission::ManageSso, async |_, tx| {
            Ok(connection::load(tx).await?)
        })
        .await;
        match loaded {
            Ok(connection) => connection,
            Err(AppError::Unauthenticated) => return Ok(format!("/o/{}/login", org.slug)),
            Err(AppError::Forbidden) => return Ok(format!("/o/{}/sso", org.slug)),
            Err(other) => return Err(other),
        }
    } else {
        load_connection(ctx, org.org_id).await?
    };
    let Some(connection) = connection else {
        return Ok(if test {
            format!("/o/{}/sso", org.slug)
        } else {
            failed_page(Some(&org.slug), Stop::NotEnabled.code())
        });
    };
    if !test && !connection.enabled {
        record_failure(ctx, org.org_id, None, &Stop::NotEnabled).await?;
        return Ok(failed_page(Some(&org.slug), Stop::NotEnabled.code()));
    }
    let started = match connection.secret(&ctx.state.sso) {
        Ok(secret) => {
            oidc::start(
                &ctx.state.sso,
                &connection.endpoint(),
                &secret,
                ctx.base_url(),
                (org.org_id, org.slug.clone(), purpose),
                login_hint,
            )
            .await
        }
        Err(error) => {
            tracing::error!(%error, org = %org.slug, "SSO client secret cannot be opened");
            Err(Failure::SecretUnreadable)
        }
    };
    match started {
        Ok((url, flow)) => {
            ctx.session
                .insert(FLOW, flow)
                .await
                .map_err(session_error)?;
            Ok(url)
        }
        Err(failure) => stopped(ctx, &org, purpose, None, Stop::Failure(failure)).await,
    }
}

/// What the provider sent back to a connection's callback.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer of the response.
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// `GET /sso/callback/{connection id}`.
pub async fn callback(
    ctx: &Ctx,
    connection_id: &str,
    params: CallbackParams,
) -> Result<String, AppError> {
    let flow: Option<Flow> = ctx.session.remove(FLOW).await.map_err(session_error)?;
    let flow = flow.filter(|f| session::now() - f.started_at <= Flow::LIFETIME_MS);
    let here = uuid::Uuid::try_parse(connection_id).ok();
    let Some(flow) = flow else {
        // No sign-in under way in this browser (or it took too long).
        return stray(ctx, here).await;
    };
    let Some(org) = org_summary(ctx, flow.org_id).await? else {
        return Ok(failed_page(None, "unknown_org"));
    };
    if here != Some(flow.connection_id) {
        // The response came back to another connection's URI than its
        // flow's. Nothing is redeemed. When it carries the flow's own state,
        // a provider sent it there (the mix-up): the organization whose URI
        // it is hears of it, its provider's codes being steered. Either way
        // it counts like a stray callback, so nobody can flood a log with it.
        let stop = if params.state.as_deref() == Some(flow.state.as_str()) {
            Stop::Failure(Failure::WrongConnection)
        } else {
            Stop::Failure(Failure::NoFlow)
        };
        if let Err(page) = count_unbound(ctx, here, &stop).await? {
            return Ok(page);
        }
        return Ok(failed_page(Some(&org.slug), stop.code()));
    }
    // Constant-time comparison is not needed: the state is not a secret
    // once it has been in a URL, only a binding to this browser.
    if params.state.as_deref() != Some(flow.state.as_str()) {
        return stopped(
            ctx,
            &org,
            flow.purpose,
            None,
            Stop::Failure(Failure::StateMismatch),
        )
        .await;
    }
    if let Some(error) = params.error.as_deref() {
        let detail = match params.error_description.as_deref() {
            Some(description) => format!("{error}: {description}"),
            None => error.to_string(),
        };
        let detail: String = detail.chars().take(300).collect();
        return stopped(
            ctx,
            &org,
            flow.purpose,
            None,
            Stop::Failure(Failure::ProviderDenied(detail)),
        )
        .await;
    }
    let Some(code) = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 2048)
    else {
        let failure = Failure::ProviderDenied("the provider sent no authorization code".into());
        return stopped(ctx, &org, flow.purpose, None, Stop::Failure(failure)).await;
    };
    let response = Response {
        code,
        // An issuer is at most 500 bytes (saved connections are checked);
        // a longer `iss` is named by a stand-in that matches none, so the
        // refusal's message stays short.
        iss: params.iss.as_deref().map(|i| {
            if i.len() > 500 {
                "(an over-long value)"
            } else {
                i
            }
        }),
    };

    if flow.purpose == Purpose::Test {
        return finish_test(ctx, &org, &flow, response).await;
    }

    let Some(connection) = load_connection(ctx, org.org_id)
        .await?
        .filter(|c| c.enabled)
    else {
        return stopped(ctx, &org, flow.purpose, None, Stop::NotEnabled).await;
    };
    let Ok(secret) = connection.secret(&ctx.state.sso) else {
        return stopped(
            ctx,
            &org,
            flow.purpose,
            None,
            Stop::Failure(Failure::SecretUnreadable),
        )
        .await;
    };
    let claims = match oidc::finish(
        &ctx.state.sso,
        &connection.endpoint(),
        &secret,
        ctx.base_url(),
        &flow,
        response,
    )
    .await
    {
        Ok(claims) => claims,
        Err(failure) => {
            return stopped(ctx, &org, flow.purpose, None, Stop::Failure(failure)).await;
        }
    };
    if connection.needs_reseal(&ctx.state.sso) {
        let mut tx = Tenant::begin_without_membership(ctx.db(), org.org_id, None).await?;
        connection::reseal_if_old(&mut tx, &ctx.state.sso, &connection, &secret).await?;
        tx.commit().await?;
    }
    let user_id = match sign_in::admit(ctx.db(), &ctx.meta, &org, &connection, &claims).await? {
        Ok(Admission::Enter(user_id)) => user_id,
        Ok(Admission::Prove(pending)) => return ask_for_proof(ctx, *pending).await,
        Err(refusal) => {
            return stopped(
                ctx,
                &org,
                flow.purpose,
                claims.email.as_deref(),
                Stop::Refusal(refusal),
            )
            .await;
        }
    };
    enter(ctx, &org, user_id).await
}

/// Signs the member in to `org` through single sign-on.
pub(crate) async fn enter(
    ctx: &Ctx,
    org: &OrgSummary,
    user_id: crate::ids::UserId,
) -> Result<String, AppError> {
    let how = auth::HowSignedIn::first_factor(AuthMethod::Sso);
    match auth::enter_org(ctx.db(), &ctx.session, &ctx.meta, user_id, org, how).await? {
        Entered::InOrg => Ok(format!("/o/{}", org.slug)),
        Entered::SecondStep => Ok(super::auth::SECOND_STEP_PAGE.to_string()),
        Entered::SetUpSecondFactor => Ok(super::auth::SET_UP_SECOND_FACTOR_PAGE.to_string()),
        // Not reachable for an SSO sign-in; kept total.
        Entered::SsoRequired { .. } => Ok(failed_page(Some(&org.slug), "sso_required")),
    }
}

/// The provider vouched for an address that has an account here: nobody is
/// signed in until the person proves that account (`/sso/link`).
async fn ask_for_proof(ctx: &Ctx, pending: PendingLink) -> Result<String, AppError> {
    sign_in::record_link_started(ctx.db(), &ctx.meta, &pending).await?;
    ctx.session
        .insert(PENDING_LINK, pending)
        .await
        .map_err(session_error)?;
    Ok("/sso/link".to_string())
}

/// A callback that belongs to no flow of this browser: anyone can send
/// these, so they are counted per client address, and one burst is recorded
/// once in the organization the URI names (not once per request).
async fn stray(ctx: &Ctx, connection_id: Option<uuid::Uuid>) -> Result<String, AppError> {
    let stop = Stop::Failure(Failure::NoFlow);
    Ok(match count_unbound(ctx, connection_id, &stop).await? {
        Err(page) => page,
        Ok(Some(org)) => failed_page(Some(&org.slug), stop.code()),
        Ok(None) => failed_page(None, stop.code()),
    })
}

/// Counts an answer that no flow of this browser accepts against the
/// client's address (the page to show instead once it is over the limit),
/// and records the first of a burst from that address in the organization
/// whose connection the URI names. Returns that organization.
async fn count_unbound(
    ctx: &Ctx,
    connection_id: Option<uuid::Uuid>,
    stop: &Stop,
) -> Result<Result<Option<OrgSummary>, String>, AppError> {
    let bucket = format!(
        "sso_stray:ip:{}",
        crate::domain::rate_limit::client_network(ctx.meta.ip)
    );
    let limit = ctx.state.settings.rate_limits.stray_sso_callbacks_per_ip;
    match rate_limit::hit(ctx.db(), &bucket, limit).await {
        Ok(()) => {}
        Err(AppError::RateLimited { .. }) => return Ok(Err(failed_page(None, "rate_limited"))),
        Err(other) => return Err(other),
    }
    let org = match connection_id {
        Some(id) => crate::domain::tenancy::lookup::org_by_sso_connection(ctx.db(), id).await?,
        None => None,
    };
    let Some(org) = org else {
        return Ok(Ok(None));
    };
    // Once per burst from this address into this org: a burst aimed at one
    // org cannot hide the first stray callback into another.
    let burst = format!("{bucket}:org:{}:{}", org.org_id.0, stop.code());
    let first = match rate_limit::hit_counted(ctx.db(), &burst, limit).await {
        Ok(hits) => hits == 1,
        Err(AppError::RateLimited { .. }) => false,
        Err(other) => return Err(other),
    };
    if first {
        record_failure_with(
            ctx,
            org.org_id,
            None,
            stop,
            serde_json::json!({
                "first_of_a_burst": true,
                "burst_window_secs": limit.window.as_secs(),
            }),
        )
        .await?;
    }
    Ok(Ok(Some(org)))
}

/// `GET /sso/callback`: the callback every organization shared before each
/// connection had its own. Redeems nothing and changes nothing.
pub fn legacy_callback() -> String {
    failed_page(None, "callback_moved")
}

/// The "Test connection" leg: record the claims or the error, sign no one in.
async fn finish_test(
    ctx: &Ctx,
    org: &OrgSummary,
    flow: &Flow,
    response: Response<'_>,
) -> Result<String, AppError> {
    let tested = act_in_org(ctx, &org.slug, Permission::ManageSso, async |ctx, tx| {
        let Some(connection) = connection::load(tx).await? else {
            return Ok(false);
        };
        let outcome = match connection.secret(&ctx.state.sso) {
            Ok(secret) => oidc::finish(
                &ctx.state.sso,
                &connection.endpoint(),
                &secret,
                ctx.base_url(),
                flow,
                response,
            )
            .await
            .map_err(|f| failure_report(&Stop::Failure(f))),
            Err(_) => Err(failure_report(&Stop::Failure(Failure::SecretUnreadable))),
        };
        connection::record_test(tx, &ctx.meta, &outcome).await?;
        if outcome.is_ok()
            && let Ok(secret) = connection.secret(&ctx.state.sso)
        {
            connection::reseal_if_old(tx, &ctx.state.sso, &connection, &secret).await?;
        }
        Ok(true)
    })
    .await;
    match tested {
        Ok(true) => Ok(format!("/o/{}/sso?notice=tested", org.slug)),
        Ok(false) | Err(AppError::Forbidden) => Ok(format!("/o/{}/sso", org.slug)),
        Err(AppError::Unauthenticated) => Ok(format!("/o/{}/login", org.slug)),
        Err(other) => Err(other),
    }
}

/// Ends a flow that failed: a test records its report and returns to the
/// settings page; a sign-in is audited and lands on the failure page.
async fn stopped(
    ctx: &Ctx,
    org: &OrgSummary,
    purpose: Purpose,
    email: Option<&str>,
    stop: Stop,
) -> Result<String, AppError> {
    if purpose == Purpose::Test {
        let recorded = act_in_org(ctx, &org.slug, Permission::ManageSso, async |ctx, tx| {
            Ok(connection::record_test(tx, &ctx.meta, &Err(failure_report(&stop))).await?)
        })
        .await;
        match recorded {
            Ok(()) => return Ok(format!("/o/{}/sso?notice=tested", org.slug)),
            // Not (or no longer) someone who tests, or the report could not
            // be written: the failure is recorded like a sign-in's.
            Err(AppError::Unauthenticated | AppError::Forbidden) => {}
            Err(error) => tracing::warn!(%error, "SSO test report not recorded"),
        }
    }
    record_failure(ctx, org.org_id, email, &stop).await?;
    Ok(failed_page(Some(&org.slug), stop.code()))
}

/// "code: detail" for a test report.
fn failure_report(stop: &Stop) -> String {
    format!(
        "{} — {}",
        crate::sso_failure::describe(stop.code()).0,
        stop.detail()
    )
}

/// Records `auth.sign_in_failed` with method `sso` in the org.
async fn record_failure(
    ctx: &Ctx,
    org_id: OrgId,
    email: Option<&str>,
    stop: &Stop,
) -> Result<(), AppError> {
    record_failure_with(ctx, org_id, email, stop, serde_json::json!({})).await
}

async fn record_failure_with(
    ctx: &Ctx,
    org_id: OrgId,
    email: Option<&str>,
    stop: &Stop,
    extra: serde_json::Value,
) -> Result<(), AppError> {
    tracing::info!(org = %org_id.0, reason = stop.code(), detail = %stop.detail(), "SSO sign-in failed");
    let mut details = serde_json::json!({
        "method": AuthMethod::Sso.as_str(),
        "reason": stop.code(),
        "detail": stop.detail(),
    });
    if let (Some(details), Some(extra)) = (details.as_object_mut(), extra.as_object()) {
        details.extend(extra.clone());
    }
    let mut tx = Tenant::begin_without_membership(ctx.db(), org_id, None).await?;
    audit::record(
        &mut tx,
        &ctx.meta,
        Event::new(AuditAction::SignInFailed)
            .actor(None, email.map(|e| e.chars().take(254).collect()))
            .details(details),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn load_connection(ctx: &Ctx, org_id: OrgId) -> Result<Option<Connection>, AppError> {
    let mut tx = Tenant::begin_without_membership(ctx.db(), org_id, None).await?;
    let connection = connection::load(&mut tx).await?;
    tx.commit().await?;
    Ok(connection)
}

async fn org_summary(ctx: &Ctx, org_id: OrgId) -> Result<Option<OrgSummary>, AppError> {
    let mut tx = Tenant::begin_without_membership(ctx.db(), org_id, None).await?;
    let summary = crate::domain::orgs::summary(&mut tx).await?;
    tx.commit().await?;
    Ok(summary)
}

pub(crate) fn failed_page(slug: Option<&str>, reason: &str) -> String {
    match slug {
        Some(slug) => format!("/sso/failed?org={}&reason={reason}", url_encode(slug)),
        None => format!("/sso/failed?reason={reason}"),
    }
}
