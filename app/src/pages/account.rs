//! `/account`: the signed-in person's own account, whatever organization
//! they are in — who they are, and two-step sign-in (an authenticator app
//! and recovery codes). `/account/two-step` sets the app up, and
//! `/account/recovery-codes` shows fresh recovery codes once.

use crate::{
    api::account::{
        Account, ChangeName, ChangePassword, ConfirmTotp, DeleteAccount, DeletionPlan, DisableTotp,
        EndOtherSessions, EndSession, IdentityView, RegenerateRecoveryCodes, SessionView,
        TotpSetup, get_account, get_totp_setup, take_recovery_codes,
    },
    components::{
        form::{Field, FormAlert, FormErrors, Notice, StepUp, Submit, action_error},
        layout::Logo,
        page::{Card, PageHeader},
        sessions::{EndButton, SessionItem},
    },
    error::AppError,
    error::STEP_UP_FIELD,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

/// The frame of the account pages: the logo, and the way back into the
/// organization this session is in.
#[component]
fn AccountFrame(org_slug: String, org_name: String, children: Children) -> impl IntoView {
    view! {
        <div class="flex min-h-full flex-col bg-slate-50">
            <header class="border-b border-slate-200 bg-white">
                <div class="mx-auto flex h-16 max-w-3xl items-center justify-between px-4 sm:px-6">
                    <Logo />
                    <a href=format!("/o/{org_slug}") class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100">
                        {format!("← Back to {org_name}")}
                    </a>
                </div>
            </header>
            <main class="mx-auto w-full max-w-3xl flex-1 px-4 py-8 sm:px-6">{children()}</main>
        </div>
    }
}

/// Not signed in (or the session ended): to the sign-in page.
fn signed_out(error: AppError) -> impl IntoView {
    match error {
        AppError::Unauthenticated => Either::Left(view! { <Redirect path="/login" /> }),
        other => Either::Right(view! {
            <div class="mx-auto max-w-md px-4 py-16"><FormAlert message=Signal::derive(move || Some(other.to_string())) /></div>
        }),
    }
}

fn day(unix: i64) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:long] [year]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let disable = ServerAction::<DisableTotp>::new();
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let rename = ServerAction::<ChangeName>::new();
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    let account = Resource::new(
        move || {
            disable.version().get()
                + rename.version().get()
                + end_one.version().get()
                + end_others.version().get()
        },
        |_| get_account(),
    );
    let actions = AccountActions {
        disable,
        regenerate,
        rename,
        password: ServerAction::<ChangePassword>::new(),
        end_one,
        end_others,
        delete,
    };
    view! {
        <Title text="Your account" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(account) => Either::Left(view! { <AccountView account actions /> }),
                    Err(e) => Either::Right(signed_out(e)),
                }
            })}
        </Suspense>
    }
}

/// The forms of the account page (kept across its reloads).
#[derive(Clone, Copy)]
struct AccountActions {
    disable: ServerAction<DisableTotp>,
    regenerate: ServerAction<RegenerateRecoveryCodes>,
    rename: ServerAction<ChangeName>,
    password: ServerAction<ChangePassword>,
    end_one: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
    delete: ServerAction<DeleteAccount>,
}

#[component]
fn AccountView(account: Account, actions: AccountActions) -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        match query.read().get("notice").as_deref() {
        Some("totp_off") => Some(view! {
            <Notice>"Two-step sign-in is off. Your password (or emailed link) alone signs you in now."</Notice>
        }.into_any()),
        Some("name_changed") => Some(view! { <Notice>"Your name is changed."</Notice> }.into_any()),
        Some("password_changed") => Some(view! {
            <Notice>"Your password is changed. We sent a note to your email address."</Notice>
        }.into_any()),
        Some("session_ended") => Some(view! {
            <Notice>"That session is ended: its next page will ask to sign in again."</Notice>
        }.into_any()),
        Some("other_sessions_ended") => Some(view! {
            <Notice>"Every other session is ended. Only this browser is still signed in."</Notice>
        }.into_any()),
        _ => None,
    }
    };
    let Account {
        display_name,
        email,
        org_slug,
        org_name,
        has_password,
        totp_since,
        recovery_codes_left,
        sessions,
        identities,
        deletion,
    } = account;
    let AccountActions {
        disable,
        regenerate,
        rename,
        password,
        end_one,
        end_others,
        delete,
    } = actions;
    let slug = org_slug.clone();
    let slug_for_delete = org_slug.clone();
    let email_for_delete = email.clone();
    view! {
        <AccountFrame org_slug org_name>
            <PageHeader title="Your account" subtitle="These settings are yours: they follow you into every organization you belong to." />
            <div class="mt-6">{notice}</div>
            <div class="mt-6 space-y-6">
                <ProfileCard display_name email rename />
                <PasswordCard has_password slug password />
                <SignInMethods has_password identities />
                {match totp_since {
                    None => Either::Left(view! { <TwoStepOff /> }),
                    Some(since) => Either::Right(view! {
                        <TwoStepOn since recovery_codes_left disable regenerate />
                    }),
                }}
                <SessionsCard sessions end_one end_others />
                <MyDataCard />
                <DeleteAccountCard email=email_for_delete slug=slug_for_delete deletion delete />
            </div>
        </AccountFrame>
    }
}

