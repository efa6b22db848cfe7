//! `/sso/continue`: the stop between a form and the identity provider.
//!
//! A form post may not redirect to another origin (the content security
//! policy's `form-action 'self'`), so forms that lead to single sign-on
//! (home-realm discovery at `/login`, an org that requires it) redirect
//! here, and this page moves on to `/sso/start` as an ordinary navigation:
//! at once with JavaScript, by a meta refresh without, and by the link if
//! both are off.

use crate::components::{form::query_encode, layout::AuthCard};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

/// Where `/sso/continue` leads for these query values.
pub fn start_path(org: &str, login_hint: &str) -> String {
    let mut path = format!("/sso/start?org={}", query_encode(org));
    if !login_hint.is_empty() {
        path.push_str("&login_hint=");
        path.push_str(&query_encode(login_hint));
    }
    path
}

#[component]
pub fn SsoContinuePage() -> impl IntoView {
    let query = use_query_map();
    let org = query.read_untracked().get("org").unwrap_or_default();
    let hint = query.read_untracked().get("login_hint").unwrap_or_default();
    let start = start_path(&org, &hint);
    #[cfg(feature = "hydrate")]
    {
        let start = start.clone();
        Effect::new(move |_| {
            let _ = window().location().replace(&start);
        });
    }
    view! {
        <Title text="Continuing to single sign-on" />
        <Meta http_equiv="refresh" content=format!("0;url={start}") />
        <AuthCard
            title="Continuing to single sign-on"
            subtitle="Your organization signs you in through its identity provider."
        >
            <a
                href=start
                rel="external"
                class="inline-flex w-full justify-center rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
            >
                "Continue"
            </a>
        </AuthCard>
    }
}
