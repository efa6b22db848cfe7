//! Random tokens sent by mail: 32 random bytes, base64url in the link, only
//! their SHA-256 stored. Used once, then dead.

use super::{
    db::Db,
    tenancy::{UserScope, UserTx, lookup},
};
use crate::ids::UserId;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

/// What a user token is for; stored as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    SignInLink,
    /// Confirms an existing account before its first single sign-on.
    SsoLink,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::SignInLink => "sign_in_link",
            Purpose::SsoLink => "sso_link",
        }
    }
}

/// A fresh random token (for a link) and its hash (for the database).
pub struct NewToken {
    pub token: String,
    pub hash: Vec<u8>,
}

impl NewToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash(&token);
        Self { token, hash }
    }
}

/// The stored form of a token.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

/// Whether a string could be one of our tokens at all (43 base64url chars).
pub fn looks_like_token(token: &str) -> bool {
    let token = token.trim();
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Issues a token for `user_id`, valid for `ttl`. The connection's context
/// must be that user's (a user scope, or an org transaction acting for them).
pub async fn issue(
    conn: &mut PgConnection,
    user_id: UserId,
    purpose: Purpose,
    ttl: Duration,
) -> Result<String, sqlx::Error> {
    let new = NewToken::generate();
    sqlx::query!(
        "insert into auth_token (token_hash, user_id, purpose, expires_at) values ($1, $2, $3, $4)",
        new.hash,
        user_id.0,
        purpose.as_str(),
        OffsetDateTime::now_utc() + ttl,
    )
    .execute(conn)
    .await?;
    Ok(new.token)
}

/// Why a token was not accepted. Each gets its own page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Malformed or unknown: never issued, or for something else.
    Invalid,
    Expired,
    AlreadyUsed,
}

/// Consumes a token: marks it used and returns the open transaction of its
/// user, so the caller's change commits together with the consumption. Two
/// concurrent consumers cannot both succeed: the update re-checks `used_at`
/// under the row lock.
pub async fn consume(
    db: &Db,
    token: &str,
    purpose: Purpose,
) -> Result<Result<UserTx, TokenProblem>, sqlx::Error> {
    if !looks_like_token(token) {
        return Ok(Err(TokenProblem::Invalid));
    }
    let token_hash = hash(token);
    let Some(found) = lookup::auth_token(db, &token_hash, purpose.as_str()).await? else {
        return Ok(Err(TokenProblem::Invalid));
    };
    if found.used_at.is_some() {
        return Ok(Err(TokenProblem::AlreadyUsed));
    }
    if found.expires_at <= OffsetDateTime::now_utc() {
        return Ok(Err(TokenProblem::Expired));
    }
    let mut tx = UserScope::begin(db, found.user_id).await?;
    let claimed = sqlx::query!(
        r#"
        update auth_token set used_at = now()
        where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
        "#,
        token_hash,
        purpose.as_str(),
    )
    .execute(tx.conn())
    .await?;
    if claimed.rows_affected() == 1 {
        Ok(Ok(tx))
    } else {
        Ok(Err(TokenProblem::AlreadyUsed))
    }
}

/// Kills every unused token of `purpose` for the transaction's user (a new
/// password makes older reset links worthless).
pub async fn revoke_all(tx: &mut UserTx, purpose: Purpose) -> Result<(), sqlx::Error> {
    let user_id: UserId = tx.user_id();
    revoke_all_of(tx.conn(), user_id, purpose).await
}

/// Like [`revoke_all`], on a connection whose context is `user_id`'s.
pub async fn revoke_all_of(
    conn: &mut PgConnection,
    user_id: UserId,
    purpose: Purpose,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth_token set used_at = now() where user_id = $1 and purpose = $2 and used_at is null",
        user_id.0,
        purpose.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_unique() {
        let a = NewToken::generate();
        let b = NewToken::generate();
        assert!(looks_like_token(&a.token), "{}", a.token);
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash, hash(&a.token));
        assert_eq!(a.hash.len(), 32);
    }

    #[test]
    fn garbage_is_not_a_token() {
        assert!(!looks_like_token(""));
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&"a".repeat(42)));
        assert!(!looks_like_token(&format!("{}=", "a".repeat(42))));
    }
}
