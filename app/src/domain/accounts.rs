//! User identities: creating them and reading one's own.

use super::{
    db::{Db, violated_constraint},
    tenancy::{UserScope, UserTx},
};
use crate::{
    ids::UserId,
    validation::{DisplayName, Email},
};

/// A person about to get an account.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: Email,
    pub display_name: DisplayName,
    /// argon2id PHC string; `None` for identities created by SSO.
    pub password_hash: Option<String>,
    pub email_verified: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// Another identity already uses this email (case-insensitively).
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Creates the identity and returns the still-open transaction scoped to the
/// new user, so the caller can finish the sign-up (organization, membership,
/// mail) atomically.
pub async fn create_user(db: &Db, new_user: &NewUser) -> Result<UserTx, CreateUserError> {
    let user_id = UserId::generate();
    let mut tx = UserScope::begin(db, user_id).await?;
    let inserted = sqlx::query!(
        r#"
        insert into app_user (user_id, email, display_name, password_hash, email_verified_at)
        values ($1, $2, $3, $4, case when $5 then now() end)
        "#,
        user_id.0,
        new_user.email.as_str(),
        new_user.display_name.as_str(),
        new_user.password_hash.as_deref(),
        new_user.email_verified,
    )
    .execute(tx.conn())
    .await;
    match inserted {
        Ok(_) => Ok(tx),
        Err(e) if violated_constraint(&e) == Some("app_user_email_key") => {
            Err(CreateUserError::EmailTaken)
        }
        Err(e) => Err(e.into()),
    }
}
