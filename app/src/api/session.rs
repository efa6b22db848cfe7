//! Read-only server functions behind the sign-in pages and the app frame.

use crate::{error::AppError, roles::Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::context::{Ctx, in_org, member, member_of, session_error, with_ctx},
    crate::{
        domain::{accounts, mail, members, session, tenancy::UserScope, tenancy::lookup},
        roles::Permission,
    },
};

/// An organization the viewer belongs to, with their role there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgChoice {
    pub slug: String,
    pub name: String,
    pub role: Role,
}

#[cfg(feature = "ssr")]
impl From<crate::domain::accounts::Membership> for OrgChoice {
    fn from(m: crate::domain::accounts::Membership) -> Self {
        OrgChoice {
            slug: m.slug,
            name: m.name,
            role: m.role,
        }
    }
}

/// The signed-in member, for the app frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub display_name: String,
    pub email: String,
    pub org_slug: String,
    pub org_name: String,
    pub role: Role,
    /// The viewer's other organizations, for the switcher.
    pub other_orgs: Vec<OrgChoice>,
}

/// The member signed in to the organization at `slug`. `Unauthenticated`
/// when there is no valid session for that organization.
#[server(prefix = "/api", endpoint = "session/viewer")]
pub async fn get_viewer(slug: String) -> Result<Viewer, AppError> {
    with_ctx(async move |ctx| {
        let (tx, current) = member_of(&ctx, &slug, Permission::ViewWorkspace).await?;
        let actor = tx.actor().clone();
        let org = tx.org().clone();
        // The switcher lists the member's other organizations, which only
        // their own user scope sees; the same transaction moves there.
        let mut user_tx = tx.into_user_scope().await?;
        let others = accounts::memberships(&mut user_tx).await?;
        user_tx.commit().await?;
        Ok(Viewer {
            display_name: actor.display_name,
            email: actor.email,
            org_slug: org.slug,
            org_name: org.name,
            role: actor.role,
            other_orgs: others
                .into_iter()
                .filter(|o| o.org_id != current.org_id)
                .map(OrgChoice::from)
                .collect(),
        })
    })
    .await
}

/// What an organization's login page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgLogin {
    pub slug: String,
    pub name: String,
    /// Already signed in to this organization.
    pub signed_in_here: bool,
    /// Signed in to another organization, whose name this is; signing in
    /// here ends that session.
    pub signed_in_elsewhere: Option<String>,
    /// Arriving from a switch: the org being left.
    pub switching_from: Option<String>,
    /// The organization left this URL name; this is its current one.
    pub moved_to: Option<String>,
    /// "Continue with single sign-on" is offered.
    pub sso_enabled: bool,
    /// Single sign-on is the only way in (owners keep a break-glass path).
    pub sso_enforced: bool,
}

#[server(prefix = "/api", endpoint = "session/org_login")]
pub async fn get_org_login(slug: String) -> Result<OrgLogin, AppError> {
    with_ctx(async move |ctx| {
        let Some(org) = lookup::org_by_slug(ctx.db(), slug.trim()).await? else {
            // Not a current URL name; perhaps one the organization left.
            let moved = lookup::org_by_previous_slug(ctx.db(), slug.trim())
                .await?
                .ok_or(AppError::NotFound)?;
            return Ok(OrgLogin {
                slug: slug.trim().to_string(),
                name: moved.name,
                signed_in_here: false,
                signed_in_elsewhere: None,
                switching_from: None,
                moved_to: Some(moved.slug),
                sso_enabled: false,
                sso_enforced: false,
            });
        };
        let mut signed_in_here = false;
        let mut signed_in_elsewhere = None;
        if let Some(current) = session::org_session(&ctx.session)
            .await
            .map_err(session_error)?
            && let Ok((tx, _)) = member(&ctx, Permission::ViewWorkspace).await
        {
            if current.org_id == org.org_id {
                signed_in_here = true;
            } else {
                signed_in_elsewhere = Some(tx.org().name.clone());
            }
        }
        let switching_from = session::switch_intent(&ctx.session)
            .await
            .map_err(session_error)?
            .filter(|i| i.to_org == org.org_id)
            .map(|i| i.from_org_name);
        let sso = crate::domain::auth::sso_policy(ctx.db(), org.org_id).await?;
        Ok(OrgLogin {
            slug: org.slug,
            name: org.name,
            signed_in_here,
            signed_in_elsewhere,
            switching_from,
            moved_to: None,
            sso_enabled: sso.enabled,
            sso_enforced: sso.enforced,
        })
    })
    .await
}

