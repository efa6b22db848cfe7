//! Server functions of the members page: the list, pending invitations,
//! inviting, resending and revoking, role changes, removals, leaving.

use crate::{error::AppError, roles::Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::context::{
        act_in_org, confirm_recent, in_org, in_org_confirmed, member_of, session_error, url_encode,
        when, with_ctx,
    },
    super::navigation::redirect,
    crate::{
        domain::{invitations, members, session, sessions},
        ids::{InvitationId, UserId},
        roles::Permission,
    },
};

/// A member as the list shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub joined: String,
    pub last_sign_in: Option<String>,
    /// Has two-step sign-in (a second factor) on their account.
    pub two_step: bool,
}

/// A pending invitation as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub invitation_id: String,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<String>,
    pub expires: String,
    pub expired: bool,
}

/// Everything the members page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub org_name: String,
    pub total: i64,
    pub members: Vec<MemberView>,
    /// Cursor of the next page, if there is one.
    pub next: Option<String>,
    pub invitations: Vec<InvitationView>,
    pub viewer_id: String,
    pub viewer_role: Role,
    /// How many days a new invitation link works.
    pub invitation_days: i64,
}

/// The longest member search accepted (the search box allows no more).
pub const MAX_SEARCH_CHARS: usize = 100;

#[server(prefix = "/api", endpoint = "members/list")]
pub async fn get_members(
    slug: String,
    q: Option<String>,
    after: Option<String>,
) -> Result<MembersPage, AppError> {
    in_org(&slug, Permission::ViewMembers, async |ctx, tx| {
        let role = tx.actor().role;
        let cursor = match after.as_deref().filter(|s| !s.is_empty()) {
            Some(raw) => Some(members::Cursor::decode(raw).ok_or_else(|| {
                AppError::field(
                    "after",
                    "That page link is broken. Start from the first page.",
                )
            })?),
            None => None,
        };
        if q.as_deref()
            .is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS)
        {
            return Err(AppError::field(
                "q",
                format!("Search with at most {MAX_SEARCH_CHARS} characters."),
            ));
        }
        let (rows, next) = members::list(tx, q.as_deref(), cursor).await?;
        let total = members::count(tx).await?;
        let pending = invitations::pending(tx).await?;
        let org_name = tx.org().name.clone();
        let now = time::OffsetDateTime::now_utc();
        Ok(MembersPage {
            org_name,
            total,
            members: rows
                .into_iter()
                .map(|m| MemberView {
                    user_id: m.user_id.to_string(),
                    name: m.display_name,
                    email: m.email,
                    role: m.role,
                    joined: when(m.joined_at),
                    last_sign_in: m.last_sign_in_at.map(when),
                    two_step: m.has_second_factor,
                })
                .collect(),
            next: next.map(|c| c.encode()),
            invitations: pending
                .into_iter()
                .map(|i| InvitationView {
                    invitation_id: i.invitation_id.to_string(),
                    email: i.email,
                    role: i.role,
                    invited_by: i.invited_by,
                    expires: i.expires_at.date().to_string(),
                    expired: i.expires_at <= now,
                })
                .collect(),
            viewer_id: tx.actor().user_id.to_string(),
            viewer_role: role,
            invitation_days: ctx.state.settings.invitation_ttl.whole_days(),
        })
    })
    .await
}

#[cfg(feature = "ssr")]
fn parse_user(user_id: &str) -> Result<UserId, AppError> {
    user_id.trim().parse().map_err(|_| AppError::NotFound)
}

#[cfg(feature = "ssr")]
fn parse_invitation(invitation_id: &str) -> Result<InvitationId, AppError> {
    invitation_id.trim().parse().map_err(|_| AppError::NotFound)
}

#[cfg(feature = "ssr")]
fn notice(slug: &str, code: &str, who: &str) -> String {
    format!("/o/{slug}/members?notice={code}&who={}", url_encode(who))
}

