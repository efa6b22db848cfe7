//! Form pieces: labelled fields with their message right under them, a
//! submit button that shows progress, and alerts. They work the same with
//! and without JavaScript.

use crate::error::{AppError, STEP_UP_FIELD};
use leptos::{prelude::*, server_fn::ServerFn};

/// The error of the last submission of `action`, if it failed: from the
/// action itself once hydrated, or from the URL after a plain form post was
/// redirected back.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// A labelled input. `error` appears under it and marks it invalid.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] value: Signal<String>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] autofocus: bool,
    #[prop(optional)] inputmode: Option<&'static str>,
    /// The most characters the field takes (the server checks it too).
    #[prop(optional)]
    maxlength: Option<usize>,
    /// The input's id, when a page has two fields of one name (default
    /// `field-{name}`).
    #[prop(optional)]
    id: Option<&'static str>,
    /// Called with the new value on every keystroke (once hydrated).
    #[prop(optional)]
    on_input: Option<Callback<String>>,
) -> impl IntoView {
    let id = id.map_or_else(|| format!("field-{name}"), str::to_string);
    let message_id = format!("{id}-message");
    let described_by = message_id.clone();
    view! {
        <div>
            <label for=id.clone() class="block text-sm font-medium text-slate-700">{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                inputmode=inputmode
                maxlength=maxlength
                autofocus=autofocus
                value=move || value.get()
                prop:value=move || value.get()
                on:input=move |ev| {
                    if let Some(on_input) = on_input {
                        on_input.run(event_target_value(&ev));
                    }
                }
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=move || error.get().map(|_| described_by.clone())
                class=move || {
                    let state = if error.get().is_some() {
                        "border-red-400 focus:border-red-500 focus:ring-red-500/20"
                    } else {
                        "border-slate-300 focus:border-indigo-500 focus:ring-indigo-500/20"
                    };
                    format!(
                        "mt-1.5 block w-full rounded-lg border bg-white px-3 py-2 text-sm text-slate-900 shadow-sm placeholder:text-slate-400 focus:outline-none focus:ring-4 {state}"
                    )
                }
            />
            {move || {
                error
                    .get()
                    .map(|message| {
                        view! {
                            <p id=message_id.clone() class="mt-1.5 text-sm text-red-600" role="alert">
                                {message}
                            </p>
                        }
                    })
            }}
            {hint.map(|hint| view! { <p class="mt-1.5 text-xs text-slate-500">{hint}</p> })}
        </div>
    }
}

/// A labelled multi-line text field, with its message under it.
#[component]
pub fn TextArea(
    label: &'static str,
    name: &'static str,
    #[prop(optional, into)] value: Signal<String>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(default = 4)] rows: u32,
) -> impl IntoView {
    let id = format!("field-{name}");
    let message_id = format!("{id}-message");
    let described_by = message_id.clone();
    view! {
        <div>
            <label for=id.clone() class="block text-sm font-medium text-slate-700">{label}</label>
            <textarea
                id=id
                name=name
                rows=rows
                maxlength=maxlength
                prop:value=move || value.get()
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=move || error.get().map(|_| described_by.clone())
                class=move || {
                    let state = if error.get().is_some() {
                        "border-red-400 focus:border-red-500 focus:ring-red-500/20"
                    } else {
                        "border-slate-300 focus:border-indigo-500 focus:ring-indigo-500/20"
                    };
                    format!(
                        "mt-1.5 block w-full rounded-lg border bg-white px-3 py-2 text-sm text-slate-900 shadow-sm placeholder:text-slate-400 focus:outline-none focus:ring-4 {state}"
                    )
                }
            >
                {value.get_untracked()}
            </textarea>
            {move || {
                error
                    .get()
                    .map(|message| {
                        view! {
                            <p id=message_id.clone() class="mt-1.5 text-sm text-red-600" role="alert">
                                {message}
                            </p>
                        }
                    })
            }}
            {hint.map(|hint| view! { <p class="mt-1.5 text-xs text-slate-500">{hint}</p> })}
        </div>
    }
}

/// The primary button of a form; says it is working while `pending`.
#[component]
pub fn Submit(
    label: &'static str,
    #[prop(optional, into)] pending: Signal<bool>,
    #[prop(optional)] working: Option<&'static str>,
) -> impl IntoView {
    view! {
        <button
            type="submit"
            disabled=move || pending.get()
            class="flex w-full items-center justify-center rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm transition hover:bg-indigo-500 disabled:cursor-wait disabled:opacity-70"
        >
            {move || if pending.get() { working.unwrap_or("Working…") } else { label }}
        </button>
    }
}

/// A form-level error (not tied to one field), announced to screen readers.
#[component]
pub fn FormAlert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message.get().map(|message| {
            view! {
                <div class="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-700" role="alert">
                    {message}
                </div>
            }
        })
    }
}

