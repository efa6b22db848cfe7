-- An organization can require two-step sign-in of its members: whoever
-- signs in without a second factor is led to set one up before they get in.
alter table organization add column mfa_required boolean not null default false;

-- Who has a second factor is what the member list and the mail to members
-- read (the factor itself stays in the person's own scope).
grant select (second_factor_at) on app_user to app_runtime;

-- An authenticator set-up belongs to the browser that started it: the hash
-- of a ticket kept in that browser's session (see second_factor::begin_enrolment).
alter table user_totp add column setup_ticket_hash bytea;
