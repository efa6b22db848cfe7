//! Accounts and authentication: sign-up, email verification, password and
//! emailed-link sign-in, password reset.
//!
//! No function here reveals whether an email address has an account: an
//! unknown address, a wrong password and a non-member get the same answer,
//! requests for mail always "succeed", and a password is hashed even when
//! there is nothing to compare it with.
//!
//! By job: [`sign_up`] (with the address check), [`sign_in`] (passwords,
//! entering an organization, switching), [`link`] (emailed sign-in links),
//! [`reset`] (forgotten passwords); the rate limits they share are here.

use super::{
    accounts::{self, ConfirmedBy, CreateUserError, NewUser, create_user},
    audit::{self, Event, Target},
    db::Db,
    mail::{self, enqueue},
    orgs::{CreateOrgError, create_organization},
    password,
    rate_limit::{self, RateLimits},
    request::RequestMeta,
    session::AuthMethod,
    tenancy::{MemberTx, Tenant, UserScope, lookup},
    tokens::{self, Purpose, TokenProblem},
};
use crate::{
    audit::AuditAction,
    error::AppError,
    ids::{OrgId, UserId},
    validation::{DisplayName, Email, NewPassword, OrgName, OrgSlug},
};
use time::Duration;

mod change;
mod link;
mod reset;
mod sign_in;
mod sign_up;
mod step_up;

pub use change::*;
pub use link::*;
pub use reset::*;
pub use sign_in::*;
pub use sign_up::*;
pub use step_up::*;

/// How long each kind of emailed link works.
pub const VERIFY_EMAIL_TTL: Duration = Duration::hours(24);
pub const RESET_PASSWORD_TTL: Duration = Duration::minutes(60);
pub const SIGN_IN_LINK_TTL: Duration = Duration::minutes(15);

/// Where emailed links point, and the limits to apply.
#[derive(Clone, Debug)]
pub struct AuthEnv<'a> {
    pub db: &'a Db,
    pub base_url: &'a str,
    pub limits: &'a RateLimits,
    pub meta: &'a RequestMeta,
}

impl AuthEnv<'_> {
    fn ip_bucket(&self, what: &str) -> String {
        format!("{what}:ip:{}", rate_limit::client_network(self.meta.ip))
    }
}

fn account_bucket(what: &str, email: &str) -> String {
    format!("{what}:account:{}", email.trim().to_lowercase())
}

impl AuthEnv<'_> {
    /// One account as seen from this client address: failures and mail
    /// requests are counted here first, so that someone else's attempts
    /// throttle them, not the account's owner on their own address.
    fn account_from_here(&self, what: &str, email: &str) -> String {
        let network = rate_limit::client_network(self.meta.ip);
        format!("{}:ip:{network}", account_bucket(what, email))
    }
}

/// The budget of wrong passwords for one account, shared by the login
/// pages and step-up so that neither is a better guessing oracle than the
/// other: each attempt counts against the client address; while the
/// account's failures from here, or from anywhere, are spent, the right
/// password is refused too.
pub(super) struct PasswordBudget {
    from_here: String,
    anywhere: String,
}

impl PasswordBudget {
    /// Counts the attempt and checks that the account may try now.
    pub(super) async fn open(env: &AuthEnv<'_>, email: &str) -> Result<Self, AppError> {
        let budget = PasswordBudget {
            from_here: env.account_from_here("sign_in_failures", email),
            anywhere: account_bucket("sign_in_failures", email),
        };
        rate_limit::hit(env.db, &env.ip_bucket("sign_in"), env.limits.sign_in_per_ip).await?;
        rate_limit::check(
            env.db,
            &budget.from_here,
            env.limits.sign_in_failures_per_account,
        )
        .await?;
        rate_limit::check(
            env.db,
            &budget.anywhere,
            env.limits.sign_in_failures_per_account_anywhere,
        )
        .await?;
        Ok(budget)
    }

    /// Counts a wrong password. This attempt has been answered already; a
    /// spent budget applies to the next one.
    pub(super) async fn wrong(&self, env: &AuthEnv<'_>) -> Result<(), AppError> {
        for (bucket, limit) in [
            (&self.from_here, env.limits.sign_in_failures_per_account),
            (
                &self.anywhere,
                env.limits.sign_in_failures_per_account_anywhere,
            ),
        ] {
            match rate_limit::hit(env.db, bucket, limit).await {
                Ok(()) | Err(AppError::RateLimited { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Counts one attempt to set a password with an emailed token (a reset or
/// an invitation for a new account) against the client address, like a
/// sign-in: each one costs a password hash when its token is good.
pub async fn limit_password_setting(env: &AuthEnv<'_>) -> Result<(), AppError> {
    rate_limit::hit(
        env.db,
        &env.ip_bucket("set_password"),
        env.limits.sign_in_per_ip,
    )
    .await
}

/// Counts one second-factor code check (sign-in step, set-up, turning off,
/// new recovery codes) against the client address, like a sign-in: the
/// per-account lock stops guessing, this stops one client from tying up
/// the server with checks for many accounts.
pub async fn limit_code_checks(env: &AuthEnv<'_>) -> Result<(), AppError> {
    rate_limit::hit(
        env.db,
        &env.ip_bucket("second_factor"),
        env.limits.sign_in_per_ip,
    )
    .await
}

/// Counts one new organization against the client address, like a sign-up:
/// every org comes with its own invitation allowance and its own name in
/// mail, so creating them is bounded too.
pub async fn limit_org_creation(env: &AuthEnv<'_>) -> Result<(), AppError> {
    rate_limit::hit(
        env.db,
        &env.ip_bucket("create_org"),
        env.limits.sign_up_per_ip,
    )
    .await
}

/// Counts one emailed-link request against the client address and the
/// account (`email`); refuses once either is over its limit.
pub async fn limit_email_requests(env: &AuthEnv<'_>, email: &str) -> Result<(), AppError> {
    rate_limit::hit(
        env.db,
        &env.ip_bucket("email"),
        env.limits.email_requests_per_ip,
    )
    .await?;
    rate_limit::hit(
        env.db,
        &env.account_from_here("email", email),
        env.limits.email_requests_per_account,
    )
    .await?;
    rate_limit::hit(
        env.db,
        &account_bucket("email", email),
        env.limits.email_requests_per_account_anywhere,
    )
    .await?;
    Ok(())
}
