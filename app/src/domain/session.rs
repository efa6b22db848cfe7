//! What the session cookie stands for. A signed-in session belongs to
//! exactly one (user, organization) pair and records how and when the user
//! authenticated; its org never changes. Before an org is chosen, a
//! just-authenticated user holds a short-lived pending sign-in, good only
//! for the org picker and for creating an organization.

use crate::ids::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;
use tower_sessions::Session;

/// How a user proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    Password,
    EmailLink,
    Sso,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::EmailLink => "email_link",
            AuthMethod::Sso => "sso",
        }
    }
}

/// A signed-in session in one organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSession {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub method: AuthMethod,
    /// Unix milliseconds of the authentication itself.
    pub authenticated_at: i64,
    /// Unix milliseconds of the last request, updated at most once a minute.
    pub last_seen_at: i64,
    /// An owner's password sign-in while the org requires single sign-on
    /// (the way back in when the provider is broken). Only such sessions
    /// and SSO ones count in an org that requires SSO.
    #[serde(default)]
    pub break_glass: bool,
    /// The sign-in also passed a second factor (authenticator or recovery code).
    #[serde(default)]
    pub second_factor: bool,
    /// Unix milliseconds of the last time the person confirmed it was them
    /// (their password or a code) for a sensitive action; 0 if never.
    #[serde(default)]
    pub confirmed_at: i64,
    /// The id of this session's row in `user_session` (what the person and
    /// their admins see and end; see [`super::sessions`]). A session
    /// without one (made before sessions had rows) counts as ended.
    #[serde(default)]
    pub session_id: uuid::Uuid,
}

/// A user who authenticated at `/login` and has not picked an org yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub user_id: UserId,
    pub method: AuthMethod,
    pub authenticated_at: i64,
    /// The second step is done too (the account has a second factor).
    #[serde(default)]
    pub second_factor: bool,
}

/// A sign-in whose first factor is proven and which waits for the second
/// (the account has an authenticator app): nothing in any organization is
/// open to it. It lives as long as a pending sign-in, and a password reset
/// voids it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondStep {
    pub user_id: UserId,
    pub method: AuthMethod,
    /// The organization being entered; `None` at `/login`, where the
    /// person is routed by their organizations once the step is done.
    pub org_id: Option<OrgId>,
    pub break_glass: bool,
    pub authenticated_at: i64,
    /// The account has no second factor and the organization requires
    /// one: the step is setting one up.
    #[serde(default)]
    pub enrol: bool,
}

/// Left behind when a user switches organization: the target org's sign-in
/// then records a switch rather than a plain sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchIntent {
    pub from_org: OrgId,
    pub from_org_name: String,
    pub to_org: OrgId,
    pub user_id: UserId,
}

/// Left behind by sign-up, so that opening the verification link in the same
/// browser signs the new owner straight into their organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUpMarker {
    pub user_id: UserId,
    pub org_id: OrgId,
}

const ORG_SESSION: &str = "org_session";
const PENDING: &str = "pending_sign_in";
const SWITCH: &str = "switch_intent";
const SIGN_UP: &str = "sign_up";
const SECOND_STEP: &str = "second_step";
const FRESH_RECOVERY_CODES: &str = "fresh_recovery_codes";
const TOTP_SET_UP: &str = "totp_set_up";

/// How long sessions live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Signed out after this long without a request.
    pub idle: Duration,
    /// Signed out this long after authenticating, however active.
    pub absolute: Duration,
    /// How long a pending sign-in (org picker) lasts.
    pub pending: Duration,
    /// How recent an authentication a sensitive action needs (changing
    /// single sign-on, admins and owners, removing members, retention,
    /// deleting the org, the account's own security).
    pub step_up: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(8 * 3600),
            absolute: Duration::from_secs(24 * 3600),
            pending: Duration::from_secs(10 * 60),
            step_up: Duration::from_secs(10 * 60),
        }
    }
}

/// Unix milliseconds. Seconds are too coarse: a password reset and the
/// sign-in right after it can fall within the same second.
pub fn now() -> i64 {
    millis(OffsetDateTime::now_utc())
}

fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Why a stored session no longer counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staleness {
    Idle,
    TooOld,
    /// The password was reset after this session authenticated.
    Revoked,
}

