//! Single sign-on settings (owners and admins): the OpenID Connect
//! connection, its test, turning it on and making it mandatory, and the
//! email domains that drive discovery and just-in-time membership.
//!
//! Removing a domain takes two steps: the first link adds `?remove=…`, the
//! second is the real form (works without JavaScript).

use crate::{
    api::sso::{
        AddSsoDomain, ConnectionView, DomainView, RemoveSsoDomain, SaveSsoConnection,
        SetSsoEnabled, SetSsoEnforced, SsoSettings, TestReport, VerifySsoDomain, get_sso_settings,
    },
    components::{
        form::{Field, FormAlert, FormErrors, Notice, StepUp, Submit, action_error},
        page::{Card, Confirm, ConfirmButtons, PageHeader, org_page},
        sso_start::SsoStart,
    },
    error::STEP_UP_FIELD,
    roles::Role,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[derive(Clone, Copy)]
struct Actions {
    save: ServerAction<SaveSsoConnection>,
    enable: ServerAction<SetSsoEnabled>,
    enforce: ServerAction<SetSsoEnforced>,
    add_domain: ServerAction<AddSsoDomain>,
    verify_domain: ServerAction<VerifySsoDomain>,
    remove_domain: ServerAction<RemoveSsoDomain>,
}

#[component]
pub fn SsoPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let actions = Actions {
        save: ServerAction::new(),
        enable: ServerAction::new(),
        enforce: ServerAction::new(),
        add_domain: ServerAction::new(),
        verify_domain: ServerAction::new(),
        remove_domain: ServerAction::new(),
    };
    let data = Resource::new(
        move || {
            (
                slug(),
                actions.save.version().get()
                    + actions.enable.version().get()
                    + actions.enforce.version().get()
                    + actions.add_domain.version().get()
                    + actions.verify_domain.version().get()
                    + actions.remove_domain.version().get(),
            )
        },
        |(slug, _)| get_sso_settings(slug),
    );
    view! {
        <Title text="Single sign-on" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                org_page(data.await, &slug(), "the single sign-on settings", |settings| {
                    view! { <Sso settings actions /> }.into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
fn Sso(settings: SsoSettings, actions: Actions) -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        let message = match query.read().get("notice").as_deref()? {
            "saved" => "The connection is saved. Test it to make sure sign-in works.",
            "tested" => "The test has finished; its result is below.",
            "enabled" => "Single sign-on is on: members can use “Continue with single sign-on”.",
            "disabled" => {
                "Single sign-on is off. Members sign in with passwords and emailed links."
            }
            "enforced" => {
                "Single sign-on is now required to sign in to this organization. Sessions that signed in another way have ended."
            }
            "unenforced" => "Single sign-on is optional again.",
            "domain_added" => "The domain is added. Publish its TXT record, then check it.",
            "domain_verified" => "The domain is verified.",
            "domain_not_verified" => "The domain could not be verified yet; see why below.",
            "domain_removed" => "The domain is removed.",
            _ => return None,
        };
        Some(view! { <Notice>{message}</Notice> })
    };
    let status = match &settings.connection {
        Some(c) if c.enforced => ("Required", "bg-emerald-100 text-emerald-800"),
        Some(c) if c.enabled => ("On", "bg-emerald-100 text-emerald-800"),
        Some(_) => ("Off", "bg-slate-100 text-slate-700"),
        None => ("Not set up", "bg-slate-100 text-slate-700"),
    };
    let slug = settings.slug.clone();
    view! {
        <div class="mx-auto max-w-3xl px-4 py-8 sm:px-6">
            <div class="flex items-start justify-between gap-4">
                <PageHeader
                    title="Single sign-on"
                    subtitle=format!("Let members of {} sign in through your identity provider (OpenID Connect).", settings.org_name)
                />
                <span class=format!("mt-1 shrink-0 rounded-full px-2.5 py-1 text-xs font-semibold {}", status.1) data-testid="sso-status">
                    {status.0}
                </span>
            </div>
            <div class="mt-6">{notice}</div>
            <div class="mt-6 space-y-6">
                <ConnectionCard settings=settings.clone() save=actions.save />
                {settings
                    .connection
                    .clone()
                    .map(|connection| {
                        view! {
                            <TestCard slug=slug.clone() connection=connection.clone() />
                            <SwitchCard slug=slug.clone() connection actions />
                        }
                    })}
                <DomainsCard slug=slug.clone() domains=settings.domains.clone() actions />
            </div>
        </div>
    }
}

#[component]
fn ConnectionCard(settings: SsoSettings, save: ServerAction<SaveSsoConnection>) -> impl IntoView {
    let errors = FormErrors::new(
        action_error(save),
        &[
            "issuer_url",
            "client_id",
            "client_secret",
            "default_role",
            STEP_UP_FIELD,
        ],
    );
    let existing = settings.connection.clone();
    let issuer = existing
        .as_ref()
        .map(|c| c.issuer_url.clone())
        .unwrap_or_default();
    let client_id = existing
        .as_ref()
        .map(|c| c.client_id.clone())
        .unwrap_or_default();
    let has_secret = existing.is_some();
    let role = existing
        .as_ref()
        .and_then(|c| Role::parse(&c.default_role).ok())
        .unwrap_or(Role::Member);
    let trust = existing.as_ref().is_some_and(|c| c.trust_unverified_email);
    let moved = existing.as_ref().and_then(|c| c.redirect_uri_moved.clone());
    let slug = settings.slug.clone();
    let secret_hint = if has_secret {
        "A secret is stored (encrypted). Leave this empty to keep it — unless you change the issuer or client id: then enter it again."
    } else {
        "Stored encrypted; it is never shown again."
    };
    view! {
        <Card title="Identity provider" description="Register this application at your provider with the redirect URI below, then enter what the provider gives you.">
            {moved
                .map(|since| {
                    view! {
                        <div class="mb-4 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" role="alert" data-testid="redirect-uri-moved">
                            <p class="font-semibold">"Update the redirect URI at your provider"</p>
                            <p class="mt-1">
                                {format!(
                                    "Since {since}, each connection has a redirect URI of its own, so that an answer from one organization's provider can never be used for another's. Register the address below at your provider in place of the old one ending in /sso/callback, then run a test. Until you do, sign-ins through the provider fail.",
                                )}
                            </p>
                        </div>
                    }
                })}
            <RedirectUri uri=settings.redirect_uri.clone() />
            <ActionForm action=save attr:class="mt-6 space-y-4" attr:data-testid="connection-form">
                <FormAlert message=errors.form() />
                <input type="hidden" name="slug" value=settings.slug.clone() />
                <Field
                    label="Issuer URL"
                    name="issuer_url"
                    kind="url"
                    value=errors.kept("issuer_url", Signal::derive(move || issuer.clone()))
                    error=errors.field("issuer_url")
                    hint="For example https://login.example.com — the address before /.well-known/openid-configuration."
                />
                <Field
                    label="Client id"
                    name="client_id"
                    value=errors.kept("client_id", Signal::derive(move || client_id.clone()))
                    error=errors.field("client_id")
                />
                <div>
                    <Field label="Client secret" name="client_secret" kind="password" autocomplete="off" error=errors.field("client_secret") />
                    <p class="mt-1.5 text-xs text-slate-500">{secret_hint}</p>
                </div>
                <div>
                    <label for="default-role" class="block text-sm font-medium text-slate-700">"Role for people who join through single sign-on"</label>
                    <select
                        id="default-role"
                        name="default_role"
                        class="mt-1.5 block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none"
                    >
                        {[Role::Admin, Role::Member, Role::Viewer]
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=r == role>{r.label()}</option> })
                            .collect_view()}
                    </select>
                    <p class="mt-1.5 text-xs text-slate-500">
                        "Given to people of a verified domain the first time they sign in. Invited members keep their invited role."
                    </p>
                </div>
                <label class="flex items-start gap-3 text-sm text-slate-700">
                    <input type="checkbox" name="trust_unverified_email" value="on" checked=trust class="mt-0.5 h-4 w-4 rounded border-slate-300" />
                    <span>
                        "Trust email addresses the provider has not marked as verified"
                        <span class="block text-xs text-slate-500">"Only if your provider never lets people choose their own address."</span>
                    </span>
                </label>
                <StepUp error=action_error(save) slug />
                <div class="flex justify-end">
                    <div class="w-44"><Submit label="Save connection" pending=save.pending() working="Checking provider…" /></div>
                </div>
            </ActionForm>
        </Card>
    }
}

