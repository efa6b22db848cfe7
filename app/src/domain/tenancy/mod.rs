//! Org context. This module is the only code that sets `app.org_id` and
//! `app.user_id`, and it only ever sets them transaction-locally
//! (`set_config(…, true)`), so a pooled connection cannot carry one request's
//! org into the next.
//!
//! Three ways in:
//! * [`Tenant::begin`] — a member acting in their organization. Re-reads the
//!   membership and role on every call, so removal and role changes take
//!   effect on the very next request.
//! * [`UserScope::begin`] — a signed-in user outside any organization: their
//!   own identity, their memberships and those organizations (the org picker).
//! * the `lookup` functions at the bottom — the few look-ups that must work
//!   before any context exists, each a named SECURITY DEFINER function.

use super::db::Db;
use crate::{
    ids::{OrgId, UserId},
    roles::Role,
};
use sqlx::{PgConnection, Postgres, Transaction};

pub mod lookup;

/// The member on whose behalf an org transaction runs, as the database says
/// they are right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Sessions authenticated before this instant are void (password reset).
    pub sessions_valid_after: time::OffsetDateTime,
}

/// The organization a member transaction runs in, read together with the
/// membership when the transaction began.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgLabel {
    pub slug: String,
    pub name: String,
    /// The organization requires single sign-on: only SSO sessions and
    /// owners' break-glass sessions count in it.
    pub sso_enforced: bool,
    /// SSO sessions signed in before this instant came through a provider
    /// the organization has since replaced, and no longer count.
    pub sso_sessions_valid_after: Option<time::OffsetDateTime>,
}

/// Why an org transaction could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The user is not (or no longer) a member of the organization.
    #[error("not a member of this organization")]
    NotAMember,
    /// The session was ended (by its person or an admin), or has no row.
    #[error("this session was ended")]
    SessionEnded,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<TenantError> for crate::error::AppError {
    #[track_caller]
    fn from(error: TenantError) -> Self {
        match error {
            TenantError::NotAMember | TenantError::SessionEnded => {
                crate::error::AppError::Unauthenticated
            }
            TenantError::Database(e) => e.into(),
        }
    }
}

/// A transaction inside one organization. Every query through it sees that
/// organization's rows and nothing else.
pub struct OrgTx {
    tx: Transaction<'static, Postgres>,
    org_id: OrgId,
    actor: Option<(Actor, OrgLabel)>,
}

impl OrgTx {
    pub fn org_id(&self) -> OrgId {
        self.org_id
    }

    /// The acting member; `None` for system work and pre-authentication events.
    pub fn actor(&self) -> Option<&Actor> {
        self.actor.as_ref().map(|(actor, _)| actor)
    }

    /// The organization's URL name and display name, as read with the acting
    /// member's membership (so `None` when there is no acting member).
    pub fn org_label(&self) -> Option<&OrgLabel> {
        self.actor.as_ref().map(|(_, org)| org)
    }

