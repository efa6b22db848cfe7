//! Changing one's own password while signed in: the current password is
//! checked like a sign-in (the same failure budget), the new one like a
//! new password, and other sessions end unless the person keeps them.

use super::*;

/// A signed-in person's request to change their password.
pub struct PasswordChange<'a> {
    pub user_id: UserId,
    pub email: &'a str,
    /// The organization of the session asking, where a wrong current
    /// password is recorded.
    pub org_id: OrgId,
    /// What was typed as the current password. Ignored for an account
    /// that has none (single sign-on or emailed links only); the caller
    /// asks for a recent sign-in instead.
    pub current: Option<&'a str>,
    pub new_password: &'a NewPassword,
    /// Sign out every other session and pending sign-in of the account.
    pub end_other_sessions: bool,
}

/// Whether the account signs in with a password at all.
pub async fn has_password(db: &Db, user_id: UserId, email: &str) -> Result<bool, AppError> {
    Ok(stored_hash(db, user_id, email).await?.is_some())
}

async fn stored_hash(db: &Db, user_id: UserId, email: &str) -> Result<Option<String>, AppError> {
    Ok(lookup::user_for_sign_in(db, email)
        .await?
        .filter(|identity| identity.user_id == user_id)
        .and_then(|identity| identity.password_hash))
}

/// Checks and sets the new password; tells the account by mail and records
/// the change in each of its organizations. With `end_other_sessions` every
/// session that authenticated before now stops counting: the caller starts
/// its own one again (see [`session::OrgSession`](crate::domain::session)).
#[tracing::instrument(skip_all, fields(user_id = %change.user_id))]
pub async fn change_password(
    env: &AuthEnv<'_>,
    change: &PasswordChange<'_>,
) -> Result<(), AppError> {
    let stored = stored_hash(env.db, change.user_id, change.email).await?;
    let had_password = stored.is_some();
    if let Some(stored) = stored {
        let Some(current) = change.current.filter(|c| !c.is_empty()) else {
            return Err(AppError::field(
                "current_password",
                "Enter your current password.",
            ));
        };
        if current.len() > NewPassword::MAX_LEN * 4 {
            return Err(AppError::field("current_password", WRONG_CURRENT));
        }
        let budget = PasswordBudget::open(env, change.email).await?;
        if !password::verify(current.to_string(), Some(stored)).await? {
            budget.wrong(env).await?;
            let who = Confirming {
                user_id: change.user_id,
                email: change.email,
                org_id: change.org_id,
            };
            record_confirmation(env, &who, AuditAction::IdentityConfirmFailed, "password").await?;
            return Err(AppError::field("current_password", WRONG_CURRENT));
        }
        if current == change.new_password.expose() {
            return Err(AppError::field(
                "new_password",
                "That is your current password. Choose a new one.",
            ));
        }
    }
    limit_password_setting(env).await?;
    let mut tx = UserScope::begin(env.db, change.user_id).await?;
    let profile = accounts::profile(&mut tx).await?;
    password::check_strength(
        change.new_password,
        &[&profile.email, &profile.display_name],
    )
    .map_err(|m| AppError::field("new_password", m))?;
    let password_hash = password::hash(change.new_password).await?;
    sqlx::query!(
        r#"
        update app_user
        set password_hash = $2,
            sessions_valid_after = case when $3 then now() else sessions_valid_after end
        where user_id = $1
        "#,
        change.user_id.0,
        password_hash,
        change.end_other_sessions,
    )
    .execute(tx.conn())
    .await?;
    // A reset link mailed before the change would undo it.
    tokens::revoke_all(&mut tx, Purpose::ResetPassword).await?;
    enqueue(
        tx.conn(),
        &mail::password_changed(
            &profile.email,
            &profile.display_name,
            format!("{}/forgot-password", env.base_url),
            change.end_other_sessions,
        ),
    )
    .await?;
    audit::record_for_user(
        &mut tx,
        env.meta,
        Event::new(AuditAction::PasswordChanged).details(serde_json::json!({
            "had_password": had_password,
            "other_sessions_ended": change.end_other_sessions,
        })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

const WRONG_CURRENT: &str = "That is not your current password.";
