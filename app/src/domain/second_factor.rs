//! Second factors: an authenticator app (TOTP, RFC 6238, SHA-1, six digits,
//! 30-second steps — what every app understands) and ten single-use
//! recovery codes.
//!
//! Everything here runs in the person's own user scope ([`UserTx`]): the
//! tables are invisible in any organization's transaction. The shared
//! secret is sealed at rest with the server's secret keys and opens only for
//! the user it was made for. A code is accepted once: the step it matched
//! is stored, and a code for that step or an earlier one is refused, so a
//! code seen over someone's shoulder is worthless once used. Wrong codes
//! are counted per account; after a few the second step is locked for the
//! rest of the window, whatever the client address.

use super::{
    audit::{self, Event},
    db::Db,
    rate_limit::{self, RateLimits},
    request::RequestMeta,
    sso::crypto::SecretKeys,
    tenancy::UserTx,
};
use crate::{audit::AuditAction, error::AppError, ids::UserId};
use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret, Totp};

/// The name authenticator apps show above the code.
pub const ISSUER: &str = "Trellis";
/// How many recovery codes a person gets at a time.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// An enrolment not confirmed within this long starts over with a new secret.
const ENROLMENT_TTL: time::Duration = time::Duration::minutes(15);

/// Why a second-factor step did not go through.
#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    #[error(
        "That code is not right. Check your authenticator app (or the recovery code) and try again."
    )]
    WrongCode,
    #[error("That code has already been used. Wait for the next one in your authenticator app.")]
    CodeAlreadyUsed,
    #[error("Two-step sign-in is already on for your account.")]
    AlreadyEnrolled,
    #[error("Two-step sign-in is not on for your account.")]
    NotEnrolled,
    #[error(
        "This set-up has expired, or was started in another browser. Reload the page for a new code to scan."
    )]
    SetUpExpired,
    #[error(
        "{0} requires two-step sign-in, so it cannot be turned off while you are a member there."
    )]
    RequiredBy(String),
    #[error("Too many wrong codes. Try again in {retry_after_secs} seconds.")]
    LockedOut { retry_after_secs: u64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] AppError),
    /// The stored secret does not open with this server's keys.
    #[error("the stored authenticator secret cannot be opened")]
    Sealed,
}

impl From<SecondFactorError> for AppError {
    fn from(e: SecondFactorError) -> Self {
        match e {
            SecondFactorError::WrongCode | SecondFactorError::CodeAlreadyUsed => {
                AppError::field("code", e.to_string())
            }
            SecondFactorError::AlreadyEnrolled
            | SecondFactorError::NotEnrolled
            | SecondFactorError::RequiredBy(_) => AppError::Conflict(e.to_string()),
            SecondFactorError::SetUpExpired => AppError::field("", e.to_string()),
            SecondFactorError::LockedOut { retry_after_secs } => {
                AppError::RateLimited { retry_after_secs }
            }
            SecondFactorError::Database(e) => e.into(),
            SecondFactorError::Other(e) => e,
            SecondFactorError::Sealed => {
                tracing::error!("a stored TOTP secret does not open with the configured keys");
                AppError::Internal
            }
        }
    }
}

/// What a person has set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub totp_since: Option<time::OffsetDateTime>,
    pub recovery_codes_left: i64,
}

impl Status {
    pub fn enrolled(&self) -> bool {
        self.totp_since.is_some()
    }
}

