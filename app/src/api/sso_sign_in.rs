//! Server functions of a single sign-on as the person sees it: starting it
//! (a same-origin POST, never a bare GET), and the one-time step that links
//! an existing account to the provider's identity (`/sso/link`): the person
//! proves the account with its password or a link mailed to it, in the
//! browser that signed in at the provider.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::{
        context::{Ctx, session_error, with_ctx},
        navigation::redirect,
        sso_flow::{self, PENDING_LINK},
    },
    crate::{
        audit::AuditAction,
        domain::{
            accounts::{self, ConfirmedBy},
            audit::{self, Event},
            auth, mail,
            session::{self, AuthMethod},
            sso::{
                identity::LinkedBy,
                sign_in::{self, LinkProblem, PendingLink},
            },
            tenancy::{Tenant, lookup},
            tokens::{self, Purpose, TokenProblem},
        },
    },
};

/// Starts a sign-in into `org` through its provider (with `test`, the
/// "Test connection" run of its SSO settings).
#[server(prefix = "/api", endpoint = "sso/start")]
pub async fn start_sso(
    org: String,
    test: Option<String>,
    login_hint: Option<String>,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let test = test.as_deref().is_some_and(|t| t == "1" || t == "true");
        let hint = login_hint.as_deref().filter(|h| !h.trim().is_empty());
        redirect(&sso_flow::begin(&ctx, &org, test, hint).await?);
        Ok(())
    })
    .await
}

/// What the linking page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    pub org_name: String,
    pub org_slug: String,
    /// The account's address (the provider vouched for it; it is the
    /// person's own).
    pub email: String,
    /// The provider's host, to name it.
    pub provider: String,
    pub password_allowed: bool,
    pub email_sent: bool,
}

/// How long a link-confirmation mail works.
#[cfg(feature = "ssr")]
const LINK_TTL: time::Duration = time::Duration::minutes(15);

#[cfg(feature = "ssr")]
async fn pending(ctx: &Ctx) -> Result<PendingLink, AppError> {
    let pending: Option<PendingLink> =
        ctx.session.get(PENDING_LINK).await.map_err(session_error)?;
    pending
        .filter(|p| p.is_fresh(session::now()))
        .ok_or_else(|| {
            AppError::Conflict(
                "This confirmation is no longer under way in this browser (it lasts 15 minutes). Sign in with single sign-on again."
                    .into(),
            )
        })
}

/// The identity waiting for its account in this browser.
#[server(prefix = "/api", endpoint = "sso/link/get")]
pub async fn get_pending_link() -> Result<LinkView, AppError> {
    with_ctx(async move |ctx| {
        let p = pending(&ctx).await?;
        let provider = host_of(&p.issuer);
        Ok(LinkView {
            org_name: p.org_name,
            org_slug: p.org_slug,
            email: p.email,
            provider,
            password_allowed: p.password_allowed,
            email_sent: p.email_sent,
        })
    })
    .await
}

#[cfg(feature = "ssr")]
fn host_of(issuer: &str) -> String {
    issuer
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(rest))
        .unwrap_or(issuer)
        .to_string()
}

/// Proves the account with its password, links the identity, signs in.
#[server(prefix = "/api", endpoint = "sso/link/password")]
pub async fn link_with_password(password: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let p = pending(&ctx).await?;
        if !p.password_allowed {
            return Err(AppError::field(
                "",
                "This account has no password of its own yet. Confirm by email instead.",
            ));
        }
        if password.is_empty() {
            return Err(AppError::field("password", "Enter your password."));
        }
        let proved = auth::sign_in_with_password(&ctx.auth_env(), &p.email, password, None)
            .await?
            .ok()
            .filter(|who| who.user_id == p.user_id);
        if proved.is_none() {
            record_failed_proof(&ctx, &p).await?;
            return Err(AppError::field(
                "password",
                "That is not the password of this account.",
            ));
        }
        let mut tx = Tenant::begin_without_membership(ctx.db(), p.org_id, Some(p.user_id)).await?;
        let linked = sign_in::complete_link(&mut tx, &ctx.meta, &p, LinkedBy::Password).await?;
        finish(&ctx, tx, &p, linked).await
    })
    .await
}

