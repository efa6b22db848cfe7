//! The member list and the changes admins make to it: roles, removals, and
//! members leaving. Every change locks the organization row first, so
//! changes to one organization's memberships happen one at a time, and the
//! rules (only owners touch the owner role, nobody changes their own role,
//! an owner always remains) are checked against what is committed.

use super::{
    audit::{self, Event, Target},
    request::RequestMeta,
    tenancy::{MemberTx, OrgTx},
};
use crate::{
    audit::AuditAction,
    ids::UserId,
    roles::{Permission, Role},
};
use time::OffsetDateTime;
use uuid::Uuid;

/// One row of the member list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub joined_at: OffsetDateTime,
    pub last_sign_in_at: Option<OffsetDateTime>,
    /// The account has a second factor (the list shows who has two-step
    /// sign-in; nothing about the factor itself).
    pub has_second_factor: bool,
}

/// Where the next page starts: the last row's (joined, user) pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub joined_at: OffsetDateTime,
    pub user_id: UserId,
}

impl Cursor {
    /// A compact, URL-safe form: `<unix micros>.<uuid>`.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}",
            self.joined_at.unix_timestamp_nanos() / 1000,
            self.user_id
        )
    }

    pub fn decode(value: &str) -> Option<Self> {
        let (micros, id) = value.split_once('.')?;
        Some(Self {
            joined_at: time_from_micros(micros)?,
            user_id: UserId(Uuid::parse_str(id).ok()?),
        })
    }
}

/// The time a cursor's `<unix micros>` names, if it is a number of a time
/// that can exist (anything else, e.g. a crafted `i128::MAX`, is `None`).
pub fn time_from_micros(micros: &str) -> Option<OffsetDateTime> {
    let micros: i64 = micros.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros).checked_mul(1000)?).ok()
}

pub const PAGE_SIZE: i64 = 50;

/// A page of members, newest first, optionally filtered by a case-insensitive
/// substring of name or email. Returns the rows and the next page's cursor.
pub async fn list(
    tx: &mut OrgTx,
    search: Option<&str>,
    after: Option<Cursor>,
) -> Result<(Vec<Member>, Option<Cursor>), sqlx::Error> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let org_id = tx.org_id().0;
    let rows = match (search, after) {
        // A search runs in a look-up function scoped to the org in context
        // (see the member_search migration), which can use trigram indexes:
        // under RLS, `ilike` could only run after app_user's per-row policy,
        // on every member.
        (Some(search), after) => {
            let pattern = format!("%{}%", super::db::escape_like(search));
            sqlx::query_as!(
                MemberRow,
                r#"
                select user_id as "user_id!", display_name as "display_name!", email as "email!",
                       role as "role!: Role", created_at as "created_at!", last_sign_in_at
                from lookup.members_matching($1, $2, $3, $4)
                "#,
                pattern,
                after.map(|c| c.joined_at),
                after.map(|c| c.user_id.0),
                (PAGE_SIZE + 1) as i32,
            )
            .fetch_all(tx.conn())
            .await?
        }
        // Otherwise one query per shape (first page / later page), each a
        // walk of the (org_id, created_at desc, user_id desc) index.
        (None, None) => {
            sqlx::query_as!(
                MemberRow,
                r#"
                select m.user_id, u.display_name, u.email, m.role as "role: Role", m.created_at, m.last_sign_in_at
                from membership m join app_user u on u.user_id = m.user_id
                where m.org_id = $1
                order by m.created_at desc, m.user_id desc
                limit $2
                "#,
                org_id,
                PAGE_SIZE + 1,
            )
            .fetch_all(tx.conn())
            .await?
        }
        (None, Some(cursor)) => {
            sqlx::query_as!(
                MemberRow,
                r#"
                select m.user_id, u.display_name, u.email, m.role as "role: Role", m.created_at, m.last_sign_in_at
                from membership m join app_user u on u.user_id = m.user_id
                where m.org_id = $1 and (m.created_at, m.user_id) < ($2, $3)
                order by m.created_at desc, m.user_id desc
                limit $4
                "#,
                org_id,
                cursor.joined_at,
                cursor.user_id.0,
                PAGE_SIZE + 1,
            )
            .fetch_all(tx.conn())
            .await?
        }
    };
    let has_more = rows.len() as i64 > PAGE_SIZE;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
    let with_factor: std::collections::HashSet<Uuid> = sqlx::query_scalar!(
        "select user_id from app_user where user_id = any($1) and second_factor_at is not null",
        &ids
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .collect();
    let members: Vec<Member> = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|r| Member {
            has_second_factor: with_factor.contains(&r.user_id),
            user_id: UserId(r.user_id),
            display_name: r.display_name,
            email: r.email,
            role: r.role,
            joined_at: r.created_at,
            last_sign_in_at: r.last_sign_in_at,
        })
        .collect();
    let next = has_more
        .then(|| {
            members.last().map(|m| Cursor {
                joined_at: m.joined_at,
                user_id: m.user_id,
            })
        })
        .flatten();
    Ok((members, next))
}