impl OrgSession {
    /// Whether the session still counts at `now`, given the user's cut-off.
    pub fn staleness(
        &self,
        policy: &SessionPolicy,
        now: i64,
        valid_after: OffsetDateTime,
    ) -> Option<Staleness> {
        if now - self.last_seen_at > policy.idle.as_millis() as i64 {
            Some(Staleness::Idle)
        } else if now - self.authenticated_at > policy.absolute.as_millis() as i64 {
            Some(Staleness::TooOld)
        } else if self.authenticated_at < millis(valid_after) {
            Some(Staleness::Revoked)
        } else {
            None
        }
    }
}

/// When the person behind a sign-in proved who they are. A session made
/// from an earlier one — entering an organization from the picker, creating
/// or joining one while signed in — is as old as the sign-in behind it: it
/// is not a new sign-in, for step-up or for the absolute timeout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Proof {
    pub authenticated_at: i64,
    /// The last confirmation during the session (0: none).
    pub confirmed_at: i64,
}

impl OrgSession {
    /// A session in `org_id` for someone who authenticated with `method`
    /// just now, or at the time `earlier` gives.
    pub fn new(user_id: UserId, org_id: OrgId, method: AuthMethod, earlier: Option<Proof>) -> Self {
        let now = now();
        let proof = earlier.unwrap_or(Proof {
            authenticated_at: now,
            confirmed_at: 0,
        });
        OrgSession {
            user_id,
            org_id,
            method,
            authenticated_at: proof.authenticated_at,
            last_seen_at: now,
            break_glass: false,
            second_factor: false,
            confirmed_at: proof.confirmed_at,
            session_id: uuid::Uuid::new_v4(),
        }
    }

    pub fn proof(&self) -> Proof {
        Proof {
            authenticated_at: self.authenticated_at,
            confirmed_at: self.confirmed_at,
        }
    }

    /// Whether the person authenticated, or confirmed it was them, within
    /// the policy's step-up window before `now`.
    pub fn recently_confirmed(&self, policy: &SessionPolicy, now: i64) -> bool {
        let last = self.authenticated_at.max(self.confirmed_at);
        now - last < policy.step_up.as_millis() as i64
    }
}

impl PendingSignIn {
    pub fn proof(&self) -> Proof {
        Proof {
            authenticated_at: self.authenticated_at,
            confirmed_at: 0,
        }
    }

    pub fn is_fresh(&self, policy: &SessionPolicy, now: i64) -> bool {
        now - self.authenticated_at <= policy.pending.as_millis() as i64
    }

    /// Whether the account's sessions were ended (a password reset) after
    /// this sign-in authenticated.
    pub fn is_revoked(&self, valid_after: OffsetDateTime) -> bool {
        self.authenticated_at < millis(valid_after)
    }
}

/// The pending sign-in this browser holds, if it still counts: fresh, and
/// not voided since by a password reset (which ends every session of the
/// account, paused ones included). One that no longer counts is dropped.
pub async fn live_pending(
    db: &super::db::Db,
    session: &Session,
    policy: &SessionPolicy,
) -> Result<Option<PendingSignIn>, crate::error::AppError> {
    let session_error = |e: tower_sessions::session::Error| {
        tracing::error!(error = %e, "session store failed");
        crate::error::AppError::Internal
    };
    let Some(pending) = pending(session).await.map_err(session_error)? else {
        return Ok(None);
    };
    let mut tx = super::tenancy::UserScope::begin(db, pending.user_id).await?;
    let valid_after = sqlx::query_scalar!(
        "select sessions_valid_after from app_user where user_id = $1",
        pending.user_id.0
    )
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    match valid_after {
        Some(valid_after)
            if pending.is_fresh(policy, now()) && !pending.is_revoked(valid_after) =>
        {
            Ok(Some(pending))
        }
        _ => {
            session
                .remove::<PendingSignIn>(PENDING)
                .await
                .map_err(session_error)?;
            Ok(None)
        }
    }
}

