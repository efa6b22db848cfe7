//! Server functions of the audit page (owners and admins read; owners set
//! the retention). The CSV export is a plain route in the server crate,
//! built on [`parse_filter`] and `domain::audit_view`.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::context::{in_org, in_org_confirmed},
    super::navigation::redirect,
    crate::{
        audit::ActionGroup,
        domain::{
            audit_view::{self, Cursor, Filter},
            orgs,
        },
        roles::Permission,
    },
};

/// One event as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    /// RFC 3339, UTC (the browser shows it in the viewer's time zone).
    pub at: String,
    /// "2026-11-21 14:03 UTC", for pages without JavaScript.
    pub at_utc: String,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub sentence: String,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The details, pretty-printed JSON.
    pub details: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    /// The cursor of the next (older) page.
    pub next: Option<String>,
    pub retention_days: Option<i32>,
    pub can_set_retention: bool,
}

/// Rows per page.
pub const PAGE_SIZE: usize = 50;

/// Turns the query-string filter into a [`Filter`], naming the field at
/// fault. Dates are whole UTC days; `to` includes its day.
#[cfg(feature = "ssr")]
pub fn parse_filter(
    group: &Option<String>,
    actor: &Option<String>,
    from: &Option<String>,
    to: &Option<String>,
) -> Result<Filter, AppError> {
    let mut v = crate::error::Validator::new();
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let group = match clean(group) {
        None => None,
        Some(code) => {
            let parsed = ActionGroup::from_code(&code);
            if parsed.is_none() {
                v.add("group", "Choose one of the listed kinds of event.");
            }
            parsed
        }
    };
    let actor = clean(actor);
    if actor.as_ref().is_some_and(|a| a.chars().count() > 200) {
        v.add(
            "actor",
            "That is too long to be a name or an email address.",
        );
    }
    let date = |field: &'static str, value: Option<String>, v: &mut crate::error::Validator| {
        let value = value?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        match time::Date::parse(&value, &format) {
            Ok(date) => Some(date.midnight().assume_utc()),
            Err(_) => {
                v.add(field, "Enter a date as YYYY-MM-DD.");
                None
            }
        }
    };
    let from_at = date("from", clean(from), &mut v);
    let to_at = date("to", clean(to), &mut v).map(|d| d + time::Duration::days(1));
    if let (Some(f), Some(t)) = (from_at, to_at)
        && f >= t
    {
        v.add("to", "The end date must not be before the start date.");
    }
    v.finish()?;
    Ok(Filter {
        group,
        actor,
        from: from_at,
        to: to_at,
    })
}

#[server(prefix = "/api", endpoint = "audit/page")]
pub async fn get_audit(
    slug: String,
    group: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
) -> Result<AuditPage, AppError> {
    in_org(&slug, Permission::ViewAudit, async |_, tx| {
        let filter = parse_filter(&group, &actor, &from, &to)?;
        let after = match before.as_deref().filter(|b| !b.is_empty()) {
            Some(text) => Some(
                Cursor::decode(text)
                    .ok_or_else(|| AppError::field("before", "That page link is broken."))?,
            ),
            None => None,
        };
        let (rows, next) = audit_view::page(tx, &filter, after, PAGE_SIZE).await?;
        let retention_days = orgs::audit_retention(tx).await?;
        let can_set_retention = tx.actor().role.can(Permission::ManageOrganization);
        let utc = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
        Ok(AuditPage {
            rows: rows
                .into_iter()
                .map(|r| AuditRow {
                    id: r.audit_event_id.to_string(),
                    at: r
                        .occurred_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    at_utc: r.occurred_at.format(&utc).unwrap_or_default(),
                    sentence: r.sentence(),
                    target: r.target_label.clone(),
                    details: serde_json::to_string_pretty(&r.details).unwrap_or_default(),
                    actor_name: r.actor_name,
                    actor_email: r.actor_email,
                    action: r.action,
                    ip: r.ip_address,
                    user_agent: r.user_agent,
                })
                .collect(),
            next: next.map(|c| c.encode()),
            retention_days,
            can_set_retention,
        })
    })
    .await
}

/// Sets how long events are kept: a number of days, or empty for forever.
#[server(prefix = "/api", endpoint = "audit/retention")]
pub async fn set_audit_retention(
    slug: String,
    days: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    let keep = [("days", days.as_str())];
    let confirm = reauth.as_deref();
    in_org_confirmed(&slug, Permission::ManageOrganization, confirm, &keep, async |ctx, tx| {
        let parsed = match days.trim() {
            "" | "forever" => None,
            text => match text.parse::<i32>() {
                Ok(n) if (1..=3650).contains(&n) => Some(n),
                _ => {
                    return Err(AppError::field("days", "Enter a number of days from 1 to 3650, or leave it empty to keep events forever.")
                        .keeping(&keep));
                }
            },
        };
        let changed = orgs::set_audit_retention(tx, &ctx.meta, parsed).await?;
        let notice = if changed { "retention" } else { "unchanged" };
        redirect(&format!("/o/{}/audit?notice={notice}", slug.trim()));
        Ok(())
    })
    .await
}
