//! An organization's home page.

use crate::{
    api::{
        members::LeaveOrg,
        projects::{ProjectView, recent_projects},
        session::get_org_home,
    },
    components::{
        form::{FormAlert, FormErrors, action_error},
        page::{Confirm, ConfirmButtons, org_page},
    },
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn OrgHomePage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let home = Resource::new(slug, get_org_home);
    let projects = Resource::new(slug, recent_projects);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let slug = slug();
                let projects = projects.await.unwrap_or_default(); // a failure leaves the list out
                org_page(home.await, &slug, "the organization's home page", |home| {
                    view! {
                        <Title text=home.org_name.clone() />
                        <div class="mx-auto max-w-6xl px-4 py-10 sm:px-6">
                            <h1 class="text-2xl font-bold tracking-tight text-slate-900">{home.org_name.clone()}</h1>
                            <p class="mt-1 text-sm text-slate-600">
                                {format!("You are signed in as {} with {}.", home.role.label().to_lowercase(), home.signed_in_with)}
                            </p>
                            <div class="mt-8 grid gap-4 sm:grid-cols-3">
                                <Stat label="Members" value=home.member_count.to_string() />
                                <Stat label="Your role" value=home.role.label().to_string() />
                                <Stat label="Signed in with" value=home.signed_in_with.clone() />
                            </div>
                            <RecentProjects projects slug=slug.clone() />
                            <Leave slug=slug.clone() org_name=home.org_name.clone() />
                        </div>
                    }
                    .into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
fn Stat(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm">
            <p class="text-sm text-slate-500">{label}</p>
            <p class="mt-1 text-xl font-semibold text-slate-900">{value}</p>
        </div>
    }
}

// resource: project
/// The projects changed most recently, with a way to all of them.
#[component]
fn RecentProjects(projects: Vec<ProjectView>, slug: String) -> impl IntoView {
    let all = format!("/o/{slug}/projects");
    view! {
        <section class="mt-10" aria-labelledby="recent-projects">
            <div class="flex items-baseline justify-between">
                <h2 id="recent-projects" class="text-lg font-semibold text-slate-900">"Recent projects"</h2>
                <a href=all.clone() class="text-sm font-medium text-indigo-600 hover:text-indigo-500">"All projects →"</a>
            </div>
            {if projects.is_empty() {
                Either::Left(view! {
                    <p class="mt-3 rounded-2xl border border-dashed border-slate-300 px-4 py-8 text-center text-sm text-slate-500">
                        "No projects yet. "
                        <a href=all class="font-medium text-indigo-600 hover:text-indigo-500">"Create the first one"</a>
                    </p>
                })
            } else {
                Either::Right(view! {
                    <ul class="mt-3 grid gap-3 sm:grid-cols-2 lg:grid-cols-3" data-testid="recent-projects">
                        {projects
                            .into_iter()
                            .map(|p| {
                                let href = format!("/o/{slug}/projects/{}", p.id);
                                let summary = p.description.lines().next().unwrap_or("").to_string();
                                view! {
                                    <li>
                                        <a href=href class="block h-full rounded-2xl border border-slate-200 bg-white p-4 shadow-sm hover:border-indigo-300">
                                            <span class="block truncate font-medium text-slate-900">{p.name}</span>
                                            <span class="mt-1 block truncate text-sm text-slate-600">{summary}</span>
                                            <span class="mt-2 block text-xs text-slate-500">{format!("Changed {}", p.updated)}</span>
                                        </a>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                })
            }}
        </section>
    }
}

// end resource: project

/// Leaving the organization, behind a confirmation step.
#[component]
fn Leave(slug: String, org_name: String) -> impl IntoView {
    let query = use_query_map();
    let leave = ServerAction::<LeaveOrg>::new();
    let errors = FormErrors::new(action_error(leave), &[]);
    let confirming = move || query.read().get("leave").is_some() || errors.form().get().is_some();
    let ask = format!("/o/{slug}?leave=1");
    let title = format!("Leave {org_name}?");
    let cancel = format!("/o/{slug}");
    view! {
        <section class="mt-12 border-t border-slate-200 pt-6">
            {move || {
                if !confirming() {
                    return Either::Left(view! {
                        <a href=ask.clone() class="text-sm font-medium text-slate-500 hover:text-red-600">
                            "Leave this organization…"
                        </a>
                    });
                }
                // The form's children are built once, so they get their own copies.
                let (slug, cancel) = (slug.clone(), cancel.clone());
                Either::Right(view! {
                    <Confirm title=title.clone() message="You lose access at once. To come back you need a new invitation.">
                        <FormAlert message=errors.form() />
                        <ActionForm action=leave attr:class="mt-3">
                            <input type="hidden" name="slug" value=slug />
                            <ConfirmButtons label="Leave organization" cancel />
                        </ActionForm>
                    </Confirm>
                })
            }}
        </section>
    }
}