#[component]
fn ProfileCard(
    display_name: String,
    email: String,
    rename: ServerAction<ChangeName>,
) -> impl IntoView {
    let errors = FormErrors::new(action_error(rename), &["name"]);
    let name = errors.kept("name", Signal::derive(move || display_name.clone()));
    view! {
        <Card title="Profile" description="How you appear to the people you work with, in every organization.">
            <ActionForm action=rename attr:class="space-y-4">
                <FormAlert message=errors.form() />
                <div class="grid gap-4 sm:grid-cols-[1fr_auto] sm:items-start">
                    <Field
                        label="Name"
                        name="name"
                        autocomplete="name"
                        maxlength=100
                        value=name
                        error=errors.field("name")
                    />
                    <div class="sm:pt-7">
                        <Submit label="Save name" pending=rename.pending() working="Saving…" />
                    </div>
                </div>
            </ActionForm>
            <dl class="mt-5 border-t border-slate-100 pt-5 text-sm">
                <dt class="text-slate-500">"Email"</dt>
                <dd class="mt-1 font-medium break-all text-slate-900" data-testid="account-email">{email}</dd>
            </dl>
        </Card>
    }
}

#[component]
fn PasswordCard(
    has_password: bool,
    slug: String,
    password: ServerAction<ChangePassword>,
) -> impl IntoView {
    let errors = FormErrors::new(
        action_error(password),
        &["current_password", "new_password", STEP_UP_FIELD],
    );
    let (title, description, button) = if has_password {
        (
            "Password",
            "Change the password you sign in with. Other browsers and devices are signed out unless you keep them.",
            "Change password",
        )
    } else {
        (
            "Password",
            "You sign in with single sign-on or emailed links. Set a password to sign in with it too.",
            "Set password",
        )
    };
    view! {
        <Card title description>
            <ActionForm action=password attr:class="space-y-4" attr:data-testid="password-form">
                <FormAlert message=errors.form() />
                {has_password.then(|| view! {
                    <Field
                        label="Current password"
                        name="current_password"
                        kind="password"
                        autocomplete="current-password"
                        maxlength=512
                        error=errors.field("current_password")
                    />
                })}
                <Field
                    label="New password"
                    name="new_password"
                    kind="password"
                    autocomplete="new-password"
                    maxlength=128
                    hint="At least 10 characters. A few unrelated words are easy to remember and hard to guess."
                    error=errors.field("new_password")
                />
                <label class="flex items-start gap-3 text-sm text-slate-700">
                    <input type="checkbox" name="keep_other_sessions" value="on" class="mt-0.5 h-4 w-4 rounded border-slate-300" />
                    <span>"Keep me signed in on my other browsers and devices"</span>
                </label>
                <StepUp error=action_error(password) slug />
                <Submit label=button pending=password.pending() working="Saving…" />
            </ActionForm>
        </Card>
    }
}

/// The download of everything kept about the person.
#[component]
fn MyDataCard() -> impl IntoView {
    view! {
        <Card
            title="Your data"
            description="Download what this service keeps about you: your account, memberships, sessions, single sign-on links and the audit events of what you did, in every organization, as one JSON file."
        >
            <a
                href="/account/my-data.json"
                download="my-data.json"
                rel="external"
                class="inline-flex items-center rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50"
            >
                "Download my data"
            </a>
        </Card>
    }
}

