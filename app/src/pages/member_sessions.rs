//! `/o/{slug}/members/{user_id}/sessions` (owners and admins; an owner's
//! sessions for owners only): where a member is signed in to this
//! organization, and ending those sessions — for a lost laptop, or someone
//! who should be out now.

use crate::{
    api::members::{EndMemberSession, MemberSessions, get_member_sessions},
    components::{
        form::{FormAlert, FormErrors, Notice, action_error},
        page::{PageHeader, org_page},
        sessions::{EndButton, SessionItem},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn MemberSessionsPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let user_id = move || params.read().get("user_id").unwrap_or_default();
    let end = ServerAction::<EndMemberSession>::new();
    let data = Resource::new(
        move || (slug(), user_id(), end.version().get()),
        |(slug, user_id, _)| get_member_sessions(slug, user_id),
    );
    view! {
        <Title text="Member sessions" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let slug = slug();
                org_page(data.await, &slug, "a member's sessions", |page| {
                    view! { <SessionsOfMember page slug=slug.clone() end /> }.into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
fn SessionsOfMember(
    page: MemberSessions,
    slug: String,
    end: ServerAction<EndMemberSession>,
) -> impl IntoView {
    let query = use_query_map();
    let errors = FormErrors::new(action_error(end), &[]);
    let notice = move || {
        let query = query.read();
        let n: usize = query.get("n").and_then(|n| n.parse().ok()).unwrap_or(0);
        let message = match query.get("notice").as_deref()? {
            "ended" => "The session is ended: its next page will ask to sign in again.".to_string(),
            "all_ended" if n == 1 => "1 session ended.".to_string(),
            "all_ended" => format!("{n} sessions ended."),
            _ => return None,
        };
        Some(view! { <Notice>{message}</Notice> })
    };
    let MemberSessions {
        user_id,
        name,
        email,
        sessions,
        ..
    } = page;
    let ends_some = sessions.iter().any(|s| !s.current);
    let (slug_all, user_all) = (slug.clone(), user_id.clone());
    view! {
        <div class="mx-auto max-w-3xl px-4 py-8 sm:px-6">
            <a href=format!("/o/{slug}/members") class="text-sm font-medium text-indigo-600 hover:text-indigo-500">
                "← Members"
            </a>
            <div class="mt-3">
                <PageHeader title=format!("Sessions of {name}") subtitle=format!("{email} · signed in to this organization") />
            </div>
            <div class="mt-6">{notice}</div>
            <div class="mt-4"><FormAlert message=errors.form() /></div>
            <section class="mt-4 rounded-2xl border border-slate-200 bg-white px-6 py-2 shadow-sm">
                {if sessions.is_empty() {
                    view! { <p class="py-6 text-sm text-slate-600" data-testid="no-sessions">"Not signed in anywhere right now."</p> }.into_any()
                } else {
                    view! {
                        <ul class="divide-y divide-slate-100" data-testid="sessions">
                            {sessions
                                .into_iter()
                                .map(|session| {
                                    let id = session.session_id.clone();
                                    let current = session.current;
                                    let (slug, user_id) = (slug.clone(), user_id.clone());
                                    let label = format!("End the session of {}", session.browser);
                                    view! {
                                        <SessionItem session>
                                            {(!current).then(|| view! {
                                                <ActionForm action=end>
                                                    <input type="hidden" name="slug" value=slug />
                                                    <input type="hidden" name="user_id" value=user_id />
                                                    <input type="hidden" name="session_id" value=id />
                                                    <EndButton label />
                                                </ActionForm>
                                            })}
                                        </SessionItem>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
            </section>
            {ends_some.then(|| view! {
                <ActionForm action=end attr:class="mt-4">
                    <input type="hidden" name="slug" value=slug_all />
                    <input type="hidden" name="user_id" value=user_all />
                    <input type="hidden" name="all" value="true" />
                    <button
                        type="submit"
                        class="rounded-lg border border-red-200 bg-white px-4 py-2 text-sm font-semibold text-red-700 shadow-sm hover:bg-red-50"
                    >
                        "End all their sessions"
                    </button>
                </ActionForm>
            })}
        </div>
    }
}
