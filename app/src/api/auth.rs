//! Server functions for signing up, signing in and out, switching
//! organization, and resetting a password. Each is thin: read the context,
//! parse the input, call the domain, set the session, redirect.
//!
//! All of them work as plain HTML form posts (they redirect) and as calls
//! from the hydrated app (Leptos follows the redirect client-side).

use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::context::{Ctx, member, session_error, url_encode, with_ctx},
    super::navigation::redirect,
    crate::{
        domain::{
            accounts,
            audit::{self, Event},
            auth::{self, HowSignedIn, LinkFailure, SignUpOutcome},
            orgs::{CreateOrgError, create_organization},
            second_factor,
            session::{self, AuthMethod, SignUpMarker, SwitchIntent},
            sessions,
            tenancy::{UserScope, lookup},
            tokens::TokenProblem,
        },
        error::Validator,
        ids::{OrgId, UserId},
        roles::Permission,
        validation::{DisplayName, Email, NewPassword, OrgName, OrgSlug},
    },
};

/// Creates an account and its first organization, then asks for the email
/// to be confirmed. The same page follows whether or not the address
/// already had an account.
#[server(prefix = "/api", endpoint = "auth/sign_up")]
pub async fn sign_up(
    name: String,
    email: String,
    password: String,
    org_name: String,
    slug: String,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let mut v = Validator::new();
        let name_ok = v.check("name", DisplayName::parse(&name));
        let email_ok = v.check("email", Email::parse(&email));
        let password_ok = v
            .check("password", NewPassword::parse(&password))
            .and_then(|p| {
                let related = [
                    email.as_str(),
                    name.as_str(),
                    org_name.as_str(),
                    slug.as_str(),
                ];
                v.check(
                    "password",
                    crate::domain::password::check_strength(&p, &related).map(|()| p),
                )
            });
        let org_ok = v.check("org_name", OrgName::parse(&org_name));
        // A blank URL name is derived from the organization's name.
        let slug = if slug.trim().is_empty() {
            OrgSlug::suggest(&org_name)
        } else {
            slug
        };
        let slug_ok = if org_ok.is_some() || !slug.is_empty() {
            v.check("slug", OrgSlug::parse(&slug))
        } else {
            None
        };
        let keep = [
            ("name", name.as_str()),
            ("email", email.as_str()),
            ("org_name", org_name.as_str()),
            ("slug", slug.as_str()),
        ];
        v.finish().map_err(|e| e.keeping(&keep))?;
        let form = auth::SignUp {
            name: name_ok.expect("checked"),
            email: email_ok.expect("checked"),
            password: password_ok.expect("checked"),
            org_name: org_ok.expect("checked"),
            slug: slug_ok.expect("checked"),
        };
        match auth::sign_up(&ctx.auth_env(), form)
            .await
            .map_err(|e| e.keeping(&keep))?
        {
            SignUpOutcome::Created { user_id, org_id } => {
                sessions::close_held(ctx.db(), &ctx.session, sessions::EndReason::Replaced).await?;
                session::mark_sign_up(&ctx.session, SignUpMarker { user_id, org_id })
                    .await
                    .map_err(session_error)?;
            }
            SignUpOutcome::AlreadyRegistered => {
                sessions::close_held(ctx.db(), &ctx.session, sessions::EndReason::Replaced).await?;
                session::end(&ctx.session).await.map_err(session_error)?;
            }
        }
        redirect("/signup/check-email");
        Ok(())
    })
    .await
}

/// What opening a verification link did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum VerifyOutcome {
    /// Verified, and signed straight into the new organization (same browser
    /// as the sign-up).
    SignedIn {
        org_slug: String,
    },
    /// Verified; the person signs in as usual. Opened in another browser
    /// than the sign-up's, the password chosen at sign-up was removed
    /// (`password_removed`) and a link to set one was mailed.
    Verified {
        password_removed: bool,
    },
    Expired,
    AlreadyUsed,
    Invalid,
}

