//! Organizations: creating one with its first owner, adding members.

use super::{
    audit::{self, Event, Target},
    db::violated_constraint,
    request::RequestMeta,
    tenancy::{MemberTx, OrgTx, TenantError, UserTx},
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
            TenantError::NotAMember | TenantError::SessionEnded => {
                CreateOrgError::Database(sqlx::Error::RowNotFound)
            }
        }
    }
}

/// Creates an organization with the transaction's user as its owner, records
/// `org.created`, and returns the transaction now inside the new org.
#[tracing::instrument(skip_all)]
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

/// Why an organization setting was not changed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("that URL name is taken")]
    SlugTaken,
    #[error("the typed name does not match")]
    NameMismatch,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<SettingsError> for crate::error::AppError {
    #[track_caller]
    fn from(error: SettingsError) -> Self {
        use crate::error::AppError;
        match error {
            SettingsError::SlugTaken => {
                AppError::field("new_slug", "That URL name is taken. Try another one.")
            }
            SettingsError::NameMismatch => AppError::field(
                "confirm_name",
                "Type the organization's name exactly as shown to confirm.",
            ),
            SettingsError::Database(e) => e.into(),
        }
    }
}

/// The transaction's organization (none once it is deleted).
pub async fn summary(
    tx: &mut OrgTx,
) -> Result<Option<super::tenancy::lookup::OrgSummary>, sqlx::Error> {
    let org_id = tx.org_id();
    let row = sqlx::query!(
        "select slug, name from organization where org_id = $1",
        org_id.0
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| super::tenancy::lookup::OrgSummary {
        org_id,
        slug: r.slug,
        name: r.name,
    }))
}

async fn current(tx: &mut OrgTx) -> Result<(String, String), sqlx::Error> {
    let row = sqlx::query!(
        "select name, slug from organization where org_id = $1 for update",
        tx.org_id().0
    )
    .fetch_one(tx.conn())
    .await?;
    Ok((row.name, row.slug))
}

/// Renames the organization. Returns whether the name changed.
#[tracing::instrument(skip_all)]
pub async fn rename(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    name: &OrgName,
) -> Result<bool, sqlx::Error> {
    let (old, _) = current(tx).await?;
    if old == name.as_str() {
        return Ok(false);
    }
    sqlx::query!(
        "update organization set name = $2 where org_id = $1",
        tx.org_id().0,
        name.as_str()
    )
    .execute(tx.conn())
    .await?;
    let org_id = tx.org_id();
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::OrgRenamed)
            .target(Target::organization(org_id, name.as_str()))
            .details(serde_json::json!({ "from": old, "to": name.as_str() })),
    )
    .await?;
    Ok(true)
}

/// Whether the organization requires two-step sign-in of its members.
pub async fn mfa_required(tx: &mut OrgTx) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        "select mfa_required from organization where org_id = $1",
        tx.org_id().0
    )
    .fetch_one(tx.conn())
    .await
}

/// Requires (or stops requiring) two-step sign-in. Every session in the
/// organization that signed in without a second step ends at once (the
/// caller's own, `keep`, excepted: they just confirmed it was them), so
/// the next sign-in asks for it; members who have no second factor are led
/// to set one up then. Each member is told by mail. Returns whether
/// anything changed.
#[tracing::instrument(skip_all)]
pub async fn set_mfa_required(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    base_url: &str,
    required: bool,
    keep: uuid::Uuid,
) -> Result<bool, sqlx::Error> {
    if mfa_required(tx).await? == required {
        return Ok(false);
    }
    sqlx::query!(
        "update organization set mfa_required = $2 where org_id = $1",
        tx.org_id().0,
        required
    )
    .execute(tx.conn())
    .await?;
    if !required {
        audit::record(tx, meta, Event::new(AuditAction::MfaOptional)).await?;
        return Ok(true);
    }
    let ended = sqlx::query_scalar!(
        r#"with ended as (
               update user_session set ended_at = now(), ended_reason = 'mfa_required'
               where org_id = $1 and ended_at is null and not second_factor
                 and session_id <> $2
               returning 1
           )
           select count(*) as "count!" from ended"#,
        tx.org_id().0,
        keep,
    )
    .fetch_one(tx.conn())
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::MfaRequired)
            .details(serde_json::json!({ "sessions_ended": ended })),
    )
    .await?;
    {
        let org_name = tx.org().name.clone();
        let org_id = tx.org_id();
        let actor = tx.actor().display_name.clone();
        let members = sqlx::query!(
            r#"select u.email, u.display_name, u.second_factor_at is not null as "has_factor!"
               from membership m join app_user u using (user_id) where m.org_id = $1"#,
            org_id.0
        )
        .fetch_all(tx.conn())
        .await?;
        let link = format!("{base_url}/account");
        for m in members {
            let mail = super::mail::mfa_required(
                &m.email,
                &m.display_name,
                &org_name,
                &actor,
                m.has_factor,
                link.clone(),
            );
            super::mail::enqueue(tx.conn(), &mail).await?;
        }
    }
    Ok(true)
}

