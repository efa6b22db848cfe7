//! Accounts, sessions and org context over HTTP, against the real router,
//! real PostgreSQL (as app_runtime) and, where mail matters, a real SMTP
//! server.

use crate::support::{
    TestDb, seeded,
    smtp::SmtpSink,
    web::{AppOptions, Browser, TestApp, location, redirected_error, session_cookie},
};
use app::{
    domain::{
        demo::DEMO_PASSWORD, rate_limit::Limit, rate_limit::RateLimits, session::SessionPolicy,
    },
    error::AppError,
};
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

/// (action, actor email) of an org's audit log, oldest first.
async fn audit_log(db: &TestDb, slug: &str) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "select a.action, a.actor_email from audit_event a join organization o using (org_id)
         where o.slug = $1 order by a.audit_event_id",
    )
    .bind(slug)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.superuser)
        .await
        .unwrap()
}

async fn page(browser: &Browser, path: &str) -> (StatusCode, String) {
    let response = browser.get(path).await;
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn sign_up(
    browser: &Browser,
    name: &str,
    email: &str,
    org: &str,
    slug: &str,
) -> reqwest::Response {
    browser
        .submit(
            "/api/auth/sign_up",
            "/signup",
            &[
                ("name", name),
                ("email", email),
                ("password", "correct horse battery"),
                ("org_name", org),
                ("slug", slug),
            ],
        )
        .await
}

#[sqlx::test(migrations = false)]
async fn signing_up_creates_an_owned_org_and_the_emailed_link_signs_the_owner_in(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let browser = app.browser();

    let response = sign_up(
        &browser,
        "Nora New",
        "Nora@Example.test",
        "Nora & Co",
        "nora-co",
    )
    .await;
    assert_eq!(location(&response), "/signup/check-email");

    let mail = sink
        .wait_for("nora@example.test", "Confirm your email")
        .await;
    assert!(
        mail.html.contains("Nora &amp; Co"),
        "HTML body names the org"
    );
    let link = mail.link("/verify-email?token=");
    assert!(
        link.starts_with(&app.base),
        "links use the public base URL: {link}"
    );

    // Not signed in until the address is confirmed.
    assert_eq!(browser.get("/o/nora-co").await.status(), StatusCode::FOUND);

    let (status, _) = page(&browser, &link).await;
    assert_eq!(status, StatusCode::FOUND);
    let (status, html) = page(&browser, "/o/nora-co").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Nora &amp; Co") && html.contains("Owner"),
        "{html}"
    );

    let log = audit_log(&db, "nora-co").await;
    let actions: Vec<&str> = log.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "org.created",
            "auth.signed_up",
            "auth.email_verified",
            "auth.signed_in"
        ]
    );
    assert!(
        log.iter()
            .all(|(_, actor)| actor.as_deref() == Some("Nora@example.test"))
    );

    // The link works once.
    let again = Browser::new(&app.base);
    let (_, html) = page(&again, &link).await;
    assert!(html.contains("already been used"), "{html}");
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn signing_up_with_a_registered_address_reveals_nothing_and_tells_its_owner(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let users_before = count(&db, "select count(*) from app_user").await;

    let response = sign_up(
        &app.browser(),
        "Someone",
        "OLIVIA@acme.test",
        "Copycat",
        "copycat",
    )
    .await;
    assert_eq!(
        location(&response),
        "/signup/check-email",
        "the same page as a real sign-up"
    );

    let mail = sink.wait_for("olivia@acme.test", "already have").await;
    assert!(mail.text.contains("/forgot-password"));
    assert_eq!(
        count(&db, "select count(*) from app_user").await,
        users_before
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from organization where slug = 'copycat'"
        )
        .await,
        0
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn sign_up_reports_every_invalid_field_and_writes_nothing(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let before = count(
        &db,
        "select (select count(*) from app_user) + (select count(*) from organization)",
    )
    .await;

    let response = app
        .browser()
        .call(
            "/api/auth/sign_up",
            &[
                ("name", " "),
                ("email", "nope"),
                ("password", "short"),
                ("org_name", "Fine Org"),
                ("slug", "Bad Slug"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: AppError = response.json().await.unwrap();
    for field in ["name", "email", "password", "slug"] {
        assert!(error.message_for(field).is_some(), "{field}: {error:?}");
    }
    assert_eq!(error.message_for("org_name"), None);

    // A taken URL name is a clear message on its field.
    let taken = app
        .browser()
        .call(
            "/api/auth/sign_up",
            &[
                ("name", "Ann"),
                ("email", "ann@new.test"),
                ("password", "correct horse battery"),
                ("org_name", "Acme"),
                ("slug", "acme"),
            ],
        )
        .await;
    let error: AppError = taken.json().await.unwrap();
    assert_eq!(
        error.message_for("slug").as_deref(),
        Some("That URL name is taken. Try another one.")
    );

    let after = count(
        &db,
        "select (select count(*) from app_user) + (select count(*) from organization)",
    )
    .await;
    assert_eq!(after, before, "nothing half-written");
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn a_blank_url_name_is_derived_from_the_organization_name(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let app = TestApp::spawn(&db).await;
    let response = sign_up(
        &app.browser(),
        "Ann",
        "ann@new.test",
        "Ann's Bakery, Ltd.",
        "",
    )
    .await;
    assert_eq!(location(&response), "/signup/check-email");
    assert_eq!(
        count(
            &db,
            "select count(*) from organization where slug = 'ann-s-bakery-ltd'"
        )
        .await,
        1
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn an_org_login_link_signs_a_member_in_with_a_safe_cookie(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let browser = app.browser();

    let (status, html) = page(&browser, "/o/acme/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sign in to Acme Corporation"));

    let response = browser
        .sign_in("acme", "olivia@acme.test", DEMO_PASSWORD)
        .await;
    assert_eq!(location(&response), "/o/acme");
    let cookie = session_cookie(&response);
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");

    let (status, html) = page(&browser, "/o/acme").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Olivia Owner"));
    let log = audit_log(&db, "acme").await;
    assert_eq!(
        log.last().unwrap(),
        &(
            "auth.signed_in".to_string(),
            Some("olivia@acme.test".to_string())
        )
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn wrong_password_unknown_email_and_non_member_get_the_same_answer(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let attempts = [
        ("olivia@acme.test", "not-the-password"),
        ("nobody@nowhere.test", DEMO_PASSWORD),
        ("grace@globex.test", DEMO_PASSWORD),
    ];
    let mut answers = Vec::new();
    for (email, password) in attempts {
        let browser = app.browser();
        let response = browser
            .call(
                "/api/auth/sign_in",
                &[("email", email), ("password", password), ("org", "acme")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: AppError = response.json().await.unwrap();
        answers.push(error.form_message(&["email", "password"]).unwrap());
        assert_eq!(
            browser.get("/o/acme").await.status(),
            StatusCode::FOUND,
            "not signed in"
        );
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert!(answers[0].contains("Acme Corporation"));

    // Each failure into a known org is in that org's audit log, with the email tried.
    let failures: Vec<_> = audit_log(&db, "acme")
        .await
        .into_iter()
        .filter(|(action, _)| action == "auth.sign_in_failed")
        .map(|(_, actor)| actor.unwrap())
        .collect();
    assert_eq!(
        failures,
        [
            "olivia@acme.test",
            "nobody@nowhere.test",
            "grace@globex.test"
        ]
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn a_failed_plain_form_post_returns_to_the_form_with_the_email_kept(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let response = app
        .browser()
        .sign_in("acme", "olivia@acme.test", "wrong")
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with(&format!("{}/o/acme/login?", app.base)));
    let error = redirected_error(&response).expect("error travels in the redirect");
    assert_eq!(
        error.value_for("email").as_deref(),
        Some("olivia@acme.test")
    );
    assert_eq!(
        error.value_for("password"),
        None,
        "passwords are never echoed"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn the_session_id_changes_at_sign_in_and_the_old_one_is_dead(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let browser = app.browser();
    // /login with two orgs: a pending sign-in (first session id)…
    let response = browser
        .submit(
            "/api/auth/sign_in",
            "/login",
            &[
                ("email", "sam@consulting.test"),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&response), "/orgs");
    let pending = browser.clone_with_cookie();
    let first = browser.cookie().unwrap();
    // …then entering an org (a new one).
    let response = browser
        .submit("/api/auth/enter_org", "/orgs", &[("slug", "globex")])
        .await;
    assert_eq!(location(&response), "/o/globex");
    assert_ne!(browser.cookie().unwrap(), first);
    assert_eq!(
        pending.get("/orgs").await.status(),
        StatusCode::FOUND,
        "the old id is gone"
    );
    assert_eq!(browser.get("/o/globex").await.status(), StatusCode::OK);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn generic_login_routes_by_how_many_orgs_the_user_has(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let login = |email: &'static str| {
        let browser = app.browser();
        async move {
            let response = browser
                .submit(
                    "/api/auth/sign_in",
                    "/login",
                    &[("email", email), ("password", DEMO_PASSWORD)],
                )
                .await;
            (browser, location(&response))
        }
    };

    // One org: straight in.
    let (_, to) = login("mia@acme.test").await;
    assert_eq!(to, "/o/acme");

    // Several: the picker, listing exactly the user's memberships and roles.
    let (sam, to) = login("sam@consulting.test").await;
    assert_eq!(to, "/orgs");
    let (status, html) = page(&sam, "/orgs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Acme Corporation") && html.contains("Globex"));
    assert!(html.contains("Admin") && html.contains("Member"));
    let listed: app::api::session::Picker = sam
        .call("/api/session/picker", &[])
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<_> = listed
        .orgs
        .iter()
        .map(|o| (o.slug.as_str(), o.role.as_str()))
        .collect();
    assert_eq!(listed, [("acme", "admin"), ("globex", "member")]);

    // The picker cannot enter an org the user does not belong to.
    let other = sign_up(&app.browser(), "Ola", "ola@new.test", "Ola Org", "ola-org").await;
    assert_eq!(location(&other), "/signup/check-email");
    let refused = sam
        .call("/api/auth/enter_org", &[("slug", "ola-org")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(sam.get("/o/ola-org").await.status(), StatusCode::FOUND);

    // None: offered to create one.
    sqlx::query("delete from membership where user_id = (select user_id from app_user where email = 'max@globex.test')")
        .execute(&db.superuser)
        .await
        .unwrap();
    let (max, to) = login("max@globex.test").await;
    assert_eq!(to, "/orgs/new");
    let response = max
        .submit(
            "/api/auth/create_org",
            "/orgs/new",
            &[("org_name", "Max Works"), ("slug", "")],
        )
        .await;
    assert_eq!(location(&response), "/o/max-works");
    let (status, html) = page(&max, "/o/max-works").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Owner"));
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn switching_org_ends_the_session_and_requires_signing_in_to_the_target(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let sam = app.browser();
    assert_eq!(
        location(
            &sam.sign_in("acme", "sam@consulting.test", DEMO_PASSWORD)
                .await
        ),
        "/o/acme"
    );
    let acme_session = sam.clone_with_cookie();

    // The header lists only Sam's other org.
    let viewer: app::api::session::Viewer = sam
        .call("/api/session/viewer", &[("slug", "acme")])
        .await
        .json()
        .await
        .unwrap();
    let others: Vec<_> = viewer.other_orgs.iter().map(|o| o.slug.as_str()).collect();
    assert_eq!(others, ["globex"]);

    let response = sam
        .submit("/api/auth/switch_org", "/o/acme", &[("slug", "globex")])
        .await;
    assert_eq!(
        location(&response),
        "/o/globex/login?email=sam%40consulting.test&switching=1"
    );
    // The Acme session is over, both in this browser and for its old cookie.
    assert_eq!(sam.get("/o/acme").await.status(), StatusCode::FOUND);
    assert_eq!(
        acme_session.get("/o/acme").await.status(),
        StatusCode::FOUND
    );
    // Not in Globex either until signing in there.
    assert_eq!(sam.get("/o/globex").await.status(), StatusCode::FOUND);
    let (_, html) = page(
        &sam,
        "/o/globex/login?email=sam%40consulting.test&switching=1",
    )
    .await;
    assert!(
        html.contains("You signed out of Acme Corporation"),
        "{html}"
    );

    assert_eq!(
        location(
            &sam.sign_in("globex", "sam@consulting.test", DEMO_PASSWORD)
                .await
        ),
        "/o/globex"
    );
    assert_eq!(sam.get("/o/globex").await.status(), StatusCode::OK);

    let acme = audit_log(&db, "acme").await;
    assert_eq!(acme.last().unwrap().0, "auth.switched_out");
    let globex = audit_log(&db, "globex").await;
    assert_eq!(globex.last().unwrap().0, "auth.switched_in");

    // Only one's own memberships are switch targets.
    let refused = sam.call("/api/auth/switch_org", &[("slug", "nope")]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        sam.get("/o/globex").await.status(),
        StatusCode::OK,
        "a refused switch changes nothing"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn signing_out_deletes_the_session_on_the_server(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let browser = app.browser();
    browser
        .sign_in("acme", "adam@acme.test", DEMO_PASSWORD)
        .await;
    let replay = browser.clone_with_cookie();
    let sessions_before = count(&db, "select count(*) from tower_sessions.session").await;

    let response = browser.submit("/api/auth/sign_out", "/o/acme", &[]).await;
    assert_eq!(location(&response), "/o/acme/login?signed_out=1");
    assert_eq!(
        count(&db, "select count(*) from tower_sessions.session").await,
        sessions_before - 1
    );
    assert_eq!(
        replay.get("/o/acme").await.status(),
        StatusCode::FOUND,
        "the stolen cookie is worthless"
    );
    assert_eq!(
        audit_log(&db, "acme").await.last().unwrap().0,
        "auth.signed_out"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn a_removed_member_is_refused_on_the_next_request(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let mia = app.browser();
    mia.sign_in("acme", "mia@acme.test", DEMO_PASSWORD).await;
    assert_eq!(mia.get("/o/acme").await.status(), StatusCode::OK);

    sqlx::query("delete from membership where user_id = (select user_id from app_user where email = 'mia@acme.test')")
        .execute(&db.superuser)
        .await
        .unwrap();
    let response = mia.get("/o/acme").await;
    assert_eq!(location(&response), "/o/acme/login");
    let refused = mia.call("/api/session/org_home", &[("slug", "acme")]).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn a_session_in_org_a_gets_nothing_of_org_b(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let olivia = app.browser();
    olivia
        .sign_in("acme", "olivia@acme.test", DEMO_PASSWORD)
        .await;

    assert_eq!(location(&olivia.get("/o/globex").await), "/o/globex/login");
    for (endpoint, form) in [
        ("/api/session/viewer", vec![("slug", "globex")]),
        ("/api/session/org_home", vec![("slug", "globex")]),
    ] {
        let response = olivia.call(endpoint, &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{endpoint}");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("Globex") && !body.contains("grace@"),
            "{endpoint}: {body}"
        );
    }
    // Switching into an org one is not a member of is refused.
    assert_eq!(
        olivia
            .call("/api/auth/switch_org", &[("slug", "globex")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        olivia.get("/o/acme").await.status(),
        StatusCode::OK,
        "still signed in to Acme"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn a_reset_link_works_once_and_ends_every_session(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;

    let elsewhere = app.browser();
    elsewhere
        .sign_in("acme", "mia@acme.test", DEMO_PASSWORD)
        .await;
    assert_eq!(elsewhere.get("/o/acme").await.status(), StatusCode::OK);

    let browser = app.browser();
    let response = browser
        .submit(
            "/api/auth/forgot_password",
            "/forgot-password",
            &[("email", "MIA@acme.test")],
        )
        .await;
    assert_eq!(location(&response), "/forgot-password?sent=1");
    // The same answer for an address with no account, and no mail.
    let unknown = browser
        .submit(
            "/api/auth/forgot_password",
            "/forgot-password",
            &[("email", "ghost@acme.test")],
        )
        .await;
    assert_eq!(location(&unknown), "/forgot-password?sent=1");

    let mail = sink.wait_for("mia@acme.test", "Reset your").await;
    let link = mail.link("/reset-password?token=");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let (status, html) = page(&browser, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Choose a new password"));

    let mismatch = browser
        .call(
            "/api/auth/reset_password",
            &[
                ("token", &token),
                ("password", "a brand new password"),
                ("confirm", "something else"),
            ],
        )
        .await;
    assert_eq!(
        mismatch.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation does not spend the link"
    );

    let reset = [
        ("token", token.as_str()),
        ("password", "a brand new password"),
        ("confirm", "a brand new password"),
    ];
    let response = browser
        .submit("/api/auth/reset_password", &link, &reset)
        .await;
    assert_eq!(location(&response), "/login?password_reset=1");

    assert_eq!(
        elsewhere.get("/o/acme").await.status(),
        StatusCode::FOUND,
        "other sessions ended"
    );
    let old = app
        .browser()
        .sign_in("acme", "mia@acme.test", DEMO_PASSWORD)
        .await;
    assert!(redirected_error(&old).is_some(), "the old password is dead");
    let new = app
        .browser()
        .sign_in("acme", "mia@acme.test", "a brand new password")
        .await;
    assert_eq!(location(&new), "/o/acme");

    let again = browser.call("/api/auth/reset_password", &reset).await;
    let error: AppError = again.json().await.unwrap();
    assert!(error.to_string().contains("already been used"), "{error}");
    let (_, html) = page(&browser, &link).await;
    assert!(html.contains("already been used"));
    assert!(
        audit_log(&db, "acme")
            .await
            .iter()
            .any(|(a, _)| a == "auth.password_reset")
    );
    assert!(sink.messages_to("ghost@acme.test").await.is_empty());
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn an_expired_reset_link_says_so(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let browser = app.browser();
    browser
        .submit(
            "/api/auth/forgot_password",
            "/forgot-password",
            &[("email", "adam@acme.test")],
        )
        .await;
    let link = sink
        .wait_for("adam@acme.test", "Reset your")
        .await
        .link("/reset-password?token=");
    sqlx::query("update auth_token set expires_at = now() - interval '1 minute'")
        .execute(&db.superuser)
        .await
        .unwrap();
    let (_, html) = page(&browser, &link).await;
    assert!(html.contains("This reset link has expired"), "{html}");
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn an_emailed_sign_in_link_signs_in_once(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let browser = app.browser();

    for email in ["gus@globex.test", "olivia@acme.test", "nobody@acme.test"] {
        let response = browser
            .submit(
                "/api/auth/request_link",
                "/o/globex/login",
                &[("email", email), ("org", "globex")],
            )
            .await;
        assert_eq!(
            location(&response),
            "/o/globex/login?link_sent=1",
            "{email}"
        );
    }
    let link = sink
        .wait_for("gus@globex.test", "sign-in link")
        .await
        .link("/o/globex/login/link?token=");
    // Non-members and unknown addresses get no mail.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sink.messages_to("olivia@acme.test").await.is_empty());
    assert!(sink.messages_to("nobody@acme.test").await.is_empty());

    // Opening the link does not sign in (mail scanners open links)…
    let (status, html) = page(&browser, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sign in with your link"));
    assert_eq!(browser.get("/o/globex").await.status(), StatusCode::FOUND);
    // …pressing its button does.
    let token = link.split("token=").nth(1).unwrap();
    let response = browser
        .submit(
            "/api/auth/use_link",
            &link,
            &[("token", token), ("org", "globex")],
        )
        .await;
    assert_eq!(location(&response), "/o/globex");
    let (_, html) = page(&browser, "/o/globex").await;
    assert!(html.contains("an emailed link"));

    let again = app
        .browser()
        .call("/api/auth/use_link", &[("token", token), ("org", "globex")])
        .await;
    let error: AppError = again.json().await.unwrap();
    assert!(error.to_string().contains("already been used"));
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn an_unconfirmed_address_cannot_sign_in_and_gets_a_new_link(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let signed_up = app.browser();
    sign_up(&signed_up, "Una", "una@new.test", "Una Org", "una-org").await;
    sink.wait_for("una@new.test", "Confirm").await;

    let browser = app.browser();
    let response = browser
        .call(
            "/api/auth/sign_in",
            &[
                ("email", "una@new.test"),
                ("password", "correct horse battery"),
                ("org", "una-org"),
            ],
        )
        .await;
    let error: AppError = response.json().await.unwrap();
    assert!(error.to_string().contains("confirm your email"), "{error}");
    for _ in 0..50 {
        if sink.messages_to("una@new.test").await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mails = sink.messages_to("una@new.test").await;
    assert_eq!(mails.len(), 2, "a second confirmation link was sent");
    // The new link, opened in the browser that signed up, confirms and
    // keeps the password; then sign-in works anywhere. (Opened in any other
    // browser it would remove the password: see the pre-hijacking test in
    // tests/sso/attacks.rs.)
    let (status, _) = page(&signed_up, &mails[1].link("/verify-email?token=")).await;
    assert_eq!(status, StatusCode::FOUND);
    let response = browser
        .sign_in("una-org", "una@new.test", "correct horse battery")
        .await;
    assert_eq!(location(&response), "/o/una-org");
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn rate_limits_answer_with_the_wait_and_expire(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let window = Duration::from_secs(2);
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            rate_limits: RateLimits {
                sign_in_per_ip: Limit::per(3, window),
                sign_in_failures_per_account_anywhere: Limit::per(2, window),
                ..RateLimits::default()
            },
            ..AppOptions::default()
        },
    )
    .await;
    let attempt = |ip: &'static str, email: &'static str, password: &'static str| {
        let browser = app.browser();
        async move {
            reqwest::Client::new()
                .post(browser.url("/api/auth/sign_in"))
                .header("origin", browser.base.as_str())
                .header("x-forwarded-for", ip)
                .form(&[("email", email), ("password", password), ("org", "acme")])
                .send()
                .await
                .unwrap()
        }
    };

    // Per account, from anywhere: two failures, then the account waits (the
    // per-address count is tested in hardening.rs).
    for ip in ["10.0.0.1", "10.0.0.2"] {
        assert_eq!(
            attempt(ip, "mia@acme.test", "wrong").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let limited = attempt("10.0.0.3", "mia@acme.test", DEMO_PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let error: AppError = limited.json().await.unwrap();
    let AppError::RateLimited { retry_after_secs } = error else {
        panic!("{error:?}")
    };
    assert!((1..=2).contains(&retry_after_secs));
    assert!(
        error
            .to_string()
            .contains(&format!("Try again in {retry_after_secs} seconds"))
    );

    // Per address: three attempts, then that address waits.
    for _ in 0..3 {
        assert_ne!(
            attempt("10.0.0.9", "adam@acme.test", DEMO_PASSWORD)
                .await
                .status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    assert_eq!(
        attempt("10.0.0.9", "adam@acme.test", DEMO_PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt("10.0.0.8", "adam@acme.test", DEMO_PASSWORD)
            .await
            .status(),
        StatusCode::OK,
        "other addresses are unaffected"
    );

    tokio::time::sleep(window + Duration::from_millis(200)).await;
    assert_eq!(
        attempt("10.0.0.9", "mia@acme.test", DEMO_PASSWORD)
            .await
            .status(),
        StatusCode::OK,
        "limits expire"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn sessions_end_after_the_idle_and_absolute_timeouts(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    for session in [
        SessionPolicy {
            idle: Duration::from_secs(1),
            absolute: Duration::from_secs(600),
            ..SessionPolicy::default()
        },
        SessionPolicy {
            idle: Duration::from_secs(600),
            absolute: Duration::from_secs(1),
            ..SessionPolicy::default()
        },
    ] {
        let app = TestApp::spawn_with(
            &db,
            AppOptions {
                session,
                ..AppOptions::default()
            },
        )
        .await;
        let browser = app.browser();
        browser
            .sign_in("acme", "adam@acme.test", DEMO_PASSWORD)
            .await;
        assert_eq!(browser.get("/o/acme").await.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(
            browser.get("/o/acme").await.status(),
            StatusCode::FOUND,
            "{session:?}"
        );
    }
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn state_changing_requests_from_other_origins_are_refused(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let url = format!("{}/api/auth/sign_in", app.base);
    let form = [
        ("email", "olivia@acme.test"),
        ("password", DEMO_PASSWORD),
        ("org", "acme"),
    ];
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let none = client.post(&url).form(&form).send().await.unwrap();
    assert_eq!(
        none.status(),
        StatusCode::FORBIDDEN,
        "no Origin, no Referer"
    );
    let evil = client
        .post(&url)
        .header("origin", "https://evil.test")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), StatusCode::FORBIDDEN);
    let evil_referer = client
        .post(&url)
        .header("referer", "https://evil.test/x")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(evil_referer.status(), StatusCode::FORBIDDEN);
    let ours = client
        .post(&url)
        .header("referer", format!("{}/o/acme/login", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ours.status(),
        StatusCode::OK,
        "a same-origin Referer is enough"
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from audit_event where action = 'auth.signed_in'"
        )
        .await,
        1
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn pages_carry_security_headers_and_a_nonce_based_csp(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let app = TestApp::spawn(&db).await;
    let response = app.browser().get("/login").await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let csp = header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self' 'nonce-"), "{csp}");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("referrer-policy").as_deref(), Some("same-origin"));
    assert_eq!(
        header("cache-control").as_deref(),
        Some("no-store"),
        "no cache keeps a page"
    );
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the inline bootstrap carries the nonce"
    );

    // Oversized requests are refused before they are read.
    let big = "x".repeat(100 * 1024);
    let response = app
        .browser()
        .call("/api/auth/forgot_password", &[("email", &big)])
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn mail_written_during_an_smtp_outage_arrives_when_smtp_returns(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let sink = SmtpSink::start().await;
    let port = sink.smtp_port;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    sink.stop().await;

    let response = sign_up(
        &app.browser(),
        "Otto",
        "otto@outage.test",
        "Outage Org",
        "outage-org",
    )
    .await;
    assert_eq!(
        location(&response),
        "/signup/check-email",
        "sign-up does not wait for SMTP"
    );

    // The worker tries, fails, and keeps the message for later.
    let mut attempts = 0;
    for _ in 0..50 {
        attempts = sqlx::query_scalar::<_, i32>(
            "select attempts from mail_outbox where to_address = 'otto@outage.test'",
        )
        .fetch_one(&db.superuser)
        .await
        .unwrap();
        if attempts >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(attempts >= 2, "delivery was retried ({attempts})");
    let sent: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select sent_at from mail_outbox where to_address = 'otto@outage.test'")
            .fetch_one(&db.superuser)
            .await
            .unwrap();
    assert!(sent.is_none());

    let sink = SmtpSink::start_on(port).await;
    let mail = sink
        .wait_for("otto@outage.test", "Confirm your email")
        .await;
    assert!(mail.link("/verify-email?token=").starts_with(&app.base));
    db.close().await;
}