/// The redirect URI, selectable, with a copy button once the page is live.
#[component]
fn RedirectUri(uri: String) -> impl IntoView {
    let (hydrated, set_hydrated) = signal(false);
    let (copied, set_copied) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    let to_copy = uri.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let clipboard = window().navigator().clipboard();
            let _ = clipboard.write_text(&to_copy);
            set_copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = &to_copy;
            set_copied.set(true);
        }
    };
    view! {
        <div>
            <label for="redirect-uri" class="block text-sm font-medium text-slate-700">"Redirect URI"</label>
            <div class="mt-1.5 flex gap-2">
                <input
                    id="redirect-uri"
                    readonly
                    value=uri
                    data-testid="redirect-uri"
                    class="block w-full rounded-lg border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-sm text-slate-800"
                />
                <button
                    type="button"
                    on:click=copy
                    class=move || {
                        if hydrated.get() {
                            "shrink-0 rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50"
                        } else {
                            "hidden"
                        }
                    }
                    data-testid="copy-redirect-uri"
                >
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}

#[component]
fn TestCard(slug: String, connection: ConnectionView) -> impl IntoView {
    view! {
        <Card title="Test the connection" description="Signs in at your provider and shows what it returns, without signing anyone in here. Single sign-on can be turned on after a successful test.">
            {connection.last_test.map(|report| view! { <Report report /> })}
            <div class="mt-4">
                <SsoStart
                    slug
                    test=true
                    label="Test connection"
                    testid="test-connection"
                    class="inline-flex rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
                />
            </div>
        </Card>
    }
}

