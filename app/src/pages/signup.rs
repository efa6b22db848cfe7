//! Signing up: the form, the "check your inbox" page, and the page the
//! verification link opens.

use crate::{
    api::{
        auth::{SignUp, VerifyOutcome, verify_email},
        session::dev_mode,
    },
    components::{
        form::{Field, FormAlert, FormErrors, Submit, action_error},
        layout::{AuthCard, MessagePage},
    },
    validation::OrgSlug,
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let errors = FormErrors::new(
        action_error(action),
        &["name", "email", "password", "org_name", "slug"],
    );

    // With JavaScript, the URL name follows the organization's name until
    // the person edits it; without, a blank URL name is derived on the server.
    let org_name = RwSignal::new(String::new());
    let slug = RwSignal::new(String::new());
    let slug_edited = RwSignal::new(false);
    let on_org_name = Callback::new(move |value: String| {
        if !slug_edited.get_untracked() {
            slug.set(OrgSlug::suggest(&value));
        }
        org_name.set(value);
    });
    let on_slug = Callback::new(move |value: String| {
        slug_edited.set(true);
        slug.set(value);
    });
    let preview = move || {
        let s = slug.get();
        if s.is_empty() {
            "your-organization".to_string()
        } else {
            s
        }
    };

    view! {
        <Title text="Create your organization" />
        <AuthCard
            title="Create your organization"
            subtitle="You will be its owner and can invite your team right after."
            footer=Box::new(|| {
                view! {
                    "Already have an account? "
                    <a href="/login" class="font-semibold text-indigo-600 hover:text-indigo-500">"Sign in"</a>
                }
                    .into_any()
            })
        >
            <ActionForm action attr:class="space-y-5" attr:data-testid="sign-up-form">
                <FormAlert message=errors.form() />
                <Field label="Your name" name="name" autocomplete="name" value=errors.kept("name", Signal::derive(String::new)) error=errors.field("name") />
                <Field label="Work email" name="email" kind="email" autocomplete="email" value=errors.kept("email", Signal::derive(String::new)) error=errors.field("email") />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    error=errors.field("password")
                    hint="At least 10 characters."
                />
                <div class="border-t border-slate-200 pt-5">
                    <Field
                        label="Organization name"
                        name="org_name"
                        autocomplete="organization"
                        value=errors.kept("org_name", org_name.into())
                        error=errors.field("org_name")
                        on_input=on_org_name
                    />
                </div>
                <Field
                    label="URL name"
                    name="slug"
                    value=errors.kept("slug", slug.into())
                    error=errors.field("slug")
                    on_input=on_slug
                    hint="Lower-case letters, digits and hyphens. Leave it empty to derive it from the name."
                />
                <p class="-mt-2 rounded-lg bg-slate-50 px-3 py-2 text-xs text-slate-600">
                    "Your team's sign-in page: "
                    <span class="font-mono text-slate-900">"/o/" {preview} "/login"</span>
                </p>
                <Submit label="Create organization" pending=action.pending() working="Creating…" />
            </ActionForm>
        </AuthCard>
    }
}

#[component]
pub fn CheckEmailPage() -> impl IntoView {
    let dev = Resource::new(|| (), |_| dev_mode());
    view! {
        <Title text="Check your inbox" />
        <AuthCard title="Check your inbox">
            <p class="text-sm leading-6 text-slate-600">
                "We have sent a link to confirm your email address. Open it on this device to go straight to your organization. The link works for 24 hours."
            </p>
            <p class="text-sm leading-6 text-slate-600">
                "Nothing arrived? Check your spam folder, or "
                <a href="/login" class="font-medium text-indigo-600 hover:text-indigo-500">"sign in"</a>
                " to have a new link sent."
            </p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    dev.await
                        .unwrap_or(false)
                        .then(|| {
                            view! {
                                <p class="rounded-lg bg-amber-50 px-3 py-2 text-xs text-amber-800">
                                    "Running locally without a mail server? Read the message in the "
                                    <a href="/dev/mailbox" class="font-semibold underline">"development mailbox"</a>
                                    "."
                                </p>
                            }
                        })
                })}
            </Suspense>
        </AuthCard>
    }
}

/// Opened from the verification mail.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let outcome = Resource::new(token, verify_email);
    view! {
        <Title text="Confirm your email" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match outcome.await {
                    Ok(VerifyOutcome::SignedIn { org_slug }) => {
                        EitherOf3::A(view! { <Redirect path=format!("/o/{org_slug}") /> })
                    }
                    Ok(VerifyOutcome::Verified { password_removed: false }) => {
                        EitherOf3::B(view! { <Redirect path="/login?verified=1" /> })
                    }
                    Ok(VerifyOutcome::Verified { password_removed: true }) => {
                        EitherOf3::C(
                            view! {
                                <MessagePage
                                    title="Your address is confirmed"
                                    message="This link was opened in another browser than the one that signed up, so for your safety the password chosen at sign-up was removed: whoever chose it may not have been you. We have sent you an email with a link to set a password of your own."
                                    action_label="Go to sign-in"
                                    action_href="/login"
                                />
                            },
                        )
                    }
                    Ok(problem) => {
                        let (title, message) = match problem {
                            VerifyOutcome::Expired => (
                                "This link has expired",
                                "Confirmation links work for 24 hours. Sign in with your email and password and we will send a new one.",
                            ),
                            VerifyOutcome::AlreadyUsed => (
                                "This link has already been used",
                                "Your address is probably confirmed already. Sign in to continue.",
                            ),
                            _ => (
                                "This link is not valid",
                                "It may have been copied incompletely. Sign in and we will send a new one if your address still needs confirming.",
                            ),
                        };
                        EitherOf3::C(view! { <MessagePage title message action_label="Sign in" action_href="/login" /> })
                    }
                    Err(error) => {
                        EitherOf3::C(
                            view! {
                                <MessagePage
                                    title="Your address could not be confirmed"
                                    message=error.to_string()
                                    action_label="Sign in"
                                    action_href="/login"
                                />
                            },
                        )
                    }
                }
            })}
        </Suspense>
    }
}
