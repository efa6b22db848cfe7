//! Invitations: an admin invites an email with a role; the invitee accepts
//! through the emailed link. The token is 32 random bytes that exist only in
//! the link (the database keeps its SHA-256); it expires, works once, and is
//! replaced when the invitation is resent.

use super::{
    accounts::{CreateUserError, NewUser, create_user},
    audit::{self, Event, Target},
    db::{Db, violated_constraint},
    mail::{self, enqueue},
    rate_limit::{self, RateLimits},
    request::RequestMeta,
    tenancy::{MemberTx, OrgTx, Tenant, lookup},
    tokens::{self, NewToken},
};
use crate::{
    audit::AuditAction,
    error::{AppError, FieldError},
    ids::{InvitationId, OrgId, UserId},
    roles::{Permission, Role},
    validation::{DisplayName, Email, NewPassword},
};
use time::{Duration, OffsetDateTime};

/// How long an invitation link works by default.
pub const DEFAULT_TTL: Duration = Duration::days(7);

/// At most this many addresses per invitation form.
pub const MAX_PER_REQUEST: usize = 50;

/// A pending invitation, for the admin's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub invitation_id: InvitationId,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<String>,
    pub expires_at: OffsetDateTime,
    pub last_sent_at: OffsetDateTime,
}

/// Open invitations (not accepted, not revoked), newest first; expired ones
/// are included so they can be resent.
pub async fn pending(tx: &mut OrgTx) -> Result<Vec<Pending>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        select i.invitation_id, i.email, i.role as "role: Role", i.expires_at, i.last_sent_at,
               u.display_name as "inviter?"
        from invitation i
        left join app_user u on u.user_id = i.invited_by_user_id
        where i.org_id = $1 and i.accepted_at is null and i.revoked_at is null
        order by i.created_at desc
        "#,
        tx.org_id().0
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Pending {
            invitation_id: InvitationId(r.invitation_id),
            email: r.email,
            role: r.role,
            invited_by: r.inviter,
            expires_at: r.expires_at,
            last_sent_at: r.last_sent_at,
        })
        .collect())
}

/// Splits a textarea of addresses (commas, semicolons, spaces or new lines)
/// into parsed, de-duplicated emails, or one message per bad entry.
pub fn parse_emails(input: &str) -> Result<Vec<Email>, Vec<String>> {
    let mut emails: Vec<Email> = Vec::new();
    let mut problems = Vec::new();
    for entry in input
        .split([',', ';', '\n', '\r', ' ', '\t'])
        .filter(|s| !s.trim().is_empty())
    {
        match Email::parse(entry) {
            Ok(email) => {
                if !emails
                    .iter()
                    .any(|e| e.as_str().eq_ignore_ascii_case(email.as_str()))
                {
                    emails.push(email);
                }
            }
            Err(_) => problems.push(format!("“{}” is not an email address.", entry.trim())),
        }
    }
    if emails.is_empty() && problems.is_empty() {
        problems.push("Enter at least one email address.".into());
    }
    if emails.len() > MAX_PER_REQUEST {
        problems.push(format!(
            "Invite at most {MAX_PER_REQUEST} people at a time."
        ));
    }
    if problems.is_empty() {
        Ok(emails)
    } else {
        Err(problems)
    }
}

fn emails_error(problems: Vec<String>) -> AppError {
    AppError::Validation {
        errors: problems
            .into_iter()
            .map(|message| FieldError {
                field: "emails".into(),
                message,
            })
            .collect(),
        values: Vec::new(),
    }
}

