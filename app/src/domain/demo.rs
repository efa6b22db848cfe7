//! Demo data for development: two organizations, each with an owner, an
//! admin and a member, plus one consultant who belongs to both with
//! different roles. Everything is created through the same domain functions
//! (and leaves the same audit trail) as real sign-ups.

use super::{
    accounts::{CreateUserError, NewUser, create_user},
    db::Db,
    orgs::{CreateOrgError, add_member, create_organization},
    password,
    request::RequestMeta,
    tenancy::{Tenant, lookup},
};
use crate::{
    error::AppError,
    ids::UserId,
    roles::Role,
    validation::{DisplayName, Email, NewPassword, OrgName, OrgSlug},
};

/// The password of every demo account (listed in the README).
pub const DEMO_PASSWORD: &str = "demo-password";

/// One demo organization and its people.
pub struct DemoOrg {
    pub name: &'static str,
    pub slug: &'static str,
    /// (email, name, role); the first entry is the owner.
    pub people: &'static [(&'static str, &'static str, Role)],
}

pub const DEMO_ORGS: &[DemoOrg] = &[
    DemoOrg {
        name: "Acme Corporation",
        slug: "acme",
        people: &[
            ("olivia@acme.test", "Olivia Owner", Role::Owner),
            ("adam@acme.test", "Adam Admin", Role::Admin),
            ("mia@acme.test", "Mia Member", Role::Member),
            ("victor@acme.test", "Victor Viewer", Role::Viewer),
            ("sam@consulting.test", "Sam Consultant", Role::Admin),
        ],
    },
    DemoOrg {
        name: "Globex",
        slug: "globex",
        people: &[
            ("grace@globex.test", "Grace Owner", Role::Owner),
            ("gus@globex.test", "Gus Admin", Role::Admin),
            ("max@globex.test", "Max Member", Role::Member),
            ("sam@consulting.test", "Sam Consultant", Role::Member),
        ],
    },
];

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("demo data is invalid: {0}")]
    Invalid(String),
    #[error("could not create demo data: {0}")]
    Database(#[from] sqlx::Error),
    #[error("could not hash the demo password")]
    Hash(AppError),
}

impl From<CreateUserError> for SeedError {
    fn from(e: CreateUserError) -> Self {
        match e {
            CreateUserError::EmailTaken => {
                SeedError::Invalid("a demo email is already taken".into())
            }
            CreateUserError::Database(e) => SeedError::Database(e),
        }
    }
}

impl From<CreateOrgError> for SeedError {
    fn from(e: CreateOrgError) -> Self {
        match e {
            CreateOrgError::SlugTaken => SeedError::Invalid("a demo slug is already taken".into()),
            CreateOrgError::Database(e) => SeedError::Database(e),
        }
    }
}

/// Creates the demo data unless it is already there. Returns whether it
/// created anything.
pub async fn seed(db: &Db) -> Result<bool, SeedError> {
    if lookup::org_by_slug(db, DEMO_ORGS[0].slug).await?.is_some() {
        return Ok(false);
    }
    let meta = RequestMeta::system();
    let source = serde_json::json!({ "source": "demo seed" });
    let password = NewPassword::parse(DEMO_PASSWORD).map_err(SeedError::Invalid)?;

    for org in DEMO_ORGS {
        let mut people = org.people.iter();
        let (owner_email, owner_name, _) = people.next().expect("every demo org has an owner");
        let owner = ensure_user(db, owner_email, owner_name, &password).await?;
        let Some(owner_tx) = owner.tx else {
            return Err(SeedError::Invalid(format!("{owner_email} already exists")));
        };
        let name = OrgName::parse(org.name).map_err(SeedError::Invalid)?;
        let slug = OrgSlug::parse(org.slug).map_err(SeedError::Invalid)?;
        let tx = create_organization(owner_tx, &name, &slug, &meta).await?;
        let org_id = tx.org_id();
        tx.commit().await?;

        for (email, display_name, role) in people {
            let user = ensure_user(db, email, display_name, &password).await?;
            if let Some(user_tx) = user.tx {
                user_tx.commit().await?;
            }
            let mut tx = Tenant::begin_without_membership(db, org_id, None).await?;
            add_member(&mut tx, user.user_id, email, *role, &meta, source.clone()).await?;
            tx.commit().await?;
        }

        // resource: project
        for (_, email, name, description, archived) in
            DEMO_PROJECTS.iter().filter(|p| p.0 == org.slug)
        {
            seed_project(db, org_id, email, name, description, *archived, &meta).await?;
        }
        // end resource: project
    }
    Ok(true)
}

