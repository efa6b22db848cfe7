//! The runtime connection pool, the embedded migrations, and the start-up
//! check that the pool's role cannot bypass row-level security.

use sqlx::{PgPool, migrate::Migrator};

/// The migrations in `migrations/`, embedded in the binary. Run them with a
/// pool connected as the owner role, never the runtime role.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The runtime pool. Org-owned tables read as empty through it until a
/// context is set, and only [`super::tenancy`] sets one.
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
}

impl Db {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The bare pool, for infrastructure that holds no org data: the session
    /// store, the mail outbox, health checks.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// One round trip to the database, for health checks.
    pub async fn probe(&self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar!(r#"select 1 as "one!""#)
            .fetch_one(&self.pool)
            .await
            .map(drop)
    }

    /// Reads the attributes of the role the pool logs in as.
    pub async fn runtime_role(&self) -> Result<RoleAttributes, sqlx::Error> {
        sqlx::query_as!(
            RoleAttributes,
            r#"
            select r.rolname::text as "name!",
                   r.rolsuper as "superuser!",
                   r.rolbypassrls as "bypass_rls!",
                   exists (select 1 from pg_class c
                           where c.relowner = r.oid
                             and c.relnamespace in ('public'::regnamespace, 'app'::regnamespace,
                                                    'tower_sessions'::regnamespace)) as "owns_tables!",
                   pg_has_role(r.oid, 'app_owner', 'usage') as "acts_as_owner!"
            from pg_roles r
            where r.rolname = current_user
            "#
        )
        .fetch_one(&self.pool)
        .await
    }
}

/// What the database says about the runtime role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleAttributes {
    pub name: String,
    pub superuser: bool,
    pub bypass_rls: bool,
    pub owns_tables: bool,
    pub acts_as_owner: bool,
}

impl RoleAttributes {
    /// Every reason this role must not serve requests; empty when it is safe.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.superuser {
            problems.push(format!("role {} is a superuser", self.name));
        }
        if self.bypass_rls {
            problems.push(format!("role {} has BYPASSRLS", self.name));
        }
        if self.owns_tables {
            problems.push(format!("role {} owns application tables", self.name));
        }
        if self.acts_as_owner {
            problems.push(format!(
                "role {} has the privileges of app_owner",
                self.name
            ));
        }
        problems
    }
}

/// The name of the constraint a failed statement violated, if that is why it
/// failed. Domain functions map these names to the errors people see.
/// Escapes `%`, `_` and `\` so `text` matches itself inside a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}