    /// The connection, for the domain's queries.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Plans the rest of this transaction's queries for their actual
    /// parameters. Member transactions otherwise reuse generic plans, and a
    /// query with optional filters can be far slower that way: the audit
    /// view planned for "any actor, any time" cannot use the index that
    /// serves the filter actually given.
    pub async fn plan_for_these_parameters(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("set local plan_cache_mode = force_custom_plan")
            .execute(&mut *self.tx)
            .await
            .map(|_| ())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// The membership check this transaction began with, to open another
    /// transaction for the same request without repeating it
    /// ([`Tenant::begin_checked`]).
    pub fn checked(&self) -> Option<MemberCheck> {
        let (actor, org) = self.actor.clone()?;
        Some(MemberCheck {
            org_id: self.org_id,
            actor,
            org,
        })
    }

    /// Continues this transaction outside the organization, as the acting
    /// member's own user scope (see [`UserScope`]): for a page that shows
    /// both the org and the member's other organizations, in one transaction.
    pub async fn into_user_scope(mut self) -> Result<UserTx, TenantError> {
        let user_id = self.actor().ok_or(TenantError::NotAMember)?.user_id;
        set_context(&mut self.tx, None, Some(user_id)).await?;
        Ok(UserTx {
            tx: self.tx,
            user_id,
        })
    }

    /// Re-reads the acting member after this transaction created or changed
    /// their membership (e.g. the owner of a brand-new organization).
    pub async fn act_as_member(&mut self, user_id: UserId) -> Result<(), TenantError> {
        self.actor = Some(read_actor(&mut self.tx, self.org_id, user_id, None).await?);
        Ok(())
    }
}

/// An org transaction on behalf of a member whose membership was checked
/// when it began ([`Tenant::begin`]): unlike a bare [`OrgTx`], it always has
/// an actor and an organization label. Everything an [`OrgTx`] does, it does
/// too (it dereferences to one), so domain functions that need no actor take
/// `&mut OrgTx` and are called with a member transaction as they are.
pub struct MemberTx(OrgTx);

impl MemberTx {
    fn new(tx: Transaction<'static, Postgres>, org_id: OrgId, actor: Actor, org: OrgLabel) -> Self {
        Self(OrgTx {
            tx,
            org_id,
            actor: Some((actor, org)),
        })
    }

    /// The member acting, as the database said when the transaction began.
    pub fn actor(&self) -> &Actor {
        &self
            .0
            .actor
            .as_ref()
            .expect("a member transaction has an actor")
            .0
    }

    /// The organization, as read with the membership.
    pub fn org(&self) -> &OrgLabel {
        &self
            .0
            .actor
            .as_ref()
            .expect("a member transaction has an actor")
            .1
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.0.commit().await
    }

    /// See [`OrgTx::into_user_scope`].
    pub async fn into_user_scope(self) -> Result<UserTx, TenantError> {
        self.0.into_user_scope().await
    }
}

impl std::ops::Deref for MemberTx {
    type Target = OrgTx;
    fn deref(&self) -> &OrgTx {
        &self.0
    }
}

impl std::ops::DerefMut for MemberTx {
    fn deref_mut(&mut self) -> &mut OrgTx {
        &mut self.0
    }
}

/// Reads the membership; with `session`, also checks (in the same query)
/// that the session's row is there and not ended.
async fn read_actor(
    conn: &mut PgConnection,
    org_id: OrgId,
    user_id: UserId,
    session: Option<uuid::Uuid>,
) -> Result<(Actor, OrgLabel), TenantError> {
    let row = sqlx::query!(
        r#"
        select u.email, u.display_name, m.role as "role: Role", u.sessions_valid_after, o.slug, o.name,
               coalesce(c.enforced, false) as "sso_enforced!",
               c.sso_sessions_valid_after as "sso_sessions_valid_after?",
               ($3::uuid is null or exists (
                   select 1 from user_session s
                   where s.org_id = m.org_id and s.session_id = $3 and s.user_id = m.user_id
                     and s.ended_at is null)) as "session_live!"
        from membership m
        join app_user u on u.user_id = m.user_id
        join organization o on o.org_id = m.org_id
        left join sso_connection c on c.org_id = m.org_id
        where m.org_id = $1 and m.user_id = $2
        "#,
        org_id.0,
        user_id.0,
        session,
    )
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Err(TenantError::NotAMember);
    };
    if !row.session_live {
        return Err(TenantError::SessionEnded);
    }
    let role = row.role;
    let actor = Actor {
        user_id,
        email: row.email,
        display_name: row.display_name,
        role,
        sessions_valid_after: row.sessions_valid_after,
    };
    let org = OrgLabel {
        slug: row.slug,
        name: row.name,
        sso_enforced: row.sso_enforced,
        sso_sessions_valid_after: row.sso_sessions_valid_after,
    };
    Ok((actor, org))
}

