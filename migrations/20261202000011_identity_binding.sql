-- Identity binding for single sign-on (see README, "Single sign-on").
--
-- * Each connection has its own redirect URI, /sso/callback/{connection id},
--   so an authorization response can be matched to the connection that
--   started it. Existing connections move to theirs: the settings page
--   tells their admins to register it at the provider until a test passes.
-- * An SSO identity is (issuer, subject) per connection, linked to one
--   member; after the first sign-in only that pair signs them in.
-- * Replacing the provider (issuer or client id) ends the sessions it
--   signed in.
-- * A client secret is sealed together with the issuer and client id it was
--   entered for (AES-GCM associated data), so it cannot be sent elsewhere.
-- * Emailed confirmation links for linking an existing account.

alter table sso_connection
    add column redirect_uri_changed_at timestamptz,
    add column client_secret_bound boolean not null default false,
    add column sso_sessions_valid_after timestamptz not null default 'epoch';

comment on column sso_connection.redirect_uri_changed_at is
    'Set when the redirect URI of an existing connection moved to its own; cleared by the next successful test.';
comment on column sso_connection.sso_sessions_valid_after is
    'Single sign-on sessions of the org that signed in before this (through a provider since replaced) no longer count.';
comment on column sso_connection.client_secret_bound is
    'The sealed secret carries its issuer and client id as associated data (false: sealed before that existed).';

-- The owner is subject to RLS (it is forced); lift it for this one update of
-- every organization's connection, then put it back.
alter table sso_connection no force row level security;
update sso_connection set redirect_uri_changed_at = now();
alter table sso_connection force row level security;

-- A callback names its connection: the look-up below finds the org by it.
create unique index sso_connection_id_key on sso_connection (sso_connection_id);

create table sso_identity (
    org_id            uuid not null references organization (org_id) on delete cascade,
    sso_connection_id uuid not null,
    -- The provider's issuer when the identity was linked; a changed issuer
    -- forgets every link of the connection.
    issuer            text not null,
    subject           text not null,
    user_id           uuid not null,
    -- How the link was made: just_in_time (a new account), password or
    -- email_link (an existing account proved once).
    linked_by         text not null,
    last_sign_in_at   timestamptz,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    constraint sso_identity_pkey primary key (org_id, sso_connection_id, subject),
    constraint sso_identity_user_key unique (org_id, sso_connection_id, user_id),
    constraint sso_identity_connection_fkey foreign key (org_id, sso_connection_id)
        references sso_connection (org_id, sso_connection_id) on delete cascade,
    -- A removed member's links go with the membership.
    constraint sso_identity_membership_fkey foreign key (org_id, user_id)
        references membership (org_id, user_id) on delete cascade,
    constraint sso_identity_subject_length check (char_length(subject) between 1 and 255),
    constraint sso_identity_linked_by_check check (linked_by in ('just_in_time', 'password', 'email_link'))
);

create trigger sso_identity_touch before update on sso_identity
    for each row execute function app.touch_updated_at();

alter table sso_identity enable row level security;
alter table sso_identity force row level security;
create policy sso_identity_in_context on sso_identity
    using (org_id = (select app.current_org_id()))
    with check (org_id = (select app.current_org_id()));
grant select, insert, update, delete on sso_identity to app_runtime;

-- Confirming an existing account by mail before its first SSO sign-in.
alter table auth_token drop constraint auth_token_purpose_check;
alter table auth_token add constraint auth_token_purpose_check
    check (purpose in ('verify_email', 'reset_password', 'sign_in_link', 'sso_link'));

-- A callback that belongs to no flow in the browser is recorded in the
-- organization whose connection its URI names.
grant select (org_id, sso_connection_id) on sso_connection to app_lookup;
create policy sso_connection_lookup on sso_connection for select to app_lookup using (true);

create function lookup.org_by_sso_connection(p_connection_id uuid)
    returns table (org_id uuid, slug text, name text)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select o.org_id, o.slug, o.name
        from public.sso_connection c
        join public.organization o on o.org_id = c.org_id
        where c.sso_connection_id = p_connection_id
    $$;

revoke all on function lookup.org_by_sso_connection(uuid) from public;
grant execute on function lookup.org_by_sso_connection(uuid) to app_runtime;
grant create on schema lookup to app_lookup;
alter function lookup.org_by_sso_connection(uuid) owner to app_lookup;
revoke create on schema lookup from app_lookup;
