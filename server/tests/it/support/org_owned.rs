//! The registry of org-owned tables the isolation tests and the two-org
//! fixture share.

/// Every org-owned table, with an insert aimed at the org bound to `$1` on
/// behalf of the user bound to `$2` (in the fixture, that org's owner).
///
/// This is the one list a new table is added to. The isolation tests try
/// each insert where it must be refused and check every table against
/// every other org; the two-org fixture fills each table its own
/// statements leave empty with this insert, once per org; and
/// `the_catalog_lists_no_org_owned_table_this_test_forgets` fails while a
/// table with an org_id column is missing here.
pub const ORG_OWNED: &[(&str, &str)] = &[
    ("membership", "insert into membership (org_id, user_id, role) values ($1, $2, 'viewer')"),
    (
        "invitation",
        "insert into invitation (org_id, invitation_id, email, role, token_hash, expires_at)
         values ($1, gen_random_uuid(), 'new@x.test', 'member', sha256(gen_random_uuid()::text::bytea), now())",
    ),
    (
        "sso_connection",
        "insert into sso_connection (org_id, sso_connection_id, issuer_url, client_id, client_secret_sealed, client_secret_key_id)
         values ($1, gen_random_uuid(), 'https://idp.x.test', 'c', '\\x00', 'k1')",
    ),
    (
        "sso_identity",
        "insert into sso_identity (org_id, sso_connection_id, issuer, subject, user_id, linked_by)
         values ($1, gen_random_uuid(), 'https://idp.x.test', 'new-subject', $2, 'password')",
    ),
    (
        "sso_domain",
        "insert into sso_domain (org_id, sso_domain_id, domain, verification_token) values ($1, gen_random_uuid(), 'new.test', 't')",
    ),
    (
        "audit_event",
        "insert into audit_event (org_id, audit_event_id, action) values ($1, gen_random_uuid(), 'member.added')",
    ),
    (
        "org_slug_redirect",
        "insert into org_slug_redirect (org_id, old_slug) values ($1, 'some-old-name')",
    ),
    ("project", "insert into project (org_id, project_id, name, created_by) values ($1, gen_random_uuid(), 'Project ' || gen_random_uuid(), $2)"),
    (
        "user_session",
        "insert into user_session (org_id, session_id, user_id, method, authenticated_at)
         values ($1, gen_random_uuid(), $2, 'password', now())",
    ),
    ("organization", "insert into organization (org_id, slug, name) values ($1, 'fresh-org', 'Fresh')"),
];
