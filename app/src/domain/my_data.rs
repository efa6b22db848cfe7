//! "My data": everything the service keeps about a person, as one JSON
//! document they download from their account page — the account, their
//! memberships, sessions and single sign-on links, and the audit events
//! they are the actor of, across their organizations. Read in their own
//! user scope (and, for each organization's events, pointed at that
//! organization), so it reads no other person's records; events the
//! person acted in still name their targets. No secret is in it (no
//! password hash, authenticator secret or recovery code).

use super::tenancy::UserTx;
use serde_json::{Value, json};

/// Events per organization the document carries, newest first; an
/// organization with more is listed under `audit_events_truncated`.
pub const EVENTS_PER_ORG: i64 = 10_000;

/// The document for the transaction's user.
#[tracing::instrument(skip_all, fields(user_id = %tx.user_id()))]
pub async fn export(tx: &mut UserTx) -> Result<Value, sqlx::Error> {
    let user_id = tx.user_id();
    let account = sqlx::query_scalar!(
        r#"
        select json_build_object(
            'user_id', u.user_id, 'email', u.email, 'name', u.display_name,
            'email_verified_at', u.email_verified_at, 'created_at', u.created_at,
            'has_password', u.has_password,
            'authenticator_app_since', (select confirmed_at from user_totp t where t.user_id = u.user_id),
            'recovery_codes_left', (select count(*) from recovery_code r
                                     where r.user_id = u.user_id and r.used_at is null)
        ) as "doc!"
        from app_user u where u.user_id = $1
        "#,
        user_id.0
    )
    .fetch_one(tx.conn())
    .await?;
    let memberships = sqlx::query_scalar!(
        r#"
        select coalesce(json_agg(json_build_object(
            'org_id', o.org_id, 'organization', o.name, 'url_name', o.slug, 'role', m.role,
            'joined_at', m.created_at, 'last_sign_in_at', m.last_sign_in_at
        ) order by o.name), '[]') as "doc!"
        from membership m join organization o using (org_id)
        where m.user_id = $1
        "#,
        user_id.0
    )
    .fetch_one(tx.conn())
    .await?;
    let sessions = sqlx::query_scalar!(
        r#"
        select coalesce(json_agg(json_build_object(
            'organization', o.name, 'session_id', s.session_id, 'method', s.method,
            'second_factor', s.second_factor, 'signed_in_at', s.authenticated_at,
            'last_seen_at', s.last_seen_at, 'client_address', host(s.client_ip),
            'user_agent', s.user_agent, 'ended_at', s.ended_at, 'ended_reason', s.ended_reason
        ) order by s.authenticated_at desc), '[]') as "doc!"
        from user_session s join organization o using (org_id)
        where s.user_id = $1
        "#,
        user_id.0
    )
    .fetch_one(tx.conn())
    .await?;
    let identities = sqlx::query_scalar!(
        r#"
        select coalesce(json_agg(json_build_object(
            'organization', o.name, 'issuer', i.issuer, 'subject', i.subject,
            'linked_by', i.linked_by, 'linked_at', i.created_at,
            'last_sign_in_at', i.last_sign_in_at
        ) order by o.name, i.created_at), '[]') as "doc!"
        from sso_identity i join organization o using (org_id)
        where i.user_id = $1
        "#,
        user_id.0
    )
    .fetch_one(tx.conn())
    .await?;

    let mut events = Vec::new();
    let mut truncated = Vec::new();
    for org in tx.own_orgs(None).await? {
        tx.point_at(Some(&org)).await?;
        let rows = sqlx::query!(
            r#"
            select o.name as organization,
                   coalesce(json_agg(e.doc order by e.occurred_at desc), '[]') as "events!"
            from organization o
            left join lateral (
                select a.occurred_at, json_build_object(
                    'occurred_at', a.occurred_at, 'action', a.action,
                    'target_type', a.target_type, 'target', a.target_label,
                    'client_address', host(a.ip_address), 'user_agent', a.user_agent,
                    'details', a.details
                ) as doc
                from audit_event a
                where a.org_id = o.org_id and a.actor_user_id = $2
                order by a.occurred_at desc, a.audit_event_id desc
                limit $3
            ) e on true
            where o.org_id = $1
            group by o.name
            "#,
            org.org_id().0,
            user_id.0,
            EVENTS_PER_ORG + 1,
        )
        .fetch_one(tx.conn())
        .await?;
        let mut list = match rows.events {
            Value::Array(list) => list,
            _ => Vec::new(),
        };
        // The left join gives one null row to an organization with none.
        list.retain(|e| !e.is_null());
        if list.len() as i64 > EVENTS_PER_ORG {
            list.truncate(EVENTS_PER_ORG as usize);
            truncated.push(Value::String(rows.organization.clone()));
        }
        events.push(json!({ "organization": rows.organization, "events": list }));
    }
    tx.point_at(None).await?;

    Ok(json!({
        "format": "trellis-my-data/1",
        "exported_at": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "account": account,
        "memberships": memberships,
        "sessions": sessions,
        "single_sign_on_identities": identities,
        "audit_events": events,
        "audit_events_truncated": truncated,
    }))
}
