//! Resetting a forgotten password with an emailed link.

use super::*;

/// Sends a reset link if the address has an account. Always "works".
#[tracing::instrument(skip_all)]
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
#[tracing::instrument(skip_all)]
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
            true,
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
