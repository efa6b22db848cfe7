//! Two organizations with a row in every org-owned table, inserted as the
//! superuser (which bypasses RLS), so tests can check what each role sees.

use sqlx::PgPool;
use uuid::Uuid;

pub struct TwoOrgs {
    pub org_a: Uuid,
    pub org_b: Uuid,
    /// Owner of A only.
    pub alice: Uuid,
    /// Owner of B only.
    pub bob: Uuid,
    /// Member of both A and B.
    pub carol: Uuid,
}

pub async fn two_orgs(superuser: &PgPool) -> TwoOrgs {
    let f = TwoOrgs {
        org_a: Uuid::now_v7(),
        org_b: Uuid::now_v7(),
        alice: Uuid::now_v7(),
        bob: Uuid::now_v7(),
        carol: Uuid::now_v7(),
    };
    let statements = [
        "insert into app_user (user_id, email, display_name) values ($3, 'alice@a.test', 'Alice'), ($4, 'bob@b.test', 'Bob'), ($5, 'carol@c.test', 'Carol') ",
        "insert into organization (org_id, slug, name) values ($1, 'org-a', 'Org A'), ($2, 'org-b', 'Org B')",
        "insert into membership (org_id, user_id, role) values ($1, $3, 'owner'), ($2, $4, 'owner'), ($1, $5, 'member'), ($2, $5, 'admin')",
        "insert into invitation (org_id, invitation_id, email, role, token_hash, expires_at) values
            ($1, gen_random_uuid(), 'invitee@a.test', 'member', sha256('token-a'), now() + interval '7 days'),
            ($2, gen_random_uuid(), 'invitee@b.test', 'member', sha256('token-b'), now() + interval '7 days')",
        "insert into sso_connection (org_id, sso_connection_id, issuer_url, client_id, client_secret_sealed, client_secret_key_id) values
            ($1, gen_random_uuid(), 'https://idp.a.test', 'client-a', '\\x00', 'k1'),
            ($2, gen_random_uuid(), 'https://idp.b.test', 'client-b', '\\x00', 'k1')",
        "insert into sso_identity (org_id, sso_connection_id, issuer, subject, user_id, linked_by)
            select org_id, sso_connection_id, issuer_url, 'subject-of-' || client_id,
                   case when org_id = $1 then $3 else $4 end, 'password'
            from sso_connection",
        "insert into sso_domain (org_id, sso_domain_id, domain, verification_token, verified_at) values
            ($1, gen_random_uuid(), 'a.test', 'tok-a', now()),
            ($2, gen_random_uuid(), 'b.test', 'tok-b', null)",
        "insert into org_slug_redirect (org_id, old_slug) values ($1, 'old-a'), ($2, 'old-b')",
        "insert into audit_event (org_id, audit_event_id, action) values
            ($1, gen_random_uuid(), 'org.created'), ($2, gen_random_uuid(), 'org.created')",
    ];
    for statement in statements {
        sqlx::query(statement)
            .bind(f.org_a)
            .bind(f.org_b)
            .bind(f.alice)
            .bind(f.bob)
            .bind(f.carol)
            .execute(superuser)
            .await
            .unwrap_or_else(|e| panic!("fixture failed: {statement}: {e}"));
    }
    // Every other registered table gets a row per org from its registry
    // insert, so a new table needs no fixture of its own.
    for (table, insert) in super::org_owned::ORG_OWNED {
        for (org, owner) in [(f.org_a, f.alice), (f.org_b, f.bob)] {
            let rows: i64 =
                sqlx::query_scalar(&format!("select count(*) from {table} where org_id = $1"))
                    .bind(org)
                    .fetch_one(superuser)
                    .await
                    .unwrap();
            if rows == 0 {
                sqlx::query(insert)
                    .bind(org)
                    .bind(owner)
                    .execute(superuser)
                    .await
                    .unwrap_or_else(|e| panic!("fixture failed for {table}: {insert}: {e}"));
            }
        }
    }
    f
}