// resource: project
/// Demo projects: (org, creator, name, description, archived).
const DEMO_PROJECTS: &[(&str, &str, &str, &str, bool)] = &[
    (
        "acme",
        "olivia@acme.test",
        "Website relaunch",
        "New marketing site with the product tour.\nLaunch before the spring conference.",
        false,
    ),
    (
        "acme",
        "mia@acme.test",
        "Customer onboarding guide",
        "Step-by-step guide for new customers' IT admins.",
        false,
    ),
    (
        "acme",
        "adam@acme.test",
        "Q3 security review",
        "Findings and fixes from the third-quarter review.",
        true,
    ),
    (
        "globex",
        "grace@globex.test",
        "Warehouse migration",
        "Move inventory tracking to the new system.",
        false,
    ),
];

/// Creates one demo project as its creator would, through the domain.
async fn seed_project(
    db: &Db,
    org_id: crate::ids::OrgId,
    email: &str,
    name: &str,
    description: &str,
    archived: bool,
    meta: &RequestMeta,
) -> Result<(), SeedError> {
    use super::projects::{self, ProjectError};
    use crate::validation::{ProjectDescription, ProjectName};
    let user = lookup::user_for_sign_in(db, email)
        .await?
        .ok_or_else(|| SeedError::Invalid(format!("{email} is not a demo account")))?;
    let name = ProjectName::parse(name).map_err(SeedError::Invalid)?;
    let description = ProjectDescription::parse(description).map_err(SeedError::Invalid)?;
    let refused = |e: ProjectError| match e {
        ProjectError::Database(e) => SeedError::Database(e),
        other => SeedError::Invalid(other.to_string()),
    };
    let mut tx = Tenant::begin(db, org_id, user.user_id)
        .await
        .map_err(|e| SeedError::Invalid(e.to_string()))?;
    let id = projects::create(&mut tx, meta, &name, &description)
        .await
        .map_err(refused)?;
    if archived {
        projects::set_archived(&mut tx, meta, id, true)
            .await
            .map_err(refused)?;
    }
    tx.commit().await?;
    Ok(())
}
// end resource: project

struct EnsuredUser {
    user_id: UserId,
    /// The open transaction when the user was just created.
    tx: Option<super::tenancy::UserTx>,
}

async fn ensure_user(
    db: &Db,
    email: &str,
    display_name: &str,
    password: &NewPassword,
) -> Result<EnsuredUser, SeedError> {
    if let Some(existing) = lookup::user_for_sign_in(db, email).await? {
        return Ok(EnsuredUser {
            user_id: existing.user_id,
            tx: None,
        });
    }
    let new_user = NewUser {
        email: Email::parse(email).map_err(SeedError::Invalid)?,
        display_name: DisplayName::parse(display_name).map_err(SeedError::Invalid)?,
        password_hash: Some(password::hash(password).await.map_err(SeedError::Hash)?),
        email_verified: true,
    };
    let tx = create_user(db, &new_user).await?;
    Ok(EnsuredUser {
        user_id: tx.user_id(),
        tx: Some(tx),
    })
}

