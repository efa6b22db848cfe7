//! `/sso/link`: the first single sign-on of an existing account. The
//! provider said who the person is by an email address; an address alone
//! never signs anyone in to an existing account (whoever runs the provider
//! can assert any), so the person proves the account once — its password,
//! or a link mailed to it — and from then on the provider's identity is
//! linked to the account. `/sso/link/confirm` is where that mailed link
//! leads: a button, so mail scanners that open links do not spend it.

use crate::{
    api::sso_sign_in::{
        CancelLink, ConfirmLinkEmail, LinkWithPassword, SendLinkEmail, get_pending_link,
    },
    components::{
        form::{Field, FormAlert, FormErrors, Notice, Submit, action_error},
        layout::{AuthCard, MessagePage},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SsoLinkPage() -> impl IntoView {
    let query = use_query_map();
    let password = ServerAction::<LinkWithPassword>::new();
    let send = ServerAction::<SendLinkEmail>::new();
    let cancel = ServerAction::<CancelLink>::new();
    let view_data = Resource::new(move || send.version().get(), |_| get_pending_link());
    let errors = FormErrors::new(action_error(password), &["password"]);
    let send_errors = FormErrors::new(action_error(send), &[]);
    view! {
        <Title text="Confirm it is your account" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match view_data.await {
                    Ok(link) => {
                        let sent = link.email_sent || query.read_untracked().get("sent").is_some();
                        view! {
                            <AuthCard
                                title="Confirm it is your account"
                                subtitle=format!(
                                    "{} signed you in as {}. This is the first time this account signs in to {} that way: prove once that it is yours, and from then on the provider signs you in.",
                                    link.provider,
                                    link.email,
                                    link.org_name,
                                )
                            >
                                {sent
                                    .then(|| {
                                        view! {
                                            <Notice>
                                                {format!(
                                                    "We have sent a link to {}. Open it in this browser within 15 minutes.",
                                                    link.email,
                                                )}
                                            </Notice>
                                        }
                                    })}
                                {link
                                    .password_allowed
                                    .then(|| {
                                        view! {
                                            <ActionForm action=password attr:class="space-y-5" attr:data-testid="link-password-form">
                                                <FormAlert message=errors.form() />
                                                <Field
                                                    label="Your password"
                                                    name="password"
                                                    kind="password"
                                                    autocomplete="current-password"
                                                    error=errors.field("password")
                                                />
                                                <Submit label="Confirm and sign in" pending=password.pending() working="Checking…" />
                                            </ActionForm>
                                            <div class="flex items-center gap-3 text-xs uppercase tracking-wide text-slate-400">
                                                <span class="h-px flex-1 bg-slate-200"></span>
                                                "or"
                                                <span class="h-px flex-1 bg-slate-200"></span>
                                            </div>
                                        }
                                    })}
                                <ActionForm action=send attr:data-testid="link-email-form">
                                    <FormAlert message=send_errors.form() />
                                    <button
                                        type="submit"
                                        class="w-full rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50"
                                    >
                                        {if sent { "Send the link again" } else { "Email me a confirmation link" }}
                                    </button>
                                </ActionForm>
                                <ActionForm action=cancel attr:class="text-center">
                                    <button type="submit" class="text-sm font-medium text-slate-500 hover:text-slate-700">
                                        "This is not my account — cancel"
                                    </button>
                                </ActionForm>
                            </AuthCard>
                        }
                            .into_any()
                    }
                    Err(error) => {
                        view! {
                            <MessagePage
                                title="Nothing to confirm"
                                message=error.to_string()
                                action_label="Go to sign-in"
                                action_href="/login"
                            />
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn SsoLinkConfirmPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let confirm = ServerAction::<ConfirmLinkEmail>::new();
    let errors = FormErrors::new(action_error(confirm), &[]);
    view! {
        <Title text="Confirm single sign-on" />
        <AuthCard
            title="Confirm single sign-on"
            subtitle="Press the button to link your account to your organization's identity provider and sign in."
        >
            <ActionForm action=confirm attr:class="space-y-5" attr:data-testid="link-confirm-form">
                <FormAlert message=errors.form() />
                <input type="hidden" name="token" value=token />
                <Submit label="Confirm and sign in" pending=confirm.pending() working="Signing in…" />
            </ActionForm>
            <p class="text-center text-sm">
                <a href="/login" class="font-medium text-indigo-600 hover:text-indigo-500">"Back to sign-in"</a>
            </p>
        </AuthCard>
    }
}