/// The second step this browser waits for, if it still counts (as fresh as
/// a pending sign-in, and not voided by a password reset since).
pub async fn live_second_step(
    db: &super::db::Db,
    session: &Session,
    policy: &SessionPolicy,
) -> Result<Option<SecondStep>, crate::error::AppError> {
    let session_error = |e: tower_sessions::session::Error| {
        tracing::error!(error = %e, "session store failed");
        crate::error::AppError::Internal
    };
    let Some(step) = session
        .get::<SecondStep>(SECOND_STEP)
        .await
        .map_err(session_error)?
    else {
        return Ok(None);
    };
    let as_pending = PendingSignIn {
        user_id: step.user_id,
        method: step.method,
        authenticated_at: step.authenticated_at,
        second_factor: false,
    };
    let mut tx = super::tenancy::UserScope::begin(db, step.user_id).await?;
    let valid_after = sqlx::query_scalar!(
        "select sessions_valid_after from app_user where user_id = $1",
        step.user_id.0
    )
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    match valid_after {
        Some(valid_after)
            if as_pending.is_fresh(policy, now()) && !as_pending.is_revoked(valid_after) =>
        {
            Ok(Some(step))
        }
        _ => {
            session
                .remove::<SecondStep>(SECOND_STEP)
                .await
                .map_err(session_error)?;
            Ok(None)
        }
    }
}

/// Holds a sign-in at its second step, under a new session id. What else
/// the session holds stays (a switch under way, the org session being
/// left), for the sign-in to finish with.
pub async fn start_second_step(
    session: &Session,
    step: SecondStep,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(SECOND_STEP, step).await
}

/// Recovery codes just made for `user_id`, kept until the page that shows
/// them once has read them.
pub async fn keep_fresh_recovery_codes(
    session: &Session,
    user_id: UserId,
    codes: Vec<String>,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(FRESH_RECOVERY_CODES, (user_id, codes)).await
}

/// The ticket of the authenticator set-up this browser started for
/// `user_id`, if any.
pub async fn totp_set_up_ticket(
    session: &Session,
    user_id: UserId,
) -> Result<Option<String>, tower_sessions::session::Error> {
    let kept: Option<(UserId, String)> = session.get(TOTP_SET_UP).await?;
    Ok(kept.filter(|(owner, _)| *owner == user_id).map(|(_, t)| t))
}

pub async fn keep_totp_set_up_ticket(
    session: &Session,
    user_id: UserId,
    ticket: String,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(TOTP_SET_UP, (user_id, ticket)).await
}

/// Takes the recovery codes kept for `user_id`: a second read finds none.
pub async fn take_fresh_recovery_codes(
    session: &Session,
    user_id: UserId,
) -> Result<Vec<String>, tower_sessions::session::Error> {
    let kept: Option<(UserId, Vec<String>)> = session.remove(FRESH_RECOVERY_CODES).await?;
    Ok(kept
        .filter(|(owner, _)| *owner == user_id)
        .map(|(_, codes)| codes)
        .unwrap_or_default())
}

/// Reads the signed-in org session, if any.
pub async fn org_session(
    session: &Session,
) -> Result<Option<OrgSession>, tower_sessions::session::Error> {
    session.get(ORG_SESSION).await
}

pub async fn pending(
    session: &Session,
) -> Result<Option<PendingSignIn>, tower_sessions::session::Error> {
    session.get(PENDING).await
}

pub async fn switch_intent(
    session: &Session,
) -> Result<Option<SwitchIntent>, tower_sessions::session::Error> {
    session.get(SWITCH).await
}

pub async fn sign_up_marker(
    session: &Session,
) -> Result<Option<SignUpMarker>, tower_sessions::session::Error> {
    session.get(SIGN_UP).await
}

/// Starts `org_session` under a new session id, dropping anything the old
/// session held.
pub async fn start_org_session(
    session: &Session,
    org_session: OrgSession,
) -> Result<(), tower_sessions::session::Error> {
    session.clear().await;
    session.cycle_id().await?;
    session.insert(ORG_SESSION, org_session).await
}

/// Notes that the person just confirmed it was them (for sensitive
/// actions); returns the session as it now stands.
pub async fn mark_confirmed(
    session: &Session,
    current: &OrgSession,
) -> Result<OrgSession, tower_sessions::session::Error> {
    let mut updated = current.clone();
    updated.confirmed_at = now();
    updated.last_seen_at = updated.confirmed_at;
    session.insert(ORG_SESSION, updated.clone()).await?;
    Ok(updated)
}

