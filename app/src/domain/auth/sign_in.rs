//! Signing in with a password, recording sign-ins (and failed ones),
//! entering an organization under its single sign-on policy, and switching
//! out of one.

use super::*;

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
#[tracing::instrument(skip_all)]
pub async fn sign_in_with_password(
    env: &AuthEnv<'_>,
    email: &str,
    password: String,
    org: Option<&lookup::OrgSummary>,
) -> Result<Result<Authenticated, SignInFailure>, AppError> {
    let budget = PasswordBudget::open(env, email).await?;

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
            budget.wrong(env).await?;
        }
        if let Some(org) = org {
            record_failed_sign_in(env, org.org_id, email, AuthMethod::Password, failure).await?;
        }
    }
    Ok(outcome)
}

pub(super) async fn record_failed_sign_in(
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

pub(super) async fn resend_verification(
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
    let how = HowSignedIn::first_factor(method);
    record_sign_in_with(db, org_id, user_id, how, switched_from, meta).await
}

/// How a sign-in proved who is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HowSignedIn {
    pub method: AuthMethod,
    /// An owner's explicit request to use a password although the org
    /// requires single sign-on (see [`enter_org`]).
    pub break_glass: bool,
    /// The second factor the sign-in passed, if it has passed one.
    pub second_factor: Option<crate::domain::second_factor::Used>,
    /// For a session made from an earlier sign-in (the picker, creating or
    /// joining an organization while signed in): when that one proved who
    /// it was. `None`: just now.
    pub earlier: Option<crate::domain::session::Proof>,
}

impl HowSignedIn {
    pub fn first_factor(method: AuthMethod) -> Self {
        Self {
            method,
            break_glass: false,
            second_factor: None,
            earlier: None,
        }
    }
}

pub(super) async fn record_sign_in_with(
    db: &Db,
    org_id: OrgId,
    user_id: UserId,
    how: HowSignedIn,
    switched_from: Option<&str>,
    meta: &RequestMeta,
) -> Result<MemberTx, AppError> {
    let HowSignedIn {
        method,
        break_glass,
        second_factor,
        earlier: _,
    } = how;
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
    if let Some(used) = second_factor {
        details["second_factor"] = used.as_str().into();
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

/// Whether the org requires two-step sign-in of its members.
pub async fn mfa_required(db: &Db, org_id: OrgId) -> Result<bool, sqlx::Error> {
    let mut tx = Tenant::begin_without_membership(db, org_id, None).await?;
    let required = sqlx::query_scalar!(
        "select mfa_required from organization where org_id = $1",
        org_id.0
    )
    .fetch_optional(tx.conn())
    .await?
    .unwrap_or(false);
    tx.commit().await?;
    Ok(required)
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
    /// The account has a second factor and this sign-in has not passed it
    /// yet: the sign-in now waits at its second step (see
    /// [`session::SecondStep`](crate::domain::session::SecondStep)); no
    /// session in the org exists.
    SecondStep,
    /// The org requires two-step sign-in and the account has no second
    /// factor: the sign-in waits while the person sets one up.
    SetUpSecondFactor,
}

/// Starts a session in `org` for a user who has just authenticated with
/// `method`: the org's SSO policy is applied first; a session in another org
/// ends (recorded there as a switch out); the sign-in is recorded (as a
/// switch in when one is under way); the session id changes. An account
/// with a second factor gets no session until `second_factor` says the
/// sign-in passed it: it waits at its second step instead.
///
/// `break_glass` is an owner's explicit request to use a password although
/// the org enforces SSO — the way back in when the provider is broken. It
/// counts for owners only and is marked in the audit log.
#[tracing::instrument(skip_all)]
pub async fn enter_org(
    db: &Db,
    session: &tower_sessions::Session,
    meta: &RequestMeta,
    user_id: UserId,
    org: &lookup::OrgSummary,
    how: HowSignedIn,
) -> Result<Entered, AppError> {
    let HowSignedIn {
        method,
        break_glass,
        second_factor,
        earlier,
    } = how;
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

    if second_factor.is_none() {
        let has_factor = crate::domain::second_factor::has_second_factor(db, user_id).await?;
        let enrol = !has_factor && mfa_required(db, org.org_id).await?;
        if has_factor || enrol {
            crate::domain::session::start_second_step(
                session,
                crate::domain::session::SecondStep {
                    user_id,
                    method,
                    org_id: Some(org.org_id),
                    break_glass,
                    authenticated_at: crate::domain::session::now(),
                    enrol,
                },
            )
            .await
            .map_err(session_error)?;
            return Ok(if enrol {
                Entered::SetUpSecondFactor
            } else {
                Entered::SecondStep
            });
        }
    }

    let intent = crate::domain::session::switch_intent(session)
        .await
        .map_err(session_error)?;
    let mut switched_from = intent
        .filter(|i| i.to_org == org.org_id && i.user_id == user_id)
        .map(|i| i.from_org_name);
    let previous = crate::domain::session::org_session(session)
        .await
        .map_err(session_error)?;
    if let Some(previous) = &previous
        && previous.org_id != org.org_id
        && let Some(name) = record_switch_out(db, meta, previous, &org.name).await?
    {
        switched_from = Some(name);
    }
    let how = HowSignedIn {
        method,
        break_glass: used_break_glass,
        second_factor,
        earlier,
    };
    let mut tx =
        record_sign_in_with(db, org.org_id, user_id, how, switched_from.as_deref(), meta).await?;
    let org_session = crate::domain::session::OrgSession {
        break_glass: used_break_glass,
        second_factor: second_factor.is_some(),
        ..crate::domain::session::OrgSession::new(user_id, org.org_id, method, earlier)
    };
    if let Some(previous) = previous.filter(|p| p.org_id == org.org_id) {
        // Signed in again in the same organization: the session this
        // browser had gives way to the new one.
        crate::domain::sessions::close(
            &mut tx,
            &previous,
            crate::domain::sessions::EndReason::Replaced,
        )
        .await?;
    }
    crate::domain::sessions::open(&mut tx, meta, &org_session).await?;
    tx.commit().await?;
    crate::domain::session::start_org_session(session, org_session)
        .await
        .map_err(session_error)?;
    Ok(Entered::InOrg)
}

/// Records `auth.switched_out` in the org being left (and that the
/// session `previous` ended there); returns the org's name, or `None` when
/// the user is no longer a member there.
#[tracing::instrument(skip_all)]
pub async fn record_switch_out(
    db: &Db,
    meta: &RequestMeta,
    previous: &crate::domain::session::OrgSession,
    to_org_name: &str,
) -> Result<Option<String>, AppError> {
    let from_org = previous.org_id;
    let Ok(mut tx) = Tenant::begin(db, from_org, previous.user_id).await else {
        return Ok(None);
    };
    crate::domain::sessions::close(
        &mut tx,
        previous,
        crate::domain::sessions::EndReason::Switched,
    )
    .await?;
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
