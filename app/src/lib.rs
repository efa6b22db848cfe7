//! Trellis: an orgs-first B2B SaaS starter.
//!
//! This crate is the whole web application. Pages, components and server
//! functions compile for both the server (`ssr`) and the browser
//! (`hydrate`); the domain layer, which owns all SQL, compiles for the
//! server only.

#![recursion_limit = "256"]

pub mod api;
pub mod audit;
pub mod components;
pub mod error;
pub mod ids;
pub mod pages;
pub mod roles;
pub mod sso_failure;
pub mod text;
pub mod validation;

#[cfg(feature = "ssr")]
pub mod domain;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Route, Router, Routes},
    path,
};
use pages::{
    audit::AuditPage,
    home::HomePage,
    invitation::InvitationPage,
    mailbox::MailboxPage,
    members::MembersPage,
    not_found::NotFound,
    org_home::OrgHomePage,
    orgs::{NewOrgPage, PickerPage},
    password::{ForgotPasswordPage, ResetPasswordPage},
    projects::{ProjectPage, ProjectsPage},
    settings::SettingsPage,
    sign_in::{LinkSignInPage, LoginPage, OrgLoginPage},
    signup::{CheckEmailPage, SignUpPage, VerifyEmailPage},
    sso::SsoPage,
    sso_continue::SsoContinuePage,
    sso_failed::SsoFailedPage,
    sso_link::{SsoLinkConfirmPage, SsoLinkPage},
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        set_content_security_policy(&options);
        provide_context(api::context::PageMembership::default());
    }
    view! {
        <!DOCTYPE html>
        <html lang="en" class="h-full">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="h-full bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// Only our own files run, plus inline scripts carrying this response's
/// nonce (Leptos' hydration bootstrap); the wasm bundle may be compiled.
#[cfg(feature = "ssr")]
fn set_content_security_policy(options: &LeptosOptions) {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let nonce = leptos::nonce::use_nonce()
        .map(|n| n.to_string())
        .unwrap_or_default();
    // cargo-leptos' live reload talks over a websocket in development.
    let reload = match options.env {
        leptos::config::Env::DEV => format!(
            " ws://127.0.0.1:{0} ws://localhost:{0}",
            options.reload_port
        ),
        leptos::config::Env::PROD => String::new(),
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'{reload}; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The application: routes and the pieces every page shares.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Marks the document once the wasm bundle has taken over, so tests (and
    // curious people) can tell a hydrated page from a server-rendered one.
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/trellis.css" />
        <Title formatter=|title: String| {
            let title = if title.is_empty() { "Trellis".to_string() } else { format!("{title} · Trellis") };
            // leptos_meta writes the formatted title into the server's HTML
            // unescaped; titles carry org names, so escape them there. In
            // the browser the text goes to `document.title`, which is text.
            #[cfg(feature = "ssr")]
            let title = crate::text::escape_html(&title);
            title
        } />
        // Every page renders completely on the server before it is sent
        // (SsrMode::Async), so a page can still answer with a redirect or a
        // status code after loading its data.
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                <Route path=path!("/signup") view=SignUpPage ssr=SsrMode::Async />
                <Route path=path!("/signup/check-email") view=CheckEmailPage ssr=SsrMode::Async />
                <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async />
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/login/link") view=LinkSignInPage ssr=SsrMode::Async />
                <Route path=path!("/login/second-step") view=pages::second_step::SecondStepPage ssr=SsrMode::Async />
                <Route path=path!("/login/set-up-two-step") view=pages::second_step::EnrolmentStepPage ssr=SsrMode::Async />
                <Route path=path!("/account") view=pages::account::AccountPage ssr=SsrMode::Async />
                <Route path=path!("/account/two-step") view=pages::account::TwoStepSetupPage ssr=SsrMode::Async />
                <Route path=path!("/account/recovery-codes") view=pages::account::RecoveryCodesPage ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/orgs") view=PickerPage ssr=SsrMode::Async />
                <Route path=path!("/orgs/new") view=NewOrgPage ssr=SsrMode::Async />
                <Route path=path!("/o/:slug/login") view=OrgLoginPage ssr=SsrMode::Async />
                <Route path=path!("/o/:slug/login/link") view=LinkSignInPage ssr=SsrMode::Async />
                <ParentRoute path=path!("/o/:slug") view=components::org_frame::OrgLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=OrgHomePage ssr=SsrMode::Async />
                    <Route path=path!("projects") view=ProjectsPage ssr=SsrMode::Async />
                    <Route path=path!("projects/:id") view=ProjectPage ssr=SsrMode::Async />
                    <Route path=path!("members") view=MembersPage ssr=SsrMode::Async />
                    <Route path=path!("members/:user_id/sessions") view=pages::member_sessions::MemberSessionsPage ssr=SsrMode::Async />
                    <Route path=path!("settings") view=SettingsPage ssr=SsrMode::Async />
                    <Route path=path!("sso") view=SsoPage ssr=SsrMode::Async />
                    <Route path=path!("audit") view=AuditPage ssr=SsrMode::Async />
                </ParentRoute>
                <Route path=path!("/invite") view=InvitationPage ssr=SsrMode::Async />
                <Route path=path!("/sso/failed") view=SsoFailedPage ssr=SsrMode::Async />
                <Route path=path!("/sso/continue") view=SsoContinuePage ssr=SsrMode::Async />
                <Route path=path!("/sso/link") view=SsoLinkPage ssr=SsrMode::Async />
                <Route path=path!("/sso/link/confirm") view=SsoLinkConfirmPage ssr=SsrMode::Async />
                <Route path=path!("/dev/mailbox") view=MailboxPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