/// Confirms an email address from the link in the verification mail.
#[server(prefix = "/api", endpoint = "auth/verify_email")]
pub async fn verify_email(token: String) -> Result<VerifyOutcome, AppError> {
    with_ctx(async move |ctx| {
        let marker = session::sign_up_marker(&ctx.session)
            .await
            .map_err(session_error)?;
        let signed_up_here = marker.as_ref().map(|m| m.user_id);
        let verified = match auth::verify_email(&ctx.auth_env(), &token, signed_up_here).await? {
            Ok(verified) => verified,
            Err(TokenProblem::Expired) => return Ok(VerifyOutcome::Expired),
            Err(TokenProblem::AlreadyUsed) => return Ok(VerifyOutcome::AlreadyUsed),
            Err(TokenProblem::Invalid) => return Ok(VerifyOutcome::Invalid),
        };
        match marker {
            Some(SignUpMarker { user_id, org_id }) if user_id == verified.user_id => {
                let mut tx = auth::record_sign_in(
                    ctx.db(),
                    org_id,
                    user_id,
                    AuthMethod::EmailLink,
                    None,
                    &ctx.meta,
                )
                .await?;
                let org_session =
                    session::OrgSession::new(user_id, org_id, AuthMethod::EmailLink, None);
                sessions::open(&mut tx, &ctx.meta, &org_session).await?;
                let slug = org_slug(ctx.db(), org_id, user_id).await?;
                tx.commit().await?;
                sessions::close_held(ctx.db(), &ctx.session, sessions::EndReason::Replaced).await?;
                session::start_org_session(&ctx.session, org_session)
                    .await
                    .map_err(session_error)?;
                Ok(VerifyOutcome::SignedIn { org_slug: slug })
            }
            _ => Ok(VerifyOutcome::Verified {
                password_removed: verified.password_removed,
            }),
        }
    })
    .await
}

/// The URL name of `org_id`, one of the user's organizations.
#[cfg(feature = "ssr")]
async fn org_slug(
    db: &crate::domain::db::Db,
    org_id: OrgId,
    user_id: UserId,
) -> Result<String, AppError> {
    let mut tx = UserScope::begin(db, user_id).await?;
    let orgs = accounts::memberships(&mut tx).await?;
    tx.commit().await?;
    orgs.into_iter()
        .find(|o| o.org_id == org_id)
        .map(|o| o.slug)
        .ok_or(AppError::NotFound)
}

/// Resolves the `org` field of a sign-in form: the organization of a
/// per-org login page, or none for `/login`.
#[cfg(feature = "ssr")]
async fn form_org(ctx: &Ctx, org: &Option<String>) -> Result<Option<lookup::OrgSummary>, AppError> {
    match org.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(slug) => lookup::org_by_slug(ctx.db(), slug)
            .await?
            .map(Some)
            .ok_or(AppError::NotFound),
    }
}

/// Signs in with email and password: into `org` from its login page, or —
/// from `/login` — into the user's only organization, the org picker, or the
/// page that creates a first organization.
#[server(prefix = "/api", endpoint = "auth/sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    org: Option<String>,
    break_glass: Option<String>,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let org = form_org(&ctx, &org).await?;
        let keep = [("email", email.as_str())];
        // At /login, an address in a domain whose organization uses
        // single sign-on goes to that organization's provider.
        if org.is_none()
            && let Ok(address) = Email::parse(&email)
            && let Some(realm) = auth::home_realm(ctx.db(), &address).await?
        {
            redirect(&sso_start_path(&ctx, &realm.slug, address.as_str()).await?);
            return Ok(());
        }
        if email.trim().is_empty() || password.is_empty() {
            let mut v = Validator::new();
            if email.trim().is_empty() {
                v.add("email", "Enter your email address.");
            }
            if password.is_empty() {
                v.add("password", "Enter your password.");
            }
            return v.finish().map_err(|e| e.keeping(&keep));
        }
        let authenticated =
            auth::sign_in_with_password(&ctx.auth_env(), &email, password, org.as_ref())
                .await
                .map_err(|e| e.keeping(&keep))?
                .map_err(|failure| {
                    failure
                        .into_error(org.as_ref().map(|o| o.name.as_str()))
                        .keeping(&keep)
                })?;
        let how = HowSignedIn {
            break_glass: break_glass.is_some(),
            ..HowSignedIn::first_factor(authenticated.method)
        };
        enter_after_authentication(&ctx, authenticated.user_id, org.as_ref(), how).await
    })
    .await
}