pub async fn status(tx: &mut UserTx) -> Result<Status, sqlx::Error> {
    let user_id = tx.user_id();
    let row = sqlx::query!(
        r#"select (select confirmed_at from user_totp where user_id = $1) as totp_since,
                  (select count(*) from recovery_code where user_id = $1 and used_at is null) as "left!""#,
        user_id.0
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(Status {
        totp_since: row.totp_since,
        recovery_codes_left: row.left,
    })
}

/// Whether the account has a second factor (readable before any context,
/// for the sign-in gate).
pub async fn has_second_factor(db: &Db, user_id: UserId) -> Result<bool, sqlx::Error> {
    let mut tx = super::tenancy::UserScope::begin(db, user_id).await?;
    let on = status(&mut tx).await?.enrolled();
    tx.commit().await?;
    Ok(on)
}

/// An enrolment waiting for its first code: what the setup page shows.
#[derive(Clone, Debug)]
pub struct Enrolment {
    /// Base32, for typing into an app by hand.
    pub secret: String,
    /// The otpauth:// URI the QR code holds.
    pub uri: String,
    /// The QR code, as inline SVG.
    pub qr_svg: String,
}

fn purpose(user_id: UserId) -> Vec<u8> {
    format!("totp:{}", user_id.0).into_bytes()
}

fn totp(secret: Secret, account: &str) -> Totp {
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', " "))
        .build()
        .expect("a 20-byte secret with SHA-1, six digits and 30-second steps is valid")
}

/// The stored secret of a person, locked for this transaction.
struct Stored {
    secret: Secret,
    confirmed_at: Option<time::OffsetDateTime>,
    last_used_step: Option<i64>,
    created_at: time::OffsetDateTime,
    ticket_hash: Option<Vec<u8>>,
}

async fn stored_secret(
    tx: &mut UserTx,
    keys: &SecretKeys,
) -> Result<Option<Stored>, SecondFactorError> {
    let user_id = tx.user_id();
    let Some(row) = sqlx::query!(
        "select secret_key_id, secret_sealed, confirmed_at, last_used_step, created_at, setup_ticket_hash
         from user_totp where user_id = $1 for update",
        user_id.0
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Ok(None);
    };
    let text = keys
        .open(&row.secret_key_id, &row.secret_sealed, &purpose(user_id))
        .map_err(|_| SecondFactorError::Sealed)?;
    let secret = Secret::try_from_base32(&text).map_err(|_| SecondFactorError::Sealed)?;
    Ok(Some(Stored {
        secret,
        confirmed_at: row.confirmed_at,
        last_used_step: row.last_used_step,
        created_at: row.created_at,
        ticket_hash: row.setup_ticket_hash,
    }))
}

impl Stored {
    /// An unconfirmed set-up still open to the browser holding `ticket`.
    fn open_to(&self, ticket: Option<&str>) -> bool {
        self.confirmed_at.is_none()
            && time::OffsetDateTime::now_utc() - self.created_at < ENROLMENT_TTL
            && ticket.is_some_and(|t| self.ticket_hash.as_deref() == Some(&hash_ticket(t)[..]))
    }
}

fn hash_ticket(ticket: &str) -> Vec<u8> {
    Sha256::digest(ticket.as_bytes()).to_vec()
}

/// Starts (or shows again) enrolling an authenticator app: a new secret,
/// kept sealed and unconfirmed until [`confirm_enrolment`]. The set-up
/// belongs to the browser that started it, through `ticket` (kept in its
/// session): that browser sees the same secret again for a while, so a
/// reload does not invalidate what was scanned; any other browser — even
/// one signed in to the same account — starts a new secret instead, so a
/// password thief cannot read the secret the owner is about to confirm.
/// Returns the set-up and the ticket to keep.
#[tracing::instrument(skip_all)]
pub async fn begin_enrolment(
    tx: &mut UserTx,
    keys: &SecretKeys,
    account: &str,
    ticket: Option<&str>,
) -> Result<(Enrolment, String), SecondFactorError> {
    let user_id = tx.user_id();
    let (secret, ticket) = match stored_secret(tx, keys).await? {
        Some(Stored {
            confirmed_at: Some(_),
            ..
        }) => return Err(SecondFactorError::AlreadyEnrolled),
        Some(stored) if stored.open_to(ticket) => {
            (stored.secret, ticket.expect("checked").to_string())
        }
        _ => {
            let secret = Secret::generate();
            let ticket = new_ticket();
            let (key_id, sealed) = keys.seal(&secret.to_base32(), &purpose(user_id));
            sqlx::query!(
                "insert into user_totp (user_id, secret_key_id, secret_sealed, setup_ticket_hash)
                 values ($1, $2, $3, $4)
                 on conflict (user_id) do update
                 set secret_key_id = excluded.secret_key_id, secret_sealed = excluded.secret_sealed,
                     setup_ticket_hash = excluded.setup_ticket_hash,
                     created_at = now(), last_used_step = null
                 where user_totp.confirmed_at is null",
                user_id.0,
                key_id,
                sealed,
                hash_ticket(&ticket)
            )
            .execute(tx.conn())
            .await?;
            (secret, ticket)
        }
    };
    let totp = totp(secret, account);
    let uri = totp.to_url().expect("issuer and account name are set");
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .expect("an otpauth URI fits a QR code")
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let enrolment = Enrolment {
        secret: totp.secret().to_base32(),
        uri,
        qr_svg,
    };
    Ok((enrolment, ticket))
}

fn new_ticket() -> String {
    use base64::Engine;
    let bytes: [u8; 18] = rand::rngs::OsRng.r#gen();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Where a code check counts its failures.
pub struct Attempts<'a> {
    pub db: &'a Db,
    pub limits: &'a RateLimits,
    pub meta: &'a RequestMeta,
    /// Where the mail about a change points.
    pub base_url: &'a str,
}

impl Attempts<'_> {
    fn bucket(user_id: UserId) -> String {
        format!("second_factor_failures:user:{}", user_id.0)
    }

    async fn refuse_if_locked(&self, user_id: UserId) -> Result<(), SecondFactorError> {
        match rate_limit::check(
            self.db,
            &Self::bucket(user_id),
            self.limits.second_factor_failures_per_account,
        )
        .await
        {
            Ok(()) => Ok(()),
            Err(AppError::RateLimited { retry_after_secs }) => {
                Err(SecondFactorError::LockedOut { retry_after_secs })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Counts a wrong code (the refusal stays the wrong-code message; the
    /// lock applies from the next attempt). A failure to count fails the
    /// attempt: an uncounted guess must not go through.
    async fn count_failure(&self, user_id: UserId) -> Result<(), SecondFactorError> {
        match rate_limit::hit(
            self.db,
            &Self::bucket(user_id),
            self.limits.second_factor_failures_per_account,
        )
        .await
        {
            Ok(()) | Err(AppError::RateLimited { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Checks a six-digit code against the secret, once per step. Returns the
/// step it matched.
async fn accept_totp(
    tx: &mut UserTx,
    secret: Secret,
    last_used_step: Option<i64>,
    code: &str,
) -> Result<i64, SecondFactorError> {
    let totp = totp(secret, "check");
    let step = totp
        .check_current(code)
        .ok_or(SecondFactorError::WrongCode)? as i64;
    if last_used_step.is_some_and(|last| step <= last) {
        return Err(SecondFactorError::CodeAlreadyUsed);
    }
    // The row is locked (`for update`), so two requests with one code
    // cannot both get here; the condition keeps that true if it were not.
    let moved = sqlx::query!(
        "update user_totp set last_used_step = $2
         where user_id = $1 and (last_used_step is null or last_used_step < $2)",
        tx.user_id().0,
        step
    )
    .execute(tx.conn())
    .await?;
    if moved.rows_affected() != 1 {
        return Err(SecondFactorError::CodeAlreadyUsed);
    }
    Ok(step)
}

/// Fresh recovery codes (replacing any earlier ones), returned once; only
/// their hashes are kept.
async fn new_recovery_codes(tx: &mut UserTx) -> Result<Vec<String>, sqlx::Error> {
    let user_id = tx.user_id();
    sqlx::query!("delete from recovery_code where user_id = $1", user_id.0)
        .execute(tx.conn())
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT).map(|_| recovery_code()).collect();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| hash_code(c)).collect();
    sqlx::query!(
        "insert into recovery_code (user_id, code_hash) select $1, unnest($2::bytea[])",
        user_id.0,
        &hashes
    )
    .execute(tx.conn())
    .await?;
    Ok(codes)
}

/// Ten characters from an alphabet without look-alikes, shown as
/// `xxxxx-xxxxx` (50 bits).
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let chars: String = (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// How a typed recovery code is compared: case, spaces and dashes ignored.
fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn hash_code(code: &str) -> Vec<u8> {
    Sha256::digest(normalise_recovery_code(code).as_bytes()).to_vec()
}

/// The six digits of an authenticator code (spaces allowed, as apps show
/// them), or `None` for anything else (a recovery code).
/// Whether `answer` has the shape of an authenticator code (six digits,
/// spaces allowed), as opposed to a password, which is longer.
pub fn looks_like_totp(answer: &str) -> bool {
    totp_digits(answer).is_some()
}

fn totp_digits(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

/// Mails the account that its two-step sign-in changed, in the same
/// transaction as the change.
async fn tell_owner(tx: &mut UserTx, base_url: &str, what: &str) -> Result<(), sqlx::Error> {
    let me = super::accounts::profile(tx).await?;
    let mail = super::mail::second_factor_changed(
        &me.email,
        &me.display_name,
        what,
        format!("{base_url}/account"),
    );
    super::mail::enqueue(tx.conn(), &mail).await
}

async fn refresh_flag(tx: &mut UserTx) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update app_user set second_factor_at =
             (select confirmed_at from user_totp where user_id = $1 and confirmed_at is not null)
         where user_id = $1",
        tx.user_id().0
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Confirms enrolment with the first code from the app; returns the
/// recovery codes, to be shown once. Audited in each of the person's orgs.
#[tracing::instrument(skip_all)]
pub async fn confirm_enrolment(
    tx: &mut UserTx,
    keys: &SecretKeys,
    attempts: &Attempts<'_>,
    code: &str,
    ticket: Option<&str>,
) -> Result<Vec<String>, SecondFactorError> {
    let user_id = tx.user_id();
    let stored = match stored_secret(tx, keys).await? {
        Some(Stored {
            confirmed_at: Some(_),
            ..
        }) => return Err(SecondFactorError::AlreadyEnrolled),
        Some(stored) if stored.open_to(ticket) => stored,
        _ => return Err(SecondFactorError::SetUpExpired),
    };
    // Checked under the row lock, so concurrent tries are counted in turn.
    attempts.refuse_if_locked(user_id).await?;
    if let Err(e) = accept_totp(tx, stored.secret, stored.last_used_step, code).await {
        attempts.count_failure(user_id).await?;
        return Err(e);
    }
    sqlx::query!(
        "update user_totp set confirmed_at = now(), setup_ticket_hash = null where user_id = $1",
        user_id.0
    )
    .execute(tx.conn())
    .await?;
    refresh_flag(tx).await?;
    let codes = new_recovery_codes(tx).await?;
    audit::record_for_user(
        tx,
        attempts.meta,
        Event::new(AuditAction::TotpEnabled),
        None,
    )
    .await?;
    tell_owner(tx, attempts.base_url, "turned on").await?;
    Ok(codes)
}

/// Which factor a sign-in's second step used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Used {
    Authenticator,
    RecoveryCode {
        left: i64,
    },
    /// Passed earlier in the same sign-in (at `/login`, before the org
    /// picker or a new organization).
    Earlier,
}

impl Used {
    pub fn as_str(self) -> &'static str {
        match self {
            Used::Authenticator => "authenticator",
            Used::RecoveryCode { .. } => "recovery_code",
            Used::Earlier => "earlier_in_sign_in",
        }
    }
}

/// Checks a second-factor code (an authenticator code, or one of the
/// recovery codes, which is then spent). A wrong code is counted and, when
/// `org` is known, recorded there; in any case in the person's orgs.
#[tracing::instrument(skip_all)]
pub async fn verify(
    tx: &mut UserTx,
    keys: &SecretKeys,
    attempts: &Attempts<'_>,
    code: &str,
    org: Option<crate::ids::OrgId>,
) -> Result<Used, SecondFactorError> {
    let user_id = tx.user_id();
    let Some(Stored {
        secret,
        confirmed_at: Some(_),
        last_used_step: last,
        ..
    }) = stored_secret(tx, keys).await?
    else {
        return Err(SecondFactorError::NotEnrolled);
    };
    // Checked under the row lock, so concurrent tries are counted in turn.
    attempts.refuse_if_locked(user_id).await?;
    let outcome = if let Some(digits) = totp_digits(code) {
        accept_totp(tx, secret, last, &digits)
            .await
            .map(|_| Used::Authenticator)
    } else {
        let spent = sqlx::query_scalar!(
            "update recovery_code set used_at = now()
             where user_id = $1 and code_hash = $2 and used_at is null returning user_id",
            user_id.0,
            hash_code(code)
        )
        .fetch_optional(tx.conn())
        .await?;
        match spent {
            Some(_) => {
                let left = status(tx).await?.recovery_codes_left;
                audit::record_for_user(
                    tx,
                    attempts.meta,
                    Event::new(AuditAction::RecoveryCodeUsed)
                        .details(serde_json::json!({ "codes_left": left })),
                    org,
                )
                .await?;
                Ok(Used::RecoveryCode { left })
            }
            None => Err(SecondFactorError::WrongCode),
        }
    };
    if let Err(e) = &outcome {
        attempts.count_failure(user_id).await?;
        let reason = match e {
            SecondFactorError::CodeAlreadyUsed => "code_reused",
            _ => "wrong_code",
        };
        record_failure(attempts, user_id, org, reason).await?;
    }
    outcome
}

/// Records a failed second step in its own transaction, so that it stays
/// even though the attempt's own transaction is rolled back.
async fn record_failure(
    attempts: &Attempts<'_>,
    user_id: UserId,
    org: Option<crate::ids::OrgId>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = super::tenancy::UserScope::begin(attempts.db, user_id).await?;
    audit::record_for_user(
        &mut tx,
        attempts.meta,
        Event::new(AuditAction::SecondFactorFailed)
            .details(serde_json::json!({ "reason": reason })),
        org,
    )
    .await?;
    tx.commit().await
}

/// Turns the authenticator off (a current code or a recovery code first);
/// the recovery codes go with it.
#[tracing::instrument(skip_all)]
pub async fn disable(
    tx: &mut UserTx,
    keys: &SecretKeys,
    attempts: &Attempts<'_>,
    code: &str,
) -> Result<(), SecondFactorError> {
    let user_id = tx.user_id();
    let requiring = sqlx::query_scalar!(
        "select o.name from organization o join membership m using (org_id)
         where m.user_id = $1 and o.mfa_required order by o.name limit 1",
        user_id.0
    )
    .fetch_optional(tx.conn())
    .await?;
    if let Some(org) = requiring {
        return Err(SecondFactorError::RequiredBy(org));
    }
    verify(tx, keys, attempts, code, None).await?;
    sqlx::query!("delete from recovery_code where user_id = $1", user_id.0)
        .execute(tx.conn())
        .await?;
    sqlx::query!("delete from user_totp where user_id = $1", user_id.0)
        .execute(tx.conn())
        .await?;
    refresh_flag(tx).await?;
    audit::record_for_user(
        tx,
        attempts.meta,
        Event::new(AuditAction::TotpDisabled),
        None,
    )
    .await?;
    tell_owner(tx, attempts.base_url, "turned off").await?;
    Ok(())
}

/// Replaces the recovery codes (a current code or a recovery code first);
/// the earlier ones stop working.
#[tracing::instrument(skip_all)]
pub async fn regenerate_recovery_codes(
    tx: &mut UserTx,
    keys: &SecretKeys,
    attempts: &Attempts<'_>,
    code: &str,
) -> Result<Vec<String>, SecondFactorError> {
    verify(tx, keys, attempts, code, None).await?;
    let codes = new_recovery_codes(tx).await?;
    audit::record_for_user(
        tx,
        attempts.meta,
        Event::new(AuditAction::RecoveryCodesRegenerated),
        None,
    )
    .await?;
    tell_owner(tx, attempts.base_url, "given new recovery codes").await?;
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_random_readable_and_typed_loosely() {
        let a = recovery_code();
        let b = recovery_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), 11);
        assert_eq!(&a[5..6], "-");
        assert!(!a.contains(['0', 'o', '1', 'l', 'i']));
        assert_eq!(hash_code(&a), hash_code(&format!(" {} ", a.to_uppercase())));
        assert_eq!(hash_code(&a), hash_code(&a.replace('-', "")));
        assert_ne!(hash_code(&a), hash_code(&b));
    }

    #[test]
    fn six_digits_are_an_authenticator_code_anything_else_a_recovery_code() {
        assert_eq!(totp_digits("123456").as_deref(), Some("123456"));
        assert_eq!(totp_digits(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(totp_digits("12345"), None);
        assert_eq!(totp_digits("abcde-fghjk"), None);
        assert_eq!(totp_digits("１２３４５６"), None);
    }
}
