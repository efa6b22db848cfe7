//! Two-step sign-in (authenticator app and recovery codes) over HTTP,
//! against the real router and PostgreSQL — mostly as an attacker who has
//! the password and not the phone: the first factor alone must open
//! nothing, codes work once, guessing locks, a reset voids the wait, and
//! another account's code or another browser's step is worthless.
//!
//! The codes come from an independent RFC 6238 implementation below
//! (checked against the RFC's own test vector), not from the server's
//! library.

use crate::support::{
    TestDb, seeded,
    smtp::SmtpSink,
    web::{AppOptions, Browser, TestApp, location, redirected_error, signed_in},
};
use app::{
    domain::{
        demo::DEMO_PASSWORD,
        rate_limit::{Limit, RateLimits},
    },
    error::AppError,
};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------
// The oracle: RFC 4226 / 6238 by hand.
// ---------------------------------------------------------------------------

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let index = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32") as u64;
        value = (value << 5) | index;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes(hash[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!(
        "{:0width$}",
        binary % 10u32.pow(digits),
        width = digits as usize
    )
}

pub(crate) fn step_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30
}

/// The six-digit code for `step` (the server accepts the current step and
/// one either side).
pub(crate) fn code(secret: &str, step: u64) -> String {
    hotp(&base32_decode(secret), step, 6)
}

