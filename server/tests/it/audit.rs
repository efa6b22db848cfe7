//! The audit view over HTTP: filters, keyset pages, CSV export, refusals,
//! retention through the maintenance path.

use crate::support::{
    TestDb, seeded,
    web::{Browser, TestApp, location, signed_in},
};
use app::api::audit::AuditPage;
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Adds `n` events to an org as the superuser, one minute apart, ending
/// `minutes_ago` minutes ago; `label` gives each event's target label.
async fn add_events(db: &TestDb, slug: &str, action: &str, n: i64, minutes_ago: i64, label: &str) {
    sqlx::query(
        "insert into audit_event (org_id, audit_event_id, occurred_at, actor_email, actor_name, action, target_label)
         select o.org_id, gen_random_uuid(), now() - make_interval(mins => ($4 + i)::int),
                'robot@acme.test', 'Robot', $2, $3 || i
         from organization o, generate_series(0, $5 - 1) i where o.slug = $1",
    )
    .bind(slug)
    .bind(action)
    .bind(label)
    .bind(minutes_ago)
    .bind(n)
    .execute(&db.superuser)
    .await
    .unwrap();
}

async fn audit(browser: &Browser, form: &[(&str, &str)]) -> (StatusCode, Option<AuditPage>) {
    let mut full = vec![("slug", "acme")];
    full.extend_from_slice(form);
    let response = browser.call("/api/audit/page", &full).await;
    let status = response.status();
    let page = if status == StatusCode::OK {
        Some(response.json().await.unwrap())
    } else {
        None
    };
    (status, page)
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.superuser)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn filters_combine_and_keyset_pages_cover_every_event_once(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    add_events(&db, "acme", "invitation.created", 70, 10, "guest").await;
    add_events(&db, "acme", "member.role_changed", 40, 200, "person").await;
    let admin = signed_in(&app, "acme", "adam@acme.test").await;
    let total = count(
        &db,
        "select count(*) from audit_event join organization using (org_id) where slug = 'acme'",
    )
    .await;

    // Unfiltered, page by page: newest first, no event twice, none missed.
    let mut seen = Vec::new();
    let mut before = String::new();
    loop {
        let (status, page) = audit(&admin, &[("before", &before)]).await;
        assert_eq!(status, StatusCode::OK);
        let page = page.unwrap();
        assert!(page.rows.len() <= 50);
        seen.extend(page.rows.iter().map(|r| (r.at.clone(), r.id.clone())));
        match page.next {
            Some(next) => before = next,
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, total);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no event twice");

    // By kind of event.
    let (_, page) = audit(&admin, &[("group", "invitations")]).await;
    let page = page.unwrap();
    assert_eq!(page.rows.len(), 50);
    assert!(
        page.rows
            .iter()
            .all(|r| r.action.starts_with("invitation."))
    );
    let (_, page) = audit(
        &admin,
        &[("group", "invitations"), ("before", &page.next.unwrap())],
    )
    .await;
    assert_eq!(page.unwrap().rows.len(), 20);
    // By actor, case-insensitive, by name or email; combined with the kind.
    let (_, page) = audit(&admin, &[("actor", "ROBOT"), ("group", "roles")]).await;
    let page = page.unwrap();
    assert_eq!(page.rows.len(), 40);
    assert_eq!(page.rows[0].sentence, "Robot changed a member's role");
    assert_eq!(page.rows[0].target.as_deref(), Some("person0"));
    // A whole address matches exactly (through its index), any case.
    let (_, page) = audit(&admin, &[("actor", " Adam@ACME.test ")]).await;
    let rows = page.unwrap().rows;
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r.actor_email.as_deref() == Some("adam@acme.test"))
    );
    // Part of an address matches too.
    let (_, page) = audit(&admin, &[("actor", "adam@acme")]).await;
    let partial = page.unwrap().rows;
    assert_eq!(partial.len(), rows.len());
    // By dates: nothing before the seed, everything since yesterday.
    let today = time::OffsetDateTime::now_utc().date();
    let (yesterday, today) = (today.previous_day().unwrap().to_string(), today.to_string());
    let (_, page) = audit(&admin, &[("to", "2020-01-01")]).await;
    assert!(page.unwrap().rows.is_empty());
    let (_, page) = audit(
        &admin,
        &[("from", &yesterday), ("to", &today), ("group", "roles")],
    )
    .await;
    assert_eq!(page.unwrap().rows.len(), 40);

    // Bad filters are named.
    for bad in [
        ("group", "everything"),
        ("from", "21/11/2026"),
        ("before", "garbage"),
    ] {
        let (status, _) = audit(&admin, &[bad]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }
    let (status, _) = audit(&admin, &[("from", "2026-02-02"), ("to", "2026-02-01")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The page renders without JavaScript, filters in the URL.
    let html = admin
        .get("/o/acme/audit?group=roles&actor=robot")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Robot changed a member&#x27;s role")
            || html.contains("Robot changed a member's role")
    );
    assert!(html.contains("/o/acme/audit.csv?group=roles&amp;actor=robot"));
}

#[sqlx::test(migrations = false)]
async fn members_viewers_and_other_orgs_are_refused(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    for email in ["mia@acme.test", "victor@acme.test"] {
        let member = signed_in(&app, "acme", email).await;
        assert_eq!(
            audit(&member, &[]).await.0,
            StatusCode::FORBIDDEN,
            "{email}"
        );
        assert_eq!(
            member.get("/o/acme/audit.csv").await.status(),
            StatusCode::FORBIDDEN
        );
        let retention = member
            .call("/api/audit/retention", &[("slug", "acme"), ("days", "30")])
            .await;
        assert_eq!(retention.status(), StatusCode::FORBIDDEN);
    }
    // An admin reads but does not set the retention (owners do).
    let admin = signed_in(&app, "acme", "adam@acme.test").await;
    let retention = admin
        .call("/api/audit/retention", &[("slug", "acme"), ("days", "30")])
        .await;
    assert_eq!(retention.status(), StatusCode::FORBIDDEN);
    // Globex's admin gets nothing of Acme's.
    let gus = signed_in(&app, "globex", "gus@globex.test").await;
    assert_eq!(audit(&gus, &[]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        location(&gus.get("/o/acme/audit.csv").await),
        "/o/acme/login"
    );
    // And Globex's own log holds none of Acme's events.
    let mut gus_page = vec![("slug", "globex")];
    gus_page.push(("actor", "acme.test"));
    let page: AuditPage = gus
        .call("/api/audit/page", &gus_page)
        .await
        .json()
        .await
        .unwrap();
    assert!(page.rows.is_empty());
    assert_eq!(
        count(
            &db,
            "select count(*) from organization where audit_retention_days is not null"
        )
        .await,
        0
    );
}

#[sqlx::test(migrations = false)]
async fn csv_export_streams_the_filtered_events_with_safe_escaping(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    add_events(&db, "acme", "member.role_changed", 1200, 5, "plain").await;
    for (i, label) in [
        "Smith, John",
        "say \"hi\"",
        "two\nlines",
        "Zoë Åström",
        "=HYPERLINK(1)",
    ]
    .iter()
    .enumerate()
    {
        add_events(&db, "acme", "invitation.created", 1, i as i64, label).await;
    }
    let admin = signed_in(&app, "acme", "adam@acme.test").await;

    let response = admin.get("/o/acme/audit.csv?group=invitations").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"audit-acme-")
    );
    let csv = response.text().await.unwrap();
    let csv = csv.strip_prefix('\u{feff}').expect("a byte-order mark");
    let header = csv.split("\r\n").next().unwrap();
    let quoted: Vec<String> = app::domain::audit_view::CSV_COLUMNS
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect();
    assert_eq!(header, quoted.join(","));
    // The labels end in the generated index 0 (see add_events).
    assert!(csv.contains(",\"Smith, John0\","), "{csv}");
    assert!(csv.contains(",\"say \"\"hi\"\"0\","), "{csv}");
    assert!(csv.contains(",\"two\nlines0\","), "{csv}");
    assert!(csv.contains(",\"Zoë Åström0\","), "{csv}");
    assert!(csv.contains(",\"'=HYPERLINK(1)0\","), "{csv}");
    // Only invitations: five events, newest first.
    let records = csv.matches(",\"invitation.created\",").count();
    assert_eq!(records, 5);
    assert!(!csv.contains("member.role_changed"));

    // Unfiltered: every event, across several streamed chunks.
    let all = admin.get("/o/acme/audit.csv").await.text().await.unwrap();
    let total = count(
        &db,
        "select count(*) from audit_event join organization using (org_id) where slug = 'acme'",
    )
    .await;
    // Records end in CRLF; the one embedded newline is a bare LF.
    assert_eq!(all.matches("\r\n").count() as i64, total + 1);

    // A bad filter is a plain 400 with the reason.
    let bad = admin.get("/o/acme/audit.csv?from=yesterday").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("YYYY-MM-DD"));
}

