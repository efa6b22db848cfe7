//! Choosing an organization after signing in, and creating one.

use crate::{
    api::{
        auth::{CreateOrg, EnterOrg},
        session::{can_create_org, get_picker},
    },
    components::{
        form::{Field, FormAlert, FormErrors, Submit, action_error},
        layout::AuthCard,
        org_frame::initials,
    },
    error::AppError,
    validation::OrgSlug,
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// The org picker: the organizations of someone who just signed in at
/// `/login` and belongs to several. Lists only their own memberships.
#[component]
pub fn PickerPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_picker());
    let enter = ServerAction::<EnterOrg>::new();
    let errors = FormErrors::new(action_error(enter), &[]);
    view! {
        <Title text="Choose an organization" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(picker) => {
                        EitherOf3::A(
                            view! {
                                <AuthCard
                                    title="Choose an organization"
                                    subtitle=format!("{} belongs to these organizations.", picker.email)
                                >
                                    <FormAlert message=errors.form() />
                                    <ul class="space-y-2" data-testid="org-picker">
                                        {picker
                                            .orgs
                                            .into_iter()
                                            .map(|org| {
                                                view! {
                                                    <li>
                                                        <ActionForm action=enter>
                                                            <input type="hidden" name="slug" value=org.slug.clone() />
                                                            <button
                                                                type="submit"
                                                                class="flex w-full items-center gap-3 rounded-xl border border-slate-200 px-4 py-3 text-left transition hover:border-indigo-300 hover:bg-indigo-50"
                                                            >
                                                                <span class="flex h-9 w-9 items-center justify-center rounded-lg bg-indigo-100 text-sm font-bold text-indigo-700">
                                                                    {initials(&org.name)}
                                                                </span>
                                                                <span class="flex-1">
                                                                    <span class="block text-sm font-semibold text-slate-900">{org.name.clone()}</span>
                                                                    <span class="block text-xs text-slate-500">{format!("/o/{}", org.slug)}</span>
                                                                </span>
                                                                <span class="rounded-full bg-slate-100 px-2.5 py-0.5 text-xs font-medium text-slate-700">
                                                                    {org.role.label()}
                                                                </span>
                                                            </button>
                                                        </ActionForm>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                    <a href="/orgs/new" class="block text-center text-sm font-medium text-indigo-600 hover:text-indigo-500">
                                        "+ Create another organization"
                                    </a>
                                </AuthCard>
                            },
                        )
                    }
                    Err(AppError::Unauthenticated) => EitherOf3::B(view! { <Redirect path="/login" /> }),
                    Err(error) => EitherOf3::C(view! { <p class="p-8 text-center text-slate-600">{error.to_string()}</p> }),
                }
            })}
        </Suspense>
    }
}

/// Creating an organization: offered to someone who signed in and belongs
/// to none, and from the switcher.
#[component]
pub fn NewOrgPage() -> impl IntoView {
    let allowed = Resource::new(|| (), |_| can_create_org());
    view! {
        <Title text="Create an organization" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match allowed.await {
                    Ok(true) => EitherOf3::A(view! { <NewOrgForm /> }),
                    Ok(false) | Err(AppError::Unauthenticated) => EitherOf3::B(view! { <Redirect path="/login" /> }),
                    Err(error) => EitherOf3::C(view! { <p class="p-8 text-center text-slate-600">{error.to_string()}</p> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewOrgForm() -> impl IntoView {
    let action = ServerAction::<CreateOrg>::new();
    let errors = FormErrors::new(action_error(action), &["org_name", "slug"]);
    let org_name = RwSignal::new(String::new());
    let slug = RwSignal::new(String::new());
    let slug_edited = RwSignal::new(false);
    view! {
        <AuthCard title="Create an organization" subtitle="You will be its owner.">
            <ActionForm action attr:class="space-y-5">
                <FormAlert message=errors.form() />
                <Field
                    label="Organization name"
                    name="org_name"
                    autocomplete="organization"
                    value=errors.kept("org_name", org_name.into())
                    error=errors.field("org_name")
                    on_input=Callback::new(move |value: String| {
                        if !slug_edited.get_untracked() {
                            slug.set(OrgSlug::suggest(&value));
                        }
                        org_name.set(value);
                    })
                />
                <Field
                    label="URL name"
                    name="slug"
                    value=errors.kept("slug", slug.into())
                    error=errors.field("slug")
                    on_input=Callback::new(move |value: String| {
                        slug_edited.set(true);
                        slug.set(value);
                    })
                    hint="Lower-case letters, digits and hyphens. Leave it empty to derive it from the name."
                />
                <Submit label="Create organization" pending=action.pending() working="Creating…" />
            </ActionForm>
        </AuthCard>
    }
}
