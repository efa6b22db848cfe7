//! The page an invitation link opens.

use crate::{
    api::{
        auth::SignOut,
        invitations::{
            AcceptInvitationNew, AcceptInvitationSignedIn, AcceptInvitationWithPassword,
            InvitationPage, InvitationState, get_invitation,
        },
    },
    components::{
        form::{Field, FormAlert, FormErrors, Submit, action_error},
        layout::{AuthCard, MessagePage},
    },
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn InvitationPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let page = Resource::new(token, get_invitation);
    view! {
        <Title text="Invitation" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => Either::Left(view! { <Invitation page token=token() /> }),
                    Err(error) => Either::Right(view! {
                        <MessagePage
                            title="This invitation could not be opened"
                            message=error.to_string()
                            action_label="Go to the home page"
                            action_href="/"
                        />
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Invitation(page: InvitationPage, token: String) -> impl IntoView {
    let asked_by = page
        .inviter
        .clone()
        .unwrap_or_else(|| "the person who invited you".to_string());
    match page.state {
        InvitationState::Invalid => view! {
            <MessagePage
                title="This invitation link is not valid"
                message="It may have been copied incompletely, or replaced by a newer invitation. Open the link from the most recent invitation mail."
                action_label="Go to the home page"
                action_href="/"
            />
        }
        .into_any(),
        InvitationState::Expired => view! {
            <MessagePage
                title="This invitation has expired"
                message=format!("Invitations work for a limited time. Ask {asked_by} at {} to send it again.", page.org_name)
                action_label="Go to the home page"
                action_href="/"
            />
        }
        .into_any(),
        InvitationState::Revoked => view! {
            <MessagePage
                title="This invitation was withdrawn"
                message=format!("{} withdrew this invitation. Ask {asked_by} if you think this is a mistake.", page.org_name)
                action_label="Go to the home page"
                action_href="/"
            />
        }
        .into_any(),
        InvitationState::Accepted => view! {
            <MessagePage
                title="This invitation has already been used"
                message=format!("If you accepted it, sign in to {} as usual.", page.org_name)
                action_label=format!("Sign in to {}", page.org_name)
                action_href=format!("/o/{}/login", page.org_slug)
            />
        }
        .into_any(),
        InvitationState::Open => view! { <OpenInvitation page token /> }.into_any(),
    }
}

#[component]
fn OpenInvitation(page: InvitationPage, token: String) -> impl IntoView {
    let role = page
        .role
        .map(|r| r.label().to_lowercase())
        .unwrap_or_default();
    let article = if role.starts_with('a') || role.starts_with('o') {
        "an"
    } else {
        "a"
    };
    let title = format!("Join {}", page.org_name);
    let subtitle = match &page.inviter {
        Some(inviter) => format!(
            "{inviter} invited {} to join as {article} {role}.",
            page.email
        ),
        None => format!("{} is invited to join as {article} {role}.", page.email),
    };
    let body = match page.signed_in_as.clone() {
        Some(current) if current.eq_ignore_ascii_case(&page.email) => {
            view! { <AcceptSignedIn token /> }.into_any()
        }
        Some(current) => {
            view! { <WrongAccount token current invited=page.email.clone() /> }.into_any()
        }
        None if page.account_exists => {
            view! { <AcceptWithPassword token email=page.email.clone() /> }.into_any()
        }
        None => view! { <AcceptAsNewPerson token email=page.email.clone() /> }.into_any(),
    };
    view! {
        <Title text=title.clone() />
        <AuthCard title=title subtitle=subtitle>
            {body}
        </AuthCard>
    }
}

#[component]
fn AcceptSignedIn(token: String) -> impl IntoView {
    let accept = ServerAction::<AcceptInvitationSignedIn>::new();
    let errors = FormErrors::new(action_error(accept), &[]);
    view! {
        <ActionForm action=accept attr:class="space-y-5">
            <FormAlert message=errors.form() />
            <input type="hidden" name="token" value=token />
            <Submit label="Accept the invitation" pending=accept.pending() working="Joining…" />
        </ActionForm>
    }
}

#[component]
fn WrongAccount(token: String, current: String, invited: String) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <div class="rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-800" role="status">
            {format!("This invitation is for {invited}, but you are signed in as {current}. Sign out to accept it with the invited address.")}
        </div>
        <ActionForm action=sign_out>
            <input type="hidden" name="next" value=format!("/invite?token={token}") />
            <Submit label="Sign out and continue" pending=sign_out.pending() />
        </ActionForm>
    }
}

#[component]
fn AcceptWithPassword(token: String, email: String) -> impl IntoView {
    let accept = ServerAction::<AcceptInvitationWithPassword>::new();
    let errors = FormErrors::new(action_error(accept), &["password"]);
    view! {
        <p class="text-sm text-slate-600">
            "You already have an account as " <strong class="font-semibold text-slate-900">{email}</strong>
            ". Sign in to accept."
        </p>
        <ActionForm action=accept attr:class="space-y-5">
            <FormAlert message=errors.form() />
            <input type="hidden" name="token" value=token />
            <Field label="Password" name="password" kind="password" autocomplete="current-password" error=errors.field("password") />
            <p class="-mt-3 text-right text-sm">
                <a href="/forgot-password" class="font-medium text-indigo-600 hover:text-indigo-500">"Forgot your password?"</a>
            </p>
            <Submit label="Sign in and join" pending=accept.pending() working="Joining…" />
        </ActionForm>
    }
}

#[component]
fn AcceptAsNewPerson(token: String, email: String) -> impl IntoView {
    let accept = ServerAction::<AcceptInvitationNew>::new();
    let errors = FormErrors::new(action_error(accept), &["name", "password"]);
    view! {
        <p class="text-sm text-slate-600">{format!("Create your account for {email}.")}</p>
        <ActionForm action=accept attr:class="space-y-5">
            <FormAlert message=errors.form() />
            <input type="hidden" name="token" value=token />
            <Field
                label="Your name"
                name="name"
                autocomplete="name"
                value=errors.kept("name", Signal::derive(String::new))
                error=errors.field("name")
            />
            <Field
                label="Choose a password"
                name="password"
                kind="password"
                autocomplete="new-password"
                error=errors.field("password")
                hint="At least 10 characters."
            />
            <Submit label="Create account and join" pending=accept.pending() working="Joining…" />
        </ActionForm>
    }
}
