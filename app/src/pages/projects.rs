//! The projects pages: the list (search, active/archived, keyset pages, a
//! form for a new project) and one project (edit, archive or restore,
//! delete after a confirmation step). Every action is a plain form that
//! works without JavaScript and is enhanced once hydrated.

use super::members::plural;
use crate::{
    api::projects::{
        ArchiveProject, CreateProject, DeleteProject, ProjectView, ProjectsPage as Page,
        RestoreProject, UpdateProject, get_project, list_projects,
    },
    components::{
        form::{
            Field, FormAlert, FormErrors, Notice, Submit, TextArea, action_error, query_encode,
        },
        page::{Confirm, ConfirmButtons, PageHeader, org_page},
    },
    validation::{PROJECT_DESCRIPTION_MAX_CHARS, PROJECT_NAME_MAX_CHARS, PROJECT_SEARCH_MAX_CHARS},
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

const INPUT: &str = "block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-4 focus:ring-indigo-500/20";
const SECONDARY: &str = "rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50";

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let create = ServerAction::<CreateProject>::new();
    let data = Resource::new(
        move || {
            let q = query.read();
            (slug(), q.get("q"), q.get("show"), q.get("after"))
        },
        |(slug, q, show, after)| list_projects(slug, q, show, after),
    );
    view! {
        <Title text="Projects" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let slug = slug();
                org_page(data.await, &slug, "the projects", |page| {
                    view! { <ProjectList page slug=slug.clone() create /> }.into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
fn ProjectList(page: Page, slug: String, create: ServerAction<CreateProject>) -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let base = format!("/o/{slug}/projects");
    let show = if page.archived { "archived" } else { "active" };
    let link = {
        let base = base.clone();
        move |show: &str, extra: Option<String>| {
            let mut params = Vec::new();
            if show == "archived" {
                params.push("show=archived".to_string());
            }
            let q = query.read_untracked().get("q").unwrap_or_default();
            if !q.is_empty() {
                params.push(format!("q={}", query_encode(&q)));
            }
            params.extend(extra);
            if params.is_empty() {
                base.clone()
            } else {
                format!("{base}?{}", params.join("&"))
            }
        }
    };
    let next_href = page
        .next
        .clone()
        .map(|cursor| link(show, Some(format!("after={cursor}"))));
    let first_href = link(show, None);
    let paged = query.read_untracked().get("after").is_some();
    let tabs = [
        ("active", "Active", page.active_count, !page.archived),
        ("archived", "Archived", page.archived_count, page.archived),
    ];
    let subtitle = format!(
        "{} in {}",
        plural(page.active_count, "active project", "active projects"),
        page.org_name
    );
    let empty = if q().is_empty() {
        if page.archived {
            "No archived projects."
        } else {
            "No projects yet."
        }
    } else {
        "No project matches that search."
    };
    view! {
        <div class="mx-auto max-w-6xl px-4 py-8 sm:px-6">
            <PageHeader title="Projects" subtitle />
            <div class="mt-6"><ListNotice /></div>
            <div class="mt-6 grid gap-8 lg:grid-cols-3">
                <section class="lg:col-span-2" aria-labelledby="project-list">
                    <h2 id="project-list" class="sr-only">"Project list"</h2>
                    <div class="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
                        <nav class="flex gap-1 text-sm" aria-label="Which projects">
                            {tabs
                                .into_iter()
                                .map(|(code, label, count, current)| {
                                    let href = link(code, None);
                                    view! {
                                        <a
                                            href=href
                                            aria-current=current.then_some("page")
                                            class=if current {
                                                "rounded-lg bg-slate-900 px-3 py-1.5 font-medium text-white"
                                            } else {
                                                "rounded-lg px-3 py-1.5 font-medium text-slate-600 hover:bg-slate-100"
                                            }
                                        >
                                            {format!("{label} ({count})")}
                                        </a>
                                    }
                                })
                                .collect_view()}
                        </nav>
                        <form method="get" action=base.clone() class="flex gap-2" role="search">
                            {page.archived.then(|| view! { <input type="hidden" name="show" value="archived" /> })}
                            <label for="project-search" class="sr-only">"Search projects"</label>
                            <input
                                id="project-search"
                                name="q"
                                type="search"
                                maxlength=PROJECT_SEARCH_MAX_CHARS
                                value=q
                                placeholder="Search by name"
                                class=INPUT
                            />
                            <button type="submit" class=SECONDARY>"Search"</button>
                        </form>
                    </div>
                    <ul class="mt-4 divide-y divide-slate-100 overflow-hidden rounded-2xl border border-slate-200 bg-white shadow-sm" data-testid="project-list">
                        {page
                            .projects
                            .iter()
                            .cloned()
                            .map(|project| view! { <ProjectRow project slug=slug.clone() /> })
                            .collect_view()}
                    </ul>
                    {page.projects.is_empty().then(|| view! {
                        <p class="mt-4 rounded-2xl border border-dashed border-slate-300 px-4 py-10 text-center text-sm text-slate-500">{empty}</p>
                    })}
                    <nav class="mt-4 flex items-center justify-between text-sm" aria-label="Pages">
                        {paged.then(|| view! {
                            <a href=first_href.clone() class="font-medium text-indigo-600 hover:text-indigo-500">"← First page"</a>
                        })}
                        <span></span>
                        {next_href.map(|href| view! {
                            <a href=href class="font-medium text-indigo-600 hover:text-indigo-500" rel="next">"Next page →"</a>
                        })}
                    </nav>
                </section>
                <aside>
                    {if page.can_create {
                        Either::Left(view! { <NewProject slug=slug.clone() create /> })
                    } else {
                        Either::Right(view! {
                            <p class="rounded-2xl border border-slate-200 bg-white p-6 text-sm text-slate-600 shadow-sm">
                                "Viewers can read projects. Ask an admin for the member role to create your own."
                            </p>
                        })
                    }}
                </aside>
            </div>
        </div>
    }
}

#[component]
fn ProjectRow(project: ProjectView, slug: String) -> impl IntoView {
    let href = format!("/o/{slug}/projects/{}", project.id);
    let summary = project.description.lines().next().unwrap_or("").to_string();
    let by = project
        .created_by
        .clone()
        .unwrap_or_else(|| "a former member".to_string());
    view! {
        <li class="px-4 py-4 hover:bg-slate-50 sm:px-5">
            <a href=href class="block">
                <span class="flex items-center gap-2">
                    <span class="font-medium text-slate-900">{project.name.clone()}</span>
                    {project.archived.then(|| view! { <ArchivedBadge /> })}
                </span>
                {(!summary.is_empty()).then(|| view! {
                    <span class="mt-1 block truncate text-sm text-slate-600">{summary}</span>
                })}
                <span class="mt-1 block text-xs text-slate-500">
                    {format!("Created by {by} {} · changed {}", project.created, project.updated)}
                </span>
            </a>
        </li>
    }
}

#[component]
fn ArchivedBadge() -> impl IntoView {
    view! {
        <span class="rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-800">"Archived"</span>
    }
}

#[component]
fn NewProject(slug: String, create: ServerAction<CreateProject>) -> impl IntoView {
    let errors = FormErrors::new(action_error(create), &["name", "description"]);
    view! {
        <section class="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm" aria-labelledby="new-project">
            <h2 id="new-project" class="font-semibold text-slate-900">"New project"</h2>
            <ActionForm action=create attr:class="mt-4 space-y-4">
                <FormAlert message=errors.form() />
                <input type="hidden" name="slug" value=slug />
                <Field
                    label="Name"
                    name="name"
                    maxlength=PROJECT_NAME_MAX_CHARS
                    value=errors.kept("name", Signal::derive(String::new))
                    error=errors.field("name")
                />
                <TextArea
                    label="Description"
                    name="description"
                    maxlength=PROJECT_DESCRIPTION_MAX_CHARS
                    value=errors.kept("description", Signal::derive(String::new))
                    error=errors.field("description")
                    hint="Optional. Plain text."
                    rows=3
                />
                <Submit label="Create project" pending=create.pending() working="Creating…" />
            </ActionForm>
        </section>
    }
}

/// Says what the last action did (after its redirect).
#[component]
fn ListNotice() -> impl IntoView {
    let query = use_query_map();
    move || {
        let query = query.read();
        match query.get("notice").as_deref()? {
            "deleted" => Some(view! {
                <Notice>{format!("“{}” has been deleted.", query.get("name").unwrap_or_default())}</Notice>
            }),
            _ => None,
        }
    }
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let id = move || params.read().get("id").unwrap_or_default();
    let update = ServerAction::<UpdateProject>::new();
    let archive = ServerAction::<ArchiveProject>::new();
    let restore = ServerAction::<RestoreProject>::new();
    let delete = ServerAction::<DeleteProject>::new();
    let data = Resource::new(
        move || {
            (
                slug(),
                id(),
                update.version().get() + archive.version().get() + restore.version().get(),
            )
        },
        |(slug, id, _)| get_project(slug, id),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let slug = slug();
                org_page(data.await, &slug, "the project", |project| {
                    let actions = Actions { update, archive, restore, delete };
                    view! { <ProjectDetail project slug=slug.clone() actions /> }.into_any()
                })
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    update: ServerAction<UpdateProject>,
    archive: ServerAction<ArchiveProject>,
    restore: ServerAction<RestoreProject>,
    delete: ServerAction<DeleteProject>,
}

#[component]
fn ProjectDetail(project: ProjectView, slug: String, actions: Actions) -> impl IntoView {
    let query = use_query_map();
    let list = format!("/o/{slug}/projects");
    let here = format!("{list}/{}", project.id);
    let by = project
        .created_by
        .clone()
        .unwrap_or_else(|| "a former member".to_string());
    let row_errors = FormErrors::new(
        Signal::derive(move || {
            action_error(actions.archive)
                .get()
                .or_else(|| action_error(actions.restore).get())
                .or_else(|| action_error(actions.delete).get())
        }),
        &[],
    );
    let confirming = move || query.read().get("delete").is_some();
    let description = project.description.clone();
    view! {
        <Title text=project.name.clone() />
        <div class="mx-auto max-w-3xl px-4 py-8 sm:px-6">
            <a href=list.clone() class="text-sm font-medium text-indigo-600 hover:text-indigo-500">"← All projects"</a>
            <div class="mt-4 flex flex-wrap items-center gap-3">
                <h1 class="text-2xl font-bold tracking-tight break-words text-slate-900">{project.name.clone()}</h1>
                {project.archived.then(|| view! { <ArchivedBadge /> })}
            </div>
            <p class="mt-1 text-sm text-slate-600">
                {format!("Created by {by} {} · changed {}", project.created, project.updated)}
            </p>
            <div class="mt-6 space-y-4">
                <DetailNotice />
                <FormAlert message=row_errors.form() />
            </div>
            {if description.is_empty() {
                Either::Left(view! { <p class="mt-6 text-sm text-slate-500 italic">"No description."</p> })
            } else {
                Either::Right(view! {
                    <p class="mt-6 text-sm leading-6 break-words whitespace-pre-line text-slate-800" data-testid="project-description">{description}</p>
                })
            }}
            {if !project.can_change {
                Either::Left(view! {
                    <p class="mt-10 border-t border-slate-200 pt-6 text-sm text-slate-500">
                        "Only the project's creator, an admin or an owner can change it."
                    </p>
                })
            } else {
                let (slug_edit, slug_state, slug_delete) = (slug.clone(), slug.clone(), slug.clone());
                let project_edit = project.clone();
                let (id_state, id_delete) = (project.id.clone(), project.id.clone());
                let archived = project.archived;
                let ask = format!("{here}?delete=1");
                let cancel = here.clone();
                let title = format!("Delete “{}”?", project.name);
                Either::Right(view! {
                    <div class="mt-10 space-y-6 border-t border-slate-200 pt-6">
                        {(!archived).then(|| view! { <EditProject project=project_edit slug=slug_edit update=actions.update /> })}
                        <section class="flex flex-wrap items-center gap-3">
                            {if archived {
                                Either::Left(view! {
                                    <ActionForm action=actions.restore>
                                        <input type="hidden" name="slug" value=slug_state />
                                        <input type="hidden" name="id" value=id_state />
                                        <button type="submit" class=SECONDARY>"Restore project"</button>
                                    </ActionForm>
                                })
                            } else {
                                Either::Right(view! {
                                    <ActionForm action=actions.archive>
                                        <input type="hidden" name="slug" value=slug_state />
                                        <input type="hidden" name="id" value=id_state />
                                        <button type="submit" class=SECONDARY>"Archive project"</button>
                                    </ActionForm>
                                })
                            }}
                            <a href=ask class="text-sm font-medium text-slate-500 hover:text-red-600">"Delete project…"</a>
                        </section>
                        {move || confirming().then(|| {
                            let (slug, id, cancel) = (slug_delete.clone(), id_delete.clone(), cancel.clone());
                            view! {
                                <Confirm title=title.clone() message="The project is removed for good. The audit log keeps a record that it existed.">
                                    <ActionForm action=actions.delete attr:class="mt-3">
                                        <input type="hidden" name="slug" value=slug />
                                        <input type="hidden" name="id" value=id />
                                        <ConfirmButtons label="Delete project" cancel />
                                    </ActionForm>
                                </Confirm>
                            }
                        })}
                    </div>
                })
            }}
        </div>
    }
}

#[component]
fn EditProject(
    project: ProjectView,
    slug: String,
    update: ServerAction<UpdateProject>,
) -> impl IntoView {
    let errors = FormErrors::new(action_error(update), &["name", "description"]);
    let (name, description) = (project.name.clone(), project.description.clone());
    view! {
        <section aria-labelledby="edit-project">
            <h2 id="edit-project" class="font-semibold text-slate-900">"Edit"</h2>
            <ActionForm action=update attr:class="mt-4 space-y-4">
                <FormAlert message=errors.form() />
                <input type="hidden" name="slug" value=slug />
                <input type="hidden" name="id" value=project.id.clone() />
                <Field
                    label="Name"
                    name="name"
                    maxlength=PROJECT_NAME_MAX_CHARS
                    value=errors.kept("name", Signal::derive(move || name.clone()))
                    error=errors.field("name")
                />
                <TextArea
                    label="Description"
                    name="description"
                    maxlength=PROJECT_DESCRIPTION_MAX_CHARS
                    value=errors.kept("description", Signal::derive(move || description.clone()))
                    error=errors.field("description")
                />
                <div class="flex justify-end"><div class="w-40"><Submit label="Save changes" pending=update.pending() working="Saving…" /></div></div>
            </ActionForm>
        </section>
    }
}

#[component]
fn DetailNotice() -> impl IntoView {
    let query = use_query_map();
    move || {
        let message = match query.read().get("notice").as_deref()? {
            "created" => "Project created.",
            "saved" => "Changes saved.",
            "archived" => "Project archived. It is listed under Archived and can be restored.",
            "restored" => "Project restored.",
            "unchanged" => "Nothing changed.",
            _ => return None,
        };
        Some(view! { <Notice>{message}</Notice> })
    }
}
