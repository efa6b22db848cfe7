//! `/login/second-step`: the code from the authenticator app (or a recovery
//! code) after the password, the emailed link or single sign-on.

use crate::{
    api::second_step::{
        ConfirmEnrolmentStep, EnrolmentStep, SecondStepPage, VerifySecondStep, get_enrolment_step,
        get_second_step,
    },
    components::{
        form::{Field, FormAlert, FormErrors, Submit, action_error},
        layout::{AuthCard, Logo, MessagePage},
        page::PageHeader,
    },
    error::AppError,
    pages::account::TotpSetupPanel,
};
use leptos::{
    either::{Either, EitherOf3},
    prelude::*,
};
use leptos_meta::Title;
use leptos_router::components::Redirect;

fn timed_out() -> impl IntoView {
    view! {
        <MessagePage
            title="This sign-in has timed out"
            message="The second step must follow the first within a few minutes. Sign in again to continue."
            action_label="Sign in again"
            action_href="/login"
        />
    }
}

#[component]
pub fn SecondStepPage() -> impl IntoView {
    let step = Resource::new(|| (), |_| get_second_step());
    view! {
        <Title text="Two-step sign-in" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match step.await {
                    Ok(page) => EitherOf3::A(view! { <CodeForm page /> }),
                    Err(AppError::Conflict(_)) => EitherOf3::B(view! { <Redirect path="/login/set-up-two-step" /> }),
                    Err(_) => EitherOf3::C(timed_out()),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CodeForm(page: SecondStepPage) -> impl IntoView {
    let action = ServerAction::<VerifySecondStep>::new();
    let errors = FormErrors::new(action_error(action), &["code"]);
    let subtitle = match &page.org_name {
        Some(org) => format!(
            "{} uses two-step sign-in. Enter the code your authenticator app shows to continue to {org}.",
            page.email
        ),
        None => format!(
            "{} uses two-step sign-in. Enter the code your authenticator app shows.",
            page.email
        ),
    };
    view! {
        <AuthCard
            title="Enter your code"
            subtitle=subtitle
            footer=Box::new(|| {
                view! {
                    "Not you? "
                    <a href="/login" class="font-semibold text-indigo-600 hover:text-indigo-500">"Start again"</a>
                }
                    .into_any()
            })
        >
            <ActionForm action attr:class="space-y-5">
                <FormAlert message=errors.form() />
                <Field
                    label="Authentication code"
                    name="code"
                    autocomplete="one-time-code"
                    inputmode="text"
                    maxlength=64
                    autofocus=true
                    error=errors.field("code")
                    hint="Six digits from the app. Lost your phone? Type one of your recovery codes here instead; each works once."
                />
                <Submit label="Continue" pending=action.pending() working="Checking…" />
            </ActionForm>
        </AuthCard>
    }
}

/// `/login/set-up-two-step`: the organization requires two-step sign-in
/// and the account has no authenticator yet; setting one up finishes the
/// sign-in.
#[component]
pub fn EnrolmentStepPage() -> impl IntoView {
    let step = Resource::new(|| (), |_| get_enrolment_step());
    view! {
        <Title text="Set up two-step sign-in" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match step.await {
                    Ok(step) => Either::Left(view! { <EnrolmentForm step /> }),
                    Err(_) => Either::Right(timed_out()),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EnrolmentForm(step: EnrolmentStep) -> impl IntoView {
    let action = ServerAction::<ConfirmEnrolmentStep>::new();
    let errors = FormErrors::new(action_error(action), &["code"]);
    let subtitle = format!(
        "{} requires two-step sign-in. Set up an authenticator app for {} to continue; from now on, signing in asks for its code.",
        step.org_name, step.email
    );
    view! {
        <div class="flex min-h-full flex-col bg-slate-50">
            <header class="mx-auto flex w-full max-w-3xl items-center px-4 py-5 sm:px-6">
                <Logo />
            </header>
            <main class="mx-auto w-full max-w-3xl flex-1 px-4 pt-2 pb-16 sm:px-6">
                <PageHeader title="Set up two-step sign-in" subtitle=subtitle />
                <div class="mt-6">
                    <TotpSetupPanel setup=step.setup>
                        <ActionForm action attr:class="mt-2 space-y-3">
                            <FormAlert message=errors.form() />
                            <Field
                                label="Six-digit code"
                                name="code"
                                autocomplete="one-time-code"
                                inputmode="numeric"
                                maxlength=64
                                error=errors.field("code")
                            />
                            <Submit label="Turn on and continue" pending=action.pending() working="Checking…" />
                        </ActionForm>
                    </TotpSetupPanel>
                </div>
            </main>
        </div>
    }
}