/// Records a pending sign-in under a new session id.
pub async fn start_pending(
    session: &Session,
    user_id: UserId,
    method: AuthMethod,
    second_factor: bool,
) -> Result<(), tower_sessions::session::Error> {
    session.clear().await;
    session.cycle_id().await?;
    session
        .insert(
            PENDING,
            PendingSignIn {
                user_id,
                method,
                authenticated_at: now(),
                second_factor,
            },
        )
        .await
}

/// Notes activity, writing the session at most once a minute so that a busy
/// user does not cost a write per request. Returns whether it wrote (the
/// caller then notes the time in the session's row too).
pub async fn touch(
    session: &Session,
    current: &OrgSession,
) -> Result<bool, tower_sessions::session::Error> {
    let now = now();
    if now - current.last_seen_at >= 60_000 {
        let mut updated = current.clone();
        updated.last_seen_at = now;
        session.insert(ORG_SESSION, updated).await?;
        return Ok(true);
    }
    Ok(false)
}

/// Ends the session: deleted from the store, cookie cleared.
pub async fn end(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.flush().await
}

/// Ends the current session and leaves a fresh one holding only `intent`.
pub async fn end_for_switch(
    session: &Session,
    intent: SwitchIntent,
) -> Result<(), tower_sessions::session::Error> {
    session.flush().await?;
    session.insert(SWITCH, intent).await
}

pub async fn mark_sign_up(
    session: &Session,
    marker: SignUpMarker,
) -> Result<(), tower_sessions::session::Error> {
    session.clear().await;
    session.cycle_id().await?;
    session.insert(SIGN_UP, marker).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(authenticated_at: i64, last_seen_at: i64) -> OrgSession {
        OrgSession {
            user_id: UserId(uuid::Uuid::nil()),
            org_id: OrgId(uuid::Uuid::nil()),
            method: AuthMethod::Password,
            authenticated_at,
            last_seen_at,
            break_glass: false,
            second_factor: false,
            confirmed_at: 0,
            session_id: uuid::Uuid::nil(),
        }
    }

    #[test]
    fn a_sensitive_action_needs_a_recent_sign_in_or_confirmation() {
        let policy = SessionPolicy {
            step_up: Duration::from_secs(600),
            ..SessionPolicy::default()
        };
        let s = |secs: i64| secs * 1000;
        let signed_in = session(s(1000), s(1000));
        assert!(signed_in.recently_confirmed(&policy, s(1599)));
        assert!(!signed_in.recently_confirmed(&policy, s(1600)));
        let confirmed = OrgSession {
            confirmed_at: s(2000),
            ..signed_in
        };
        assert!(confirmed.recently_confirmed(&policy, s(2599)));
        assert!(!confirmed.recently_confirmed(&policy, s(2600)));
    }

    #[test]
    fn sessions_expire_when_idle_too_old_or_revoked() {
        let policy = SessionPolicy {
            idle: Duration::from_secs(100),
            absolute: Duration::from_secs(1000),
            pending: Duration::from_secs(10),
            step_up: Duration::from_secs(10),
        };
        let never = OffsetDateTime::UNIX_EPOCH;
        let s = |secs: i64| secs * 1000;
        assert_eq!(
            session(s(5000), s(5000)).staleness(&policy, s(5050), never),
            None
        );
        assert_eq!(
            session(s(5000), s(5000)).staleness(&policy, s(5101), never),
            Some(Staleness::Idle)
        );
        assert_eq!(
            session(s(5000), s(5990)).staleness(&policy, s(6001), never),
            Some(Staleness::TooOld)
        );
        let reset =
            OffsetDateTime::from_unix_timestamp(5000).unwrap() + time::Duration::milliseconds(400);
        assert_eq!(
            session(s(5000) + 399, s(5000)).staleness(&policy, s(5010), reset),
            Some(Staleness::Revoked)
        );
        assert_eq!(
            session(s(5000) + 401, s(5000)).staleness(&policy, s(5010), reset),
            None,
            "same second, later"
        );
    }
}
