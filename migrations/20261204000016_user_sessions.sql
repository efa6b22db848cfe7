-- Sessions a person can see and end. The session store (tower_sessions)
-- keeps each browser's state as an opaque record under a cookie id that
-- changes at every sign-in; this table keeps what a person and their
-- organization's admins may see of a signed-in session, under an id of its
-- own that the session carries. A row that is ended (or missing) ends its
-- session on its next request: every member check reads it.
--
-- It is org-owned (a session is in one organization): the org in context
-- sees its members' sessions, and a person's own user scope (no org in
-- context) sees and ends theirs across organizations.

create table user_session (
    org_id           uuid not null references organization (org_id) on delete cascade,
    session_id       uuid not null,
    user_id          uuid not null,
    method           text not null check (method in ('password', 'email_link', 'sso')),
    second_factor    boolean not null default false,
    authenticated_at timestamptz not null,
    last_seen_at     timestamptz not null default now(),
    client_ip        inet,
    user_agent       text check (length(user_agent) <= 512),
    ended_at         timestamptz,
    ended_reason     text check (ended_reason in ('signed_out', 'switched', 'ended_by_user', 'ended_by_admin')),
    primary key (org_id, session_id),
    -- Removing the member removes their sessions' rows (and so the sessions).
    foreign key (org_id, user_id) references membership (org_id, user_id) on delete cascade,
    check ((ended_at is null) = (ended_reason is null))
);

create index user_session_of_member on user_session (org_id, user_id, last_seen_at desc);
create index user_session_of_user on user_session (user_id, last_seen_at desc);

select app.make_org_owned('user_session');

create policy user_session_own on user_session
    using ((select app.current_org_id()) is null and user_id = (select app.current_user_id()))
    with check ((select app.current_org_id()) is null and user_id = (select app.current_user_id()));

-- Rows of sessions that ended or lapsed a month ago are of no more use to
-- anyone (the audit log keeps the sign-ins and sign-outs).
grant select (org_id, session_id, last_seen_at, ended_at), delete on user_session to app_maintenance;
create policy user_session_maintenance_read on user_session for select to app_maintenance using (true);
create policy user_session_maintenance_purge on user_session for delete to app_maintenance using (true);

create function maintenance.purge_old_sessions() returns bigint
    language sql security definer
    set search_path = pg_catalog, public
    as $$
    with gone as (
        delete from user_session
        where coalesce(ended_at, last_seen_at) < now() - interval '30 days'
        returning 1
    )
    select count(*) from gone
$$;
revoke all on function maintenance.purge_old_sessions() from public;
grant execute on function maintenance.purge_old_sessions() to app_runtime, app_maintenance;
alter function maintenance.purge_old_sessions() owner to app_maintenance;