/// Deleting the account: what it would do, organization by organization,
/// and the form (the address typed to confirm, and a recent sign-in).
#[component]
fn DeleteAccountCard(
    email: String,
    slug: String,
    deletion: DeletionPlan,
    delete: ServerAction<DeleteAccount>,
) -> impl IntoView {
    let errors = FormErrors::new(action_error(delete), &["confirm_email", STEP_UP_FIELD]);
    let DeletionPlan {
        blocked_by,
        deletes,
        leaves,
    } = deletion;
    let blocked = !blocked_by.is_empty();
    let names = |list: Vec<String>| list.join(", ");
    view! {
        <section id="delete-account" class="rounded-2xl border border-red-200 bg-white p-6 shadow-sm" aria-labelledby="delete-account-title">
            <h2 id="delete-account-title" class="font-semibold text-red-700">"Delete your account"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "Removes your account and signs you out everywhere. The organizations keep the record of what you did. This cannot be undone."
            </p>
            <ul class="mt-4 space-y-1 text-sm text-slate-700" data-testid="deletion-plan">
                {(!leaves.is_empty()).then(|| view! {
                    <li>"You leave " <strong>{names(leaves)}</strong> "."</li>
                })}
                {(!deletes.is_empty()).then(|| view! {
                    <li>"You are the only member of " <strong>{names(deletes)}</strong> ": it is deleted with your account, with all its data."</li>
                })}
            </ul>
            {if blocked {
                Either::Left(view! {
                    <p class="mt-4 rounded-lg border border-amber-200 bg-amber-50 p-3 text-sm text-amber-950" data-testid="deletion-blocked">
                        "You are the only owner of " <strong>{names(blocked_by)}</strong>
                        ": other members are there. Make someone else an owner, or delete the organization, before you delete your account."
                    </p>
                })
            } else {
                Either::Right(view! {
                    <ActionForm action=delete attr:class="mt-4 space-y-4" attr:data-testid="delete-account-form">
                        <FormAlert message=errors.form() />
                        <p class="text-sm text-slate-700">
                            "To confirm, type your email address, " <strong class="break-all">{email}</strong> "."
                        </p>
                        <Field
                            label="Your email address"
                            name="confirm_email"
                            autocomplete="off"
                            maxlength=254
                            value=errors.kept("confirm_email", Signal::derive(String::new))
                            error=errors.field("confirm_email")
                        />
                        <StepUp error=action_error(delete) slug id="reauth-delete" />
                        <button
                            type="submit"
                            class="rounded-lg bg-red-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-red-500"
                        >
                            "Delete my account"
                        </button>
                    </ActionForm>
                })
            }}
        </section>
    }
}

/// How the account can sign in: its password, and the single sign-on
/// identities linked to it (each in one organization).
#[component]
fn SignInMethods(has_password: bool, identities: Vec<IdentityView>) -> impl IntoView {
    let row = "flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1 py-3";
    view! {
        <div id="sign-in-methods">
            <Card
                title="Sign-in methods"
                description="The ways into your account. A single sign-on identity signs you in to its own organization only."
            >
                <ul class="divide-y divide-slate-100" data-testid="sign-in-methods">
                    <li class=row>
                        <span class="font-medium text-slate-900">"Password"</span>
                        <span class="text-sm text-slate-600">
                            {if has_password { "Set" } else { "Not set: you sign in by single sign-on or an emailed link" }}
                        </span>
                    </li>
                    {identities
                        .into_iter()
                        .map(|identity| view! {
                            <li class=row>
                                <span>
                                    <span class="font-medium text-slate-900">"Single sign-on · " {identity.org_name}</span>
                                    <span class="block text-sm text-slate-600">
                                        {identity.provider} " · " <span class="font-mono text-xs">{identity.subject}</span>
                                    </span>
                                </span>
                                <span class="text-sm text-slate-600 sm:text-right">
                                    {identity.linked_how} ", " {identity.linked}
                                    <span class="block">
                                        {match identity.last_used {
                                            Some(at) => format!("Last used {at}"),
                                            None => "Not used yet".to_string(),
                                        }}
                                    </span>
                                </span>
                            </li>
                        })
                        .collect_view()}
                </ul>
            </Card>
        </div>
    }
}

#[component]
fn SessionsCard(
    sessions: Vec<SessionView>,
    end_one: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
) -> impl IntoView {
    let one_errors = FormErrors::new(action_error(end_one), &[]);
    let others_errors = FormErrors::new(action_error(end_others), &[]);
    let others = sessions.iter().filter(|s| !s.current).count();
    view! {
        <div id="sessions">
            <Card
                title="Sessions"
                description="Where your account is signed in, in every organization. End one you don't recognise, then change your password."
            >
                <FormAlert message=one_errors.form() />
                <FormAlert message=others_errors.form() />
                <ul class="divide-y divide-slate-100" data-testid="sessions">
                    {sessions
                        .into_iter()
                        .map(|session| {
                            let id = session.session_id.clone();
                            let current = session.current;
                            let label = format!("End the session of {} in {}", session.browser, session.org_name);
                            view! {
                                <SessionItem session show_org=true>
                                    {(!current).then(|| view! {
                                        <ActionForm action=end_one>
                                            <input type="hidden" name="session_id" value=id />
                                            <EndButton label />
                                        </ActionForm>
                                    })}
                                </SessionItem>
                            }
                        })
                        .collect_view()}
                </ul>
                {(others > 0).then(|| view! {
                    <ActionForm action=end_others attr:class="mt-4 border-t border-slate-100 pt-4">
                        <button
                            type="submit"
                            class="rounded-lg border border-red-200 bg-white px-4 py-2 text-sm font-semibold text-red-700 shadow-sm hover:bg-red-50"
                        >
                            "Sign out everywhere else"
                        </button>
                    </ActionForm>
                })}
            </Card>
        </div>
    }
}

