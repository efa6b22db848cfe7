//! The second step of signing in, for accounts with an authenticator app:
//! the first factor (password, emailed link or single sign-on) is proven
//! and held server-side in the session; a code from the app, or one of the
//! recovery codes, finishes the sign-in the way it was going.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::auth::{IfSsoRequired, enter_after_authentication, enter_org_now},
    super::context::{Ctx, with_ctx},
    crate::domain::{
        accounts,
        auth::HowSignedIn,
        second_factor::{self, Attempts},
        session,
        tenancy::{UserScope, lookup},
    },
};

/// What the second-step page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondStepPage {
    pub email: String,
    /// The organization being signed in to, when the sign-in started at
    /// its login page.
    pub org_name: Option<String>,
}

/// The sign-in this browser holds at its second step. `Unauthenticated`
/// when there is none (never started, expired, or voided by a password
/// reset).
#[server(prefix = "/api", endpoint = "auth/second_step")]
pub async fn get_second_step() -> Result<SecondStepPage, AppError> {
    with_ctx(async move |ctx| {
        let step = live_step(&ctx).await?;
        if step.enrol {
            return Err(AppError::Conflict(
                "This sign-in is setting up two-step sign-in.".into(),
            ));
        }
        let mut tx = UserScope::begin(ctx.db(), step.user_id).await?;
        let me = accounts::profile(&mut tx).await?;
        let org_name = match step.org_id {
            Some(org_id) => accounts::memberships(&mut tx)
                .await?
                .into_iter()
                .find(|m| m.org_id == org_id)
                .map(|m| m.name),
            None => None,
        };
        tx.commit().await?;
        Ok(SecondStepPage {
            email: me.email,
            org_name,
        })
    })
    .await
}

#[cfg(feature = "ssr")]
async fn live_step(ctx: &Ctx) -> Result<session::SecondStep, AppError> {
    session::live_second_step(ctx.db(), &ctx.session, &ctx.state.settings.session)
        .await?
        .ok_or(AppError::Unauthenticated)
}

#[cfg(feature = "ssr")]
fn timed_out() -> AppError {
    AppError::field("", "This sign-in has timed out. Go back and sign in again.")
}

/// The checks of a second-factor code share these limits.
#[cfg(feature = "ssr")]
pub(crate) fn attempts(ctx: &Ctx) -> Attempts<'_> {
    Attempts {
        db: ctx.db(),
        limits: &ctx.state.settings.rate_limits,
        meta: &ctx.meta,
        base_url: ctx.base_url(),
    }
}

/// Finishes a sign-in with a code from the authenticator app or a recovery
/// code, then continues where the sign-in was going (the org, the picker,
/// or a first organization).
#[server(prefix = "/api", endpoint = "auth/verify_second_step")]
pub async fn verify_second_step(code: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let step = live_step(&ctx)
            .await
            .ok()
            .filter(|s| !s.enrol)
            .ok_or_else(timed_out)?;
        if code.trim().is_empty() {
            return Err(AppError::field(
                "code",
                "Enter the code from your authenticator app, or one of your recovery codes.",
            ));
        }
        if code.len() > 64 {
            return Err(AppError::field(
                "code",
                "That is not a code we sent or made.",
            ));
        }
        crate::domain::auth::limit_code_checks(&ctx.auth_env()).await?;
        let mut tx = UserScope::begin(ctx.db(), step.user_id).await?;
        let used = second_factor::verify(
            &mut tx,
            &ctx.state.sso.keys,
            &attempts(&ctx),
            &code,
            step.org_id,
        )
        .await?;
        let orgs = accounts::memberships(&mut tx).await?;
        tx.commit().await?;
        let how = HowSignedIn {
            method: step.method,
            break_glass: step.break_glass,
            second_factor: Some(used),
            earlier: None,
        };
        match step.org_id {
            Some(org_id) => {
                let org = orgs
                    .into_iter()
                    .find(|m| m.org_id == org_id)
                    .map(|m| lookup::OrgSummary {
                        org_id: m.org_id,
                        slug: m.slug,
                        name: m.name,
                    })
                    .ok_or(AppError::NotFound)?;
                enter_org_now(&ctx, step.user_id, &org, how, IfSsoRequired::Refuse).await
            }
            None => enter_after_authentication(&ctx, step.user_id, None, how).await,
        }
    })
    .await
}