struct MemberRow {
    user_id: Uuid,
    display_name: String,
    email: String,
    role: Role,
    created_at: OffsetDateTime,
    last_sign_in_at: Option<OffsetDateTime>,
}

/// How many members the organization has.
pub async fn count(tx: &mut OrgTx) -> Result<i64, sqlx::Error> {
    // Kept by triggers on membership (see the member_count migration):
    // counting 10,000 rows on every page view cost 1.4 ms.
    sqlx::query_scalar!(
        r#"select member_count::bigint as "n!" from organization where org_id = $1"#,
        tx.org_id().0
    )
    .fetch_one(tx.conn())
    .await
}

/// Why a membership change was refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum MembersError {
    /// The actor's role does not allow it; the message says what would.
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("no such member")]
    NotFound,
    #[error("cannot change one's own role")]
    OwnRole,
    #[error("the last owner")]
    LastOwner,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<MembersError> for crate::error::AppError {
    #[track_caller]
    fn from(error: MembersError) -> Self {
        use crate::error::AppError;
        match error {
            MembersError::NotAllowed(why) => AppError::Conflict(why.to_string()),
            MembersError::NotFound => AppError::NotFound,
            MembersError::OwnRole => AppError::Conflict(
                "You cannot change your own role. Ask another owner or admin.".into(),
            ),
            MembersError::LastOwner => AppError::Conflict(
                "An organization needs at least one owner. Make someone else an owner first."
                    .into(),
            ),
            MembersError::Database(e) => e.into(),
        }
    }
}

/// Serializes membership changes in this organization and returns the
/// actor's role as committed right now.
async fn lock_and_read_actor_role(tx: &mut MemberTx) -> Result<Option<Role>, sqlx::Error> {
    let org_id = tx.org_id().0;
    sqlx::query!(
        "select org_id from organization where org_id = $1 for update",
        org_id
    )
    .fetch_one(tx.conn())
    .await?;
    let actor = tx.actor().user_id;
    let role = sqlx::query_scalar!(
        r#"select role as "role: Role" from membership where org_id = $1 and user_id = $2"#,
        org_id,
        actor.0
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(role)
}

async fn owner_count(tx: &mut OrgTx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from membership where org_id = $1 and role = 'owner'"#,
        tx.org_id().0
    )
    .fetch_one(tx.conn())
    .await
}

async fn target(tx: &mut OrgTx, user_id: UserId) -> Result<Option<(Role, String)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select m.role as "role: Role", u.email from membership m join app_user u on u.user_id = m.user_id
         where m.org_id = $1 and m.user_id = $2 for update of m"#,
        tx.org_id().0,
        user_id.0
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| (r.role, r.email)))
}

/// What a change to someone else's membership starts from.
struct Change {
    actor_role: Role,
    current: Role,
    email: String,
}

/// The checks every change to another member starts with: serialize, the
/// actor may manage members, the target is someone else and is a member.
async fn begin_change(
    tx: &mut MemberTx,
    user_id: UserId,
    not_allowed: &'static str,
    on_self: MembersError,
) -> Result<Change, MembersError> {
    let Some(actor_role) = lock_and_read_actor_role(tx).await? else {
        return Err(MembersError::NotAllowed(
            "You are no longer a member of this organization.",
        ));
    };
    if !actor_role.can(Permission::ManageMembers) {
        return Err(MembersError::NotAllowed(not_allowed));
    }
    if tx.actor().user_id == user_id {
        return Err(on_self);
    }
    match target(tx, user_id).await? {
        Some((current, email)) => Ok(Change {
            actor_role,
            current,
            email,
        }),
        None => Err(MembersError::NotFound),
    }
}

