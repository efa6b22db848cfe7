//! How a signed-in session is shown, on the account page and on an admin's
//! view of a member's sessions.

use crate::api::account::SessionView;
use leptos::prelude::*;

/// The browser, where and how the session signed in, and when it was
/// last used. The page puts its own "End" button beside it.
#[component]
pub fn SessionSummary(session: SessionView, #[prop(optional)] show_org: bool) -> impl IntoView {
    let SessionView {
        org_name,
        method,
        two_step,
        signed_in,
        last_seen,
        client,
        browser,
        current,
        ..
    } = session;
    let how = if two_step {
        format!("{method} and a second step")
    } else {
        method
    };
    let place = if show_org {
        format!("{org_name} · {how}")
    } else {
        how
    };
    let seen = match client {
        Some(client) => format!("Last seen {last_seen} from {client}"),
        None => format!("Last seen {last_seen}"),
    };
    view! {
        <div class="min-w-0">
            <p class="flex flex-wrap items-center gap-2 font-medium text-slate-900">
                <span data-testid="session-browser">{browser}</span>
                {current.then(|| view! {
                    <span class="inline-flex items-center rounded-full bg-indigo-50 px-2 py-0.5 text-xs font-medium text-indigo-700 ring-1 ring-indigo-200">
                        "This browser"
                    </span>
                })}
            </p>
            <p class="mt-0.5 text-sm text-slate-600">{place}</p>
            <p class="mt-0.5 text-xs text-slate-500">{format!("Signed in {signed_in}")} " · " {seen}</p>
        </div>
    }
}

/// One row of a session list: the summary, and (for a session other than
/// this browser's) the page's form that ends it, with [`EndButton`].
#[component]
pub fn SessionItem(
    session: SessionView,
    #[prop(optional)] show_org: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <li class="flex items-center justify-between gap-4 py-3" data-testid="session-row">
            <SessionSummary session show_org />
            {children()}
        </li>
    }
}

/// The small "End" button of a session's row.
#[component]
pub fn EndButton(#[prop(optional, into)] label: Option<String>) -> impl IntoView {
    view! {
        <button
            type="submit"
            aria-label=label
            class="rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 shadow-sm hover:bg-slate-50"
        >
            "End"
        </button>
    }
}
