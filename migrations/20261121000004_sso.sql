-- Self-service SSO: the result of the last "Test connection", and the last
-- DNS check of each domain, so the settings page can show them.

alter table sso_connection
    add column last_test_at timestamptz,
    -- {"ok": bool, "claims": {...}} or {"ok": false, "error": "..."}; never tokens.
    add column last_test_report jsonb;

comment on column sso_connection.last_test_succeeded_at is
    'The connection can be enabled only after a successful test; a change of issuer or client id clears this.';

alter table sso_domain
    add column last_checked_at timestamptz,
    add column last_check_error text;

-- Every query of the SSO settings page and of sign-in reads the one
-- connection of an org: the (org_id) unique key serves it.
