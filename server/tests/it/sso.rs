//! Single sign-on over HTTP, against a real OpenID provider (panva's
//! oidc-provider) and a real DNS server, both started on loopback.

mod attacks;

use crate::support::{
    TestDb,
    peers::{Dns, Provider, ProviderOptions},
    seeded,
    web::{AppOptions, Browser, TestApp, location, redirected_error, signed_in},
};
use app::{
    api::sso::SsoSettings,
    domain::{demo::DEMO_PASSWORD, sso::DnsServer},
};
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// (action, actor email, details) of an org's audit log, oldest first.
async fn audit_log(db: &TestDb, slug: &str) -> Vec<(String, Option<String>, serde_json::Value)> {
    sqlx::query_as(
        "select a.action, a.actor_email, a.details from audit_event a join organization o using (org_id)
         where o.slug = $1 order by a.audit_event_id",
    )
    .bind(slug)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

/// The reasons of the SSO sign-in failures recorded in the org.
async fn sso_failures(db: &TestDb, slug: &str) -> Vec<String> {
    audit_log(db, slug)
        .await
        .into_iter()
        .filter(|(action, _, details)| {
            action == "auth.sign_in_failed" && details["method"] == "sso"
        })
        .map(|(_, _, details)| details["reason"].as_str().unwrap().to_string())
        .collect()
}

async fn sessions(db: &TestDb) -> i64 {
    sqlx::query_scalar("select count(*) from tower_sessions.session")
        .fetch_one(&db.superuser)
        .await
        .unwrap()
}

/// Saves the connection as `admin` (a form post without JavaScript).
async fn save_connection(
    admin: &Browser,
    issuer: &str,
    secret: &str,
    role: &str,
) -> reqwest::Response {
    admin
        .save_sso_connection("acme", issuer, secret, role)
        .await
}

async fn settings(admin: &Browser) -> SsoSettings {
    let response = admin.call("/api/sso/get", &[("slug", "acme")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Saves, tests and turns on Acme's connection to `provider`; returns the
/// admin's browser.
async fn acme_with_sso(app: &TestApp, provider: &Provider) -> Browser {
    let admin = signed_in(app, "acme", "adam@acme.test").await;
    let saved = save_connection(&admin, &provider.issuer, "trellis-secret", "member").await;
    assert_eq!(
        location(&saved),
        "/o/acme/sso?notice=saved",
        "{:?}",
        redirected_error(&saved)
    );
    // The admin registers the connection's own redirect URI at the provider.
    provider
        .register_redirect_uri(&settings(&admin).await.redirect_uri)
        .await;
    let callback = admin
        .through_provider("/sso/start?org=acme&test=1", "adam@acme.test")
        .await;
    let tested = admin.get(&callback).await;
    assert_eq!(location(&tested), "/o/acme/sso?notice=tested");
    let on = admin
        .submit(
            "/api/sso/enable",
            "/o/acme/sso",
            &[("slug", "acme"), ("on", "true")],
        )
        .await;
    assert_eq!(
        location(&on),
        "/o/acme/sso?notice=enabled",
        "{:?}",
        redirected_error(&on)
    );
    admin
}

/// An owner's recovery sign-in to Acme (a password while SSO is required),
/// as its page posts it; returns where it leads.
async fn break_glass(browser: &Browser, email: &str) -> String {
    let response = browser
        .submit(
            "/api/auth/sign_in",
            "/o/acme/login?break_glass=1",
            &[
                ("email", email),
                ("password", DEMO_PASSWORD),
                ("org", "acme"),
                ("break_glass", "1"),
            ],
        )
        .await;
    location(&response)
}

/// Proves the account waiting on `/sso/link` with the demo password;
/// returns where that leads.
async fn link_with_password(browser: &Browser) -> String {
    let linked = browser
        .submit(
            "/api/sso/link/password",
            "/sso/link",
            &[("password", DEMO_PASSWORD)],
        )
        .await;
    location(&linked)
}

/// Runs an SSO sign-in into Acme as `login` in a fresh browser; returns the
/// browser and where the callback sent it.
async fn sso_sign_in(app: &TestApp, login: &str) -> (Browser, String) {
    let browser = app.browser();
    let callback = browser.through_provider("/sso/start?org=acme", login).await;
    let landed = browser.get(&callback).await;
    (browser, location(&landed))
}

#[sqlx::test(migrations = false)]
async fn an_admin_sets_up_tests_and_enables_sso_and_members_sign_in_through_it(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let admin = signed_in(&app, "acme", "adam@acme.test").await;

    // Discovery problems are reported on the field, and nothing is saved.
    let unreachable = save_connection(&admin, "http://127.0.0.1:9", "s", "member").await;
    let error = redirected_error(&unreachable).expect("refused");
    assert!(
        error.to_string().contains("could not be reached"),
        "{error}"
    );
    let not_a_provider = save_connection(&admin, &app.base, "s", "member").await;
    let error = redirected_error(&not_a_provider).expect("refused");
    assert!(
        error
            .to_string()
            .contains("does not answer like an OpenID Connect provider"),
        "{error}"
    );
    let other_name = provider.issuer.replace("127.0.0.1", "localhost");
    let mismatch = save_connection(&admin, &other_name, "s", "member").await;
    let error = redirected_error(&mismatch).expect("refused");
    assert!(error.to_string().contains("different issuer"), "{error}");
    let owner_role = save_connection(&admin, &provider.issuer, "s", "owner").await;
    assert!(redirected_error(&owner_role).is_some());
    let before = settings(&admin).await;
    assert!(before.connection.is_none());
    // The redirect URI is the connection's own, and known before it is
    // saved, so an admin can register it at the provider first.
    let redirect_uri = before.redirect_uri;
    let id = redirect_uri
        .strip_prefix(&format!("{}/sso/callback/", app.base))
        .expect("a callback of its own");
    assert!(uuid::Uuid::try_parse(id).is_ok(), "{redirect_uri}");
    provider.register_redirect_uri(&redirect_uri).await;

    // Saved: the secret is sealed at rest and never sent back.
    let saved = save_connection(&admin, &provider.issuer, "trellis-secret", "member").await;
    assert_eq!(location(&saved), "/o/acme/sso?notice=saved");
    let sealed: Vec<u8> = sqlx::query_scalar("select client_secret_sealed from sso_connection")
        .fetch_one(&db.superuser)
        .await
        .unwrap();
    assert!(!sealed.windows(14).any(|w| w == b"trellis-secret"));
    let raw = admin
        .call("/api/sso/get", &[("slug", "acme")])
        .await
        .text()
        .await
        .unwrap();
    assert!(!raw.contains("trellis-secret"), "{raw}");
    let view = settings(&admin).await;
    assert_eq!(view.redirect_uri, redirect_uri);
    let stored: uuid::Uuid = sqlx::query_scalar("select sso_connection_id from sso_connection")
        .fetch_one(&db.superuser)
        .await
        .unwrap();
    assert_eq!(id, stored.to_string());
    assert!(!view.connection.as_ref().unwrap().enabled);

    // Not before a successful test.
    let early = admin
        .call("/api/sso/enable", &[("slug", "acme"), ("on", "true")])
        .await;
    assert_eq!(early.status(), StatusCode::CONFLICT);

    // The test signs in at the provider, reports the claims, signs no one in.
    let before = sessions(&db).await;
    let callback = admin
        .through_provider("/sso/start?org=acme&test=1", "someone@acme.test")
        .await;
    assert_eq!(
        location(&admin.get(&callback).await),
        "/o/acme/sso?notice=tested"
    );
    assert_eq!(sessions(&db).await, before, "a test creates no session");
    let report = settings(&admin)
        .await
        .connection
        .unwrap()
        .last_test
        .unwrap();
    assert!(report.ok, "{report:?}");
    assert!(
        report
            .claims
            .contains(&("email".into(), "someone@acme.test".into())),
        "{report:?}"
    );
    assert!(
        report
            .claims
            .contains(&("email_verified".into(), "true".into())),
        "{report:?}"
    );
    let nobody: i64 =
        sqlx::query_scalar("select count(*) from app_user where email = 'someone@acme.test'")
            .fetch_one(&db.superuser)
            .await
            .unwrap();
    assert_eq!(nobody, 0);
    assert_eq!(
        admin.get("/o/acme").await.status(),
        StatusCode::OK,
        "the admin is still signed in"
    );

    let on = admin
        .call("/api/sso/enable", &[("slug", "acme"), ("on", "true")])
        .await;
    assert_eq!(on.status(), StatusCode::OK);

    // The login page offers it; a member signs in through the provider.
    let login_page = app
        .browser()
        .get("/o/acme/login")
        .await
        .text()
        .await
        .unwrap();
    assert!(login_page.contains("Continue with single sign-on"));
    // Her account exists: the first time, she proves it (her password),
    // and the provider's identity is linked to it.
    let (mia, landed) = sso_sign_in(&app, "mia@acme.test").await;
    assert_eq!(landed, "/sso/link");
    assert_eq!(location(&mia.get("/o/acme").await), "/o/acme/login");
    assert_eq!(link_with_password(&mia).await, "/o/acme");
    assert_eq!(mia.get("/o/acme").await.status(), StatusCode::OK);
    // From then on the provider alone signs her in.
    let (_, landed) = sso_sign_in(&app, "mia@acme.test").await;
    assert_eq!(landed, "/o/acme");
    let me = mia
        .call("/api/session/viewer", &[("slug", "acme")])
        .await
        .text()
        .await
        .unwrap();
    assert!(me.contains("mia@acme.test"), "{me}");
    // Her account page lists the linked identity among her sign-in methods.
    let account: app::api::account::Account = mia
        .call("/api/account/get", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(account.has_password);
    let [identity] = account.identities.as_slice() else {
        panic!("one linked identity: {:?}", account.identities);
    };
    assert_eq!(identity.org_name, "Acme Corporation");
    assert_eq!(identity.linked_how, "Confirmed with your password");
    assert!(!identity.subject.is_empty());
    assert!(
        provider.issuer.contains(&identity.provider),
        "{} names the issuer {}",
        identity.provider,
        provider.issuer
    );
    assert!(identity.last_used.is_some());
    // Nobody else's: Sam's account page lists none.
    let sam = signed_in(&app, "globex", "sam@consulting.test").await;
    let theirs: app::api::account::Account = sam
        .call("/api/account/get", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(theirs.identities.is_empty());

    let log = audit_log(&db, "acme").await;
    let actions: Vec<&str> = log.iter().map(|(a, _, _)| a.as_str()).collect();
    for expected in [
        "sso.connection_saved",
        "sso.connection_tested",
        "sso.enabled",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let (_, actor, details) = log.last().unwrap();
    assert_eq!(actor.as_deref(), Some("mia@acme.test"));
    assert_eq!(details["method"], "sso");
}

#[sqlx::test(migrations = false)]
async fn verified_domains_drive_discovery_and_just_in_time_membership(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let dns = Dns::start().await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            dns: DnsServer::At(dns.addr),
            ..AppOptions::default()
        },
    )
    .await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let admin = acme_with_sso(&app, &provider).await;
    let viewer_default = save_connection(&admin, &provider.issuer, "", "viewer").await;
    assert_eq!(location(&viewer_default), "/o/acme/sso?notice=saved");

    // Before the domain is proved, a stranger of acme.test gets nothing.
    let (_, landed) = sso_sign_in(&app, "newbie@acme.test").await;
    assert_eq!(landed, "/sso/failed?org=acme&reason=domain_not_verified");

    let bad = admin
        .call(
            "/api/sso/domains/add",
            &[("slug", "acme"), ("domain", "https://acme.test/x")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let added = admin
        .submit(
            "/api/sso/domains/add",
            "/o/acme/sso",
            &[("slug", "acme"), ("domain", "ACME.test")],
        )
        .await;
    assert_eq!(location(&added), "/o/acme/sso?notice=domain_added#domains");
    let twice = admin
        .call(
            "/api/sso/domains/add",
            &[("slug", "acme"), ("domain", "acme.test")],
        )
        .await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let domain = settings(&admin).await.domains.remove(0);
    assert_eq!(domain.domain, "acme.test");
    assert_eq!(domain.record_name, "_trellis-verification.acme.test");

    // No record yet: not verified, and the page says why.
    let check = admin
        .call(
            "/api/sso/domains/verify",
            &[("slug", "acme"), ("domain_id", &domain.id)],
        )
        .await;
    assert_eq!(check.status(), StatusCode::OK);
    let domain_now = settings(&admin).await.domains.remove(0);
    assert!(!domain_now.verified);
    assert!(
        domain_now
            .last_check_error
            .unwrap()
            .contains("No TXT record")
    );
    // A wrong value is not enough either.
    dns.publish_txt(&domain.record_name, "trellis-verification=someone-else")
        .await;
    admin
        .call(
            "/api/sso/domains/verify",
            &[("slug", "acme"), ("domain_id", &domain.id)],
        )
        .await;
    let domain_now = settings(&admin).await.domains.remove(0);
    assert!(domain_now.last_check_error.unwrap().contains("none is"));
    dns.publish_txt(&domain.record_name, &domain.record_value)
        .await;
    admin
        .call(
            "/api/sso/domains/verify",
            &[("slug", "acme"), ("domain_id", &domain.id)],
        )
        .await;
    assert!(settings(&admin).await.domains[0].verified);

    // Just-in-time membership, with the connection's default role.
    let (newbie, landed) = sso_sign_in(&app, "newbie@acme.test").await;
    assert_eq!(landed, "/o/acme");
    let role: String = sqlx::query_scalar(
        "select m.role from membership m join app_user u using (user_id) where u.email = 'newbie@acme.test'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(role, "viewer");
    assert_eq!(newbie.get("/o/acme").await.status(), StatusCode::OK);

    // Only verified addresses, only verified domains.
    let (_, landed) = sso_sign_in(&app, "unverified+pat@acme.test").await;
    assert_eq!(landed, "/sso/failed?org=acme&reason=email_unverified");
    let (_, landed) = sso_sign_in(&app, "outsider@elsewhere.test").await;
    assert_eq!(landed, "/sso/failed?org=acme&reason=domain_not_verified");
    let (_, landed) = sso_sign_in(&app, "noemail+x@acme.test").await;
    assert_eq!(landed, "/sso/failed?org=acme&reason=email_missing");
    let strangers: i64 = sqlx::query_scalar(
        "select count(*) from app_user where email in ('unverified+pat@acme.test', 'outsider@elsewhere.test')",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(strangers, 0);
    assert_eq!(
        sso_failures(&db, "acme").await,
        [
            "domain_not_verified",
            "email_unverified",
            "domain_not_verified",
            "email_missing"
        ]
    );

    // Home-realm discovery at /login: the password form and the SSO form
    // both send an acme.test address to the provider.
    let visitor = app.browser();
    let routed = visitor
        .submit(
            "/api/auth/sign_in",
            "/login",
            &[("email", "someone@acme.test"), ("password", "x")],
        )
        .await;
    let to_provider = visitor.follow_to_sso_start(&routed).await;
    assert!(location(&to_provider).starts_with(&provider.issuer));
    assert!(location(&to_provider).contains("login_hint=someone%40acme.test"));
    let routed = visitor
        .submit(
            "/api/auth/continue_with_sso",
            "/login",
            &[("email", "Other@Acme.test")],
        )
        .await;
    let to_provider = visitor.follow_to_sso_start(&routed).await;
    assert!(location(&to_provider).contains("login_hint=Other%40acme.test"));
    let unknown = visitor
        .call(
            "/api/auth/continue_with_sso",
            &[("email", "someone@globex.test")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("No single sign-on is set up for globex.test")
    );
    // Globex's people still sign in with passwords at /login.
    let grace = visitor
        .submit(
            "/api/auth/sign_in",
            "/login",
            &[("email", "grace@globex.test"), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(location(&grace), "/o/globex");

    // Without a ticket of its session, the stop starts nothing: it asks.
    let stop = app
        .browser()
        .get("/sso/continue?org=acme&login_hint=someone%40acme.test")
        .await
        .text()
        .await
        .unwrap();
    assert!(!stop.contains("http-equiv=\"refresh\""), "{stop}");
    assert!(stop.contains("data-testid=\"sso-confirm\""), "{stop}");
    let start = app
        .browser()
        .get("/sso/start?org=acme&login_hint=someone%40acme.test")
        .await;
    assert_eq!(
        location(&start),
        "/sso/continue?org=acme&login_hint=someone%40acme.test"
    );

    let actions: Vec<String> = audit_log(&db, "acme")
        .await
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    for expected in [
        "sso.domain_added",
        "sso.domain_check_failed",
        "sso.domain_verified",
        "member.joined_via_sso",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[sqlx::test(migrations = false)]
async fn enforced_sso_refuses_passwords_except_an_owners_break_glass(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let admin = acme_with_sso(&app, &provider).await;
    let enforced = admin
        .submit(
            "/api/sso/enforce",
            "/o/acme/sso",
            &[("slug", "acme"), ("on", "true")],
        )
        .await;
    // Adam signed in with his password: his session ends with the others,
    // and he is asked to sign in through the provider.
    assert_eq!(location(&enforced), "/o/acme/login?sso_now_required=1");

    // The login link offers the provider alone (one press away: arriving
    // by a link starts nothing by itself).
    let login = app
        .browser()
        .get("/o/acme/login?email=mia%40acme.test")
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let page = login.text().await.unwrap();
    assert!(page.contains("data-testid=\"sso-button\""), "{page}");
    assert!(!page.contains("data-testid=\"password-form\""), "{page}");

    // Passwords are refused, for members and admins, even with break-glass.
    for (email, break_glass) in [("mia@acme.test", None), ("adam@acme.test", Some("1"))] {
        let browser = app.browser();
        let mut form = vec![
            ("email", email),
            ("password", DEMO_PASSWORD),
            ("org", "acme"),
        ];
        if let Some(flag) = break_glass {
            form.push(("break_glass", flag));
        }
        let refused = browser
            .submit("/api/auth/sign_in", "/o/acme/login", &form)
            .await;
        let error = redirected_error(&refused).expect("refused");
        assert!(
            error.to_string().contains("requires single sign-on"),
            "{error}"
        );
        assert_eq!(location(&browser.get("/o/acme").await), "/o/acme/login");
    }
    // Without break-glass, an owner is refused too.
    let owner = app.browser();
    let refused = owner
        .sign_in("acme", "olivia@acme.test", DEMO_PASSWORD)
        .await;
    assert!(redirected_error(&refused).is_some());
    // With it, an owner gets in, and the log says how.
    assert_eq!(break_glass(&owner, "olivia@acme.test").await, "/o/acme");
    let page = app.browser().get("/o/acme/login?break_glass=1").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Owner recovery sign-in")
    );

    // SSO itself still works.
    let (mia, landed) = sso_sign_in(&app, "mia@acme.test").await;
    assert_eq!(landed, "/sso/link");
    assert_eq!(link_with_password(&mia).await, "/o/acme");

    let log = audit_log(&db, "acme").await;
    let refused: Vec<&str> = log
        .iter()
        .filter(|(a, _, d)| a == "auth.sign_in_failed" && d["reason"] == "sso_required")
        .filter_map(|(_, actor, _)| actor.as_deref())
        .collect();
    assert_eq!(
        refused,
        ["mia@acme.test", "adam@acme.test", "olivia@acme.test"]
    );
    assert!(log.iter().any(|(a, actor, d)| a == "auth.signed_in"
        && actor.as_deref() == Some("olivia@acme.test")
        && d["break_glass"] == true));
    assert!(log.iter().any(|(a, _, _)| a == "sso.enforced"));

    // The admin who required it signed in with a password: that session
    // has ended. The owner's break-glass session still works, and turning
    // SSO off ends enforcement as well.
    assert_eq!(location(&admin.get("/o/acme").await), "/o/acme/login");
    let off = owner
        .call("/api/sso/enable", &[("slug", "acme"), ("on", "false")])
        .await;
    assert_eq!(off.status(), StatusCode::OK);
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    assert_eq!(mia.get("/o/acme").await.status(), StatusCode::OK);
}

#[sqlx::test(migrations = false)]
async fn only_sso_managers_reach_the_settings_and_only_of_their_org(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    for email in ["mia@acme.test", "victor@acme.test"] {
        let member = signed_in(&app, "acme", email).await;
        for (endpoint, form) in [
            ("/api/sso/get", vec![("slug", "acme")]),
            (
                "/api/sso/save",
                vec![
                    ("slug", "acme"),
                    ("issuer_url", "http://x"),
                    ("client_id", "x"),
                    ("default_role", "member"),
                ],
            ),
            ("/api/sso/enable", vec![("slug", "acme"), ("on", "true")]),
            (
                "/api/sso/domains/add",
                vec![("slug", "acme"), ("domain", "acme.test")],
            ),
        ] {
            assert_eq!(
                member.call(endpoint, &form).await.status(),
                StatusCode::FORBIDDEN,
                "{email} {endpoint}"
            );
        }
        // The test leg is refused as well: back to the settings page (which says "not allowed").
        assert_eq!(
            location(&member.start_sso("acme", true, None).await),
            "/o/acme/sso"
        );
    }
    // An admin of Globex reaches nothing of Acme's.
    let gus = signed_in(&app, "globex", "gus@globex.test").await;
    assert_eq!(
        gus.call("/api/sso/get", &[("slug", "acme")]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        gus.call(
            "/api/sso/domains/add",
            &[("slug", "acme"), ("domain", "acme.test")]
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        location(&gus.start_sso("acme", true, None).await),
        "/o/acme/login"
    );
    let rows: i64 = sqlx::query_scalar(
        "select (select count(*) from sso_domain) + (select count(*) from sso_connection)",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(rows, 0);
    // Without a connection, SSO sign-in says it is not turned on.
    assert_eq!(
        location(&app.browser().start_sso("acme", false, None).await),
        "/sso/failed?org=acme&reason=sso_not_enabled"
    );
    assert_eq!(
        location(&app.browser().start_sso("nope", false, None).await),
        "/sso/failed?reason=unknown_org"
    );
}

/// The value of `key` in `url`'s query.
fn query_param(url: &str, key: &str) -> String {
    let url = reqwest::Url::parse(url).unwrap();
    let value = url.query_pairs().find(|(k, _)| k == key);
    value
        .unwrap_or_else(|| panic!("no {key} in {url}"))
        .1
        .to_string()
}

/// Replaces the nonce of the SSO flow waiting in `browser`'s session, as an
/// ID token minted for another sign-in would present.
async fn tamper_with_nonce(db: &TestDb, browser: &Browser) {
    let cookie = browser.cookie().expect("a session cookie");
    let id = cookie
        .split("; ")
        .find_map(|c| c.strip_prefix("trellis_session="))
        .expect("the session cookie")
        .to_string();
    let data: Vec<u8> = sqlx::query_scalar("select data from tower_sessions.session where id = $1")
        .bind(&id)
        .fetch_one(&db.superuser)
        .await
        .unwrap();
    let mut record: tower_sessions::session::Record = rmp_serde::from_slice(&data).unwrap();
    record.data.get_mut("sso_flow").expect("a flow under way")["nonce"] =
        "a-nonce-of-another-sign-in".into();
    sqlx::query("update tower_sessions.session set data = $2 where id = $1")
        .bind(&id)
        .bind(rmp_serde::to_vec(&record).unwrap())
        .execute(&db.superuser)
        .await
        .unwrap();
}

#[sqlx::test(migrations = false)]
async fn every_failure_has_its_page_and_audit_event_and_signs_no_one_in(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let options = ProviderOptions::for_app(&app.base);
    let provider = Provider::start(&options).await;
    let admin = acme_with_sso(&app, &provider).await;
    let failed = |reason: &str| format!("/sso/failed?org=acme&reason={reason}");
    let mut expected = Vec::new();

    // Tampered state.
    let browser = app.browser();
    let callback = browser
        .through_provider("/sso/start?org=acme", "mia@acme.test")
        .await;
    let tampered = callback.replace("state=", "state=x");
    assert_eq!(
        location(&browser.get(&tampered).await),
        failed("state_mismatch")
    );
    expected.push("state_mismatch");
    // The flow is spent: the genuine callback no longer works either.
    assert_eq!(location(&browser.get(&callback).await), failed("no_flow"));
    expected.push("no_flow");
    assert_eq!(location(&browser.get("/o/acme").await), "/o/acme/login");

    // A replayed code: used once by its browser, then presented by another
    // browser with a sign-in of its own under way.
    let victim = app.browser();
    let callback = victim
        .through_provider("/sso/start?org=acme", "mia@acme.test")
        .await;
    assert_eq!(location(&victim.get(&callback).await), "/sso/link");
    let attacker = app.browser();
    let own_start = attacker.start_sso("acme", false, None).await;
    let own_state = query_param(&location(&own_start), "state");
    let stolen_code = query_param(&callback, "code");
    let iss = query_param(&callback, "iss");
    let callback_path = callback.split('?').next().unwrap().to_string();
    let replay = attacker
        .get(&format!(
            "{callback_path}?code={stolen_code}&state={own_state}&iss={iss}"
        ))
        .await;
    assert_eq!(location(&replay), failed("code_refused"));
    expected.push("code_refused");
    assert_eq!(location(&attacker.get("/o/acme").await), "/o/acme/login");

    // An ID token whose nonce is not this browser's.
    let browser = app.browser();
    let callback = browser
        .through_provider("/sso/start?org=acme", "mia@acme.test")
        .await;
    tamper_with_nonce(&db, &browser).await;
    assert_eq!(
        location(&browser.get(&callback).await),
        failed("invalid_id_token")
    );
    expected.push("invalid_id_token");

    // The provider refuses (the user cancelled there).
    let browser = app.browser();
    let start = browser.start_sso("acme", false, None).await;
    let state = query_param(&location(&start), "state");
    let denied = browser
        .get(&format!(
            "{callback_path}?error=access_denied&error_description=User+cancelled&state={state}"
        ))
        .await;
    assert_eq!(location(&denied), failed("provider_denied"));
    expected.push("provider_denied");

    // A wrong client secret (re-saved; the connection stays on).
    let saved = save_connection(&admin, &provider.issuer, "not-the-secret", "member").await;
    assert_eq!(location(&saved), "/o/acme/sso?notice=saved");
    let (browser, landed) = sso_sign_in(&app, "mia@acme.test").await;
    assert_eq!(landed, failed("code_refused"));
    expected.push("code_refused");
    assert_eq!(location(&browser.get("/o/acme").await), "/o/acme/login");
    save_connection(&admin, &provider.issuer, "trellis-secret", "member").await;

    // The provider answers under another issuer name than the one saved.
    let port = provider.port;
    provider.stop().await;
    let renamed = Provider::start(&ProviderOptions {
        host: "localhost",
        port,
        ..options.clone()
    })
    .await;
    let start = app.browser().start_sso("acme", false, None).await;
    assert_eq!(location(&start), failed("provider_misconfigured"));
    expected.push("provider_misconfigured");

    // The provider is down.
    renamed.stop().await;
    let start = app.browser().start_sso("acme", false, None).await;
    assert_eq!(location(&start), failed("provider_unreachable"));
    expected.push("provider_unreachable");

    assert_eq!(sso_failures(&db, "acme").await, expected);
    // Every failure page explains itself and leads back to the login page.
    let page = app
        .browser()
        .get(&failed("code_refused"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("refused to finish the sign-in"), "{page}");
    assert!(page.contains("/o/acme/login"));
}

#[sqlx::test(migrations = false)]
async fn an_expired_id_token_is_refused(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    // The provider's clock runs two hours behind: its ID tokens have
    // expired by the time they arrive.
    let provider = Provider::start(&ProviderOptions {
        clock_offset: -2 * 3600,
        ..ProviderOptions::for_app(&app.base)
    })
    .await;
    let admin = signed_in(&app, "acme", "adam@acme.test").await;
    let saved = save_connection(&admin, &provider.issuer, "trellis-secret", "member").await;
    assert_eq!(location(&saved), "/o/acme/sso?notice=saved");
    provider
        .register_redirect_uri(&settings(&admin).await.redirect_uri)
        .await;

    // The test shows the validation error, and the connection cannot be enabled.
    let callback = admin
        .through_provider("/sso/start?org=acme&test=1", "adam@acme.test")
        .await;
    assert_eq!(
        location(&admin.get(&callback).await),
        "/o/acme/sso?notice=tested"
    );
    let report = settings(&admin)
        .await
        .connection
        .unwrap()
        .last_test
        .unwrap();
    assert!(!report.ok);
    assert!(
        report
            .error
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("expired"),
        "{report:?}"
    );
    let enable = admin
        .call("/api/sso/enable", &[("slug", "acme"), ("on", "true")])
        .await;
    assert_eq!(enable.status(), StatusCode::CONFLICT);

    // Had it been enabled (say the provider's clock broke later), sign-in is refused.
    sqlx::query("update sso_connection set enabled_at = now(), last_test_succeeded_at = now()")
        .execute(&db.superuser)
        .await
        .unwrap();
    let (browser, landed) = sso_sign_in(&app, "mia@acme.test").await;
    assert_eq!(landed, "/sso/failed?org=acme&reason=invalid_id_token");
    assert_eq!(location(&browser.get("/o/acme").await), "/o/acme/login");
    assert_eq!(sso_failures(&db, "acme").await, ["invalid_id_token"]);
}

#[sqlx::test(migrations = false)]
async fn an_existing_connection_moves_to_its_own_redirect_uri_and_keeps_its_secret(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use app::domain::sso::SecretKeys;
    // Acme's connection as it was saved before connections had their own
    // redirect URIs and secrets were bound to their issuer.
    let db = TestDb::migrated_before(connect, 20261202000011).await;
    let (key_id, sealed) = SecretKeys::parse(crate::support::web::TEST_SSO_KEYS)
        .unwrap()
        .seal("trellis-secret", b"");
    let hash =
        app::domain::password::hash(&app::validation::NewPassword::parse(DEMO_PASSWORD).unwrap())
            .await
            .unwrap();
    // The provider must be up to be the connection's issuer; the app is not.
    let provider = Provider::start(&ProviderOptions::for_app("http://127.0.0.1:1")).await;
    let org = "00000000-0000-7000-8000-00000000000a";
    let adam = "00000000-0000-7000-8000-0000000000ad";
    sqlx::query("insert into organization (org_id, slug, name) values ($1::uuid, 'acme', 'Acme Corporation')")
        .bind(org)
        .execute(&db.superuser)
        .await
        .unwrap();
    sqlx::query(
        "insert into app_user (user_id, email, display_name, password_hash, email_verified_at)
         values ($1::uuid, 'adam@acme.test', 'Adam', $2, now())",
    )
    .bind(adam)
    .bind(&hash)
    .execute(&db.superuser)
    .await
    .unwrap();
    sqlx::query(
        "insert into membership (org_id, user_id, role) values ($1::uuid, $2::uuid, 'owner')",
    )
    .bind(org)
    .bind(adam)
    .execute(&db.superuser)
    .await
    .unwrap();
    sqlx::query(
        "insert into sso_connection (org_id, sso_connection_id, issuer_url, client_id, client_secret_sealed,
                                     client_secret_key_id, last_test_succeeded_at, enabled_at)
         values ($1::uuid, gen_random_uuid(), $2, 'trellis', $3, $4, now(), now())",
    )
    .bind(org)
    .bind(&provider.issuer)
    .bind(&sealed)
    .bind(&key_id)
    .execute(&db.superuser)
    .await
    .unwrap();
    db.finish_migrations().await;

    let (moved, bound): (Option<time::OffsetDateTime>, bool) =
        sqlx::query_as("select redirect_uri_changed_at, client_secret_bound from sso_connection")
            .fetch_one(&db.superuser)
            .await
            .unwrap();
    assert!(moved.is_some() && !bound);

    // The settings page tells the admin to register the new URI.
    let app = TestApp::spawn(&db).await;
    let admin = signed_in(&app, "acme", "adam@acme.test").await;
    let view = settings(&admin).await;
    assert!(
        view.connection
            .as_ref()
            .unwrap()
            .redirect_uri_moved
            .is_some()
    );
    let page = admin.get("/o/acme/sso").await.text().await.unwrap();
    assert!(
        page.contains("data-testid=\"redirect-uri-moved\""),
        "{page}"
    );
    // Until the provider knows it, the provider refuses the sign-in: the
    // provider's own error page, no code for anyone.
    let start = location(&app.browser().start_sso("acme", false, None).await);
    assert!(start.contains("redirect_uri="));
    let refused = app.browser().get(&start).await;
    assert!(!refused.status().is_redirection(), "{}", refused.status());

    // Registered and tested: the notice goes, the old secret still works,
    // and the successful test binds it to its issuer.
    provider.register_redirect_uri(&view.redirect_uri).await;
    let callback = admin
        .through_provider("/sso/start?org=acme&test=1", "adam@acme.test")
        .await;
    assert_eq!(
        location(&admin.get(&callback).await),
        "/o/acme/sso?notice=tested"
    );
    let view = settings(&admin).await;
    let connection = view.connection.unwrap();
    assert!(connection.last_test.unwrap().ok);
    assert!(connection.redirect_uri_moved.is_none());
    let (_, landed) = sso_sign_in(&app, "adam@acme.test").await;
    assert_eq!(landed, "/sso/link");
    let bound: bool = sqlx::query_scalar("select client_secret_bound from sso_connection")
        .fetch_one(&db.superuser)
        .await
        .unwrap();
    assert!(bound);
}

#[sqlx::test(migrations = false)]
async fn single_sign_on_is_a_first_factor_an_authenticator_or_a_required_set_up_still_follows(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use crate::second_factor::{code, enrol, second_step, step_now};
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let _admin = acme_with_sso(&app, &provider).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let (secret, step, _) = enrol(&mia).await;

    // Mia's first SSO sign-in links her account (proved by her password);
    // her authenticator is still asked for before she is in.
    let (browser, landed) = sso_sign_in(&app, "mia@acme.test").await;
    assert_eq!(landed, "/sso/link");
    assert_eq!(link_with_password(&browser).await, "/login/second-step");
    assert_ne!(browser.get("/o/acme").await.status(), StatusCode::OK);
    let response = second_step(&browser, &code(&secret, step + 1)).await;
    assert_eq!(location(&response), "/o/acme");
    // Linked now: the next SSO sign-in goes straight to the second step.
    let (again, landed) = sso_sign_in(&app, "mia@acme.test").await;
    assert_eq!(landed, "/login/second-step");
    assert_ne!(again.get("/o/acme").await.status(), StatusCode::OK);

    // Acme requires two-step sign-in: Victor, who has no authenticator,
    // sets one up after the provider and the link, before he is in.
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let response = olivia
        .submit(
            "/api/settings/require_mfa",
            "/o/acme/settings",
            &[("slug", "acme"), ("required", "true")],
        )
        .await;
    assert_eq!(location(&response), "/o/acme/settings?notice=mfa_required");
    let (victor, landed) = sso_sign_in(&app, "victor@acme.test").await;
    assert_eq!(landed, "/sso/link");
    assert_eq!(link_with_password(&victor).await, "/login/set-up-two-step");
    assert_ne!(victor.get("/o/acme").await.status(), StatusCode::OK);
    let step: serde_json::Value = victor
        .call("/api/auth/enrolment_step", &[])
        .await
        .json()
        .await
        .unwrap();
    let secret = step["setup"]["secret"].as_str().unwrap().to_string();
    let response = victor
        .submit(
            "/api/auth/confirm_enrolment_step",
            "/login/set-up-two-step",
            &[("code", &code(&secret, step_now()))],
        )
        .await;
    assert_eq!(location(&response), "/account/recovery-codes");
    assert_eq!(victor.get("/o/acme").await.status(), StatusCode::OK);
    let signed_in = audit_log(&db, "acme").await;
    let last = signed_in
        .iter()
        .rev()
        .find(|(action, ..)| action == "auth.signed_in")
        .unwrap();
    assert_eq!(last.2["method"], "sso");
    assert_eq!(last.2["second_factor"], "authenticator");
    provider.stop().await;
    db.close().await;
}
