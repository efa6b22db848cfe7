//! Where a single sign-on that did not work lands: what went wrong, in
//! words a person understands, and the way back.

use crate::{components::layout::MessagePage, sso_failure::describe};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SsoFailedPage() -> impl IntoView {
    let query = use_query_map();
    let reason = query.read_untracked().get("reason").unwrap_or_default();
    let org = query
        .read_untracked()
        .get("org")
        .filter(|o| !o.is_empty() && o.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let (title, message) = describe(&reason);
    let (label, href) = match org {
        Some(slug) => (
            "Back to the sign-in page".to_string(),
            format!("/o/{slug}/login"),
        ),
        None => ("Go to sign-in".to_string(), "/login".to_string()),
    };
    view! {
        <Title text="Single sign-on did not work" />
        <div class="h-full" data-testid="sso-failed" data-reason=reason>
            <MessagePage title=title message=message action_label=label action_href=href />
        </div>
    }
}
