//! The members page (owners and admins): who is in the organization, what
//! they may do, who is invited — and changing all of that.
//!
//! Destructive actions take two steps: the first link adds `?remove=…` (or
//! `?revoke=…`) to the address, which shows a confirmation with the real
//! button. That works the same with and without JavaScript.

use crate::{
    api::members::{
        ChangeRole, InvitationView, InviteMembers, MAX_SEARCH_CHARS, MemberView, MembersPage,
        RemoveMember, ResendInvitation, RevokeInvitation, get_members,
    },
    components::{
        form::{FormAlert, FormErrors, Notice, StepUp, action_error, query_encode},
        page::{Confirm, ConfirmButtons, PageHeader, org_page},
    },
    error::STEP_UP_FIELD,
    roles::{Permission, Role},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn MembersPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let search = move || query.read().get("q");
    let after = move || query.read().get("after");

    let change_role = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let invite = ServerAction::<InviteMembers>::new();
    let resend = ServerAction::<ResendInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();

    let data = Resource::new(
        move || {
            (
                slug(),
                search(),
                after(),
                change_role.version().get()
                    + remove.version().get()
                    + invite.version().get()
                    + resend.version().get()
                    + revoke.version().get(),
            )
        },
        |(slug, q, after, _)| get_members(slug, q, after),
    );

    view! {
        <Title text="Members" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let slug = slug();
                org_page(data.await, &slug, "the member list", |page| {
                    view! { <Members page slug=slug.clone() change_role remove invite resend revoke /> }.into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
fn Members(
    page: MembersPage,
    slug: String,
    change_role: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
    invite: ServerAction<InviteMembers>,
    resend: ServerAction<ResendInvitation>,
    revoke: ServerAction<RevokeInvitation>,
) -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let base = format!("/o/{slug}/members");
    let viewer_role = page.viewer_role;
    let count = page.total;

    // Errors of the row actions share one alert at the top of the page.
    let row_errors = FormErrors::new(
        Signal::derive(move || {
            action_error(change_role)
                .get()
                .or_else(|| action_error(remove).get())
                .or_else(|| action_error(resend).get())
                .or_else(|| action_error(revoke).get())
        }),
        // Asked for in the form that needs it.
        &[STEP_UP_FIELD],
    );

    let confirm_remove = {
        let members = page.members.clone();
        move || {
            let id = query.read().get("remove")?;
            members.iter().find(|m| m.user_id == id).cloned()
        }
    };
    let confirm_revoke = {
        let invitations = page.invitations.clone();
        move || {
            let id = query.read().get("revoke")?;
            invitations.iter().find(|i| i.invitation_id == id).cloned()
        }
    };
    let with_query = {
        let base = base.clone();
        move |extra: Option<String>| {
            let q = q();
            let mut params = Vec::new();
            if !q.is_empty() {
                params.push(format!("q={}", query_encode(&q)));
            }
            params.extend(extra);
            if params.is_empty() {
                base.clone()
            } else {
                format!("{base}?{}", params.join("&"))
            }
        }
    };
    let next_href = page
        .next
        .clone()
        .map(|cursor| with_query(Some(format!("after={cursor}"))));
    let first_href = with_query(None);
    let paged = query.read_untracked().get("after").is_some();
    let (slug_remove, slug_revoke, cancel_remove, cancel_revoke) =
        (slug.clone(), slug.clone(), base.clone(), base.clone());

    view! {
        <div class="mx-auto max-w-6xl px-4 py-8 sm:px-6">
            <PageHeader
                title="Members"
                subtitle=format!("{} in {}", plural(count, "member", "members"), page.org_name)
            />
            <div class="mt-6 space-y-4">
                <MembersNotice />
                <FormAlert message=row_errors.form() />
                {move || {
                    confirm_remove()
                        .map(|member| {
                            view! { <ConfirmRemove member slug=slug_remove.clone() remove cancel=cancel_remove.clone() /> }
                        })
                }}
                {move || {
                    confirm_revoke()
                        .map(|invitation| {
                            view! { <ConfirmRevoke invitation slug=slug_revoke.clone() revoke cancel=cancel_revoke.clone() /> }
                        })
                }}
            </div>

            <div class="mt-8 grid gap-8 lg:grid-cols-3">
                <section class="lg:col-span-2" aria-labelledby="member-list">
                    <h2 id="member-list" class="sr-only">"Member list"</h2>
                    <form method="get" action=base.clone() class="flex gap-2" role="search">
                        <label for="member-search" class="sr-only">"Search members"</label>
                        <input
                            id="member-search"
                            name="q"
                            type="search"
                            maxlength=MAX_SEARCH_CHARS
                            value=q
                            placeholder="Search by name or email"
                            class="block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-4 focus:ring-indigo-500/20"
                        />
                        <button type="submit" class="rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50">
                            "Search"
                        </button>
                    </form>
                    <div class="mt-4 overflow-hidden rounded-2xl border border-slate-200 bg-white shadow-sm">
                        <table class="block w-full text-left text-sm sm:table" data-testid="member-table">
                            <thead class="hidden bg-slate-50 text-xs uppercase tracking-wide text-slate-500 sm:table-header-group">
                                <tr>
                                    <th scope="col" class="px-4 py-3 font-medium">"Member"</th>
                                    <th scope="col" class="px-4 py-3 font-medium">"Role"</th>
                                    <th scope="col" class="hidden px-4 py-3 font-medium md:table-cell">"Joined"</th>
                                    <th scope="col" class="hidden px-4 py-3 font-medium md:table-cell">"Last sign-in"</th>
                                    <th scope="col" class="px-4 py-3"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody class="block divide-y divide-slate-100 sm:table-row-group">
                                {page
                                    .members
                                    .iter()
                                    .cloned()
                                    .map(|member| {
                                        let is_me = member.user_id == page.viewer_id;
                                        view! {
                                            <MemberRow
                                                member
                                                slug=slug.clone()
                                                is_me
                                                viewer_role
                                                change_role
                                            />
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                        {page.members.is_empty().then(|| view! {
                            <p class="px-4 py-10 text-center text-sm text-slate-500">"No member matches that search."</p>
                        })}
                    </div>
                    <nav class="mt-4 flex items-center justify-between text-sm" aria-label="Pages">
                        {paged.then(|| view! {
                            <a href=first_href.clone() class="font-medium text-indigo-600 hover:text-indigo-500">"← First page"</a>
                        })}
                        <span></span>
                        {next_href.map(|href| view! {
                            <a href=href class="font-medium text-indigo-600 hover:text-indigo-500" rel="next">"Next page →"</a>
                        })}
                    </nav>
                </section>

                <aside class="space-y-8">
                    <InviteForm slug=slug.clone() viewer_role days=page.invitation_days invite />
                    <PendingInvitations invitations=page.invitations.clone() slug=slug.clone() resend />
                </aside>
            </div>
        </div>
    }
}

pub fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Says what the last action did (after its redirect).
#[component]
fn MembersNotice() -> impl IntoView {
    let query = use_query_map();
    move || {
        let query = query.read();
        let who = query.get("who").unwrap_or_default();
        let message = match query.get("notice").as_deref()? {
            "role_changed" => {
                format!("{who}'s role has been changed. It applies from their next page.")
            }
            "removed" => format!("{who} has been removed from the organization."),
            "invited" => format!("Invitation sent to {who}."),
            "resent" => format!(
                "A new invitation has been sent to {who}; the previous link no longer works."
            ),
            "revoked" => format!("The invitation to {who} has been revoked."),
            _ => return None,
        };
        Some(view! { <Notice>{message}</Notice> })
    }
}

#[component]
fn MemberRow(
    member: MemberView,
    slug: String,
    is_me: bool,
    viewer_role: Role,
    change_role: ServerAction<ChangeRole>,
) -> impl IntoView {
    let target_is_owner = member.role == Role::Owner;
    let may_touch = viewer_role.can(Permission::ManageMembers)
        && !is_me
        && (!target_is_owner || viewer_role.can(Permission::ManageOwners));
    let assignable: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| *r != Role::Owner || viewer_role.can(Permission::ManageOwners))
        .collect();
    let may_see_sessions = viewer_role.can(Permission::ManageMembers)
        && (!target_is_owner || viewer_role.can(Permission::ManageOwners));
    let sessions_href = format!("/o/{slug}/members/{}/sessions", member.user_id);
    let sessions_label = format!("Sessions of {}", member.name);
    let remove_href = format!("/o/{slug}/members?remove={}", member.user_id);
    let role_label = member.role.label();
    let select_label = format!("Role of {}", member.name);
    let remove_label = format!("Remove {}", member.name);
    view! {
        <tr class="flex flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3 align-middle sm:table-row sm:p-0">
            <td class="w-full sm:w-auto sm:px-4 sm:py-3">
                <div class="font-medium text-slate-900">
                    {member.name.clone()}
                    {is_me.then(|| view! { <span class="ml-1 text-xs font-normal text-slate-500">"(you)"</span> })}
                    {member.two_step.then(|| view! {
                        <span
                            class="ml-2 inline-flex items-center rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-emerald-200"
                            title="Signs in with a code from an authenticator app as well"
                            data-testid="two-step-badge"
                        >
                            "2-step"
                        </span>
                    })}
                </div>
                <div class="text-slate-500">{member.email.clone()}</div>
                <div class="mt-1 text-xs text-slate-500 md:hidden">
                    "Joined " {member.joined.clone()}
                </div>
            </td>
            <td class="sm:px-4 sm:py-3">
                {if may_touch {
                    let current = member.role;
                    let label_id = format!("role-{}", member.user_id);
                    let row = member.user_id.clone();
                    let error = action_error(change_role);
                    let this_row = Signal::derive(move || {
                        error.get().and_then(|e| e.value_for("user_id")).as_deref() == Some(row.as_str())
                    });
                    view! {
                        <ActionForm action=change_role attr:class="flex flex-wrap items-center gap-2">
                            <input type="hidden" name="slug" value=slug.clone() />
                            <input type="hidden" name="user_id" value=member.user_id.clone() />
                            <label for=label_id.clone() class="sr-only">{select_label}</label>
                            <select
                                id=label_id
                                name="role"
                                class="rounded-lg border border-slate-300 bg-white py-1.5 pr-8 pl-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none"
                            >
                                {assignable
                                    .iter()
                                    .map(|r| view! { <option value=r.as_str() selected=*r == current>{r.label()}</option> })
                                    .collect_view()}
                            </select>
                            <button type="submit" class="rounded-lg px-2 py-1.5 text-sm font-medium text-indigo-600 hover:bg-indigo-50">
                                "Save"
                            </button>
                            <StepUp
                                error
                                slug=slug.clone()
                                show=this_row
                                id=format!("reauth-role-{}", member.user_id)
                            />
                        </ActionForm>
                    }
                        .into_any()
                } else {
                    view! { <RoleBadge role=member.role /> }.into_any()
                }}
            </td>
            <td class="hidden px-4 py-3 text-slate-600 md:table-cell">{member.joined.clone()}</td>
            <td class="hidden px-4 py-3 text-slate-600 md:table-cell">
                {member.last_sign_in.clone().unwrap_or_else(|| "never".to_string())}
            </td>
            <td class="ml-auto space-x-3 text-right whitespace-nowrap sm:ml-0 sm:px-4 sm:py-3">
                {may_see_sessions.then(|| view! {
                    <a href=sessions_href class="text-sm font-medium text-slate-600 hover:text-slate-900" aria-label=sessions_label>
                        "Sessions"
                    </a>
                })}
                {may_touch.then(|| view! {
                    <a href=remove_href class="text-sm font-medium text-red-600 hover:text-red-500" aria-label=remove_label>
                        "Remove"
                    </a>
                })}
                {(!may_touch).then(|| view! { <span class="sr-only">{role_label}</span> })}
            </td>
        </tr>
    }
}

#[component]
pub fn RoleBadge(role: Role) -> impl IntoView {
    let colors = match role {
        Role::Owner => "bg-indigo-50 text-indigo-700 ring-indigo-600/20",
        Role::Admin => "bg-sky-50 text-sky-700 ring-sky-600/20",
        Role::Member => "bg-slate-50 text-slate-700 ring-slate-600/20",
        Role::Viewer => "bg-amber-50 text-amber-800 ring-amber-600/20",
    };
    view! {
        <span class=format!("inline-flex rounded-full px-2.5 py-0.5 text-xs font-medium ring-1 ring-inset {colors}")>
            {role.label()}
        </span>
    }
}

#[component]
fn ConfirmRemove(
    member: MemberView,
    slug: String,
    remove: ServerAction<RemoveMember>,
    cancel: String,
) -> impl IntoView {
    view! {
        <Confirm
            title=format!("Remove {} from the organization?", member.name)
            message=format!("{} loses access on their next page. They can be invited again later.", member.email)
        >
            <ActionForm action=remove attr:class="space-y-4">
                <input type="hidden" name="slug" value=slug.clone() />
                <input type="hidden" name="user_id" value=member.user_id.clone() />
                <StepUp error=action_error(remove) slug />
                <ConfirmButtons label=format!("Remove {}", member.name) cancel />
            </ActionForm>
        </Confirm>
    }
}

#[component]
fn ConfirmRevoke(
    invitation: InvitationView,
    slug: String,
    revoke: ServerAction<RevokeInvitation>,
    cancel: String,
) -> impl IntoView {
    view! {
        <Confirm
            title=format!("Revoke the invitation to {}?", invitation.email)
            message="The link in their mail stops working."
        >
            <ActionForm action=revoke>
                <input type="hidden" name="slug" value=slug />
                <input type="hidden" name="invitation_id" value=invitation.invitation_id.clone() />
                <ConfirmButtons label="Revoke invitation" cancel />
            </ActionForm>
        </Confirm>
    }
}

#[component]
fn InviteForm(
    slug: String,
    viewer_role: Role,
    days: i64,
    invite: ServerAction<InviteMembers>,
) -> impl IntoView {
    let errors = FormErrors::new(action_error(invite), &["emails", "role", STEP_UP_FIELD]);
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| *r != Role::Owner || viewer_role.can(Permission::ManageOwners))
        .collect();
    let kept_role = errors.kept("role", Signal::derive(|| "member".to_string()));
    let slug_for_step_up = slug.clone();
    view! {
        <section class="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm" aria-labelledby="invite-title">
            <h2 id="invite-title" class="font-semibold text-slate-900">"Invite people"</h2>
            <p class="mt-1 text-sm text-slate-600">
                {format!("They get an email with a link that works for {}.", plural(days, "day", "days"))}
            </p>
            <ActionForm action=invite attr:class="mt-4 space-y-4" attr:data-testid="invite-form">
                <FormAlert message=errors.form() />
                <input type="hidden" name="slug" value=slug.clone() />
                <div>
                    <label for="invite-emails" class="block text-sm font-medium text-slate-700">"Email addresses"</label>
                    <textarea
                        id="invite-emails"
                        name="emails"
                        rows="3"
                        placeholder="one@company.com, another@company.com"
                        aria-invalid=move || errors.field("emails").get().map(|_| "true")
                        class=move || format!(
                            "mt-1.5 block w-full rounded-lg border bg-white px-3 py-2 text-sm shadow-sm focus:outline-none focus:ring-4 {}",
                            if errors.field("emails").get().is_some() { "border-red-400 focus:ring-red-500/20" } else { "border-slate-300 focus:border-indigo-500 focus:ring-indigo-500/20" },
                        )
                        prop:value=move || errors.kept("emails", Signal::derive(String::new)).get()
                    >
                        {move || errors.kept("emails", Signal::derive(String::new)).get()}
                    </textarea>
                    {move || {
                        errors.error_list("emails").into_iter().map(|message| view! {
                            <p class="mt-1.5 text-sm text-red-600" role="alert">{message}</p>
                        }).collect_view()
                    }}
                    <p class="mt-1.5 text-xs text-slate-500">"Separate addresses with commas or new lines."</p>
                </div>
                <div>
                    <label for="invite-role" class="block text-sm font-medium text-slate-700">"Role"</label>
                    <select
                        id="invite-role"
                        name="role"
                        class="mt-1.5 block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none"
                    >
                        {roles
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=move || kept_role.get() == r.as_str()>{r.label()}</option> })
                            .collect_view()}
                    </select>
                    {move || errors.field("role").get().map(|m| view! { <p class="mt-1.5 text-sm text-red-600" role="alert">{m}</p> })}
                </div>
                <StepUp error=action_error(invite) slug=slug_for_step_up id="reauth-invite" />
                <button
                    type="submit"
                    disabled=move || invite.pending().get()
                    class="w-full rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 disabled:opacity-70"
                >
                    {move || if invite.pending().get() { "Sending…" } else { "Send invitations" }}
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn PendingInvitations(
    invitations: Vec<InvitationView>,
    slug: String,
    resend: ServerAction<ResendInvitation>,
) -> impl IntoView {
    let empty = invitations.is_empty();
    let resend_error = action_error(resend);
    view! {
        <section aria-labelledby="pending-title">
            <h2 id="pending-title" class="font-semibold text-slate-900">"Pending invitations"</h2>
            {empty.then(|| view! { <p class="mt-2 text-sm text-slate-500">"Nobody is waiting to join."</p> })}
            <ul class="mt-3 space-y-3" data-testid="pending-invitations">
                {invitations
                    .into_iter()
                    .map(|invitation| {
                        let revoke_href = format!("/o/{slug}/members?revoke={}", invitation.invitation_id);
                        let slug = slug.clone();
                        let row = invitation.invitation_id.clone();
                        let this_row = Signal::derive(move || {
                            resend_error.get().and_then(|e| e.value_for("invitation_id")).as_deref() == Some(row.as_str())
                        });
                        view! {
                            <li class="rounded-xl border border-slate-200 bg-white p-4 text-sm shadow-sm">
                                <div class="flex items-start justify-between gap-2">
                                    <span class="font-medium break-all text-slate-900">{invitation.email.clone()}</span>
                                    <RoleBadge role=invitation.role />
                                </div>
                                <p class="mt-1 text-xs text-slate-500">
                                    {invitation.invited_by.clone().map(|by| format!("Invited by {by} · ")).unwrap_or_default()}
                                    {if invitation.expired {
                                        view! { <span class="font-medium text-amber-700">{format!("expired {}", invitation.expires)}</span> }.into_any()
                                    } else {
                                        view! { <span>{format!("expires {}", invitation.expires)}</span> }.into_any()
                                    }}
                                </p>
                                <div class="mt-3 flex gap-4">
                                    <ActionForm action=resend attr:class="flex flex-wrap items-center gap-2">
                                        <input type="hidden" name="slug" value=slug.clone() />
                                        <input type="hidden" name="invitation_id" value=invitation.invitation_id.clone() />
                                        <button type="submit" class="font-medium text-indigo-600 hover:text-indigo-500">"Resend"</button>
                                        <StepUp
                                            error=resend_error
                                            slug=slug.clone()
                                            show=this_row
                                            id=format!("reauth-resend-{}", invitation.invitation_id)
                                        />
                                    </ActionForm>
                                    <a href=revoke_href class="font-medium text-red-600 hover:text-red-500">"Revoke"</a>
                                </div>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}
