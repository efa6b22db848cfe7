//! The signed-in person's own account, whatever organization they are in:
//! their profile and their second factor (authenticator app and recovery
//! codes). Everything here runs in the person's own user scope.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::context::{Ctx, member, session_error, with_ctx},
    super::navigation::redirect,
    super::second_step::attempts,
    crate::{
        domain::{
            account_deletion, accounts,
            auth::{self, PasswordChange},
            second_factor,
            session::{self, OrgSession},
            sessions,
            tenancy::{Tenant, UserTx},
        },
        roles::Permission,
        validation::{DisplayName, NewPassword},
    },
};

/// The account page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub display_name: String,
    pub email: String,
    /// The organization this session is in (the way back).
    pub org_slug: String,
    pub org_name: String,
    /// The account signs in with a password (not only single sign-on or
    /// emailed links).
    pub has_password: bool,
    /// Unix seconds since when the authenticator app is on, if it is.
    pub totp_since: Option<i64>,
    pub recovery_codes_left: i64,
    /// The account's signed-in sessions, in every organization.
    pub sessions: Vec<SessionView>,
    /// Single sign-on identities linked to the account.
    pub identities: Vec<IdentityView>,
    /// What deleting the account would do.
    pub deletion: DeletionPlan,
}

/// What deleting the account would do, by organization name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionPlan {
    /// The person is the last owner there, and there are other members:
    /// deleting is refused until someone else is an owner.
    pub blocked_by: Vec<String>,
    /// The person is the only member there: the organization goes too.
    pub deletes: Vec<String>,
    /// The person leaves these.
    pub leaves: Vec<String>,
}

/// A linked single sign-on identity, as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityView {
    pub org_name: String,
    /// The provider, by its issuer's host ("login.example.com").
    pub provider: String,
    pub subject: String,
    /// "Joined through single sign-on", "Confirmed with your password", …
    pub linked_how: String,
    pub linked: String,
    pub last_used: Option<String>,
}

/// One signed-in session, as the account page (and an admin's view of a
/// member) lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub session_id: String,
    pub org_name: String,
    /// How it signed in: "Password", "Emailed link", "Single sign-on".
    pub method: String,
    /// The sign-in passed a second factor too.
    pub two_step: bool,
    pub signed_in: String,
    pub last_seen: String,
    pub client: Option<String>,
    pub browser: String,
    /// The session this page was asked for with.
    pub current: bool,
}

#[cfg(feature = "ssr")]
fn identity_view(identity: accounts::LinkedIdentity) -> IdentityView {
    let provider = openidconnect::url::Url::parse(&identity.issuer)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
        .unwrap_or_else(|| identity.issuer.clone());
    IdentityView {
        org_name: identity.org_name,
        provider,
        subject: identity.subject,
        linked_how: match identity.linked_by.as_str() {
            "just_in_time" => "Joined through single sign-on",
            "password" => "Confirmed with your password",
            _ => "Confirmed by an emailed link",
        }
        .to_string(),
        linked: super::context::when(identity.linked_at),
        last_used: identity.last_sign_in_at.map(super::context::ago),
    }
}

#[cfg(feature = "ssr")]
pub(super) fn session_view(row: sessions::SessionRow, current: uuid::Uuid) -> SessionView {
    let format = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    SessionView {
        session_id: row.session_id.to_string(),
        org_name: row.org_name,
        method: match row.method {
            session::AuthMethod::Password => "Password",
            session::AuthMethod::EmailLink => "Emailed link",
            session::AuthMethod::Sso => "Single sign-on",
        }
        .to_string(),
        two_step: row.second_factor,
        signed_in: row.authenticated_at.format(&format).unwrap_or_default(),
        last_seen: super::context::ago(row.last_seen_at),
        client: row.client_ip.map(|ip| ip.to_string()),
        browser: sessions::browser_name(row.user_agent.as_deref()),
        current: row.session_id == current,
    }
}

/// The person signed in (in any organization), in their own user scope.
#[cfg(feature = "ssr")]
async fn me(ctx: &Ctx) -> Result<(UserTx, OrgSession, (String, String)), AppError> {
    let (tx, current) = member(ctx, Permission::ViewWorkspace).await?;
    let org = (tx.org().slug.clone(), tx.org().name.clone());
    let user_tx = tx.into_user_scope().await?;
    Ok((user_tx, current, org))
}