/// A membership as [`Tenant::begin`] read it: who, where, with which role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberCheck {
    pub org_id: OrgId,
    pub actor: Actor,
    pub org: OrgLabel,
}

/// Opens org transactions.
pub struct Tenant;

impl Tenant {
    /// Begins a transaction in `org_id` on behalf of `user_id`, who must be a
    /// member: the membership and role are read inside the transaction.
    ///
    /// Member transactions reuse one generic plan per prepared statement
    /// (`plan_cache_mode = force_generic_plan`, transaction-local): under
    /// row-level security PostgreSQL otherwise re-plans a page's queries on
    /// every run — the members page's list took 0.3 ms to plan and 0.15 ms to
    /// run. A query whose best plan depends on its parameters asks for its
    /// own with [`OrgTx::plan_for_these_parameters`].
    pub async fn begin(db: &Db, org_id: OrgId, user_id: UserId) -> Result<MemberTx, TenantError> {
        let mut tx = begin_in_context(db, Some(org_id), Some(user_id), Plans::Generic).await?;
        let (actor, org) = read_actor(&mut tx, org_id, user_id, None).await?;
        Ok(MemberTx::new(tx, org_id, actor, org))
    }

    /// [`Tenant::begin`] for a request of a signed-in session: the same
    /// query also checks that the session (`session_id`, its row in
    /// `user_session`) has not been ended, so ending a session takes effect
    /// on its next request at no extra round trip.
    pub async fn begin_session(
        db: &Db,
        org_id: OrgId,
        user_id: UserId,
        session_id: uuid::Uuid,
    ) -> Result<MemberTx, TenantError> {
        let mut tx = begin_in_context(db, Some(org_id), Some(user_id), Plans::Generic).await?;
        let (actor, org) = read_actor(&mut tx, org_id, user_id, Some(session_id)).await?;
        Ok(MemberTx::new(tx, org_id, actor, org))
    }

    /// Whether `user_id` is a member of `org_id` now (read in the org's own
    /// context, like every membership check).
    pub async fn is_member(db: &Db, org_id: OrgId, user_id: UserId) -> Result<bool, sqlx::Error> {
        match Self::begin(db, org_id, user_id).await {
            Ok(tx) => {
                tx.commit().await?;
                Ok(true)
            }
            Err(TenantError::NotAMember | TenantError::SessionEnded) => Ok(false),
            Err(TenantError::Database(e)) => Err(e),
        }
    }

    /// Begins another transaction on behalf of a member whose membership was
    /// read by [`Tenant::begin`] earlier in the same request: the same
    /// context, without reading the membership again.
    ///
    /// Only for the read-only server functions that together render one
    /// page; anything that changes data checks again with [`Tenant::begin`].
    pub async fn begin_checked(db: &Db, check: MemberCheck) -> Result<MemberTx, sqlx::Error> {
        let tx = begin_in_context(
            db,
            Some(check.org_id),
            Some(check.actor.user_id),
            Plans::Generic,
        )
        .await?;
        Ok(MemberTx::new(tx, check.org_id, check.actor, check.org))
    }

    /// Begins a transaction in `org_id` without checking any membership.
    ///
    /// Only for flows that establish or precede membership themselves:
    /// creating an organization, accepting an invitation, just-in-time SSO
    /// membership, recording a failed sign-in, and system jobs. `user_id`,
    /// when given, is the person the flow acts for (their own identity row
    /// becomes visible).
    pub async fn begin_without_membership(
        db: &Db,
        org_id: OrgId,
        user_id: Option<UserId>,
    ) -> Result<OrgTx, sqlx::Error> {
        let tx = begin_in_context(db, Some(org_id), user_id, Plans::Default).await?;
        Ok(OrgTx {
            tx,
            org_id,
            actor: None,
        })
    }
}

/// A transaction for one signed-in user outside any organization.
pub struct UserTx {
    tx: Transaction<'static, Postgres>,
    user_id: UserId,
}