#[test]
fn the_oracle_matches_rfc_6238() {
    // RFC 6238 appendix B, SHA-1: T = 59 s → 94287082; T = 1111111109 → 07081804.
    let key = b"12345678901234567890";
    assert_eq!(hotp(key, 59 / 30, 8), "94287082");
    assert_eq!(hotp(key, 1111111109 / 30, 8), "07081804");
    assert_eq!(
        base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
        key.to_vec()
    );
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Turns the authenticator on for the signed-in `browser`; returns the
/// secret, the step its confirming code used, and the recovery codes.
pub(crate) async fn enrol(browser: &Browser) -> (String, u64, Vec<String>) {
    let setup = browser.call("/api/account/totp_setup", &[]).await;
    assert_eq!(setup.status(), StatusCode::OK);
    assert_eq!(
        setup.headers()["cache-control"],
        "no-store",
        "no cache keeps the secret"
    );
    let setup: serde_json::Value = setup.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_string();
    assert!(
        setup["qr_svg"].as_str().unwrap().starts_with("<?xml")
            || setup["qr_svg"].as_str().unwrap().contains("<svg")
    );
    let step = step_now();
    let response = browser
        .submit(
            "/api/account/totp_confirm",
            "/account/two-step",
            &[("code", &code(&secret, step))],
        )
        .await;
    assert_eq!(location(&response), "/account/recovery-codes");
    let codes = browser.call("/api/account/fresh_codes", &[]).await;
    assert_eq!(codes.headers()["cache-control"], "no-store");
    let codes: Vec<String> = codes.json().await.unwrap();
    assert_eq!(codes.len(), 10, "ten recovery codes");
    let again: Vec<String> = browser
        .call("/api/account/fresh_codes", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(again.is_empty(), "the codes are shown once");
    (secret, step, codes)
}

pub(crate) async fn second_step(browser: &Browser, code: &str) -> reqwest::Response {
    browser
        .submit(
            "/api/auth/verify_second_step",
            "/login/second-step",
            &[("code", code)],
        )
        .await
}

/// (action, details) of `slug`'s audit events with `prefix`, oldest first.
async fn events(db: &TestDb, slug: &str, prefix: &str) -> Vec<(String, serde_json::Value)> {
    sqlx::query_as(
        "select a.action, a.details from audit_event a join organization o using (org_id)
         where o.slug = $1 and a.action like $2 || '%' order by a.audit_event_id",
    )
    .bind(slug)
    .bind(prefix)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

/// Six digits that are no code of the steps around `step`.
fn wrong_code(secret: &str, step: u64) -> String {
    (0..)
        .map(|n: u32| format!("{:06}", 100_000 + n * 7919))
        .find(|c| (step - 1..=step + 2).all(|s| code(secret, s) != *c))
        .unwrap()
}

/// The form-level message a failed plain form post carried back.
fn form_error(response: &reqwest::Response) -> String {
    redirected_error(response)
        .and_then(|e| e.form_message(&["code"]))
        .unwrap_or_default()
}

fn field_error(response: &reqwest::Response) -> String {
    match redirected_error(response) {
        Some(e @ AppError::Validation { .. }) => e.message_for("code").unwrap_or_default(),
        other => panic!("expected a code error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[sqlx::test(migrations = false)]
async fn with_an_authenticator_the_password_alone_opens_nothing_and_each_code_works_once(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let (secret, step, _) = enrol(&mia).await;
    assert_eq!(
        events(&db, "acme", "mfa.").await,
        [("mfa.totp_enabled".to_string(), serde_json::json!({}))]
    );
    let flag: bool = sqlx::query_scalar(
        "select second_factor_at is not null from app_user where email = 'mia@acme.test'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert!(flag, "the account is marked as having a second factor");

    // The attacker has the password.
    let attacker = app.browser();
    let response = attacker
        .sign_in("acme", "mia@acme.test", DEMO_PASSWORD)
        .await;
    assert_eq!(location(&response), "/login/second-step");
    for path in ["/o/acme", "/o/acme/projects"] {
        let response = attacker.get(path).await;
        assert_ne!(response.status(), StatusCode::OK, "{path} stays closed");
    }
    for (endpoint, form) in [
        ("/api/session/viewer", vec![("slug", "acme")]),
        ("/api/session/picker", vec![]),
        ("/api/account/get", vec![]),
        ("/api/auth/enter_org", vec![("slug", "acme")]),
        (
            "/api/auth/create_org",
            vec![("org_name", "Mia's Side Org"), ("slug", "mias-side-org")],
        ),
    ] {
        let response = attacker.call(endpoint, &form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{endpoint} refuses a sign-in waiting for its code"
        );
    }
    let orgs: i64 =
        sqlx::query_scalar("select count(*) from organization where slug = 'mias-side-org'")
            .fetch_one(&db.superuser)
            .await
            .unwrap();
    assert_eq!(orgs, 0);

    // Wrong, malformed and replayed codes.
    let wrong = wrong_code(&secret, step);
    assert!(field_error(&second_step(&attacker, &wrong).await).contains("not right"));
    assert!(field_error(&second_step(&attacker, "").await).contains("Enter the code"));
    let long = "9".repeat(500);
    let response = second_step(&attacker, &long).await;
    assert!(field_error(&response).contains("not a code"));
    let replay = second_step(&attacker, &code(&secret, step)).await;
    assert!(
        field_error(&replay).contains("already been used"),
        "the code that confirmed the set-up is spent"
    );
    assert_ne!(attacker.get("/o/acme").await.status(), StatusCode::OK);

    // The owner of the phone: the next code works (typed as apps show it,
    // with a space), once.
    let next = code(&secret, step + 1);
    let response = second_step(&attacker, &format!(" {} {} ", &next[..3], &next[3..])).await;
    assert_eq!(location(&response), "/o/acme");
    assert_eq!(attacker.get("/o/acme").await.status(), StatusCode::OK);

    let other = app.browser();
    let response = other.sign_in("acme", "mia@acme.test", DEMO_PASSWORD).await;
    assert_eq!(location(&response), "/login/second-step");
    let replay = second_step(&other, &next).await;
    assert!(field_error(&replay).contains("already been used"));

    let signed_in: Vec<serde_json::Value> = events(&db, "acme", "auth.signed_in")
        .await
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        signed_in.last().unwrap()["second_factor"],
        "authenticator",
        "{signed_in:?}"
    );
    let failures: Vec<String> = events(&db, "acme", "mfa.check_failed")
        .await
        .into_iter()
        .map(|(_, d)| d["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        failures,
        ["wrong_code", "code_reused", "code_reused"],
        "every checked wrong code is in the log (empty and oversized ones never reach a check)"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn recovery_codes_sign_in_once_each_and_are_replaced_on_request(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let (secret, step, codes) = enrol(&mia).await;

    let browser = app.browser();
    browser
        .sign_in("acme", "mia@acme.test", DEMO_PASSWORD)
        .await;
    // Typed loosely: upper case, spaces around.
    let typed = format!("  {}  ", codes[0].to_uppercase());
    assert_eq!(location(&second_step(&browser, &typed).await), "/o/acme");
    let used = events(&db, "acme", "mfa.recovery_code_used").await;
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].1["codes_left"], 9);

    let again = app.browser();
    again.sign_in("acme", "mia@acme.test", DEMO_PASSWORD).await;
    assert!(field_error(&second_step(&again, &codes[0]).await).contains("not right"));

    // New codes need a current code; the old ones stop working.
    let refused = mia
        .submit(
            "/api/account/recovery_codes",
            "/account",
            &[("code", "not-a-code")],
        )
        .await;
    assert!(field_error(&refused).contains("not right"));
    let response = mia
        .submit(
            "/api/account/recovery_codes",
            "/account",
            &[("code", &code(&secret, step + 1))],
        )
        .await;
    assert_eq!(location(&response), "/account/recovery-codes");
    let fresh: Vec<String> = mia
        .call("/api/account/fresh_codes", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !codes.contains(c)));
    assert!(field_error(&second_step(&again, &codes[1]).await).contains("not right"));
    assert_eq!(location(&second_step(&again, &fresh[3]).await), "/o/acme");

    let stored: Vec<Vec<u8>> = sqlx::query_scalar(
        "select code_hash from recovery_code r join app_user u using (user_id) where u.email = 'mia@acme.test'",
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 32 && !fresh.iter().any(|c| h == c.as_bytes())),
        "only hashes are stored"
    );
    assert_eq!(
        events(&db, "acme", "mfa.recovery_codes_regenerated")
            .await
            .len(),
        1
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn guessing_locks_the_second_step_for_the_account_from_any_address(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            rate_limits: RateLimits {
                second_factor_failures_per_account: Limit::per(3, Duration::from_secs(600)),
                ..RateLimits::default()
            },
            ..AppOptions::default()
        },
    )
    .await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let (secret, step, codes) = enrol(&mia).await;

    let attacker = app.browser();
    attacker
        .sign_in("acme", "mia@acme.test", DEMO_PASSWORD)
        .await;
    for _ in 0..3 {
        let guess = wrong_code(&secret, step);
        let response = attacker
            .call("/api/auth/verify_second_step", &[("code", &guess)])
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let locked = attacker
        .call(
            "/api/auth/verify_second_step",
            &[("code", &code(&secret, step + 1))],
        )
        .await;
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked even for the right code"
    );
    let error: AppError = locked.json().await.unwrap();
    assert!(
        matches!(error, AppError::RateLimited { retry_after_secs } if retry_after_secs > 0),
        "{error:?}"
    );
    assert!(error.to_string().contains("seconds"), "{error}");

    // The lock is the account's, wherever the next try comes from.
    let elsewhere = Browser::from_address(&app.base, "198.51.100.7");
    elsewhere
        .sign_in("acme", "mia@acme.test", DEMO_PASSWORD)
        .await;
    let response = elsewhere
        .call("/api/auth/verify_second_step", &[("code", &codes[0])])
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn another_accounts_code_or_browser_cannot_finish_the_step_and_a_reset_voids_it(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let (_, _, mia_codes) = enrol(&mia).await;
    let told = sink
        .wait_for("mia@acme.test", "Two-step sign-in was turned on")
        .await;
    assert!(told.text.contains("reset it"), "{}", told.text);
    // The attacker is a member with their own authenticator.
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    let (adam_secret, adam_step, adam_codes) = enrol(&adam).await;

    let attacker = app.browser();
    attacker
        .sign_in("acme", "mia@acme.test", DEMO_PASSWORD)
        .await;
    for theirs in [code(&adam_secret, adam_step + 1), adam_codes[0].clone()] {
        assert!(field_error(&second_step(&attacker, &theirs).await).contains("not right"));
    }
    // A browser with no step of its own gets nowhere with Mia's code.
    let stranger = app.browser();
    let response = second_step(&stranger, &mia_codes[0]).await;
    assert!(
        form_error(&response).contains("timed out"),
        "no step in this browser"
    );
    assert_ne!(stranger.get("/o/acme").await.status(), StatusCode::OK);

    // From another site, the form post is refused before it does anything.
    let cross = attacker
        .submit_from_elsewhere("/api/auth/verify_second_step", &[("code", &mia_codes[0])])
        .await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    // Mia resets her password: the attacker's waiting step is void.
    let browser = app.browser();
    browser
        .submit(
            "/api/auth/forgot_password",
            "/forgot-password",
            &[("email", "mia@acme.test")],
        )
        .await;
    let link = sink
        .wait_for("mia@acme.test", "Reset your")
        .await
        .link("/reset-password?token=");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let response = browser
        .submit(
            "/api/auth/reset_password",
            &link,
            &[
                ("token", &token),
                ("password", "a brand new password"),
                ("confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/login?password_reset=1");
    let response = second_step(&attacker, &mia_codes[0]).await;
    assert!(
        form_error(&response).contains("timed out"),
        "the step waits no more after a reset"
    );
    assert_ne!(attacker.get("/o/acme").await.status(), StatusCode::OK);
    // The recovery code was not spent by the refused attempt.
    let fresh = app.browser();
    fresh
        .sign_in("acme", "mia@acme.test", "a brand new password")
        .await;
    assert_eq!(
        location(&second_step(&fresh, &mia_codes[0]).await),
        "/o/acme"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn at_login_the_code_comes_before_the_picker_and_turning_off_needs_a_code(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    // Grace belongs to globex; give her a second org so /login shows the picker.
    let grace = signed_in(&app, "globex", "grace@globex.test").await;
    let response = grace
        .submit(
            "/api/auth/create_org",
            "/orgs/new",
            &[("org_name", "Grace Labs"), ("slug", "grace-labs")],
        )
        .await;
    assert_eq!(location(&response), "/o/grace-labs");
    let (secret, step, codes) = enrol(&grace).await;
    assert_eq!(events(&db, "globex", "mfa.totp_enabled").await.len(), 1);
    assert_eq!(
        events(&db, "grace-labs", "mfa.totp_enabled").await.len(),
        1,
        "recorded in each of her organizations"
    );

    let browser = app.browser();
    let response = browser
        .submit(
            "/api/auth/sign_in",
            "/login",
            &[("email", "grace@globex.test"), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(location(&response), "/login/second-step");
    assert_eq!(
        browser.call("/api/session/picker", &[]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let response = second_step(&browser, &code(&secret, step + 1)).await;
    assert_eq!(location(&response), "/orgs");
    let response = browser
        .submit("/api/auth/enter_org", "/orgs", &[("slug", "grace-labs")])
        .await;
    assert_eq!(location(&response), "/o/grace-labs", "not asked twice");
    let last = events(&db, "grace-labs", "auth.signed_in").await;
    assert_eq!(
        last.last().unwrap().1["second_factor"],
        "earlier_in_sign_in"
    );

    // Turning it off: a wrong code changes nothing; a right one does.
    let refused = browser
        .submit(
            "/api/account/totp_disable",
            "/account",
            &[("code", &wrong_code(&secret, step))],
        )
        .await;
    assert!(field_error(&refused).contains("not right"));
    let on: bool = sqlx::query_scalar(
        "select exists (select 1 from user_totp t join app_user u using (user_id) where u.email = 'grace@globex.test')",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert!(on);
    // The current authenticator code is spent by the sign-in; a recovery
    // code counts as well.
    let response = browser
        .submit(
            "/api/account/totp_disable",
            "/account",
            &[("code", &codes[0])],
        )
        .await;
    assert_eq!(location(&response), "/account?notice=totp_off");
    assert_eq!(events(&db, "globex", "mfa.totp_disabled").await.len(), 1);
    let left: (i64, i64, bool) = sqlx::query_as(
        "select (select count(*) from user_totp t join app_user u using (user_id) where u.email = 'grace@globex.test'),
                (select count(*) from recovery_code r join app_user u using (user_id) where u.email = 'grace@globex.test'),
                (select second_factor_at is null from app_user where email = 'grace@globex.test')",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(left, (0, 0, true));
    let plain = app.browser();
    let response = plain
        .sign_in("globex", "grace@globex.test", DEMO_PASSWORD)
        .await;
    assert_eq!(location(&response), "/o/globex");
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn second_factors_are_visible_only_in_their_owners_own_scope(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    enrol(&mia).await;
    let mia_id = db.user_id("mia@acme.test").await;
    let adam_id = db.user_id("adam@acme.test").await;
    let acme: String =
        sqlx::query_scalar("select org_id::text from organization where slug = 'acme'")
            .fetch_one(&db.superuser)
            .await
            .unwrap();

    let mut conn = db.runtime.acquire().await.unwrap();
    let seen = |org: Option<&str>, user: &str| {
        format!(
            "select set_config('app.org_id', '{}', true), set_config('app.user_id', '{user}', true)",
            org.unwrap_or("")
        )
    };
    for (org, user, expected) in [
        (None, mia_id.as_str(), 1i64),
        (Some(acme.as_str()), mia_id.as_str(), 0),
        (None, adam_id.as_str(), 0),
        (Some(acme.as_str()), adam_id.as_str(), 0),
    ] {
        sqlx::query("begin").execute(&mut *conn).await.unwrap();
        sqlx::query(&seen(org, user))
            .execute(&mut *conn)
            .await
            .unwrap();
        let (totp, codes): (i64, i64) = sqlx::query_as(
            "select (select count(*) from user_totp), (select count(*) from recovery_code)",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(
            (totp, codes),
            (expected, expected * 10),
            "org {org:?} user {user}"
        );
        // Nobody writes a factor for someone else.
        let write = sqlx::query(&format!(
            "insert into recovery_code (user_id, code_hash) values ('{}', '\\x00')",
            if user == mia_id { &adam_id } else { &mia_id }
        ))
        .execute(&mut *conn)
        .await;
        assert!(write.is_err(), "org {org:?} user {user} writes for another");
        sqlx::query("rollback").execute(&mut *conn).await.unwrap();
    }
    drop(conn);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn an_org_that_requires_two_step_sign_in_has_it_set_up_before_anyone_gets_in(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;

    // Only owners decide; hidden buttons are not the check.
    let refused = adam
        .call(
            "/api/settings/require_mfa",
            &[("slug", "acme"), ("required", "true")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let bad = olivia
        .call(
            "/api/settings/require_mfa",
            &[("slug", "acme"), ("required", "yes please")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = olivia
        .submit(
            "/api/settings/require_mfa",
            "/o/acme/settings",
            &[("slug", "acme"), ("required", "true")],
        )
        .await;
    assert_eq!(location(&response), "/o/acme/settings?notice=mfa_required");
    let required = events(&db, "acme", "org.mfa_required").await;
    assert_eq!(required.len(), 1);
    // Sessions that signed in without a second step end at once (Adam's);
    // the owner's own, who just confirmed it was her, carries on.
    assert_eq!(required[0].1["sessions_ended"], 1);
    let status = async |b: &Browser| b.call("/api/account/get", &[]).await.status();
    assert_eq!(status(&adam).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&olivia).await, StatusCode::OK);
    let mail = sink
        .wait_for("mia@acme.test", "now requires two-step sign-in")
        .await;
    assert!(
        mail.text.contains("set up an authenticator app"),
        "{}",
        mail.text
    );
    sink.wait_for("victor@acme.test", "now requires two-step sign-in")
        .await;

    // Mia has no second factor: her next sign-in sets one up first.
    let mia = app.browser();
    let response = mia.sign_in("acme", "mia@acme.test", DEMO_PASSWORD).await;
    assert_eq!(location(&response), "/login/set-up-two-step");
    assert_ne!(mia.get("/o/acme").await.status(), StatusCode::OK);
    let skip = second_step(&mia, "123456").await;
    assert!(
        form_error(&skip).contains("timed out"),
        "no code to skip it with: {:?}",
        redirected_error(&skip)
    );
    let step = mia.call("/api/auth/enrolment_step", &[]).await;
    assert_eq!(step.status(), StatusCode::OK);
    let step: serde_json::Value = step.json().await.unwrap();
    assert_eq!(step["org_name"], "Acme Corporation");
    let secret = step["setup"]["secret"].as_str().unwrap().to_string();
    let now = step_now();
    let wrong = mia
        .submit(
            "/api/auth/confirm_enrolment_step",
            "/login/set-up-two-step",
            &[("code", &wrong_code(&secret, now))],
        )
        .await;
    assert!(field_error(&wrong).contains("not right"));
    assert_ne!(mia.get("/o/acme").await.status(), StatusCode::OK);
    let response = mia
        .submit(
            "/api/auth/confirm_enrolment_step",
            "/login/set-up-two-step",
            &[("code", &code(&secret, now))],
        )
        .await;
    assert_eq!(location(&response), "/account/recovery-codes");
    assert_eq!(mia.get("/o/acme").await.status(), StatusCode::OK);
    sink.wait_for("mia@acme.test", "Two-step sign-in was turned on")
        .await;
    let codes: Vec<String> = mia
        .call("/api/account/fresh_codes", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    let signed_in = events(&db, "acme", "auth.signed_in").await;
    assert_eq!(
        signed_in.last().unwrap().1["second_factor"],
        "authenticator"
    );

    // The member list shows who has it.
    let list: serde_json::Value = olivia
        .call("/api/members/list", &[("slug", "acme")])
        .await
        .json()
        .await
        .unwrap();
    let two_step = |email: &str| {
        list["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == email)
            .unwrap()["two_step"]
            .as_bool()
            .unwrap()
    };
    assert!(two_step("mia@acme.test"));
    assert!(!two_step("victor@acme.test"));

    // Another organization is not affected.
    let grace = app.browser();
    let response = grace
        .sign_in("globex", "grace@globex.test", DEMO_PASSWORD)
        .await;
    assert_eq!(location(&response), "/o/globex");

    let response = olivia
        .submit(
            "/api/settings/require_mfa",
            "/o/acme/settings",
            &[("slug", "acme"), ("required", "false")],
        )
        .await;
    assert_eq!(location(&response), "/o/acme/settings?notice=mfa_optional");
    assert_eq!(events(&db, "acme", "org.mfa_optional").await.len(), 1);
    let victor = app.browser();
    let response = victor
        .sign_in("acme", "victor@acme.test", DEMO_PASSWORD)
        .await;
    assert_eq!(location(&response), "/o/acme");
    db.close().await;
}

async fn setup_secret(browser: &Browser) -> String {
    let response = browser.call("/api/account/totp_setup", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let setup: serde_json::Value = response.json().await.unwrap();
    setup["secret"].as_str().unwrap().to_string()
}

#[sqlx::test(migrations = false)]
async fn a_set_up_belongs_to_the_browser_that_started_it(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    // Mia, and someone who has her password, signed in in another browser.
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let thief = signed_in(&app, "acme", "mia@acme.test").await;
    let first = setup_secret(&mia).await;
    assert_eq!(
        first,
        setup_secret(&mia).await,
        "a reload shows the same secret"
    );
    let stolen = setup_secret(&thief).await;
    assert_ne!(
        stolen, first,
        "another browser never sees the owner's secret"
    );

    // The thief's look started over: Mia's scan no longer confirms, and
    // her reload gives a secret the thief has not seen.
    let stale = mia
        .submit(
            "/api/account/totp_confirm",
            "/account/two-step",
            &[("code", &code(&first, step_now()))],
        )
        .await;
    assert!(
        form_error(&stale).contains("another browser"),
        "{:?}",
        redirected_error(&stale)
    );
    let fresh = setup_secret(&mia).await;
    assert!(fresh != stolen && fresh != first);
    let thiefs = thief
        .submit(
            "/api/account/totp_confirm",
            "/account/two-step",
            &[("code", &code(&stolen, step_now()))],
        )
        .await;
    assert!(form_error(&thiefs).contains("another browser"));
    let response = mia
        .submit(
            "/api/account/totp_confirm",
            "/account/two-step",
            &[("code", &code(&fresh, step_now()))],
        )
        .await;
    assert_eq!(location(&response), "/account/recovery-codes");
    // Once on, no browser sees the secret again.
    assert_eq!(
        thief.call("/api/account/totp_setup", &[]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        mia.call("/api/account/totp_setup", &[]).await.status(),
        StatusCode::CONFLICT
    );
    db.close().await;
}