/// [`me`] for a change to the account's security: the session signed in
/// or confirmed recently, or `reauth` carries the password or a code.
#[cfg(feature = "ssr")]
async fn me_confirmed(
    ctx: &Ctx,
    reauth: Option<&str>,
) -> Result<(UserTx, OrgSession, (String, String)), AppError> {
    let (tx, current) = member(ctx, Permission::ViewWorkspace).await?;
    let current = super::context::confirm_recent(ctx, &tx, &current, reauth, &[]).await?;
    let org = (tx.org().slug.clone(), tx.org().name.clone());
    let user_tx = tx.into_user_scope().await?;
    Ok((user_tx, current, org))
}

#[server(prefix = "/api", endpoint = "account/get")]
pub async fn get_account() -> Result<Account, AppError> {
    with_ctx(async move |ctx| {
        let (mut tx, current, (org_slug, org_name)) = me(&ctx).await?;
        let profile = accounts::profile(&mut tx).await?;
        let status = second_factor::status(&mut tx).await?;
        let identities = accounts::linked_identities(&mut tx)
            .await?
            .into_iter()
            .map(identity_view)
            .collect();
        let plan = account_deletion::plan(&mut tx).await?;
        tx.commit().await?;
        let has_password = auth::has_password(ctx.db(), current.user_id, &profile.email).await?;
        let sessions = sessions::mine(ctx.db(), current.user_id, &ctx.state.settings.session)
            .await?
            .into_iter()
            .map(|row| session_view(row, current.session_id))
            .collect();
        Ok(Account {
            sessions,
            identities,
            deletion: DeletionPlan {
                blocked_by: plan.blocked_by,
                deletes: plan.deletes,
                leaves: plan.leaves,
            },
            has_password,
            display_name: profile.display_name,
            email: profile.email,
            org_slug,
            org_name,
            totp_since: status.totp_since.map(|t| t.unix_timestamp()),
            recovery_codes_left: status.recovery_codes_left,
        })
    })
    .await
}

/// Ends one of the person's other sessions (in any of their
/// organizations): its next request is signed out. This browser's own
/// session ends by signing out.
#[server(prefix = "/api", endpoint = "account/end_session")]
pub async fn end_session(session_id: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let (tx, current) = member(&ctx, Permission::ViewWorkspace).await?;
        drop(tx);
        let which: uuid::Uuid = session_id.trim().parse().map_err(|_| AppError::NotFound)?;
        if which == current.session_id {
            return Err(AppError::Conflict(
                "This is the session you are using now. To end it, sign out.".to_string(),
            ));
        }
        let ended = sessions::end_mine(
            ctx.db(),
            &ctx.meta,
            current.user_id,
            Some(which),
            current.session_id,
            &ctx.state.settings.session,
        )
        .await?;
        if ended == 0 {
            return Err(AppError::NotFound);
        }
        redirect("/account?notice=session_ended#sessions");
        Ok(())
    })
    .await
}

/// Ends every session of the person but this one.
#[server(prefix = "/api", endpoint = "account/end_other_sessions")]
pub async fn end_other_sessions() -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let (tx, current) = member(&ctx, Permission::ViewWorkspace).await?;
        drop(tx);
        sessions::end_mine(
            ctx.db(),
            &ctx.meta,
            current.user_id,
            None,
            current.session_id,
            &ctx.state.settings.session,
        )
        .await?;
        redirect("/account?notice=other_sessions_ended#sessions");
        Ok(())
    })
    .await
}

/// The "my data" document of the signed-in person (served as a download
/// at `/account/my-data.json`).
#[cfg(feature = "ssr")]
pub async fn my_data(ctx: &Ctx) -> Result<serde_json::Value, AppError> {
    let (mut tx, _, _) = me(ctx).await?;
    let document = crate::domain::my_data::export(&mut tx).await?;
    tx.commit().await?;
    Ok(document)
}