/// A confirmation that something happened.
#[component]
pub fn Notice(children: Children) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-800" role="status">
            {children()}
        </div>
    }
}

/// Inside a sensitive form: once the action has answered that it needs a
/// recent sign-in (or the answer given was wrong), asks for the password
/// or an authenticator code, so that sending the form again completes the
/// action. `show` narrows it to one form where several share an action
/// (the rows of a list); `slug` is the organization whose login page offers
/// a fresh sign-in to people who have no password.
#[component]
pub fn StepUp(
    error: Signal<Option<AppError>>,
    #[prop(into)] slug: Signal<String>,
    #[prop(optional, into)] show: Option<Signal<bool>>,
    /// The input's id, when a page has several of these (default `field-reauth`).
    #[prop(optional, into)]
    id: Option<String>,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| format!("field-{STEP_UP_FIELD}"));
    let wanted = move || {
        error.get().is_some_and(|e| e.wants_step_up()) && show.is_none_or(|show| show.get())
    };
    move || {
        wanted().then(|| {
            let wrong = error.get().and_then(|e| match e {
                AppError::Validation { .. } => e.message_for(STEP_UP_FIELD),
                _ => None,
            });
            let message_id = format!("{id}-message");
            view! {
                <div class="w-full rounded-lg border border-amber-200 bg-amber-50 p-3 text-left" data-testid="step-up">
                    <label for=id.clone() class="block text-sm font-medium text-amber-950">
                        "Confirm it's you"
                    </label>
                    <p class="mt-0.5 text-xs text-amber-900">
                        "This change needs a recent sign-in. Enter your password or a code from your authenticator app, then send it again."
                    </p>
                    <input
                        id=id.clone()
                        name=STEP_UP_FIELD
                        type="password"
                        autocomplete="current-password"
                        maxlength=1024
                        required
                        autofocus
                        aria-invalid=wrong.as_ref().map(|_| "true")
                        aria-describedby=wrong.as_ref().map(|_| message_id.clone())
                        class="mt-2 block w-full rounded-lg border border-amber-300 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-4 focus:ring-indigo-500/20"
                    />
                    {wrong.map(|m| view! { <p id=message_id.clone() class="mt-1.5 text-sm text-red-600" role="alert">{m}</p> })}
                    <p class="mt-1.5 text-xs text-amber-900">
                        "No password? "
                        <a href=move || format!("/o/{}/login?again=1", slug.get()) class="font-medium underline">
                            "Sign in again"
                        </a>
                        " (single sign-on or an emailed link), then make the change."
                    </p>
                </div>
            }
        })
    }
}

/// Per-field messages and the form-level message of an action's last error.
#[derive(Clone, Copy)]
pub struct FormErrors {
    error: Signal<Option<AppError>>,
    fields: &'static [&'static str],
}

impl FormErrors {
    pub fn new(error: Signal<Option<AppError>>, fields: &'static [&'static str]) -> Self {
        Self { error, fields }
    }

    /// The message under `field`.
    pub fn field(self, field: &'static str) -> Signal<Option<String>> {
        let error = self.error;
        Signal::derive(move || error.get().and_then(|e| e.message_for(field)))
    }

    /// Every message under `field` (a list of addresses can have several).
    pub fn error_list(self, field: &'static str) -> Vec<String> {
        match self.error.get() {
            Some(AppError::Validation { errors, .. }) => errors
                .into_iter()
                .filter(|e| e.field == field)
                .map(|e| e.message)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The message above the form.
    pub fn form(self) -> Signal<Option<String>> {
        let (error, fields) = (self.error, self.fields);
        Signal::derive(move || error.get().and_then(|e| e.form_message(fields)))
    }

    /// What the person typed into `field` before a failed plain form post,
    /// else `fallback`.
    pub fn kept(self, field: &'static str, fallback: Signal<String>) -> Signal<String> {
        let error = self.error;
        Signal::derive(move || {
            error
                .get()
                .and_then(|e| e.value_for(field))
                .unwrap_or_else(|| fallback.get())
        })
    }
}

pub use crate::text::query_encode;
