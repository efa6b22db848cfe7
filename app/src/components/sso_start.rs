//! The button that starts a single sign-on. It is a form (a same-origin
//! POST to the `sso/start` server function), never a link: a sign-in that
//! another site could start with a link or an image would let it sign a
//! visitor in to an account of its choosing (login CSRF).

use crate::api::sso_sign_in::StartSso;
use leptos::prelude::*;

/// The look of the main "Continue with single sign-on" button.
pub const SSO_BUTTON: &str = "flex w-full items-center justify-center gap-2 rounded-lg bg-slate-900 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-slate-700 disabled:cursor-wait disabled:opacity-70";

#[component]
pub fn SsoStart(
    /// The organization whose provider to use.
    #[prop(into)]
    slug: String,
    /// An address to suggest to the provider.
    #[prop(optional, into)]
    login_hint: Signal<String>,
    /// "Test connection" instead of a sign-in.
    #[prop(optional)]
    test: bool,
    label: &'static str,
    #[prop(into)] class: String,
    #[prop(optional)] testid: &'static str,
    /// The lock icon before the label.
    #[prop(optional)]
    icon: bool,
) -> impl IntoView {
    let start = ServerAction::<StartSso>::new();
    view! {
        <ActionForm action=start>
            <input type="hidden" name="org" value=slug />
            <input type="hidden" name="login_hint" value=move || login_hint.get() />
            {test.then(|| view! { <input type="hidden" name="test" value="1" /> })}
            <button type="submit" class=class data-testid=testid disabled=move || start.pending().get()>
                {icon
                    .then(|| {
                        view! {
                            <svg viewBox="0 0 20 20" class="h-4 w-4" fill="currentColor" aria-hidden="true">
                                <path fill-rule="evenodd" d="M10 1a4.5 4.5 0 0 0-4.5 4.5V9H5a2 2 0 0 0-2 2v6a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2v-6a2 2 0 0 0-2-2h-.5V5.5A4.5 4.5 0 0 0 10 1Zm3 8V5.5a3 3 0 1 0-6 0V9h6Z" clip-rule="evenodd" />
                            </svg>
                        }
                    })}
                {label}
            </button>
        </ActionForm>
    }
}
