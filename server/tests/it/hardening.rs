//! Attacks on the safe defaults: hostile names, development conveniences
//! reached from outside, redirect and error-message spoofing, expensive work
//! before cheap checks, floods, lockouts, crafted cursors, slow exports,
//! spreadsheet formulas, and credential columns. Each test is what an
//! attacker would try, run against the real router and real PostgreSQL.

use crate::support::{
    seeded,
    smtp::{Delivered, SmtpSink},
    web::{AppOptions, Browser, TestApp, location, redirected_error, signed_in},
};
use app::{
    domain::{
        demo::DEMO_PASSWORD,
        rate_limit::{Limit, RateLimits},
    },
    error::AppError,
};
use base64::Engine;
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

// ---------------------------------------------------------------------------
// 1. Markup injection
// ---------------------------------------------------------------------------

/// Names a hostile person gives themselves and their organization. Each
/// carries an element with `id=injected`, which must never reach a page or
/// a mail as markup.
const HOSTILE_PERSON: &str = "Mallory\"><b id=injected>x</b>'";
const HOSTILE_ORG: &str = "Globex</title><h1 id=injected>X</h1>";
const HOSTILE_RENAME: &str = "</script><script id=injected>alert(1)</script>";

/// Fails when `html` contains an element whose start tag carries
/// `id=injected` (escaped text shows it as `&lt;h1 id=injected&gt;`).
#[track_caller]
fn assert_no_injected_markup(what: &str, html: &str) {
    for (at, _) in html.match_indices(" id=injected") {
        let before = html[..at].trim_end_matches(|c: char| c.is_ascii_alphanumeric());
        assert!(
            !before.ends_with('<'),
            "{what} renders injected markup: …{}…",
            &html[before.len().saturating_sub(80)..(at + 40).min(html.len())]
        );
    }
}

#[track_caller]
fn assert_mail_is_clean(mail: &Delivered) {
    assert_no_injected_markup(&format!("mail {:?}", mail.subject), &mail.html);
    assert!(
        !mail.subject.contains(['\r', '\n']),
        "subject {:?}",
        mail.subject
    );
    for key in &mail.headers {
        assert!(
            !["bcc", "x-injected"].contains(&key.as_str()),
            "mail {:?} carries an injected {key} header: {:?}",
            mail.subject,
            mail.headers
        );
    }
}