#[component]
fn Report(report: TestReport) -> impl IntoView {
    let (title, frame) = if report.ok {
        (
            "The last test succeeded",
            "border-emerald-200 bg-emerald-50 text-emerald-900",
        )
    } else {
        (
            "The last test failed",
            "border-red-200 bg-red-50 text-red-900",
        )
    };
    view! {
        <div class=format!("rounded-lg border px-4 py-3 text-sm {frame}") data-testid="test-report" data-ok=report.ok.to_string()>
            <p class="font-semibold">{title} <span class="font-normal opacity-75">{format!(" — {}", report.when)}</span></p>
            {report.error.map(|e| view! { <p class="mt-1">{e}</p> })}
            {(!report.claims.is_empty())
                .then(|| {
                    view! {
                        <dl class="mt-2 grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1">
                            {report
                                .claims
                                .into_iter()
                                .map(|(claim, value)| {
                                    view! {
                                        <dt class="font-mono text-xs leading-5 opacity-75">{claim}</dt>
                                        <dd class="break-all font-mono text-xs leading-5">{value}</dd>
                                    }
                                })
                                .collect_view()}
                        </dl>
                    }
                })}
        </div>
    }
}

#[component]
fn SwitchCard(slug: String, connection: ConnectionView, actions: Actions) -> impl IntoView {
    let enable_errors = FormErrors::new(action_error(actions.enable), &[STEP_UP_FIELD]);
    let enforce_errors = FormErrors::new(action_error(actions.enforce), &[STEP_UP_FIELD]);
    let (enable_label, enable_value) = if connection.enabled {
        ("Turn single sign-on off", "false")
    } else {
        ("Turn single sign-on on", "true")
    };
    let (enforce_label, enforce_value) = if connection.enforced {
        ("Make it optional", "false")
    } else {
        ("Require single sign-on", "true")
    };
    let can_enable = connection.enabled || connection.tested_ok;
    let break_glass = format!("/o/{slug}/login?break_glass=1");
    let enforce_slug = slug.clone();
    view! {
        <Card title="Turn on and require" description="When on, the sign-in page offers “Continue with single sign-on”. When required, the sign-in page offers only your provider, passwords and emailed links no longer work here, and every session that signed in another way ends — yours too, unless you signed in through the provider.">
            <div class="space-y-4">
                <ActionForm action=actions.enable attr:class="flex flex-wrap items-center gap-3" attr:data-testid="enable-form">
                    <FormAlert message=enable_errors.form() />
                    <input type="hidden" name="slug" value=slug.clone() />
                    <input type="hidden" name="on" value=enable_value />
                    <button
                        type="submit"
                        disabled=!can_enable
                        class="rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50"
                    >
                        {enable_label}
                    </button>
                    {(!can_enable).then(|| view! { <span class="text-sm text-slate-500">"Run a successful test first."</span> })}
                    <StepUp error=action_error(actions.enable) slug=slug.clone() id="reauth-enable" />
                </ActionForm>
                {connection
                    .enabled
                    .then(|| {
                        view! {
                            <ActionForm action=actions.enforce attr:class="flex flex-wrap items-center gap-3" attr:data-testid="enforce-form">
                                <FormAlert message=enforce_errors.form() />
                                <input type="hidden" name="slug" value=enforce_slug.clone() />
                                <input type="hidden" name="on" value=enforce_value />
                                <button
                                    type="submit"
                                    class="rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50"
                                >
                                    {enforce_label}
                                </button>
                                <StepUp error=action_error(actions.enforce) slug=enforce_slug.clone() id="reauth-enforce" />
                            </ActionForm>
                        }
                    })}
                <p class="rounded-lg bg-slate-50 px-4 py-3 text-xs leading-5 text-slate-600">
                    "If your provider breaks while single sign-on is required, owners can still sign in with their password at "
                    <a href=break_glass.clone() class="font-mono text-indigo-600 hover:text-indigo-500">{break_glass.clone()}</a>
                    ". Such sign-ins are marked in the audit log. Keep an owner's password safe for this."
                </p>
            </div>
        </Card>
    }
}