/// Changes a member's role. Granting or taking away owner or admin needs a recent sign-in (`reauth`
/// otherwise); changes between member and viewer do not.
#[server(prefix = "/api", endpoint = "members/change_role")]
pub async fn change_role(
    slug: String,
    user_id: String,
    role: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let keep = [("user_id", user_id.as_str()), ("role", role.as_str())];
        let (mut tx, current) = member_of(&ctx, &slug, Permission::ManageMembers).await?;
        let target = parse_user(&user_id)?;
        let role = Role::parse(&role).map_err(|m| AppError::field("role", m).keeping(&keep))?;
        if members::touches_admin_roles(&mut tx, target, role).await? {
            confirm_recent(&ctx, &tx, &current, reauth.as_deref(), &keep).await?;
        }
        let (_, email) = members::change_role(&mut tx, &ctx.meta, target, role).await?;
        tx.commit().await?;
        redirect(&notice(&slug, "role_changed", &email));
        Ok(())
    })
    .await
}

/// Removes a member; their next request signs them out.
#[server(prefix = "/api", endpoint = "members/remove")]
pub async fn remove_member(
    slug: String,
    user_id: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    let keep = [("user_id", user_id.as_str())];
    in_org_confirmed(
        &slug,
        Permission::ManageMembers,
        reauth.as_deref(),
        &keep,
        async |ctx, tx| {
            let target = parse_user(&user_id)?;
            let email = members::remove(tx, &ctx.meta, target).await?;
            redirect(&notice(&slug, "removed", &email));
            Ok(())
        },
    )
    .await
}

/// The caller leaves the organization; their session there ends.
#[server(prefix = "/api", endpoint = "members/leave")]
pub async fn leave_org(slug: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        act_in_org(&ctx, &slug, Permission::ViewWorkspace, async |ctx, tx| {
            Ok(members::leave(tx, &ctx.meta).await?)
        })
        .await?;
        // After the commit: a failure leaves the member signed in.
        session::end(&ctx.session).await.map_err(session_error)?;
        redirect("/login?left=1");
        Ok(())
    })
    .await
}

/// Invites one or several addresses (one per line, or separated by commas).
/// An invitation to the owner or admin role is a role grant waiting for its
/// address, so it needs a recent sign-in like granting the role (`reauth`
/// otherwise).
#[server(prefix = "/api", endpoint = "members/invite")]
pub async fn invite_members(
    slug: String,
    emails: String,
    role: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let keep = [("emails", emails.as_str()), ("role", role.as_str())];
        let (mut tx, current) = member_of(&ctx, &slug, Permission::InviteMembers).await?;
        let parsed = invitations::parse_emails(&emails);
        let role_ok = Role::parse(&role);
        let (addresses, role) = match (parsed, role_ok) {
            (Ok(addresses), Ok(role)) => (addresses, role),
            (parsed, role) => {
                let mut v = crate::error::Validator::new();
                if let Err(problems) = parsed {
                    for problem in problems {
                        v.add("emails", problem);
                    }
                }
                if let Err(problem) = role {
                    v.add("role", problem);
                }
                return v.finish().map_err(|e| e.keeping(&keep));
            }
        };
        if role.administers() && invitations::may_grant(tx.actor().role, role) {
            confirm_recent(&ctx, &tx, &current, reauth.as_deref(), &keep).await?;
        }
        let count = invitations::invite(
            &mut tx,
            &ctx.meta,
            &sending(&ctx),
            &addresses,
            role,
            ctx.state.settings.invitation_ttl,
        )
        .await
        .map_err(|e| e.keeping(&keep))?;
        tx.commit().await?;
        let who = if count == 1 {
            addresses[0].as_str().to_string()
        } else {
            format!("{count} people")
        };
        redirect(&notice(&slug, "invited", &who));
        Ok(())
    })
    .await
}