/// Invites every address with `role`: all of them, or — if any is already a
/// member or already invited — none, with a message naming each problem.
#[tracing::instrument(skip_all)]
pub async fn invite(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    sending: &Sending<'_>,
    emails: &[Email],
    role: Role,
    ttl: Duration,
) -> Result<usize, AppError> {
    let base_url = sending.base_url;
    let actor = tx.actor().clone();
    if !actor.role.can(Permission::InviteMembers) {
        return Err(AppError::Forbidden);
    }
    if !may_grant(actor.role, role) {
        return Err(AppError::field(
            "role",
            "Only an owner can invite another owner.",
        ));
    }
    let org_id = tx.org_id();
    let lowered: Vec<String> = emails.iter().map(|e| e.as_str().to_lowercase()).collect();
    let members = sqlx::query_scalar!(
        "select u.email from membership m join app_user u on u.user_id = m.user_id
         where m.org_id = $1 and lower(u.email) = any($2)",
        org_id.0,
        &lowered
    )
    .fetch_all(tx.conn())
    .await?;
    let invited = sqlx::query_scalar!(
        "select email from invitation
         where org_id = $1 and lower(email) = any($2) and accepted_at is null and revoked_at is null
           and expires_at > now()",
        org_id.0,
        &lowered
    )
    .fetch_all(tx.conn())
    .await?;
    let mut problems: Vec<String> = members
        .iter()
        .map(|e| format!("{e} is already a member."))
        .collect();
    problems.extend(invited.iter().map(|e| {
        format!("{e} already has a pending invitation; resend it from the list below instead.")
    }));
    if !problems.is_empty() {
        return Err(emails_error(problems));
    }
    sending
        .limit(tx.org_id(), actor.user_id, emails.len())
        .await?;
    // An expired invitation to the same address is replaced.
    sqlx::query!(
        "update invitation set revoked_at = now()
         where org_id = $1 and lower(email) = any($2) and accepted_at is null and revoked_at is null",
        org_id.0,
        &lowered
    )
    .execute(tx.conn())
    .await?;

    let org_name = org_name(tx).await?;
    for email in emails {
        let invitation_id = InvitationId::generate();
        let token = NewToken::generate();
        let inserted = sqlx::query!(
            "insert into invitation (org_id, invitation_id, email, role, token_hash, invited_by_user_id, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7)",
            org_id.0,
            invitation_id.0,
            email.as_str(),
            role.as_str(),
            token.hash,
            actor.user_id.0,
            OffsetDateTime::now_utc() + ttl,
        )
        .execute(tx.conn())
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if violated_constraint(&e) == Some("invitation_open_email_key") => {
                return Err(emails_error(vec![format!(
                    "{email} was invited a moment ago by someone else."
                )]));
            }
            Err(e) => return Err(e.into()),
        }
        let link = format!("{base_url}/invite?token={}", token.token);
        let message = mail::invitation(
            email.as_str(),
            &org_name,
            &actor.display_name,
            role,
            link,
            ttl.whole_days(),
        );
        enqueue(tx.conn(), &message).await?;
        audit::record(
            tx,
            meta,
            Event::new(AuditAction::InvitationCreated)
                .target(invitation_target(invitation_id, email.as_str()))
                .details(serde_json::json!({ "email": email.as_str(), "role": role.as_str() })),
        )
        .await?;
    }
    Ok(emails.len())
}

/// What sending invitation mail needs besides the transaction: where links
/// point, and the limits on how many may go out.
pub struct Sending<'a> {
    pub db: &'a Db,
    pub base_url: &'a str,
    pub limits: &'a RateLimits,
}

impl Sending<'_> {
    /// Counts `n` invitation mails against the inviter and the organization;
    /// refuses all of them when they do not fit. Invitations carry names
    /// the org's creator chose, so without a limit anyone could mail anyone.
    async fn limit(&self, org_id: OrgId, inviter: UserId, n: usize) -> Result<(), AppError> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        rate_limit::take(
            self.db,
            // The person, across every org they may create: a new org does
            // not buy a new allowance.
            &format!("invitations:inviter:{}", inviter.0),
            self.limits.invitations_per_inviter,
            n,
        )
        .await?;
        rate_limit::take(
            self.db,
            &format!("invitations:org:{}", org_id.0),
            self.limits.invitations_per_org,
            n,
        )
        .await
    }
}

fn invitation_target(invitation_id: InvitationId, email: &str) -> Target {
    Target {
        kind: "invitation",
        id: invitation_id.to_string(),
        label: email.to_string(),
    }
}

