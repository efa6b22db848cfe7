//! Confirming, during a session, that the person at the keyboard is the
//! account's owner before a sensitive change (step-up): their password, or
//! a current code from their authenticator app. A session that signed in
//! or confirmed within the policy's window does not ask again.
//!
//! Wrong answers count like wrong sign-in passwords and wrong second-step
//! codes (the same buckets), so a stolen session is no better a guessing
//! oracle than the login page.

use super::{AuthEnv, PasswordBudget};
use crate::{
    audit::AuditAction,
    domain::{
        audit::{self, Event},
        password,
        second_factor::{self, Attempts},
        sso::SecretKeys,
        tenancy::{Tenant, UserScope, lookup},
    },
    error::AppError,
    ids::{OrgId, UserId},
};

pub use crate::error::STEP_UP_FIELD;

const WRONG: &str =
    "That is not your password or a current code from your authenticator app. Try again.";

/// Who is confirming: the signed-in member of `org_id`.
pub struct Confirming<'a> {
    pub user_id: UserId,
    pub email: &'a str,
    pub org_id: OrgId,
}

/// Checks `answer` (a password, or six digits from the authenticator app)
/// for the signed-in person, and records the outcome in the org's audit
/// log. Returns how they confirmed (`password` or `authenticator`).
#[tracing::instrument(skip_all, fields(user_id = %who.user_id, org_id = %who.org_id))]
pub async fn confirm_identity(
    env: &AuthEnv<'_>,
    keys: &SecretKeys,
    who: &Confirming<'_>,
    answer: &str,
) -> Result<&'static str, AppError> {
    // A code may come with spaces around it; a password is checked as typed
    // (spaces at its ends are part of it, as at the login page).
    let code = answer.trim();
    if code.is_empty() {
        return Err(AppError::field(
            STEP_UP_FIELD,
            "Enter your password or a code from your authenticator app.",
        ));
    }
    if answer.len() > 1024 {
        return Err(AppError::field(STEP_UP_FIELD, WRONG));
    }
    let method = if second_factor::looks_like_totp(code) {
        super::limit_code_checks(env).await?;
        let mut tx = UserScope::begin(env.db, who.user_id).await?;
        let attempts = Attempts {
            db: env.db,
            limits: env.limits,
            meta: env.meta,
            base_url: env.base_url,
        };
        match second_factor::verify(&mut tx, keys, &attempts, code, Some(who.org_id)).await {
            // Its failures are counted and recorded by the check itself.
            Ok(_) => tx.commit().await?,
            Err(second_factor::SecondFactorError::LockedOut { retry_after_secs }) => {
                return Err(AppError::RateLimited { retry_after_secs });
            }
            Err(
                second_factor::SecondFactorError::WrongCode
                | second_factor::SecondFactorError::CodeAlreadyUsed,
            ) => return Err(AppError::field(STEP_UP_FIELD, WRONG)),
            Err(second_factor::SecondFactorError::NotEnrolled) => {
                drop(tx);
                record_confirmation(
                    env,
                    who,
                    AuditAction::IdentityConfirmFailed,
                    "authenticator",
                )
                .await?;
                return Err(AppError::field(STEP_UP_FIELD, WRONG));
            }
            Err(other) => return Err(other.into()),
        }
        "authenticator"
    } else {
        let budget = PasswordBudget::open(env, who.email).await?;
        let stored = lookup::user_for_sign_in(env.db, who.email)
            .await?
            .filter(|identity| identity.user_id == who.user_id)
            .and_then(|identity| identity.password_hash);
        if !password::verify(answer.to_string(), stored).await? {
            budget.wrong(env).await?;
            record_confirmation(env, who, AuditAction::IdentityConfirmFailed, "password").await?;
            return Err(AppError::field(STEP_UP_FIELD, WRONG));
        }
        "password"
    };
    record_confirmation(env, who, AuditAction::IdentityConfirmed, method).await?;
    Ok(method)
}

/// In its own transaction: a failure is kept although the action it was
/// for is not done.
pub(super) async fn record_confirmation(
    env: &AuthEnv<'_>,
    who: &Confirming<'_>,
    action: AuditAction,
    method: &str,
) -> Result<(), AppError> {
    let mut tx = Tenant::begin_without_membership(env.db, who.org_id, Some(who.user_id)).await?;
    audit::record(
        &mut tx,
        env.meta,
        Event::new(action)
            .actor(Some(who.user_id), Some(who.email.to_string()))
            .details(serde_json::json!({ "method": method })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
