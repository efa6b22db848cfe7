//! Accounts and authentication: sign-up, email verification, password and
//! emailed-link sign-in, password reset.
//!
//! No function here reveals whether an email address has an account: an
//! unknown address, a wrong password and a non-member get the same answer,
//! requests for mail always "succeed", and a password is hashed even when
//! there is nothing to compare it with.

use super::{
    accounts::{self, ConfirmedBy, CreateUserError, NewUser, create_user},
    audit::{self, Event, Target},
    db::Db,
    mail::{self, enqueue},
    orgs::{CreateOrgError, create_organization},
    password,
    rate_limit::{self, RateLimits},
    request::RequestMeta,
    session::AuthMethod,
    tenancy::{MemberTx, Tenant, UserScope, lookup},
    tokens::{self, Purpose, TokenProblem},
};
use crate::{
    audit::AuditAction,
    error::AppError,
    ids::{OrgId, UserId},
    validation::{DisplayName, Email, NewPassword, OrgName, OrgSlug},
};
use time::Duration;

/// How long each kind of emailed link works.
pub const VERIFY_EMAIL_TTL: Duration = Duration::hours(24);
pub const RESET_PASSWORD_TTL: Duration = Duration::minutes(60);
pub const SIGN_IN_LINK_TTL: Duration = Duration::minutes(15);

/// Where emailed links point, and the limits to apply.
#[derive(Clone, Debug)]
pub struct AuthEnv<'a> {
    pub db: &'a Db,
    pub base_url: &'a str,
    pub limits: &'a RateLimits,
    pub meta: &'a RequestMeta,
}

impl AuthEnv<'_> {
    fn ip_bucket(&self, what: &str) -> String {
        format!("{what}:ip:{}", rate_limit::client_network(self.meta.ip))
    }
}

fn account_bucket(what: &str, email: &str) -> String {
    format!("{what}:account:{}", email.trim().to_lowercase())
}

impl AuthEnv<'_> {
    /// One account as seen from this client address: failures and mail
    /// requests are counted here first, so that someone else's attempts
    /// throttle them, not the account's owner on their own address.
    fn account_from_here(&self, what: &str, email: &str) -> String {
        let network = rate_limit::client_network(self.meta.ip);
        format!("{}:ip:{network}", account_bucket(what, email))
    }
}

// ---------------------------------------------------------------------------
// Sign-up and verification
// ---------------------------------------------------------------------------

pub struct SignUp {
    pub name: DisplayName,
    pub email: Email,
    pub password: NewPassword,
    pub org_name: OrgName,
    pub slug: OrgSlug,
}

/// What sign-up did. The page shown is the same for both, so the outcome
/// never tells a visitor whether the address already had an account.
#[derive(Debug, PartialEq, Eq)]
pub enum SignUpOutcome {
    Created {
        user_id: UserId,
        org_id: OrgId,
    },
    /// The address already has an account; its owner was told by mail.
    AlreadyRegistered,
}

/// Creates the user, their organization (they own it) and a verification
/// mail, all in one transaction.
pub async fn sign_up(env: &AuthEnv<'_>, form: SignUp) -> Result<SignUpOutcome, AppError> {
    rate_limit::hit(env.db, &env.ip_bucket("sign_up"), env.limits.sign_up_per_ip).await?;
    // Hash first, whatever happens next, so timing does not tell.
    let password_hash = password::hash(&form.password).await?;

    if lookup::org_by_slug(env.db, form.slug.as_str())
        .await?
        .is_some()
    {
        return Err(slug_taken());
    }
    if lookup::user_for_sign_in(env.db, form.email.as_str())
        .await?
        .is_some()
    {
        return already_registered(env, &form.email).await;
    }

    let new_user = NewUser {
        email: form.email.clone(),
        display_name: form.name.clone(),
        password_hash: Some(password_hash),
        email_verified: false,
    };
    let tx = match create_user(env.db, &new_user).await {
        Ok(tx) => tx,
        // Someone registered the address a moment ago.
        Err(CreateUserError::EmailTaken) => return already_registered(env, &form.email).await,
        Err(CreateUserError::Database(e)) => return Err(e.into()),
    };
    let user_id = tx.user_id();
    let mut tx = match create_organization(tx, &form.org_name, &form.slug, env.meta).await {
        Ok(tx) => tx,
        Err(CreateOrgError::SlugTaken) => return Err(slug_taken()),
        Err(CreateOrgError::Database(e)) => return Err(e.into()),
    };
    let org_id = tx.org_id();
    audit::record(
        &mut tx,
        env.meta,
        Event::new(AuditAction::SignedUp).target(Target::user(user_id, form.email.as_str())),
    )
    .await?;
    let token = tokens::issue(tx.conn(), user_id, Purpose::VerifyEmail, VERIFY_EMAIL_TTL).await?;
    let link = format!("{}/verify-email?token={token}", env.base_url);
    let message = mail::verify_email(
        form.email.as_str(),
        form.name.as_str(),
        form.org_name.as_str(),
        link,
    );
    enqueue(tx.conn(), &message).await?;
    tx.commit().await?;
    Ok(SignUpOutcome::Created { user_id, org_id })
}