/// After a successful authentication: into the given org, or route a
/// `/login` user by how many organizations they belong to. An account with
/// a second factor is asked for it first, before any org session and
/// before the picker (whose pending sign-in could create organizations).
#[cfg(feature = "ssr")]
pub(crate) async fn enter_after_authentication(
    ctx: &Ctx,
    user_id: UserId,
    org: Option<&lookup::OrgSummary>,
    how: HowSignedIn,
) -> Result<(), AppError> {
    if let Some(org) = org {
        return enter_org_now(ctx, user_id, org, how, IfSsoRequired::Refuse).await;
    }
    let mut tx = UserScope::begin(ctx.db(), user_id).await?;
    let orgs = accounts::memberships(&mut tx).await?;
    tx.commit().await?;
    if let [only] = orgs.as_slice() {
        let org = lookup::OrgSummary {
            org_id: only.org_id,
            slug: only.slug.clone(),
            name: only.name.clone(),
        };
        let how = HowSignedIn {
            break_glass: false,
            ..how
        };
        return enter_org_now(ctx, user_id, &org, how, IfSsoRequired::GoToProvider).await;
    }
    if how.second_factor.is_none() && second_factor::has_second_factor(ctx.db(), user_id).await? {
        session::start_second_step(
            &ctx.session,
            session::SecondStep {
                user_id,
                method: how.method,
                org_id: None,
                break_glass: false,
                authenticated_at: session::now(),
                enrol: false,
            },
        )
        .await
        .map_err(session_error)?;
        redirect(SECOND_STEP_PAGE);
        return Ok(());
    }
    sessions::close_held(ctx.db(), &ctx.session, sessions::EndReason::Replaced).await?;
    session::start_pending(
        &ctx.session,
        user_id,
        how.method,
        how.second_factor.is_some(),
    )
    .await
    .map_err(session_error)?;
    redirect(if orgs.is_empty() {
        "/orgs/new"
    } else {
        "/orgs"
    });
    Ok(())
}

/// Where a sign-in waiting for its second factor is sent.
#[cfg(feature = "ssr")]
pub(crate) const SECOND_STEP_PAGE: &str = "/login/second-step";

/// Where a sign-in into an org that requires two-step sign-in is sent when
/// the account has no second factor yet.
#[cfg(feature = "ssr")]
pub(crate) const SET_UP_SECOND_FACTOR_PAGE: &str = "/login/set-up-two-step";

/// What to do when the org requires single sign-on and the user came
/// another way.
#[cfg(feature = "ssr")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfSsoRequired {
    /// Send them to the org's provider (routing after /login, invitations).
    GoToProvider,
    /// Say so (a password typed on the org's own login page).
    Refuse,
}

/// Enters the org (see [`auth::enter_org`]) and redirects to its home — or
/// to its provider, or refuses, when it requires single sign-on.
#[cfg(feature = "ssr")]
pub(crate) async fn enter_org_now(
    ctx: &Ctx,
    user_id: UserId,
    org: &lookup::OrgSummary,
    how: HowSignedIn,
    if_sso: IfSsoRequired,
) -> Result<(), AppError> {
    match auth::enter_org(ctx.db(), &ctx.session, &ctx.meta, user_id, org, how).await? {
        auth::Entered::InOrg => {
            redirect(&format!("/o/{}", org.slug));
            Ok(())
        }
        auth::Entered::SecondStep => {
            redirect(SECOND_STEP_PAGE);
            Ok(())
        }
        auth::Entered::SetUpSecondFactor => {
            redirect(SET_UP_SECOND_FACTOR_PAGE);
            Ok(())
        }
        auth::Entered::SsoRequired { email } if if_sso == IfSsoRequired::GoToProvider => {
            redirect(&sso_start_path(ctx, &org.slug, &email).await?);
            Ok(())
        }
        auth::Entered::SsoRequired { .. } => Err(AppError::field(
            "",
            format!(
                "{} requires single sign-on. Use “Continue with single sign-on”.",
                org.name
            ),
        )),
    }
}

