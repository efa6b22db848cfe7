//! `/sso/continue`: the stop between a form and the identity provider.
//!
//! A form post may not redirect to another origin (the content security
//! policy's `form-action 'self'`), so the forms that lead to single sign-on
//! (the sign-in buttons, home-realm discovery at `/login`, an org that
//! requires it) leave a one-time ticket in the session and redirect here
//! with it (`?ticket=…`); this page moves on to `/sso/start?ticket=…` as an
//! ordinary navigation: at once with JavaScript, by a meta refresh without,
//! and by the link if both are off.
//!
//! Without a ticket (`?org=…`: an old link, or a link on another site) the
//! page starts nothing: it asks the person whether they want to sign in to
//! that organization, and only their press of the button (a same-origin
//! POST) starts the sign-in.

use crate::{
    api::session::get_org_login,
    components::{
        layout::{AuthCard, MessagePage},
        sso_start::{SSO_BUTTON, SsoStart},
    },
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

#[component]
pub fn SsoContinuePage() -> impl IntoView {
    let query = use_query_map();
    // Reactive: pressing the button on the confirmation page (hydrated)
    // comes back to this same route with a ticket.
    move || {
        let query = query.read();
        let ticket = query.get("ticket").filter(|t| {
            !t.is_empty()
                && t.len() <= 64
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        match ticket {
            Some(ticket) => EitherOf3::A(view! { <Proceed ticket /> }),
            None => match query.get("org").filter(|o| !o.is_empty()) {
                Some(slug) => {
                    let hint = query.get("login_hint").unwrap_or_default();
                    EitherOf3::B(view! { <Confirm slug hint /> })
                }
                None => EitherOf3::C(view! {
                    <Title text="Single sign-on" />
                    <MessagePage
                        title="Nothing to continue"
                        message="No single sign-on was started here. Start from your organization's sign-in page."
                        action_label="Go to sign-in"
                        action_href="/login"
                    />
                }),
            },
        }
    }
}

/// On to the provider with this session's ticket.
#[component]
fn Proceed(ticket: String) -> impl IntoView {
    let start = format!("/sso/start?ticket={ticket}");
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

/// A sign-in nobody started here: the person decides.
#[component]
fn Confirm(slug: String, hint: String) -> impl IntoView {
    let org = Resource::new(move || slug.clone(), get_org_login);
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let hint = hint.clone();
                Suspend::new(async move {
                    match org.await {
                        Ok(org) if org.sso_enabled => {
                            let title = format!("Sign in to {} with single sign-on?", org.name);
                            view! {
                                <Title text=title.clone() />
                                <AuthCard
                                    title=title
                                    subtitle=format!("A link brought you here. Continue only if you want to sign in to {}; its identity provider will ask who you are.", org.name)
                                >
                                    <SsoStart
                                        slug=org.slug.clone()
                                        login_hint=Signal::derive(move || hint.clone())
                                        label="Continue with single sign-on"
                                        class=SSO_BUTTON
                                        testid="sso-confirm"
                                        icon=true
                                    />
                                    <p class="text-center text-sm">
                                        <a href=format!("/o/{}/login", org.slug) class="font-medium text-indigo-600 hover:text-indigo-500">
                                            "Other ways to sign in"
                                        </a>
                                    </p>
                                </AuthCard>
                            }
                                .into_any()
                        }
                        _ => {
                            view! {
                                <Title text="Single sign-on" />
                                <MessagePage
                                    title="Single sign-on is not available here"
                                    message="This organization does not exist or does not use single sign-on. Start from your organization's sign-in page."
                                    action_label="Go to sign-in"
                                    action_href="/login"
                                />
                            }
                                .into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}
