-- Foundation schema: identities, organizations, memberships, invitations,
-- SSO configuration, the audit log, the mail outbox and the session store.
--
-- Runs as the owner role (`app_owner`). Three cluster roles are involved; they
-- are created beforehand by `db/roles.sql` (as a superuser), never here:
--
--   app_owner    owns every object; runs migrations. Subject to row-level
--                security like everyone else (every RLS table is FORCEd).
--   app_runtime  the role the server's pool logs in as: not superuser, not an
--                owner, no BYPASSRLS. Sees org data only through policies on
--                the transaction-local settings app.org_id / app.user_id.
--   app_lookup   cannot log in. Owns the few SECURITY DEFINER functions in
--                schema `lookup` that must work before an org context exists
--                (sign-in by email, org by slug, invitation by token, org by
--                verified email domain). Its read access is column-limited and
--                select-only.

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'app_runtime')
       or not exists (select 1 from pg_roles where rolname = 'app_lookup') then
        raise exception 'roles app_runtime and app_lookup must exist: run db/roles.sql as a superuser first';
    end if;
end
$$;

-- ---------------------------------------------------------------------------
-- Context helpers. `set_config(name, value, true)` is transaction-local; after
-- such a transaction ends, the setting reads as '' (not NULL) for the rest of
-- the connection's life, hence the nullif.
-- ---------------------------------------------------------------------------

create schema app;
grant usage on schema app to app_runtime, app_lookup;

create function app.current_org_id() returns uuid
    language sql stable parallel safe
    as $$ select nullif(current_setting('app.org_id', true), '')::uuid $$;

create function app.current_user_id() returns uuid
    language sql stable parallel safe
    as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

comment on function app.current_org_id() is
    'The organization of the current transaction (set by Tenant::begin), or NULL.';
comment on function app.current_user_id() is
    'The signed-in user of the current transaction, or NULL.';

-- Every updated_at column is maintained by this trigger.
create function app.touch_updated_at() returns trigger
    language plpgsql
    as $$
begin
    new.updated_at := now();
    return new;
end
$$;

-- ---------------------------------------------------------------------------
-- Global tables: the user identity and the organization.
-- Not org-owned, but still protected by RLS so that a query without a context
-- cannot list every user or every customer.
-- ---------------------------------------------------------------------------

create table app_user (
    user_id           uuid primary key,
    email             text not null,
    display_name      text not null,
    -- argon2id PHC string; NULL for users who only ever signed in through SSO.
    password_hash     text,
    email_verified_at timestamptz,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    constraint app_user_email_shape check (
        email = btrim(email) and char_length(email) between 3 and 254 and email like '%_@_%'
    ),
    constraint app_user_display_name_length check (char_length(display_name) between 1 and 100)
);

-- One identity per email, compared case-insensitively.
create unique index app_user_email_key on app_user (lower(email));

create trigger app_user_touch before update on app_user
    for each row execute function app.touch_updated_at();