/// Sends an invitation again, with a new link; the old one stops working.
/// For an owner or admin invitation that is a new grant, with the same
/// rule as sending it.
#[server(prefix = "/api", endpoint = "members/resend_invitation")]
pub async fn resend_invitation(
    slug: String,
    invitation_id: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let keep = [("invitation_id", invitation_id.as_str())];
        let (mut tx, current) = member_of(&ctx, &slug, Permission::InviteMembers).await?;
        let id = parse_invitation(&invitation_id)?;
        let role = invitations::open_invitation_role(&mut tx, id).await?;
        if role.administers() && invitations::may_grant(tx.actor().role, role) {
            confirm_recent(&ctx, &tx, &current, reauth.as_deref(), &keep).await?;
        }
        let email = invitations::resend(
            &mut tx,
            &ctx.meta,
            &sending(&ctx),
            id,
            ctx.state.settings.invitation_ttl,
        )
        .await?;
        tx.commit().await?;
        redirect(&notice(&slug, "resent", &email));
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
fn sending(ctx: &super::context::Ctx) -> invitations::Sending<'_> {
    invitations::Sending {
        db: ctx.db(),
        base_url: ctx.base_url(),
        limits: &ctx.state.settings.rate_limits,
    }
}

/// Withdraws an invitation; its link stops working.
#[server(prefix = "/api", endpoint = "members/revoke_invitation")]
pub async fn revoke_invitation(slug: String, invitation_id: String) -> Result<(), AppError> {
    in_org(&slug, Permission::InviteMembers, async |ctx, tx| {
        let id = parse_invitation(&invitation_id)?;
        let email = invitations::revoke(tx, &ctx.meta, id).await?;
        redirect(&notice(&slug, "revoked", &email));
        Ok(())
    })
    .await
}

/// A member's signed-in sessions in this organization, for its owners and
/// admins (an owner's only for owners).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSessions {
    pub org_name: String,
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub sessions: Vec<super::account::SessionView>,
}

#[server(prefix = "/api", endpoint = "members/sessions")]
pub async fn get_member_sessions(
    slug: String,
    user_id: String,
) -> Result<MemberSessions, AppError> {
    with_ctx(async move |ctx| {
        let (mut tx, current) = member_of(&ctx, &slug, Permission::ManageMembers).await?;
        let target = parse_user(&user_id)?;
        let (email, name) = sessions::member_for_admin(&mut tx, target).await?;
        let rows = sessions::of_member(&mut tx, target, &ctx.state.settings.session).await?;
        let org_name = tx.org().name.clone();
        tx.commit().await?;
        Ok(MemberSessions {
            org_name,
            user_id: target.to_string(),
            name,
            email,
            sessions: rows
                .into_iter()
                .map(|row| super::account::session_view(row, current.session_id))
                .collect(),
        })
    })
    .await
}

/// Ends one session of a member (`session_id`), or all of them with
/// `all=true`; their next request in this organization is signed out. An
/// id that is missing or blank is refused, never read as "all". The
/// caller's own current session is never ended here (they sign out).
#[server(prefix = "/api", endpoint = "members/end_session")]
pub async fn end_member_session(
    slug: String,
    user_id: String,
    session_id: Option<String>,
    all: Option<bool>,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let (mut tx, current) = member_of(&ctx, &slug, Permission::ManageMembers).await?;
        let target = parse_user(&user_id)?;
        let which = if all == Some(true) {
            None
        } else {
            let raw = session_id.as_deref().unwrap_or("").trim();
            Some(raw.parse::<uuid::Uuid>().map_err(|_| AppError::NotFound)?)
        };
        let ended = sessions::end_for_member(
            &mut tx,
            &ctx.meta,
            target,
            which,
            current.session_id,
            &ctx.state.settings.session,
        )
        .await?;
        tx.commit().await?;
        let code = if which.is_some() {
            "ended"
        } else {
            "all_ended"
        };
        redirect(&format!(
            "/o/{slug}/members/{target}/sessions?notice={code}&n={ended}"
        ));
        Ok(())
    })
    .await
}
