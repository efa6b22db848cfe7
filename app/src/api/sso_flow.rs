//! The two browser legs of an SSO sign-in, served as plain routes (the
//! browser is redirected, so there is no form to post): `/sso/start` sends
//! the browser to the organization's provider, `/sso/callback` receives it
//! back. Both answer with the address to redirect to.
//!
//! The flow (state, nonce, PKCE verifier) waits in the server-side session,
//! so it is bound to this browser; it is removed at the callback whatever
//! happens, so a callback works once.

use super::context::{Ctx, member_of, url_encode};
use crate::{
    audit::AuditAction,
    domain::{
        audit::{self, Event},
        auth::{self, Entered},
        session::{self, AuthMethod},
        sso::{
            connection::{self, Connection},
            oidc::{self, Failure, Flow, Purpose},
            sign_in::{self, Refusal},
        },
        tenancy::{Tenant, lookup::OrgSummary},
    },
    error::AppError,
    ids::OrgId,
    roles::Permission,
    validation::Email,
};

const FLOW: &str = "sso_flow";

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

/// `GET /sso/start?org=…[&test=1][&login_hint=…]`.
pub async fn start(
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
        match member_of(ctx, &org.slug, Permission::ManageSso).await {
            Ok((mut tx, _)) => {
                let connection = connection::load(&mut tx).await?;
                tx.commit().await?;
                connection
            }
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
    // A hint is only passed on when it is an address.
    let hint = login_hint.and_then(|h| Email::parse(h).ok());
    let started = match connection.secret(&ctx.state.sso) {
        Ok(secret) => {
            oidc::start(
                &ctx.state.sso,
                &connection.issuer_url,
                &connection.client_id,
                &secret,
                ctx.base_url(),
                (org.org_id, org.slug.clone(), purpose),
                hint.as_ref().map(Email::as_str),
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
                .map_err(super::context::session_error)?;
            Ok(url)
        }
        Err(failure) => stopped(ctx, &org, purpose, None, Stop::Failure(failure)).await,
    }
}

/// What the provider sent back to `/sso/callback`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// `GET /sso/callback`.
pub async fn callback(ctx: &Ctx, params: CallbackParams) -> Result<String, AppError> {
    let flow: Option<Flow> = ctx
        .session
        .remove(FLOW)
        .await
        .map_err(super::context::session_error)?;
    let state = params.state.as_deref().unwrap_or_default();
    let Some(flow) = flow.filter(|f| session::now() - f.started_at <= Flow::LIFETIME_MS) else {
        // No sign-in under way here (or it took too long): record it in the
        // org the state names, if that org exists.
        let stop = Stop::Failure(Failure::NoFlow);
        if let Some(org) = oidc::org_named_by_state(state)
            && let Some(org) = org_summary(ctx, org).await?
        {
            record_failure(ctx, org.org_id, None, &stop).await?;
            return Ok(failed_page(Some(&org.slug), stop.code()));
        }
        return Ok(failed_page(None, stop.code()));
    };
    let Some(org) = org_summary(ctx, flow.org_id).await? else {
        return Ok(failed_page(None, "unknown_org"));
    };
    // Constant-time comparison is not needed: the state is not a secret
    // once it has been in a URL, only a binding to this browser.
    if state != flow.state {
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

    if flow.purpose == Purpose::Test {
        return finish_test(ctx, &org, &flow, code).await;
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
        &connection.issuer_url,
        &connection.client_id,
        &secret,
        ctx.base_url(),
        &flow,
        code,
    )
    .await
    {
        Ok(claims) => claims,
        Err(failure) => {
            return stopped(ctx, &org, flow.purpose, None, Stop::Failure(failure)).await;
        }
    };
    let user_id =
        match sign_in::admit(ctx.db(), &ctx.meta, org.org_id, &connection, &claims).await? {
            Ok(user_id) => user_id,
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
    let mut tx = Tenant::begin(ctx.db(), org.org_id, user_id).await?;
    connection::reseal_if_old(&mut tx, &ctx.state.sso, &connection, &secret).await?;
    tx.commit().await?;
    match auth::enter_org(
        ctx.db(),
        &ctx.session,
        &ctx.meta,
        user_id,
        &org,
        AuthMethod::Sso,
        false,
    )
    .await?
    {
        Entered::InOrg => Ok(format!("/o/{}", org.slug)),
        // Not reachable for an SSO sign-in; kept total.
        Entered::SsoRequired { .. } => Ok(failed_page(Some(&org.slug), "sso_required")),
    }
}

/// The "Test connection" leg: record the claims or the error, sign no one in.
async fn finish_test(
    ctx: &Ctx,
    org: &OrgSummary,
    flow: &Flow,
    code: &str,
) -> Result<String, AppError> {
    let (mut tx, _) = match member_of(ctx, &org.slug, Permission::ManageSso).await {
        Ok(member) => member,
        Err(AppError::Unauthenticated) => return Ok(format!("/o/{}/login", org.slug)),
        Err(AppError::Forbidden) => return Ok(format!("/o/{}/sso", org.slug)),
        Err(other) => return Err(other),
    };
    let Some(connection) = connection::load(&mut tx).await? else {
        return Ok(format!("/o/{}/sso", org.slug));
    };
    let outcome = match connection.secret(&ctx.state.sso) {
        Ok(secret) => oidc::finish(
            &ctx.state.sso,
            &connection.issuer_url,
            &connection.client_id,
            &secret,
            ctx.base_url(),
            flow,
            code,
        )
        .await
        .map_err(|f| failure_report(&Stop::Failure(f))),
        Err(_) => Err(failure_report(&Stop::Failure(Failure::SecretUnreadable))),
    };
    connection::record_test(&mut tx, &ctx.meta, &outcome).await?;
    tx.commit().await?;
    Ok(format!("/o/{}/sso?notice=tested", org.slug))
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
    if purpose == Purpose::Test
        && let Ok((mut tx, _)) = member_of(ctx, &org.slug, Permission::ManageSso).await
    {
        connection::record_test(&mut tx, &ctx.meta, &Err(failure_report(&stop))).await?;
        tx.commit().await?;
        return Ok(format!("/o/{}/sso?notice=tested", org.slug));
    }
    record_failure(ctx, org.org_id, email, &stop).await?;
    Ok(failed_page(Some(&org.slug), stop.code()))
}

/// "code: detail" for a test report.
fn failure_report(stop: &Stop) -> String {
    format!(
        "{} — {}",
        crate::pages::sso_failed::describe(stop.code()).0,
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
    tracing::info!(org = %org_id.0, reason = stop.code(), detail = %stop.detail(), "SSO sign-in failed");
    let mut tx = Tenant::begin_without_membership(ctx.db(), org_id, None).await?;
    audit::record(
        &mut tx,
        &ctx.meta,
        Event::new(AuditAction::SignInFailed)
            .actor(None, email.map(|e| e.chars().take(254).collect()))
            .details(serde_json::json!({
                "method": AuthMethod::Sso.as_str(),
                "reason": stop.code(),
                "detail": stop.detail(),
            })),
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
    let row = sqlx::query!(
        "select slug, name from organization where org_id = $1",
        org_id.0
    )
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(row.map(|r| OrgSummary {
        org_id,
        slug: r.slug,
        name: r.name,
    }))
}

fn failed_page(slug: Option<&str>, reason: &str) -> String {
    match slug {
        Some(slug) => format!("/sso/failed?org={}&reason={reason}", url_encode(slug)),
        None => format!("/sso/failed?reason={reason}"),
    }
}
