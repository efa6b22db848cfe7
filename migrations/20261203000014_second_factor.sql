-- Second factors: an authenticator app (TOTP, RFC 6238) and single-use
-- recovery codes. Both belong to a person, not to an organization: they are
-- visible only in that person's own user scope (no org in context), like
-- the membership_own policy, so no org transaction can ever read a secret.

create table user_totp (
    user_id         uuid primary key references app_user (user_id) on delete cascade,
    -- The shared secret, sealed with the server's secret keys (AES-256-GCM,
    -- associated data naming this user) like the SSO client secrets.
    secret_key_id   text not null,
    secret_sealed   bytea not null,
    -- Null while enrolment waits for its first code.
    confirmed_at    timestamptz,
    -- The last 30-second step a code was accepted for: a code at or below it
    -- is refused, so one code works once even inside its window.
    last_used_step  bigint,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);

create table recovery_code (
    user_id     uuid not null references app_user (user_id) on delete cascade,
    -- SHA-256 of the normalised code (codes are random, 50 bits; no salt needed).
    code_hash   bytea not null,
    used_at     timestamptz,
    created_at  timestamptz not null default now(),
    primary key (user_id, code_hash)
);

-- Whether (and since when) the account has a second factor: what an org's
-- member list may show about a member, without any view of the factor.
-- Kept by the domain in the same transaction as the factor itself.
alter table app_user add column second_factor_at timestamptz;

create trigger user_totp_touch before update on user_totp
    for each row execute function app.touch_updated_at();

alter table user_totp enable row level security;
alter table user_totp force row level security;
alter table recovery_code enable row level security;
alter table recovery_code force row level security;

create policy user_totp_own on user_totp
    using ((select app.current_org_id()) is null and user_id = (select app.current_user_id()))
    with check ((select app.current_org_id()) is null and user_id = (select app.current_user_id()));
create policy recovery_code_own on recovery_code
    using ((select app.current_org_id()) is null and user_id = (select app.current_user_id()))
    with check ((select app.current_org_id()) is null and user_id = (select app.current_user_id()));

grant select, insert, update, delete on user_totp, recovery_code to app_runtime;
