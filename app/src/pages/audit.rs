//! The audit log (owners and admins): newest first, filtered by kind of
//! event, actor and dates — all kept in the URL, so a filtered view can be
//! shared and reloaded — in keyset pages, with a CSV download of the
//! current filter. Owners also choose how long events are kept.

use crate::{
    api::audit::{AuditPage, AuditRow, SetAuditRetention, get_audit},
    audit::ActionGroup,
    components::{
        form::{FormAlert, FormErrors, Notice, StepUp, action_error, query_encode},
        page::{PageHeader, org_page},
    },
    error::STEP_UP_FIELD,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The filter as it stands in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Query {
    group: String,
    actor: String,
    from: String,
    to: String,
    before: String,
}

impl Query {
    /// `group=…&actor=…` without the cursor (empty values left out).
    fn filter_string(&self) -> String {
        [
            ("group", &self.group),
            ("actor", &self.actor),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", query_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let current = move || {
        let q = query.read();
        Query {
            group: q.get("group").unwrap_or_default(),
            actor: q.get("actor").unwrap_or_default(),
            from: q.get("from").unwrap_or_default(),
            to: q.get("to").unwrap_or_default(),
            before: q.get("before").unwrap_or_default(),
        }
    };
    let retention = ServerAction::<SetAuditRetention>::new();
    let data = Resource::new(
        move || (slug(), current(), retention.version().get()),
        |(slug, q, _)| {
            let opt = |s: String| (!s.is_empty()).then_some(s);
            get_audit(
                slug,
                opt(q.group),
                opt(q.actor),
                opt(q.from),
                opt(q.to),
                opt(q.before),
            )
        },
    );
    view! {
        <Title text="Audit log" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let q = current();
                let slug = slug();
                match data.await {
                    // A bad filter is shown on the form, not as a broken page.
                    Err(crate::error::AppError::Validation { errors, .. }) => {
                        let message = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
                        view! { <Audit slug page=None q retention error=Some(message) /> }.into_any()
                    }
                    other => org_page(other, &slug.clone(), "the audit log", move |page| {
                        view! { <Audit slug page=Some(page) q retention error=None /> }.into_any()
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Audit(
    slug: String,
    page: Option<AuditPage>,
    q: Query,
    retention: ServerAction<SetAuditRetention>,
    error: Option<String>,
) -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        let message = match query.read().get("notice").as_deref()? {
            "retention" => "The retention period has been changed.",
            "unchanged" => "Nothing changed: that is already the retention period.",
            _ => return None,
        };
        Some(view! { <Notice>{message}</Notice> })
    };
    let base = format!("/o/{slug}/audit");
    let filters = q.filter_string();
    let csv = if filters.is_empty() {
        format!("/o/{slug}/audit.csv")
    } else {
        format!("/o/{slug}/audit.csv?{filters}")
    };
    let filtered = !filters.is_empty();
    let (rows, next, retention_days, can_set) = match page {
        Some(p) => (p.rows, p.next, p.retention_days, p.can_set_retention),
        None => (Vec::new(), None, None, false),
    };
    let older = next.map(|cursor| {
        let sep = if filters.is_empty() { "" } else { "&" };
        format!("{base}?{filters}{sep}before={cursor}")
    });
    let first_page = (!q.before.is_empty()).then(|| {
        if filters.is_empty() {
            base.clone()
        } else {
            format!("{base}?{filters}")
        }
    });
    let empty = rows.is_empty();
    view! {
        <div class="mx-auto max-w-6xl px-4 py-8 sm:px-6">
            <div class="flex flex-wrap items-start justify-between gap-4">
                <PageHeader title="Audit log" subtitle="Everything that changed in the organization, and every sign-in, newest first." />
                <a
                    href=csv
                    rel="external"
                    download
                    data-testid="download-csv"
                    class="rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50"
                >
                    {if filtered { "Download these events (CSV)" } else { "Download all events (CSV)" }}
                </a>
            </div>
            <div class="mt-6">{notice}</div>
            <FilterForm base=base.clone() q=q.clone() error />
            <div class="mt-6 overflow-hidden rounded-2xl border border-slate-200 bg-white shadow-sm">
                {if empty {
                    view! {
                        <p class="px-4 py-10 text-center text-sm text-slate-500" data-testid="no-events">
                            {if filtered { "No event matches these filters." } else { "No events yet." }}
                        </p>
                    }
                        .into_any()
                } else {
                    view! {
                        <ol class="divide-y divide-slate-100" data-testid="events">
                            {rows.into_iter().map(|row| view! { <EventItem row /> }).collect_view()}
                        </ol>
                    }
                        .into_any()
                }}
            </div>
            <nav class="mt-4 flex justify-between text-sm" aria-label="Pages">
                {first_page.map(|href| view! { <a href=href class="font-medium text-indigo-600 hover:text-indigo-500">"← Newest events"</a> })}
                <span></span>
                {older.map(|href| view! { <a href=href class="font-medium text-indigo-600 hover:text-indigo-500" data-testid="older">"Older events →"</a> })}
            </nav>
            {can_set.then(|| view! { <RetentionCard slug=slug.clone() days=retention_days retention /> })}
        </div>
    }
}

#[component]
fn FilterForm(base: String, q: Query, error: Option<String>) -> impl IntoView {
    let clear = base.clone();
    let input = "mt-1 block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none";
    view! {
        <form method="get" action=base class="mt-6 rounded-2xl border border-slate-200 bg-white p-4 shadow-sm" data-testid="audit-filters">
            {error.map(|e| view! { <p class="mb-3 rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700" role="alert">{e}</p> })}
            <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-5">
                <div>
                    <label for="filter-group" class="block text-xs font-medium text-slate-600">"Kind of event"</label>
                    <select id="filter-group" name="group" class=input>
                        <option value="" selected=q.group.is_empty()>"All events"</option>
                        {ActionGroup::ALL
                            .iter()
                            .map(|g| view! { <option value=g.code() selected=q.group == g.code()>{g.label()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <div>
                    <label for="filter-actor" class="block text-xs font-medium text-slate-600">"Who (name or email)"</label>
                    <input id="filter-actor" name="actor" type="search" value=q.actor.clone() class=input />
                </div>
                <div>
                    <label for="filter-from" class="block text-xs font-medium text-slate-600">"From (UTC date)"</label>
                    <input id="filter-from" name="from" type="date" value=q.from.clone() class=input />
                </div>
                <div>
                    <label for="filter-to" class="block text-xs font-medium text-slate-600">"To (UTC date)"</label>
                    <input id="filter-to" name="to" type="date" value=q.to.clone() class=input />
                </div>
                <div class="flex items-end gap-2">
                    <button type="submit" class="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500">
                        "Apply"
                    </button>
                    <a href=clear class="rounded-lg px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100">"Clear"</a>
                </div>
            </div>
        </form>
    }
}

#[component]
fn EventItem(row: AuditRow) -> impl IntoView {
    let who = row.actor_email.clone().map(|email| match &row.actor_name {
        Some(name) if *name != email => format!("{name} <{email}>"),
        _ => email,
    });
    view! {
        <li data-testid="event" data-action=row.action.clone()>
            <details class="group">
                <summary class="flex cursor-pointer flex-col gap-1 px-4 py-3 hover:bg-slate-50 sm:flex-row sm:items-center sm:gap-4">
                    <span class="w-44 shrink-0 text-xs text-slate-500"><LocalTime at=row.at.clone() utc=row.at_utc.clone() /></span>
                    <span class="flex-1 text-sm text-slate-900">
                        {row.sentence.clone()}
                        {row.target.clone().map(|t| view! { <span class="text-slate-500">{" — "}{t}</span> })}
                    </span>
                    <span class="shrink-0 font-mono text-xs text-slate-500">{row.ip.clone().unwrap_or_default()}</span>
                </summary>
                <dl class="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 bg-slate-50 px-4 py-3 text-xs">
                    <dt class="text-slate-500">"Action"</dt>
                    <dd class="font-mono">{row.action.clone()}</dd>
                    <dt class="text-slate-500">"Who"</dt>
                    <dd>{who.unwrap_or_else(|| "the system".into())}</dd>
                    <dt class="text-slate-500">"When (UTC)"</dt>
                    <dd class="font-mono">{row.at.clone()}</dd>
                    <dt class="text-slate-500">"Client"</dt>
                    <dd class="break-all">
                        {row.ip.clone().unwrap_or_else(|| "—".into())}
                        {row.user_agent.clone().map(|ua| format!(" · {ua}"))}
                    </dd>
                    <dt class="text-slate-500">"Details"</dt>
                    <dd><pre class="overflow-x-auto whitespace-pre-wrap break-all font-mono">{row.details.clone()}</pre></dd>
                </dl>
            </details>
        </li>
    }
}

/// A time in the viewer's time zone once the page runs in the browser; in
/// UTC (and labelled so) before that or without JavaScript.
#[component]
fn LocalTime(at: String, utc: String) -> impl IntoView {
    let (offset_minutes, set_offset) = signal(None::<i32>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        // getTimezoneOffset is minutes *behind* UTC.
        let behind = js_sys::Date::new_0().get_timezone_offset() as i32;
        set_offset.set(Some(-behind));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = set_offset;
    let parsed =
        time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).ok();
    let text = move || match (offset_minutes.get(), parsed) {
        (Some(minutes), Some(at)) => {
            let offset =
                time::UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(time::UtcOffset::UTC);
            let local = at.to_offset(offset);
            let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
            local.format(&format).unwrap_or_default()
        }
        _ => utc.clone(),
    };
    view! { <time datetime=at.clone()>{text}</time> }
}

#[component]
fn RetentionCard(
    slug: String,
    days: Option<i32>,
    retention: ServerAction<SetAuditRetention>,
) -> impl IntoView {
    let errors = FormErrors::new(action_error(retention), &["days", STEP_UP_FIELD]);
    let current = days.map(|d| d.to_string()).unwrap_or_default();
    let status = match days {
        Some(d) => {
            format!("Events older than {d} days are removed (the removal itself is recorded).")
        }
        None => "Events are kept forever.".to_string(),
    };
    view! {
        <section class="mt-8 rounded-2xl border border-slate-200 bg-white p-6 shadow-sm" data-testid="retention">
            <h2 class="font-semibold text-slate-900">"Retention"</h2>
            <p class="mt-1 text-sm text-slate-600">{status}</p>
            <ActionForm action=retention attr:class="mt-4 flex flex-wrap items-end gap-3">
                <input type="hidden" name="slug" value=slug.clone() />
                <div>
                    <label for="retention-days" class="block text-sm font-medium text-slate-700">"Keep events for (days)"</label>
                    <input
                        id="retention-days"
                        name="days"
                        inputmode="numeric"
                        placeholder="forever"
                        value=errors.kept("days", Signal::derive(move || current.clone()))
                        class="mt-1 block w-40 rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none"
                    />
                </div>
                <button type="submit" class="rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50">
                    "Save"
                </button>
                <StepUp error=action_error(retention) slug id="reauth-retention" />
            </ActionForm>
            <div class="mt-2">
                <FormAlert message=errors.form() />
                {move || errors.field("days").get().map(|e| view! { <p class="text-sm text-red-600">{e}</p> })}
            </div>
        </section>
    }
}
