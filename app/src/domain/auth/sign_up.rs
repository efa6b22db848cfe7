//! Signing up: an account and its first organization, and confirming the
//! address with the emailed link.

use super::*;

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
#[tracing::instrument(skip_all)]
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

pub(super) fn slug_taken() -> AppError {
    AppError::field("slug", "That URL name is taken. Try another one.")
}

pub(super) async fn already_registered(
    env: &AuthEnv<'_>,
    email: &Email,
) -> Result<SignUpOutcome, AppError> {
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
#[tracing::instrument(skip_all)]
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
