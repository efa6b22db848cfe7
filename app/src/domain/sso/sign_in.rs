//! Who an SSO sign-in lets in.
//!
//! 1. An identity (issuer, subject) the connection linked before signs in
//!    its member, whatever email the provider sends now.
//! 2. Otherwise the provider's email must be verified (or the connection
//!    set to trust it). An existing account with that email is never
//!    signed in on the strength of the email: the person proves the
//!    account once (its password, or a link mailed to it, in the same
//!    browser), and only then is the identity linked. A non-member joins
//!    that way only if the email is in one of the org's verified domains.
//! 3. A new person of a verified domain gets an account, the connection's
//!    default role and the link at once (just-in-time membership).

use super::{
    connection::{self, Connection},
    domains,
    identity::{self, LinkedBy},
    oidc::Claims,
};
use crate::{
    audit::AuditAction,
    domain::{
        accounts::{CreateUserError, NewUser, create_user},
        audit::{self, Event, Target},
        db::Db,
        request::RequestMeta,
        tenancy::{OrgTx, Tenant, lookup},
    },
    error::AppError,
    ids::{OrgId, UserId},
    validation::{DisplayName, Email},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a validated SSO identity was still not let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    EmailMissing,
    EmailUnverified,
    /// Not a member, and the email's domain is not a verified domain of
    /// the organization.
    DomainNotVerified,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::EmailMissing => "email_missing",
            Refusal::EmailUnverified => "email_unverified",
            Refusal::DomainNotVerified => "domain_not_verified",
        }
    }
}

/// What a validated identity comes to.
#[derive(Debug)]
pub enum Admission {
    /// Sign this member in.
    Enter(UserId),
    /// An existing account has the provider's email: it must be proved
    /// before the identity is linked. Nobody is signed in yet.
    Prove(Box<PendingLink>),
}

/// An identity waiting for its account to be proved, kept in the browser's
/// server-side session (so the proof must come from the same browser).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    pub org_id: OrgId,
    pub org_slug: String,
    pub org_name: String,
    pub connection_id: Uuid,
    pub issuer: String,
    pub subject: String,
    /// The existing account, and its address as stored.
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    /// Not a member yet: joins (default role) once proved.
    pub join: bool,
    /// The account has a password of its own that may prove it (a password
    /// of an unconfirmed account proves nothing: anyone could have set it).
    pub password_allowed: bool,
    /// A confirmation link was mailed.
    pub email_sent: bool,
    /// The hash of the last link mailed: only that one completes this link
    /// (not a link mailed for another sign-in of the same account).
    #[serde(default)]
    pub email_token_hash: Option<Vec<u8>>,
    /// Unix milliseconds.
    pub started_at: i64,
}

impl PendingLink {
    /// Proving the account must happen within this time.
    pub const LIFETIME_MS: i64 = 15 * 60 * 1000;

    pub fn is_fresh(&self, now: i64) -> bool {
        now - self.started_at <= Self::LIFETIME_MS
    }
}

/// Decides what the identity `claims` may do in `org` through `connection`,
/// creating the account and membership of a new person of a verified domain.
pub async fn admit(
    db: &Db,
    meta: &RequestMeta,
    org: &lookup::OrgSummary,
    connection: &Connection,
    claims: &Claims,
) -> Result<Result<Admission, Refusal>, AppError> {
    let mut tx = Tenant::begin_without_membership(db, org.org_id, None).await?;
    let linked = identity::signed_in(&mut tx, connection, &claims.subject).await?;
    tx.commit().await?;
    if let Some(user_id) = linked {
        return Ok(Ok(Admission::Enter(user_id)));
    }

    let Some(email) = claims.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
        return Ok(Err(Refusal::EmailMissing));
    };
    if claims.email_verified != Some(true) && !connection.trust_unverified_email {
        return Ok(Err(Refusal::EmailUnverified));
    }
    let existing = lookup::user_for_sign_in(db, email.as_str()).await?;
    let member = match &existing {
        Some(user) => Tenant::is_member(db, org.org_id, user.user_id).await?,
        None => false,
    };
    if !member && !domain_verified(db, org.org_id, &email).await? {
        return Ok(Err(Refusal::DomainNotVerified));
    }
    if let Some(user) = existing {
        return Ok(Ok(Admission::Prove(Box::new(PendingLink {
            org_id: org.org_id,
            org_slug: org.slug.clone(),
            org_name: org.name.clone(),
            connection_id: connection.id,
            issuer: connection.issuer_url.clone(),
            subject: claims.subject.clone(),
            user_id: user.user_id,
            email: user.email,
            display_name: user.display_name,
            join: !member,
            password_allowed: user.password_hash.is_some() && user.email_verified_at.is_some(),
            email_sent: false,
            email_token_hash: None,
            started_at: crate::domain::session::now(),
        }))));
    }

    // A new person of a verified domain: account, membership and link.
    let name = claims
        .name
        .as_deref()
        .and_then(|n| DisplayName::parse(n).ok())
        .or_else(|| DisplayName::parse(email.as_str().split('@').next().unwrap_or_default()).ok())
        .ok_or(AppError::Internal)?;
    let new_user = NewUser {
        email: email.clone(),
        display_name: name,
        password_hash: None,
        email_verified: claims.email_verified == Some(true),
    };
    let user_tx = match create_user(db, &new_user).await {
        Ok(user_tx) => user_tx,
        // Created a moment ago by a concurrent sign-in: start over.
        Err(CreateUserError::EmailTaken) => {
            return Err(AppError::Conflict("Please try signing in again.".into()));
        }
        Err(CreateUserError::Database(e)) => return Err(e.into()),
    };
    let user_id = user_tx.user_id();
    let mut tx = user_tx.enter_org_without_membership(org.org_id).await?;
    join(&mut tx, meta, connection, user_id, email.as_str()).await?;
    // Linked only when the provider vouches for the address: an account
    // made from an unverified address (the connection trusts such) could
    // be taken over later by the address's real owner, and the link would
    // keep letting the provider's person in as them. Unlinked, their next
    // sign-in proves the account by mail, like any existing one.
    if claims.email_verified == Some(true) {
        let who = (user_id, email.as_str());
        record_link(
            &mut tx,
            meta,
            connection,
            &claims.subject,
            who,
            LinkedBy::JustInTime,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(Admission::Enter(user_id)))
}