/// Mails a link that proves the account (rate limited like any mail).
#[server(prefix = "/api", endpoint = "sso/link/send_email")]
pub async fn send_link_email() -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let mut p = pending(&ctx).await?;
        auth::limit_email_requests(&ctx.auth_env(), &p.email).await?;
        let mut tx = Tenant::begin_without_membership(ctx.db(), p.org_id, Some(p.user_id)).await?;
        // Only the newest link works.
        tokens::revoke_all_of(tx.conn(), p.user_id, Purpose::SsoLink).await?;
        let token = tokens::issue(tx.conn(), p.user_id, Purpose::SsoLink, LINK_TTL).await?;
        let message = mail::sso_link(
            &p.email,
            &p.display_name,
            &p.org_name,
            format!("{}/sso/link/confirm?token={token}", ctx.base_url()),
            LINK_TTL.whole_minutes(),
        );
        mail::enqueue(tx.conn(), &message).await?;
        audit::record(
            &mut tx,
            &ctx.meta,
            Event::new(AuditAction::SsoLinkEmailSent)
                .actor(Some(p.user_id), Some(p.email.clone()))
                .details(serde_json::json!({ "issuer": p.issuer, "subject": p.subject })),
        )
        .await?;
        tx.commit().await?;
        p.email_sent = true;
        p.email_token_hash = Some(tokens::hash(&token));
        ctx.session
            .insert(PENDING_LINK, p)
            .await
            .map_err(session_error)?;
        redirect("/sso/link?sent=1");
        Ok(())
    })
    .await
}

/// Uses the mailed link (after the person pressed the button on its page,
/// so mail scanners do not spend it): in the browser of the sign-in only.
#[server(prefix = "/api", endpoint = "sso/link/confirm")]
pub async fn confirm_link_email(token: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let p = pending(&ctx).await.map_err(|_| {
            AppError::field(
                "",
                "Open this link in the browser where you signed in with single sign-on, within 15 minutes of signing in.",
            )
        })?;
        // The link must be the one mailed for this very sign-in (and so
        // for its account), checked before it is spent.
        if p.email_token_hash.as_deref() != Some(tokens::hash(&token).as_slice()) {
            return Err(AppError::field("", "This confirmation link is not valid here."));
        }
        let mut user_tx = match tokens::consume(ctx.db(), &token, Purpose::SsoLink).await? {
            Ok(tx) => tx,
            Err(TokenProblem::Expired) => {
                return Err(AppError::field("", "This confirmation link has expired. Ask for a new one below."));
            }
            Err(TokenProblem::AlreadyUsed) => {
                return Err(AppError::field("", "This confirmation link has already been used."));
            }
            Err(TokenProblem::Invalid) => {
                return Err(AppError::field("", "This confirmation link is not valid here."));
            }
        };
        // The mail proves the address: confirmed now if it was not (and
        // then a password chosen before, perhaps by a stranger, goes).
        accounts::confirm_address(&mut user_tx, &ctx.meta, ctx.base_url(), ConfirmedBy::SingleSignOn)
            .await?;
        let mut tx = user_tx.enter_org_without_membership(p.org_id).await?;
        let linked = sign_in::complete_link(&mut tx, &ctx.meta, &p, LinkedBy::EmailLink).await?;
        finish(&ctx, tx, &p, linked).await
    })
    .await
}

/// Gives up linking; nobody was signed in.
#[server(prefix = "/api", endpoint = "sso/link/cancel")]
pub async fn cancel_link() -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let p: Option<PendingLink> = ctx
            .session
            .remove(PENDING_LINK)
            .await
            .map_err(session_error)?;
        redirect(&match p {
            Some(p) => format!("/o/{}/login", p.org_slug),
            None => "/login".to_string(),
        });
        Ok(())
    })
    .await
}

/// Commits the link (or says why it could not be made) and signs in.
#[cfg(feature = "ssr")]
async fn finish(
    ctx: &Ctx,
    tx: crate::domain::tenancy::OrgTx,
    p: &PendingLink,
    linked: Result<(), LinkProblem>,
) -> Result<(), AppError> {
    match linked {
        Ok(()) => tx.commit().await?,
        Err(LinkProblem::ConnectionChanged) => {
            return Err(AppError::Conflict(
                "The organization's single sign-on settings changed meanwhile. Sign in with single sign-on again.".into(),
            ));
        }
        Err(LinkProblem::NoLongerMember) => {
            return Err(auth::SignInFailure::InvalidCredentials.into_error(Some(&p.org_name)));
        }
    }
    let org = lookup::OrgSummary {
        org_id: p.org_id,
        slug: p.org_slug.clone(),
        name: p.org_name.clone(),
    };
    // Signing in starts a new session, which drops the pending link.
    redirect(&sso_flow::enter(ctx, &org, p.user_id).await?);
    Ok(())
}

/// A wrong password for the account a provider's identity claims.
#[cfg(feature = "ssr")]
async fn record_failed_proof(ctx: &Ctx, p: &PendingLink) -> Result<(), AppError> {
    let mut tx = Tenant::begin_without_membership(ctx.db(), p.org_id, None).await?;
    audit::record(
        &mut tx,
        &ctx.meta,
        Event::new(AuditAction::SignInFailed)
            .actor(None, Some(p.email.clone()))
            .details(serde_json::json!({
                "method": AuthMethod::Sso.as_str(),
                "reason": "link_not_proved",
                "issuer": p.issuer,
                "subject": p.subject,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