/// Where a form (a same-origin POST) sends the browser to sign in to
/// `slug` through its provider: this session may then start one sign-in
/// there (see `sso_flow` for why a GET alone may not).
#[cfg(feature = "ssr")]
pub(crate) async fn sso_start_path(ctx: &Ctx, slug: &str, email: &str) -> Result<String, AppError> {
    super::sso_flow::begin(ctx, slug, false, Some(email)).await
}

/// "Continue with single sign-on" at `/login`: finds the organization by the
/// address's domain and goes to its provider.
#[server(prefix = "/api", endpoint = "auth/continue_with_sso")]
pub async fn continue_with_sso(email: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let keep = [("email", email.as_str())];
        let address = Email::parse(&email).map_err(|m| AppError::field("email", m).keeping(&keep))?;
        match auth::home_realm(ctx.db(), &address).await? {
            Some(realm) => {
                redirect(&sso_start_path(&ctx, &realm.slug, address.as_str()).await?);
                Ok(())
            }
            None => Err(AppError::field(
                "email",
                format!(
                    "No single sign-on is set up for {}. Sign in with your password, or use your organization's own sign-in link.",
                    address.domain()
                ),
            )
            .keeping(&keep)),
        }
    })
    .await
}

/// Emails a one-time sign-in link (if the address may sign in there) and
/// says so either way.
#[server(prefix = "/api", endpoint = "auth/request_link")]
pub async fn request_sign_in_link(email: String, org: Option<String>) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let org = form_org(&ctx, &org).await?;
        let keep = [("email", email.as_str())];
        let address =
            Email::parse(&email).map_err(|m| AppError::field("email", m).keeping(&keep))?;
        auth::request_sign_in_link(&ctx.auth_env(), &address, org.as_ref())
            .await
            .map_err(|e| e.keeping(&keep))?;
        let back = match &org {
            Some(org) => format!("/o/{}/login?link_sent=1", org.slug),
            None => "/login?link_sent=1".to_string(),
        };
        redirect(&back);
        Ok(())
    })
    .await
}

/// Signs in with an emailed link (after the person pressed the button on the
/// link's page — mail scanners that open links do not spend them).
#[server(prefix = "/api", endpoint = "auth/use_link")]
pub async fn use_sign_in_link(token: String, org: Option<String>) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let org = form_org(&ctx, &org).await?;
        match auth::sign_in_with_link(&ctx.auth_env(), &token, org.as_ref()).await? {
            // An owner's emailed link counts as break-glass where the org
            // requires SSO: it proves the mailbox, and the owner's way in
            // must not hang on a password others can keep throttled.
            Ok(who) => {
                let how = HowSignedIn {
                    break_glass: true,
                    ..HowSignedIn::first_factor(who.method)
                };
                enter_after_authentication(&ctx, who.user_id, org.as_ref(), how).await
            }
            Err(LinkFailure::Token(TokenProblem::Expired)) => Err(AppError::field(
                "",
                "This sign-in link has expired. Ask for a new one below.",
            )),
            Err(LinkFailure::Token(TokenProblem::AlreadyUsed)) => Err(AppError::field(
                "",
                "This sign-in link has already been used. Ask for a new one below.",
            )),
            Err(LinkFailure::Token(TokenProblem::Invalid)) => Err(AppError::field(
                "",
                "This sign-in link is not valid. Ask for a new one below.",
            )),
            Err(LinkFailure::NotAMember) => Err(auth::SignInFailure::InvalidCredentials
                .into_error(org.as_ref().map(|o| o.name.as_str()))),
        }
    })
    .await
}