create table organization (
    org_id     uuid primary key,
    slug       text not null,
    name       text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint organization_slug_key unique (slug),
    constraint organization_slug_shape check (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
    constraint organization_name_length check (char_length(btrim(name)) between 1 and 100)
);

create trigger organization_touch before update on organization
    for each row execute function app.touch_updated_at();

-- ---------------------------------------------------------------------------
-- Org-owned tables. Rules (checked by tests against the live catalog):
--   * org_id uuid not null, referencing organization, leading the primary key;
--   * foreign keys between org-owned tables include org_id;
--   * RLS enabled and forced, policies on app.current_org_id().
-- ---------------------------------------------------------------------------

create table membership (
    org_id          uuid not null references organization (org_id) on delete cascade,
    user_id         uuid not null references app_user (user_id) on delete cascade,
    role            text not null,
    last_sign_in_at timestamptz,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint membership_pkey primary key (org_id, user_id),
    constraint membership_role_check check (role in ('owner', 'admin', 'member', 'viewer'))
);

-- The own-memberships policy (org picker) reads user_id.
create index membership_user_id_idx on membership (user_id);

create trigger membership_touch before update on membership
    for each row execute function app.touch_updated_at();

create table invitation (
    org_id              uuid not null references organization (org_id) on delete cascade,
    invitation_id       uuid not null,
    email               text not null,
    role                text not null,
    -- SHA-256 of the random token; the token itself exists only in the emailed link.
    token_hash          bytea not null,
    invited_by_user_id  uuid references app_user (user_id) on delete set null,
    expires_at          timestamptz not null,
    accepted_at         timestamptz,
    accepted_by_user_id uuid references app_user (user_id) on delete set null,
    revoked_at          timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint invitation_pkey primary key (org_id, invitation_id),
    constraint invitation_token_hash_key unique (token_hash),
    constraint invitation_role_check check (role in ('owner', 'admin', 'member', 'viewer')),
    constraint invitation_email_shape check (email = btrim(email) and email like '%_@_%'),
    constraint invitation_single_outcome check (accepted_at is null or revoked_at is null)
);

-- At most one open invitation per email and organization.
create unique index invitation_open_email_key on invitation (org_id, lower(email))
    where accepted_at is null and revoked_at is null;

create trigger invitation_touch before update on invitation
    for each row execute function app.touch_updated_at();

create table sso_connection (
    org_id                   uuid not null references organization (org_id) on delete cascade,
    sso_connection_id        uuid not null,
    issuer_url               text not null,
    client_id                text not null,
    -- AES-256-GCM ciphertext (nonce || ciphertext || tag) of the client secret,
    -- and the id of the key that sealed it, so keys can be rotated.
    client_secret_sealed     bytea not null,
    client_secret_key_id     text not null,
    default_role             text not null default 'member',
    trust_unverified_email   boolean not null default false,
    last_test_succeeded_at   timestamptz,
    enabled_at               timestamptz,
    enforced                 boolean not null default false,
    created_at               timestamptz not null default now(),
    updated_at               timestamptz not null default now(),
    constraint sso_connection_pkey primary key (org_id, sso_connection_id),
    -- One connection per organization.
    constraint sso_connection_org_key unique (org_id),
    constraint sso_connection_default_role_check check (default_role in ('admin', 'member', 'viewer')),
    constraint sso_connection_enforced_needs_enabled check (not enforced or enabled_at is not null)
);

create trigger sso_connection_touch before update on sso_connection
    for each row execute function app.touch_updated_at();

create table sso_domain (
    org_id             uuid not null references organization (org_id) on delete cascade,
    sso_domain_id      uuid not null,
    domain             text not null,
    verification_token text not null,
    verified_at        timestamptz,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    constraint sso_domain_pkey primary key (org_id, sso_domain_id),
    constraint sso_domain_org_domain_key unique (org_id, domain),
    constraint sso_domain_shape check (domain = lower(domain) and domain ~ '^[a-z0-9.-]+\.[a-z0-9-]+$')
);

-- A domain can be proved by one organization only; discovery looks it up.
create unique index sso_domain_verified_key on sso_domain (domain) where verified_at is not null;

create trigger sso_domain_touch before update on sso_domain
    for each row execute function app.touch_updated_at();

create table audit_event (
    org_id         uuid not null references organization (org_id) on delete cascade,
    -- UUIDv7: time-ordered, so (occurred_at, audit_event_id) is a stable keyset.
    audit_event_id uuid not null,
    occurred_at    timestamptz not null default now(),
    -- The actor as they were at the time; no foreign key, history outlives users.
    actor_user_id  uuid,
    actor_email    text,
    action         text not null,
    target_type    text,
    target_id      text,
    target_label   text,
    ip_address     inet,
    user_agent     text,
    details        jsonb not null default '{}'::jsonb,
    constraint audit_event_pkey primary key (org_id, audit_event_id),
    constraint audit_event_action_shape check (action ~ '^[a-z_]+\.[a-z_]+$')
);

create index audit_event_org_time_idx on audit_event (org_id, occurred_at desc, audit_event_id desc);

-- Append-only, for every role including the owner. The one exception is the
-- cascade from deleting the organization itself, which the deleting
-- transaction announces by setting app.deleting_org_id to that org's id.
create function app.audit_event_append_only() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'DELETE'
       and old.org_id = nullif(current_setting('app.deleting_org_id', true), '')::uuid then
        return old;
    end if;
    raise exception 'audit_event is append-only (% refused)', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_event_append_only before update or delete on audit_event
    for each row execute function app.audit_event_append_only();

create trigger audit_event_no_truncate before truncate on audit_event
    for each statement execute function app.audit_event_append_only();

-- ---------------------------------------------------------------------------
-- Row-level security.
-- ---------------------------------------------------------------------------

alter table app_user enable row level security;
alter table app_user force row level security;
alter table organization enable row level security;
alter table organization force row level security;
alter table membership enable row level security;
alter table membership force row level security;
alter table invitation enable row level security;
alter table invitation force row level security;
alter table sso_connection enable row level security;
alter table sso_connection force row level security;
alter table sso_domain enable row level security;
alter table sso_domain force row level security;
alter table audit_event enable row level security;
alter table audit_event force row level security;

-- The organization in context, and its rows. Same shape on every org-owned table.
create policy organization_in_context on organization
    using (org_id = (select app.current_org_id()))
    with check (org_id = (select app.current_org_id()));
create policy membership_in_context on membership
    using (org_id = (select app.current_org_id()))
    with check (org_id = (select app.current_org_id()));
create policy invitation_in_context on invitation
    using (org_id = (select app.current_org_id()))
    with check (org_id = (select app.current_org_id()));
create policy sso_connection_in_context on sso_connection
    using (org_id = (select app.current_org_id()))
    with check (org_id = (select app.current_org_id()));
create policy sso_domain_in_context on sso_domain
    using (org_id = (select app.current_org_id()))
    with check (org_id = (select app.current_org_id()));
create policy audit_event_in_context on audit_event
    using (org_id = (select app.current_org_id()))
    with check (org_id = (select app.current_org_id()));

-- A user's own rows across organizations, visible only in a user-scoped
-- transaction (no org context): the org picker and the switcher read these.
-- Inside an org context they stay hidden, so a member list can never pick up
-- the caller's memberships elsewhere.
create policy membership_own on membership for select
    using ((select app.current_org_id()) is null
           and user_id = (select app.current_user_id()));
create policy organization_of_own_membership on organization for select
    using ((select app.current_org_id()) is null
           and exists (select 1 from membership m
                       where m.org_id = organization.org_id
                         and m.user_id = (select app.current_user_id())));

-- Users: yourself, and the members of the organization in context.
create policy app_user_self on app_user
    using (user_id = (select app.current_user_id()))
    with check (user_id = (select app.current_user_id()));
create policy app_user_member_of_context_org on app_user for select
    using (exists (select 1 from membership m
                   where m.user_id = app_user.user_id
                     and m.org_id = (select app.current_org_id())));

-- ---------------------------------------------------------------------------
-- Privileges of the runtime role. Nothing is granted to PUBLIC.
-- ---------------------------------------------------------------------------

revoke all on all tables in schema public from public;

grant select, insert, update, delete on app_user, organization, membership, invitation,
    sso_connection, sso_domain to app_runtime;
-- The audit log: insert and read, never change.
grant select, insert on audit_event to app_runtime;

-- ---------------------------------------------------------------------------
-- Infrastructure tables: not org data, reached only by the server itself.
-- ---------------------------------------------------------------------------

create table mail_outbox (
    mail_id         uuid primary key,
    to_address      text not null,
    subject         text not null,
    body_text       text not null,
    body_html       text not null,
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    sent_at         timestamptz,
    last_error      text,
    created_at      timestamptz not null default now(),
    constraint mail_outbox_to_address_shape check (to_address like '%_@_%')
);

-- The delivery worker polls this.
create index mail_outbox_due_idx on mail_outbox (next_attempt_at) where sent_at is null;

grant select, insert, update, delete on mail_outbox to app_runtime;

-- tower-sessions' PostgresStore expects exactly this table; it is created here
-- (by the owner) rather than by the store's own migrate(), so the runtime role
-- needs no CREATE privilege anywhere.
create schema tower_sessions;
create table tower_sessions.session (
    id          text primary key not null,
    data        bytea not null,
    expiry_date timestamptz not null
);
create index session_expiry_date_idx on tower_sessions.session (expiry_date);

grant usage on schema tower_sessions to app_runtime;
grant select, insert, update, delete on tower_sessions.session to app_runtime;

-- ---------------------------------------------------------------------------
-- Pre-context look-ups: SECURITY DEFINER functions owned by app_lookup.
-- Each returns only what its caller needs and is callable by app_runtime only.
-- ---------------------------------------------------------------------------

create schema lookup;
grant usage on schema lookup to app_runtime, app_lookup;

grant select (user_id, email, display_name, password_hash, email_verified_at) on app_user to app_lookup;
grant select (org_id, slug, name) on organization to app_lookup;
grant select (org_id, invitation_id, email, role, token_hash, expires_at, accepted_at, revoked_at,
              invited_by_user_id) on invitation to app_lookup;
grant select (org_id, domain, verified_at) on sso_domain to app_lookup;

create policy app_user_lookup on app_user for select to app_lookup using (true);
create policy organization_lookup on organization for select to app_lookup using (true);
create policy invitation_lookup on invitation for select to app_lookup using (true);
create policy sso_domain_lookup on sso_domain for select to app_lookup
    using (verified_at is not null);

-- Sign-in: the identity for an email address (case-insensitive).
create function lookup.user_for_sign_in(p_email text)
    returns table (user_id uuid, email text, display_name text, password_hash text,
                   email_verified_at timestamptz)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select u.user_id, u.email, u.display_name, u.password_hash, u.email_verified_at
        from public.app_user u
        where lower(u.email) = lower(btrim(p_email))
    $$;

-- The per-org login page: an organization by its slug.
create function lookup.org_by_slug(p_slug text)
    returns table (org_id uuid, slug text, name text)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select o.org_id, o.slug, o.name
        from public.organization o
        where o.slug = p_slug
    $$;

-- Accepting an invitation: the invitation whose token hashes to p_token_hash.
create function lookup.invitation_by_token_hash(p_token_hash bytea)
    returns table (org_id uuid, invitation_id uuid, email text, role text,
                   expires_at timestamptz, accepted_at timestamptz, revoked_at timestamptz,
                   invited_by_user_id uuid, org_slug text, org_name text)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select i.org_id, i.invitation_id, i.email, i.role, i.expires_at, i.accepted_at,
               i.revoked_at, i.invited_by_user_id, o.slug, o.name
        from public.invitation i
        join public.organization o on o.org_id = i.org_id
        where i.token_hash = p_token_hash
    $$;

-- Home-realm discovery: the organization that proved ownership of a domain.
create function lookup.org_by_verified_domain(p_domain text)
    returns table (org_id uuid, slug text, name text)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select o.org_id, o.slug, o.name
        from public.sso_domain d
        join public.organization o on o.org_id = d.org_id
        where d.domain = lower(btrim(p_domain)) and d.verified_at is not null
    $$;

-- Set privileges while app_owner still owns the functions (afterwards only
-- app_lookup could change them), then hand them over. app_lookup needs CREATE
-- on the schema only for the hand-over itself.
revoke all on all functions in schema lookup from public;
grant execute on all functions in schema lookup to app_runtime;
grant create on schema lookup to app_lookup;
alter function lookup.user_for_sign_in(text) owner to app_lookup;
alter function lookup.org_by_slug(text) owner to app_lookup;
alter function lookup.invitation_by_token_hash(bytea) owner to app_lookup;
alter function lookup.org_by_verified_domain(text) owner to app_lookup;
revoke create on schema lookup from app_lookup;