/// Whether changing `user_id` to `new_role` grants or takes away the owner
/// or admin role (a sensitive change, which needs a recent sign-in). The
/// membership is locked until the transaction ends, so the answer holds
/// for the change that follows.
pub async fn touches_admin_roles(
    tx: &mut MemberTx,
    user_id: UserId,
    new_role: Role,
) -> Result<bool, sqlx::Error> {
    let current = target(tx, user_id).await?.map(|(role, _)| role);
    Ok(new_role.administers() || current.is_some_and(Role::administers))
}

/// Gives `user_id` the role `new_role`. Returns whether anything changed,
/// and the member's address.
#[tracing::instrument(skip_all, fields(member = %user_id, to = new_role.as_str()))]
pub async fn change_role(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    user_id: UserId,
    new_role: Role,
) -> Result<(bool, String), MembersError> {
    let change = begin_change(
        tx,
        user_id,
        "Only owners and admins can change roles.",
        MembersError::OwnRole,
    )
    .await?;
    let Change {
        actor_role,
        current,
        email,
    } = change;
    if current == new_role {
        return Ok((false, email));
    }
    if (current == Role::Owner || new_role == Role::Owner)
        && !actor_role.can(Permission::ManageOwners)
    {
        return Err(MembersError::NotAllowed(
            "Only an owner can grant or take away the owner role.",
        ));
    }
    if current == Role::Owner && owner_count(tx).await? <= 1 {
        return Err(MembersError::LastOwner);
    }
    sqlx::query!(
        "update membership set role = $3 where org_id = $1 and user_id = $2",
        tx.org_id().0,
        user_id.0,
        new_role.as_str()
    )
    .execute(tx.conn())
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::RoleChanged)
            .target(Target::user(user_id, &email))
            .details(serde_json::json!({ "email": email, "from": current.as_str(), "to": new_role.as_str() })),
    )
    .await?;
    Ok((true, email))
}

/// Removes `user_id` from the organization. Their next request finds no
/// membership and their session ends. Returns their address.
#[tracing::instrument(skip_all, fields(member = %user_id))]
pub async fn remove(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    user_id: UserId,
) -> Result<String, MembersError> {
    let on_self =
        MembersError::NotAllowed("To leave the organization yourself, use “Leave organization”.");
    let change = begin_change(
        tx,
        user_id,
        "Only owners and admins can remove members.",
        on_self,
    )
    .await?;
    let Change {
        actor_role,
        current,
        email,
    } = change;
    if current == Role::Owner && !actor_role.can(Permission::ManageOwners) {
        return Err(MembersError::NotAllowed(
            "Only an owner can remove an owner.",
        ));
    }
    if current == Role::Owner && owner_count(tx).await? <= 1 {
        return Err(MembersError::LastOwner);
    }
    sqlx::query!(
        "delete from membership where org_id = $1 and user_id = $2",
        tx.org_id().0,
        user_id.0
    )
    .execute(tx.conn())
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::MemberRemoved)
            .target(Target::user(user_id, &email))
            .details(serde_json::json!({ "email": email, "role": current.as_str() })),
    )
    .await?;
    Ok(email)
}

/// The actor leaves the organization (unless they are its last owner).
#[tracing::instrument(skip_all)]
pub async fn leave(tx: &mut MemberTx, meta: &RequestMeta) -> Result<(), MembersError> {
    let Some(role) = lock_and_read_actor_role(tx).await? else {
        return Err(MembersError::NotFound);
    };
    if role == Role::Owner && owner_count(tx).await? <= 1 {
        return Err(MembersError::NotAllowed(
            "You are the only owner. Make someone else an owner first, or delete the organization.",
        ));
    }
    let actor = tx.actor().clone();
    sqlx::query!(
        "delete from membership where org_id = $1 and user_id = $2",
        tx.org_id().0,
        actor.user_id.0
    )
    .execute(tx.conn())
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::MemberLeft)
            .target(Target::user(actor.user_id, &actor.email))
            .details(serde_json::json!({ "email": actor.email, "role": role.as_str() })),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            joined_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000)
                .unwrap(),
            user_id: UserId(Uuid::now_v7()),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        let max = format!("{}.00000000-0000-0000-0000-000000000000", i128::MAX);
        let min = format!("{}.00000000-0000-0000-0000-000000000000", i64::MIN);
        let far = "9223372036854775807.00000000-0000-0000-0000-000000000000";
        for bad in [
            "",
            "x",
            "1.2",
            "abc.00000000-0000-0000-0000-000000000000",
            &max,
            &min,
            far,
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn search_wildcards_are_literal() {
        assert_eq!(
            super::super::db::escape_like("50%_off\\"),
            "50\\%\\_off\\\\"
        );
    }
}
