//! Single sign-on attacked as an outsider would: a malicious provider next
//! to the honest one, stolen and swapped codes, another org's connection,
//! an admin's provider asserting someone else's address, cross-site
//! navigations, accounts registered by strangers, stray callbacks.
//!
//! Each test performs the attack against the real server and asserts what
//! must hold; each failed on the code before the identity-binding work.

use super::*;
use crate::support::{
    evil::{Behaviour, EvilProvider},
    smtp::SmtpSink,
    web::CROSS_SITE_PAGE,
};

/// The address `browser` is signed in as in `slug`, if any.
async fn signed_in_as(browser: &Browser, slug: &str) -> Option<String> {
    let response = browser.call("/api/session/viewer", &[("slug", slug)]).await;
    if response.status() != StatusCode::OK {
        return None;
    }
    let viewer: serde_json::Value = response.json().await.unwrap();
    viewer["email"].as_str().map(str::to_string)
}

/// Where pressing the SSO button of `org` sends the browser.
async fn provider_url(browser: &Browser, org: &str, test: bool) -> String {
    location(&browser.start_sso(org, test, None).await)
}

/// Saves `slug`'s connection to `issuer` as its admin `admin`.
async fn save_for(
    admin: &Browser,
    slug: &str,
    issuer: &str,
    client_id: &str,
    secret: &str,
) -> reqwest::Response {
    admin
        .submit(
            "/api/sso/save",
            &format!("/o/{slug}/sso"),
            &[
                ("slug", slug),
                ("issuer_url", issuer),
                ("client_id", client_id),
                ("client_secret", secret),
                ("default_role", "member"),
            ],
        )
        .await
}

/// Turns on `slug`'s connection without a test sign-in (the attacker's
/// provider could pass one just as well; the test skips the ceremony).
async fn force_enable(db: &TestDb, slug: &str) {
    sqlx::query(
        "update sso_connection set enabled_at = now(), last_test_succeeded_at = now()
         where org_id = (select org_id from organization where slug = $1)",
    )
    .bind(slug)
    .execute(&db.superuser)
    .await
    .unwrap();
}

/// The redirect URI of `slug`'s connection, read by its admin.
async fn redirect_uri_of(admin: &Browser, slug: &str) -> String {
    admin.sso_redirect_uri(slug).await
}

