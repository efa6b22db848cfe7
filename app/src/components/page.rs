//! Pieces shared by the pages inside an organization.

use leptos::prelude::*;

/// A white panel with a title and a line saying what it is for (the
/// settings and account pages are stacks of these).
#[component]
pub fn Card(
    title: &'static str,
    #[prop(into)] description: String,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm">
            <h2 class="font-semibold text-slate-900">{title}</h2>
            <p class="mt-1 text-sm text-slate-600">{description}</p>
            <div class="mt-4">{children()}</div>
        </section>
    }
}

/// A page's title and one line under it.
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional, into)] subtitle: Option<String>,
) -> impl IntoView {
    view! {
        <div>
            <h1 class="text-2xl font-bold tracking-tight text-slate-900">{title}</h1>
            {subtitle.map(|s| view! { <p class="mt-1 text-sm text-slate-600">{s}</p> })}
        </div>
    }
}

/// Shown when the member's role does not include the page they opened.
#[component]
pub fn NotAllowed(what: &'static str, slug: String) -> impl IntoView {
    view! {
        <div class="mx-auto max-w-xl px-4 py-20 text-center">
            <p class="text-sm font-semibold text-indigo-600">"Not allowed"</p>
            <h1 class="mt-2 text-2xl font-bold tracking-tight text-slate-900">
                {format!("Your role does not include {what}")}
            </h1>
            <p class="mt-3 text-slate-600">"An owner or admin of this organization can change your role if you need it."</p>
            <a
                href=format!("/o/{slug}")
                class="mt-8 inline-flex rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
            >
                "Back to the organization"
            </a>
        </div>
    }
}

/// Renders an org page's loaded data, or what stands instead of it: the
/// org's login page when the session does not reach this organization, a
/// "not allowed" page when the role does not include the page, and a
/// message for anything else.
pub fn org_page<T>(
    result: Result<T, crate::error::AppError>,
    slug: &str,
    what: &'static str,
    render: impl FnOnce(T) -> AnyView,
) -> AnyView {
    use crate::{components::layout::MessagePage, error::AppError};
    use leptos_router::components::Redirect;
    match result {
        Ok(data) => render(data),
        Err(AppError::Unauthenticated) => {
            view! { <Redirect path=format!("/o/{slug}/login") /> }.into_any()
        }
        Err(AppError::Forbidden) => view! { <NotAllowed what slug=slug.to_string() /> }.into_any(),
        Err(error) => view! {
            <MessagePage
                title=format!("{} could not be loaded", capitalized(what))
                message=error.to_string()
                action_label="Try again"
                action_href=format!("/o/{slug}")
            />
        }
        .into_any(),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The second step of a destructive action: what will happen, the real
/// button (in `children`, a form), and a way back.
#[component]
pub fn Confirm(
    #[prop(into)] title: String,
    #[prop(into)] message: String,
    children: Children,
) -> impl IntoView {
    let label = title.clone();
    view! {
        <div class="rounded-2xl border border-red-200 bg-red-50 p-5" role="alertdialog" aria-label=label>
            <h2 class="font-semibold text-red-900">{title}</h2>
            <p class="mt-1 text-sm text-red-800">{message}</p>
            <div class="mt-4">{children()}</div>
        </div>
    }
}

/// The red button and the "Cancel" link of a confirmation.
#[component]
pub fn ConfirmButtons(#[prop(into)] label: String, #[prop(into)] cancel: String) -> impl IntoView {
    view! {
        <div class="flex gap-3">
            <button type="submit" class="rounded-lg bg-red-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-red-500">
                {label}
            </button>
            <a href=cancel class="rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 hover:bg-slate-50">
                "Cancel"
            </a>
        </div>
    }
}
