//! Signing in with an emailed one-time link.

use super::*;

/// Sends a one-time sign-in link if the address belongs to an account that
/// may use it (verified, and a member of `org` when given). Always "works".
#[tracing::instrument(skip_all)]
pub async fn request_sign_in_link(
    env: &AuthEnv<'_>,
    email: &Email,
    org: Option<&lookup::OrgSummary>,
) -> Result<(), AppError> {
    limit_email_requests(env, email.as_str()).await?;
    let Some(identity) = lookup::user_for_sign_in(env.db, email.as_str()).await? else {
        return Ok(());
    };
    if identity.email_verified_at.is_none() {
        return Ok(());
    }
    if let Some(org) = org
        && !Tenant::is_member(env.db, org.org_id, identity.user_id).await?
    {
        return Ok(());
    }
    let mut tx = UserScope::begin(env.db, identity.user_id).await?;
    let token = tokens::issue(
        tx.conn(),
        identity.user_id,
        Purpose::SignInLink,
        SIGN_IN_LINK_TTL,
    )
    .await?;
    let (link, org_name) = match org {
        Some(org) => (
            format!("{}/o/{}/login/link?token={token}", env.base_url, org.slug),
            Some(org.name.as_str()),
        ),
        None => (format!("{}/login/link?token={token}", env.base_url), None),
    };
    let message = mail::sign_in_link(
        &identity.email,
        &identity.display_name,
        org_name,
        link,
        SIGN_IN_LINK_TTL.whole_minutes(),
    );
    enqueue(tx.conn(), &message).await?;
    super::audit::record_for_user(
        &mut tx,
        env.meta,
        Event::new(AuditAction::SignInLinkSent),
        org.map(|o| o.org_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Why an emailed link did not sign anyone in.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkFailure {
    Token(TokenProblem),
    /// Valid link, but the user is not (or no longer) a member of the org.
    NotAMember,
}

/// Uses a sign-in link. Having the link proves control of the mailbox, so
/// the address counts as verified from now on.
#[tracing::instrument(skip_all)]
pub async fn sign_in_with_link(
    env: &AuthEnv<'_>,
    token: &str,
    org: Option<&lookup::OrgSummary>,
) -> Result<Result<Authenticated, LinkFailure>, AppError> {
    rate_limit::hit(env.db, &env.ip_bucket("sign_in"), env.limits.sign_in_per_ip).await?;
    let mut tx = match tokens::consume(env.db, token, Purpose::SignInLink).await? {
        Ok(tx) => tx,
        Err(problem) => return Ok(Err(LinkFailure::Token(problem))),
    };
    let user_id = tx.user_id();
    // Links are only sent to confirmed addresses; should one reach an
    // unconfirmed account, confirming it follows the pre-hijacking rule.
    accounts::confirm_address(&mut tx, env.meta, env.base_url, ConfirmedBy::SignInLink).await?;
    let email = sqlx::query_scalar!("select email from app_user where user_id = $1", user_id.0)
        .fetch_one(tx.conn())
        .await?;
    tx.commit().await?;
    if let Some(org) = org
        && !Tenant::is_member(env.db, org.org_id, user_id).await?
    {
        record_failed_sign_in(
            env,
            org.org_id,
            &email,
            AuthMethod::EmailLink,
            &SignInFailure::InvalidCredentials,
        )
        .await?;
        return Ok(Err(LinkFailure::NotAMember));
    }
    Ok(Ok(Authenticated {
        user_id,
        email,
        method: AuthMethod::EmailLink,
    }))
}