async fn identities(db: &TestDb) -> Vec<(String, String)> {
    sqlx::query_as(
        "select i.subject, u.email from sso_identity i join app_user u using (user_id) order by 1",
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

#[sqlx::test(migrations = false)]
async fn a_provider_of_another_org_cannot_obtain_or_use_a_members_code(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let honest = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let acme_admin = acme_with_sso(&app, &honest).await;
    let acme_redirect = redirect_uri_of(&acme_admin, "acme").await;

    // Globex's admin (anyone can make an organization) points Globex's
    // single sign-on at a provider they run.
    let evil = EvilProvider::start().await;
    let gus = signed_in(&app, "globex", "gus@globex.test").await;
    let saved = save_for(&gus, "globex", &evil.issuer, "evil", "evil-secret").await;
    assert_eq!(location(&saved), "/o/globex/sso?notice=saved");
    force_enable(&db, "globex").await;
    let globex_redirect = redirect_uri_of(&gus, "globex").await;
    assert_ne!(
        globex_redirect, acme_redirect,
        "each connection has its own"
    );

    // The attacker starts a sign-in into Acme in their own browser, for a
    // PKCE challenge and a nonce that their own flow will accept.
    let attacker = app.browser();
    let own = provider_url(&attacker, "acme", false).await;
    let own_state = query_param(&own, "state");
    assert_eq!(query_param(&own, "redirect_uri"), acme_redirect);
    let bounce: Vec<(String, String)> = [
        "client_id",
        "response_type",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        // Acme's provider sends codes only to URIs registered for Acme.
        "redirect_uri",
    ]
    .into_iter()
    .map(|k| (k.to_string(), query_param(&own, k)))
    .collect();
    evil.behave(Behaviour::Bounce {
        authorize: own.split('?').next().unwrap().to_string(),
        params: bounce,
    });

    // Mia, of Acme, is lured into signing in to Globex with single sign-on:
    // Globex's provider bounces her to Acme's real provider, where she
    // signs in as herself, and it sends her back with a code.
    let mia = app.browser();
    let to_evil = provider_url(&mia, "globex", false).await;
    assert!(to_evil.starts_with(&evil.issuer));
    let callback = mia.sign_in_at_provider(&to_evil, "mia@acme.test").await;
    assert!(callback.starts_with(&acme_redirect), "{callback}");
    let landed = mia.get(&callback).await;
    assert_eq!(
        location(&landed),
        "/sso/failed?org=globex&reason=wrong_connection"
    );

    // Every code the attacker's provider received, replayed in the
    // attacker's own flow, as the honest provider would have sent it.
    let stolen: Vec<String> = evil
        .token_requests()
        .iter()
        .filter_map(|r| r.form.get("code").cloned())
        .collect();
    for code in &stolen {
        let replay = format!(
            "{}?code={code}&state={own_state}&iss={}",
            acme_redirect.trim_start_matches(&app.base),
            honest.issuer
        );
        let _ = attacker.get(&replay).await;
    }
    assert_eq!(
        signed_in_as(&attacker, "acme").await,
        None,
        "the attacker holds Mia's session in Acme"
    );
    assert_eq!(
        stolen,
        Vec::<String>::new(),
        "Acme's code reached the other org's token endpoint"
    );
    assert!(
        evil.token_requests().is_empty(),
        "no request at all reached it"
    );
    assert_eq!(signed_in_as(&mia, "globex").await, None);
    // Acme's log says its provider's answer was steered elsewhere — once,
    // however often someone replays such answers to fill it.
    for _ in 0..5 {
        let flooder = app.browser();
        let to = provider_url(&flooder, "globex", false).await;
        let state = query_param(&to, "state");
        let path = acme_redirect.trim_start_matches(&app.base).to_string();
        flooder
            .get(&format!("{path}?code=junk&state={state}"))
            .await;
    }
    let steered = sso_failures(&db, "acme")
        .await
        .into_iter()
        .filter(|r| r == "wrong_connection")
        .count();
    assert_eq!(steered, 1);

    // RFC 9207: the honest provider names itself in every answer, and says
    // so; an answer without `iss`, or naming another issuer, is refused
    // before any token request.
    let browser = app.browser();
    let callback = browser
        .through_provider("/sso/start?org=acme", "mia@acme.test")
        .await;
    assert_eq!(query_param(&callback, "iss"), honest.issuer);
    let without = reqwest::Url::parse(&callback).unwrap();
    let kept: Vec<(String, String)> = without
        .query_pairs()
        .filter(|(k, _)| k != "iss")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut stripped = without.clone();
    stripped.query_pairs_mut().clear().extend_pairs(&kept);
    assert_eq!(
        location(&browser.get(stripped.as_str()).await),
        "/sso/failed?org=acme&reason=issuer_mismatch"
    );
    let browser = app.browser();
    let callback = browser
        .through_provider("/sso/start?org=acme", "mia@acme.test")
        .await;
    let forged = callback.replace(
        &format!("iss={}", query_param_raw(&callback, "iss")),
        &format!(
            "iss={}",
            evil.issuer.replace(':', "%3A").replace('/', "%2F")
        ),
    );
    assert_ne!(forged, callback);
    assert_eq!(
        location(&browser.get(&forged).await),
        "/sso/failed?org=acme&reason=issuer_mismatch"
    );
    assert_eq!(signed_in_as(&browser, "acme").await, None);
    // An `iss` far too long, ending in a character of several bytes, is a
    // refusal like any other (not a crash).
    let browser = app.browser();
    let callback = browser
        .through_provider("/sso/start?org=acme", "mia@acme.test")
        .await;
    let long = format!("{}%C3%A9", "x".repeat(2047));
    let crafted = callback.replace(
        &format!("iss={}", query_param_raw(&callback, "iss")),
        &format!("iss={long}"),
    );
    assert_eq!(
        location(&browser.get(&crafted).await),
        "/sso/failed?org=acme&reason=issuer_mismatch"
    );
}

/// The raw (still encoded) value of `key` in `url`'s query.
fn query_param_raw(url: &str, key: &str) -> String {
    url.split(['?', '&'])
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {url}"))
        .to_string()
}

#[sqlx::test(migrations = false)]
async fn a_provider_asserting_someone_elses_address_gets_no_session_as_them(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    // Adam, an admin, connects Acme to a provider that says whatever he
    // wants (this one signs in any login with any password).
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let adam = acme_with_sso(&app, &provider).await;

    // He asserts the owner's address: no session, only the page that asks
    // for the owner's own proof, which he cannot give.
    let (browser, landed) = sso_sign_in(&app, "olivia@acme.test").await;
    assert_eq!(landed, "/sso/link");
    assert_eq!(
        signed_in_as(&browser, "acme").await,
        None,
        "an asserted address signed in as the owner"
    );
    let guessed = browser
        .submit(
            "/api/sso/link/password",
            "/sso/link",
            &[("password", "a-guess")],
        )
        .await;
    assert!(redirected_error(&guessed).is_some());
    assert_eq!(signed_in_as(&browser, "acme").await, None);
    // The mailed proof goes to the owner's mailbox, not to him; a link of
    // his own account does not prove hers.
    let sent = browser
        .submit("/api/sso/link/send_email", "/sso/link", &[])
        .await;
    assert_eq!(location(&sent), "/sso/link?sent=1");
    let mail = sink
        .wait_for("olivia@acme.test", "Confirm signing in to")
        .await;
    assert!(mail.text.contains("If this was not you"));
    let (adams_browser, _) = sso_sign_in(&app, "adam@acme.test").await;
    adams_browser
        .submit("/api/sso/link/send_email", "/sso/link", &[])
        .await;
    let own_token = mailed_link_token(&sink, "adam@acme.test").await;
    assert_eq!(confirm_link(&browser, &own_token).await, None);
    assert_eq!(signed_in_as(&browser, "acme").await, None);
    assert!(identities(&db).await.is_empty(), "nothing was linked");

    // Mia links her account once, with her password…
    provider.set_address("mia-sub", "mia@acme.test").await;
    let (mia, landed) = sso_sign_in(&app, "mia-sub").await;
    assert_eq!(landed, "/sso/link");
    let page = mia.get("/sso/link").await.text().await.unwrap();
    assert!(page.contains("data-testid=\"link-password-form\""));
    let linked = mia
        .submit(
            "/api/sso/link/password",
            "/sso/link",
            &[("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(location(&linked), "/o/acme");
    assert_eq!(
        signed_in_as(&mia, "acme").await.as_deref(),
        Some("mia@acme.test")
    );
    // …and from then on her subject signs her in, even under a new address…
    provider.set_address("mia-sub", "mia.new@acme.test").await;
    let (renamed, landed) = sso_sign_in(&app, "mia-sub").await;
    assert_eq!(landed, "/o/acme");
    assert_eq!(
        signed_in_as(&renamed, "acme").await.as_deref(),
        Some("mia@acme.test")
    );
    // …while another subject with her address gets nothing.
    provider.set_address("other-sub", "mia@acme.test").await;
    let (other, landed) = sso_sign_in(&app, "other-sub").await;
    assert_eq!(landed, "/sso/link");
    assert_eq!(signed_in_as(&other, "acme").await, None);
    assert_eq!(
        identities(&db).await,
        [("mia-sub".to_string(), "mia@acme.test".to_string())]
    );

    // Victor proves his account by the mailed link, in the same browser.
    let (victor, _) = sso_sign_in(&app, "victor@acme.test").await;
    victor
        .submit("/api/sso/link/send_email", "/sso/link", &[])
        .await;
    let first = mailed_link_token(&sink, "victor@acme.test").await;
    victor
        .submit("/api/sso/link/send_email", "/sso/link", &[])
        .await;
    let mut token = first.clone();
    for _ in 0..100 {
        token = mailed_link_token(&sink, "victor@acme.test").await;
        if token != first {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_ne!(token, first, "a second link arrived");
    // Only the newest link works.
    assert_eq!(confirm_link(&victor, &first).await, None);
    // Opened in another browser, it does nothing (and is not spent).
    assert_eq!(confirm_link(&app.browser(), &token).await, None);
    assert_eq!(confirm_link(&victor, &token).await, Some("/o/acme".into()));
    assert_eq!(
        signed_in_as(&victor, "acme").await.as_deref(),
        Some("victor@acme.test")
    );

    // A changed issuer forgets every link, and the owners and admins are
    // told about each change to the connection.
    assert_eq!(
        signed_in_as(&renamed, "acme").await.as_deref(),
        Some("mia@acme.test")
    );
    let other_idp = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let changed = save_for(
        &adam,
        "acme",
        &other_idp.issuer,
        "trellis",
        "trellis-secret",
    )
    .await;
    assert_eq!(location(&changed), "/o/acme/sso?notice=saved");
    assert!(identities(&db).await.is_empty());
    // The sessions the replaced provider signed in end with it.
    assert_eq!(signed_in_as(&renamed, "acme").await, None);
    assert_eq!(signed_in_as(&victor, "acme").await, None);
    assert_eq!(
        signed_in_as(&adam, "acme").await.as_deref(),
        Some("adam@acme.test"),
        "a password session is not the provider's"
    );
    for admin in ["olivia@acme.test", "adam@acme.test", "sam@consulting.test"] {
        sink.wait_for_text(
            admin,
            "Single sign-on settings changed for Acme",
            &other_idp.issuer,
        )
        .await;
    }
    assert!(
        sink.messages_to("mia@acme.test")
            .await
            .iter()
            .all(|m| !m.subject.contains("Single sign-on settings")),
        "members are not told"
    );
}

#[sqlx::test(migrations = false)]
async fn a_password_set_by_a_stranger_before_verification_stops_working(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let dns = Dns::start().await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            dns: DnsServer::At(dns.addr),
            smtp_url: Some(sink.url()),
            ..AppOptions::default()
        },
    )
    .await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let admin = acme_with_sso(&app, &provider).await;
    verify_domain(&admin, &dns, "acme.test").await;

    // A stranger registers someone else's address, with a password of theirs.
    let sign_up = |email: &'static str, slug: &'static str| {
        let stranger = app.browser();
        async move {
            let signed_up = stranger
                .submit(
                    "/api/auth/sign_up",
                    "/signup",
                    &[
                        ("name", "Not Them"),
                        ("email", email),
                        ("password", "stranger-password-1"),
                        ("org_name", "Lookalike"),
                        ("slug", slug),
                    ],
                )
                .await;
            assert_eq!(location(&signed_up), "/signup/check-email");
        }
    };
    let stranger_gets_in = |slug: &'static str, email: &'static str| {
        let browser = app.browser();
        async move {
            let again = browser.sign_in(slug, email, "stranger-password-1").await;
            redirected_error(&again).is_none()
        }
    };

    // 1. Nora signs in to Acme through its provider: the account is hers
    //    only once she proves the address (its password is not hers, so the
    //    page offers the mail alone).
    sign_up("nora@acme.test", "lookalike").await;
    let (nora, landed) = sso_sign_in(&app, "nora@acme.test").await;
    assert_eq!(landed, "/sso/link");
    let page = nora.get("/sso/link").await.text().await.unwrap();
    assert!(!page.contains("link-password-form"), "{page}");
    nora.submit("/api/sso/link/send_email", "/sso/link", &[])
        .await;
    let token = mailed_link_token(&sink, "nora@acme.test").await;
    assert_eq!(confirm_link(&nora, &token).await, Some("/o/acme".into()));
    assert!(
        !stranger_gets_in("lookalike", "nora@acme.test").await,
        "the stranger's password still signs in"
    );
    let notice = sink
        .wait_for("nora@acme.test", "Set a password for your Trellis account")
        .await;
    assert!(notice.text.contains("/reset-password?token="));

    // 2. Ivy accepts an invitation sent to her address.
    sign_up("ivy@elsewhere.test", "lookalike-two").await;
    let invited = admin
        .submit(
            "/api/members/invite",
            "/o/acme/members",
            &[
                ("slug", "acme"),
                ("emails", "ivy@elsewhere.test"),
                ("role", "member"),
            ],
        )
        .await;
    assert!(redirected_error(&invited).is_none());
    let invitation = sink
        .wait_for("ivy@elsewhere.test", "invited you")
        .await
        .link("/invite");
    let invite_token = invitation.split("token=").nth(1).unwrap().to_string();
    let ivy = app.browser();
    let page: serde_json::Value = ivy
        .call("/api/invitations/get", &[("token", &invite_token)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["account_exists"], false, "{page}");
    let accepted = ivy
        .submit(
            "/api/invitations/accept_new",
            "/invite",
            &[
                ("token", &invite_token),
                ("name", "Ivy"),
                ("password", "ivys-own-password-1"),
            ],
        )
        .await;
    assert_eq!(location(&accepted), "/o/acme");
    assert!(!stranger_gets_in("lookalike-two", "ivy@elsewhere.test").await);
    let ivy_again = app
        .browser()
        .sign_in("acme", "ivy@elsewhere.test", "ivys-own-password-1")
        .await;
    assert_eq!(location(&ivy_again), "/o/acme");

    // 3. Una opens the verification mail the stranger caused, in her own
    //    browser.
    sign_up("una@elsewhere.test", "lookalike-three").await;
    let verify = sink
        .wait_for("una@elsewhere.test", "Confirm your email address")
        .await
        .link("/verify-email");
    let verify_token = verify.split("token=").nth(1).unwrap().to_string();
    let outcome: serde_json::Value = app
        .browser()
        .call("/api/auth/verify_email", &[("token", &verify_token)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        outcome,
        serde_json::json!({ "Verified": { "password_removed": true } })
    );
    assert!(!stranger_gets_in("lookalike-three", "una@elsewhere.test").await);
    sink.wait_for("una@elsewhere.test", "Set a password").await;

    // 4. A provider the connection trusts with unverified addresses: the
    //    account it makes is not linked, so when the address's owner takes
    //    it over later, the provider's person cannot keep signing in as them.
    let trusting = admin
        .submit(
            "/api/sso/save",
            "/o/acme/sso",
            &[
                ("slug", "acme"),
                ("issuer_url", &provider.issuer),
                ("client_id", "trellis"),
                ("client_secret", ""),
                ("default_role", "member"),
                ("trust_unverified_email", "on"),
            ],
        )
        .await;
    assert_eq!(location(&trusting), "/o/acme/sso?notice=saved");
    let (_, landed) = sso_sign_in(&app, "unverified+zed@acme.test").await;
    assert_eq!(landed, "/o/acme", "joins, as the connection trusts it");
    let linked: i64 = sqlx::query_scalar(
        "select count(*) from sso_identity where subject = 'unverified+zed@acme.test'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(linked, 0);
    let (_, landed) = sso_sign_in(&app, "unverified+zed@acme.test").await;
    assert_eq!(landed, "/sso/link", "the next sign-in proves the account");

    let removed: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'auth.password_removed'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert!(removed >= 3, "{removed}");
}

#[sqlx::test(migrations = false)]
async fn a_cross_site_navigation_never_changes_who_is_signed_in(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let _adam = acme_with_sso(&app, &provider).await;
    // Globex requires SSO through a provider where the attacker (Gus) has
    // an account that signs in without asking.
    let globex_idp = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let gus = signed_in(&app, "globex", "gus@globex.test").await;
    save_for(
        &gus,
        "globex",
        &globex_idp.issuer,
        "trellis",
        "trellis-secret",
    )
    .await;
    globex_idp
        .register_redirect_uri(&redirect_uri_of(&gus, "globex").await)
        .await;
    force_enable(&db, "globex").await;
    sqlx::query("update sso_connection set enforced = true where org_id = (select org_id from organization where slug = 'globex')")
        .execute(&db.superuser)
        .await
        .unwrap();

    let victim = signed_in(&app, "acme", "mia@acme.test").await;
    for path in [
        "/sso/start?org=globex",
        "/sso/start?org=acme&test=1",
        "/sso/start?ticket=guessed",
        "/sso/continue?org=globex",
        "/o/globex/login",
    ] {
        // Follow what a browser follows: redirects and meta refreshes, and
        // at the provider, the attacker's account signs in.
        let mut url = path.to_string();
        let mut reached_provider = false;
        for _ in 0..6 {
            let response = if url == path {
                victim.get_from_elsewhere(&url).await
            } else {
                victim.get(&url).await
            };
            if response.status().is_redirection() {
                let next = location(&response);
                if next.starts_with("http") && !next.starts_with(&app.base) {
                    reached_provider = true;
                    let back = victim.sign_in_at_provider(&next, "gus@globex.test").await;
                    let _ = victim.get(&back).await;
                    break;
                }
                url = next;
                continue;
            }
            let page = response.text().await.unwrap();
            match page
                .split(r#"http-equiv="refresh" content="0;url="#)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
            {
                Some(next) => url = next.replace("&amp;", "&"),
                None => break,
            }
        }
        assert!(!reached_provider, "{path} started a sign-in");
        assert_eq!(
            signed_in_as(&victim, "acme").await.as_deref(),
            Some("mia@acme.test"),
            "after a cross-site {path} (from {CROSS_SITE_PAGE})"
        );
    }
    // Another site's auto-submitting form is refused by the Origin check.
    let posted = victim
        .submit_from_elsewhere("/api/sso/start", &[("org", "globex")])
        .await;
    assert_eq!(posted.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        signed_in_as(&victim, "acme").await.as_deref(),
        Some("mia@acme.test")
    );
    // The same press on our own page does start one.
    let pressed = victim.start_sso("globex", false, None).await;
    assert!(location(&pressed).starts_with(&globex_idp.issuer));
}

#[sqlx::test(migrations = false)]
async fn the_client_secret_is_never_sent_to_a_new_issuer(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let admin = acme_with_sso(&app, &provider).await;
    let evil = EvilProvider::start().await;
    evil.behave(Behaviour::ReturnCode("harvest".into()));

    // The issuer changes; the secret field is left empty: refused, with a
    // message on the secret field, and nothing changes.
    let changed = save_for(&admin, "acme", &evil.issuer, "trellis", "").await;
    let error = redirected_error(&changed).expect("refused");
    assert!(
        error
            .message_for("client_secret")
            .is_some_and(|m| m.contains("enter the client secret for it again")),
        "{error:?}"
    );
    assert_eq!(
        settings(&admin).await.connection.unwrap().issuer_url,
        provider.issuer
    );
    // So is a changed client id.
    let changed = save_for(&admin, "acme", &provider.issuer, "another-client", "").await;
    assert!(redirected_error(&changed).is_some());

    // Even a row changed behind the app's back (say, by someone with write
    // access to the database) does not open the secret for the new issuer.
    sqlx::query("update sso_connection set issuer_url = $1")
        .bind(&evil.issuer)
        .execute(&db.superuser)
        .await
        .unwrap();
    let to = provider_url(&admin, "acme", true).await;
    if to.starts_with(&evil.issuer) {
        let back = location(&admin.get(&to).await);
        let _ = admin.get(&back).await;
    }
    let (_, to_sign_in) = sso_sign_in_location(&app).await;
    assert_eq!(to_sign_in, "/sso/failed?org=acme&reason=secret_unreadable");
    let secrets: Vec<String> = evil
        .token_requests()
        .iter()
        .filter_map(|r| r.client_secret())
        .collect();
    assert!(
        secrets.is_empty(),
        "the stored secret went to the new issuer: {secrets:?}"
    );
    assert!(evil.authorize_requests().is_empty());
}

/// Where pressing Acme's SSO button sends a fresh browser.
async fn sso_sign_in_location(app: &TestApp) -> (Browser, String) {
    let browser = app.browser();
    let to = location(&browser.start_sso("acme", false, None).await);
    (browser, to)
}

#[sqlx::test(migrations = false)]
async fn requiring_sso_ends_the_sessions_that_did_not_use_it(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let _adam = acme_with_sso(&app, &provider).await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let (adam_sso, landed) = sso_sign_in(&app, "adam@acme.test").await;
    assert_eq!(landed, "/sso/link");
    let linked = adam_sso
        .submit(
            "/api/sso/link/password",
            "/sso/link",
            &[("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(location(&linked), "/o/acme");
    let enforced = adam_sso
        .submit(
            "/api/sso/enforce",
            "/o/acme/sso",
            &[("slug", "acme"), ("on", "true")],
        )
        .await;
    assert_eq!(location(&enforced), "/o/acme/sso?notice=enforced");

    assert_eq!(
        signed_in_as(&mia, "acme").await,
        None,
        "a password session outlived the requirement"
    );
    assert_eq!(
        signed_in_as(&olivia, "acme").await,
        None,
        "an owner's ordinary password session outlived it"
    );
    assert_eq!(
        signed_in_as(&adam_sso, "acme").await.as_deref(),
        Some("adam@acme.test"),
        "the single sign-on session stays"
    );
    // An owner's break-glass sign-in, made while it is required, stays.
    let recovery = app.browser();
    assert_eq!(break_glass(&recovery, "olivia@acme.test").await, "/o/acme");
    assert_eq!(
        signed_in_as(&recovery, "acme").await.as_deref(),
        Some("olivia@acme.test")
    );
    // Break-glass counts for owners only: demoted, Olivia's session ends.
    sqlx::query(
        "update membership m set role = case u.email when 'olivia@acme.test' then 'admin' else 'owner' end
         from app_user u
         where u.user_id = m.user_id and u.email in ('olivia@acme.test', 'sam@consulting.test')
           and m.org_id = (select org_id from organization where slug = 'acme')",
    )
    .execute(&db.superuser)
    .await
    .unwrap();
    assert_eq!(signed_in_as(&recovery, "acme").await, None);

    let ended: Vec<(Option<String>, serde_json::Value)> = sqlx::query_as(
        "select actor_email, details from audit_event where action = 'auth.session_ended' order by audit_event_id",
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    let who: Vec<&str> = ended.iter().filter_map(|(e, _)| e.as_deref()).collect();
    assert_eq!(
        who,
        ["mia@acme.test", "olivia@acme.test", "olivia@acme.test"]
    );
    assert!(ended.iter().all(|(_, d)| d["reason"] == "sso_required"));
}

#[sqlx::test(migrations = false)]
async fn stray_callbacks_are_recorded_once_per_burst(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let adam = acme_with_sso(&app, &provider).await;
    let callback = redirect_uri_of(&adam, "acme").await;
    let before = sso_failures(&db, "acme").await.len();
    let anyone = app.browser();
    for i in 0..25 {
        let stray = anyone
            .get_from_elsewhere(&format!("{callback}?code=x{i}&state=forged"))
            .await;
        assert_eq!(
            location(&stray),
            "/sso/failed?org=acme&reason=no_flow",
            "request {i}"
        );
        // The old shared callback answers, and records nothing.
        let old = anyone
            .get_from_elsewhere(&format!("/sso/callback?code=x{i}&state=forged"))
            .await;
        assert_eq!(location(&old), "/sso/failed?reason=callback_moved");
    }
    let recorded = sso_failures(&db, "acme").await.len() - before;
    assert_eq!(recorded, 1, "{recorded} events for one burst");
    // A burst into one org does not hide the first stray callback into
    // another.
    let gus = signed_in(&app, "globex", "gus@globex.test").await;
    save_for(
        &gus,
        "globex",
        &provider.issuer,
        "trellis",
        "trellis-secret",
    )
    .await;
    let globex_callback = redirect_uri_of(&gus, "globex").await;
    for i in 0..3 {
        anyone
            .get_from_elsewhere(&format!("{globex_callback}?code=z{i}&state=forged"))
            .await;
    }
    assert_eq!(sso_failures(&db, "globex").await.len(), 1);
    // Another client address has a burst of its own.
    let elsewhere = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{callback}?code=y&state=forged"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert!(elsewhere.status().is_redirection());
    assert_eq!(sso_failures(&db, "acme").await.len() - before, 2);
}

/// The token of the newest link-confirmation mail to `email`.
async fn mailed_link_token(sink: &SmtpSink, email: &str) -> String {
    let link = sink
        .wait_for(email, "Confirm signing in to")
        .await
        .link("/sso/link/confirm");
    link.split("token=").nth(1).unwrap().to_string()
}

/// Presses the button of the link-confirmation page in `browser`: where it
/// leads, or `None` when it was refused.
async fn confirm_link(browser: &Browser, token: &str) -> Option<String> {
    let response = browser
        .submit(
            "/api/sso/link/confirm",
            "/sso/link/confirm",
            &[("token", token)],
        )
        .await;
    redirected_error(&response)
        .is_none()
        .then(|| location(&response))
}

/// Adds `domain` to Acme and proves it through the test DNS server.
async fn verify_domain(admin: &Browser, dns: &Dns, domain: &str) {
    admin
        .submit(
            "/api/sso/domains/add",
            "/o/acme/sso",
            &[("slug", "acme"), ("domain", domain)],
        )
        .await;
    let added = settings(admin)
        .await
        .domains
        .into_iter()
        .find(|d| d.domain == domain)
        .expect("the domain is listed");
    dns.publish_txt(&added.record_name, &added.record_value)
        .await;
    admin
        .call(
            "/api/sso/domains/verify",
            &[("slug", "acme"), ("domain_id", &added.id)],
        )
        .await;
    assert!(
        settings(admin)
            .await
            .domains
            .iter()
            .any(|d| d.domain == domain && d.verified)
    );
}