/// Enters an organization from the org picker, right after authenticating.
#[server(prefix = "/api", endpoint = "auth/enter_org")]
pub async fn enter_org(slug: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let pending = session::live_pending(ctx.db(), &ctx.session, &ctx.state.settings.session)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let org = lookup::org_by_slug(ctx.db(), slug.trim())
            .await?
            .ok_or(AppError::NotFound)?;
        let how = HowSignedIn {
            second_factor: pending
                .second_factor
                .then_some(second_factor::Used::Earlier),
            earlier: Some(pending.proof()),
            ..HowSignedIn::first_factor(pending.method)
        };
        enter_org_now(
            &ctx,
            pending.user_id,
            &org,
            how,
            IfSsoRequired::GoToProvider,
        )
        .await
        .map_err(|e| {
            if e == AppError::Unauthenticated {
                AppError::Forbidden
            } else {
                e
            }
        })
    })
    .await
}

/// Creates an organization owned by the caller and enters it. Open to a
/// just-authenticated user (no org yet, or from the picker) and to a
/// signed-in member, whose current org session then ends as a switch.
#[server(prefix = "/api", endpoint = "auth/create_org")]
pub async fn create_org(org_name: String, slug: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        auth::limit_org_creation(&ctx.auth_env()).await?;
        let policy = ctx.state.settings.session;
        let (user_id, method, passed_second_factor, earlier) =
            if let Some(p) = session::live_pending(ctx.db(), &ctx.session, &policy).await? {
                (p.user_id, p.method, p.second_factor, p.proof())
            } else {
                let (tx, current) = member(&ctx, Permission::ViewWorkspace).await?;
                drop(tx);
                let proof = current.proof();
                (
                    current.user_id,
                    current.method,
                    current.second_factor,
                    proof,
                )
            };
        let slug = if slug.trim().is_empty() {
            OrgSlug::suggest(&org_name)
        } else {
            slug
        };
        let keep = [("org_name", org_name.as_str()), ("slug", slug.as_str())];
        let mut v = Validator::new();
        let name = v.check("org_name", OrgName::parse(&org_name));
        let slug_ok = if name.is_some() || !slug.is_empty() {
            v.check("slug", OrgSlug::parse(&slug))
        } else {
            None
        };
        v.finish().map_err(|e| e.keeping(&keep))?;
        let (name, slug) = (name.expect("checked"), slug_ok.expect("checked"));

        let tx = UserScope::begin(ctx.db(), user_id).await?;
        let tx = match create_organization(tx, &name, &slug, &ctx.meta).await {
            Ok(tx) => tx,
            Err(CreateOrgError::SlugTaken) => {
                return Err(
                    AppError::field("slug", "That URL name is taken. Try another one.")
                        .keeping(&keep),
                );
            }
            Err(CreateOrgError::Database(e)) => return Err(e.into()),
        };
        let org = lookup::OrgSummary {
            org_id: tx.org_id(),
            slug: slug.as_str().to_string(),
            name: name.as_str().to_string(),
        };
        tx.commit().await?;
        let how = HowSignedIn {
            second_factor: passed_second_factor.then_some(second_factor::Used::Earlier),
            earlier: Some(earlier),
            ..HowSignedIn::first_factor(method)
        };
        enter_org_now(&ctx, user_id, &org, how, IfSsoRequired::GoToProvider).await
    })
    .await
}

/// Ends the session on the server and records the sign-out.
/// `next` may name a page of this site to continue on (e.g. an invitation
/// that needs another account).
#[server(prefix = "/api", endpoint = "auth/sign_out")]
pub async fn sign_out(next: Option<String>) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let login = match member(&ctx, Permission::ViewWorkspace).await {
            Ok((mut tx, current)) => {
                audit::record(
                    &mut tx,
                    &ctx.meta,
                    Event::new(crate::audit::AuditAction::SignedOut),
                )
                .await?;
                sessions::close(&mut tx, &current, sessions::EndReason::SignedOut).await?;
                let slug = tx.org().slug.clone();
                tx.commit().await?;
                format!("/o/{slug}/login?signed_out=1")
            }
            Err(_) => "/login?signed_out=1".to_string(),
        };
        session::end(&ctx.session).await.map_err(session_error)?;
        // A `next` that would leave this site is ignored.
        let next = next
            .and_then(|n| super::navigation::local_path(&ctx.state.settings.public_base_url, &n));
        redirect(next.as_deref().unwrap_or(&login));
        Ok(())
    })
    .await
}