#[component]
fn DomainsCard(slug: String, domains: Vec<DomainView>, actions: Actions) -> impl IntoView {
    let query = use_query_map();
    let add_errors = FormErrors::new(action_error(actions.add_domain), &["domain", STEP_UP_FIELD]);
    let verify_errors = FormErrors::new(action_error(actions.verify_domain), &[STEP_UP_FIELD]);
    let remove_errors = FormErrors::new(action_error(actions.remove_domain), &[STEP_UP_FIELD]);
    let removing = query.read_untracked().get("remove");
    let empty = domains.is_empty();
    view! {
        <div id="domains">
            <Card title="Email domains" description="People whose verified email is in one of these domains are sent to your provider from the general sign-in page, and join this organization on their first sign-in. Prove each domain with a DNS TXT record.">
                <FormAlert message=verify_errors.form() />
                <FormAlert message=remove_errors.form() />
                {empty.then(|| view! { <p class="text-sm text-slate-500">"No domains yet."</p> })}
                <ul class="divide-y divide-slate-100" data-testid="domains">
                    {domains
                        .into_iter()
                        .map(|d| {
                            let confirm = removing.as_deref() == Some(d.id.as_str());
                            view! { <DomainRow slug=slug.clone() domain=d confirm actions /> }
                        })
                        .collect_view()}
                </ul>
                <ActionForm action=actions.add_domain attr:class="mt-4 flex flex-col gap-3 sm:flex-row sm:items-start" attr:data-testid="add-domain-form">
                    <input type="hidden" name="slug" value=slug.clone() />
                    <div class="flex-1">
                        <Field label="Add a domain" name="domain" value=add_errors.kept("domain", Signal::derive(String::new)) error=add_errors.field("domain") />
                        <div class="mt-3 empty:hidden">
                            <StepUp error=action_error(actions.add_domain) slug=slug.clone() id="reauth-add-domain" />
                        </div>
                    </div>
                    <button
                        type="submit"
                        class="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 sm:mt-7"
                    >
                        "Add domain"
                    </button>
                </ActionForm>
            </Card>
        </div>
    }
}

