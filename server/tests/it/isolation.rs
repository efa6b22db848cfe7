//! Org isolation at the SQL level, as the runtime role the server uses.
//!
//! These tests go around the application's own queries on purpose: they
//! issue the queries a careless developer might write (no WHERE org_id, the
//! wrong org's id) and show that PostgreSQL refuses them.

use crate::support::{TestDb, fixtures::two_orgs, org_owned::ORG_OWNED};
use app::{
    domain::tenancy::{MemberCheck, Tenant, UserScope},
    ids::{OrgId, UserId},
};
use sqlx::{Connection, PgConnection, PgPool, Row, postgres::PgConnectOptions};
use std::collections::BTreeSet;
use uuid::Uuid;

const RLS_VIOLATION: &str = "42501";

async fn set_context(conn: &mut PgConnection, org: Option<Uuid>, user: Option<Uuid>) {
    sqlx::query("select set_config('app.org_id', $1, true), set_config('app.user_id', $2, true)")
        .bind(org.map(|u| u.to_string()).unwrap_or_default())
        .bind(user.map(|u| u.to_string()).unwrap_or_default())
        .execute(conn)
        .await
        .unwrap();
}

async fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

/// The SQLSTATE of a failed statement.
#[track_caller]
fn sqlstate(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>) -> String {
    match result {
        Ok(done) => panic!(
            "statement succeeded ({} rows) but should have been refused",
            done.rows_affected()
        ),
        Err(sqlx::Error::Database(e)) => e.code().map(|c| c.to_string()).unwrap_or_default(),
        Err(other) => panic!("unexpected error {other}"),
    }
}

/// Rows per org in every org-owned table, counted by the superuser.
async fn census(superuser: &PgPool, org: Uuid) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (table, _) in ORG_OWNED {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {table} where org_id = $1"))
            .bind(org)
            .fetch_one(superuser)
            .await
            .unwrap();
        out.push((table.to_string(), n));
    }
    out
}