async fn org_name(tx: &mut OrgTx) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(
        "select name from organization where org_id = $1",
        tx.org_id().0
    )
    .fetch_one(tx.conn())
    .await
}

/// Sends a pending invitation again with a new token and a new expiry; the
/// old link stops working.
#[tracing::instrument(skip_all)]
pub async fn resend(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    sending: &Sending<'_>,
    invitation_id: InvitationId,
    ttl: Duration,
) -> Result<String, AppError> {
    let base_url = sending.base_url;
    let actor = tx.actor().clone();
    if !actor.role.can(Permission::InviteMembers) {
        return Err(AppError::Forbidden);
    }
    let role = open_invitation_role(tx, invitation_id).await?;
    if !may_grant(actor.role, role) {
        return Err(AppError::Forbidden);
    }
    sending.limit(tx.org_id(), actor.user_id, 1).await?;
    let token = NewToken::generate();
    let row = sqlx::query!(
        "update invitation set token_hash = $3, expires_at = $4, last_sent_at = now()
         where org_id = $1 and invitation_id = $2 and accepted_at is null and revoked_at is null
         returning email, role",
        tx.org_id().0,
        invitation_id.0,
        token.hash,
        OffsetDateTime::now_utc() + ttl,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or(AppError::NotFound)?;
    let org_name = org_name(tx).await?;
    let link = format!("{base_url}/invite?token={}", token.token);
    enqueue(
        tx.conn(),
        &mail::invitation(
            &row.email,
            &org_name,
            &actor.display_name,
            role,
            link,
            ttl.whole_days(),
        ),
    )
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::InvitationResent)
            .target(invitation_target(invitation_id, &row.email))
            .details(serde_json::json!({ "email": row.email, "role": role.as_str() })),
    )
    .await?;
    Ok(row.email)
}

/// Withdraws a pending invitation; its link stops working.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    invitation_id: InvitationId,
) -> Result<String, AppError> {
    let actor = tx.actor().clone();
    if !actor.role.can(Permission::InviteMembers) {
        return Err(AppError::Forbidden);
    }
    // An owner invitation is an owner grant: only owners withdraw it.
    if !may_grant(actor.role, open_invitation_role(tx, invitation_id).await?) {
        return Err(AppError::Forbidden);
    }
    let row = sqlx::query!(
        "update invitation set revoked_at = now()
         where org_id = $1 and invitation_id = $2 and accepted_at is null and revoked_at is null
         returning email, role",
        tx.org_id().0,
        invitation_id.0,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or(AppError::NotFound)?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::InvitationRevoked)
            .target(invitation_target(invitation_id, &row.email))
            .details(serde_json::json!({ "email": row.email, "role": row.role })),
    )
    .await?;
    Ok(row.email)
}

/// Whether a member whose role is `inviter` may invite to, resend or
/// withdraw an invitation to `role`: only owners grant the owner role.
pub fn may_grant(inviter: Role, role: Role) -> bool {
    role != Role::Owner || inviter.can(Permission::ManageOwners)
}

/// The role a pending invitation grants; `NotFound` when there is no such
/// pending invitation in this org. Locks the row, so the answer holds until
/// the transaction ends.
pub async fn open_invitation_role(
    tx: &mut OrgTx,
    invitation_id: InvitationId,
) -> Result<Role, AppError> {
    sqlx::query_scalar!(
        r#"select role as "role: Role" from invitation
         where org_id = $1 and invitation_id = $2 and accepted_at is null and revoked_at is null
         for update"#,
        tx.org_id().0,
        invitation_id.0,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or(AppError::NotFound)
}

// ---------------------------------------------------------------------------
// Accepting
// ---------------------------------------------------------------------------

/// What an invitation link leads to.
#[derive(Clone, Debug)]
pub enum LinkState {
    Open(lookup::InvitationByToken),
    Expired(lookup::InvitationByToken),
    Revoked(lookup::InvitationByToken),
    Accepted(lookup::InvitationByToken),
    Invalid,
}

pub async fn find(db: &Db, token: &str) -> Result<LinkState, sqlx::Error> {
    if !tokens::looks_like_token(token) {
        return Ok(LinkState::Invalid);
    }
    let Some(found) = lookup::invitation_by_token_hash(db, &tokens::hash(token)).await? else {
        return Ok(LinkState::Invalid);
    };
    Ok(if found.accepted_at.is_some() {
        LinkState::Accepted(found)
    } else if found.revoked_at.is_some() {
        LinkState::Revoked(found)
    } else if found.expires_at <= OffsetDateTime::now_utc() {
        LinkState::Expired(found)
    } else {
        LinkState::Open(found)
    })
}

/// Why accepting did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum AcceptRefused {
    /// Expired, revoked, already used or unknown (since the page was shown).
    NoLongerOpen,
    /// The accepting identity's email is not the invited one.
    WrongAccount,
    /// There is already an account for the invited address: sign in instead.
    AccountExists,
}