/// The org picker: the organizations of a user who just authenticated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picker {
    pub display_name: String,
    pub email: String,
    pub orgs: Vec<OrgChoice>,
}

#[server(prefix = "/api", endpoint = "session/picker")]
pub async fn get_picker() -> Result<Picker, AppError> {
    with_ctx(async move |ctx| {
        let pending = session::live_pending(ctx.db(), &ctx.session, &ctx.state.settings.session)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let mut tx = UserScope::begin(ctx.db(), pending.user_id).await?;
        let me = accounts::profile(&mut tx).await?;
        let orgs = accounts::memberships(&mut tx).await?;
        tx.commit().await?;
        Ok(Picker {
            display_name: me.display_name,
            email: me.email,
            orgs: orgs.into_iter().map(OrgChoice::from).collect(),
        })
    })
    .await
}

/// Whether the visitor may create an organization right now (signed in, or
/// just authenticated).
#[server(prefix = "/api", endpoint = "session/can_create_org")]
pub async fn can_create_org() -> Result<bool, AppError> {
    with_ctx(async move |ctx| {
        let fresh_pending =
            session::live_pending(ctx.db(), &ctx.session, &ctx.state.settings.session)
                .await?
                .is_some();
        Ok(fresh_pending || member(&ctx, Permission::ViewWorkspace).await.is_ok())
    })
    .await
}

/// The organization's home page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgHome {
    pub org_name: String,
    pub role: Role,
    pub member_count: i64,
    pub signed_in_with: String,
    pub signed_in_at: i64,
}

#[server(prefix = "/api", endpoint = "session/org_home")]
pub async fn get_org_home(slug: String) -> Result<OrgHome, AppError> {
    in_org(&slug, Permission::ViewWorkspace, async |ctx, tx| {
        let current = session::org_session(&ctx.session)
            .await
            .map_err(session_error)?
            .ok_or(AppError::Unauthenticated)?;
        Ok(OrgHome {
            org_name: tx.org().name.clone(),
            role: tx.actor().role,
            member_count: members::count(tx).await?,
            signed_in_with: format!(
                "{}{}",
                match current.method {
                    session::AuthMethod::Password => "your password",
                    session::AuthMethod::EmailLink => "an emailed link",
                    session::AuthMethod::Sso => "single sign-on",
                },
                if current.second_factor {
                    " and a second-step code"
                } else {
                    ""
                }
            ),
            signed_in_at: current.authenticated_at,
        })
    })
    .await
}

/// One message of the local outbox, for the development mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub queued_at: i64,
    pub status: String,
}

/// The newest mails in the outbox: in development with no SMTP server this
/// is where mail can be read. Never in production, never once mail really
/// goes out, and only for a client on this machine (the mails hold live
/// sign-in links).
#[server(prefix = "/api", endpoint = "dev/mailbox")]
pub async fn dev_mailbox() -> Result<Vec<OutboxMail>, AppError> {
    with_ctx(async move |ctx| {
        if !mailbox_open(&ctx) {
            return Err(AppError::NotFound);
        }
        let rows = mail::recent(ctx.db(), 50).await?;
        Ok(rows
            .into_iter()
            .map(|r| OutboxMail {
                status: r.status(),
                to: r.to_address,
                subject: r.subject,
                text: r.body_text,
                queued_at: r.created_at.unix_timestamp(),
            })
            .collect())
    })
    .await
}

/// Whether the development mailbox is there for this client (pages point
/// to it after sending mail).
#[server(prefix = "/api", endpoint = "session/dev_mode")]
pub async fn dev_mode() -> Result<bool, AppError> {
    with_ctx(async |ctx| Ok(mailbox_open(&ctx))).await
}

#[cfg(feature = "ssr")]
fn mailbox_open(ctx: &Ctx) -> bool {
    let settings = &ctx.state.settings;
    !settings.environment.is_production()
        && settings.dev_mailbox
        && ctx.meta.ip.is_some_and(|ip| ip.is_loopback())
}
