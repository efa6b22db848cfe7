-- The admin console: member listing, invitations, the last-owner rule,
-- and answering an organization's previous URL names.

-- The members page lists newest first with keyset pagination.
create index membership_org_joined_idx on membership (org_id, created_at desc, user_id desc);

-- Invitations remember when they were last (re)sent.
alter table invitation add column last_sent_at timestamptz not null default now();

-- An organization always keeps an owner. The application serializes
-- membership changes per organization (it locks the organization row) and
-- checks first, with a message a person understands; this deferred trigger is
-- the database's own guarantee. Deleting the organization itself is exempt:
-- by commit time the organization row is gone.
create function app.membership_keeps_an_owner() returns trigger
    language plpgsql
    as $$
begin
    if exists (select 1 from public.organization o where o.org_id = old.org_id)
       and not exists (select 1 from public.membership m where m.org_id = old.org_id and m.role = 'owner') then
        raise exception 'organization % would have no owner', old.org_id
            using errcode = 'check_violation', constraint = 'membership_last_owner';
    end if;
    return null;
end
$$;

create constraint trigger membership_keeps_an_owner
    after update of role or delete on membership
    deferrable initially deferred
    for each row
    when (old.role = 'owner')
    execute function app.membership_keeps_an_owner();

-- Previous URL names, so an old login link can say where the organization
-- went. A released name can be taken by another organization (its current
-- name then wins); if several organizations once used a name, the most
-- recent one is shown.
create table org_slug_redirect (
    org_id     uuid not null references organization (org_id) on delete cascade,
    old_slug   text not null,
    created_at timestamptz not null default now(),
    constraint org_slug_redirect_pkey primary key (org_id, old_slug)
);

create index org_slug_redirect_old_slug_idx on org_slug_redirect (old_slug, created_at desc);

alter table org_slug_redirect enable row level security;
alter table org_slug_redirect force row level security;

create policy org_slug_redirect_in_context on org_slug_redirect
    using (org_id = (select app.current_org_id()))
    with check (org_id = (select app.current_org_id()));

grant select, insert, update, delete on org_slug_redirect to app_runtime;

grant select (org_id, old_slug, created_at) on org_slug_redirect to app_lookup;
create policy org_slug_redirect_lookup on org_slug_redirect for select to app_lookup using (true);

-- The invitation page also names who invited. The function's result changes,
-- so it is dropped and created again — as its owner, app_lookup, which
-- app_owner may act as (it is a member, without inheriting).
grant create on schema lookup to app_lookup;
set role app_lookup;

drop function lookup.invitation_by_token_hash(bytea);

create function lookup.invitation_by_token_hash(p_token_hash bytea)
    returns table (org_id uuid, invitation_id uuid, email text, role text,
                   expires_at timestamptz, accepted_at timestamptz, revoked_at timestamptz,
                   invited_by_user_id uuid, org_slug text, org_name text,
                   inviter_name text, inviter_email text)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select i.org_id, i.invitation_id, i.email, i.role, i.expires_at, i.accepted_at,
               i.revoked_at, i.invited_by_user_id, o.slug, o.name, u.display_name, u.email
        from public.invitation i
        join public.organization o on o.org_id = i.org_id
        left join public.app_user u on u.user_id = i.invited_by_user_id
        where i.token_hash = p_token_hash
    $$;

-- An organization by a URL name it used to have.
create function lookup.org_by_previous_slug(p_slug text)
    returns table (org_id uuid, slug text, name text)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select o.org_id, o.slug, o.name
        from public.org_slug_redirect r
        join public.organization o on o.org_id = r.org_id
        where r.old_slug = p_slug
        order by r.created_at desc
        limit 1
    $$;

revoke all on function lookup.invitation_by_token_hash(bytea) from public;
revoke all on function lookup.org_by_previous_slug(text) from public;
grant execute on function lookup.invitation_by_token_hash(bytea) to app_runtime;
grant execute on function lookup.org_by_previous_slug(text) to app_runtime;

reset role;
revoke create on schema lookup from app_lookup;
