//! The frame around every page inside an organization: the header with the
//! organization switcher and the user menu. Menus are `<details>` elements,
//! so they open and close without JavaScript.

use super::layout::Logo;
use crate::{
    api::{
        auth::{SignOut, SwitchOrg},
        session::{Viewer, get_viewer},
    },
    error::AppError,
    roles::Permission,
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_router::{
    components::{Outlet, Redirect},
    hooks::{use_location, use_params_map},
};

/// The layout route for `/o/:slug/…`: loads the signed-in member (sending
/// anyone else to the org's login page) and frames the page.
#[component]
pub fn OrgLayout() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let viewer = Resource::new(slug, get_viewer);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(viewer) => {
                        provide_context(viewer.clone());
                        EitherOf3::A(view! { <OrgFrame viewer /> })
                    }
                    Err(AppError::Unauthenticated) => {
                        EitherOf3::B(view! { <Redirect path=format!("/o/{}/login", slug()) /> })
                    }
                    Err(error) => EitherOf3::C(view! { <FrameError error /> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn FrameError(error: AppError) -> impl IntoView {
    view! {
        <div class="mx-auto max-w-xl px-4 py-24 text-center">
            <h1 class="text-2xl font-bold text-slate-900">"This page could not be loaded"</h1>
            <p class="mt-3 text-slate-600">{error.to_string()}</p>
        </div>
    }
}

#[component]
fn OrgFrame(viewer: Viewer) -> impl IntoView {
    let switch = ServerAction::<SwitchOrg>::new();
    let sign_out = ServerAction::<SignOut>::new();
    let home = format!("/o/{}", viewer.org_slug);
    let mut nav = vec![
        ("Home", home.clone()),
        ("Projects", format!("{home}/projects")),
    ];
    if viewer.role.can(Permission::ViewMembers) {
        nav.push(("Members", format!("{home}/members")));
    }
    if viewer.role.can(Permission::ManageSso) {
        nav.push(("Single sign-on", format!("{home}/sso")));
    }
    if viewer.role.can(Permission::ViewAudit) {
        nav.push(("Audit log", format!("{home}/audit")));
    }
    if viewer.role.can(Permission::ManageOrganization) {
        nav.push(("Settings", format!("{home}/settings")));
    }
    let nav_mobile = nav.clone();
    let others = viewer.other_orgs.clone();
    let has_others = !others.is_empty();
    view! {
        <div class="flex min-h-full flex-col">
            <header class="border-b border-slate-200 bg-white">
                <div class="mx-auto flex h-16 max-w-6xl items-center gap-2 px-4 sm:gap-4 sm:px-6">
                    <Logo compact=true />
                    <span class="hidden text-slate-300 sm:inline" aria-hidden="true">"/"</span>
                    <details class="group relative" data-testid="org-switcher">
                        <summary class="flex cursor-pointer list-none items-center gap-2 rounded-lg px-2 py-1.5 text-sm font-semibold text-slate-900 hover:bg-slate-100">
                            <span class="flex h-7 w-7 items-center justify-center rounded-md bg-indigo-100 text-xs font-bold text-indigo-700">
                                {initials(&viewer.org_name)}
                            </span>
                            <span class="max-w-[10rem] truncate sm:max-w-[14rem]">{viewer.org_name.clone()}</span>
                            <Chevron />
                        </summary>
                        <div class="absolute left-0 z-20 mt-2 w-72 rounded-xl border border-slate-200 bg-white p-2 shadow-lg">
                            <p class="px-3 pt-2 pb-1 text-xs font-medium uppercase tracking-wide text-slate-500">"Signed in to"</p>
                            <div class="flex items-center justify-between rounded-lg bg-slate-50 px-3 py-2 text-sm">
                                <span class="font-medium text-slate-900">{viewer.org_name.clone()}</span>
                                <span class="text-xs text-slate-500">{viewer.role.label()}</span>
                            </div>
                            <Show when=move || has_others>
                                <p class="px-3 pt-3 pb-1 text-xs font-medium uppercase tracking-wide text-slate-500">
                                    "Switch organization"
                                </p>
                            </Show>
                            {others
                                .into_iter()
                                .map(|org| {
                                    view! {
                                        <ActionForm action=switch>
                                            <input type="hidden" name="slug" value=org.slug />
                                            <button
                                                type="submit"
                                                class="flex w-full items-center justify-between rounded-lg px-3 py-2 text-left text-sm text-slate-700 hover:bg-slate-100"
                                            >
                                                <span>{org.name}</span>
                                                <span class="text-xs text-slate-500">{org.role.label()}</span>
                                            </button>
                                        </ActionForm>
                                    }
                                })
                                .collect_view()}
                            <p class="px-3 pt-2 text-xs leading-5 text-slate-500">
                                "Switching signs you out here and into the other organization."
                            </p>
                            <a href="/orgs/new" class="mt-2 block rounded-lg px-3 py-2 text-sm font-medium text-indigo-600 hover:bg-indigo-50">
                                "+ Create an organization"
                            </a>
                        </div>
                    </details>
                    <nav class="ml-2 hidden items-center gap-1 text-sm sm:flex" aria-label="Organization">
                        {nav
                            .into_iter()
                            .map(|(label, href)| view! { <NavLink label href /> })
                            .collect_view()}
                    </nav>
                    <details class="relative ml-auto" data-testid="user-menu">
                        <summary class="flex cursor-pointer list-none items-center gap-2 rounded-full p-1 hover:bg-slate-100">
                            <span class="flex h-8 w-8 items-center justify-center rounded-full bg-slate-800 text-xs font-semibold text-white">
                                {initials(&viewer.display_name)}
                            </span>
                            <span class="sr-only">"Account menu"</span>
                        </summary>
                        <div class="absolute right-0 z-20 mt-2 w-64 rounded-xl border border-slate-200 bg-white p-2 shadow-lg">
                            <div class="px-3 py-2">
                                <p class="text-sm font-medium text-slate-900">{viewer.display_name.clone()}</p>
                                <p class="truncate text-sm text-slate-500">{viewer.email.clone()}</p>
                            </div>
                            <a href="/account" class="block rounded-lg px-3 py-2 text-sm text-slate-700 hover:bg-slate-100">
                                "Your account"
                            </a>
                            <ActionForm action=sign_out>
                                <button
                                    type="submit"
                                    class="w-full rounded-lg px-3 py-2 text-left text-sm text-slate-700 hover:bg-slate-100"
                                >
                                    "Sign out"
                                </button>
                            </ActionForm>
                        </div>
                    </details>
                </div>
            </header>
            <nav class="flex gap-1 overflow-x-auto border-b border-slate-200 bg-white px-4 py-2 text-sm sm:hidden" aria-label="Organization">
                {nav_mobile
                    .into_iter()
                    .map(|(label, href)| view! { <NavLink label href /> })
                    .collect_view()}
            </nav>
            <main class="flex-1">
                <Outlet />
            </main>
        </div>
    }
}

/// A header link, marked when it is the current page.
#[component]
fn NavLink(label: &'static str, href: String) -> impl IntoView {
    let location = use_location();
    let target = href.clone();
    // A section's pages below it count too, but not every page under the
    // org's home.
    let current = Memo::new(move |_| {
        let path = location.pathname.get();
        path == target
            || (target.matches('/').count() > 2 && path.starts_with(&format!("{target}/")))
    });
    view! {
        <a
            href=href
            aria-current=move || current.get().then_some("page")
            class=move || {
                if current.get() {
                    "rounded-lg bg-slate-100 px-3 py-1.5 font-medium whitespace-nowrap text-slate-900"
                } else {
                    "rounded-lg px-3 py-1.5 font-medium whitespace-nowrap text-slate-600 hover:bg-slate-100 hover:text-slate-900"
                }
            }
        >
            {label}
        </a>
    }
}

#[component]
fn Chevron() -> impl IntoView {
    view! {
        <svg viewBox="0 0 20 20" fill="currentColor" class="h-4 w-4 text-slate-400" aria-hidden="true">
            <path fill-rule="evenodd" d="M5.23 7.21a.75.75 0 011.06.02L10 11.06l3.71-3.83a.75.75 0 111.08 1.04l-4.25 4.4a.75.75 0 01-1.08 0l-4.25-4.4a.75.75 0 01.02-1.06z" clip-rule="evenodd" />
        </svg>
    }
}

/// "Acme Corporation" → "AC".
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}