/// Deletes the person's account, once `confirm_email` is its address and
/// the person confirmed it was them (a recent sign-in, or `reauth`).
/// Refused while they are the last owner of an organization with other
/// members. Signs this browser out.
#[server(prefix = "/api", endpoint = "account/delete")]
pub async fn delete_account(confirm_email: String, reauth: Option<String>) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let keep = [("confirm_email", confirm_email.as_str())];
        let (mut tx, _, _) = me_confirmed(&ctx, reauth.as_deref())
            .await
            .map_err(|e| e.keeping(&keep))?;
        account_deletion::delete(&mut tx, &ctx.meta, &confirm_email)
            .await
            .map_err(|e| AppError::from(e).keeping(&keep))?;
        tx.commit().await?;
        // After the commit: the account and its sessions are gone.
        session::end(&ctx.session).await.map_err(session_error)?;
        redirect("/login?account_deleted=1");
        Ok(())
    })
    .await
}

/// Changes the name the person goes by, in every organization.
#[server(prefix = "/api", endpoint = "account/change_name")]
pub async fn change_name(name: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let keep = [("name", name.as_str())];
        let parsed =
            DisplayName::parse(&name).map_err(|m| AppError::field("name", m).keeping(&keep))?;
        let (mut tx, _, _) = me(&ctx).await?;
        let changed = accounts::rename(&mut tx, &ctx.meta, &parsed).await?;
        tx.commit().await?;
        redirect(if changed {
            "/account?notice=name_changed"
        } else {
            "/account"
        });
        Ok(())
    })
    .await
}

/// Changes the password. The current one is required; an account without
/// one (single sign-on or emailed links only) sets its first password after
/// a recent sign-in (`reauth` otherwise). Every other session of the
/// account ends unless `keep_other_sessions` is sent; this one stays.
#[server(prefix = "/api", endpoint = "account/change_password")]
pub async fn change_password(
    current_password: Option<String>,
    new_password: String,
    keep_other_sessions: Option<String>,
    reauth: Option<String>,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let end_other_sessions = keep_other_sessions.is_none();
        let keep: &[(&str, &str)] = if end_other_sessions {
            &[]
        } else {
            &[("keep_other_sessions", "on")]
        };
        let (tx, current) = member(&ctx, Permission::ViewWorkspace).await?;
        let new_password = NewPassword::parse(&new_password)
            .map_err(|m| AppError::field("new_password", m).keeping(keep))?;
        let (email, org_id) = (tx.actor().email.clone(), tx.org_id());
        let current = if auth::has_password(ctx.db(), current.user_id, &email).await? {
            current
        } else {
            super::context::confirm_recent(&ctx, &tx, &current, reauth.as_deref(), keep).await?
        };
        tx.commit().await?;
        auth::change_password(
            &ctx.auth_env(),
            &PasswordChange {
                user_id: current.user_id,
                email: &email,
                org_id,
                current: current_password.as_deref(),
                new_password: &new_password,
                end_other_sessions,
            },
        )
        .await
        .map_err(|e| e.keeping(keep))?;
        if end_other_sessions {
            // The cut-off just set ends sessions that authenticated before
            // it, this one too: typing the password was a fresh sign-in, so
            // this session starts again (under a new id) from now.
            let now = session::now();
            let restarted = OrgSession {
                authenticated_at: now,
                last_seen_at: now,
                ..current
            };
            let mut tx = Tenant::begin(ctx.db(), restarted.org_id, restarted.user_id).await?;
            sessions::open(&mut tx, &ctx.meta, &restarted).await?;
            tx.commit().await?;
            session::start_org_session(&ctx.session, restarted)
                .await
                .map_err(session_error)?;
        }
        redirect("/account?notice=password_changed");
        Ok(())
    })
    .await
}

/// What the authenticator set-up page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    /// Base32, for typing in by hand.
    pub secret: String,
    /// The QR code, as SVG markup made on the server.
    pub qr_svg: String,
    pub email: String,
}

/// Starts setting up an authenticator app (or shows the set-up under way).
/// Nothing is on until [`confirm_totp`] gets a first code.
#[server(prefix = "/api", endpoint = "account/totp_setup")]
pub async fn get_totp_setup() -> Result<TotpSetup, AppError> {
    with_ctx(async move |ctx| {
        let (mut tx, _, _) = me(&ctx).await?;
        let profile = accounts::profile(&mut tx).await?;
        set_up_in(&ctx, tx, profile.email).await
    })
    .await
}