/// Joined: where to go next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    pub org_id: OrgId,
    pub org_slug: String,
    pub user_id: UserId,
}

/// Claims the invitation and creates the membership in the transaction's
/// org, acting for `user_id`. The update re-checks that it is still open
/// under the row lock, so of two concurrent accepts exactly one succeeds.
async fn claim(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    invitation: &lookup::InvitationByToken,
    user_id: UserId,
    email: &str,
) -> Result<Result<(), AcceptRefused>, AppError> {
    let claimed = sqlx::query!(
        "update invitation set accepted_at = now(), accepted_by_user_id = $3
         where org_id = $1 and invitation_id = $2
           and accepted_at is null and revoked_at is null and expires_at > now()",
        invitation.org_id.0,
        invitation.invitation_id.0,
        user_id.0,
    )
    .execute(tx.conn())
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(Err(AcceptRefused::NoLongerOpen));
    }
    let role = invitation.role;
    let added = sqlx::query!(
        "insert into membership (org_id, user_id, role) values ($1, $2, $3) on conflict (org_id, user_id) do nothing",
        invitation.org_id.0,
        user_id.0,
        role.as_str(),
    )
    .execute(tx.conn())
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::InvitationAccepted)
            .actor(Some(user_id), Some(email.to_string()))
            .target(invitation_target(
                invitation.invitation_id,
                &invitation.email,
            ))
            .details(serde_json::json!({
                "email": invitation.email,
                "role": role.as_str(),
                "already_member": added.rows_affected() == 0,
                "invited_by": invitation.inviter_email,
            })),
    )
    .await?;
    Ok(Ok(()))
}

/// A new person accepts: their account is created with the invited address
/// (verified: they received the link) and joins, all in one transaction.
#[tracing::instrument(skip_all)]
pub async fn accept_as_new_user(
    db: &Db,
    meta: &RequestMeta,
    token: &str,
    name: DisplayName,
    password: &NewPassword,
) -> Result<Result<Joined, AcceptRefused>, AppError> {
    let LinkState::Open(invitation) = find(db, token).await? else {
        return Ok(Err(AcceptRefused::NoLongerOpen));
    };
    // Only a link that works is worth the hash.
    let password_hash = super::password::hash(password).await?;
    let email = Email::parse(&invitation.email).map_err(|_| AppError::Internal)?;
    let new_user = NewUser {
        email,
        display_name: name,
        password_hash: Some(password_hash),
        email_verified: true,
    };
    let user_tx = match create_user(db, &new_user).await {
        Ok(tx) => tx,
        Err(CreateUserError::EmailTaken) => match claim_unconfirmed(db, meta, &new_user).await? {
            Some(tx) => tx,
            None => return Ok(Err(AcceptRefused::AccountExists)),
        },
        Err(CreateUserError::Database(e)) => return Err(e.into()),
    };
    let user_id = user_tx.user_id();
    let mut tx = user_tx
        .enter_org_without_membership(invitation.org_id)
        .await?;
    if let Err(refused) = claim(&mut tx, meta, &invitation, user_id, &invitation.email).await? {
        return Ok(Err(refused));
    }
    tx.commit().await?;
    Ok(Ok(Joined {
        org_id: invitation.org_id,
        org_slug: invitation.org_slug,
        user_id,
    }))
}

