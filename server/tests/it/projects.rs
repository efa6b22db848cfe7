//! Projects, the reference resource, over HTTP: who may do what, another
//! organization's ids, hostile and malformed input, pages and search, the
//! audit trail, and the form posts a browser without JavaScript makes.

use crate::support::{
    TestDb, seeded,
    web::{Browser, TestApp, location, redirected_error, signed_in},
};
use app::{
    api::projects::{ProjectView, ProjectsPage},
    error::AppError,
    roles::{Permission, Role},
};
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::collections::BTreeSet;

/// Every project of an org as (name, description, archived), read by the superuser.
async fn projects_of(db: &TestDb, slug: &str) -> Vec<(String, String, bool)> {
    sqlx::query_as(
        "select p.name, p.description, p.archived_at is not null from project p
         join organization o using (org_id) where o.slug = $1 order by p.name",
    )
    .bind(slug)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

/// The project events of an org's audit log as (action, actor, target), oldest first.
async fn project_events(db: &TestDb, slug: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "select a.action, a.actor_email, a.target_label from audit_event a join organization o using (org_id)
         where o.slug = $1 and a.action like 'project.%' order by a.audit_event_id",
    )
    .bind(slug)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

async fn id_of(db: &TestDb, name: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select project_id from project where name = $1")
        .bind(name)
        .fetch_one(&db.superuser)
        .await
        .unwrap();
    id.to_string()
}

/// Creates a project as the hydrated app does; its id, from the redirect.
async fn create(browser: &Browser, slug: &str, name: &str) -> String {
    let response = browser
        .call(
            "/api/projects/create",
            &[("slug", slug), ("name", name), ("description", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "create {name}");
    let to = location(&response);
    let rest = to
        .strip_prefix(&format!("/o/{slug}/projects/"))
        .unwrap_or_else(|| panic!("redirected to {to}"));
    rest.split('?').next().unwrap().to_string()
}

async fn error_of(response: reqwest::Response) -> AppError {
    response.json().await.expect("an AppError body")
}

async fn list(browser: &Browser, form: &[(&str, &str)]) -> ProjectsPage {
    let response = browser.call("/api/projects/list", form).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[sqlx::test(migrations = false)]
async fn each_role_may_do_exactly_what_the_permission_table_says(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    // Created by the owner, so only the admin and owner may change it.
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let owners = create(&olivia, "acme", "Owner's plan").await;

    for (email, role) in [
        ("olivia@acme.test", Role::Owner),
        ("adam@acme.test", Role::Admin),
        ("mia@acme.test", Role::Member),
        ("victor@acme.test", Role::Viewer),
    ] {
        let browser = signed_in(&app, "acme", email).await;
        let tag = role.as_str();
        let page = list(&browser, &[("slug", "acme")]).await;
        assert_eq!(page.can_create, role.can(Permission::EditContent), "{tag}");
        let shown = page.projects.iter().find(|p| p.id == owners).unwrap();
        assert_eq!(
            shown.can_change,
            role.can(Permission::ManageContent),
            "{tag}"
        );

        let name = format!("Made by {tag}");
        let made = browser
            .call(
                "/api/projects/create",
                &[("slug", "acme"), ("name", &name), ("description", "")],
            )
            .await;
        let may_create = role.can(Permission::EditContent);
        assert_eq!(made.status() == StatusCode::OK, may_create, "{tag} creates");
        if !may_create {
            assert_eq!(made.status(), StatusCode::FORBIDDEN, "{tag}");
        }
        let names: Vec<_> = projects_of(&db, "acme")
            .await
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(names.contains(&name), may_create, "{tag}");

        let before = projects_of(&db, "acme").await;
        let events = project_events(&db, "acme").await.len();
        let renamed = format!("Owner's plan ({tag})");
        let attempts: [(&str, Vec<(&str, &str)>); 4] = [
            (
                "/api/projects/update",
                vec![("name", renamed.as_str()), ("description", "changed")],
            ),
            ("/api/projects/archive", vec![]),
            ("/api/projects/restore", vec![]),
            ("/api/projects/delete", vec![]),
        ];
        let may = role.can(Permission::ManageContent);
        for (endpoint, extra) in attempts.iter().take(if may { 3 } else { 4 }) {
            let mut form = vec![("slug", "acme"), ("id", owners.as_str())];
            form.extend(extra.iter().copied());
            let response = browser.call(endpoint, &form).await;
            let expected = if may {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(response.status(), expected, "{tag} → {endpoint}");
        }
        if !may {
            assert_eq!(
                before,
                projects_of(&db, "acme").await,
                "{tag} changed nothing"
            );
            assert_eq!(
                events,
                project_events(&db, "acme").await.len(),
                "{tag} recorded nothing"
            );
        }
    }
    // The member changes and deletes their own project.
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let own = id_of(&db, "Made by member").await;
    let renamed = mia
        .call(
            "/api/projects/update",
            &[
                ("slug", "acme"),
                ("id", &own),
                ("name", "Mine"),
                ("description", "ok"),
            ],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let deleted = mia
        .call("/api/projects/delete", &[("slug", "acme"), ("id", &own)])
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert!(!projects_of(&db, "acme").await.iter().any(|p| p.0 == "Mine"));
}

#[sqlx::test(migrations = false)]
async fn another_organizations_projects_cannot_be_read_or_touched(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    let acme_project = create(&adam, "acme", "Acme's secret").await;
    let before = projects_of(&db, "acme").await;
    let acme_events = project_events(&db, "acme").await;
    // Grace owns Globex: everything is allowed to her there, nothing of Acme's is.
    let grace = signed_in(&app, "globex", "grace@globex.test").await;
    create(&grace, "globex", "Globex's own").await;

    let page = list(&grace, &[("slug", "globex")]).await;
    assert!(page.projects.iter().all(|p| p.id != acme_project));
    for (endpoint, extra) in [
        ("/api/projects/get", vec![]),
        (
            "/api/projects/update",
            vec![("name", "Taken over"), ("description", "")],
        ),
        ("/api/projects/archive", vec![]),
        ("/api/projects/restore", vec![]),
        ("/api/projects/delete", vec![]),
    ] {
        // Acme's id in her own org: not found there.
        let mut form = vec![("slug", "globex"), ("id", acme_project.as_str())];
        form.extend(extra.iter().copied());
        let response = grace.call(endpoint, &form).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{endpoint} in globex"
        );
        // Acme's slug: her session is not one of Acme's.
        form[0] = ("slug", "acme");
        let response = grace.call(endpoint, &form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{endpoint} as acme"
        );
    }
    let listed = grace.call("/api/projects/list", &[("slug", "acme")]).await;
    assert_eq!(listed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(before, projects_of(&db, "acme").await);
    assert!(
        project_events(&db, "globex")
            .await
            .iter()
            .all(|e| e.0 != "project.created" || e.2 != "Acme's secret"),
        "nothing of Acme's was recorded in Globex"
    );
    assert_eq!(
        acme_events,
        project_events(&db, "acme").await,
        "nothing recorded in Acme"
    );

    // Malformed ids are simply not found.
    for id in [
        "",
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "' or 1=1 --",
    ] {
        let response = grace
            .call("/api/projects/get", &[("slug", "globex"), ("id", id)])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id:?}");
    }
}

#[sqlx::test(migrations = false)]
async fn bad_input_gets_a_message_per_field_and_writes_nothing(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    create(&mia, "acme", "Shared name").await;
    let before = projects_of(&db, "acme").await;
    let events = project_events(&db, "acme").await.len();
    let long_name = "n".repeat(101);
    let long_description = "d".repeat(2001);
    for (name, description, field) in [
        ("", "", "name"),
        ("   ", "", "name"),
        (long_name.as_str(), "", "name"),
        ("Evil\u{202e}txt.exe", "", "name"),
        ("Bell\u{7}", "", "name"),
        ("Fine", long_description.as_str(), "description"),
        ("Fine", "hidden\u{1b}[2J", "description"),
        ("Fine", "\u{2067}flip", "description"),
        // Names are unique per organization, whatever the case.
        ("shared NAME", "", "name"),
        ("  Shared   name ", "", "name"),
    ] {
        let response = mia
            .call(
                "/api/projects/create",
                &[
                    ("slug", "acme"),
                    ("name", name),
                    ("description", description),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}"
        );
        let error = error_of(response).await;
        assert!(error.message_for(field).is_some(), "{name:?}: {error:?}");
    }
    // Both fields wrong: both messages at once.
    let both = mia
        .call(
            "/api/projects/create",
            &[
                ("slug", "acme"),
                ("name", ""),
                ("description", &long_description),
            ],
        )
        .await;
    let error = error_of(both).await;
    assert!(error.message_for("name").is_some() && error.message_for("description").is_some());
    // Renaming onto another project's name is refused the same way.
    let own = create(&mia, "acme", "Mia's notes").await;
    let clash = mia
        .call(
            "/api/projects/update",
            &[
                ("slug", "acme"),
                ("id", &own),
                ("name", "SHARED name"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(clash.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mut expected = before.clone();
    expected.push(("Mia's notes".into(), String::new(), false));
    expected.sort();
    assert_eq!(projects_of(&db, "acme").await, expected);
    assert_eq!(project_events(&db, "acme").await.len(), events + 1);

    // List parameters are checked too.
    for (key, value) in [
        ("after", "garbage"),
        (
            "after",
            "99999999999999999999.00000000-0000-0000-0000-000000000000",
        ),
        ("show", "everything"),
    ] {
        let response = mia
            .call("/api/projects/list", &[("slug", "acme"), (key, value)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{key}={value}"
        );
    }
    let long_search = "s".repeat(101);
    let response = mia
        .call(
            "/api/projects/list",
            &[("slug", "acme"), ("q", &long_search)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A hostile name is stored as typed and shown as text.
    let script = "<script>alert(1)</script> & \"quotes\"";
    let id = create(&mia, "acme", script).await;
    let html = mia
        .get(&format!("/o/acme/projects/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>alert(1)"), "escaped on the page");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[sqlx::test(migrations = false)]
async fn pages_cover_every_project_once_and_search_and_archive_filter_them(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    for i in 0..60 {
        create(&adam, "acme", &format!("Batch {i:02}")).await;
    }
    let (active, archived): (Vec<_>, Vec<_>) = projects_of(&db, "acme")
        .await
        .into_iter()
        .partition(|p| !p.2);

    let mut seen = BTreeSet::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut form = vec![("slug", "acme")];
        if let Some(cursor) = after.as_deref() {
            form.push(("after", cursor));
        }
        let page = list(&adam, &form).await;
        pages += 1;
        assert!(page.projects.len() <= 25);
        for p in &page.projects {
            assert!(seen.insert(p.name.clone()), "{} twice", p.name);
            assert!(!p.archived);
        }
        assert_eq!(page.active_count as usize, active.len());
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, active.len().div_ceil(25));
    assert_eq!(seen, active.iter().map(|p| p.0.clone()).collect());

    let found = list(&adam, &[("slug", "acme"), ("q", "batch 4")]).await;
    let names: BTreeSet<_> = found.projects.iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, (40..50).map(|i| format!("Batch {i}")).collect());
    // LIKE's wildcards match only themselves.
    let wildcard = list(&adam, &[("slug", "acme"), ("q", "%")]).await;
    assert!(wildcard.projects.is_empty());

    let shelved = list(&adam, &[("slug", "acme"), ("show", "archived")]).await;
    let names: Vec<_> = shelved.projects.iter().map(|p| p.name.clone()).collect();
    assert_eq!(
        names,
        archived.iter().map(|p| p.0.clone()).collect::<Vec<_>>()
    );
}

#[sqlx::test(migrations = false)]
async fn archiving_restoring_and_deleting_are_recorded_and_archived_projects_are_read_only(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let id = create(&mia, "acme", "Lifecycle").await;
    let form = [("slug", "acme"), ("id", id.as_str())];
    let edit = [
        ("slug", "acme"),
        ("id", id.as_str()),
        ("name", "Lifecycle 2"),
        ("description", "line one\r\nline two"),
    ];

    assert_eq!(
        mia.call("/api/projects/archive", &form).await.status(),
        StatusCode::OK
    );
    let refused = mia.call("/api/projects/update", &edit).await;
    assert_eq!(
        refused.status(),
        StatusCode::CONFLICT,
        "archived projects are read-only"
    );
    assert_eq!(
        mia.call("/api/projects/restore", &form).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        mia.call("/api/projects/update", &edit).await.status(),
        StatusCode::OK
    );
    // Saving the same again changes nothing and records nothing.
    let events = project_events(&db, "acme").await.len();
    let again = mia.call("/api/projects/update", &edit).await;
    assert!(location(&again).ends_with("notice=unchanged"));
    assert_eq!(project_events(&db, "acme").await.len(), events);

    let shown: ProjectView = mia
        .call("/api/projects/get", &form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown.description, "line one\nline two");
    assert_eq!(
        mia.call("/api/projects/delete", &form).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        mia.call("/api/projects/get", &form).await.status(),
        StatusCode::NOT_FOUND
    );

    let mine: Vec<_> = project_events(&db, "acme")
        .await
        .into_iter()
        .filter(|e| e.1 == "mia@acme.test" && e.2.starts_with("Lifecycle"))
        .map(|e| e.0)
        .collect();
    assert_eq!(
        mine,
        [
            "project.created",
            "project.archived",
            "project.restored",
            "project.updated",
            "project.deleted"
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn without_javascript_forms_redirect_with_their_outcome(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;

    let bad = mia
        .submit(
            "/api/projects/create",
            "/o/acme/projects",
            &[("slug", "acme"), ("name", ""), ("description", "kept text")],
        )
        .await;
    assert!(bad.status().is_redirection());
    let error = redirected_error(&bad).expect("the error rides the redirect");
    assert!(error.message_for("name").is_some());
    assert_eq!(error.value_for("description").as_deref(), Some("kept text"));
    // The page it leads back to shows the message and the kept text.
    let page = mia.get(&location(&bad)).await.text().await.unwrap();
    assert!(page.contains("Enter a name for the project."));
    assert!(page.contains("kept text"));

    let made = mia
        .submit(
            "/api/projects/create",
            "/o/acme/projects",
            &[
                ("slug", "acme"),
                ("name", "From a form"),
                ("description", ""),
            ],
        )
        .await;
    let to = location(&made);
    assert!(
        to.starts_with("/o/acme/projects/") && to.ends_with("?notice=created"),
        "{to}"
    );
    let page = mia.get(&to).await.text().await.unwrap();
    assert!(page.contains("Project created."));
    assert!(page.contains("From a form"));

    // Asking to delete shows the confirmation; nothing is deleted by a GET.
    let id = id_of(&db, "From a form").await;
    let confirm = mia
        .get(&format!("/o/acme/projects/{id}?delete=1"))
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("Delete “From a form”?"));
    assert!(
        projects_of(&db, "acme")
            .await
            .iter()
            .any(|p| p.0 == "From a form")
    );

    // Another site's form cannot create or delete.
    let forged = mia
        .submit_from_elsewhere(
            "/api/projects/delete",
            &[("slug", "acme"), ("id", id.as_str())],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        projects_of(&db, "acme")
            .await
            .iter()
            .any(|p| p.0 == "From a form")
    );

    // projects only: the org home lists recent projects (copies leave it out).
    let home = mia.get("/o/acme").await.text().await.unwrap();
    assert!(home.contains("Recent projects") && home.contains("From a form"));
    // end projects only
}
