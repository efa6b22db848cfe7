//! The frame around public pages: header, content, footer.

use leptos::prelude::*;

/// The Trellis mark: a small lattice, drawn inline so it needs no request.
#[component]
pub fn Logo(
    /// Only the mark on narrow screens (the org frame needs the room).
    #[prop(optional)]
    compact: bool,
) -> impl IntoView {
    let text = if compact {
        "hidden text-lg tracking-tight sm:inline"
    } else {
        "text-lg tracking-tight"
    };
    view! {
        <a href="/" class="flex items-center gap-2 font-semibold text-slate-900">
            <svg viewBox="0 0 24 24" class="h-7 w-7 text-indigo-600" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
                <rect x="3" y="3" width="18" height="18" rx="4" />
                <path d="M3 12h18M12 3v18M7.5 3v18M16.5 3v18" stroke-width="1.2" opacity="0.6" />
            </svg>
            <span class=text>"Trellis"</span>
        </a>
    }
}

/// A page for people who are not inside an organization.
#[component]
pub fn PublicLayout(children: Children) -> impl IntoView {
    view! {
        <div class="flex min-h-full flex-col">
            <header class="border-b border-slate-200 bg-white/80 backdrop-blur">
                <div class="mx-auto flex h-16 max-w-6xl items-center justify-between px-4 sm:px-6">
                    <Logo />
                    <nav class="flex items-center gap-2 text-sm">
                        <a href="/login" class="rounded-lg px-3 py-2 font-medium text-slate-700 hover:bg-slate-100">"Sign in"</a>
                        <a href="/signup" class="rounded-lg bg-indigo-600 px-3 py-2 font-semibold text-white shadow-sm hover:bg-indigo-500">
                            "Create an organization"
                        </a>
                    </nav>
                </div>
            </header>
            <main class="flex-1">{children()}</main>
            <footer class="border-t border-slate-200 bg-white">
                <div class="mx-auto max-w-6xl px-4 py-6 text-sm text-slate-500 sm:px-6">
                    "Trellis — an open-source starter for B2B SaaS."
                </div>
            </footer>
        </div>
    }
}

/// A centered card for sign-in and account screens.
#[component]
pub fn AuthCard(
    #[prop(into)] title: String,
    #[prop(optional, into)] subtitle: Option<String>,
    children: Children,
    #[prop(optional)] footer: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="flex min-h-full flex-col bg-slate-50">
            <header class="mx-auto flex w-full max-w-6xl items-center px-4 py-5 sm:px-6">
                <Logo />
            </header>
            <main class="flex flex-1 items-start justify-center px-4 pt-6 pb-16 sm:pt-12">
                <div class="w-full max-w-md">
                    <div class="rounded-2xl border border-slate-200 bg-white px-6 py-8 shadow-sm sm:px-8">
                        <h1 class="text-2xl font-bold tracking-tight text-slate-900">{title}</h1>
                        {subtitle.map(|s| view! { <p class="mt-2 text-sm leading-6 text-slate-600">{s}</p> })}
                        <div class="mt-6 space-y-5">{children()}</div>
                    </div>
                    {footer.map(|f| view! { <div class="mt-6 text-center text-sm text-slate-600">{f()}</div> })}
                </div>
            </main>
        </div>
    }
}

/// A full-page message (errors, confirmations) in the card frame.
#[component]
pub fn MessagePage(
    #[prop(into)] title: String,
    #[prop(into)] message: String,
    #[prop(into)] action_label: String,
    #[prop(into)] action_href: String,
) -> impl IntoView {
    view! {
        <AuthCard title=title>
            <p class="text-sm leading-6 text-slate-600">{message}</p>
            <a
                href=action_href
                class="inline-flex w-full justify-center rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
            >
                {action_label}
            </a>
        </AuthCard>
    }
}
