//! A person deletes their own account. Refused while they are the last
//! owner of an organization that has other members (someone must be left
//! to run it); otherwise each membership goes, recorded in that
//! organization, an organization they are the only member of goes with
//! them, and the account itself is removed — all in one transaction, so a
//! refusal or a failure leaves everything as it was.

use super::{
    audit::{self, Event, Target},
    request::RequestMeta,
    tenancy::{OwnOrg, UserTx},
};
use crate::{audit::AuditAction, ids::OrgId, roles::Role};

/// What deleting the account would do, organization by organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Organizations whose last owner this person is, with other members:
    /// each blocks the deletion until someone else is an owner.
    pub blocked_by: Vec<String>,
    /// Organizations this person is the only member of: deleted with the
    /// account.
    pub deletes: Vec<String>,
    /// Organizations the person leaves (others stay members).
    pub leaves: Vec<String>,
}

/// One of the person's organizations, as the plan weighs it.
struct Standing {
    org: OwnOrg,
    org_id: OrgId,
    slug: String,
    name: String,
    role: Role,
    other_owners: i64,
    other_members: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountDeletionError {
    /// The confirmation is not the account's email address.
    #[error("Type your email address exactly to confirm.")]
    NotConfirmed,
    /// The person is the last owner of these organizations, which have
    /// other members.
    #[error("last owner of {0:?}")]
    LastOwner(Vec<String>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<AccountDeletionError> for crate::error::AppError {
    #[track_caller]
    fn from(error: AccountDeletionError) -> Self {
        use crate::error::AppError;
        match error {
            AccountDeletionError::NotConfirmed => AppError::field(
                "confirm_email",
                "Type your email address exactly to confirm.",
            ),
            AccountDeletionError::LastOwner(orgs) => AppError::Conflict(format!(
                "You are the only owner of {}, which {} other members. Make someone else an owner there first, or delete the organization.",
                list(&orgs),
                if orgs.len() == 1 { "has" } else { "have" },
            )),
            AccountDeletionError::Database(e) => e.into(),
        }
    }
}

/// "A", "A and B", "A, B and C".
fn list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Reads the person's standing in each of their organizations. With
/// `lock` (deleting), each organization's row is locked first, in org id
/// order (as leaving locks it), so that two owners deleting their accounts
/// at once cannot both go; the account page's preview locks nothing.
async fn standings(tx: &mut UserTx, lock: bool) -> Result<Vec<Standing>, sqlx::Error> {
    let user_id = tx.user_id();
    let mut out = Vec::new();
    let mut orgs = tx.own_orgs(None).await?;
    // Always the same order, so that two deletions never wait on each other.
    orgs.sort_by_key(|o| o.org_id());
    for org in orgs {
        tx.point_at(Some(&org)).await?;
        // The lock first, the counts after it in a statement of their own:
        // under read committed a later statement sees what a deletion that
        // held the lock committed (one statement's subqueries would not).
        if lock {
            sqlx::query!(
                "select org_id from organization where org_id = $1 for update",
                org.org_id().0
            )
            .fetch_one(tx.conn())
            .await?;
        }
        let row = sqlx::query!(
            r#"
            select o.name, o.slug,
                   (select role from membership where org_id = o.org_id and user_id = $2)
                       as "role!: Role",
                   (select count(*) from membership
                     where org_id = o.org_id and user_id <> $2 and role = 'owner') as "other_owners!",
                   (select count(*) from membership
                     where org_id = o.org_id and user_id <> $2) as "other_members!"
            from organization o where o.org_id = $1
            "#,
            org.org_id().0,
            user_id.0,
        )
        .fetch_one(tx.conn())
        .await?;
        out.push(Standing {
            org_id: org.org_id(),
            org,
            slug: row.slug,
            name: row.name,
            role: row.role,
            other_owners: row.other_owners,
            other_members: row.other_members,
        });
    }
    tx.point_at(None).await?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn plan_of(standings: &[Standing]) -> Plan {
    let mut plan = Plan::default();
    for s in standings {
        let name = s.name.clone();
        if s.other_members == 0 {
            plan.deletes.push(name);
        } else if s.role == Role::Owner && s.other_owners == 0 {
            plan.blocked_by.push(name);
        } else {
            plan.leaves.push(name);
        }
    }
    plan
}

/// What deleting the transaction's user's account would do now.
pub async fn plan(tx: &mut UserTx) -> Result<Plan, sqlx::Error> {
    Ok(plan_of(&standings(tx, false).await?))
}

/// Deletes the transaction's user's account once `confirm_email` is its
/// address: leaves each organization (`member.account_deleted` there),
/// deletes the organizations they were the only member of, removes the
/// account (its sessions, factors and links go with it) and mails the
/// address that it is done. Returns the plan it carried out.
#[tracing::instrument(skip_all, fields(user_id = %tx.user_id()))]
pub async fn delete(
    tx: &mut UserTx,
    meta: &RequestMeta,
    confirm_email: &str,
) -> Result<Plan, AccountDeletionError> {
    let user_id = tx.user_id();
    let me = sqlx::query!(
        "select email, display_name from app_user where user_id = $1",
        user_id.0
    )
    .fetch_one(tx.conn())
    .await?;
    if !confirm_email.trim().eq_ignore_ascii_case(&me.email) {
        return Err(AccountDeletionError::NotConfirmed);
    }
    let standings = standings(tx, true).await?;
    let plan = plan_of(&standings);
    if !plan.blocked_by.is_empty() {
        return Err(AccountDeletionError::LastOwner(plan.blocked_by));
    }
    for s in &standings {
        tx.point_at(Some(&s.org)).await?;
        if s.other_members == 0 {
            // Nobody is left to see its history: the organization goes.
            super::orgs::remove(
                tx.conn(),
                meta,
                s.org_id,
                &s.slug,
                &s.name,
                (Some(user_id), Some(me.email.clone())),
            )
            .await?;
            continue;
        }
        audit::insert(
            tx.conn(),
            s.org_id,
            Some((Some(user_id), Some(me.email.clone()))),
            meta,
            Event::new(AuditAction::AccountDeleted)
                .target(Target::user(user_id, &me.email))
                .details(serde_json::json!({ "email": me.email, "role": s.role.as_str() })),
        )
        .await?;
        // Its sessions' rows and single sign-on links go with it.
        sqlx::query!(
            "delete from membership where org_id = $1 and user_id = $2",
            s.org_id.0,
            user_id.0
        )
        .execute(tx.conn())
        .await?;
    }
    tx.point_at(None).await?;
    sqlx::query!("delete from app_user where user_id = $1", user_id.0)
        .execute(tx.conn())
        .await?;
    let mail = super::mail::account_deleted(&me.email, &me.display_name, &plan.deletes);
    super::mail::enqueue(tx.conn(), &mail).await?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn names_read_as_a_list() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&names(&[])), "");
        assert_eq!(list(&names(&["Acme"])), "Acme");
        assert_eq!(list(&names(&["Acme", "Globex"])), "Acme and Globex");
        assert_eq!(list(&names(&["A", "B", "C"])), "A, B and C");
    }
}