#[component]
fn TwoStepOff() -> impl IntoView {
    view! {
        <Card
            title="Two-step sign-in"
            description="Off. Add an authenticator app, and signing in will also ask for a six-digit code from your phone, so a stolen password alone is not enough."
        >
            <a
                href="/account/two-step"
                class="inline-flex items-center rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
            >
                "Set up an authenticator app"
            </a>
        </Card>
    }
}

#[component]
fn TwoStepOn(
    since: i64,
    recovery_codes_left: i64,
    disable: ServerAction<DisableTotp>,
    regenerate: ServerAction<RegenerateRecoveryCodes>,
) -> impl IntoView {
    let disable_errors = FormErrors::new(action_error(disable), &["code"]);
    let regenerate_errors = FormErrors::new(action_error(regenerate), &["code"]);
    let codes_class = if recovery_codes_left <= 2 {
        "font-medium text-amber-700"
    } else {
        "font-medium text-slate-900"
    };
    view! {
        <Card title="Two-step sign-in" description="On. Signing in asks for a code from your authenticator app after your password, emailed link or single sign-on.">
            <div class="flex flex-wrap items-center gap-x-6 gap-y-2 text-sm">
                <span class="inline-flex items-center gap-2 rounded-full bg-emerald-50 px-3 py-1 font-medium text-emerald-700 ring-1 ring-emerald-200" data-testid="two-step-on">
                    "Authenticator app"
                </span>
                <span class="text-slate-600">{format!("Since {}", day(since))}</span>
                <span class=codes_class data-testid="codes-left">
                    {match recovery_codes_left {
                        1 => "1 recovery code left".to_string(),
                        n => format!("{n} recovery codes left"),
                    }}
                </span>
            </div>
            <div class="mt-6 grid gap-6 border-t border-slate-100 pt-6 sm:grid-cols-2">
                <ActionForm action=regenerate attr:class="space-y-3">
                    <h3 class="text-sm font-semibold text-slate-900">"New recovery codes"</h3>
                    <p class="text-sm text-slate-600">"Makes ten new codes; the old ones stop working."</p>
                    <FormAlert message=regenerate_errors.form() />
                    <Field
                        label="Current code"
                        name="code"
                        id="regenerate-code"
                        autocomplete="one-time-code"
                        maxlength=64
                        error=regenerate_errors.field("code")
                    />
                    <Submit label="Make new codes" pending=regenerate.pending() working="Making…" />
                </ActionForm>
                <ActionForm action=disable attr:class="space-y-3">
                    <h3 class="text-sm font-semibold text-slate-900">"Turn off"</h3>
                    <p class="text-sm text-slate-600">"Removes the app and your recovery codes from your account."</p>
                    <FormAlert message=disable_errors.form() />
                    <Field
                        label="Current code"
                        name="code"
                        id="disable-code"
                        autocomplete="one-time-code"
                        maxlength=64
                        error=disable_errors.field("code")
                    />
                    <button
                        type="submit"
                        disabled=move || disable.pending().get()
                        class="flex w-full items-center justify-center rounded-lg border border-red-200 bg-white px-4 py-2.5 text-sm font-semibold text-red-700 shadow-sm hover:bg-red-50 disabled:opacity-70"
                    >
                        "Turn off two-step sign-in"
                    </button>
                </ActionForm>
            </div>
        </Card>
    }
}

