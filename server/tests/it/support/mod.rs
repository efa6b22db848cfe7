//! Test harness shared by the integration tests: a fresh database per test,
//! set up exactly like production (roles from scripts/db/roles.sql,
//! migrations run as app_owner), with pools for each role.

#![allow(dead_code)]

pub mod evil;
pub mod fixtures;
pub mod org_owned;
pub mod peers;
pub mod smtp;
pub mod web;

use app::domain::db::{Db, MIGRATOR};
use sqlx::{
    Connection, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tokio::sync::OnceCell;

const ROLES_SQL: &str = include_str!("../../../../scripts/db/roles.sql");

/// One test's database, reachable as each of the application's roles.
pub struct TestDb {
    /// The cluster superuser: for fixtures that must bypass RLS and for
    /// checking what really is in a table.
    pub superuser: PgPool,
    /// `app_owner`: owns the schema, ran the migrations, subject to RLS.
    pub owner: PgPool,
    /// `app_runtime`: what the server's pool logs in as.
    pub runtime: PgPool,
    /// How to connect as `app_runtime` (an in-process server opens its own pool).
    pub runtime_options: PgConnectOptions,
}

/// A fresh database with the demo organizations and people.
pub async fn seeded(connect: PgConnectOptions) -> TestDb {
    let db = TestDb::new(connect).await;
    assert!(app::domain::demo::seed(&db.db()).await.unwrap());
    db
}

impl TestDb {
    /// Prepares the database `#[sqlx::test(migrations = false)]` created.
    pub async fn new(connect: PgConnectOptions) -> Self {
        Self::with_runtime_connections(connect, 5).await
    }

    /// Like [`TestDb::new`], with only the migrations older than `version`
    /// applied, to set up data as it was before a migration;
    /// [`TestDb::finish_migrations`] applies the rest.
    pub async fn migrated_before(connect: PgConnectOptions, version: i64) -> Self {
        let dir = std::env::temp_dir().join(format!("trellis-migrations-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        for entry in std::fs::read_dir(source).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let older = name
                .split('_')
                .next()
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < version);
            if older {
                std::fs::copy(&path, dir.join(&name)).unwrap();
            }
        }
        let older = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
        let db = Self::prepare(connect, 5, &older).await;
        std::fs::remove_dir_all(&dir).unwrap();
        db
    }

    /// Applies the migrations [`TestDb::migrated_before`] left out.
    pub async fn finish_migrations(&self) {
        MIGRATOR
            .run(&self.owner)
            .await
            .expect("the remaining migrations apply as app_owner");
    }

    /// Like [`TestDb::new`], with a runtime pool of exactly `max` connections
    /// (so tests can force connection reuse).
    pub async fn with_runtime_connections(connect: PgConnectOptions, max: u32) -> Self {
        Self::prepare(connect, max, &MIGRATOR).await
    }

    async fn prepare(
        connect: PgConnectOptions,
        max: u32,
        migrator: &sqlx::migrate::Migrator,
    ) -> Self {
        let database = connect
            .get_database()
            .expect("sqlx::test names the database")
            .to_string();
        let superuser = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(connect.clone())
            .await
            .expect("connect as superuser");

        ensure_roles().await;
        sqlx::raw_sql(&format!(
            r#"alter database "{database}" owner to app_owner; alter schema public owner to app_owner;"#
        ))
        .execute(&superuser)
        .await
        .unwrap();

        let owner = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(connect.clone().username("app_owner"))
            .await
            .expect("connect as app_owner");
        migrator
            .run(&owner)
            .await
            .expect("migrations apply as app_owner");

        let runtime_options = connect.username("app_runtime");
        let runtime = PgPoolOptions::new()
            .max_connections(max)
            .connect_with(runtime_options.clone())
            .await
            .expect("connect as app_runtime");

        Self {
            superuser,
            owner,
            runtime,
            runtime_options,
        }
    }

    /// The runtime pool as the application wraps it.
    pub fn db(&self) -> Db {
        Db::new(self.runtime.clone())
    }

    /// A user's id, by email (any case).
    pub async fn user_id(&self, email: &str) -> String {
        sqlx::query_scalar::<_, uuid::Uuid>(
            "select user_id from app_user where lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_one(&self.superuser)
        .await
        .unwrap()
        .to_string()
    }

    /// The id of the invitation to `email` that is still pending.
    pub async fn pending_invitation(&self, email: &str) -> String {
        sqlx::query_scalar::<_, uuid::Uuid>(
            "select invitation_id from invitation where email = $1 and accepted_at is null and revoked_at is null",
        )
        .bind(email)
        .fetch_one(&self.superuser)
        .await
        .unwrap()
        .to_string()
    }

    /// Closes every pool so the database can be dropped after the test.
    pub async fn close(self) {
        self.runtime.close().await;
        self.owner.close().await;
        self.superuser.close().await;
    }
}

/// Creates the cluster roles once per test binary. Roles are cluster-wide
/// and test binaries may run in parallel, so the work is serialized by an
/// advisory lock in the master database (advisory locks are per database,
/// and every test has a database of its own).
async fn ensure_roles() {
    static ROLES: OnceCell<()> = OnceCell::const_new();
    ROLES
        .get_or_init(|| async {
            let url =
                std::env::var("DATABASE_URL").expect("DATABASE_URL names a superuser connection");
            let mut conn = PgConnection::connect(&url)
                .await
                .expect("connect to the master database");
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("select pg_advisory_xact_lock(7306183845823852655)")
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::raw_sql(ROLES_SQL)
                .execute(&mut *tx)
                .await
                .expect("roles.sql");
            tx.commit().await.unwrap();
            conn.close().await.unwrap();
        })
        .await;
}