/// Creates an organization with `members` members (plus its owner,
/// `owner@{slug}.test`), for load tests and the 10,000-member checks. Every
/// account's password is [`DEMO_PASSWORD`]. Users are written through their
/// own user scope and memberships through the org's, like any sign-up, so
/// row-level security applies; the `member.added` events are written too.
pub async fn seed_big_org(
    db: &Db,
    slug: &str,
    members: usize,
) -> Result<crate::ids::OrgId, SeedError> {
    let password = NewPassword::parse(DEMO_PASSWORD).map_err(SeedError::Invalid)?;
    let hash = password::hash(&password).await.map_err(SeedError::Hash)?;
    let meta = RequestMeta::system();
    let owner = create_user(
        db,
        &NewUser {
            email: Email::parse(&format!("owner@{slug}.test")).map_err(SeedError::Invalid)?,
            display_name: DisplayName::parse(&format!("Owner of {slug}"))
                .map_err(SeedError::Invalid)?,
            password_hash: Some(hash.clone()),
            email_verified: true,
        },
    )
    .await?;
    let name = OrgName::parse(&format!("Big {slug}")).map_err(SeedError::Invalid)?;
    let org_slug = OrgSlug::parse(slug).map_err(SeedError::Invalid)?;
    let tx = create_organization(owner, &name, &org_slug, &meta).await?;
    let org_id = tx.org_id();
    tx.commit().await?;

    // Accounts in parallel, each in its own user scope.
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::with_capacity(members)));
    let mut tasks = tokio::task::JoinSet::new();
    let workers = 8;
    for worker in 0..workers {
        let (db, hash, ids, slug) = (db.clone(), hash.clone(), ids.clone(), slug.to_string());
        tasks.spawn(async move {
            for i in (worker..members).step_by(workers) {
                let user = NewUser {
                    email: Email::parse(&format!("person{i:05}@{slug}.test"))
                        .map_err(SeedError::Invalid)?,
                    display_name: DisplayName::parse(&format!(
                        "{} {}",
                        FIRST[i % FIRST.len()],
                        LAST[(i / FIRST.len()) % LAST.len()]
                    ))
                    .map_err(SeedError::Invalid)?,
                    password_hash: Some(hash.clone()),
                    email_verified: true,
                };
                let tx = create_user(&db, &user).await?;
                let id = tx.user_id();
                tx.commit().await?;
                ids.lock()
                    .expect("not poisoned")
                    .push((id, user.email.as_str().to_string()));
            }
            Ok::<(), SeedError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| SeedError::Invalid(e.to_string()))??;
    }
    let ids = std::mem::take(&mut *ids.lock().expect("not poisoned"));

    // Memberships and their audit events in bulk, inside the org.
    let mut tx = Tenant::begin_without_membership(db, org_id, None).await?;
    for chunk in ids.chunks(2000) {
        let users: Vec<uuid::Uuid> = chunk.iter().map(|(id, _)| id.0).collect();
        let emails: Vec<String> = chunk.iter().map(|(_, e)| e.clone()).collect();
        sqlx::query!(
            r#"
            insert into membership (org_id, user_id, role, created_at)
            select $1, u, case when n % 50 = 0 then 'admin' when n % 7 = 0 then 'viewer' else 'member' end,
                   now() - make_interval(mins => n::int)
            from unnest($2::uuid[]) with ordinality as t(u, n)
            "#,
            org_id.0,
            &users,
        )
        .execute(tx.conn())
        .await?;
        sqlx::query!(
            r#"
            insert into audit_event (org_id, audit_event_id, action, target_type, target_id, target_label, details)
            select $1, gen_random_uuid(), 'member.added', 'user', u::text, e, '{"source": "seed_big_org"}'::jsonb
            from unnest($2::uuid[], $3::text[]) as t(u, e)
            "#,
            org_id.0,
            &users,
            &emails,
        )
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await?;
    Ok(org_id)
}

/// Adds `events` audit events to an organization made by [`seed_big_org`]
/// (`members` is the count given there): a month of mostly sign-ins by its
/// people, with invitations, role changes, removals and SSO tests mixed in,
/// spread two seconds apart and ending now. For the audit view's scale
/// checks and the benchmark. Written as the runtime role inside the org, in
/// batches of 100,000, so row-level security applies as to any write.
pub async fn seed_audit_events(
    db: &Db,
    org_id: crate::ids::OrgId,
    members: usize,
    events: i64,
) -> Result<(), SeedError> {
    let members = members.max(1) as i64;
    let batch = 100_000;
    let mut start = 0;
    while start < events {
        let end = (start + batch).min(events);
        let mut tx = Tenant::begin_without_membership(db, org_id, None).await?;
        sqlx::query!(
            r#"
            insert into audit_event (org_id, audit_event_id, occurred_at, actor_email, actor_name, action,
                                     target_type, target_label, ip_address, user_agent, details)
            select $1, gen_random_uuid(), now() - make_interval(secs => 2 * ($3 - i)),
                   format('person%s@%s.test', lpad((i % $4)::text, 5, '0'), o.slug),
                   format('Person %s', i % $4),
                   case when i % 100 < 70 then 'auth.signed_in'
                        when i % 100 < 80 then 'auth.signed_out'
                        when i % 100 < 88 then 'auth.sign_in_failed'
                        when i % 100 < 93 then 'invitation.created'
                        when i % 100 < 96 then 'invitation.accepted'
                        when i % 100 < 98 then 'member.role_changed'
                        when i % 100 < 99 then 'member.removed'
                        else 'sso.connection_tested' end,
                   'user', format('person%s@%s.test', lpad(((i * 7) % $4)::text, 5, '0'), o.slug),
                   format('10.%s.%s.%s', (i / 65536) % 256, (i / 256) % 256, i % 256)::inet,
                   'Mozilla/5.0 (seeded)', '{"source": "seed_audit_events"}'::jsonb
            from organization o, generate_series($2::bigint, $5::bigint - 1) i
            where o.org_id = $1
            "#,
            org_id.0,
            start,
            events,
            members,
            end,
        )
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        start = end;
    }
    Ok(())
}

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiro", "Ines", "Jonas", "Kemal",
    "Lena", "Mateo", "Noor", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor",
    "Wen", "Xavier", "Yara", "Zoltan",
];
const LAST: &[&str] = &[
    "Abara",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
];
