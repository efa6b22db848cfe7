//! The public home page.

use crate::components::layout::PublicLayout;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <PublicLayout>
            <section class="mx-auto max-w-6xl px-4 pt-20 pb-16 sm:px-6">
                <p class="text-sm font-semibold uppercase tracking-wider text-indigo-600">"Orgs-first B2B SaaS starter"</p>
                <h1 class="mt-3 max-w-3xl text-4xl font-bold tracking-tight text-slate-900 sm:text-5xl">
                    "A workspace for every customer, kept apart by the database itself."
                </h1>
                <p class="mt-6 max-w-2xl text-lg leading-8 text-slate-600">
                    "Each organization signs in through its own link, manages its own members and single sign-on, "
                    "and reads its own audit log. PostgreSQL row-level security refuses to show one organization's "
                    "rows to another, so isolation does not depend on every query being written right."
                </p>
                <div class="mt-10 flex flex-wrap gap-3">
                    <a href="/signup" class="rounded-lg bg-indigo-600 px-5 py-3 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500">
                        "Create an organization"
                    </a>
                    <a href="/login" class="rounded-lg border border-slate-300 bg-white px-5 py-3 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50">
                        "Sign in"
                    </a>
                </div>
            </section>
            <section class="mx-auto grid max-w-6xl gap-6 px-4 pb-24 sm:grid-cols-3 sm:px-6">
                <Feature title="Sign in per organization">
                    "Every organization has its own login link and its own rules: password, email link or "
                    "its identity provider."
                </Feature>
                <Feature title="An admin console">
                    "Owners and admins invite people, assign roles, connect their SSO and review "
                    "everything that happened."
                </Feature>
                <Feature title="Isolation you can test">
                    "Every org-owned row carries its organization in its key, under forced row-level "
                    "security and a role that cannot bypass it."
                </Feature>
            </section>
        </PublicLayout>
    }
}

#[component]
fn Feature(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm">
            <h2 class="text-base font-semibold text-slate-900">{title}</h2>
            <p class="mt-2 text-sm leading-6 text-slate-600">{children()}</p>
        </div>
    }
}
