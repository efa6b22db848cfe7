//! SSO identities. An identity is the pair (issuer, subject) a provider
//! vouches for, kept per connection and linked to one member. After its
//! first sign-in only that pair signs the member in: an email claim alone
//! never does, because whoever configures the provider can assert any
//! address — the owner's included.

use super::connection::Connection;
use crate::{domain::tenancy::OrgTx, error::AppError, ids::UserId};

/// How a link was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkedBy {
    /// A new account, made by the sign-in itself (just-in-time membership).
    JustInTime,
    /// An existing account, proved with its password in the same browser.
    Password,
    /// An existing account, proved with a link mailed to its address.
    EmailLink,
}

impl LinkedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkedBy::JustInTime => "just_in_time",
            LinkedBy::Password => "password",
            LinkedBy::EmailLink => "email_link",
        }
    }
}

/// The member this connection's `subject` is linked to, if any; notes the
/// sign-in.
pub async fn signed_in(
    tx: &mut OrgTx,
    connection: &Connection,
    subject: &str,
) -> Result<Option<UserId>, sqlx::Error> {
    let user = sqlx::query_scalar!(
        r#"
        update sso_identity set last_sign_in_at = now()
        where org_id = $1 and sso_connection_id = $2 and subject = $3 and issuer = $4
        returning user_id
        "#,
        tx.org_id().0,
        connection.id,
        subject,
        connection.issuer_url,
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(user.map(UserId))
}

/// Links `subject` to `user_id` (a member by now, in the same transaction;
/// the transaction acts for that user). A member has one identity per
/// connection: an older link of theirs is replaced, and then every session
/// of the account ends (the old subject may have been someone else's).
/// Returns the replaced subject. A subject already linked to someone else is
/// a conflict.
pub async fn link(
    tx: &mut OrgTx,
    connection: &Connection,
    subject: &str,
    user_id: UserId,
    linked_by: LinkedBy,
) -> Result<Option<String>, AppError> {
    let org_id = tx.org_id().0;
    let replaced = sqlx::query_scalar!(
        "delete from sso_identity where org_id = $1 and sso_connection_id = $2 and user_id = $3 and subject <> $4
         returning subject",
        org_id,
        connection.id,
        user_id.0,
        subject,
    )
    .fetch_optional(tx.conn())
    .await?;
    if replaced.is_some() {
        sqlx::query!(
            "update app_user set sessions_valid_after = now() where user_id = $1",
            user_id.0
        )
        .execute(tx.conn())
        .await?;
    }
    let owner = sqlx::query_scalar!(
        r#"
        insert into sso_identity as i (org_id, sso_connection_id, issuer, subject, user_id, linked_by, last_sign_in_at)
        values ($1, $2, $3, $4, $5, $6, now())
        on conflict (org_id, sso_connection_id, subject) do update set last_sign_in_at = now()
            where i.user_id = excluded.user_id
        returning user_id
        "#,
        org_id,
        connection.id,
        connection.issuer_url,
        subject,
        user_id.0,
        linked_by.as_str(),
    )
    .fetch_optional(tx.conn())
    .await?;
    match owner {
        Some(owner) if owner == user_id.0 => Ok(replaced),
        _ => Err(AppError::Conflict(
            "This identity from your provider is already linked to another account here.".into(),
        )),
    }
}

/// Forgets every identity the connection linked (its issuer or client id
/// changed: subjects of another provider mean nothing). Returns how many.
pub async fn forget_all(tx: &mut OrgTx, connection_id: uuid::Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "delete from sso_identity where org_id = $1 and sso_connection_id = $2",
        tx.org_id().0,
        connection_id,
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}
