//! Forgotten passwords: asking for a reset link, and choosing a new password.

use crate::{
    api::auth::{ForgotPassword, LinkState, ResetPassword, reset_link_state},
    components::{
        form::{Field, FormAlert, FormErrors, Notice, Submit, action_error},
        layout::{AuthCard, MessagePage},
    },
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let errors = FormErrors::new(action_error(action), &["email"]);
    let query = use_query_map();
    let sent = move || query.read().get("sent").is_some();
    view! {
        <Title text="Reset your password" />
        <AuthCard
            title="Reset your password"
            subtitle="Enter the email address of your account and we will send you a link to choose a new password."
            footer=Box::new(|| {
                view! {
                    <a href="/login" class="font-semibold text-indigo-600 hover:text-indigo-500">"Back to sign-in"</a>
                }
                    .into_any()
            })
        >
            <Show when=sent>
                <Notice>
                    "If an account uses that address, a reset link is on its way. It works once, for 60 minutes."
                </Notice>
            </Show>
            <ActionForm action attr:class="space-y-5">
                <FormAlert message=errors.form() />
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="email"
                    value=errors.kept("email", Signal::derive(String::new))
                    error=errors.field("email")
                />
                <Submit label="Send reset link" pending=action.pending() working="Sending…" />
            </ActionForm>
        </AuthCard>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let state = Resource::new(token, reset_link_state);
    view! {
        <Title text="Choose a new password" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match state.await {
                    Ok(LinkState::Usable) => Either::Left(view! { <ResetForm token=token() /> }),
                    other => {
                        let (title, message) = match other {
                            Ok(LinkState::Expired) => (
                                "This reset link has expired",
                                "Reset links work for 60 minutes. Ask for a new one.",
                            ),
                            Ok(LinkState::AlreadyUsed) => (
                                "This reset link has already been used",
                                "Each link works once. If you still need to change your password, ask for a new one.",
                            ),
                            _ => ("This reset link is not valid", "It may have been copied incompletely. Ask for a new one."),
                        };
                        Either::Right(
                            view! {
                                <MessagePage title message action_label="Ask for a new link" action_href="/forgot-password" />
                            },
                        )
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn ResetForm(token: String) -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let errors = FormErrors::new(action_error(action), &["password", "confirm"]);
    view! {
        <AuthCard title="Choose a new password" subtitle="This signs you out on every device.">
            <ActionForm action attr:class="space-y-5">
                <FormAlert message=errors.form() />
                <input type="hidden" name="token" value=token />
                <Field
                    label="New password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    error=errors.field("password")
                    hint="At least 10 characters."
                />
                <Field
                    label="Repeat the new password"
                    name="confirm"
                    kind="password"
                    autocomplete="new-password"
                    error=errors.field("confirm")
                />
                <Submit label="Change password" pending=action.pending() working="Saving…" />
            </ActionForm>
        </AuthCard>
    }
}