#[sqlx::test(migrations = false)]
async fn retention_removes_old_events_only_through_the_maintenance_path(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let owner = signed_in(&app, "acme", "olivia@acme.test").await;
    let bad = owner
        .call("/api/audit/retention", &[("slug", "acme"), ("days", "0")])
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let set = owner
        .submit(
            "/api/audit/retention",
            "/o/acme/audit",
            &[("slug", "acme"), ("days", "30")],
        )
        .await;
    assert_eq!(location(&set), "/o/acme/audit?notice=retention");
    add_events(&db, "acme", "member.role_changed", 25, 60 * 24 * 40, "old").await;
    add_events(
        &db,
        "globex",
        "member.role_changed",
        25,
        60 * 24 * 40,
        "old",
    )
    .await;
    let acme =
        "select count(*) from audit_event join organization using (org_id) where slug = 'acme'";
    let before = count(&db, acme).await;

    // The runtime role cannot delete events itself…
    let refused = sqlx::query("delete from audit_event")
        .execute(&db.runtime)
        .await;
    assert!(refused.is_err());
    // …only through the maintenance function, which records what it did.
    let (orgs, removed) = app::domain::audit_view::purge_expired(&db.db())
        .await
        .unwrap();
    assert_eq!((orgs, removed), (1, 25));
    assert_eq!(count(&db, acme).await, before - 25 + 1);
    let purged: serde_json::Value = sqlx::query_scalar(
        "select details from audit_event join organization using (org_id) where slug = 'acme' and action = 'audit.purged'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(purged["removed"], 25);
    assert_eq!(purged["retention_days"], 30);
    // Globex keeps everything (no retention set).
    assert_eq!(
        count(&db, "select count(*) from audit_event join organization using (org_id) where slug = 'globex' and target_label like 'old%'").await,
        25
    );
    // The change of retention itself was recorded.
    assert_eq!(
        count(
            &db,
            "select count(*) from audit_event where action = 'org.audit_retention_changed'"
        )
        .await,
        1
    );
    // Running again removes nothing.
    assert_eq!(
        app::domain::audit_view::purge_expired(&db.db())
            .await
            .unwrap(),
        (0, 0)
    );
}