async fn html_of(browser: &Browser, path: &str) -> String {
    let response = browser.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

#[sqlx::test(migrations = false)]
async fn hostile_names_never_become_markup_in_pages_or_mail(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let browser = app.browser();

    let signed_up = browser
        .submit(
            "/api/auth/sign_up",
            "/signup",
            &[
                ("name", HOSTILE_PERSON),
                ("email", "mallory@evil.test"),
                ("password", "violet anchor quietly 93"),
                ("org_name", HOSTILE_ORG),
                ("slug", "evil"),
            ],
        )
        .await;
    assert_eq!(
        location(&signed_up),
        "/signup/check-email",
        "{:?}",
        redirected_error(&signed_up)
    );
    let confirm = sink
        .wait_for("mallory@evil.test", "Confirm your email")
        .await;
    assert_mail_is_clean(&confirm);
    // The link signs the new owner in.
    let verified = browser.get(&confirm.link("/verify-email?token=")).await;
    assert_eq!(verified.status(), StatusCode::FOUND);
    assert_eq!(browser.get("/o/evil").await.status(), StatusCode::OK);

    // The public login page: its <title> names the org.
    let login = html_of(&app.browser(), "/o/evil/login").await;
    assert_no_injected_markup("the org's login page", &login);
    assert!(
        login.contains("<title>Sign in to Globex&lt;/title&gt;"),
        "{login}"
    );

    // An invitation from the hostile person in the hostile org.
    let invited = browser
        .submit(
            "/api/members/invite",
            "/o/evil/members",
            &[
                ("slug", "evil"),
                ("emails", "victim@else.test"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(
        location(&invited).split('?').next(),
        Some("/o/evil/members")
    );
    let invitation = sink.wait_for("victim@else.test", "invited you").await;
    assert_mail_is_clean(&invitation);
    let invite_page = html_of(&app.browser(), &invitation.link("/invite")).await;
    assert_no_injected_markup("the invitation page", &invite_page);

    // Renamed to something that tries to close the hydration data's script.
    let renamed = browser
        .submit(
            "/api/settings/rename",
            "/o/evil/settings",
            &[("slug", "evil"), ("name", HOSTILE_RENAME)],
        )
        .await;
    assert!(location(&renamed).starts_with("/o/evil/settings"));
    for path in [
        "/o/evil",
        "/o/evil/members",
        "/o/evil/settings",
        "/o/evil/audit",
        "/o/evil/sso",
    ] {
        let html = html_of(&browser, path).await;
        assert_no_injected_markup(path, &html);
    }

    // A row written before names were checked (CR/LF in it) cannot add
    // headers to the mail it appears in.
    sqlx::query("update organization set name = $1 where slug = 'evil'")
        .bind("Evil\r\nBcc: leak@attacker.test\r\nX-Injected: 1")
        .execute(&db.superuser)
        .await
        .unwrap();
    let resent = browser
        .submit(
            "/api/members/resend_invitation",
            "/o/evil/members",
            &[
                ("slug", "evil"),
                (
                    "invitation_id",
                    &db.pending_invitation("victim@else.test").await,
                ),
            ],
        )
        .await;
    assert!(
        location(&resent).starts_with("/o/evil/members"),
        "{:?}",
        redirected_error(&resent)
    );
    let mails = loop {
        let mails = sink.messages_to("victim@else.test").await;
        if mails.len() >= 2 {
            break mails;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for mail in &mails {
        assert_mail_is_clean(mail);
    }
    assert!(sink.messages_to("leak@attacker.test").await.is_empty());
    for path in ["/o/evil", "/o/evil/members"] {
        let html = html_of(&browser, path).await;
        assert_no_injected_markup(path, &html);
    }
    let login = html_of(&app.browser(), "/o/evil/login").await;
    assert_no_injected_markup("the renamed org's login page", &login);
}

#[sqlx::test(migrations = false)]
async fn names_with_direction_overrides_are_refused(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let response = app
        .browser()
        .call(
            "/api/auth/sign_up",
            &[
                ("name", "Alice \u{202e}nimda"),
                ("email", "alice@else.test"),
                ("password", "violet anchor quietly 93"),
                ("org_name", "Shop\u{2066}x"),
                ("slug", "shop"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: AppError = response.json().await.unwrap();
    assert!(error.message_for("name").is_some(), "{error:?}");
    assert!(error.message_for("org_name").is_some(), "{error:?}");
}

#[sqlx::test(migrations = false)]
async fn hostile_claims_on_the_sso_test_result_stay_text(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use crate::support::peers::{Provider, ProviderOptions};
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let admin = signed_in(&app, "acme", "adam@acme.test").await;
    let saved = admin
        .save_sso_connection("acme", &provider.issuer, "trellis-secret", "member")
        .await;
    assert_eq!(location(&saved), "/o/acme/sso?notice=saved");
    provider
        .register_redirect_uri(&admin.sso_redirect_uri("acme").await)
        .await;
    // The subject is whatever the provider says: here, markup.
    let callback = admin
        .through_provider(
            "/sso/start?org=acme&test=1",
            "\"><svg id=injected></svg></title><h1 id=injected>",
        )
        .await;
    let tested = admin.get(&callback).await;
    assert_eq!(location(&tested), "/o/acme/sso?notice=tested");
    let page = html_of(&admin, "/o/acme/sso?notice=tested").await;
    assert!(page.contains("id=injected"), "the claims are shown");
    assert_no_injected_markup("the SSO test result", &page);
}

// ---------------------------------------------------------------------------
// 2. Development conveniences
// ---------------------------------------------------------------------------

#[sqlx::test(migrations = false)]
async fn the_development_mailbox_serves_loopback_clients_only(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let local = app.browser();
    assert_eq!(
        local.call("/api/dev/mailbox", &[]).await.status(),
        StatusCode::OK
    );
    // Someone on the network (a proxy in front says who).
    let remote = Browser::from_address(&app.base, "203.0.113.5");
    assert_eq!(
        remote.call("/api/dev/mailbox", &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(
        !remote
            .call("/api/session/dev_mode", &[])
            .await
            .json::<bool>()
            .await
            .unwrap(),
        "remote clients are not told to look there"
    );
}

#[sqlx::test(migrations = false)]
async fn the_development_mailbox_is_off_when_mail_really_goes_out(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    assert_eq!(
        app.browser().call("/api/dev/mailbox", &[]).await.status(),
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------
// 3. Open redirects
// ---------------------------------------------------------------------------

#[sqlx::test(migrations = false)]
async fn sign_out_continues_only_on_this_origin(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let base = reqwest::Url::parse(&app.base).unwrap();
    for next in [
        "/\t/evil.example/x",
        "/\n/evil.example/x",
        "/\r\n/evil.example/x",
        "//evil.example/x",
        "/\\evil.example/x",
        "\\\\evil.example/x",
        "\\/evil.example/x",
        "/%09/evil.example/x",
        "/%5C/evil.example",
        " //evil.example/x",
        "https://evil.example/x",
        "http://127.0.0.1@evil.example/x",
        &format!("{}@evil.example/x", app.base),
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<h1>x</h1>",
        "http:evil.example",
        "https:/\\evil.example",
        "/\u{3000}/evil.example",
        "///evil.example",
    ] {
        let browser = signed_in(&app, "acme", "mia@acme.test").await;
        let response = browser
            .submit("/api/auth/sign_out", "/o/acme", &[("next", next)])
            .await;
        let target = location(&response);
        let resolved = base.join(&target).unwrap();
        assert_eq!(
            resolved.origin(),
            base.origin(),
            "next={next:?} sent the browser to {target:?}"
        );
        assert!(!target.contains(['\t', '\n', '\r', '\\']), "{target:?}");
    }
    // A page of this site is kept.
    let browser = signed_in(&app, "acme", "mia@acme.test").await;
    let response = browser
        .submit(
            "/api/auth/sign_out",
            "/o/acme",
            &[("next", "/invite?token=abc")],
        )
        .await;
    assert_eq!(location(&response), "/invite?token=abc");
}

// ---------------------------------------------------------------------------
// 4. Spoofed form errors
// ---------------------------------------------------------------------------

fn forged_error_link(path: &str, message: &str) -> String {
    let error = serde_json::to_vec(&AppError::Conflict(message.into())).unwrap();
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(error);
    format!("{path}?__path=%2Fapi%2Fauth%2Fsign_in&__err={encoded}")
}

#[sqlx::test(migrations = false)]
async fn a_crafted_error_link_shows_nothing_but_a_real_one_round_trips(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let lie = "Your account is locked. Call +1 555 0100";

    let victim = app.browser();
    let forged = victim.get(&forged_error_link("/o/acme/login", lie)).await;
    let status = forged.status();
    let html = if status.is_redirection() {
        victim.get(&location(&forged)).await.text().await.unwrap()
    } else {
        forged.text().await.unwrap()
    };
    assert!(!html.contains("Call +1 555"), "the forged message is shown");

    // A real failed sign-in without JavaScript still shows its message.
    let person = app.browser();
    let failed = person
        .sign_in("acme", "mia@acme.test", "wrong password")
        .await;
    let back = location(&failed);
    assert!(back.contains("__err="), "{back}");
    let page = person.get(&back).await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "{back} {:?}",
        person.cookie()
    );
    let page = page.text().await.unwrap();
    assert!(page.contains("Check them and try again"), "{page}");

    // The same link, sent to someone else, shows them nothing.
    let other = app.browser();
    let page = other.get(&back).await;
    let page = if page.status().is_redirection() {
        other.get(&location(&page)).await.text().await.unwrap()
    } else {
        page.text().await.unwrap()
    };
    assert!(
        !page.contains("Check them and try again"),
        "another browser is shown the error"
    );
}

#[sqlx::test(migrations = false)]
async fn the_server_never_seals_an_error_it_did_not_produce(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let lie = "Your account is locked. Call +1 555 0100";
    let error = serde_json::to_vec(&AppError::Conflict(lie.into())).unwrap();
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(error);
    // A slug that smuggles an error into the login redirect of a route the
    // victim's browser is sent to.
    let smuggled = format!(
        "/o/acme%2Flogin%3F__path%3D%252Fapi%252Fauth%252Fsign_in%26__err%3D{}%26x%3D/audit.csv",
        encoded.replace('=', "%253D")
    );
    let victim = app.browser();
    let mut path = smuggled;
    for _ in 0..5 {
        let response = victim.get(&path).await;
        if !response.status().is_redirection() {
            let html = response.text().await.unwrap();
            assert!(
                !html.contains("Call +1 555"),
                "the smuggled message is shown"
            );
            return;
        }
        path = location(&response);
    }
    panic!("too many redirects");
}

#[sqlx::test(migrations = false)]
async fn a_second_error_appended_to_a_sealed_link_is_not_shown(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let person = app.browser();
    let failed = person
        .sign_in("acme", "mia@acme.test", "wrong password")
        .await;
    let sealed = location(&failed);
    let lie = serde_json::to_vec(&AppError::Conflict("Call +1 555 0100".into())).unwrap();
    let tampered = format!(
        "{sealed}&__path=%2Fapi%2Fauth%2Fsign_in&__err={}",
        base64::engine::general_purpose::URL_SAFE.encode(lie)
    );
    let response = person.get(&tampered).await;
    let html = if response.status().is_redirection() {
        person.get(&location(&response)).await.text().await.unwrap()
    } else {
        response.text().await.unwrap()
    };
    assert!(
        !html.contains("Call +1 555"),
        "the appended message is shown"
    );
}

// ---------------------------------------------------------------------------
// 5. Hashing before checking
// ---------------------------------------------------------------------------

fn tight_ip_limit() -> AppOptions {
    AppOptions {
        rate_limits: RateLimits {
            sign_in_per_ip: Limit::per(3, Duration::from_secs(600)),
            ..RateLimits::default().scaled(100)
        },
        ..AppOptions::default()
    }
}

#[sqlx::test(migrations = false)]
async fn setting_a_password_with_a_token_is_rate_limited_per_address(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(&db, tight_ip_limit()).await;
    for (endpoint, form) in [
        (
            "/api/auth/reset_password",
            vec![
                ("token", "A".repeat(43)),
                ("password", "violet anchor quietly 93".to_string()),
                ("confirm", "violet anchor quietly 93".to_string()),
            ],
        ),
        (
            "/api/invitations/accept_new",
            vec![
                ("token", "B".repeat(43)),
                ("name", "Someone".to_string()),
                ("password", "violet anchor quietly 93".to_string()),
            ],
        ),
    ] {
        // Each endpoint from its own address (they share one limit).
        let ip = if endpoint.contains("reset") {
            "198.51.100.20"
        } else {
            "198.51.100.21"
        };
        let attacker = Browser::from_address(&app.base, ip);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(attacker.call(endpoint, &form).await.status());
        }
        assert_eq!(
            statuses.last(),
            Some(&StatusCode::TOO_MANY_REQUESTS),
            "{endpoint}: {statuses:?}"
        );
        assert!(
            statuses[..3]
                .iter()
                .all(|s| *s != StatusCode::TOO_MANY_REQUESTS)
        );
    }
}

#[sqlx::test(migrations = false)]
async fn a_bad_token_costs_no_password_hash(_: PgPoolOptions, connect: PgConnectOptions) {
    use app::domain::{auth, password, request::RequestMeta};
    use app::validation::NewPassword;
    let db = seeded(connect).await;
    let limits = RateLimits::default();
    let meta = RequestMeta::default();
    let env = auth::AuthEnv {
        db: &db.db(),
        base_url: "http://127.0.0.1",
        limits: &limits,
        meta: &meta,
    };
    let new_password = NewPassword::parse("violet anchor quietly 93").unwrap();
    let (hashes, outcome) =
        password::count_hashes(auth::reset_password(&env, &"A".repeat(43), &new_password)).await;
    assert!(outcome.unwrap().is_err(), "the token is refused");
    assert_eq!(hashes, 0, "a refused token was hashed for");

    let (hashes, outcome) = password::count_hashes(app::domain::invitations::accept_as_new_user(
        &db.db(),
        &meta,
        &"B".repeat(43),
        app::validation::DisplayName::parse("Someone").unwrap(),
        &new_password,
    ))
    .await;
    assert!(outcome.unwrap().is_err(), "the invitation token is refused");
    assert_eq!(hashes, 0, "a refused invitation was hashed for");
}

// ---------------------------------------------------------------------------
// 6. Invitation floods
// ---------------------------------------------------------------------------

async fn invite(browser: &Browser, emails: &str, role: &str) -> StatusCode {
    browser
        .call(
            "/api/members/invite",
            &[("slug", "acme"), ("emails", emails), ("role", role)],
        )
        .await
        .status()
}

#[sqlx::test(migrations = false)]
async fn invitations_are_rate_limited_per_inviter_and_per_organization(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            rate_limits: RateLimits {
                invitations_per_inviter: Limit::per(3, Duration::from_secs(600)),
                invitations_per_org: Limit::per(4, Duration::from_secs(600)),
                ..RateLimits::default().scaled(100)
            },
            ..AppOptions::default()
        },
    )
    .await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    assert_eq!(
        invite(&adam, "a1@x.test, a2@x.test", "member").await,
        StatusCode::OK
    );
    // A batch that would pass the limit is refused whole.
    let refused = adam
        .call(
            "/api/members/invite",
            &[
                ("slug", "acme"),
                ("emails", "a3@x.test, a4@x.test"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let error: AppError = refused.json().await.unwrap();
    assert!(error.to_string().contains("Try again in"), "{error}");
    assert_eq!(
        sqlx::query_scalar::<_, i64>(
            "select count(*) from invitation where email like 'a_@x.test'"
        )
        .fetch_one(&db.superuser)
        .await
        .unwrap(),
        2,
        "nothing of the refused batch was written"
    );
    // A resend counts too.
    let a1 = db.pending_invitation("a1@x.test").await;
    let resend = adam
        .call(
            "/api/members/resend_invitation",
            &[("slug", "acme"), ("invitation_id", &a1)],
        )
        .await;
    assert_eq!(resend.status(), StatusCode::OK);
    let resend = adam
        .call(
            "/api/members/resend_invitation",
            &[("slug", "acme"), ("invitation_id", &a1)],
        )
        .await;
    assert_eq!(resend.status(), StatusCode::TOO_MANY_REQUESTS);

    // Another inviter in the same org hits the org's ceiling.
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    assert_eq!(invite(&olivia, "o1@x.test", "member").await, StatusCode::OK);
    assert_eq!(
        invite(&olivia, "o2@x.test", "member").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another org is not affected.
    let grace = signed_in(&app, "globex", "grace@globex.test").await;
    let globex = grace
        .call(
            "/api/members/invite",
            &[
                ("slug", "globex"),
                ("emails", "g1@x.test"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(globex.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------
// 7. Lockout as denial of service
// ---------------------------------------------------------------------------

async fn password_attempt(app: &TestApp, ip: &str, email: &str, password: &str) -> StatusCode {
    Browser::from_address(&app.base, ip)
        .call(
            "/api/auth/sign_in",
            &[("email", email), ("password", password), ("org", "acme")],
        )
        .await
        .status()
}

#[sqlx::test(migrations = false)]
async fn an_attacker_failing_from_their_addresses_does_not_lock_the_owner_out(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            rate_limits: RateLimits {
                sign_in_failures_per_account: Limit::per(3, Duration::from_secs(600)),
                sign_in_failures_per_account_anywhere: Limit::per(8, Duration::from_secs(600)),
                ..RateLimits::default().scaled(100)
            },
            smtp_url: Some(sink.url()),
            ..AppOptions::default()
        },
    )
    .await;
    let owner = "olivia@acme.test";
    for _ in 0..3 {
        assert_eq!(
            password_attempt(&app, "203.0.113.66", owner, "guess").await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        password_attempt(&app, "203.0.113.66", owner, "guess").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's address is throttled"
    );
    assert_eq!(
        password_attempt(&app, "203.0.113.66", owner, DEMO_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "even with the right password from there"
    );
    // The owner, from their own address, gets in.
    assert_eq!(
        password_attempt(&app, "198.51.100.7", owner, DEMO_PASSWORD).await,
        StatusCode::OK
    );

    // Failures from many addresses reach the slower per-account ceiling...
    for i in 1..=8 {
        let _ = password_attempt(&app, &format!("203.0.113.{i}"), owner, "guess").await;
    }
    assert_eq!(
        password_attempt(&app, "198.51.100.7", owner, DEMO_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...and the owner can still get in with an emailed link.
    let browser = Browser::from_address(&app.base, "198.51.100.7");
    let asked = browser
        .submit(
            "/api/auth/request_link",
            "/o/acme/login",
            &[("email", owner), ("org", "acme")],
        )
        .await;
    assert_eq!(location(&asked), "/o/acme/login?link_sent=1");
    let mail = sink.wait_for(owner, "sign-in link").await;
    let link = mail.link("/login/link");
    let token = link.split("token=").nth(1).unwrap();
    let used = browser
        .submit(
            "/api/auth/use_link",
            "/o/acme/login/link",
            &[("token", token), ("org", "acme")],
        )
        .await;
    assert_eq!(location(&used), "/o/acme");
}

/// Asks for a sign-in link into Acme for `email` and uses it; returns the
/// answer.
async fn sign_in_by_link(app: &TestApp, sink: &SmtpSink, email: &str) -> reqwest::Response {
    let browser = app.browser();
    let asked = browser
        .submit(
            "/api/auth/request_link",
            "/o/acme/login",
            &[("email", email), ("org", "acme")],
        )
        .await;
    assert_eq!(location(&asked), "/o/acme/login?link_sent=1");
    let mail = sink.wait_for(email, "sign-in link").await;
    let link = mail.link("/login/link");
    let token = link.split("token=").nth(1).unwrap();
    browser
        .submit(
            "/api/auth/use_link",
            "/o/acme/login/link",
            &[("token", token), ("org", "acme")],
        )
        .await
}

#[sqlx::test(migrations = false)]
async fn the_owner_of_an_sso_required_org_gets_in_with_an_emailed_link(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use crate::support::peers::{Provider, ProviderOptions};
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let admin = signed_in(&app, "acme", "adam@acme.test").await;
    let saved = admin
        .save_sso_connection("acme", &provider.issuer, "trellis-secret", "member")
        .await;
    assert_eq!(location(&saved), "/o/acme/sso?notice=saved");
    provider
        .register_redirect_uri(&admin.sso_redirect_uri("acme").await)
        .await;
    let callback = admin
        .through_provider("/sso/start?org=acme&test=1", "adam@acme.test")
        .await;
    assert_eq!(
        location(&admin.get(&callback).await),
        "/o/acme/sso?notice=tested"
    );
    for endpoint in ["/api/sso/enable", "/api/sso/enforce"] {
        let on = admin
            .call(endpoint, &[("slug", "acme"), ("on", "true")])
            .await;
        assert_eq!(on.status(), StatusCode::OK, "{endpoint}");
    }

    // The owner's recovery does not depend on a password an attacker may
    // have locked: the link proves the mailbox, and counts as break-glass.
    let owner = sign_in_by_link(&app, &sink, "olivia@acme.test").await;
    assert_eq!(location(&owner), "/o/acme");
    // A member's link does not get around the requirement.
    let member = sign_in_by_link(&app, &sink, "mia@acme.test").await;
    let error = redirected_error(&member).expect("refused");
    assert!(
        error.to_string().contains("requires single sign-on"),
        "{error}"
    );
    let signed_in: Vec<(String, bool)> = sqlx::query_as(
        "select actor_email, coalesce((details->>'break_glass')::bool, false) from audit_event
         join organization using (org_id) where slug = 'acme' and action = 'auth.signed_in'
         and actor_email = 'olivia@acme.test'",
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    assert_eq!(signed_in, [("olivia@acme.test".to_string(), true)]);
}

// ---------------------------------------------------------------------------
// 8. Crafted cursors, panics, and a fuzz pass over every server function
// ---------------------------------------------------------------------------

#[sqlx::test(migrations = false)]
async fn overflowing_cursors_are_a_broken_page_link_not_a_dropped_connection(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let owner = signed_in(&app, "acme", "olivia@acme.test").await;
    let huge = format!("{}.00000000-0000-0000-0000-000000000000", i128::MAX);
    let negative = format!("{}.00000000-0000-0000-0000-000000000000", i128::MIN);
    for cursor in [huge.as_str(), negative.as_str()] {
        for (endpoint, field) in [
            ("/api/members/list", "after"),
            ("/api/audit/page", "before"),
        ] {
            let response = owner
                .call(endpoint, &[("slug", "acme"), (field, cursor)])
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{endpoint}"
            );
            let error: AppError = response.json().await.unwrap();
            assert!(error.to_string().contains("page link is broken"), "{error}");
        }
        for path in [
            format!("/o/acme/members?after={cursor}"),
            format!("/o/acme/audit?before={cursor}"),
        ] {
            let page = owner.get(&path).await;
            assert!(page.status().is_success(), "{path}: {}", page.status());
            assert!(page.text().await.unwrap().contains("page link is broken"));
        }
    }
}

/// Values that break naive parsing: empty, huge, signs, overflowing
/// numbers, control characters, markup, path tricks, and long input.
fn fuzz_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        " ",
        "0",
        "-1",
        "true",
        "acme",
        "9223372036854775807",
        "-9223372036854775808",
        "170141183460469231731687303715884105727",
        "170141183460469231731687303715884105727.00000000-0000-0000-0000-000000000000",
        "-1.ffffffff-ffff-ffff-ffff-ffffffffffff",
        "00000000-0000-0000-0000-000000000000",
        "a\r\nSet-Cookie: x=1",
        "a\nb",
        "\u{0}",
        "\u{202e}",
        "%00",
        "../../etc/passwd",
        "//evil.example",
        "<script>alert(1)</script>",
        "\"'><i id=injected>",
        "😀",
        "1e309",
        "NaN",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Long, yet with every argument set still under the 64 KiB body limit.
    values.push("x".repeat(1_500));
    values.push("9".repeat(400));
    values
}

/// Every argument name a server function of this app takes.
const ARGUMENTS: &[&str] = &[
    "slug",
    "email",
    "password",
    "confirm",
    "name",
    "org_name",
    "token",
    "org",
    "next",
    "user_id",
    "role",
    "emails",
    "invitation_id",
    "q",
    "after",
    "group",
    "actor",
    "from",
    "to",
    "before",
    "days",
    "test",
    "login_hint",
    "issuer_url",
    "client_id",
    "client_secret",
    "default_role",
    "on",
    "domain",
    "domain_id",
    "new_slug",
    "confirm_name",
    "break_glass",
];

#[sqlx::test(migrations = false)]
async fn no_server_function_answers_a_fuzzed_input_with_a_500_or_a_dropped_connection(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let mut paths: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    paths.sort_unstable();
    assert!(paths.len() > 40, "{paths:?}");
    let values = fuzz_values();
    let mut failures = Vec::new();
    for (round, value) in values.iter().enumerate() {
        // Signed in as an owner, so that the functions get past the role
        // check; every round in a fresh session, since some inputs end it.
        let owner = signed_in(&app, "acme", "olivia@acme.test").await;
        for path in &paths {
            if path.ends_with("/settings/delete") || path.ends_with("/members/leave") {
                continue; // would end the owner's org or membership for the next rounds
            }
            // Alternate: every argument fuzzed, or only the non-slug ones.
            let form: Vec<(&str, &str)> = ARGUMENTS
                .iter()
                .map(|name| {
                    if *name == "slug" && round % 2 == 1 {
                        (*name, "acme")
                    } else {
                        (*name, value.as_str())
                    }
                })
                .collect();
            for json in [true, false] {
                let sent = if json {
                    owner.try_call(path, &form).await
                } else {
                    owner.try_submit(path, "/o/acme", &form).await
                };
                match sent {
                    Ok(status) if status.is_server_error() => {
                        failures.push(format!("{path} {value:.40?}: {status}"))
                    }
                    Ok(_) => {}
                    Err(error) => failures.push(format!("{path} {value:.40?}: {error}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// 9. Exports that hold the database
// ---------------------------------------------------------------------------

#[sqlx::test(migrations = false)]
async fn slow_export_readers_cannot_starve_other_requests(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    // Enough rows that an export does not fit in socket buffers.
    sqlx::query(
        "insert into audit_event (org_id, audit_event_id, occurred_at, actor_email, actor_name, action, target_label)
         select o.org_id, gen_random_uuid(), now() - make_interval(secs => i),
                'robot@acme.test', 'Robot', 'member.role_changed', repeat('x', 200) || i
         from organization o, generate_series(1, 60000) i where o.slug = 'acme'",
    )
    .execute(&db.superuser)
    .await
    .unwrap();
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            export_chunk_deadline: Duration::from_secs(2),
            ..AppOptions::default()
        },
    )
    .await;
    let admin = signed_in(&app, "acme", "adam@acme.test").await;

    // Ten downloads that read the headers and then nothing.
    let mut stalled = Vec::new();
    let mut refused = 0;
    for _ in 0..10 {
        let response = admin.get("/o/acme/audit.csv").await;
        match response.status() {
            StatusCode::OK => stalled.push(response),
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                let text = response.text().await.unwrap();
                assert!(text.contains("exports"), "{text}");
            }
            other => panic!("export answered {other}"),
        }
    }
    assert!(refused > 0, "every export was started");
    assert!(stalled.len() <= 3, "{} exports at once", stalled.len());

    // Everyone else keeps being answered.
    let other = signed_in(&app, "globex", "gus@globex.test").await;
    for _ in 0..20 {
        let response = other.get("/o/globex").await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // The stalled exports give their connections back after the deadline:
    // the test server checks at shutdown that none is still checked out.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for response in stalled {
        // The body ends broken rather than looking complete.
        assert!(
            response.bytes().await.is_err(),
            "a stalled export completed"
        );
    }
    // And exports work again, to the last row.
    let again = admin.get("/o/acme/audit.csv").await;
    assert_eq!(again.status(), StatusCode::OK);
    let csv = again.text().await.unwrap();
    assert!(csv.matches("\r\n").count() > 60_000);
}

// ---------------------------------------------------------------------------
// 10. Spreadsheet formulas
// ---------------------------------------------------------------------------

#[sqlx::test(migrations = false)]
async fn the_export_has_no_formula_for_any_common_separator(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    for label in [
        "x;=HYPERLINK(\"http://evil.example\")",
        "a,=1+1",
        "t\t@SUM(1)",
        "-2+3",
        "ok;+1",
        "line\n=2",
    ] {
        sqlx::query(
            "insert into audit_event (org_id, audit_event_id, actor_email, actor_name, action, target_label)
             select org_id, gen_random_uuid(), 'robot@acme.test', $1, 'member.role_changed', $1
             from organization where slug = 'acme'",
        )
        .bind(label)
        .execute(&db.superuser)
        .await
        .unwrap();
    }
    let app = TestApp::spawn(&db).await;
    let admin = signed_in(&app, "acme", "adam@acme.test").await;
    let csv = admin.get("/o/acme/audit.csv").await.text().await.unwrap();
    let csv = csv.strip_prefix('\u{feff}').unwrap();
    // Every field is quoted.
    let header = csv.split("\r\n").next().unwrap();
    assert!(header.starts_with("\"occurred_at\",\""), "{header}");
    for separator in [",", ";", "\t"] {
        let cells = parse_csv(csv, separator);
        for cell in cells {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "separator {separator:?}: cell {cell:?} would be a formula"
            );
        }
    }
}

/// Parses CSV with Python's csv module, as a spreadsheet would with
/// `separator`; returns every cell.
fn parse_csv(csv: &str, separator: &str) -> Vec<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import csv, json, sys\n\
             rows = csv.reader(sys.stdin.read().splitlines(True), delimiter=sys.argv[1])\n\
             print(json.dumps([c for r in rows for c in r]))",
            separator,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(csv.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Asks for a reset link for `email`, and sets a new password with it.
async fn reset_by_mail(browser: &Browser, sink: &SmtpSink, email: &str) {
    browser
        .submit(
            "/api/auth/forgot_password",
            "/forgot-password",
            &[("email", email)],
        )
        .await;
    let mail = sink.wait_for(email, "Reset your").await;
    let link = mail.link("/reset-password");
    let token = link.split("token=").nth(1).unwrap();
    let reset = browser
        .submit(
            "/api/auth/reset_password",
            "/reset-password",
            &[
                ("token", token),
                ("password", "a brand new passphrase 7"),
                ("confirm", "a brand new passphrase 7"),
            ],
        )
        .await;
    assert_eq!(location(&reset), "/login?password_reset=1");
}

// ---------------------------------------------------------------------------
// 11. Pending sign-ins and a password reset
// ---------------------------------------------------------------------------

#[sqlx::test(migrations = false)]
async fn a_password_reset_voids_a_sign_in_paused_at_the_org_picker(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    // Gus belongs to Acme too, so his sign-in stops at the picker.
    sqlx::query(
        "insert into membership (org_id, user_id, role)
         select o.org_id, u.user_id, 'member' from organization o, app_user u
         where o.slug = 'acme' and u.email = 'gus@globex.test'",
    )
    .execute(&db.superuser)
    .await
    .unwrap();
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let thief = app.browser();
    let paused = thief
        .submit(
            "/api/auth/sign_in",
            "/login",
            &[("email", "gus@globex.test"), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(location(&paused), "/orgs");

    // Gus resets his password.
    reset_by_mail(&app.browser(), &sink, "gus@globex.test").await;

    let entered = thief
        .submit("/api/auth/enter_org", "/orgs", &[("slug", "acme")])
        .await;
    assert_ne!(
        location(&entered),
        "/o/acme",
        "the paused sign-in completed"
    );
    // The workspace sends the thief to sign in, and so does the picker.
    assert_eq!(thief.get("/o/acme").await.status(), StatusCode::FOUND);
    let picker = thief.call("/api/session/picker", &[]).await;
    assert_eq!(picker.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------
// 12. Owner invitations
// ---------------------------------------------------------------------------

#[sqlx::test(migrations = false)]
async fn only_owners_revoke_or_resend_owner_invitations(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    assert_eq!(
        invite(&olivia, "heir@x.test", "owner").await,
        StatusCode::OK
    );
    let id = db.pending_invitation("heir@x.test").await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    for endpoint in [
        "/api/members/revoke_invitation",
        "/api/members/resend_invitation",
    ] {
        let response = adam
            .call(endpoint, &[("slug", "acme"), ("invitation_id", &id)])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{endpoint}");
    }
    assert_eq!(
        db.pending_invitation("heir@x.test").await,
        id,
        "still pending"
    );
    let revoked = olivia
        .call(
            "/api/members/revoke_invitation",
            &[("slug", "acme"), ("invitation_id", &id)],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------
// 13. Passwords and credential columns
// ---------------------------------------------------------------------------

#[sqlx::test(migrations = false)]
async fn guessable_passwords_are_refused_with_the_reason(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    for weak in ["password1234", "qwertyuiop", "acmeacmeacme", "Mallory2026!"] {
        let response = app
            .browser()
            .call(
                "/api/auth/sign_up",
                &[
                    ("name", "Mallory"),
                    ("email", "mallory@else.test"),
                    ("password", weak),
                    ("org_name", "Mallory's"),
                    ("slug", "mallorys"),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{weak}"
        );
        let error: AppError = response.json().await.unwrap();
        let message = error.message_for("password").unwrap_or_default();
        assert!(message.contains("guess"), "{weak}: {message}");
    }
}

#[sqlx::test(migrations = false)]
async fn a_password_reset_is_announced_to_the_account(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    reset_by_mail(&app.browser(), &sink, "mia@acme.test").await;
    let notice = sink.wait_for("mia@acme.test", "password was changed").await;
    assert!(notice.text.contains("/forgot-password"), "{}", notice.text);
}

#[sqlx::test(migrations = false)]
async fn the_runtime_role_cannot_read_password_hashes(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let error = sqlx::query("select password_hash from app_user limit 1")
        .fetch_all(&db.runtime)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    let error = sqlx::query("select * from app_user limit 1")
        .fetch_all(&db.runtime)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    // Sign-in still works: it reads the hash through its look-up function.
    let app = TestApp::spawn(&db).await;
    signed_in(&app, "acme", "mia@acme.test").await;
}