/// How many days audit events are kept (`None`: forever).
pub async fn audit_retention(tx: &mut OrgTx) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        "select audit_retention_days from organization where org_id = $1",
        tx.org_id().0
    )
    .fetch_one(tx.conn())
    .await
}

/// Sets how long audit events are kept; the maintenance job removes older
/// ones (recording that it did). Returns whether anything changed.
#[tracing::instrument(skip_all)]
pub async fn set_audit_retention(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    days: Option<i32>,
) -> Result<bool, sqlx::Error> {
    let old = audit_retention(tx).await?;
    if old == days {
        return Ok(false);
    }
    sqlx::query!(
        "update organization set audit_retention_days = $2 where org_id = $1",
        tx.org_id().0,
        days
    )
    .execute(tx.conn())
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::AuditRetentionChanged)
            .details(serde_json::json!({ "from_days": old, "to_days": days })),
    )
    .await?;
    Ok(true)
}

/// Moves the organization to a new URL name. The old one keeps answering
/// with a page that points to the new login link.
#[tracing::instrument(skip_all)]
pub async fn change_slug(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    slug: &OrgSlug,
) -> Result<bool, SettingsError> {
    let (name, old) = current(tx).await?;
    if old == slug.as_str() {
        return Ok(false);
    }
    let org_id = tx.org_id();
    let moved = sqlx::query!(
        "update organization set slug = $2 where org_id = $1",
        org_id.0,
        slug.as_str()
    )
    .execute(tx.conn())
    .await;
    match moved {
        Ok(_) => {}
        Err(e) if violated_constraint(&e) == Some("organization_slug_key") => {
            return Err(SettingsError::SlugTaken);
        }
        Err(e) => return Err(e.into()),
    }
    // Taking back an old name drops its pointer; the name just left gets one.
    sqlx::query!(
        "delete from org_slug_redirect where org_id = $1 and old_slug = $2",
        org_id.0,
        slug.as_str()
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "insert into org_slug_redirect (org_id, old_slug) values ($1, $2)
         on conflict (org_id, old_slug) do update set created_at = now()",
        org_id.0,
        old
    )
    .execute(tx.conn())
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::OrgSlugChanged)
            .target(Target::organization(org_id, &name))
            .details(serde_json::json!({ "from": old, "to": slug.as_str() })),
    )
    .await?;
    Ok(true)
}

/// Deletes the organization and everything it owns (memberships,
/// invitations, SSO settings, its audit log), once `typed_name` matches its
/// name exactly. The organization's own audit log goes with it, so the
/// deletion is recorded in `deleted_organization`, in the same transaction.
#[tracing::instrument(skip_all)]
pub async fn delete(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    typed_name: &str,
) -> Result<String, SettingsError> {
    let (name, slug) = current(tx).await?;
    if typed_name.trim() != name {
        return Err(SettingsError::NameMismatch);
    }
    let org_id = tx.org_id();
    let actor = match tx.actor() {
        Some(a) => (Some(a.user_id), Some(a.email.clone())),
        None => (None, None),
    };
    remove(tx.conn(), meta, org_id, &slug, &name, actor).await?;
    Ok(name)
}

/// Deletes the organization the connection's context is in, leaving its
/// tombstone (`deleted_organization`: who, when, how much) and telling the
/// audit log's append-only trigger that its events go with it. For
/// [`delete`], and for an account deleted by its organization's only
/// member.
pub(super) async fn remove(
    conn: &mut sqlx::PgConnection,
    meta: &RequestMeta,
    org_id: OrgId,
    slug: &str,
    name: &str,
    (actor_user_id, actor_email): (Option<UserId>, Option<String>),
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into deleted_organization (deleted_org_id, slug, name, actor_user_id, actor_email,
                                          ip_address, user_agent, details)
        values ($1, $2, $3, $4, $5, $6, $7, jsonb_build_object(
            'members', (select count(*) from membership where org_id = $1),
            'audit_events', (select count(*) from audit_event where org_id = $1)))
        "#,
        org_id.0,
        slug,
        name,
        actor_user_id.map(|u| u.0),
        actor_email,
        meta.ip.map(sqlx::types::ipnetwork::IpNetwork::from),
        meta.user_agent.as_deref(),
    )
    .execute(&mut *conn)
    .await?;
    // Announces the deletion to the audit log's append-only trigger.
    sqlx::query!(
        r#"select set_config('app.deleting_org_id', $1, true) as "done!""#,
        org_id.to_string()
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("delete from organization where org_id = $1", org_id.0)
        .execute(&mut *conn)
        .await?;
    tracing::info!(org_id = %org_id, org_slug = %slug, org_name = %name,
        actor = %actor_email.unwrap_or_default(), "organization deleted");
    Ok(())
}