/// The invited address has an account whose address was never confirmed:
/// anyone may have signed up with it. The invitation link proves the
/// mailbox, so its holder takes the account over: their name and password
/// replace the ones chosen at sign-up, the address counts as confirmed, and
/// every session of the account ends. `None` when the account is confirmed
/// (then its owner signs in to accept).
async fn claim_unconfirmed(
    db: &Db,
    meta: &RequestMeta,
    new_user: &NewUser,
) -> Result<Option<super::tenancy::UserTx>, AppError> {
    let Some(existing) = lookup::user_for_sign_in(db, new_user.email.as_str()).await? else {
        return Ok(None);
    };
    if existing.email_verified_at.is_some() {
        return Ok(None);
    }
    let mut tx = super::tenancy::UserScope::begin(db, existing.user_id).await?;
    let claimed = sqlx::query!(
        r#"
        update app_user
        set display_name = $2, password_hash = $3, email_verified_at = now(), sessions_valid_after = now()
        where user_id = $1 and email_verified_at is null
        "#,
        existing.user_id.0,
        new_user.display_name.as_str(),
        new_user.password_hash.as_deref(),
    )
    .execute(tx.conn())
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(None);
    }
    super::audit::record_for_user(&mut tx, meta, Event::new(AuditAction::EmailVerified), None)
        .await?;
    super::audit::record_for_user(
        &mut tx,
        meta,
        Event::new(AuditAction::PasswordRemoved).details(serde_json::json!({
            "reason": "set_before_the_address_was_confirmed",
            "replaced_by": "invitation",
        })),
        None,
    )
    .await?;
    Ok(Some(tx))
}

/// An existing user, already authenticated as `user_id` with `email`, accepts.
#[tracing::instrument(skip_all)]
pub async fn accept_as_user(
    db: &Db,
    meta: &RequestMeta,
    token: &str,
    user_id: UserId,
    email: &str,
) -> Result<Result<Joined, AcceptRefused>, AppError> {
    let LinkState::Open(invitation) = find(db, token).await? else {
        return Ok(Err(AcceptRefused::NoLongerOpen));
    };
    if !invitation.email.eq_ignore_ascii_case(email) {
        return Ok(Err(AcceptRefused::WrongAccount));
    }
    let mut tx = Tenant::begin_without_membership(db, invitation.org_id, Some(user_id)).await?;
    if let Err(refused) = claim(&mut tx, meta, &invitation, user_id, email).await? {
        return Ok(Err(refused));
    }
    tx.commit().await?;
    Ok(Ok(Joined {
        org_id: invitation.org_id,
        org_slug: invitation.org_slug,
        user_id,
    }))
}

/// Validates a new person's name and password for accepting.
pub fn parse_new_account(
    name: &str,
    password: &str,
) -> Result<(DisplayName, NewPassword), AppError> {
    let mut v = crate::error::Validator::new();
    let display_name = v.check("name", DisplayName::parse(name));
    let password = v
        .check("password", NewPassword::parse(password))
        .and_then(|p| {
            v.check(
                "password",
                super::password::check_strength(&p, &[name]).map(|()| p),
            )
        });
    v.finish()?;
    Ok((display_name.expect("checked"), password.expect("checked")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_split_deduplicated_and_checked() {
        let emails = parse_emails("a@x.test, B@x.test;\nb@X.test  c@x.test").unwrap();
        let listed: Vec<_> = emails.iter().map(|e| e.as_str()).collect();
        assert_eq!(listed, ["a@x.test", "B@x.test", "c@x.test"]);
        let problems = parse_emails("a@x.test, nope, also-bad@").unwrap_err();
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("nope"));
        assert_eq!(
            parse_emails("  \n ").unwrap_err(),
            ["Enter at least one email address."]
        );
        let many: String = (0..51).map(|i| format!("p{i}@x.test ")).collect();
        assert!(parse_emails(&many).unwrap_err()[0].contains("at most 50"));
    }
}
