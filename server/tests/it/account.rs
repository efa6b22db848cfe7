//! The account page's own changes: the name, and the password while signed
//! in — tried as the person, as someone at their unattended browser, from
//! another site, and with hostile input.

use crate::support::{
    TestDb, seeded,
    smtp::SmtpSink,
    web::{AppOptions, TestApp, location, redirected_error, signed_in},
};
use app::{
    domain::{
        demo::DEMO_PASSWORD,
        rate_limit::{Limit, RateLimits},
        session::SessionPolicy,
    },
    error::{AppError, STEP_UP_FIELD},
};
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

const NEW_PASSWORD: &str = "orchard lantern quietly 58";

async fn events(db: &TestDb, action: &str) -> Vec<(String, serde_json::Value)> {
    sqlx::query_as(
        "select o.slug, a.details from audit_event a join organization o using (org_id)
         where a.action = $1 order by o.slug",
    )
    .bind(action)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

async fn name_of(db: &TestDb, email: &str) -> String {
    sqlx::query_scalar("select display_name from app_user where email = $1")
        .bind(email)
        .fetch_one(&db.superuser)
        .await
        .unwrap()
}

fn field_message(error: &AppError, field: &str) -> String {
    error
        .message_for(field)
        .unwrap_or_else(|| panic!("a message for {field}: {error:?}"))
}

#[sqlx::test(migrations = false)]
async fn a_name_change_is_validated_and_recorded_in_each_organization(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let sam = signed_in(&app, "acme", "sam@consulting.test").await;
    for (hostile, says) in [
        ("   ", "Enter your name"),
        (&"x".repeat(101), "under 100"),
        ("Sam\u{202e}tnatlusnoC", "direction"),
        ("Sam\u{0007}", "cannot be shown"),
    ] {
        let response = sam
            .call("/api/account/change_name", &[("name", hostile)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{hostile:?}"
        );
        let error: AppError = response.json().await.unwrap();
        assert!(field_message(&error, "name").contains(says), "{error:?}");
    }
    assert_eq!(name_of(&db, "sam@consulting.test").await, "Sam Consultant");
    assert!(events(&db, "account.name_changed").await.is_empty());

    // Without JavaScript: a form post, back to the page with a notice.
    let response = sam
        .submit(
            "/api/account/change_name",
            "/account",
            &[("name", "  Samantha   Consultant ")],
        )
        .await;
    assert_eq!(location(&response), "/account?notice=name_changed");
    assert_eq!(
        name_of(&db, "sam@consulting.test").await,
        "Samantha Consultant"
    );
    let recorded = events(&db, "account.name_changed").await;
    assert_eq!(
        recorded
            .iter()
            .map(|(slug, _)| slug.as_str())
            .collect::<Vec<_>>(),
        ["acme", "globex"],
        "both of Sam's organizations see it"
    );
    assert_eq!(recorded[0].1["from"], "Sam Consultant");
    assert_eq!(recorded[0].1["to"], "Samantha Consultant");
    // The same name again changes nothing and records nothing.
    let response = sam
        .submit(
            "/api/account/change_name",
            "/account",
            &[("name", "Samantha Consultant")],
        )
        .await;
    assert_eq!(location(&response), "/account");
    assert_eq!(events(&db, "account.name_changed").await.len(), 2);
    let html = sam.get("/account").await.text().await.unwrap();
    assert!(html.contains("Samantha Consultant"), "the page shows it");

    // From another site, or signed out, nothing happens.
    let cross = sam
        .submit_from_elsewhere("/api/account/change_name", &[("name", "Mallory")])
        .await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let response = app
        .browser()
        .call("/api/account/change_name", &[("name", "Mallory")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        name_of(&db, "sam@consulting.test").await,
        "Samantha Consultant"
    );
}

#[sqlx::test(migrations = false)]
async fn changing_the_password_needs_the_current_one_and_signs_out_the_other_sessions(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let laptop = signed_in(&app, "acme", "olivia@acme.test").await;
    let change = |current: &'static str, new: &'static str| {
        [("current_password", current), ("new_password", new)]
    };

    // Someone at her unattended browser does not know the password.
    let response = olivia
        .call(
            "/api/account/change_password",
            &change("a guess", NEW_PASSWORD),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: AppError = response.json().await.unwrap();
    assert!(field_message(&error, "current_password").contains("not your current password"));
    let response = olivia
        .call("/api/account/change_password", &change("", NEW_PASSWORD))
        .await;
    let error: AppError = response.json().await.unwrap();
    assert!(field_message(&error, "current_password").contains("Enter your current password"));
    // Weak, too short, too long, or the same as now.
    for (new, says) in [
        ("password12", "easy to guess"),
        ("short", "at least 10"),
        (&*"long".repeat(40), ""),
        (DEMO_PASSWORD, ""),
    ] {
        let response = olivia
            .call(
                "/api/account/change_password",
                &[("current_password", DEMO_PASSWORD), ("new_password", new)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{new}");
        let error: AppError = response.json().await.unwrap();
        assert!(
            field_message(&error, "new_password").contains(says),
            "{error:?}"
        );
    }
    // From another site, the post is refused before it does anything.
    let cross = olivia
        .submit_from_elsewhere(
            "/api/account/change_password",
            &change(DEMO_PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(events(&db, "account.password_changed").await.is_empty());
    assert_eq!(
        events(&db, "auth.identity_confirm_failed").await.len(),
        1,
        "the wrong guess is recorded"
    );

    // The person, without JavaScript.
    let response = olivia
        .submit(
            "/api/account/change_password",
            "/account",
            &change(DEMO_PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert_eq!(location(&response), "/account?notice=password_changed");
    assert_eq!(
        olivia.get("/o/acme").await.status(),
        StatusCode::OK,
        "still signed in here"
    );
    assert_ne!(
        laptop.get("/o/acme").await.status(),
        StatusCode::OK,
        "signed out on the other device"
    );
    let told = sink
        .wait_for("olivia@acme.test", "Your Trellis password was changed")
        .await;
    assert!(
        told.text.contains("other sessions were signed out"),
        "{}",
        told.text
    );
    let recorded = events(&db, "account.password_changed").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].1["other_sessions_ended"], true);

    // The old password no longer signs in; the new one does.
    let response = app
        .browser()
        .sign_in("acme", "olivia@acme.test", DEMO_PASSWORD)
        .await;
    assert!(
        redirected_error(&response).is_some(),
        "the old password is refused"
    );
    let response = app
        .browser()
        .sign_in("acme", "olivia@acme.test", NEW_PASSWORD)
        .await;
    assert_eq!(location(&response), "/o/acme");
}

#[sqlx::test(migrations = false)]
async fn other_sessions_can_be_kept_and_wrong_guesses_lock_like_the_login_page(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            rate_limits: RateLimits {
                sign_in_failures_per_account: Limit::per(3, Duration::from_secs(900)),
                ..RateLimits::default().scaled(100)
            },
            ..AppOptions::default()
        },
    )
    .await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let phone = signed_in(&app, "acme", "mia@acme.test").await;
    let response = mia
        .call(
            "/api/account/change_password",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("keep_other_sessions", "on"),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
    assert_eq!(phone.get("/o/acme").await.status(), StatusCode::OK, "kept");
    assert_eq!(
        events(&db, "account.password_changed").await[0].1["other_sessions_ended"],
        false
    );

    for _ in 0..3 {
        let response = mia
            .call(
                "/api/account/change_password",
                &[
                    ("current_password", "guess"),
                    ("new_password", "another long passphrase 9"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let response = mia
        .call(
            "/api/account/change_password",
            &[
                ("current_password", NEW_PASSWORD),
                ("new_password", "another long passphrase 9"),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked, even for the right password"
    );
    assert_eq!(events(&db, "account.password_changed").await.len(), 1);
}

#[sqlx::test(migrations = false)]
async fn an_account_without_a_password_sets_one_only_after_a_recent_sign_in(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            session: SessionPolicy {
                step_up: Duration::ZERO,
                ..SessionPolicy::default()
            },
            ..AppOptions::default()
        },
    )
    .await;
    let max = signed_in(&app, "globex", "max@globex.test").await;
    // Max signs in by single sign-on only, say.
    sqlx::query("update app_user set password_hash = null where email = 'max@globex.test'")
        .execute(&db.superuser)
        .await
        .unwrap();
    let html = max.get("/account").await.text().await.unwrap();
    assert!(html.contains("Set password"), "offered to set one");
    assert!(!html.contains(r#"name="current_password""#));
    let form = [("new_password", NEW_PASSWORD)];
    let response = max.call("/api/account/change_password", &form).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "the session is not recent"
    );
    assert!(matches!(
        response.json::<AppError>().await.unwrap(),
        AppError::StepUpRequired { .. }
    ));
    assert!(events(&db, "account.password_changed").await.is_empty());
    // A "current password" field does not get around it.
    let response = max
        .call(
            "/api/account/change_password",
            &[
                ("new_password", NEW_PASSWORD),
                ("current_password", "anything"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // There is no password to confirm with either.
    let response = max
        .call(
            "/api/account/change_password",
            &[
                ("new_password", NEW_PASSWORD),
                (STEP_UP_FIELD, DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(events(&db, "account.password_changed").await.is_empty());
}

/// Whether an account with `email` exists.
async fn exists(db: &TestDb, email: &str) -> bool {
    sqlx::query_scalar("select exists (select 1 from app_user where email = $1)")
        .bind(email)
        .fetch_one(&db.superuser)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn deleting_the_account_is_confirmed_refused_for_a_last_owner_and_leaves_every_org(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            smtp_url: Some(sink.url()),
            session: SessionPolicy {
                step_up: Duration::ZERO,
                ..SessionPolicy::default()
            },
            ..AppOptions::default()
        },
    )
    .await;

    // Grace is Globex's only owner, and Globex has other members.
    let grace = signed_in(&app, "globex", "grace@globex.test").await;
    let account: app::api::account::Account = grace
        .call("/api/account/get", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(account.deletion.blocked_by, ["Globex"]);
    let form = [("confirm_email", "grace@globex.test")];
    let response = grace.call("/api/account/delete", &form).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "needs a recent sign-in"
    );
    assert!(matches!(
        response.json::<AppError>().await.unwrap(),
        AppError::StepUpRequired { .. }
    ));
    let response = grace
        .call(
            "/api/account/delete",
            &[
                ("confirm_email", "grace@globex.test"),
                (STEP_UP_FIELD, DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let refused = response.json::<AppError>().await.unwrap().to_string();
    assert!(refused.contains("only owner of Globex"), "{refused}");
    assert!(exists(&db, "grace@globex.test").await);
    assert_eq!(grace.get("/o/globex").await.status(), StatusCode::OK);

    // Sam belongs to Acme and Globex, signed in to both.
    let sam = signed_in(&app, "acme", "sam@consulting.test").await;
    let sam_elsewhere = signed_in(&app, "globex", "sam@consulting.test").await;
    let plan: app::api::account::Account = sam
        .call("/api/account/get", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(plan.deletion.blocked_by.is_empty());
    assert_eq!(plan.deletion.leaves, ["Acme Corporation", "Globex"]);
    // From another site: nothing.
    let response = sam
        .submit_from_elsewhere(
            "/api/account/delete",
            &[
                ("confirm_email", "sam@consulting.test"),
                (STEP_UP_FIELD, DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Not the address, another person's, or a wrong password: nothing.
    for (typed, password) in [
        ("sam@consulting", DEMO_PASSWORD),
        ("grace@globex.test", DEMO_PASSWORD),
        ("", DEMO_PASSWORD),
        ("sam@consulting.test", "not the password"),
    ] {
        let response = sam
            .call(
                "/api/account/delete",
                &[("confirm_email", typed), (STEP_UP_FIELD, password)],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed} / {password}"
        );
        assert!(exists(&db, "sam@consulting.test").await);
    }
    let signed_in_as_sam: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where actor_email = 'sam@consulting.test'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();

    let response = sam
        .submit(
            "/api/account/delete",
            "/account",
            &[
                ("confirm_email", " SAM@consulting.test "),
                (STEP_UP_FIELD, DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&response), "/login?account_deleted=1");
    assert!(!exists(&db, "sam@consulting.test").await);
    for browser in [&sam, &sam_elsewhere] {
        assert_eq!(
            browser.call("/api/account/get", &[]).await.status(),
            StatusCode::UNAUTHORIZED,
            "signed out everywhere"
        );
    }
    let left = events(&db, "member.account_deleted").await;
    assert_eq!(
        left.iter()
            .map(|(slug, _)| slug.as_str())
            .collect::<Vec<_>>(),
        ["acme", "globex"]
    );
    assert_eq!(left[0].1["email"], "sam@consulting.test");
    assert_eq!(left[0].1["role"], "admin");
    let kept: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where actor_email = 'sam@consulting.test'
           and action <> 'member.account_deleted'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert!(
        kept >= signed_in_as_sam,
        "the organizations keep the record of what Sam did"
    );
    let gone: i64 = sqlx::query_scalar(
        "select (select count(*) from membership m join app_user u using (user_id)
                  where u.email = 'sam@consulting.test')
              + (select count(*) from user_session s
                  where not exists (select 1 from app_user u where u.user_id = s.user_id))",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(gone, 0, "no membership or session row is left behind");
    let mail = sink
        .wait_for("sam@consulting.test", "Your Trellis account was deleted")
        .await;
    assert!(mail.text.contains("was just deleted"), "{}", mail.text);
    // The address can sign up again; signing in with it finds nobody.
    let response = app
        .browser()
        .sign_in("acme", "sam@consulting.test", DEMO_PASSWORD)
        .await;
    assert!(redirected_error(&response).is_some());

    // Victor is also the only member of an organization of his own: it
    // goes with his account; Acme keeps him in its record.
    for statement in [
        "insert into organization (org_id, slug, name) values (gen_random_uuid(), 'victors', 'Victor''s Lab')",
        "insert into membership (org_id, user_id, role)
           select o.org_id, u.user_id, 'owner' from organization o, app_user u
           where o.slug = 'victors' and u.email = 'victor@acme.test'",
        "insert into audit_event (org_id, audit_event_id, action)
           select org_id, gen_random_uuid(), 'org.created' from organization where slug = 'victors'",
    ] {
        sqlx::query(statement).execute(&db.superuser).await.unwrap();
    }
    let victor = signed_in(&app, "acme", "victor@acme.test").await;
    let plan: app::api::account::Account = victor
        .call("/api/account/get", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan.deletion.deletes, ["Victor's Lab"]);
    assert_eq!(plan.deletion.leaves, ["Acme Corporation"]);
    let html = victor.get("/account").await.text().await.unwrap();
    assert!(html.contains("Delete my account"), "the form is offered");
    let response = victor
        .call(
            "/api/account/delete",
            &[
                ("confirm_email", "victor@acme.test"),
                (STEP_UP_FIELD, DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let orgs: Vec<String> = sqlx::query_scalar("select slug from organization order by slug")
        .fetch_all(&db.superuser)
        .await
        .unwrap();
    assert_eq!(orgs, ["acme", "globex"]);
    let tombstone: (String, serde_json::Value) = sqlx::query_as(
        "select actor_email, details from deleted_organization where slug = 'victors'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(tombstone.0, "victor@acme.test");
    assert_eq!(tombstone.1["audit_events"], 1);
    let mail = sink
        .wait_for("victor@acme.test", "Your Trellis account was deleted")
        .await;
    assert!(mail.text.contains("Victor's Lab"), "{}", mail.text);
    // Grace's page still offers no form, only the reason.
    let html = grace.get("/account").await.text().await.unwrap();
    assert!(html.contains("deletion-blocked") && !html.contains("Delete my account"));
}

#[sqlx::test(migrations = false)]
async fn my_data_is_everything_about_the_person_and_nothing_of_anyone_else(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let response = app.browser().get("/account/my-data.json").await;
    assert_eq!(location(&response), "/login", "signed out: sign in first");

    let _olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let sam = signed_in(&app, "acme", "sam@consulting.test").await;
    let _sam_in_globex = signed_in(&app, "globex", "sam@consulting.test").await;
    let response = sam.get("/account/my-data.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let text = response.text().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["account"]["email"], "sam@consulting.test");
    assert_eq!(doc["account"]["has_password"], true);
    let orgs: Vec<&str> = doc["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["organization"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["Acme Corporation", "Globex"]);
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 2);
    for org in doc["audit_events"].as_array().unwrap() {
        let actions: Vec<&str> = org["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"auth.signed_in"), "{org}");
    }
    // Exactly the events Sam is the actor of.
    let theirs: i64 = sqlx::query_scalar(
        "select count(*) from audit_event a join app_user u on u.user_id = a.actor_user_id
         where u.email = 'sam@consulting.test'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    let listed: usize = doc["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["events"].as_array().unwrap().len())
        .sum();
    assert_eq!(listed as i64, theirs);
    for secret in ["olivia@acme.test", "argon2", "password_hash", "secret"] {
        assert!(!text.contains(secret), "{secret} is not in Sam's data");
    }
}

#[sqlx::test(migrations = false)]
async fn two_owners_deleting_their_accounts_at_once_leave_one_owner(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    sqlx::query("update membership set role = 'owner' where user_id = (select user_id from app_user where email = 'adam@acme.test')")
        .execute(&db.superuser)
        .await
        .unwrap();
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    // Each is the other's fellow owner: only one of them may go.
    let (a, b) = tokio::join!(
        olivia.call(
            "/api/account/delete",
            &[("confirm_email", "olivia@acme.test")]
        ),
        adam.call(
            "/api/account/delete",
            &[("confirm_email", "adam@acme.test")]
        ),
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let owners: i64 = sqlx::query_scalar(
        "select count(*) from membership m join organization o using (org_id)
         where o.slug = 'acme' and m.role = 'owner'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(owners, 1, "Acme keeps an owner");
}
