//! Projects: the reference org-owned resource. Everything a resource of a
//! fork needs is here once — validated input types, a keyset-paged list with
//! search, reads, changes with their audit events, the ownership rule, and
//! one error type with its mapping to what people see — so that a new
//! resource starts as a copy of this file (`scripts/new-resource.sh`).
//!
//! Who may do what (the permission table in `roles.rs`): every member reads
//! (`ViewWorkspace`); members and above create and change the projects they
//! created (`EditContent`); owners and admins change any (`ManageContent`).

use super::{
    audit::{self, Event, Target},
    db::violated_constraint,
    request::RequestMeta,
    tenancy::{MemberTx, OrgTx},
};
use crate::{
    audit::AuditAction,
    error::AppError,
    ids::{ProjectId, UserId},
    roles::Permission,
    validation::{ProjectDescription, ProjectName},
};
use time::OffsetDateTime;
use tracing::instrument;

/// Rows per page of the list.
pub const PAGE_SIZE: i64 = 25;

/// Why a project action was refused. Mapped to what the person sees in
/// one place, the `From` impl below.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("another project has that name")]
    NameTaken,
    #[error("no such project in this organization")]
    NotFound,
    #[error("only the project's creator, an admin or an owner may change it")]
    NotYours,
    #[error("the project is archived")]
    Archived,
    #[error(transparent)]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ProjectError {
    fn from(error: sqlx::Error) -> Self {
        match violated_constraint(&error) {
            Some("project_name_key") => ProjectError::NameTaken,
            _ => ProjectError::Database(error),
        }
    }
}

impl From<ProjectError> for AppError {
    #[track_caller]
    fn from(error: ProjectError) -> Self {
        match error {
            ProjectError::NameTaken => AppError::field(
                "name",
                "Another project already has that name. Choose a different one.",
            ),
            ProjectError::NotFound => AppError::NotFound,
            ProjectError::NotYours => AppError::Forbidden,
            ProjectError::Archived => AppError::Conflict(
                "This project is archived. Restore it before changing it.".into(),
            ),
            ProjectError::Database(e) => e.into(),
        }
    }
}

/// One project as the pages show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub project_id: ProjectId,
    pub name: String,
    pub description: String,
    pub created_by: Option<UserId>,
    /// The creator's name, while they have an account.
    pub created_by_name: Option<String>,
    pub archived_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Project {
    /// Whether the member of `tx` may change or delete this project.
    pub fn changeable_by(&self, tx: &MemberTx) -> bool {
        let actor = tx.actor();
        actor.role.can(Permission::ManageContent)
            || (actor.role.can(Permission::EditContent) && self.created_by == Some(actor.user_id))
    }

    fn target(&self) -> Target {
        Target {
            kind: "project",
            id: self.project_id.to_string(),
            label: self.name.clone(),
        }
    }
}

/// Where the next page starts: the last row's (created, id) pair, written
/// `<unix micros>.<uuid>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: OffsetDateTime,
    pub project_id: ProjectId,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!(
            "{}.{}",
            self.created_at.unix_timestamp_nanos() / 1000,
            self.project_id
        )
    }

    pub fn decode(value: &str) -> Option<Self> {
        let (micros, id) = value.split_once('.')?;
        Some(Self {
            created_at: super::members::time_from_micros(micros)?,
            project_id: id.parse().ok()?,
        })
    }
}

/// Which projects a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Part of the name, compared case-insensitively.
    pub search: Option<String>,
    /// Archived projects instead of active ones.
    pub archived: bool,
}

