-- Sign-in: single-use tokens for email verification, password reset and
-- emailed sign-in links; rate-limit buckets; and a per-user cut-off that ends
-- every session authenticated before it (set when a password is reset).

alter table app_user
    add column sessions_valid_after timestamptz not null default 'epoch';

comment on column app_user.sessions_valid_after is
    'Sessions authenticated before this instant are no longer valid.';

-- A token belongs to a user, not to an organization: it proves control of
-- the mailbox. Which organization an emailed sign-in link enters is decided
-- when it is used, by that organization''s sign-in policy and the user''s
-- membership — exactly as for a password.
create table auth_token (
    -- SHA-256 of the random token; the token itself exists only in the mail.
    token_hash bytea primary key,
    user_id    uuid not null references app_user (user_id) on delete cascade,
    purpose    text not null,
    expires_at timestamptz not null,
    used_at    timestamptz,
    created_at timestamptz not null default now(),
    constraint auth_token_purpose_check check (purpose in ('verify_email', 'reset_password', 'sign_in_link'))
);

create index auth_token_user_id_idx on auth_token (user_id);

alter table auth_token enable row level security;
alter table auth_token force row level security;

create policy auth_token_own on auth_token
    using (user_id = (select app.current_user_id()))
    with check (user_id = (select app.current_user_id()));

grant select, insert, update, delete on auth_token to app_runtime;

-- Rate limiting: fixed windows, shared by every server process.
create table rate_limit (
    bucket            text primary key,
    window_started_at timestamptz not null,
    hits              integer not null
);

create index rate_limit_window_idx on rate_limit (window_started_at);

grant select, insert, update, delete on rate_limit to app_runtime;

-- Pre-context look-up: whose token is this? (The caller then consumes it in
-- that user's own scope, where the update is atomic and single-use.)
grant select (token_hash, user_id, purpose, expires_at, used_at) on auth_token to app_lookup;
create policy auth_token_lookup on auth_token for select to app_lookup using (true);

create function lookup.auth_token(p_token_hash bytea, p_purpose text)
    returns table (user_id uuid, expires_at timestamptz, used_at timestamptz)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select t.user_id, t.expires_at, t.used_at
        from public.auth_token t
        where t.token_hash = p_token_hash and t.purpose = p_purpose
    $$;

revoke all on function lookup.auth_token(bytea, text) from public;
grant execute on function lookup.auth_token(bytea, text) to app_runtime;
grant create on schema lookup to app_lookup;
alter function lookup.auth_token(bytea, text) owner to app_lookup;
revoke create on schema lookup from app_lookup;

-- Mail delivery bookkeeping: how a message left (smtp, or kept locally when
-- no SMTP server is configured), and when the worker gave up on it (only for
-- permanent SMTP rejections; outages are retried until they end).
alter table mail_outbox
    add column delivered_via text,
    add column abandoned_at timestamptz,
    add constraint mail_outbox_delivered_via_check check (delivered_via in ('smtp', 'local'));

drop index mail_outbox_due_idx;
create index mail_outbox_due_idx on mail_outbox (next_attempt_at)
    where sent_at is null and abandoned_at is null;