fn slug_taken() -> AppError {
    AppError::field("slug", "That URL name is taken. Try another one.")
}

async fn already_registered(env: &AuthEnv<'_>, email: &Email) -> Result<SignUpOutcome, AppError> {
    // Repeated sign-ups must not flood the owner's mailbox; past the limit
    // the notice is skipped (silently: the page cannot say why).
    let bucket = account_bucket("email", email.as_str());
    if rate_limit::hit(env.db, &bucket, env.limits.email_requests_per_account)
        .await
        .is_err()
    {
        return Ok(SignUpOutcome::AlreadyRegistered);
    }
    let message = mail::account_exists(
        email.as_str(),
        format!("{}/login", env.base_url),
        format!("{}/forgot-password", env.base_url),
    );
    enqueue(&mut *env.db.pool().acquire().await?, &message).await?;
    Ok(SignUpOutcome::AlreadyRegistered)
}

/// The result of opening a verification link.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub user_id: UserId,
    /// Opened elsewhere than in the browser that signed up: the password
    /// chosen at sign-up was removed (see [`accounts::confirm_address`]).
    pub password_removed: bool,
}

/// Marks the address verified (once) and records it in the user's orgs.
///
/// `signed_up_here` is the account this browser signed up (the sign-up
/// marker in its session). Opened there, the link proves that whoever chose
/// the password also receives the mail, and the password stays. Opened
/// anywhere else it proves only the mailbox, so the password (perhaps a
/// stranger's, who typed someone else's address) is removed.
pub async fn verify_email(
    env: &AuthEnv<'_>,
    token: &str,
    signed_up_here: Option<UserId>,
) -> Result<Result<Verified, TokenProblem>, AppError> {
    let mut tx = match tokens::consume(env.db, token, Purpose::VerifyEmail).await? {
        Ok(tx) => tx,
        Err(problem) => return Ok(Err(problem)),
    };
    let user_id = tx.user_id();
    let mut password_removed = false;
    if signed_up_here == Some(user_id) {
        let newly = sqlx::query!(
            "update app_user set email_verified_at = now() where user_id = $1 and email_verified_at is null",
            user_id.0
        )
        .execute(tx.conn())
        .await?;
        if newly.rows_affected() == 1 {
            super::audit::record_for_user(
                &mut tx,
                env.meta,
                Event::new(AuditAction::EmailVerified),
                None,
            )
            .await?;
        }
    } else {
        let confirmed = accounts::confirm_address(
            &mut tx,
            env.meta,
            env.base_url,
            ConfirmedBy::VerificationLinkElsewhere,
        )
        .await?;
        password_removed = confirmed
            == (accounts::Confirmed::Now {
                password_removed: true,
            });
    }
    tx.commit().await?;
    Ok(Ok(Verified {
        user_id,
        password_removed,
    }))
}

// ---------------------------------------------------------------------------
// Password sign-in
// ---------------------------------------------------------------------------

/// A user who has just proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub user_id: UserId,
    pub email: String,
    pub method: AuthMethod,
}

