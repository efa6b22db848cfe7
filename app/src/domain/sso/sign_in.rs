//! Who an SSO sign-in lets in. The provider's email must be verified (or the
//! connection set to trust it). A member with that email is linked and let
//! in; anyone else — an existing user who is not a member, or a new person —
//! gets just-in-time membership, with the connection's default role, only if
//! the email's domain is one of the org's verified domains.

use super::{connection::Connection, domains, oidc::Claims};
use crate::{
    audit::AuditAction,
    domain::{
        accounts::{CreateUserError, NewUser, create_user},
        audit::{self, Event, Target},
        db::Db,
        request::RequestMeta,
        tenancy::{Tenant, TenantError, UserScope, lookup},
    },
    error::AppError,
    ids::{OrgId, UserId},
    validation::{DisplayName, Email},
};

/// Why a validated SSO identity was still not let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    EmailMissing,
    EmailUnverified,
    /// Not a member, and the email's domain is not a verified domain of
    /// the organization.
    DomainNotVerified,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::EmailMissing => "email_missing",
            Refusal::EmailUnverified => "email_unverified",
            Refusal::DomainNotVerified => "domain_not_verified",
        }
    }
}

/// Admits the identity into `org_id`, creating the user and/or membership
/// when the rules allow. Returns the user to sign in.
pub async fn admit(
    db: &Db,
    meta: &RequestMeta,
    org_id: OrgId,
    connection: &Connection,
    claims: &Claims,
) -> Result<Result<UserId, Refusal>, AppError> {
    let Some(email) = claims.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
        return Ok(Err(Refusal::EmailMissing));
    };
    if claims.email_verified != Some(true) && !connection.trust_unverified_email {
        return Ok(Err(Refusal::EmailUnverified));
    }
    let existing = lookup::user_for_sign_in(db, email.as_str()).await?;
    if let Some(user) = &existing {
        match Tenant::begin(db, org_id, user.user_id).await {
            Ok(tx) => {
                drop(tx);
                if claims.email_verified == Some(true) {
                    mark_verified(db, user.user_id).await?;
                }
                return Ok(Ok(user.user_id));
            }
            Err(TenantError::NotAMember) => {}
            Err(TenantError::Database(e)) => return Err(e.into()),
        }
    }

    // Just-in-time membership: only for a verified domain of this org.
    let mut check = Tenant::begin_without_membership(db, org_id, None).await?;
    let verified = domains::is_verified(&mut check, email.domain()).await?;
    drop(check);
    if !verified {
        return Ok(Err(Refusal::DomainNotVerified));
    }
    let (mut tx, user_id) = match existing {
        Some(user) => {
            if claims.email_verified == Some(true) {
                mark_verified(db, user.user_id).await?;
            }
            (
                Tenant::begin_without_membership(db, org_id, Some(user.user_id)).await?,
                user.user_id,
            )
        }
        None => {
            let name = claims
                .name
                .as_deref()
                .and_then(|n| DisplayName::parse(n).ok())
                .or_else(|| {
                    DisplayName::parse(email.as_str().split('@').next().unwrap_or_default()).ok()
                })
                .ok_or(AppError::Internal)?;
            let new_user = NewUser {
                email: email.clone(),
                display_name: name,
                password_hash: None,
                email_verified: claims.email_verified == Some(true),
            };
            match create_user(db, &new_user).await {
                Ok(user_tx) => {
                    let user_id = user_tx.user_id();
                    (user_tx.enter_org_without_membership(org_id).await?, user_id)
                }
                // Created a moment ago by a concurrent sign-in: start over.
                Err(CreateUserError::EmailTaken) => {
                    return Err(AppError::Conflict("Please try signing in again.".into()));
                }
                Err(CreateUserError::Database(e)) => return Err(e.into()),
            }
        }
    };
    let added = sqlx::query!(
        "insert into membership (org_id, user_id, role) values ($1, $2, $3) on conflict (org_id, user_id) do nothing",
        org_id.0,
        user_id.0,
        connection.default_role.as_str()
    )
    .execute(tx.conn())
    .await?;
    if added.rows_affected() == 1 {
        audit::record(
            &mut tx,
            meta,
            Event::new(AuditAction::MemberJoinedViaSso)
                .actor(Some(user_id), Some(email.as_str().to_string()))
                .target(Target::user(user_id, email.as_str()))
                .details(serde_json::json!({ "email": email.as_str(), "role": connection.default_role.as_str() })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(user_id))
}

/// The provider verified the address, so it counts as verified here too.
async fn mark_verified(db: &Db, user_id: UserId) -> Result<(), sqlx::Error> {
    let mut tx = UserScope::begin(db, user_id).await?;
    sqlx::query!(
        "update app_user set email_verified_at = now() where user_id = $1 and email_verified_at is null",
        user_id.0
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await
}
