//! Look-ups that must work before an org context exists. Each calls one
//! SECURITY DEFINER function in schema `lookup` (see the migrations), which
//! returns only the columns named here.

use super::super::db::Db;
use crate::ids::{OrgId, UserId};
use time::OffsetDateTime;

/// The identity behind an email address, for signing in.
#[derive(Clone, Debug)]
pub struct SignInIdentity {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub email_verified_at: Option<OffsetDateTime>,
}

pub async fn user_for_sign_in(db: &Db, email: &str) -> Result<Option<SignInIdentity>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select user_id as "user_id!", email as "email!", display_name as "display_name!",
               password_hash, email_verified_at
        from lookup.user_for_sign_in($1)
        "#,
        email
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| SignInIdentity {
        user_id: UserId(r.user_id),
        email: r.email,
        display_name: r.display_name,
        password_hash: r.password_hash,
        email_verified_at: r.email_verified_at,
    }))
}

/// An organization's public face: what its login page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgSummary {
    pub org_id: OrgId,
    pub slug: String,
    pub name: String,
}

pub async fn org_by_slug(db: &Db, slug: &str) -> Result<Option<OrgSummary>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select org_id as "org_id!", slug as "slug!", name as "name!" from lookup.org_by_slug($1)"#,
        slug
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| OrgSummary {
        org_id: OrgId(r.org_id),
        slug: r.slug,
        name: r.name,
    }))
}

/// The organization that proved ownership of an email domain.
pub async fn org_by_verified_domain(
    db: &Db,
    domain: &str,
) -> Result<Option<OrgSummary>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select org_id as "org_id!", slug as "slug!", name as "name!" from lookup.org_by_verified_domain($1)"#,
        domain
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| OrgSummary {
        org_id: OrgId(r.org_id),
        slug: r.slug,
        name: r.name,
    }))
}

/// The organization whose SSO connection has this id (a callback's URI
/// names it), to record a callback that belongs to no flow.
pub async fn org_by_sso_connection(
    db: &Db,
    connection_id: uuid::Uuid,
) -> Result<Option<OrgSummary>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select org_id as "org_id!", slug as "slug!", name as "name!" from lookup.org_by_sso_connection($1)"#,
        connection_id
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| OrgSummary {
        org_id: OrgId(r.org_id),
        slug: r.slug,
        name: r.name,
    }))
}

/// An invitation as found by the hash of its token.
#[derive(Clone, Debug)]
pub struct InvitationByToken {
    pub org_id: OrgId,
    pub invitation_id: crate::ids::InvitationId,
    pub email: String,
    pub role: crate::roles::Role,
    pub expires_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub invited_by_user_id: Option<UserId>,
    pub org_slug: String,
    pub org_name: String,
    pub inviter_name: Option<String>,
    pub inviter_email: Option<String>,
}

pub async fn invitation_by_token_hash(
    db: &Db,
    token_hash: &[u8],
) -> Result<Option<InvitationByToken>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select org_id as "org_id!", invitation_id as "invitation_id!", email as "email!",
               role as "role!: crate::roles::Role", expires_at as "expires_at!", accepted_at, revoked_at,
               invited_by_user_id, org_slug as "org_slug!", org_name as "org_name!",
               inviter_name, inviter_email
        from lookup.invitation_by_token_hash($1)
        "#,
        token_hash
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| InvitationByToken {
        org_id: OrgId(r.org_id),
        invitation_id: crate::ids::InvitationId(r.invitation_id),
        email: r.email,
        role: r.role,
        expires_at: r.expires_at,
        accepted_at: r.accepted_at,
        revoked_at: r.revoked_at,
        invited_by_user_id: r.invited_by_user_id.map(UserId),
        org_slug: r.org_slug,
        org_name: r.org_name,
        inviter_name: r.inviter_name,
        inviter_email: r.inviter_email,
    }))
}

/// The organization that used to be at `slug`, for a moved login link.
pub async fn org_by_previous_slug(db: &Db, slug: &str) -> Result<Option<OrgSummary>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select org_id as "org_id!", slug as "slug!", name as "name!" from lookup.org_by_previous_slug($1)"#,
        slug
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| OrgSummary {
        org_id: OrgId(r.org_id),
        slug: r.slug,
        name: r.name,
    }))
}

/// A user token as found by its hash and purpose.
#[derive(Clone, Debug)]
pub struct AuthTokenOwner {
    pub user_id: UserId,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

pub async fn auth_token(
    db: &Db,
    token_hash: &[u8],
    purpose: &str,
) -> Result<Option<AuthTokenOwner>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select user_id as "user_id!", expires_at as "expires_at!", used_at from lookup.auth_token($1, $2)"#,
        token_hash,
        purpose
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| AuthTokenOwner {
        user_id: UserId(r.user_id),
        expires_at: r.expires_at,
        used_at: r.used_at,
    }))
}
