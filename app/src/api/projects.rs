//! Server functions of the projects pages: the reference resource. Each is
//! its input validation and one domain call inside [`in_org`], which checks
//! the membership and the permission, commits on success and gives API
//! callers their status.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::context::{in_org, url_encode, when},
    super::navigation::redirect,
    crate::{
        domain::{
            projects::{self, ListFilter, Project},
            tenancy::MemberTx,
        },
        error::Validator,
        ids::ProjectId,
        roles::Permission,
        validation::{PROJECT_SEARCH_MAX_CHARS, ProjectDescription, ProjectName},
    },
};

/// A project as the pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Who created it, while they are still a member.
    pub created_by: Option<String>,
    pub created: String,
    pub updated: String,
    pub archived: bool,
    /// Whether the viewer may change, archive and delete it.
    pub can_change: bool,
}

/// One page of the project list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectsPage {
    pub org_name: String,
    pub projects: Vec<ProjectView>,
    /// Cursor of the next page, if there is one.
    pub next: Option<String>,
    pub active_count: i64,
    pub archived_count: i64,
    /// The list shows archived projects.
    pub archived: bool,
    pub can_create: bool,
}

#[cfg(feature = "ssr")]
fn view_of(project: Project, tx: &MemberTx) -> ProjectView {
    ProjectView {
        id: project.project_id.to_string(),
        can_change: project.changeable_by(tx),
        created_by: project.created_by_name.clone(),
        created: when(project.created_at),
        updated: when(project.updated_at),
        archived: project.archived_at.is_some(),
        name: project.name,
        description: project.description,
    }
}

#[cfg(feature = "ssr")]
fn parse_id(id: &str) -> Result<ProjectId, AppError> {
    id.trim().parse().map_err(|_| AppError::NotFound)
}

/// Name and description, both checked, each message under its field; the
/// typed text comes back with the error for a form without JavaScript.
#[cfg(feature = "ssr")]
fn parse_fields(
    name: &str,
    description: &str,
) -> Result<(ProjectName, ProjectDescription), AppError> {
    let mut v = Validator::new();
    let parsed_name = v.check("name", ProjectName::parse(name));
    let parsed_description = v.check("description", ProjectDescription::parse(description));
    let keep = [("name", name), ("description", description)];
    v.finish().map_err(|e| e.keeping(&keep))?;
    Ok((
        parsed_name.expect("checked"),
        parsed_description.expect("checked"),
    ))
}

#[server(prefix = "/api", endpoint = "projects/list")]
pub async fn list_projects(
    slug: String,
    q: Option<String>,
    show: Option<String>,
    after: Option<String>,
) -> Result<ProjectsPage, AppError> {
    in_org(&slug, Permission::ViewWorkspace, async |_, tx| {
        if q.as_deref()
            .is_some_and(|s| s.chars().count() > PROJECT_SEARCH_MAX_CHARS)
        {
            return Err(AppError::field(
                "q",
                format!("Search with at most {PROJECT_SEARCH_MAX_CHARS} characters."),
            ));
        }
        let archived = match show.as_deref().unwrap_or("") {
            "" | "active" => false,
            "archived" => true,
            _ => return Err(AppError::field("show", "Show active or archived projects.")),
        };
        let cursor = match after.as_deref().filter(|s| !s.is_empty()) {
            Some(raw) => Some(projects::Cursor::decode(raw).ok_or_else(|| {
                AppError::field(
                    "after",
                    "That page link is broken. Start from the first page.",
                )
            })?),
            None => None,
        };
        let filter = ListFilter {
            search: q.clone(),
            archived,
        };
        let (rows, next) = projects::list(tx, &filter, cursor).await?;
        let (active_count, archived_count) = projects::counts(tx).await?;
        Ok(ProjectsPage {
            org_name: tx.org().name.clone(),
            projects: rows.into_iter().map(|p| view_of(p, tx)).collect(),
            next: next.map(|c| c.encode()),
            active_count,
            archived_count,
            archived,
            can_create: tx.actor().role.can(Permission::EditContent),
        })
    })
    .await
}

