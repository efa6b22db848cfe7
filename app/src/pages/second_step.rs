//! `/login/second-step`: the code from the authenticator app (or a recovery
//! code) after the password, the emailed link or single sign-on.

use crate::{
    api::second_step::{SecondStepPage, VerifySecondStep, get_second_step},
    components::{
        form::{Field, FormAlert, FormErrors, Submit, action_error},
        layout::{AuthCard, MessagePage},
    },
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

#[component]
pub fn SecondStepPage() -> impl IntoView {
    let step = Resource::new(|| (), |_| get_second_step());
    view! {
        <Title text="Two-step sign-in" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match step.await {
                    Ok(page) => Either::Left(view! { <CodeForm page /> }),
                    Err(_) => Either::Right(
                        view! {
                            <MessagePage
                                title="This sign-in has timed out"
                                message="The second step must follow the first within a few minutes. Sign in again to continue."
                                action_label="Sign in again"
                                action_href="/login"
                            />
                        },
                    ),
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