/// Why a sign-in failed, as far as the person signing in may know.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInFailure {
    /// Unknown address, wrong password or not a member: one answer for all.
    InvalidCredentials,
    /// The password was right but the address is not confirmed yet; a fresh
    /// confirmation link has been sent.
    EmailNotVerified,
}

impl SignInFailure {
    pub fn into_error(self, org_name: Option<&str>) -> AppError {
        match self {
            SignInFailure::InvalidCredentials => AppError::field(
                "",
                match org_name {
                    Some(org) => format!(
                        "That email and password do not let you sign in to {org}. Check them and try again."
                    ),
                    None => {
                        "That email and password do not match an account. Check them and try again."
                            .to_string()
                    }
                },
            ),
            SignInFailure::EmailNotVerified => AppError::field(
                "",
                "Please confirm your email address first. We have sent you a new confirmation link.",
            ),
        }
    }
}

/// Checks an email and password; with `org`, also that the user is a member
/// of it. A failure into a known org is recorded in that org's audit log.
pub async fn sign_in_with_password(
    env: &AuthEnv<'_>,
    email: &str,
    password: String,
    org: Option<&lookup::OrgSummary>,
) -> Result<Result<Authenticated, SignInFailure>, AppError> {
    let from_here = env.account_from_here("sign_in_failures", email);
    let anywhere = account_bucket("sign_in_failures", email);
    rate_limit::hit(env.db, &env.ip_bucket("sign_in"), env.limits.sign_in_per_ip).await?;
    rate_limit::check(env.db, &from_here, env.limits.sign_in_failures_per_account).await?;
    rate_limit::check(
        env.db,
        &anywhere,
        env.limits.sign_in_failures_per_account_anywhere,
    )
    .await?;

    let identity = lookup::user_for_sign_in(env.db, email).await?;
    let stored = identity.as_ref().and_then(|i| i.password_hash.clone());
    let password_ok = password::verify(password, stored).await?;

    let outcome = match identity {
        Some(identity) if password_ok => {
            let member = match org {
                Some(org) => Tenant::is_member(env.db, org.org_id, identity.user_id).await?,
                None => true,
            };
            if !member {
                Err(SignInFailure::InvalidCredentials)
            } else if identity.email_verified_at.is_none() {
                resend_verification(
                    env,
                    identity.user_id,
                    &identity.email,
                    &identity.display_name,
                )
                .await?;
                Err(SignInFailure::EmailNotVerified)
            } else {
                Ok(Authenticated {
                    user_id: identity.user_id,
                    email: identity.email,
                    method: AuthMethod::Password,
                })
            }
        }
        _ => Err(SignInFailure::InvalidCredentials),
    };

    if let Err(failure) = &outcome {
        if *failure == SignInFailure::InvalidCredentials {
            for (bucket, limit) in [
                (&from_here, env.limits.sign_in_failures_per_account),
                (&anywhere, env.limits.sign_in_failures_per_account_anywhere),
            ] {
                // This attempt has been answered; the limit applies to the next.
                match rate_limit::hit(env.db, bucket, limit).await {
                    Ok(()) | Err(AppError::RateLimited { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if let Some(org) = org {
            record_failed_sign_in(env, org.org_id, email, AuthMethod::Password, failure).await?;
        }
    }
    Ok(outcome)
}

async fn record_failed_sign_in(
    env: &AuthEnv<'_>,
    org_id: OrgId,
    email: &str,
    method: AuthMethod,
    failure: &SignInFailure,
) -> Result<(), AppError> {
    let reason = match failure {
        SignInFailure::InvalidCredentials => "invalid_credentials",
        SignInFailure::EmailNotVerified => "email_not_verified",
    };
    let mut tx = Tenant::begin_without_membership(env.db, org_id, None).await?;
    audit::record(
        &mut tx,
        env.meta,
        Event::new(AuditAction::SignInFailed)
            .actor(None, Some(email.trim().chars().take(254).collect()))
            .details(serde_json::json!({ "method": method.as_str(), "reason": reason })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn resend_verification(
    env: &AuthEnv<'_>,
    user_id: UserId,
    email: &str,
    name: &str,
) -> Result<(), AppError> {
    // A resend is a mail request like any other: bounded per mailbox.
    if rate_limit::hit(
        env.db,
        &account_bucket("email", email),
        env.limits.email_requests_per_account,
    )
    .await
    .is_err()
    {
        return Ok(());
    }
    let mut tx = UserScope::begin(env.db, user_id).await?;
    let token = tokens::issue(tx.conn(), user_id, Purpose::VerifyEmail, VERIFY_EMAIL_TTL).await?;
    let org_name =
        sqlx::query_scalar!(
            "select o.name from organization o join membership m using (org_id) where m.user_id = $1 order by o.created_at limit 1",
            user_id.0
        )
            .fetch_optional(tx.conn())
            .await?
            .unwrap_or_else(|| "your organization".to_string());
    let link = format!("{}/verify-email?token={token}", env.base_url);
    enqueue(tx.conn(), &mail::verify_email(email, name, &org_name, link)).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a successful sign-in into `org_id` and the member's last sign-in
/// time, in one transaction. `switched_from` names the org the user just
/// left when this sign-in completes a switch.
pub async fn record_sign_in(
    db: &Db,
    org_id: OrgId,
    user_id: UserId,
    method: AuthMethod,
    switched_from: Option<&str>,
    meta: &RequestMeta,
) -> Result<MemberTx, AppError> {
    record_sign_in_with(db, org_id, user_id, method, switched_from, false, meta).await
}

async fn record_sign_in_with(
    db: &Db,
    org_id: OrgId,
    user_id: UserId,
    method: AuthMethod,
    switched_from: Option<&str>,
    break_glass: bool,
    meta: &RequestMeta,
) -> Result<MemberTx, AppError> {
    let mut tx = Tenant::begin(db, org_id, user_id).await?;
    sqlx::query!(
        "update membership set last_sign_in_at = now() where org_id = $1 and user_id = $2",
        org_id.0,
        user_id.0
    )
    .execute(tx.conn())
    .await?;
    let mut details = serde_json::json!({ "method": method.as_str() });
    if break_glass {
        details["break_glass"] = true.into();
    }
    let event = match switched_from {
        Some(from) => {
            details["from_org"] = from.into();
            Event::new(AuditAction::SwitchedIn).details(details)
        }
        None => Event::new(AuditAction::SignedIn).details(details),
    };
    audit::record(&mut tx, meta, event).await?;
    Ok(tx)
}

// ---------------------------------------------------------------------------
// Entering an organization
// ---------------------------------------------------------------------------

/// How an organization lets people in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoPolicy {
    /// "Continue with single sign-on" is offered.
    pub enabled: bool,
    /// Single sign-on is the only way in (owners keep a break-glass path).
    pub enforced: bool,
}

/// Reads the org's SSO policy (public: its login page shows it).
pub async fn sso_policy(db: &Db, org_id: OrgId) -> Result<SsoPolicy, sqlx::Error> {
    let mut tx = Tenant::begin_without_membership(db, org_id, None).await?;
    let row = sqlx::query!(
        r#"select enabled_at is not null as "enabled!", enforced from sso_connection where org_id = $1"#,
        org_id.0
    )
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(row
        .map(|r| SsoPolicy {
            enabled: r.enabled,
            enforced: r.enforced,
        })
        .unwrap_or_default())
}

/// Home-realm discovery: the organization whose verified domain `email`
/// is in, when it offers single sign-on.
pub async fn home_realm(db: &Db, email: &Email) -> Result<Option<lookup::OrgSummary>, sqlx::Error> {
    let Some(org) = lookup::org_by_verified_domain(db, email.domain()).await? else {
        return Ok(None);
    };
    Ok(sso_policy(db, org.org_id).await?.enabled.then_some(org))
}

/// What entering an organization came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Entered {
    /// Signed in: the session now belongs to this org.
    InOrg,
    /// The org requires single sign-on; nothing changed. `email` is the
    /// address to hint to the provider.
    SsoRequired { email: String },
}

/// Starts a session in `org` for a user who has just authenticated with
/// `method`: the org's SSO policy is applied first; a session in another org
/// ends (recorded there as a switch out); the sign-in is recorded (as a
/// switch in when one is under way); the session id changes.
///
/// `break_glass` is an owner's explicit request to use a password although
/// the org enforces SSO — the way back in when the provider is broken. It
/// counts for owners only and is marked in the audit log.
pub async fn enter_org(
    db: &Db,
    session: &tower_sessions::Session,
    meta: &RequestMeta,
    user_id: UserId,
    org: &lookup::OrgSummary,
    method: AuthMethod,
    break_glass: bool,
) -> Result<Entered, AppError> {
    let session_error = |e: tower_sessions::session::Error| {
        tracing::error!(error = %e, "session store error");
        AppError::Internal
    };
    let mut used_break_glass = false;
    if method != AuthMethod::Sso && sso_policy(db, org.org_id).await?.enforced {
        let tx = Tenant::begin(db, org.org_id, user_id).await?;
        let actor = tx.actor().clone();
        drop(tx);
        if break_glass && actor.role == crate::roles::Role::Owner {
            used_break_glass = true;
        } else {
            let mut tx = Tenant::begin_without_membership(db, org.org_id, None).await?;
            audit::record(
                &mut tx,
                meta,
                Event::new(AuditAction::SignInFailed)
                    .actor(Some(user_id), Some(actor.email.clone()))
                    .details(
                        serde_json::json!({ "method": method.as_str(), "reason": "sso_required" }),
                    ),
            )
            .await?;
            tx.commit().await?;
            return Ok(Entered::SsoRequired { email: actor.email });
        }
    }

    let intent = super::session::switch_intent(session)
        .await
        .map_err(session_error)?;
    let mut switched_from = intent
        .filter(|i| i.to_org == org.org_id && i.user_id == user_id)
        .map(|i| i.from_org_name);
    if let Some(previous) = super::session::org_session(session)
        .await
        .map_err(session_error)?
        && previous.org_id != org.org_id
        && let Some(name) =
            record_switch_out(db, meta, previous.org_id, previous.user_id, &org.name).await?
    {
        switched_from = Some(name);
    }
    let tx = record_sign_in_with(
        db,
        org.org_id,
        user_id,
        method,
        switched_from.as_deref(),
        used_break_glass,
        meta,
    )
    .await?;
    tx.commit().await?;
    super::session::start_org_session(session, user_id, org.org_id, method, used_break_glass)
        .await
        .map_err(session_error)?;
    Ok(Entered::InOrg)
}

/// Records `auth.switched_out` in the org being left; returns its name, or
/// `None` when the user is no longer a member there.
pub async fn record_switch_out(
    db: &Db,
    meta: &RequestMeta,
    from_org: OrgId,
    user_id: UserId,
    to_org_name: &str,
) -> Result<Option<String>, AppError> {
    let Ok(mut tx) = Tenant::begin(db, from_org, user_id).await else {
        return Ok(None);
    };
    let name = sqlx::query_scalar!(
        "select name from organization where org_id = $1",
        from_org.0
    )
    .fetch_one(tx.conn())
    .await?;
    audit::record(
        &mut tx,
        meta,
        Event::new(AuditAction::SwitchedOut).details(serde_json::json!({ "to_org": to_org_name })),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(name))
}

// ---------------------------------------------------------------------------
// Emailed sign-in links
// ---------------------------------------------------------------------------

/// Sends a one-time sign-in link if the address belongs to an account that
/// may use it (verified, and a member of `org` when given). Always "works".
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

/// Counts one attempt to set a password with an emailed token (a reset or
/// an invitation for a new account) against the client address, like a
/// sign-in: each one costs a password hash when its token is good.
pub async fn limit_password_setting(env: &AuthEnv<'_>) -> Result<(), AppError> {
    rate_limit::hit(
        env.db,
        &env.ip_bucket("set_password"),
        env.limits.sign_in_per_ip,
    )
    .await
}

/// Counts one new organization against the client address, like a sign-up:
/// every org comes with its own invitation allowance and its own name in
/// mail, so creating them is bounded too.
pub async fn limit_org_creation(env: &AuthEnv<'_>) -> Result<(), AppError> {
    rate_limit::hit(
        env.db,
        &env.ip_bucket("create_org"),
        env.limits.sign_up_per_ip,
    )
    .await
}

/// Counts one emailed-link request against the client address and the
/// account (`email`); refuses once either is over its limit.
pub async fn limit_email_requests(env: &AuthEnv<'_>, email: &str) -> Result<(), AppError> {
    rate_limit::hit(
        env.db,
        &env.ip_bucket("email"),
        env.limits.email_requests_per_ip,
    )
    .await?;
    rate_limit::hit(
        env.db,
        &env.account_from_here("email", email),
        env.limits.email_requests_per_account,
    )
    .await?;
    rate_limit::hit(
        env.db,
        &account_bucket("email", email),
        env.limits.email_requests_per_account_anywhere,
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Password reset
// ---------------------------------------------------------------------------

/// Sends a reset link if the address has an account. Always "works".
pub async fn request_password_reset(env: &AuthEnv<'_>, email: &Email) -> Result<(), AppError> {
    limit_email_requests(env, email.as_str()).await?;
    let Some(identity) = lookup::user_for_sign_in(env.db, email.as_str()).await? else {
        return Ok(());
    };
    let mut tx = UserScope::begin(env.db, identity.user_id).await?;
    let token = tokens::issue(
        tx.conn(),
        identity.user_id,
        Purpose::ResetPassword,
        RESET_PASSWORD_TTL,
    )
    .await?;
    let link = format!("{}/reset-password?token={token}", env.base_url);
    let message = mail::reset_password(
        &identity.email,
        &identity.display_name,
        link,
        RESET_PASSWORD_TTL.whole_minutes(),
    );
    enqueue(tx.conn(), &message).await?;
    super::audit::record_for_user(
        &mut tx,
        env.meta,
        Event::new(AuditAction::PasswordResetRequested),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a reset link can still be used, to decide which page to show
/// before the person types a new password.
pub async fn check_reset_token(db: &Db, token: &str) -> Result<Result<(), TokenProblem>, AppError> {
    if !tokens::looks_like_token(token) {
        return Ok(Err(TokenProblem::Invalid));
    }
    let found = lookup::auth_token(db, &tokens::hash(token), "reset_password").await?;
    Ok(match found {
        None => Err(TokenProblem::Invalid),
        Some(t) if t.used_at.is_some() => Err(TokenProblem::AlreadyUsed),
        Some(t) if t.expires_at <= time::OffsetDateTime::now_utc() => Err(TokenProblem::Expired),
        Some(_) => Ok(()),
    })
}

/// Sets a new password with a reset link. Ends every existing session of the
/// user, kills their other reset links, and records the reset in each of
/// their organizations. Rate limited per client address; a link that does
/// not work is refused before the (expensive) hash is computed.
pub async fn reset_password(
    env: &AuthEnv<'_>,
    token: &str,
    new_password: &NewPassword,
) -> Result<Result<UserId, TokenProblem>, AppError> {
    limit_password_setting(env).await?;
    if let Err(problem) = check_reset_token(env.db, token).await? {
        return Ok(Err(problem));
    }
    let password_hash = password::hash(new_password).await?;
    let mut tx = match tokens::consume(env.db, token, Purpose::ResetPassword).await? {
        Ok(tx) => tx,
        Err(problem) => return Ok(Err(problem)),
    };
    let user_id = tx.user_id();
    sqlx::query!(
        r#"
        update app_user
        set password_hash = $2,
            email_verified_at = coalesce(email_verified_at, now()),
            sessions_valid_after = now()
        where user_id = $1
        "#,
        user_id.0,
        password_hash,
    )
    .execute(tx.conn())
    .await?;
    tokens::revoke_all(&mut tx, Purpose::ResetPassword).await?;
    tokens::revoke_all(&mut tx, Purpose::SignInLink).await?;
    tokens::revoke_all(&mut tx, Purpose::SsoLink).await?;
    let account = sqlx::query!(
        "select email, display_name from app_user where user_id = $1",
        user_id.0
    )
    .fetch_one(tx.conn())
    .await?;
    enqueue(
        tx.conn(),
        &mail::password_changed(
            &account.email,
            &account.display_name,
            format!("{}/forgot-password", env.base_url),
        ),
    )
    .await?;
    super::audit::record_for_user(
        &mut tx,
        env.meta,
        Event::new(AuditAction::PasswordReset),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(user_id))
}