#[server(prefix = "/api", endpoint = "projects/get")]
pub async fn get_project(slug: String, id: String) -> Result<ProjectView, AppError> {
    in_org(&slug, Permission::ViewWorkspace, async |_, tx| {
        let project = projects::get(tx, parse_id(&id)?).await?;
        Ok(view_of(project, tx))
    })
    .await
}

/// The recently changed projects, for the org's home page.
#[server(prefix = "/api", endpoint = "projects/recent")]
pub async fn recent_projects(slug: String) -> Result<Vec<ProjectView>, AppError> {
    in_org(&slug, Permission::ViewWorkspace, async |_, tx| {
        let rows = projects::recent(tx, 5).await?;
        Ok(rows.into_iter().map(|p| view_of(p, tx)).collect())
    })
    .await
}

#[server(prefix = "/api", endpoint = "projects/create")]
pub async fn create_project(
    slug: String,
    name: String,
    description: String,
) -> Result<(), AppError> {
    in_org(&slug, Permission::EditContent, async |ctx, tx| {
        let (parsed_name, parsed_description) = parse_fields(&name, &description)?;
        let keep = [
            ("name", name.as_str()),
            ("description", description.as_str()),
        ];
        let id = projects::create(tx, &ctx.meta, &parsed_name, &parsed_description)
            .await
            .map_err(|e| AppError::from(e).keeping(&keep))?;
        redirect(&format!("/o/{slug}/projects/{id}?notice=created"));
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "projects/update")]
pub async fn update_project(
    slug: String,
    id: String,
    name: String,
    description: String,
) -> Result<(), AppError> {
    in_org(&slug, Permission::EditContent, async |ctx, tx| {
        let project_id = parse_id(&id)?;
        let (parsed_name, parsed_description) = parse_fields(&name, &description)?;
        let keep = [
            ("name", name.as_str()),
            ("description", description.as_str()),
        ];
        let changed =
            projects::update(tx, &ctx.meta, project_id, &parsed_name, &parsed_description)
                .await
                .map_err(|e| AppError::from(e).keeping(&keep))?;
        let notice = if changed { "saved" } else { "unchanged" };
        redirect(&format!("/o/{slug}/projects/{project_id}?notice={notice}"));
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "projects/archive")]
pub async fn archive_project(slug: String, id: String) -> Result<(), AppError> {
    in_org(&slug, Permission::EditContent, async |ctx, tx| {
        let project_id = parse_id(&id)?;
        let changed = projects::set_archived(tx, &ctx.meta, project_id, true).await?;
        let notice = if changed { "archived" } else { "unchanged" };
        redirect(&format!("/o/{slug}/projects/{project_id}?notice={notice}"));
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "projects/restore")]
pub async fn restore_project(slug: String, id: String) -> Result<(), AppError> {
    in_org(&slug, Permission::EditContent, async |ctx, tx| {
        let project_id = parse_id(&id)?;
        let changed = projects::set_archived(tx, &ctx.meta, project_id, false).await?;
        let notice = if changed { "restored" } else { "unchanged" };
        redirect(&format!("/o/{slug}/projects/{project_id}?notice={notice}"));
        Ok(())
    })
    .await
}

/// Deletes a project for good (the page asks first).
#[server(prefix = "/api", endpoint = "projects/delete")]
pub async fn delete_project(slug: String, id: String) -> Result<(), AppError> {
    in_org(&slug, Permission::EditContent, async |ctx, tx| {
        let name = projects::delete(tx, &ctx.meta, parse_id(&id)?).await?;
        redirect(&format!(
            "/o/{slug}/projects?notice=deleted&name={}",
            url_encode(&name)
        ));
        Ok(())
    })
    .await
}