/// What the page that sets up two-step sign-in during a sign-in shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentStep {
    pub email: String,
    pub org_name: String,
    pub setup: super::account::TotpSetup,
}

/// The sign-in this browser holds while its organization makes it set up
/// two-step sign-in; `Unauthenticated` when there is none.
#[server(prefix = "/api", endpoint = "auth/enrolment_step")]
pub async fn get_enrolment_step() -> Result<EnrolmentStep, AppError> {
    with_ctx(async move |ctx| {
        let step = live_step(&ctx).await?;
        if !step.enrol {
            return Err(AppError::Unauthenticated);
        }
        let mut tx = UserScope::begin(ctx.db(), step.user_id).await?;
        let me = accounts::profile(&mut tx).await?;
        let org_name = own_org(&mut tx, step.org_id).await?.name;
        let setup = super::account::set_up_in(&ctx, tx, me.email.clone()).await?;
        Ok(EnrolmentStep {
            email: me.email,
            org_name,
            setup,
        })
    })
    .await
}

/// The organization the step is for, if the person still belongs to it.
#[cfg(feature = "ssr")]
async fn own_org(
    tx: &mut crate::domain::tenancy::UserTx,
    org_id: Option<crate::ids::OrgId>,
) -> Result<lookup::OrgSummary, AppError> {
    accounts::memberships(tx)
        .await?
        .into_iter()
        .find(|m| Some(m.org_id) == org_id)
        .map(|m| lookup::OrgSummary {
            org_id: m.org_id,
            slug: m.slug,
            name: m.name,
        })
        .ok_or(AppError::NotFound)
}

/// Turns the authenticator on with its first code and finishes the
/// sign-in into the organization that asked for it; the recovery codes
/// are shown next, once.
#[server(prefix = "/api", endpoint = "auth/confirm_enrolment_step")]
pub async fn confirm_enrolment_step(code: String) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let step = live_step(&ctx)
            .await
            .ok()
            .filter(|s| s.enrol)
            .ok_or_else(timed_out)?;
        super::account::check_code(&code)?;
        crate::domain::auth::limit_code_checks(&ctx.auth_env()).await?;
        let ticket = session::totp_set_up_ticket(&ctx.session, step.user_id)
            .await
            .map_err(super::context::session_error)?;
        let mut tx = UserScope::begin(ctx.db(), step.user_id).await?;
        let codes = second_factor::confirm_enrolment(
            &mut tx,
            &ctx.state.sso.keys,
            &attempts(&ctx),
            &code,
            ticket.as_deref(),
        )
        .await?;
        let org = own_org(&mut tx, step.org_id).await?;
        tx.commit().await?;
        let how = HowSignedIn {
            method: step.method,
            break_glass: step.break_glass,
            second_factor: Some(second_factor::Used::Authenticator),
            earlier: None,
        };
        match crate::domain::auth::enter_org(
            ctx.db(),
            &ctx.session,
            &ctx.meta,
            step.user_id,
            &org,
            how,
        )
        .await?
        {
            crate::domain::auth::Entered::InOrg => {
                session::keep_fresh_recovery_codes(&ctx.session, step.user_id, codes)
                    .await
                    .map_err(super::context::session_error)?;
                super::navigation::redirect("/account/recovery-codes");
                Ok(())
            }
            crate::domain::auth::Entered::SsoRequired { .. } => Err(AppError::field(
                "",
                format!(
                    "{} requires single sign-on. Your authenticator app is set up; sign in with “Continue with single sign-on”.",
                    org.name
                ),
            )),
            _ => Err(AppError::Internal),
        }
    })
    .await
}