impl UserTx {
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// The organizations the user belongs to (or just `only`, when they
    /// belong to it), as values only this module makes, so that
    /// [`UserTx::point_at`] can only point at one of them.
    pub async fn own_orgs(&mut self, only: Option<OrgId>) -> Result<Vec<OwnOrg>, sqlx::Error> {
        let orgs = sqlx::query_scalar!(
            "select org_id from membership where user_id = $1 and ($2::uuid is null or org_id = $2)",
            self.user_id.0,
            only.map(|o| o.0)
        )
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(orgs.into_iter().map(|id| OwnOrg(OrgId(id))).collect())
    }

    /// Points the transaction's context at one of the user's own
    /// organizations (from [`UserTx::own_orgs`]), or back at the user
    /// alone with `None`. For writing the person's own events into each of
    /// their organizations (`audit::record_for_user`).
    pub async fn point_at(&mut self, org: Option<&OwnOrg>) -> Result<(), sqlx::Error> {
        set_context(&mut self.tx, org.map(|o| o.0), Some(self.user_id)).await
    }

    /// Continues this transaction inside `org_id` without a membership check,
    /// for flows that create the membership (a new organization, an accepted
    /// invitation). The user's own identity row stays visible.
    pub async fn enter_org_without_membership(
        mut self,
        org_id: OrgId,
    ) -> Result<OrgTx, sqlx::Error> {
        set_context(&mut self.tx, Some(org_id), Some(self.user_id)).await?;
        Ok(OrgTx {
            tx: self.tx,
            org_id,
            actor: None,
        })
    }
}

/// One of a user's own organizations, read by [`UserTx::own_orgs`] in
/// that user's transaction; nothing outside this module can make one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnOrg(OrgId);

impl OwnOrg {
    pub fn org_id(&self) -> OrgId {
        self.0
    }
}

/// Opens user-scoped transactions.
pub struct UserScope;

impl UserScope {
    /// Begins a transaction that sees `user_id`'s own identity, their
    /// memberships and the organizations those belong to — nothing else.
    pub async fn begin(db: &Db, user_id: UserId) -> Result<UserTx, sqlx::Error> {
        let tx = begin_in_context(db, None, Some(user_id), Plans::Default).await?;
        Ok(UserTx { tx, user_id })
    }
}

/// How a transaction's prepared statements are planned.
enum Plans {
    /// PostgreSQL's choice (custom plans until a generic one looks as good).
    Default,
    /// One generic plan per statement, reused.
    Generic,
}

/// Begins a transaction with its context set, in one round trip: the
/// context travels with BEGIN. (The ids are UUIDs, whose text is only hex
/// digits and dashes, so they are safe inside the statement.)
async fn begin_in_context(
    db: &Db,
    org_id: Option<OrgId>,
    user_id: Option<UserId>,
    plans: Plans,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let org = org_id.map(|id| id.0.to_string()).unwrap_or_default();
    let user = user_id.map(|id| id.0.to_string()).unwrap_or_default();
    let plans = match plans {
        Plans::Default => "",
        Plans::Generic => ", set_config('plan_cache_mode', 'force_generic_plan', true)",
    };
    db.pool()
        .begin_with(format!(
            "begin; select set_config('app.org_id', '{org}', true), set_config('app.user_id', '{user}', true){plans}"
        ))
        .await
}

/// Changes the context inside a transaction.
async fn set_context(
    conn: &mut PgConnection,
    org_id: Option<OrgId>,
    user_id: Option<UserId>,
) -> Result<(), sqlx::Error> {
    // An empty string reads back as NULL through app.current_org_id().
    let org = org_id.map(|id| id.to_string()).unwrap_or_default();
    let user = user_id.map(|id| id.to_string()).unwrap_or_default();
    sqlx::query!(
        r#"select set_config('app.org_id', $1, true) as "org", set_config('app.user_id', $2, true) as "user""#,
        org,
        user,
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}
