//! An organization's home page.

use crate::{api::session::get_org_home, components::layout::MessagePage, error::AppError};
use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_params_map};

#[component]
pub fn OrgHomePage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let home = Resource::new(slug, get_org_home);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match home.await {
                    Ok(home) => {
                        EitherOf3::A(
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
                                </div>
                            },
                        )
                    }
                    Err(AppError::Unauthenticated) => {
                        EitherOf3::B(view! { <Redirect path=format!("/o/{}/login", slug()) /> })
                    }
                    Err(error) => {
                        EitherOf3::C(
                            view! {
                                <MessagePage
                                    title="This page could not be loaded"
                                    message=error.to_string()
                                    action_label="Try again"
                                    action_href=format!("/o/{}", slug())
                                />
                            },
                        )
                    }
                }
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