/// Why a proved link could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkProblem {
    /// The connection was changed or removed since the sign-in.
    ConnectionChanged,
    /// The account is no longer a member (removed meanwhile).
    NoLongerMember,
}

/// Links the pending identity to its account, now proved by `proof`, in
/// `tx` (the org of the link, acting for its user): the membership first
/// when the person joins, then the link, both recorded.
pub async fn complete_link(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    pending: &PendingLink,
    proof: LinkedBy,
) -> Result<Result<(), LinkProblem>, AppError> {
    let Some(connection) = connection::load(tx)
        .await?
        .filter(|c| c.id == pending.connection_id && c.issuer_url == pending.issuer)
    else {
        return Ok(Err(LinkProblem::ConnectionChanged));
    };
    if pending.join {
        join(tx, meta, &connection, pending.user_id, &pending.email).await?;
    } else {
        let still = sqlx::query_scalar!(
            r#"select exists (select 1 from membership where org_id = $1 and user_id = $2) as "x!""#,
            tx.org_id().0,
            pending.user_id.0
        )
        .fetch_one(tx.conn())
        .await?;
        if !still {
            return Ok(Err(LinkProblem::NoLongerMember));
        }
    }
    let who = (pending.user_id, pending.email.as_str());
    record_link(tx, meta, &connection, &pending.subject, who, proof).await?;
    Ok(Ok(()))
}

/// Links `subject` to the member `who` (id, address) and records it.
async fn record_link(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    connection: &Connection,
    subject: &str,
    who: (UserId, &str),
    how: LinkedBy,
) -> Result<(), AppError> {
    let (user_id, email) = who;
    let replaced = identity::link(tx, connection, subject, user_id, how).await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::SsoIdentityLinked)
            .actor(Some(user_id), Some(email.to_string()))
            .target(Target::user(user_id, email))
            .details(serde_json::json!({
                "issuer": connection.issuer_url,
                "subject": subject,
                "linked_by": how.as_str(),
                "replaced_subject": replaced,
            })),
    )
    .await?;
    Ok(())
}

/// Records that a sign-in reached an existing account that must be proved
/// before its identity is linked.
pub async fn record_link_started(
    db: &Db,
    meta: &RequestMeta,
    pending: &PendingLink,
) -> Result<(), AppError> {
    let mut tx = Tenant::begin_without_membership(db, pending.org_id, None).await?;
    audit::record(
        &mut tx,
        meta,
        Event::new(AuditAction::SsoLinkStarted)
            .actor(Some(pending.user_id), Some(pending.email.clone()))
            .details(serde_json::json!({
                "issuer": pending.issuer,
                "subject": pending.subject,
                "joins": pending.join,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Just-in-time membership with the connection's default role.
async fn join(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    connection: &Connection,
    user_id: UserId,
    email: &str,
) -> Result<(), sqlx::Error> {
    let added = sqlx::query!(
        "insert into membership (org_id, user_id, role) values ($1, $2, $3) on conflict (org_id, user_id) do nothing",
        tx.org_id().0,
        user_id.0,
        connection.default_role.as_str()
    )
    .execute(tx.conn())
    .await?;
    if added.rows_affected() == 1 {
        audit::record(
            tx,
            meta,
            Event::new(AuditAction::MemberJoinedViaSso)
                .actor(Some(user_id), Some(email.to_string()))
                .target(Target::user(user_id, email))
                .details(
                    serde_json::json!({ "email": email, "role": connection.default_role.as_str() }),
                ),
        )
        .await?;
    }
    Ok(())
}

async fn domain_verified(db: &Db, org_id: OrgId, email: &Email) -> Result<bool, sqlx::Error> {
    let mut check = Tenant::begin_without_membership(db, org_id, None).await?;
    let verified = domains::is_verified(&mut check, email.domain()).await?;
    check.commit().await?;
    Ok(verified)
}
