//! Signing in: the generic `/login`, each organization's own
//! `/o/{slug}/login`, and the page an emailed sign-in link opens.

use crate::{
    api::{
        auth::{ContinueWithSso, RequestSignInLink, SignIn, UseSignInLink},
        session::{OrgLogin, get_org_login},
    },
    components::{
        form::{Field, FormAlert, FormErrors, Notice, Submit, action_error},
        layout::{AuthCard, MessagePage},
        sso_start::{SSO_BUTTON, SsoStart},
    },
    error::AppError,
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::Redirect,
    hooks::{use_params_map, use_query_map},
};

/// `/login`: for people who do not know (or do not use) their
/// organization's own login link.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let email = Signal::derive(move || query.read().get("email").unwrap_or_default());
    view! {
        <Title text="Sign in" />
        <AuthCard
            title="Sign in"
            subtitle="Use the email address of your account."
            footer=Box::new(|| {
                view! {
                    "New here? "
                    <a href="/signup" class="font-semibold text-indigo-600 hover:text-indigo-500">
                        "Create an organization"
                    </a>
                }
                    .into_any()
            })
        >
            <QueryNotices />
            <SignInForms org=None email />
            <SsoDiscoveryForm email />
        </AuthCard>
    }
}

/// `/o/{slug}/login`: an organization's own sign-in page.
#[component]
pub fn OrgLoginPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let email = Signal::derive(move || query.read().get("email").unwrap_or_default());
    let info = Resource::new(slug, get_org_login);
    // `?again=1`: a signed-in member signs in afresh (a sensitive change
    // needs a recent sign-in and they have no password to confirm with).
    let again = move || query.read().get("again").is_some();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match info.await {
                    Ok(OrgLogin { signed_in_here: true, slug, .. }) if !again() => {
                        EitherOf3::A(view! { <Redirect path=format!("/o/{slug}") /> }.into_any())
                    }
                    Ok(OrgLogin { moved_to: Some(new_slug), name, .. }) => {
                        EitherOf3::A(
                            view! {
                                <Title text=format!("{name} has moved") />
                                <MessagePage
                                    title=format!("{name} has a new address")
                                    message=format!(
                                        "This sign-in link is out of date. {name} now signs in at /o/{new_slug}/login — update your bookmark.",
                                    )
                                    action_label=format!("Go to the new sign-in page")
                                    action_href=format!("/o/{new_slug}/login")
                                />
                            }
                                .into_any(),
                        )
                    }
                    Ok(org) if org.sso_enforced && query.read_untracked().get("break_glass").is_none() => {
                        // Single sign-on is the only way in. One press of the
                        // button starts it: arriving here from a link must not
                        // start a sign-in by itself (login CSRF).
                        EitherOf3::A(view! { <SsoOnly org email /> }.into_any())
                    }
                    Ok(org) => EitherOf3::B(view! { <OrgSignIn org email /> }),
                    Err(AppError::NotFound) => {
                        EitherOf3::C(
                            view! {
                                <Title text="Organization not found" />
                                <MessagePage
                                    title="No organization at this address"
                                    message="Check the login link you were given, or sign in with your email address and we will find your organizations."
                                    action_label="Sign in with your email"
                                    action_href="/login"
                                />
                            },
                        )
                    }
                    Err(error) => {
                        EitherOf3::C(
                            view! {
                                <Title text="Sign in" />
                                <MessagePage
                                    title="Sign-in is unavailable"
                                    message=error.to_string()
                                    action_label="Try again"
                                    action_href=format!("/o/{}/login", slug())
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
fn OrgSignIn(org: OrgLogin, email: Signal<String>) -> impl IntoView {
    let query = use_query_map();
    let title = format!("Sign in to {}", org.name);
    view! {
        <Title text=title.clone() />
        <AuthCard
            title=title
            subtitle=format!("This is the sign-in page of {}. Only its members can sign in here.", org.name)
            footer=Box::new(|| {
                view! {
                    "Not a member? "
                    <a href="/login" class="font-semibold text-indigo-600 hover:text-indigo-500">
                        "Find your organizations"
                    </a>
                }
                    .into_any()
            })
        >
            <SwitchingNotice org=org.clone() />
            {org
                .signed_in_elsewhere
                .clone()
                .map(|other| {
                    view! {
                        <div class="rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-800">
                            {format!("You are signed in to {other}. Signing in here signs you out of {other}.")}
                        </div>
                    }
                })}
            <QueryNotices />
            {move || {
                let break_glass = query.read().get("break_glass").is_some();
                let org = org.clone();
                if break_glass {
                    view! { <BreakGlass org email /> }.into_any()
                } else {
                    view! {
                        {org.sso_enabled.then(|| view! { <SsoButton slug=org.slug.clone() email /> })}
                        <SignInForms org=Some((org.slug.clone(), org.name.clone())) email />
                    }
                        .into_any()
                }
            }}
        </AuthCard>
    }
}

/// The organization's provider, first among the ways in.
#[component]
fn SsoButton(slug: String, email: Signal<String>) -> impl IntoView {
    view! {
        <SsoStart slug login_hint=email label="Continue with single sign-on" class=SSO_BUTTON testid="sso-button" icon=true />
        <div class="flex items-center gap-3 text-xs uppercase tracking-wide text-slate-400">
            <span class="h-px flex-1 bg-slate-200"></span>
            "or"
            <span class="h-px flex-1 bg-slate-200"></span>
        </div>
    }
}

/// Arriving from a switch of organization: which one was left.
#[component]
fn SwitchingNotice(org: OrgLogin) -> impl IntoView {
    org.switching_from.map(|from| {
        view! {
            <Notice>{format!("You signed out of {from}. Sign in to {} to continue.", org.name)}</Notice>
        }
    })
}

/// The sign-in page of an organization that requires single sign-on.
#[component]
fn SsoOnly(org: OrgLogin, email: Signal<String>) -> impl IntoView {
    let title = format!("Sign in to {}", org.name);
    let break_glass = format!("/o/{}/login?break_glass=1", org.slug);
    view! {
        <Title text=title.clone() />
        <AuthCard
            title=title
            subtitle=format!("{} signs you in through its identity provider.", org.name)
        >
            <SwitchingNotice org=org.clone() />
            <QueryNotices />
            <SsoStart slug=org.slug.clone() login_hint=email label="Continue with single sign-on" class=SSO_BUTTON testid="sso-button" icon=true />
            <p class="text-center text-xs text-slate-500">
                "Owners: if the identity provider is not working, use the "
                <a href=break_glass class="font-medium text-indigo-600 hover:text-indigo-500">"owner recovery sign-in"</a>
                "."
            </p>
        </AuthCard>
    }
}

/// An owner's way in while the org enforces single sign-on and the
/// provider is broken: a password sign-in marked as break-glass. Anyone
/// else is refused (and the attempt recorded).
#[component]
fn BreakGlass(org: OrgLogin, email: Signal<String>) -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let errors = FormErrors::new(action_error(sign_in), &["email", "password"]);
    let slug = org.slug.clone();
    view! {
        <div class="rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" role="note">
            <p class="font-semibold">"Owner recovery sign-in"</p>
            <p class="mt-1">
                {format!(
                    "{} requires single sign-on. If its identity provider is not working, an owner can sign in here with a password. The sign-in is recorded in the audit log.",
                    org.name,
                )}
            </p>
        </div>
        <ActionForm action=sign_in attr:class="space-y-5" attr:data-testid="break-glass-form">
            <FormAlert message=errors.form() />
            <input type="hidden" name="org" value=org.slug.clone() />
            <input type="hidden" name="break_glass" value="1" />
            <Field
                label="Email"
                name="email"
                kind="email"
                autocomplete="username"
                value=errors.kept("email", email)
                error=errors.field("email")
            />
            <Field
                label="Password"
                name="password"
                kind="password"
                autocomplete="current-password"
                error=errors.field("password")
            />
            <Submit label="Sign in as an owner" pending=sign_in.pending() working="Signing in…" />
        </ActionForm>
        <SsoStart
            slug
            label="Use single sign-on instead"
            class="w-full text-center text-sm font-medium text-indigo-600 hover:text-indigo-500"
        />
    }
}

/// `/login`: finds the organization by the address's domain and goes to
/// its identity provider.
#[component]
fn SsoDiscoveryForm(email: Signal<String>) -> impl IntoView {
    let discover = ServerAction::<ContinueWithSso>::new();
    let errors = FormErrors::new(action_error(discover), &["email"]);
    let open = Signal::derive(move || {
        errors.form().get().is_some() || errors.field("email").get().is_some()
    });
    view! {
        <details class="rounded-lg border border-slate-200 px-4 py-3" open=move || open.get()>
            <summary class="cursor-pointer text-sm font-medium text-slate-700">"Sign in with single sign-on (SSO)"</summary>
            <ActionForm action=discover attr:class="mt-4 space-y-4" attr:data-testid="sso-discovery-form">
                <FormAlert message=errors.form() />
                <Field
                    label="Work email"
                    name="email"
                    id="sso-email"
                    kind="email"
                    autocomplete="email"
                    value=errors.kept("email", email)
                    error=errors.field("email")
                    hint="We find your organization's identity provider from your address."
                />
                <button
                    type="submit"
                    class="w-full rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50"
                >
                    "Continue with single sign-on"
                </button>
            </ActionForm>
        </details>
    }
}

/// Confirmations passed back in the query string after a redirect.
#[component]
fn QueryNotices() -> impl IntoView {
    let query = use_query_map();
    let has = move |key: &str| query.read().get(key).is_some();
    view! {
        <Show when=move || has("link_sent")>
            <Notice>
                "If that address can sign in here, a sign-in link is on its way. It works once, for 15 minutes."
            </Notice>
        </Show>
        <Show when=move || has("signed_out")>
            <Notice>"You have signed out."</Notice>
        </Show>
        <Show when=move || has("password_reset")>
            <Notice>"Your password has been changed and every session has ended. Sign in with the new password."</Notice>
        </Show>
        <Show when=move || has("sso_now_required")>
            <Notice>
                "Single sign-on is now required here, and sessions that signed in another way have ended — yours too. Sign in through your identity provider to continue."
            </Notice>
        </Show>
        <Show when=move || has("verified")>
            <Notice>"Your email address is confirmed. Sign in to continue."</Notice>
        </Show>
        <Show when=move || has("left")>
            <Notice>"You have left the organization."</Notice>
        </Show>
        <Show when=move || has("account_deleted")>
            <Notice>"Your account is deleted. We sent a confirmation to its email address."</Notice>
        </Show>
        {move || {
            query
                .read()
                .get("deleted")
                .map(|name| view! { <Notice>{format!("{name} and all its data have been deleted.")}</Notice> })
        }}
    }
}

/// The password form and, folded below it, the emailed-link form. `org` is
/// (slug, name) on an organization's own page.
#[component]
fn SignInForms(org: Option<(String, String)>, email: Signal<String>) -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let request_link = ServerAction::<RequestSignInLink>::new();
    let errors = FormErrors::new(action_error(sign_in), &["email", "password"]);
    let link_errors = FormErrors::new(action_error(request_link), &["email"]);
    let slug = org
        .as_ref()
        .map(|(slug, _)| slug.clone())
        .unwrap_or_default();
    let slug_for_link = slug.clone();
    let link_open = Signal::derive(move || {
        link_errors.form().get().is_some() || link_errors.field("email").get().is_some()
    });
    view! {
        <ActionForm action=sign_in attr:class="space-y-5" attr:data-testid="password-form">
            <FormAlert message=errors.form() />
            <input type="hidden" name="org" value=slug.clone() />
            <Field
                label="Email"
                name="email"
                kind="email"
                autocomplete="username"
                value=errors.kept("email", email)
                error=errors.field("email")
            />
            <div>
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    error=errors.field("password")
                />
                <p class="mt-2 text-right text-sm">
                    <a href="/forgot-password" class="font-medium text-indigo-600 hover:text-indigo-500">
                        "Forgot your password?"
                    </a>
                </p>
            </div>
            <Submit label="Sign in" pending=sign_in.pending() working="Signing in…" />
        </ActionForm>
        <details class="group rounded-lg border border-slate-200 px-4 py-3" open=move || link_open.get()>
            <summary class="cursor-pointer text-sm font-medium text-slate-700">"Email me a sign-in link instead"</summary>
            <ActionForm action=request_link attr:class="mt-4 space-y-4" attr:data-testid="link-form">
                <FormAlert message=link_errors.form() />
                <input type="hidden" name="org" value=slug_for_link />
                <Field
                    label="Email"
                    name="email"
                    id="link-email"
                    kind="email"
                    autocomplete="email"
                    value=link_errors.kept("email", email)
                    error=link_errors.field("email")
                />
                <button
                    type="submit"
                    class="w-full rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50"
                >
                    "Email me a link"
                </button>
            </ActionForm>
        </details>
    }
}

/// The page an emailed sign-in link opens. Signing in takes a press of the
/// button, so a mail scanner that follows links cannot spend the link.
#[component]
pub fn LinkSignInPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug");
    let token = move || query.read().get("token").unwrap_or_default();
    let use_link = ServerAction::<UseSignInLink>::new();
    let errors = FormErrors::new(action_error(use_link), &[]);
    let back = move || match slug() {
        Some(slug) => format!("/o/{slug}/login"),
        None => "/login".to_string(),
    };
    view! {
        <Title text="Sign in with your link" />
        <AuthCard title="Sign in with your link" subtitle="Press the button to finish signing in on this device.">
            <ActionForm action=use_link attr:class="space-y-5">
                <FormAlert message=errors.form() />
                <input type="hidden" name="token" value=token />
                <input type="hidden" name="org" value=move || slug().unwrap_or_default() />
                <Submit label="Sign in" pending=use_link.pending() working="Signing in…" />
            </ActionForm>
            <p class="text-center text-sm">
                <a href=back class="font-medium text-indigo-600 hover:text-indigo-500">"Back to sign-in"</a>
            </p>
        </AuthCard>
    }
}