/// A page of projects, newest first, and the cursor of the next page.
#[instrument(skip(tx), err)]
pub async fn list(
    tx: &mut OrgTx,
    filter: &ListFilter,
    after: Option<Cursor>,
) -> Result<(Vec<Project>, Option<Cursor>), ProjectError> {
    let pattern = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("%{}%", super::db::escape_like(&s.to_lowercase())));
    // The plan depends on whether there is a pattern and a cursor.
    tx.plan_for_these_parameters().await?;
    let org_id = tx.org_id().0;
    let mut rows = sqlx::query_as!(
        ProjectRow,
        r#"
        select p.project_id, p.name, p.description, p.created_by, u.display_name as "created_by_name?",
               p.archived_at, p.created_at, p.updated_at
        from project p left join app_user u on u.user_id = p.created_by
        where p.org_id = $1
          and (p.archived_at is not null) = $2
          and ($3::text is null or lower(p.name) like $3)
          and ($4::timestamptz is null or (p.created_at, p.project_id) < ($4, $5))
        order by p.created_at desc, p.project_id desc
        limit $6
        "#,
        org_id,
        filter.archived,
        pattern,
        after.map(|c| c.created_at),
        after.map(|c| c.project_id.0),
        PAGE_SIZE + 1,
    )
    .fetch_all(tx.conn())
    .await?;
    let next = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| Cursor {
            created_at: r.created_at,
            project_id: ProjectId(r.project_id),
        })
    } else {
        None
    };
    Ok((rows.into_iter().map(Project::from).collect(), next))
}

/// How many projects are active and how many archived.
pub async fn counts(tx: &mut OrgTx) -> Result<(i64, i64), ProjectError> {
    let row = sqlx::query!(
        r#"
        select count(*) filter (where archived_at is null) as "active!",
               count(*) filter (where archived_at is not null) as "archived!"
        from project where org_id = $1
        "#,
        tx.org_id().0
    )
    .fetch_one(tx.conn())
    .await?;
    Ok((row.active, row.archived))
}

/// The active projects changed most recently, for the org's home page.
pub async fn recent(tx: &mut OrgTx, limit: i64) -> Result<Vec<Project>, ProjectError> {
    let rows = sqlx::query_as!(
        ProjectRow,
        r#"
        select p.project_id, p.name, p.description, p.created_by, u.display_name as "created_by_name?",
               p.archived_at, p.created_at, p.updated_at
        from project p left join app_user u on u.user_id = p.created_by
        where p.org_id = $1 and p.archived_at is null
        order by p.updated_at desc
        limit $2
        "#,
        tx.org_id().0,
        limit,
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(Project::from).collect())
}

/// One project of this organization.
#[instrument(skip(tx), err)]
pub async fn get(tx: &mut OrgTx, project_id: ProjectId) -> Result<Project, ProjectError> {
    fetch(tx, project_id, false).await
}

/// Reads a project, locking it for a change when `for_update`.
async fn fetch(
    tx: &mut OrgTx,
    project_id: ProjectId,
    for_update: bool,
) -> Result<Project, ProjectError> {
    let row = sqlx::query_as!(
        ProjectRow,
        r#"
        select p.project_id, p.name, p.description, p.created_by, u.display_name as "created_by_name?",
               p.archived_at, p.created_at, p.updated_at
        from project p left join app_user u on u.user_id = p.created_by
        where p.org_id = $1 and p.project_id = $2
        "#,
        tx.org_id().0,
        project_id.0,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or(ProjectError::NotFound)?;
    if for_update {
        sqlx::query!(
            "select 1 as locked from project where org_id = $1 and project_id = $2 for update",
            tx.org_id().0,
            project_id.0
        )
        .fetch_one(tx.conn())
        .await?;
    }
    Ok(Project::from(row))
}

/// The project, locked, if the acting member may change it.
async fn changeable(tx: &mut MemberTx, project_id: ProjectId) -> Result<Project, ProjectError> {
    let project = fetch(tx, project_id, true).await?;
    if !project.changeable_by(tx) {
        return Err(ProjectError::NotYours);
    }
    Ok(project)
}

/// Creates a project owned by the acting member.
#[instrument(skip(tx, meta), fields(name = name.as_str()), err)]
pub async fn create(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    name: &ProjectName,
    description: &ProjectDescription,
) -> Result<ProjectId, ProjectError> {
    let project_id = ProjectId::generate();
    let created_by = tx.actor().user_id;
    sqlx::query!(
        "insert into project (org_id, project_id, name, description, created_by) values ($1, $2, $3, $4, $5)",
        tx.org_id().0,
        project_id.0,
        name.as_str(),
        description.as_str(),
        created_by.0,
    )
    .execute(tx.conn())
    .await?;
    let target = Target {
        kind: "project",
        id: project_id.to_string(),
        label: name.as_str().to_string(),
    };
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::ProjectCreated).target(target),
    )
    .await?;
    Ok(project_id)
}

