//! User identities: creating them and reading one's own.

use super::{
    db::{Db, violated_constraint},
    tenancy::{UserScope, UserTx},
};
use crate::{
    ids::{OrgId, UserId},
    roles::Role,
    validation::{DisplayName, Email},
};

/// The signed-in person, as they read themselves.
#[derive(Clone, Debug)]
pub struct Profile {
    pub display_name: String,
    pub email: String,
}

/// One organization the user belongs to, with their role there.
#[derive(Clone, Debug)]
pub struct Membership {
    pub org_id: OrgId,
    pub slug: String,
    pub name: String,
    pub role: Role,
}

/// The transaction's user's name and address.
pub async fn profile(tx: &mut UserTx) -> Result<Profile, sqlx::Error> {
    let user_id = tx.user_id();
    sqlx::query_as!(
        Profile,
        "select display_name, email from app_user where user_id = $1",
        user_id.0
    )
    .fetch_one(tx.conn())
    .await
}

/// The organizations the transaction's user belongs to, by name.
pub async fn memberships(tx: &mut UserTx) -> Result<Vec<Membership>, sqlx::Error> {
    let user_id = tx.user_id();
    let rows = sqlx::query!(
        r#"
        select o.org_id, o.slug, o.name, m.role as "role: Role"
        from membership m join organization o using (org_id)
        where m.user_id = $1
        order by o.name, o.slug
        "#,
        user_id.0
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Membership {
            org_id: OrgId(r.org_id),
            slug: r.slug,
            name: r.name,
            role: r.role,
        })
        .collect())
}

/// A single sign-on identity linked to the account: signing in through
/// that organization's provider as `subject` signs in as this person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedIdentity {
    pub org_name: String,
    /// The provider's issuer (an OpenID Connect issuer URL).
    pub issuer: String,
    pub subject: String,
    /// How the link was made: `just_in_time`, `password` or `email_link`.
    pub linked_by: String,
    pub linked_at: time::OffsetDateTime,
    pub last_sign_in_at: Option<time::OffsetDateTime>,
}

/// The single sign-on identities linked to the transaction's user, in
/// every organization (policy `sso_identity_own`).
pub async fn linked_identities(tx: &mut UserTx) -> Result<Vec<LinkedIdentity>, sqlx::Error> {
    let user_id = tx.user_id();
    sqlx::query_as!(
        LinkedIdentity,
        r#"
        select o.name as org_name, i.issuer, i.subject, i.linked_by,
               i.created_at as linked_at, i.last_sign_in_at
        from sso_identity i join organization o using (org_id)
        where i.user_id = $1
        order by o.name, i.created_at
        "#,
        user_id.0
    )
    .fetch_all(tx.conn())
    .await
}

/// Changes the transaction's user's name, recording the change in each of
/// their organizations (their admins see who a member is). Returns whether
/// anything changed.
#[tracing::instrument(skip_all, fields(user_id = %tx.user_id()))]
pub async fn rename(
    tx: &mut UserTx,
    meta: &super::request::RequestMeta,
    name: &DisplayName,
) -> Result<bool, sqlx::Error> {
    let user_id = tx.user_id();
    let before = sqlx::query_scalar!(
        "select display_name from app_user where user_id = $1 for update",
        user_id.0
    )
    .fetch_one(tx.conn())
    .await?;
    if before == name.as_str() {
        return Ok(false);
    }
    sqlx::query!(
        "update app_user set display_name = $2 where user_id = $1",
        user_id.0,
        name.as_str()
    )
    .execute(tx.conn())
    .await?;
    super::audit::record_for_user(
        tx,
        meta,
        super::audit::Event::new(crate::audit::AuditAction::NameChanged)
            .details(serde_json::json!({ "from": before, "to": name.as_str() })),
        None,
    )
    .await?;
    Ok(true)
}

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

/// How an address was confirmed, when not by its own verification link
/// opened in the browser that signed up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmedBy {
    /// Signing in through an organization's identity provider (and the
    /// emailed confirmation that links it).
    SingleSignOn,
    /// The verification link, opened in another browser than the sign-up's.
    VerificationLinkElsewhere,
    /// An emailed sign-in link.
    SignInLink,
}

impl ConfirmedBy {
    fn words(self) -> &'static str {
        match self {
            ConfirmedBy::SingleSignOn => {
                "when you signed in through your organization's identity provider"
            }
            ConfirmedBy::VerificationLinkElsewhere => {
                "with its confirmation link, opened in another browser than the one that signed up"
            }
            ConfirmedBy::SignInLink => "with an emailed sign-in link",
        }
    }
}

/// What [`confirm_address`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// The address was confirmed before; nothing changed.
    Already,
    /// Confirmed now; `password_removed` when a password had been set.
    Now { password_removed: bool },
}

/// How long the "set a password" link in the notice works.
pub const SET_PASSWORD_TTL: time::Duration = time::Duration::hours(24);

/// Confirms the transaction's user's address. Until an address is
/// confirmed anyone may have typed it at sign-up, so the password chosen
/// then may be a stranger's (account pre-hijacking): when the owner of the
/// address confirms it some other way, that password is removed, every
/// session of the account ends, and the owner is told by mail, with a link
/// to set a password of their own. All in the caller's transaction.
pub async fn confirm_address(
    tx: &mut UserTx,
    meta: &super::request::RequestMeta,
    base_url: &str,
    how: ConfirmedBy,
) -> Result<Confirmed, sqlx::Error> {
    use super::{
        audit::Event,
        mail,
        tokens::{self, Purpose},
    };
    use crate::audit::AuditAction;
    let user_id = tx.user_id();
    let row = sqlx::query!(
        r#"
        with before as (
            select user_id, has_password as had_password
            from app_user where user_id = $1 and email_verified_at is null
            for update
        )
        update app_user u
        set email_verified_at = now(), password_hash = null, sessions_valid_after = now()
        from before b
        where u.user_id = b.user_id
        returning b.had_password as "had_password!", u.email, u.display_name
        "#,
        user_id.0,
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        return Ok(Confirmed::Already);
    };
    super::audit::record_for_user(tx, meta, Event::new(AuditAction::EmailVerified), None).await?;
    if row.had_password {
        let token =
            tokens::issue(tx.conn(), user_id, Purpose::ResetPassword, SET_PASSWORD_TTL).await?;
        let message = mail::password_removed(
            &row.email,
            &row.display_name,
            how.words(),
            format!("{base_url}/reset-password?token={token}"),
            SET_PASSWORD_TTL.whole_hours(),
        );
        mail::enqueue(tx.conn(), &message).await?;
        super::audit::record_for_user(
            tx,
            meta,
            Event::new(AuditAction::PasswordRemoved)
                .details(serde_json::json!({ "reason": "set_before_the_address_was_confirmed" })),
            None,
        )
        .await?;
    }
    Ok(Confirmed::Now {
        password_removed: row.had_password,
    })
}