/// `/account/two-step`: scan the QR code (or type the secret), then
/// confirm with the first code.
#[component]
pub fn TwoStepSetupPage() -> impl IntoView {
    let account = Resource::new(|| (), |_| get_account());
    let setup = Resource::new(|| (), |_| get_totp_setup());
    view! {
        <Title text="Set up an authenticator app" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match (account.await, setup.await) {
                    (Ok(account), Ok(setup)) => Either::Left(view! { <SetupView account setup /> }),
                    (Err(e), _) | (_, Err(e)) => Either::Right(match e {
                        AppError::Conflict(_) => Either::Left(view! { <Redirect path="/account" /> }),
                        other => Either::Right(signed_out(other)),
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SetupView(account: Account, setup: TotpSetup) -> impl IntoView {
    let confirm = ServerAction::<ConfirmTotp>::new();
    let errors = FormErrors::new(action_error(confirm), &["code", STEP_UP_FIELD]);
    let slug = account.org_slug.clone();
    view! {
        <AccountFrame org_slug=account.org_slug org_name=account.org_name>
            <PageHeader title="Set up an authenticator app" subtitle="Any TOTP app works: 1Password, Google Authenticator, Microsoft Authenticator, Authy, Bitwarden…" />
            <div class="mt-6">
                <TotpSetupPanel setup>
                    <ActionForm action=confirm attr:class="mt-2 space-y-3">
                        <FormAlert message=errors.form() />
                        <Field
                            label="Six-digit code"
                            name="code"
                            autocomplete="one-time-code"
                            inputmode="numeric"
                            maxlength=64
                            error=errors.field("code")
                        />
                        <StepUp error=action_error(confirm) slug />
                        <Submit label="Turn on two-step sign-in" pending=confirm.pending() working="Checking…" />
                    </ActionForm>
                </TotpSetupPanel>
            </div>
        </AccountFrame>
    }
}

/// The QR code and the key of an authenticator set-up, then `children`
/// (the form that confirms it with a first code).
#[component]
pub fn TotpSetupPanel(setup: TotpSetup, children: Children) -> impl IntoView {
    // Groups of four are easier to type.
    let grouped: String = setup
        .secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <div class="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm">
            <div class="grid gap-8 sm:grid-cols-[auto_1fr]">
                <div class="mx-auto w-52 shrink-0 rounded-xl border border-slate-200 bg-white p-2 [&>svg]:h-auto [&>svg]:w-full" data-testid="totp-qr" inner_html=setup.qr_svg></div>
                <ol class="space-y-5 text-sm text-slate-700">
                    <li>
                        <p class="font-semibold text-slate-900">"1. Scan the code with your app"</p>
                        <p class="mt-1">"Or add an account by hand with this key (time-based, six digits):"</p>
                        <p class="mt-2 select-all rounded-lg bg-slate-100 px-3 py-2 font-mono text-sm tracking-wider text-slate-900" data-testid="totp-secret">
                            {grouped}
                        </p>
                        <p class="mt-1 text-xs text-slate-500">{format!("Account: {}", setup.email)}</p>
                    </li>
                    <li>
                        <p class="font-semibold text-slate-900">"2. Enter the code the app shows"</p>
                        {children()}
                    </li>
                </ol>
            </div>
        </div>
    }
}

/// `/account/recovery-codes`: the codes just made, shown this once.
#[component]
pub fn RecoveryCodesPage() -> impl IntoView {
    let account = Resource::new(|| (), |_| get_account());
    let codes = Resource::new(|| (), |_| take_recovery_codes());
    view! {
        <Title text="Your recovery codes" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match (account.await, codes.await) {
                    (Ok(account), Ok(codes)) => Either::Left(view! { <CodesView account codes /> }),
                    (Err(e), _) | (_, Err(e)) => Either::Right(signed_out(e)),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CodesView(account: Account, codes: Vec<String>) -> impl IntoView {
    let shown = !codes.is_empty();
    view! {
        <AccountFrame org_slug=account.org_slug org_name=account.org_name>
            <PageHeader title="Your recovery codes" />
            <div class="mt-6 rounded-2xl border border-slate-200 bg-white p-6 shadow-sm">
                <Show
                    when=move || shown
                    fallback=|| view! {
                        <p class="text-sm text-slate-600">
                            "Recovery codes are shown only once, right after they are made. If you did not keep them, make new ones on your account page."
                        </p>
                    }
                >
                    <Notice>"Two-step sign-in is on. Keep these codes somewhere safe: each one signs you in once if you lose your phone. They will not be shown again."</Notice>
                    <ul class="mt-5 grid grid-cols-2 gap-2 font-mono text-sm text-slate-900" data-testid="recovery-codes">
                        {codes.clone().into_iter().map(|c| view! { <li class="rounded-lg bg-slate-100 px-3 py-2 text-center tracking-wider">{c}</li> }).collect_view()}
                    </ul>
                </Show>
                <a
                    href="/account"
                    class="mt-6 inline-flex items-center rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
                >
                    "I have saved them — back to my account"
                </a>
            </div>
        </AccountFrame>
    }
}
