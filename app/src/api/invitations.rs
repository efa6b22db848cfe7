//! Server functions behind the invitation link: what the link leads to, and
//! accepting it as a new person, as a signed-out existing user, or as the
//! user already signed in.

use crate::{error::AppError, roles::Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::{
        auth::{IfSsoRequired, enter_org_now},
        context::{Ctx, member, session_error, with_ctx},
    },
    crate::{
        domain::{
            accounts,
            auth::{self, HowSignedIn},
            invitations::{self, AcceptRefused, Joined, LinkState},
            session::{self, AuthMethod},
            tenancy::{UserScope, lookup},
        },
        ids::UserId,
        roles::Permission,
    },
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvitationState {
    Open,
    Expired,
    Revoked,
    Accepted,
    Invalid,
}

/// What the invitation page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationPage {
    pub state: InvitationState,
    pub org_name: String,
    pub org_slug: String,
    pub inviter: Option<String>,
    pub role: Option<Role>,
    pub email: String,
    /// The invited address already has an account (so: sign in to accept).
    pub account_exists: bool,
    /// The address the visitor is signed in with, if they are.
    pub signed_in_as: Option<String>,
}

#[cfg(feature = "ssr")]
async fn signed_in_user(ctx: &Ctx) -> Result<Option<(UserId, String, HowSignedIn)>, AppError> {
    let user = if let Some(current) = session::org_session(&ctx.session)
        .await
        .map_err(session_error)?
    {
        match member(ctx, Permission::ViewWorkspace).await {
            Ok(_) => Some((
                current.user_id,
                current.method,
                current.second_factor,
                current.proof(),
            )),
            Err(_) => None,
        }
    } else {
        session::live_pending(ctx.db(), &ctx.session, &ctx.state.settings.session)
            .await?
            .map(|p| (p.user_id, p.method, p.second_factor, p.proof()))
    };
    let Some((user_id, method, second_factor, proof)) = user else {
        return Ok(None);
    };
    let mut tx = UserScope::begin(ctx.db(), user_id).await?;
    let email = accounts::profile(&mut tx).await?.email;
    tx.commit().await?;
    // Joining is not a new sign-in: the session there is as old, and as
    // far through the second step, as the one it is made from.
    let how = HowSignedIn {
        second_factor: second_factor.then_some(crate::domain::second_factor::Used::Earlier),
        earlier: Some(proof),
        ..HowSignedIn::first_factor(method)
    };
    Ok(Some((user_id, email, how)))
}

#[server(prefix = "/api", endpoint = "invitations/get")]
pub async fn get_invitation(token: String) -> Result<InvitationPage, AppError> {
    with_ctx(async move |ctx| {
        let (state, found) = match invitations::find(ctx.db(), &token).await? {
            LinkState::Open(i) => (InvitationState::Open, Some(i)),
            LinkState::Expired(i) => (InvitationState::Expired, Some(i)),
            LinkState::Revoked(i) => (InvitationState::Revoked, Some(i)),
            LinkState::Accepted(i) => (InvitationState::Accepted, Some(i)),
            LinkState::Invalid => (InvitationState::Invalid, None),
        };
        let Some(found) = found else {
            return Ok(InvitationPage {
                state,
                org_name: String::new(),
                org_slug: String::new(),
                inviter: None,
                role: None,
                email: String::new(),
                account_exists: false,
                signed_in_as: None,
            });
        };
        // Only an open invitation needs to know about accounts: the
        // holder of the link controls the invited mailbox.
        // An account whose address was never confirmed may be a
        // stranger's: the invited person takes it over with the
        // new-person form (see `invitations::accept_as_new_user`).
        let account_exists = state == InvitationState::Open
            && lookup::user_for_sign_in(ctx.db(), &found.email)
                .await?
                .is_some_and(|u| u.email_verified_at.is_some());
        let signed_in_as = signed_in_user(&ctx).await?.map(|(_, email, _)| email);
        Ok(InvitationPage {
            state,
            org_name: found.org_name,
            org_slug: found.org_slug,
            inviter: found.inviter_name,
            role: Some(found.role),
            email: found.email,
            account_exists,
            signed_in_as,
        })
    })
    .await
}

#[cfg(feature = "ssr")]
fn refused(refused: AcceptRefused, email: &str) -> AppError {
    match refused {
        AcceptRefused::NoLongerOpen => AppError::Conflict(
            "This invitation can no longer be accepted. Ask the person who invited you for a new one.".into(),
        ),
        AcceptRefused::WrongAccount => AppError::Conflict(format!(
            "This invitation is for {email}. Sign out, then open the link again to accept it."
        )),
        AcceptRefused::AccountExists => {
            AppError::Conflict(format!("{email} already has an account. Sign in below to accept."))
        }
    }
}

#[cfg(feature = "ssr")]
async fn enter(ctx: &Ctx, joined: Joined, how: HowSignedIn) -> Result<(), AppError> {
    let org = lookup::org_by_slug(ctx.db(), &joined.org_slug)
        .await?
        .ok_or(AppError::NotFound)?;
    enter_org_now(ctx, joined.user_id, &org, how, IfSsoRequired::GoToProvider).await
}

/// A new person accepts: chooses their name and password, and is in.
#[server(prefix = "/api", endpoint = "invitations/accept_new")]
pub async fn accept_invitation_new(
    token: String,
    name: String,
    password: String,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        auth::limit_password_setting(&ctx.auth_env()).await?;
        let (display_name, new_password) = invitations::parse_new_account(&name, &password)
            .map_err(|e| e.keeping(&[("name", name.as_str())]))?;
        let email = match invitations::find(ctx.db(), &token).await? {
            LinkState::Open(i) => i.email,
            _ => String::new(),
        };
        let joined = invitations::accept_as_new_user(
            ctx.db(),
            &ctx.meta,
            &token,
            display_name,
            &new_password,
        )
        .await?
        .map_err(|r| refused(r, &email))?;
        enter(
            &ctx,
            joined,
            HowSignedIn::first_factor(AuthMethod::Password),
        )
        .await
    })
    .await
}

/// A signed-out existing user accepts by signing in with their password.
#[server(prefix = "/api", endpoint = "invitations/accept_with_password")]
pub async fn accept_invitation_with_password(
    token: String,
    password: String,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let LinkState::Open(invitation) = invitations::find(ctx.db(), &token).await? else {
            return Err(refused(AcceptRefused::NoLongerOpen, ""));
        };
        if password.is_empty() {
            return Err(AppError::field("password", "Enter your password."));
        }
        let who = auth::sign_in_with_password(&ctx.auth_env(), &invitation.email, password, None)
            .await?
            .map_err(|failure| failure.into_error(None))?;
        let joined =
            invitations::accept_as_user(ctx.db(), &ctx.meta, &token, who.user_id, &who.email)
                .await?
                .map_err(|r| refused(r, &invitation.email))?;
        enter(
            &ctx,
            joined,
            HowSignedIn::first_factor(AuthMethod::Password),
        )
        .await
    })
    .await
}

/// The signed-in user accepts (their address must be the invited one).
#[server(prefix = "/api", endpoint = "invitations/accept_signed_in")]
pub async fn accept_invitation_signed_in(token: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let (user_id, email, how) = signed_in_user(&ctx)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let invited = match invitations::find(ctx.db(), &token).await? {
            LinkState::Open(i) => i.email,
            _ => String::new(),
        };
        let joined = invitations::accept_as_user(ctx.db(), &ctx.meta, &token, user_id, &email)
            .await?
            .map_err(|r| refused(r, &invited))?;
        enter(&ctx, joined, how).await
    })
    .await
}
