//! The page for any address the app does not know.

use crate::components::layout::PublicLayout;
use leptos::prelude::*;
use leptos_meta::Title;

/// Paths the server answers outside the Leptos router (the single sign-on
/// redirects). A client-side navigation to one of them ends up here; the
/// browser is sent to the server instead.
pub const SERVER_ROUTES: &[&str] = &["/sso/start", "/sso/callback"];

#[component]
pub fn NotFound() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let path = location.pathname.get_untracked();
    if SERVER_ROUTES.contains(&path.as_str()) {
        #[cfg(feature = "hydrate")]
        {
            let search = location.search.get_untracked();
            let href = if search.is_empty() {
                path.clone()
            } else {
                format!("{path}?{search}")
            };
            let _ = window().location().replace(&href);
        }
        return view! { <p class="p-8 text-center text-slate-600">"Redirecting…"</p> }.into_any();
    }
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <PublicLayout>
            <div class="mx-auto max-w-xl px-4 py-24 text-center">
                <p class="text-sm font-semibold text-indigo-600">"404"</p>
                <h1 class="mt-2 text-3xl font-bold tracking-tight">"This page does not exist"</h1>
                <p class="mt-4 text-slate-600">"The address may be mistyped, or the page may have moved."</p>
                <a href="/" class="mt-8 inline-flex rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500">
                    "Go to the home page"
                </a>
            </div>
        </PublicLayout>
    }
    .into_any()
}
