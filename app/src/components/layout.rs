//! The frame around public pages: header, content, footer.

use leptos::prelude::*;

/// The Trellis mark: a small lattice, drawn inline so it needs no request.
#[component]
pub fn Logo() -> impl IntoView {
    view! {
        <a href="/" class="flex items-center gap-2 font-semibold text-slate-900">
            <svg viewBox="0 0 24 24" class="h-7 w-7 text-indigo-600" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
                <rect x="3" y="3" width="18" height="18" rx="4" />
                <path d="M3 12h18M12 3v18M7.5 3v18M16.5 3v18" stroke-width="1.2" opacity="0.6" />
            </svg>
            <span class="text-lg tracking-tight">"Trellis"</span>
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
