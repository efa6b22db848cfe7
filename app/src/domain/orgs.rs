//! Organizations: creating one with its first owner, adding members.

use super::{
    audit::{self, Event, Target},
    db::violated_constraint,
    request::RequestMeta,
    tenancy::{OrgTx, TenantError, UserTx},
};
use crate::{
    audit::AuditAction,
    ids::{OrgId, UserId},
    roles::Role,
    validation::{OrgName, OrgSlug},
};

#[derive(Debug, thiserror::Error)]
pub enum CreateOrgError {
    /// Another organization already uses this URL name.
    #[error("that URL name is taken")]
    SlugTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<TenantError> for CreateOrgError {
    fn from(error: TenantError) -> Self {
        match error {
            TenantError::Database(e) => CreateOrgError::Database(e),
            // The owner membership was inserted in this very transaction.
            TenantError::NotAMember => CreateOrgError::Database(sqlx::Error::RowNotFound),
        }
    }
}

/// Creates an organization with the transaction's user as its owner, records
/// `org.created`, and returns the transaction now inside the new org.
pub async fn create_organization(
    tx: UserTx,
    name: &OrgName,
    slug: &OrgSlug,
    meta: &RequestMeta,
) -> Result<OrgTx, CreateOrgError> {
    let owner = tx.user_id();
    let org_id = OrgId::generate();
    let mut tx = tx.enter_org_without_membership(org_id).await?;
    let inserted = sqlx::query!(
        "insert into organization (org_id, slug, name) values ($1, $2, $3)",
        org_id.0,
        slug.as_str(),
        name.as_str(),
    )
    .execute(tx.conn())
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if violated_constraint(&e) == Some("organization_slug_key") => {
            return Err(CreateOrgError::SlugTaken);
        }
        Err(e) => return Err(e.into()),
    }
    sqlx::query!(
        "insert into membership (org_id, user_id, role) values ($1, $2, 'owner')",
        org_id.0,
        owner.0,
    )
    .execute(tx.conn())
    .await?;
    tx.act_as_member(owner).await?;
    audit::record(
        &mut tx,
        meta,
        Event::new(AuditAction::OrgCreated)
            .target(Target::organization(org_id, name.as_str()))
            .details(serde_json::json!({ "slug": slug.as_str() })),
    )
    .await?;
    Ok(tx)
}

/// Adds `user_id` to the transaction's organization with `role`, recording
/// `member.added`. The caller has checked that the actor may do this.
pub async fn add_member(
    tx: &mut OrgTx,
    user_id: UserId,
    email: &str,
    role: Role,
    meta: &RequestMeta,
    details: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into membership (org_id, user_id, role) values ($1, $2, $3)",
        tx.org_id().0,
        user_id.0,
        role.as_str(),
    )
    .execute(tx.conn())
    .await?;
    let mut details = details;
    if let Some(map) = details.as_object_mut() {
        map.insert("role".into(), role.as_str().into());
    }
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::MemberAdded)
            .target(Target::user(user_id, email))
            .details(details),
    )
    .await
}