/// Starts (or shows again) this browser's authenticator set-up for the
/// person of `tx`, keeping the set-up's ticket in the session; commits.
#[cfg(feature = "ssr")]
pub(crate) async fn set_up_in(
    ctx: &Ctx,
    mut tx: UserTx,
    email: String,
) -> Result<TotpSetup, AppError> {
    let user_id = tx.user_id();
    let ticket = session::totp_set_up_ticket(&ctx.session, user_id)
        .await
        .map_err(session_error)?;
    let (enrolment, ticket) =
        second_factor::begin_enrolment(&mut tx, &ctx.state.sso.keys, &email, ticket.as_deref())
            .await?;
    tx.commit().await?;
    session::keep_totp_set_up_ticket(&ctx.session, user_id, ticket)
        .await
        .map_err(session_error)?;
    Ok(TotpSetup {
        secret: enrolment.secret,
        qr_svg: enrolment.qr_svg,
        email,
    })
}

#[cfg(feature = "ssr")]
pub(crate) fn check_code(code: &str) -> Result<(), AppError> {
    if code.trim().is_empty() {
        Err(AppError::field(
            "code",
            "Enter the six-digit code your authenticator app shows.",
        ))
    } else if code.len() > 64 {
        Err(AppError::field(
            "code",
            "That is not a code we sent or made.",
        ))
    } else {
        Ok(())
    }
}

/// Turns the authenticator app on with its first code, and shows the
/// recovery codes once. Adding a factor needs a recent sign-in (`reauth`
/// otherwise): a borrowed session must not tie the account to someone
/// else's phone.
#[server(prefix = "/api", endpoint = "account/totp_confirm")]
pub async fn confirm_totp(code: String, reauth: Option<String>) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        check_code(&code)?;
        crate::domain::auth::limit_code_checks(&ctx.auth_env()).await?;
        let (mut tx, current, _) = me_confirmed(&ctx, reauth.as_deref()).await?;
        let ticket = session::totp_set_up_ticket(&ctx.session, current.user_id)
            .await
            .map_err(session_error)?;
        let codes = second_factor::confirm_enrolment(
            &mut tx,
            &ctx.state.sso.keys,
            &attempts(&ctx),
            &code,
            ticket.as_deref(),
        )
        .await?;
        tx.commit().await?;
        show_codes_once(&ctx, &current, codes).await
    })
    .await
}

#[cfg(feature = "ssr")]
async fn show_codes_once(
    ctx: &Ctx,
    current: &OrgSession,
    codes: Vec<String>,
) -> Result<(), AppError> {
    session::keep_fresh_recovery_codes(&ctx.session, current.user_id, codes)
        .await
        .map_err(session_error)?;
    redirect("/account/recovery-codes");
    Ok(())
}

/// Turns the authenticator app off (and the recovery codes with it); a
/// current code or a recovery code is required.
#[server(prefix = "/api", endpoint = "account/totp_disable")]
pub async fn disable_totp(code: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        check_code(&code)?;
        crate::domain::auth::limit_code_checks(&ctx.auth_env()).await?;
        let (mut tx, _, _) = me(&ctx).await?;
        second_factor::disable(&mut tx, &ctx.state.sso.keys, &attempts(&ctx), &code).await?;
        tx.commit().await?;
        redirect("/account?notice=totp_off");
        Ok(())
    })
    .await
}

/// Replaces the recovery codes; a current code or a recovery code is
/// required.
#[server(prefix = "/api", endpoint = "account/recovery_codes")]
pub async fn regenerate_recovery_codes(code: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        check_code(&code)?;
        crate::domain::auth::limit_code_checks(&ctx.auth_env()).await?;
        let (mut tx, current, _) = me(&ctx).await?;
        let codes = second_factor::regenerate_recovery_codes(
            &mut tx,
            &ctx.state.sso.keys,
            &attempts(&ctx),
            &code,
        )
        .await?;
        tx.commit().await?;
        show_codes_once(&ctx, &current, codes).await
    })
    .await
}

/// The recovery codes just made, once: a second call finds none.
#[server(prefix = "/api", endpoint = "account/fresh_codes")]
pub async fn take_recovery_codes() -> Result<Vec<String>, AppError> {
    with_ctx(async move |ctx| {
        let (tx, current, _) = me(&ctx).await?;
        tx.commit().await?;
        session::take_fresh_recovery_codes(&ctx.session, current.user_id)
            .await
            .map_err(session_error)
    })
    .await
}