#[sqlx::test(migrations = false)]
async fn without_a_context_every_org_owned_table_is_empty_and_refuses_writes(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let f = two_orgs(&db.superuser).await;
    let before = census(&db.superuser, f.org_a).await;
    assert!(
        before.iter().all(|(_, n)| *n > 0),
        "fixture fills every table: {before:?}"
    );

    let mut conn = db.runtime.acquire().await.unwrap();
    for (table, insert) in ORG_OWNED {
        assert_eq!(
            count(&mut conn, &format!("select count(*) from {table}")).await,
            0,
            "{table} is visible"
        );

        let mut tx = conn.begin().await.unwrap();
        let refused = sqlx::query(insert)
            .bind(f.org_a)
            .bind(f.bob)
            .execute(&mut *tx)
            .await;
        assert_eq!(sqlstate(refused), RLS_VIOLATION, "insert into {table}");
        tx.rollback().await.unwrap();

        for write in [
            format!("update {table} set org_id = org_id"),
            format!("delete from {table}"),
        ] {
            match sqlx::query(&write).execute(&mut *conn).await {
                Ok(done) => assert_eq!(done.rows_affected(), 0, "{write}"),
                // audit_event grants no UPDATE or DELETE at all.
                Err(sqlx::Error::Database(e)) => {
                    assert_eq!(e.code().as_deref(), Some(RLS_VIOLATION), "{write}: {e}")
                }
                Err(e) => panic!("{write}: {e}"),
            }
        }
    }
    // Global tables too: no context, no users.
    assert_eq!(count(&mut conn, "select count(*) from app_user").await, 0);
    drop(conn);
    assert_eq!(
        census(&db.superuser, f.org_a).await,
        before,
        "nothing changed"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn in_org_a_no_row_of_org_b_is_visible_or_writable(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let f = two_orgs(&db.superuser).await;
    let b_before = census(&db.superuser, f.org_b).await;

    let mut conn = db.runtime.acquire().await.unwrap();
    for (table, insert) in ORG_OWNED {
        let mut tx = conn.begin().await.unwrap();
        set_context(&mut tx, Some(f.org_a), Some(f.alice)).await;

        let visible_a = count(&mut tx, &format!("select count(*) from {table}")).await;
        assert!(visible_a > 0, "{table}: org A sees its own rows");
        let b_rows: i64 =
            sqlx::query_scalar(&format!("select count(*) from {table} where org_id = $1"))
                .bind(f.org_b)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        assert_eq!(b_rows, 0, "{table}: org B's rows are invisible from A");

        let refused = sqlx::query(insert)
            .bind(f.org_b)
            .bind(f.alice)
            .execute(&mut *tx)
            .await;
        assert_eq!(
            sqlstate(refused),
            RLS_VIOLATION,
            "insert into {table} for org B"
        );
        tx.rollback().await.unwrap();

        // Aimed at B by id: affects nothing (or is refused outright).
        let mut tx = conn.begin().await.unwrap();
        set_context(&mut tx, Some(f.org_a), Some(f.alice)).await;
        for write in [
            format!("update {table} set org_id = org_id where org_id = $1"),
            format!("delete from {table} where org_id = $1"),
        ] {
            let mut sp = tx.begin().await.unwrap();
            match sqlx::query(&write).bind(f.org_b).execute(&mut *sp).await {
                Ok(done) => assert_eq!(done.rows_affected(), 0, "{write}"),
                Err(sqlx::Error::Database(e)) => {
                    assert_eq!(e.code().as_deref(), Some(RLS_VIOLATION), "{write}: {e}")
                }
                Err(e) => panic!("{write}: {e}"),
            }
            sp.rollback().await.unwrap();
        }
        tx.rollback().await.unwrap();
    }

    // Moving one of A's rows into B is refused by the policies' WITH CHECK.
    let mut tx = conn.begin().await.unwrap();
    set_context(&mut tx, Some(f.org_a), Some(f.alice)).await;
    let moved = sqlx::query("update invitation set org_id = $1")
        .bind(f.org_b)
        .execute(&mut *tx)
        .await;
    assert_eq!(sqlstate(moved), RLS_VIOLATION);
    tx.rollback().await.unwrap();

    drop(conn);
    assert_eq!(
        census(&db.superuser, f.org_b).await,
        b_before,
        "org B is untouched"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn in_org_a_users_outside_org_a_are_invisible(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let f = two_orgs(&db.superuser).await;
    let mut tx = db.runtime.begin().await.unwrap();
    set_context(&mut tx, Some(f.org_a), Some(f.carol)).await;

    let emails: Vec<String> = sqlx::query_scalar("select email from app_user order by email")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        emails,
        ["alice@a.test", "carol@c.test"],
        "only A's members, never Bob"
    );

    // Carol belongs to B too, but inside A her B membership stays hidden.
    let orgs: Vec<Uuid> = sqlx::query_scalar("select distinct org_id from membership")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(orgs, [f.org_a]);
    let names: Vec<String> = sqlx::query_scalar("select name from organization")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, ["Org A"]);

    // And nobody edits another person's identity.
    let renamed = sqlx::query("update app_user set display_name = 'X' where user_id = $1")
        .bind(f.alice)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(renamed.rows_affected(), 0);
    tx.rollback().await.unwrap();
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn a_user_scope_sees_only_that_users_own_memberships_and_orgs(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let f = two_orgs(&db.superuser).await;

    let mut carol = UserScope::begin(&db.db(), UserId(f.carol)).await.unwrap();
    let rows = sqlx::query("select m.role, o.slug from membership m join organization o using (org_id) order by o.slug")
        .fetch_all(carol.conn())
        .await
        .unwrap();
    let seen: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.get("role"), r.get("slug")))
        .collect();
    assert_eq!(
        seen,
        [
            ("member".into(), "org-a".into()),
            ("admin".into(), "org-b".into())
        ]
    );
    assert_eq!(
        count(carol.conn(), "select count(*) from app_user").await,
        1,
        "only herself"
    );
    assert_eq!(
        count(carol.conn(), "select count(*) from invitation").await,
        0
    );
    assert_eq!(
        count(carol.conn(), "select count(*) from audit_event").await,
        0
    );
    assert_eq!(
        count(carol.conn(), "select count(*) from sso_identity").await,
        0,
        "the owners' identities in both her orgs are not hers"
    );
    carol.commit().await.unwrap();

    let mut alice = UserScope::begin(&db.db(), UserId(f.alice)).await.unwrap();
    let slugs: Vec<String> = sqlx::query_scalar("select slug from organization")
        .fetch_all(alice.conn())
        .await
        .unwrap();
    assert_eq!(slugs, ["org-a"]);
    // Her own single sign-on identity she reads, and cannot change or
    // remove: the link is the sign-in flow's and her admins' business.
    let own: Vec<Uuid> = sqlx::query_scalar("select org_id from sso_identity")
        .fetch_all(alice.conn())
        .await
        .unwrap();
    assert_eq!(own, [f.org_a]);
    for write in [
        "update sso_identity set subject = 'hijacked'",
        "delete from sso_identity",
    ] {
        let changed = sqlx::query(write).execute(alice.conn()).await.unwrap();
        assert_eq!(changed.rows_affected(), 0, "{write}");
    }
    alice.commit().await.unwrap();
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn no_context_leaks_between_transactions_on_a_reused_connection(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    // One connection: every transaction below runs on the same session.
    let db = TestDb::with_runtime_connections(connect, 1).await;
    let f = two_orgs(&db.superuser).await;
    let app_db = db.db();

    // A page's later server functions open their transactions from the
    // first one's membership check (Tenant::begin_checked): every fourth
    // round does, with the check of the round two before it (same org).
    let mut checks = Vec::new();
    for round in 0..100 {
        let (org, user) = if round % 2 == 0 {
            (f.org_a, f.alice)
        } else {
            (f.org_b, f.bob)
        };
        let mut tx = if round % 4 >= 2 {
            let check: MemberCheck = checks.pop().unwrap();
            assert_eq!(check.org_id, OrgId(org));
            Tenant::begin_checked(&app_db, check).await.unwrap()
        } else {
            let tx = Tenant::begin(&app_db, OrgId(org), UserId(user))
                .await
                .unwrap();
            checks.insert(0, tx.checked().unwrap());
            tx
        };
        let orgs: Vec<Uuid> = sqlx::query_scalar("select distinct org_id from membership")
            .fetch_all(tx.conn())
            .await
            .unwrap();
        assert_eq!(orgs, [org], "round {round}");
        let plans: String = sqlx::query_scalar("select current_setting('plan_cache_mode')")
            .fetch_one(tx.conn())
            .await
            .unwrap();
        assert_eq!(plans, "force_generic_plan", "round {round}");
        // End the transaction three different ways.
        match round % 3 {
            0 => tx.commit().await.unwrap(),
            1 => drop(tx),
            _ => {
                let _ = sqlx::query("select 1/0").execute(tx.conn()).await;
                drop(tx);
            }
        }
        let leaked: i64 = sqlx::query_scalar("select count(*) from membership")
            .fetch_one(&db.runtime)
            .await
            .unwrap();
        assert_eq!(leaked, 0, "round {round}: context survived the transaction");
        let setting: Option<String> = sqlx::query_scalar("select app.current_org_id()::text")
            .fetch_one(&db.runtime)
            .await
            .unwrap();
        assert_eq!(setting, None, "round {round}");
        let plans: String = sqlx::query_scalar("select current_setting('plan_cache_mode')")
            .fetch_one(&db.runtime)
            .await
            .unwrap();
        assert_eq!(
            plans, "auto",
            "round {round}: the plan setting survived the transaction"
        );
    }
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn concurrent_transactions_in_different_orgs_on_two_connections_stay_apart(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::with_runtime_connections(connect, 2).await;
    let f = two_orgs(&db.superuser).await;
    let app_db = db.db();

    let mut tasks = Vec::new();
    for worker in 0..8 {
        let app_db = app_db.clone();
        let (org, user) = if worker % 2 == 0 {
            (f.org_a, f.alice)
        } else {
            (f.org_b, f.bob)
        };
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                let mut tx = Tenant::begin(&app_db, OrgId(org), UserId(user))
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
                let seen: Vec<Uuid> = sqlx::query_scalar(
                    "select org_id from invitation union select org_id from audit_event",
                )
                .fetch_all(tx.conn())
                .await
                .unwrap();
                assert_eq!(seen, [org]);
                tx.commit().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn tenant_begin_refuses_a_user_who_is_not_a_member(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let f = two_orgs(&db.superuser).await;
    let refused = Tenant::begin(&db.db(), OrgId(f.org_b), UserId(f.alice)).await;
    assert!(matches!(
        refused,
        Err(app::domain::tenancy::TenantError::NotAMember)
    ));
    let allowed = Tenant::begin(&db.db(), OrgId(f.org_b), UserId(f.carol))
        .await
        .unwrap();
    assert_eq!(allowed.actor().role, app::roles::Role::Admin);
    drop(allowed);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn the_runtime_role_is_not_superuser_not_owner_and_cannot_bypass_rls(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let role = db.db().runtime_role().await.unwrap();
    assert_eq!(role.name, "app_runtime");
    assert!(
        !role.superuser && !role.bypass_rls && !role.owns_tables && !role.acts_as_owner,
        "{role:?}"
    );
    assert!(role.problems().is_empty());

    let mut conn = db.runtime.acquire().await.unwrap();
    for (statement, why) in [
        (
            "alter table membership disable row level security",
            "only the owner may",
        ),
        (
            "alter table membership no force row level security",
            "only the owner may",
        ),
        (
            "drop policy membership_in_context on membership",
            "only the owner may",
        ),
        ("set role app_owner", "not a member of the owner role"),
        ("set role app_lookup", "not a member of the lookup role"),
        (
            "create table sneaky (org_id uuid)",
            "no CREATE on the schema",
        ),
        ("set session authorization postgres", "not a superuser"),
    ] {
        let result = sqlx::query(statement).execute(&mut *conn).await;
        assert!(result.is_err(), "{statement} succeeded; {why}");
    }

    // And the owner, as a sanity check, is the one the tests think it is.
    let owner = app::domain::db::Db::new(db.owner.clone())
        .runtime_role()
        .await
        .unwrap();
    assert!(owner.owns_tables, "{owner:?}");
    assert!(
        !owner.problems().is_empty(),
        "the start-up check would refuse the owner"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn the_catalog_lists_no_org_owned_table_this_test_forgets(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let with_org_id: BTreeSet<String> = sqlx::query_scalar(
        "select c.relname::text from pg_attribute a join pg_class c on c.oid = a.attrelid
         where a.attname = 'org_id' and c.relkind in ('r', 'p') and not a.attisdropped
           and c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)",
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let listed: BTreeSet<String> = ORG_OWNED.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(
        with_org_id, listed,
        "add new org-owned tables to ORG_OWNED (and make them follow the rules)"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn every_table_with_an_org_id_has_rls_enabled_forced_and_org_id_in_its_key(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let tables = sqlx::query(
        r#"
        select c.relname::text as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
               a.attnotnull as not_null,
               (select array_agg(att.attname::text order by k.ord)
                  from pg_constraint pk
                  cross join lateral unnest(pk.conkey) with ordinality as k(attnum, ord)
                  join pg_attribute att on att.attrelid = pk.conrelid and att.attnum = k.attnum
                 where pk.conrelid = c.oid and pk.contype = 'p') as pkey,
               exists (select 1 from pg_constraint fk
                        where fk.conrelid = c.oid and fk.contype = 'f'
                          and fk.confrelid = 'organization'::regclass
                          and fk.conkey = array[a.attnum]) as references_org,
               exists (select 1 from pg_policy p
                        where p.polrelid = c.oid
                          and pg_get_expr(p.polqual, p.polrelid) like '%current_org_id()%'
                          and pg_get_expr(p.polwithcheck, p.polrelid) like '%current_org_id()%') as has_org_policy,
               exists (select 1 from pg_index i
                        where i.indrelid = c.oid and i.indkey[0] = a.attnum) as org_id_indexed
        from pg_class c
        join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
        where c.relkind in ('r', 'p')
          and c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
        order by 1
        "#,
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    assert!(tables.len() >= 6, "found {} tables", tables.len());

    let mut problems = Vec::new();
    for t in &tables {
        let name: String = t.get("name");
        let pkey: Vec<String> = t.get::<Option<Vec<String>>, _>("pkey").unwrap_or_default();
        let checks = [
            ("row level security enabled", t.get::<bool, _>("enabled")),
            ("row level security forced", t.get::<bool, _>("forced")),
            ("org_id not null", t.get::<bool, _>("not_null")),
            (
                "org_id leads the primary key",
                pkey.first().map(String::as_str) == Some("org_id"),
            ),
            (
                "a policy on app.current_org_id() for reads and writes",
                t.get::<bool, _>("has_org_policy"),
            ),
            ("an index led by org_id", t.get::<bool, _>("org_id_indexed")),
            (
                "org_id references organization",
                name == "organization" || t.get::<bool, _>("references_org"),
            ),
        ];
        for (rule, ok) in checks {
            if !ok {
                problems.push(format!("{name}: {rule}"));
            }
        }
    }

    // Foreign keys from one org-owned table to another must carry org_id.
    let bad_fks: Vec<String> = sqlx::query_scalar(
        r#"
        select fk.conname::text
        from pg_constraint fk
        join pg_attribute child_org on child_org.attrelid = fk.conrelid and child_org.attname = 'org_id'
        join pg_attribute parent_org on parent_org.attrelid = fk.confrelid and parent_org.attname = 'org_id'
        where fk.contype = 'f' and fk.confrelid <> 'organization'::regclass
          and not (child_org.attnum = any (fk.conkey) and parent_org.attnum = any (fk.confkey))
        "#,
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    for fk in bad_fks {
        problems.push(format!("foreign key {fk} does not include org_id"));
    }

    // The global tables that hold people and customers, and the person-owned
    // ones (second factors), are protected too.
    const PERSONAL: &[&str] = &["app_user", "user_totp", "recovery_code"];
    let global: Vec<(String, bool, bool)> = sqlx::query_as(
        "select relname::text, relrowsecurity, relforcerowsecurity from pg_class
         where relname = any($1) and relkind = 'r' order by relname",
    )
    .bind(PERSONAL)
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    if global.len() != PERSONAL.len() || global.iter().any(|(_, on, forced)| !on || !forced) {
        problems.push(format!(
            "{PERSONAL:?} must have RLS enabled and forced: {global:?}"
        ));
    }

    assert!(
        problems.is_empty(),
        "isolation rules broken:\n  {}",
        problems.join("\n  ")
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn the_audit_log_refuses_update_and_delete_to_every_role(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let f = two_orgs(&db.superuser).await;

    // The runtime role has no UPDATE/DELETE/TRUNCATE privilege at all…
    let mut tx = db.runtime.begin().await.unwrap();
    set_context(&mut tx, Some(f.org_a), Some(f.alice)).await;
    for statement in [
        "update audit_event set action = 'x.y'",
        "delete from audit_event",
        "truncate audit_event",
    ] {
        let mut sp = tx.begin().await.unwrap();
        assert_eq!(
            sqlstate(sqlx::query(statement).execute(&mut *sp).await),
            RLS_VIOLATION,
            "{statement}"
        );
        sp.rollback().await.unwrap();
    }
    tx.rollback().await.unwrap();

    // …and the trigger stops even the owner and the superuser.
    for (who, pool) in [("owner", &db.owner), ("superuser", &db.superuser)] {
        for statement in [
            "update audit_event set action = 'x.y'",
            "delete from audit_event",
            "truncate audit_event",
        ] {
            let mut tx = pool.begin().await.unwrap();
            set_context(&mut tx, Some(f.org_a), None).await;
            let result = sqlx::query(statement).execute(&mut *tx).await;
            let message = result.expect_err(statement).to_string();
            assert!(
                message.contains("append-only"),
                "{who}: {statement}: {message}"
            );
            tx.rollback().await.unwrap();
        }
    }
    let total: i64 = sqlx::query_scalar("select count(*) from audit_event")
        .fetch_one(&db.superuser)
        .await
        .unwrap();
    assert_eq!(total, 2);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn deleting_an_organization_removes_its_audit_log_only_when_announced(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let f = two_orgs(&db.superuser).await;

    let mut tx = db.runtime.begin().await.unwrap();
    set_context(&mut tx, Some(f.org_a), Some(f.alice)).await;
    let unannounced = sqlx::query("delete from organization where org_id = $1")
        .bind(f.org_a)
        .execute(&mut *tx)
        .await;
    assert!(unannounced.unwrap_err().to_string().contains("append-only"));
    tx.rollback().await.unwrap();

    let mut tx = db.runtime.begin().await.unwrap();
    set_context(&mut tx, Some(f.org_a), Some(f.alice)).await;
    sqlx::query("select set_config('app.deleting_org_id', $1, true)")
        .bind(f.org_a.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    // Even announced, org B stays out of reach.
    let other = sqlx::query("delete from organization where org_id = $1")
        .bind(f.org_b)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(other.rows_affected(), 0);
    let done = sqlx::query("delete from organization where org_id = $1")
        .bind(f.org_a)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    tx.commit().await.unwrap();

    assert_eq!(
        census(&db.superuser, f.org_a)
            .await
            .iter()
            .map(|(_, n)| n)
            .sum::<i64>(),
        0,
        "all of A is gone"
    );
    assert!(
        census(&db.superuser, f.org_b)
            .await
            .iter()
            .all(|(_, n)| *n > 0),
        "B is intact"
    );
    db.close().await;
}

/// (joined at, user) of the members `lookup.members_matching` returns.
async fn members_matching(
    conn: &mut PgConnection,
    pattern: &str,
    after: Option<(time::OffsetDateTime, Uuid)>,
    limit: i32,
) -> Vec<(time::OffsetDateTime, Uuid)> {
    sqlx::query_as("select created_at, user_id from lookup.members_matching($1, $2, $3, $4)")
        .bind(pattern)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(conn)
        .await
        .unwrap()
}

fn users(rows: &[(time::OffsetDateTime, Uuid)]) -> Vec<Uuid> {
    rows.iter().map(|(_, user)| *user).collect()
}

#[sqlx::test(migrations = false)]
async fn the_member_search_function_sees_only_the_org_in_context(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let f = two_orgs(&db.superuser).await;
    let mut tx = db.runtime.begin().await.unwrap();

    // No org in context (nothing, or only a user): nobody at all.
    for (org, user) in [(None, None), (None, Some(f.carol))] {
        set_context(&mut tx, org, user).await;
        let rows = members_matching(&mut tx, "%", None, 100).await;
        assert!(rows.is_empty(), "no org context, yet found {rows:?}");
    }

    // In A: A's members only, even for a pattern only B's member matches.
    set_context(&mut tx, Some(f.org_a), Some(f.carol)).await;
    let mut found = users(&members_matching(&mut tx, "%", None, 100).await);
    found.sort();
    let mut expected = vec![f.alice, f.carol];
    expected.sort();
    assert_eq!(found, expected);
    assert!(
        members_matching(&mut tx, "%bob%", None, 100)
            .await
            .is_empty()
    );
    assert!(
        members_matching(&mut tx, "%b.test", None, 100)
            .await
            .is_empty()
    );

    // Paging: after the first of A's two members comes the other, then none.
    let first = members_matching(&mut tx, "%", None, 1).await;
    let second = members_matching(&mut tx, "%", Some(first[0]), 1).await;
    assert_eq!(users(&second).len(), 1);
    assert_ne!(users(&first), users(&second));
    assert!(
        members_matching(&mut tx, "%", Some(second[0]), 1)
            .await
            .is_empty()
    );

    // In B, the same search finds B's members, never Alice.
    set_context(&mut tx, Some(f.org_b), Some(f.bob)).await;
    let in_b = users(&members_matching(&mut tx, "%", None, 100).await);
    assert!(in_b.contains(&f.bob) && in_b.contains(&f.carol) && !in_b.contains(&f.alice));
    assert!(
        members_matching(&mut tx, "%alice%", None, 100)
            .await
            .is_empty()
    );
    tx.rollback().await.unwrap();

    // Only the runtime role may call it.
    let owner_call = sqlx::query("select * from lookup.members_matching('%', null, null, 10)")
        .fetch_all(&db.owner)
        .await;
    assert!(owner_call.is_err(), "the owner called the member search");
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn the_pre_context_lookups_find_exactly_what_they_are_named_for(
    _: sqlx::postgres::PgPoolOptions,
    connect: PgConnectOptions,
) {
    use app::domain::tenancy::lookup;
    use sha2::{Digest, Sha256};
    let db = TestDb::new(connect).await;
    let f = two_orgs(&db.superuser).await;
    let app_db = db.db();

    let alice = lookup::user_for_sign_in(&app_db, "  ALICE@a.test ")
        .await
        .unwrap()
        .expect("case-insensitive");
    assert_eq!(alice.user_id, UserId(f.alice));
    assert!(
        lookup::user_for_sign_in(&app_db, "nobody@a.test")
            .await
            .unwrap()
            .is_none()
    );

    let org_b = lookup::org_by_slug(&app_db, "org-b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (org_b.org_id, org_b.name.as_str()),
        (OrgId(f.org_b), "Org B")
    );
    assert!(
        lookup::org_by_slug(&app_db, "org-c")
            .await
            .unwrap()
            .is_none()
    );

    let hash = Sha256::digest(b"token-b");
    let invitation = lookup::invitation_by_token_hash(&app_db, &hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (invitation.org_id, invitation.email.as_str()),
        (OrgId(f.org_b), "invitee@b.test")
    );
    assert!(
        lookup::invitation_by_token_hash(&app_db, &Sha256::digest(b"guess"))
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(
        lookup::org_by_verified_domain(&app_db, "A.TEST")
            .await
            .unwrap()
            .unwrap()
            .org_id,
        OrgId(f.org_a)
    );
    assert!(
        lookup::org_by_verified_domain(&app_db, "b.test")
            .await
            .unwrap()
            .is_none(),
        "an unverified domain drives nothing"
    );

    // Nobody but the runtime role may call them, and owning the functions'
    // owner role does not let the schema owner read through its policies.
    for call in [
        "select * from lookup.org_by_slug('org-a')",
        "select * from lookup.user_for_sign_in('alice@a.test')",
    ] {
        assert!(
            sqlx::query(call).fetch_all(&db.owner).await.is_err(),
            "owner ran {call}"
        );
    }
    let owner_sees: i64 = sqlx::query_scalar("select count(*) from invitation")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(owner_sees, 0, "the owner is bound by forced RLS");
    db.close().await;
}
