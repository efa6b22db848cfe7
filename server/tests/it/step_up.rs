//! Step-up: sensitive actions need a recent authentication. These tests run
//! a server whose step-up window is zero, so that every sensitive call needs
//! the password or a code in the same request — as a session older than ten
//! minutes does — and try it the way someone at an unattended, signed-in
//! browser would: without the password, with a wrong one, with a spent code,
//! as a plain form and as the hydrated app.

use crate::{
    second_factor::{code, step_now},
    support::{
        TestDb, seeded,
        web::{AppOptions, Browser, TestApp, location, redirected_error, signed_in},
    },
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

fn always_ask() -> AppOptions {
    AppOptions {
        session: SessionPolicy {
            step_up: Duration::ZERO,
            ..SessionPolicy::default()
        },
        ..AppOptions::default()
    }
}

async fn audit_count(db: &TestDb, slug: &str) -> i64 {
    sqlx::query_scalar(
        "select count(*) from audit_event a join organization o using (org_id) where o.slug = $1",
    )
    .bind(slug)
    .fetch_one(&db.superuser)
    .await
    .unwrap()
}

async fn actions(db: &TestDb, slug: &str, action: &str) -> Vec<serde_json::Value> {
    sqlx::query_scalar(
        "select a.details from audit_event a join organization o using (org_id)
         where o.slug = $1 and a.action = $2 order by a.audit_event_id",
    )
    .bind(slug)
    .bind(action)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

async fn role_of(db: &TestDb, email: &str) -> Option<String> {
    sqlx::query_scalar(
        "select m.role::text from membership m join app_user u using (user_id)
         join organization o using (org_id) where o.slug = 'acme' and u.email = $1",
    )
    .bind(email)
    .fetch_optional(&db.superuser)
    .await
    .unwrap()
}

async fn domain_id(db: &TestDb, domain: &str) -> String {
    sqlx::query_scalar::<_, uuid::Uuid>("select sso_domain_id from sso_domain where domain = $1")
        .bind(domain)
        .fetch_one(&db.superuser)
        .await
        .unwrap()
        .to_string()
}

/// Calls `endpoint` as the hydrated app, without an answer, with a wrong
/// one, and (if `answer` is given) with it: the first two change nothing.
async fn refused_then_done(
    db: &TestDb,
    olivia: &Browser,
    endpoint: &str,
    form: &[(&str, &str)],
    answer: Option<&str>,
) -> reqwest::Response {
    let before = audit_count(db, "acme").await;
    let response = olivia.call(endpoint, form).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "{endpoint} without a confirmation"
    );
    let error: AppError = response.json().await.unwrap();
    assert!(
        matches!(error, AppError::StepUpRequired { .. }),
        "{endpoint}: {error:?}"
    );
    assert!(error.to_string().contains("confirm it's you"), "{error}");
    assert_eq!(
        audit_count(db, "acme").await,
        before,
        "{endpoint}: nothing was done"
    );

    let mut wrong = form.to_vec();
    wrong.push((STEP_UP_FIELD, "not the password at all"));
    let response = olivia.call(endpoint, &wrong).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "{endpoint} with a wrong password"
    );
    let error: AppError = response.json().await.unwrap();
    assert!(
        error
            .message_for(STEP_UP_FIELD)
            .unwrap()
            .contains("not your password"),
        "{error:?}"
    );
    assert_eq!(
        audit_count(db, "acme").await,
        before + 1,
        "{endpoint}: only the failed confirmation is recorded"
    );

    let answer = answer.unwrap_or(DEMO_PASSWORD);
    let mut right = form.to_vec();
    right.push((STEP_UP_FIELD, answer));
    olivia.call(endpoint, &right).await
}