/// Switches organization: ends the current org session (recorded there)
/// and sends the user to the target org's sign-in with their email filled
/// in. The target org's own policy decides how they authenticate.
#[server(prefix = "/api", endpoint = "auth/switch_org")]
pub async fn switch_org(slug: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let (tx, current) = member(&ctx, Permission::ViewWorkspace).await?;
        let email = tx.actor().email.clone();
        drop(tx);
        // Only the caller's own memberships are valid targets.
        let mut user_tx = UserScope::begin(ctx.db(), current.user_id).await?;
        let target = accounts::memberships(&mut user_tx)
            .await?
            .into_iter()
            .find(|o| o.slug == slug.trim())
            .ok_or(AppError::NotFound)?;
        user_tx.commit().await?;
        if target.org_id == current.org_id {
            redirect(&format!("/o/{}", target.slug));
            return Ok(());
        }
        let to = lookup::OrgSummary {
            org_id: target.org_id,
            slug: target.slug.clone(),
            name: target.name.clone(),
        };
        let from_name = auth::record_switch_out(ctx.db(), &ctx.meta, &current, &to.name)
            .await?
            .unwrap_or_default();
        session::end_for_switch(
            &ctx.session,
            SwitchIntent {
                from_org: current.org_id,
                from_org_name: from_name,
                to_org: to.org_id,
                user_id: current.user_id,
            },
        )
        .await
        .map_err(session_error)?;
        let email = url_encode(&email);
        redirect(&format!("/o/{}/login?email={email}&switching=1", to.slug));
        Ok(())
    })
    .await
}

/// Emails a password-reset link (if the address has an account) and says
/// so either way.
#[server(prefix = "/api", endpoint = "auth/forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let keep = [("email", email.as_str())];
        let address =
            Email::parse(&email).map_err(|m| AppError::field("email", m).keeping(&keep))?;
        auth::request_password_reset(&ctx.auth_env(), &address)
            .await
            .map_err(|e| e.keeping(&keep))?;
        redirect("/forgot-password?sent=1");
        Ok(())
    })
    .await
}

/// Whether a reset link can still be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LinkState {
    Usable,
    Expired,
    AlreadyUsed,
    Invalid,
}

#[server(prefix = "/api", endpoint = "auth/reset_link_state")]
pub async fn reset_link_state(token: String) -> Result<LinkState, AppError> {
    with_ctx(async move |ctx| {
        Ok(match auth::check_reset_token(ctx.db(), &token).await? {
            Ok(()) => LinkState::Usable,
            Err(TokenProblem::Expired) => LinkState::Expired,
            Err(TokenProblem::AlreadyUsed) => LinkState::AlreadyUsed,
            Err(TokenProblem::Invalid) => LinkState::Invalid,
        })
    })
    .await
}

/// Sets a new password from a reset link; every session of the account ends.
#[server(prefix = "/api", endpoint = "auth/reset_password")]
pub async fn reset_password(
    token: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let mut v = Validator::new();
        let new_password = v
            .check("password", NewPassword::parse(&password))
            .and_then(|p| {
                v.check(
                    "password",
                    crate::domain::password::check_strength(&p, &[]).map(|()| p),
                )
            });
        if new_password.is_some() && password != confirm {
            v.add("confirm", "The two passwords are not the same.");
        }
        v.finish()?;
        match auth::reset_password(&ctx.auth_env(), &token, &new_password.expect("checked")).await?
        {
            Ok(_) => {
                sessions::close_held(ctx.db(), &ctx.session, sessions::EndReason::Replaced).await?;
                session::end(&ctx.session).await.map_err(session_error)?;
                redirect("/login?password_reset=1");
                Ok(())
            }
            Err(TokenProblem::Expired) => Err(AppError::field(
                "",
                "This reset link has expired. Ask for a new one.",
            )),
            Err(TokenProblem::AlreadyUsed) => Err(AppError::field(
                "",
                "This reset link has already been used. Ask for a new one.",
            )),
            Err(TokenProblem::Invalid) => Err(AppError::field(
                "",
                "This reset link is not valid. Ask for a new one.",
            )),
        }
    })
    .await
}
