//! Organization settings (owners): name, URL name, deletion.

use crate::{
    api::settings::{
        ChangeOrgSlug, DeleteOrg, OrgSettings, RenameOrg, RequireMfa, get_org_settings,
    },
    components::{
        form::{Field, FormAlert, FormErrors, Notice, StepUp, Submit, action_error},
        page::{Card, PageHeader, org_page},
    },
    error::STEP_UP_FIELD,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let rename = ServerAction::<RenameOrg>::new();
    let change_slug = ServerAction::<ChangeOrgSlug>::new();
    let delete = ServerAction::<DeleteOrg>::new();
    let require_mfa = ServerAction::<RequireMfa>::new();
    let data = Resource::new(
        move || (slug(), rename.version().get(), require_mfa.version().get()),
        |(slug, _, _)| get_org_settings(slug),
    );
    view! {
        <Title text="Settings" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                org_page(data.await, &slug(), "the organization settings", |settings| {
                    view! { <Settings settings rename change_slug delete require_mfa /> }.into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
fn Settings(
    settings: OrgSettings,
    rename: ServerAction<RenameOrg>,
    change_slug: ServerAction<ChangeOrgSlug>,
    delete: ServerAction<DeleteOrg>,
    require_mfa: ServerAction<RequireMfa>,
) -> impl IntoView {
    let query = use_query_map();
    let mfa_errors = FormErrors::new(action_error(require_mfa), &[STEP_UP_FIELD]);
    let mfa_on = settings.mfa_required;
    let slug_mfa = settings.slug.clone();
    let rename_errors = FormErrors::new(action_error(rename), &["name"]);
    let slug_errors = FormErrors::new(action_error(change_slug), &["new_slug"]);
    let delete_errors = FormErrors::new(action_error(delete), &["confirm_name", STEP_UP_FIELD]);
    let name = settings.name.clone();
    let slug = settings.slug.clone();
    let (slug_rename, slug_move, slug_delete, slug_current) =
        (slug.clone(), slug.clone(), slug.clone(), slug.clone());
    let (slug_mfa_step_up, slug_delete_step_up) = (slug.clone(), slug.clone());
    let (name_field, name_shown) = (name.clone(), name.clone());
    let notice = move || {
        let query = query.read();
        let message = match query.get("notice").as_deref()? {
            "renamed" => "The organization has been renamed.".to_string(),
            "slug_changed" => format!(
                "The URL name is now “{}”. The old sign-in link /o/{}/login now points people to the new one.",
                settings.slug,
                query.get("old").unwrap_or_default()
            ),
            "unchanged" => "Nothing changed: that is already the current value.".to_string(),
            "mfa_required" => "Two-step sign-in is now required. Every member has been told by mail; those without an authenticator app set one up at their next sign-in.".to_string(),
            "mfa_optional" => "Two-step sign-in is now optional. Members who set it up keep using it.".to_string(),
            _ => return None,
        };
        Some(view! { <Notice>{message}</Notice> })
    };
    view! {
        <div class="mx-auto max-w-3xl px-4 py-8 sm:px-6">
            <PageHeader title="Settings" subtitle="Only owners can change these." />
            <div class="mt-6">{notice}</div>
            <div class="mt-6 space-y-6">
                <Card title="Name" description="How the organization appears to its members and on its sign-in page.">
                    <ActionForm action=rename attr:class="space-y-4">
                        <FormAlert message=rename_errors.form() />
                        <input type="hidden" name="slug" value=slug_rename />
                        <Field
                            label="Organization name"
                            name="name"
                            value=rename_errors.kept("name", Signal::derive(move || name_field.clone()))
                            error=rename_errors.field("name")
                        />
                        <div class="flex justify-end"><div class="w-40"><Submit label="Save name" pending=rename.pending() /></div></div>
                    </ActionForm>
                </Card>
                <Card title="URL name" description="Part of every address of the organization, including its sign-in link. The old sign-in link keeps working as a pointer to the new one.">
                    <ActionForm action=change_slug attr:class="space-y-4">
                        <FormAlert message=slug_errors.form() />
                        <input type="hidden" name="slug" value=slug_move />
                        <Field
                            label="URL name"
                            name="new_slug"
                            value=slug_errors.kept("new_slug", Signal::derive(move || slug_current.clone()))
                            error=slug_errors.field("new_slug")
                            hint="Lower-case letters, digits and hyphens."
                        />
                        <div class="flex justify-end"><div class="w-40"><Submit label="Change URL name" pending=change_slug.pending() /></div></div>
                    </ActionForm>
                </Card>
                <Card title="Two-step sign-in" description="When required, every member signs in with a code from an authenticator app as well. Turning it on signs out at once every session that signed in without it (yours excepted). Members without an authenticator are led to set one up at their next sign-in, before they get in; single sign-on users too. The members list shows who has it.">
                    <ActionForm action=require_mfa attr:class="flex flex-wrap items-center justify-between gap-4" attr:data-testid="mfa-form">
                        <FormAlert message=mfa_errors.form() />
                        <input type="hidden" name="slug" value=slug_mfa />
                        <input type="hidden" name="required" value=if mfa_on { "false" } else { "true" } />
                        <p class="text-sm">
                            {if mfa_on {
                                view! { <span class="inline-flex items-center rounded-full bg-emerald-50 px-3 py-1 font-medium text-emerald-700 ring-1 ring-emerald-200">"Required for every member"</span> }.into_any()
                            } else {
                                view! { <span class="inline-flex items-center rounded-full bg-slate-100 px-3 py-1 font-medium text-slate-700">"Optional"</span> }.into_any()
                            }}
                        </p>
                        <button
                            type="submit"
                            class=if mfa_on {
                                "rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50"
                            } else {
                                "rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
                            }
                        >
                            {if mfa_on { "Make it optional" } else { "Require two-step sign-in" }}
                        </button>
                        <StepUp error=action_error(require_mfa) slug=slug_mfa_step_up id="reauth-mfa" />
                    </ActionForm>
                </Card>
                <section class="rounded-2xl border border-red-200 bg-white p-6 shadow-sm" aria-labelledby="delete-title">
                    <h2 id="delete-title" class="font-semibold text-red-700">"Delete the organization"</h2>
                    <p class="mt-1 text-sm text-slate-600">
                        "Deletes every membership, invitation, SSO setting and audit event of "
                        <strong>{name_shown}</strong>
                        ". Members' accounts stay; they lose access at once. This cannot be undone."
                    </p>
                    <ActionForm action=delete attr:class="mt-4 space-y-4" attr:data-testid="delete-form">
                        <FormAlert message=delete_errors.form() />
                        <input type="hidden" name="slug" value=slug_delete />
                        <Field
                            label="Type the organization's name to confirm"
                            name="confirm_name"
                            value=delete_errors.kept("confirm_name", Signal::derive(String::new))
                            error=delete_errors.field("confirm_name")
                        />
                        <StepUp error=action_error(delete) slug=slug_delete_step_up id="reauth-delete" />
                        <button
                            type="submit"
                            class="rounded-lg bg-red-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-red-500"
                        >
                            "Delete this organization"
                        </button>
                    </ActionForm>
                </section>
            </div>
        </div>
    }
}