/// Renames a project and replaces its description. `false` when both were
/// already so (nothing written, nothing recorded).
#[instrument(skip(tx, meta, description), fields(name = name.as_str()), err)]
pub async fn update(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    project_id: ProjectId,
    name: &ProjectName,
    description: &ProjectDescription,
) -> Result<bool, ProjectError> {
    let project = changeable(tx, project_id).await?;
    if project.archived_at.is_some() {
        return Err(ProjectError::Archived);
    }
    if project.name == name.as_str() && project.description == description.as_str() {
        return Ok(false);
    }
    sqlx::query!(
        "update project set name = $3, description = $4 where org_id = $1 and project_id = $2",
        tx.org_id().0,
        project_id.0,
        name.as_str(),
        description.as_str(),
    )
    .execute(tx.conn())
    .await?;
    let mut changed = serde_json::Map::new();
    if project.name != name.as_str() {
        changed.insert("old_name".into(), project.name.clone().into());
        changed.insert("new_name".into(), name.as_str().into());
    }
    if project.description != description.as_str() {
        changed.insert("description_changed".into(), true.into());
    }
    let mut target = project.target();
    target.label = name.as_str().to_string();
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::ProjectUpdated)
            .target(target)
            .details(changed.into()),
    )
    .await?;
    Ok(true)
}

/// Archives (or restores) a project. `false` when it already was so.
#[instrument(skip(tx, meta), err)]
pub async fn set_archived(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    project_id: ProjectId,
    archived: bool,
) -> Result<bool, ProjectError> {
    let project = changeable(tx, project_id).await?;
    if project.archived_at.is_some() == archived {
        return Ok(false);
    }
    sqlx::query!(
        "update project set archived_at = case when $3 then now() end where org_id = $1 and project_id = $2",
        tx.org_id().0,
        project_id.0,
        archived,
    )
    .execute(tx.conn())
    .await?;
    let action = if archived {
        AuditAction::ProjectArchived
    } else {
        AuditAction::ProjectRestored
    };
    audit::record(tx, meta, Event::new(action).target(project.target())).await?;
    Ok(true)
}

/// Deletes a project for good; returns its name.
#[instrument(skip(tx, meta), err)]
pub async fn delete(
    tx: &mut MemberTx,
    meta: &RequestMeta,
    project_id: ProjectId,
) -> Result<String, ProjectError> {
    let project = changeable(tx, project_id).await?;
    sqlx::query!(
        "delete from project where org_id = $1 and project_id = $2",
        tx.org_id().0,
        project_id.0,
    )
    .execute(tx.conn())
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::ProjectDeleted)
            .target(project.target())
            .details(serde_json::json!({ "was_archived": project.archived_at.is_some() })),
    )
    .await?;
    Ok(project.name)
}

struct ProjectRow {
    project_id: uuid::Uuid,
    name: String,
    description: String,
    created_by: Option<uuid::Uuid>,
    created_by_name: Option<String>,
    archived_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            project_id: ProjectId(r.project_id),
            name: r.name,
            description: r.description,
            created_by: r.created_by.map(UserId),
            created_by_name: r.created_by_name,
            archived_at: r.archived_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_nonsense() {
        let c = Cursor {
            created_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            project_id: ProjectId(uuid::Uuid::nil()),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("nonsense"), None);
        assert_eq!(Cursor::decode("99999999999999999999.x"), None);
    }
}