#[sqlx::test(migrations = false)]
async fn every_sensitive_action_is_refused_without_a_recent_sign_in_and_done_with_one(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(&db, always_ask()).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let mia = db.user_id("mia@acme.test").await;
    let victor = db.user_id("victor@acme.test").await;

    // Plain role changes between member and viewer are not sensitive.
    let response = olivia
        .call(
            "/api/members/change_role",
            &[("slug", "acme"), ("user_id", &victor), ("role", "member")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        role_of(&db, "victor@acme.test").await.as_deref(),
        Some("member")
    );

    // Granting admin is.
    let form = [
        ("slug", "acme"),
        ("user_id", mia.as_str()),
        ("role", "admin"),
    ];
    let response = refused_then_done(&db, &olivia, "/api/members/change_role", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        role_of(&db, "mia@acme.test").await.as_deref(),
        Some("admin")
    );
    // Taking it away again too.
    let form = [
        ("slug", "acme"),
        ("user_id", mia.as_str()),
        ("role", "member"),
    ];
    let response = refused_then_done(&db, &olivia, "/api/members/change_role", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        role_of(&db, "mia@acme.test").await.as_deref(),
        Some("member")
    );

    let form = [("slug", "acme"), ("user_id", victor.as_str())];
    let response = refused_then_done(&db, &olivia, "/api/members/remove", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        role_of(&db, "victor@acme.test").await,
        None,
        "victor is removed"
    );

    let form = [("slug", "acme"), ("days", "30")];
    let response = refused_then_done(&db, &olivia, "/api/audit/retention", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);

    let form = [("slug", "acme"), ("required", "true")];
    let response = refused_then_done(&db, &olivia, "/api/settings/require_mfa", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let form = [("slug", "acme"), ("required", "false")];
    let response = refused_then_done(&db, &olivia, "/api/settings/require_mfa", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);

    let form = [("slug", "acme"), ("domain", "acme-step-up.test")];
    let response = refused_then_done(&db, &olivia, "/api/sso/domains/add", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = domain_id(&db, "acme-step-up.test").await;
    let form = [("slug", "acme"), ("domain_id", id.as_str())];
    // The look-up fails (no DNS here); the check itself is what is guarded.
    let response = refused_then_done(&db, &olivia, "/api/sso/domains/verify", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = refused_then_done(&db, &olivia, "/api/sso/domains/remove", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);

    // The connection's settings: refused before the provider is even asked.
    for (endpoint, form) in [
        (
            "/api/sso/save",
            vec![
                ("slug", "acme"),
                ("issuer_url", "https://idp.example.test"),
                ("client_id", "trellis"),
                ("client_secret", "s3cret"),
                ("default_role", "member"),
            ],
        ),
        ("/api/sso/enable", vec![("slug", "acme"), ("on", "true")]),
        ("/api/sso/enforce", vec![("slug", "acme"), ("on", "true")]),
    ] {
        let before = audit_count(&db, "acme").await;
        let response = olivia.call(endpoint, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{endpoint}");
        let error: AppError = response.json().await.unwrap();
        assert!(
            matches!(error, AppError::StepUpRequired { .. }),
            "{endpoint}: {error:?}"
        );
        assert_eq!(audit_count(&db, "acme").await, before);
    }

    // Every confirmation is in the audit log, with how it was made.
    let confirmed = actions(&db, "acme", "auth.identity_confirmed").await;
    assert_eq!(confirmed.len(), 9);
    assert!(confirmed.iter().all(|d| d["method"] == "password"));
    let failed = actions(&db, "acme", "auth.identity_confirm_failed").await;
    assert_eq!(failed.len(), 9);

    // Deleting the organization, last.
    let form = [("slug", "acme"), ("confirm_name", "Acme Corporation")];
    let response = refused_then_done(&db, &olivia, "/api/settings/delete", &form, None).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
    let left: i64 = sqlx::query_scalar("select count(*) from organization where slug = 'acme'")
        .fetch_one(&db.superuser)
        .await
        .unwrap();
    assert_eq!(left, 0, "the organization is deleted");
}

#[sqlx::test(migrations = false)]
async fn a_member_without_the_role_is_refused_before_being_asked_to_confirm(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(&db, always_ask()).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let victor = db.user_id("victor@acme.test").await;
    for reauth in [None, Some(DEMO_PASSWORD)] {
        let mut form = vec![("slug", "acme"), ("user_id", victor.as_str())];
        form.extend(reauth.map(|r| (STEP_UP_FIELD, r)));
        let response = mia.call("/api/members/remove", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let error: AppError = response.json().await.unwrap();
        assert_eq!(error, AppError::Forbidden, "the role decides first");
    }
    assert_eq!(
        role_of(&db, "victor@acme.test").await.as_deref(),
        Some("viewer")
    );
    assert!(
        actions(&db, "acme", "auth.identity_confirmed")
            .await
            .is_empty()
    );
}

#[sqlx::test(migrations = false)]
async fn without_javascript_the_form_comes_back_asking_for_the_password_and_keeps_its_row(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(&db, always_ask()).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let victor = db.user_id("victor@acme.test").await;
    let page = format!("/o/acme/members?remove={victor}");
    let response = olivia
        .submit(
            "/api/members/remove",
            &page,
            &[("slug", "acme"), ("user_id", &victor)],
        )
        .await;
    let back = location(&response);
    assert!(
        back.starts_with(&olivia.url(&page)),
        "back to the form: {back}"
    );
    let error = redirected_error(&response).expect("the error travels back");
    assert!(matches!(error, AppError::StepUpRequired { .. }));
    assert_eq!(error.value_for("user_id").as_deref(), Some(victor.as_str()));
    let html = olivia.get(&back).await.text().await.unwrap();
    assert!(html.contains("Confirm it"), "the page asks in place");
    assert!(
        html.contains(r#"name="reauth""#),
        "with a password field in the form"
    );
    assert_eq!(
        role_of(&db, "victor@acme.test").await.as_deref(),
        Some("viewer")
    );

    // A wrong password, sent from the page that came back: the new error
    // replaces the old one in the address (not appended after it).
    let response = olivia
        .submit(
            "/api/members/remove",
            &back,
            &[
                ("slug", "acme"),
                ("user_id", &victor),
                (STEP_UP_FIELD, "a wrong guess"),
            ],
        )
        .await;
    let again = location(&response);
    assert_eq!(again.matches("__err=").count(), 1, "{again}");
    let error = redirected_error(&response).expect("the error travels back");
    assert!(
        error
            .message_for(STEP_UP_FIELD)
            .unwrap()
            .contains("not your password"),
        "{error:?}"
    );

    let response = olivia
        .submit(
            "/api/members/remove",
            &again,
            &[
                ("slug", "acme"),
                ("user_id", &victor),
                (STEP_UP_FIELD, DEMO_PASSWORD),
            ],
        )
        .await;
    assert!(
        location(&response).contains("notice=removed"),
        "{}",
        location(&response)
    );
    assert_eq!(role_of(&db, "victor@acme.test").await, None);
}

#[sqlx::test(migrations = false)]
async fn an_authenticator_code_confirms_once_and_setting_one_up_needs_a_confirmation(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(&db, always_ask()).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;

    // Someone at her unattended browser cannot tie the account to their phone.
    let setup: serde_json::Value = olivia
        .call("/api/account/totp_setup", &[])
        .await
        .json()
        .await
        .unwrap();
    let secret = setup["secret"].as_str().unwrap().to_string();
    let step = step_now();
    let response = olivia
        .call(
            "/api/account/totp_confirm",
            &[("code", &code(&secret, step))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(matches!(
        response.json::<AppError>().await.unwrap(),
        AppError::StepUpRequired { .. }
    ));
    let on: bool = sqlx::query_scalar(
        "select second_factor_at is not null from app_user where email = 'olivia@acme.test'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert!(!on, "nothing was turned on");
    let response = olivia
        .call(
            "/api/account/totp_confirm",
            &[
                ("code", &code(&secret, step)),
                (STEP_UP_FIELD, DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );

    // Now a code confirms a sensitive action, once.
    let mia = db.user_id("mia@acme.test").await;
    let next = code(&secret, step + 1);
    let form = [
        ("slug", "acme"),
        ("user_id", mia.as_str()),
        ("role", "admin"),
        (STEP_UP_FIELD, next.as_str()),
    ];
    let response = olivia.call("/api/members/change_role", &form).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
    let form = [
        ("slug", "acme"),
        ("user_id", mia.as_str()),
        ("role", "member"),
        (STEP_UP_FIELD, next.as_str()),
    ];
    let response = olivia.call("/api/members/change_role", &form).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a spent code"
    );
    assert_eq!(
        role_of(&db, "mia@acme.test").await.as_deref(),
        Some("admin")
    );
    let confirmed = actions(&db, "acme", "auth.identity_confirmed").await;
    assert_eq!(
        confirmed
            .iter()
            .map(|d| d["method"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["password", "authenticator"]
    );
    assert_eq!(actions(&db, "acme", "mfa.check_failed").await.len(), 1);
}

#[sqlx::test(migrations = false)]
async fn wrong_passwords_at_a_confirmation_count_like_wrong_passwords_at_sign_in(
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
            ..always_ask()
        },
    )
    .await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let form = |answer: &'static str| [("slug", "acme"), ("days", "30"), (STEP_UP_FIELD, answer)];
    for _ in 0..3 {
        let response = olivia.call("/api/audit/retention", &form("guess")).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let response = olivia
        .call("/api/audit/retention", &form(DEMO_PASSWORD))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked like the login page, even for the right password"
    );
    // And the login page is locked for the account too: one budget.
    let response = app
        .browser()
        .sign_in("acme", "olivia@acme.test", DEMO_PASSWORD)
        .await;
    assert!(
        redirected_error(&response).is_some_and(|e| matches!(e, AppError::RateLimited { .. })),
        "{:?}",
        response.headers().get("location")
    );
}

#[sqlx::test(migrations = false)]
async fn a_fresh_sign_in_needs_no_confirmation(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let mia = db.user_id("mia@acme.test").await;
    let response = olivia
        .call(
            "/api/members/change_role",
            &[("slug", "acme"), ("user_id", &mia), ("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        role_of(&db, "mia@acme.test").await.as_deref(),
        Some("admin")
    );
    assert!(
        actions(&db, "acme", "auth.identity_confirmed")
            .await
            .is_empty()
    );
}

#[sqlx::test(migrations = false)]
async fn signing_in_again_counts_as_a_recent_sign_in(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            session: SessionPolicy {
                step_up: Duration::from_secs(2),
                ..SessionPolicy::default()
            },
            ..AppOptions::default()
        },
    )
    .await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let form = [("slug", "acme"), ("days", "30")];
    let response = olivia.call("/api/audit/retention", &form).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "the sign-in is too old now"
    );

    // The prompt's "Sign in again" opens the login page, signed in or not.
    let response = olivia.get("/o/acme/login").await;
    assert!(response.status().is_redirection(), "a member is sent home");
    let response = olivia.get("/o/acme/login?again=1").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"name="password""#), "with the sign-in form");
    let response = olivia
        .sign_in("acme", "olivia@acme.test", DEMO_PASSWORD)
        .await;
    assert_eq!(location(&response), "/o/acme");
    let response = olivia.call("/api/audit/retention", &form).await;
    assert_eq!(response.status(), StatusCode::OK, "a fresh sign-in counts");
}

async fn pending_invitations(db: &TestDb, email: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "select invitation_id::text, role::text from invitation
         where email = $1 and accepted_at is null and revoked_at is null",
    )
    .bind(email)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

#[sqlx::test(migrations = false)]
async fn inviting_an_admin_or_owner_needs_a_recent_sign_in_and_inviting_a_member_does_not(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(&db, always_ask()).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;

    // An invitation is a role grant that waits for its address: someone at
    // an unattended browser must not be able to send themselves admin.
    for role in ["admin", "owner"] {
        let email = format!("new-{role}@elsewhere.test");
        let form = [("slug", "acme"), ("emails", email.as_str()), ("role", role)];
        let response = refused_then_done(&db, &olivia, "/api/members/invite", &form, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{role}");
        assert_eq!(pending_invitations(&db, &email).await.len(), 1);
    }
    let form = [
        ("slug", "acme"),
        ("emails", "new-member@elsewhere.test"),
        ("role", "member"),
    ];
    let response = olivia.call("/api/members/invite", &form).await;
    assert_eq!(response.status(), StatusCode::OK, "a member invitation");

    // Resending sends a new, working link: the same rule as sending it.
    let (admin_invitation, _) = pending_invitations(&db, "new-admin@elsewhere.test")
        .await
        .remove(0);
    let form = [
        ("slug", "acme"),
        ("invitation_id", admin_invitation.as_str()),
    ];
    let response =
        refused_then_done(&db, &olivia, "/api/members/resend_invitation", &form, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (member_invitation, _) = pending_invitations(&db, "new-member@elsewhere.test")
        .await
        .remove(0);
    let response = olivia
        .call(
            "/api/members/resend_invitation",
            &[("slug", "acme"), ("invitation_id", &member_invitation)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "a member invitation");
}

#[sqlx::test(migrations = false)]
async fn a_session_made_from_an_earlier_sign_in_is_as_old_as_that_sign_in(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            session: SessionPolicy {
                step_up: Duration::from_secs(2),
                ..SessionPolicy::default()
            },
            ..AppOptions::default()
        },
    )
    .await;

    // Creating an organization while signed in starts a session there; it
    // is not a new sign-in.
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = olivia
        .submit(
            "/api/auth/create_org",
            "/orgs/new",
            &[("org_name", "Hooli"), ("slug", "hooli")],
        )
        .await;
    assert_eq!(location(&response), "/o/hooli");
    let response = olivia
        .call("/api/audit/retention", &[("slug", "hooli"), ("days", "30")])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "the sign-in behind the new session is too old"
    );

    // Nor is entering an organization from the picker a while after the
    // password was typed.
    let sam = app.browser();
    let response = sam
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
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = sam
        .submit("/api/auth/enter_org", "/orgs", &[("slug", "acme")])
        .await;
    assert_eq!(location(&response), "/o/acme");
    let victor = db.user_id("victor@acme.test").await;
    let response = sam
        .call(
            "/api/members/remove",
            &[("slug", "acme"), ("user_id", &victor)],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "the password was typed too long ago"
    );
    assert_eq!(
        role_of(&db, "victor@acme.test").await.as_deref(),
        Some("viewer")
    );
}

#[sqlx::test(migrations = false)]
async fn a_password_is_checked_as_typed_spaces_and_all(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let spaced = "  correct horse battery  ";
    let hash = app::domain::password::hash(&app::validation::NewPassword::parse(spaced).unwrap())
        .await
        .unwrap();
    sqlx::query("update app_user set password_hash = $1 where email = 'olivia@acme.test'")
        .bind(hash)
        .execute(&db.superuser)
        .await
        .unwrap();
    let app = TestApp::spawn_with(&db, always_ask()).await;
    let olivia = app.browser();
    let response = olivia.sign_in("acme", "olivia@acme.test", spaced).await;
    assert_eq!(location(&response), "/o/acme", "the login page takes it");
    let form = |answer| [("slug", "acme"), ("days", "30"), (STEP_UP_FIELD, answer)];
    let response = olivia
        .call("/api/audit/retention", &form(spaced.trim()))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "without its spaces it is another password"
    );
    let response = olivia.call("/api/audit/retention", &form(spaced)).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
}
