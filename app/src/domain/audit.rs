//! Writing audit events. Every state change records its event through the
//! same [`OrgTx`] that makes the change, so both commit or neither does.

use super::{
    request::RequestMeta,
    tenancy::{OrgTx, UserTx},
};
use crate::{
    audit::AuditAction,
    ids::{OrgId, UserId},
};
use sqlx::{PgConnection, types::ipnetwork::IpNetwork};
use uuid::Uuid;

/// What an event is about: a member, an invitation, a connection, …
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
    /// How the target read at the time (an email, a domain, a name).
    pub label: String,
}

impl Target {
    pub fn user(user_id: UserId, email: &str) -> Self {
        Self {
            kind: "user",
            id: user_id.to_string(),
            label: email.to_string(),
        }
    }

    pub fn organization(org_id: OrgId, name: &str) -> Self {
        Self {
            kind: "organization",
            id: org_id.to_string(),
            label: name.to_string(),
        }
    }
}

/// One audit event, built up before it is recorded.
#[derive(Clone, Debug)]
pub struct Event {
    action: AuditAction,
    target: Option<Target>,
    details: serde_json::Value,
    actor: Option<(Option<UserId>, Option<String>)>,
}

impl Event {
    pub fn new(action: AuditAction) -> Self {
        Self {
            action,
            target: None,
            details: serde_json::json!({}),
            actor: None,
        }
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// Names the actor explicitly, for events without a signed-in member
    /// (a failed sign-in names the email that was tried).
    pub fn actor(mut self, user_id: Option<UserId>, email: Option<String>) -> Self {
        self.actor = Some((user_id, email));
        self
    }
}

/// Records `event` in the organization of `tx`. The actor is the
/// transaction's member unless the event names one.
pub async fn record(tx: &mut OrgTx, meta: &RequestMeta, event: Event) -> Result<(), sqlx::Error> {
    let default_actor = tx.actor().map(|a| (Some(a.user_id), Some(a.email.clone())));
    let org_id = tx.org_id();
    insert(tx.conn(), org_id, default_actor, meta, event).await
}

/// Records `event` in every organization the user belongs to (or only in
/// `only`), with the user as actor: for things that happen to the person
/// rather than to one org (a password reset), which each org's admins
/// should see.
pub async fn record_for_user(
    tx: &mut UserTx,
    meta: &RequestMeta,
    event: Event,
    only: Option<OrgId>,
) -> Result<(), sqlx::Error> {
    let user_id = tx.user_id();
    let email = sqlx::query_scalar!("select email from app_user where user_id = $1", user_id.0)
        .fetch_one(tx.conn())
        .await?;
    for org in tx.own_orgs(only).await? {
        tx.point_at(Some(&org)).await?;
        let actor = Some((Some(user_id), Some(email.clone())));
        insert(tx.conn(), org.org_id(), actor, meta, event.clone()).await?;
    }
    tx.point_at(None).await
}

/// Writes one event row. The connection's org context must be `org_id`
/// (the row-level security policy refuses any other).
pub(crate) async fn insert(
    conn: &mut PgConnection,
    org_id: OrgId,
    default_actor: Option<(Option<UserId>, Option<String>)>,
    meta: &RequestMeta,
    event: Event,
) -> Result<(), sqlx::Error> {
    let (actor_user_id, actor_email) = event.actor.or(default_actor).unwrap_or((None, None));
    let (target_type, target_id, target_label) = match event.target {
        Some(t) => (Some(t.kind), Some(t.id), Some(t.label)),
        None => (None, None, None),
    };
    sqlx::query!(
        r#"
        insert into audit_event (org_id, audit_event_id, actor_user_id, actor_email, actor_name, action,
                                 target_type, target_id, target_label, ip_address, user_agent, details)
        values ($1, $2, $3, $4, (select display_name from app_user where user_id = $3), $5, $6, $7, $8, $9,
                $10, $11)
        "#,
        org_id.0,
        Uuid::now_v7(),
        actor_user_id.map(|u| u.0),
        actor_email,
        event.action.code(),
        target_type,
        target_id,
        target_label,
        meta.ip.map(IpNetwork::from),
        meta.user_agent.as_deref(),
        event.details,
    )
    .execute(conn)
    .await?;
    Ok(())
}