#[component]
fn DomainRow(slug: String, domain: DomainView, confirm: bool, actions: Actions) -> impl IntoView {
    let remove_href = format!("/o/{slug}/sso?remove={}#domains", domain.id);
    let cancel = format!("/o/{slug}/sso#domains");
    let (verify_slug, verify_id) = (slug.clone(), domain.id.clone());
    let this_domain = |error: Signal<Option<crate::error::AppError>>, id: String| {
        Signal::derive(move || {
            error
                .get()
                .and_then(|e| e.value_for("domain_id"))
                .as_deref()
                == Some(id.as_str())
        })
    };
    let verify_error = action_error(actions.verify_domain);
    let verify_here = this_domain(verify_error, domain.id.clone());
    let remove_error = action_error(actions.remove_domain);
    let remove_here = this_domain(remove_error, domain.id.clone());
    let step_up_slug = slug.clone();
    let (badge, badge_class) = if domain.verified {
        ("Verified", "bg-emerald-100 text-emerald-800")
    } else {
        ("Not verified", "bg-amber-100 text-amber-800")
    };
    view! {
        <li class="py-4" data-testid="domain" data-domain=domain.domain.clone()>
            <div class="flex flex-wrap items-center justify-between gap-3">
                <div class="flex items-center gap-2">
                    <span class="font-medium text-slate-900">{domain.domain.clone()}</span>
                    <span class=format!("rounded-full px-2 py-0.5 text-xs font-semibold {badge_class}")>{badge}</span>
                </div>
                <div class="flex items-center gap-2">
                    {(!domain.verified)
                        .then(|| {
                            view! {
                                <ActionForm action=actions.verify_domain attr:class="flex flex-wrap items-center justify-end gap-2">
                                    <input type="hidden" name="slug" value=verify_slug.clone() />
                                    <input type="hidden" name="domain_id" value=verify_id.clone() />
                                    <button type="submit" class="rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50">
                                        "Check now"
                                    </button>
                                    <StepUp
                                        error=verify_error
                                        slug=step_up_slug.clone()
                                        show=verify_here
                                        id=format!("reauth-verify-{}", verify_id)
                                    />
                                </ActionForm>
                            }
                        })}
                    <a href=remove_href class="rounded-lg px-3 py-1.5 text-sm font-medium text-red-600 hover:bg-red-50">"Remove"</a>
                </div>
            </div>
            {(!domain.verified)
                .then(|| {
                    view! {
                        <div class="mt-3 rounded-lg bg-slate-50 px-4 py-3 text-sm text-slate-700">
                            <p>"Add this TXT record at your DNS provider, then press “Check now”:"</p>
                            <dl class="mt-2 grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 font-mono text-xs">
                                <dt class="text-slate-500">"Name"</dt>
                                <dd class="break-all" data-testid="txt-name">{domain.record_name.clone()}</dd>
                                <dt class="text-slate-500">"Value"</dt>
                                <dd class="break-all" data-testid="txt-value">{domain.record_value.clone()}</dd>
                            </dl>
                            {domain
                                .last_check_error
                                .clone()
                                .map(|e| view! { <p class="mt-2 text-red-700" data-testid="check-error">{e}</p> })}
                        </div>
                    }
                })}
            {confirm
                .then(|| {
                    view! {
                        <div class="mt-3">
                            <Confirm
                                title=format!("Remove {}?", domain.domain)
                                message="People of this domain will no longer be sent to your provider from the general sign-in page or join automatically. Existing members stay."
                            >
                                <ActionForm action=actions.remove_domain attr:class="space-y-4">
                                    <input type="hidden" name="slug" value=slug.clone() />
                                    <input type="hidden" name="domain_id" value=domain.id.clone() />
                                    <StepUp
                                        error=remove_error
                                        slug=slug.clone()
                                        show=remove_here
                                        id=format!("reauth-remove-{}", domain.id)
                                    />
                                    <ConfirmButtons label="Remove domain" cancel=cancel.clone() />
                                </ActionForm>
                            </Confirm>
                        </div>
                    }
                })}
        </li>
    }
}
