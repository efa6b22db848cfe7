//! Sessions a person sees and ends on their account page, and those an
//! organization's admins see and end for a member — tried by the person, by
//! other members, by an admin of another organization, and with other
//! people's session ids.

use crate::support::{
    TestDb, seeded,
    web::{AppOptions, Browser, TestApp, location, session_cookie, signed_in},
};
use app::{api::account::Account, api::members::MemberSessions, domain::demo::DEMO_PASSWORD};
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

async fn account(browser: &Browser) -> Account {
    let response = browser.call("/api/account/get", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Whether `browser` is still signed in (its org home answers as a member).
async fn still_signed_in(browser: &Browser) -> bool {
    let status = browser.call("/api/account/get", &[]).await.status();
    assert!(
        matches!(status, StatusCode::OK | StatusCode::UNAUTHORIZED),
        "{status}"
    );
    status == StatusCode::OK
}

async fn sign_in_on(app: &TestApp, ip: &str, agent: &str, slug: &str, email: &str) -> Browser {
    let browser = Browser::on_device(&app.base, ip, agent);
    let response = browser.sign_in(slug, email, DEMO_PASSWORD).await;
    assert_eq!(
        location(&response),
        format!("/o/{slug}"),
        "{email} signs in"
    );
    browser
}

async fn revoked_events(db: &TestDb) -> Vec<(String, serde_json::Value)> {
    sqlx::query_as(
        "select o.slug, a.details from audit_event a join organization o using (org_id)
         where a.action = 'auth.session_revoked' order by a.occurred_at",
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

#[sqlx::test(migrations = false)]
async fn a_person_sees_their_sessions_in_every_org_and_ends_any_at_once(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let here = sign_in_on(&app, "203.0.113.7", FIREFOX, "acme", "sam@consulting.test").await;
    let phone = sign_in_on(
        &app,
        "198.51.100.20",
        SAFARI,
        "globex",
        "sam@consulting.test",
    )
    .await;
    let laptop = signed_in(&app, "acme", "sam@consulting.test").await;

    let listed = account(&here).await.sessions;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let current: Vec<_> = listed.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].browser, "Firefox on Linux");
    assert_eq!(current[0].client.as_deref(), Some("203.0.113.7"));
    assert_eq!(current[0].method, "Password");
    let on_phone = listed
        .iter()
        .find(|s| s.browser == "Safari on iOS")
        .expect("the phone's session is listed");
    assert_eq!(on_phone.org_name, "Globex");
    assert_eq!(on_phone.client.as_deref(), Some("198.51.100.20"));
    assert!(!on_phone.current);

    // Ending the phone's session (in another organization) signs it out on
    // its very next request; the others carry on.
    let response = here
        .submit(
            "/api/account/end_session",
            "/account",
            &[("session_id", on_phone.session_id.as_str())],
        )
        .await;
    assert_eq!(
        location(&response),
        "/account?notice=session_ended#sessions"
    );
    assert!(!still_signed_in(&phone).await, "the phone is signed out");
    assert!(still_signed_in(&laptop).await);
    assert_eq!(account(&here).await.sessions.len(), 2);
    let events = revoked_events(&db).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "globex", "recorded where the session was");
    assert_eq!(events[0].1["by"], "self");
    assert_eq!(events[0].1["session"], on_phone.session_id.as_str());

    // Again, or an id that is no session, or not an id: not found.
    for id in [
        on_phone.session_id.as_str(),
        "0190e3f5-0000-7000-8000-000000000000",
        "not-a-session",
    ] {
        let response = here
            .call("/api/account/end_session", &[("session_id", id)])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
    }
    // This browser's own session ends by signing out, not here.
    let response = here
        .call(
            "/api/account/end_session",
            &[("session_id", current[0].session_id.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(still_signed_in(&here).await);
    assert_eq!(
        revoked_events(&db).await.len(),
        1,
        "refusals record nothing"
    );

    // From another site, nothing ends.
    let response = here
        .submit_from_elsewhere("/api/account/end_other_sessions", &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(still_signed_in(&laptop).await);

    // Everywhere else: the laptop goes, this browser stays.
    let response = here
        .submit("/api/account/end_other_sessions", "/account", &[])
        .await;
    assert_eq!(
        location(&response),
        "/account?notice=other_sessions_ended#sessions"
    );
    assert!(!still_signed_in(&laptop).await);
    assert!(still_signed_in(&here).await);
    let left = account(&here).await.sessions;
    assert_eq!(left.len(), 1);
    assert!(left[0].current);
    assert_eq!(revoked_events(&db).await.len(), 2);

    // Signing out ends the row too: a new sign-in lists one session.
    here.call("/api/auth/sign_out", &[]).await;
    let again = signed_in(&app, "acme", "sam@consulting.test").await;
    assert_eq!(account(&again).await.sessions.len(), 1);
    let reasons: Vec<(Option<String>,)> = sqlx::query_as(
        "select ended_reason from user_session where user_id = (select user_id from app_user where email = 'sam@consulting.test') order by authenticated_at",
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    let reasons: Vec<_> = reasons.into_iter().map(|(r,)| r).collect();
    assert_eq!(
        reasons,
        [
            Some("signed_out".to_string()),
            Some("ended_by_user".to_string()),
            Some("ended_by_user".to_string()),
            None,
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn nobody_ends_someone_elses_session_by_its_id(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let sam = signed_in(&app, "acme", "sam@consulting.test").await;
    let sams_id = account(&sam).await.sessions[0].session_id.clone();
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let sam_user = db.user_id("sam@consulting.test").await;

    // Through her own account page: not one of hers.
    let response = mia
        .call("/api/account/end_session", &[("session_id", &sams_id)])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    mia.call("/api/account/end_other_sessions", &[]).await;
    // Through the admin path, as a member: not allowed.
    for endpoint in ["/api/members/sessions", "/api/members/end_session"] {
        let response = mia
            .call(
                endpoint,
                &[
                    ("slug", "acme"),
                    ("user_id", &sam_user),
                    ("session_id", &sams_id),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{endpoint}");
    }
    assert!(still_signed_in(&sam).await);
    assert!(revoked_events(&db).await.is_empty());
}

#[sqlx::test(migrations = false)]
async fn admins_see_and_end_a_members_sessions_in_their_own_org_only(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let sam_acme = sign_in_on(&app, "203.0.113.9", FIREFOX, "acme", "sam@consulting.test").await;
    let sam_globex = signed_in(&app, "globex", "sam@consulting.test").await;
    let sam_user = db.user_id("sam@consulting.test").await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;

    let response = adam
        .call(
            "/api/members/sessions",
            &[("slug", "acme"), ("user_id", &sam_user)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen: MemberSessions = response.json().await.unwrap();
    assert_eq!(seen.email, "sam@consulting.test");
    assert_eq!(seen.sessions.len(), 1, "only the session in Acme: {seen:?}");
    assert_eq!(seen.sessions[0].browser, "Firefox on Linux");
    assert!(!seen.sessions[0].current);
    let html = adam
        .get(&format!("/o/acme/members/{sam_user}/sessions"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Sessions of Sam Consultant"),
        "the page renders"
    );
    assert!(html.contains("Firefox on Linux"));

    // An admin of Globex reaches none of it: not through Acme's address,
    // not with Acme's session id through Globex, not for someone who is not
    // in Globex.
    let gus = signed_in(&app, "globex", "gus@globex.test").await;
    let acme_session = seen.sessions[0].session_id.as_str();
    let response = gus
        .call(
            "/api/members/sessions",
            &[("slug", "acme"), ("user_id", &sam_user)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = gus
        .call(
            "/api/members/end_session",
            &[
                ("slug", "globex"),
                ("user_id", &sam_user),
                ("session_id", acme_session),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let mia_user = db.user_id("mia@acme.test").await;
    let response = gus
        .call(
            "/api/members/sessions",
            &[("slug", "globex"), ("user_id", &mia_user)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(still_signed_in(&sam_acme).await);

    // An admin does not act on an owner's sessions; a viewer on nobody's.
    let olivia_user = db.user_id("olivia@acme.test").await;
    let response = adam
        .call(
            "/api/members/sessions",
            &[("slug", "acme"), ("user_id", &olivia_user)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let victor = signed_in(&app, "acme", "victor@acme.test").await;
    let response = victor
        .call(
            "/api/members/sessions",
            &[("slug", "acme"), ("user_id", &sam_user)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A lost or blank session id ends nothing (it is not read as "all").
    for blank in [None, Some(""), Some("   ")] {
        let mut form = vec![("slug", "acme"), ("user_id", sam_user.as_str())];
        if let Some(id) = blank {
            form.push(("session_id", id));
        }
        let response = adam.call("/api/members/end_session", &form).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{blank:?}");
    }
    assert!(still_signed_in(&sam_acme).await);
    assert!(revoked_events(&db).await.is_empty());

    // Adam ends all of Sam's sessions in Acme (a plain form): Sam's next
    // request there is signed out; in Globex Sam carries on.
    let response = adam
        .submit(
            "/api/members/end_session",
            &format!("/o/acme/members/{sam_user}/sessions"),
            &[("slug", "acme"), ("user_id", &sam_user), ("all", "true")],
        )
        .await;
    assert_eq!(
        location(&response),
        format!("/o/acme/members/{sam_user}/sessions?notice=all_ended&n=1")
    );
    assert!(!still_signed_in(&sam_acme).await);
    assert!(still_signed_in(&sam_globex).await);
    let events = revoked_events(&db).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "acme");
    assert_eq!(events[0].1["by"], "admin");
    assert_eq!(events[0].1["email"], "sam@consulting.test");

    // Ending "all" of one's own sessions as an admin keeps the one in use.
    let adam_user = db.user_id("adam@acme.test").await;
    let response = adam
        .call(
            "/api/members/end_session",
            &[("slug", "acme"), ("user_id", &adam_user), ("all", "true")],
        )
        .await;
    assert!(response.status().is_success() || response.status().is_redirection());
    assert!(still_signed_in(&adam).await);
}

#[sqlx::test(migrations = false)]
async fn a_password_change_that_ends_the_other_sessions_lists_only_this_one(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let here = signed_in(&app, "acme", "mia@acme.test").await;
    let there = signed_in(&app, "acme", "mia@acme.test").await;
    assert_eq!(account(&here).await.sessions.len(), 2);
    let response = here
        .call(
            "/api/account/change_password",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", "orchard lantern quietly 58"),
            ],
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    assert!(!still_signed_in(&there).await);
    let left = account(&here).await.sessions;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].current);
}

#[sqlx::test(migrations = false)]
async fn served_over_https_the_session_cookie_is_host_prefixed(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let site = "https://trellis.example";
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            public_base_url: Some(site.to_string()),
            ..AppOptions::default()
        },
    )
    .await;
    // A browser on the public address, reaching this server through the
    // TLS proxy in front of it.
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/api/auth/sign_in", app.base))
        .header("origin", site)
        .header("referer", format!("{site}/o/acme/login"))
        .header("accept", "text/html")
        .form(&[
            ("email", "mia@acme.test"),
            ("password", DEMO_PASSWORD),
            ("org", "acme"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/o/acme");
    let cookie = session_cookie(&response);
    assert!(cookie.starts_with("__Host-trellis_session="), "{cookie}");
    let attributes: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes.contains(&"secure".to_string()), "{cookie}");
    assert!(attributes.contains(&"path=/".to_string()), "{cookie}");
    assert!(attributes.contains(&"httponly".to_string()), "{cookie}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "{cookie}"
    );

    // Over plain http (local development) the prefix would be refused by
    // browsers, so the cookie keeps its plain name there.
    let plain = TestApp::spawn(&db).await;
    let browser = signed_in(&plain, "acme", "mia@acme.test").await;
    assert!(browser.cookie().unwrap().contains("trellis_session="));
    assert!(!browser.cookie().unwrap().contains("__Host-"));
}

#[sqlx::test(migrations = false)]
async fn a_browser_that_signs_in_again_leaves_no_session_behind(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let here = sign_in_on(&app, "203.0.113.7", FIREFOX, "acme", "sam@consulting.test").await;
    let other = sign_in_on(&app, "198.51.100.20", SAFARI, "acme", "sam@consulting.test").await;
    assert_eq!(account(&here).await.sessions.len(), 2);

    // The same browser signs in to the same organization again: the
    // session it replaced is not listed as still open.
    let response = here
        .sign_in("acme", "sam@consulting.test", DEMO_PASSWORD)
        .await;
    assert_eq!(location(&response), "/o/acme");
    let listed = account(&here).await.sessions;
    assert_eq!(listed.len(), 2, "{listed:?}");

    // And through the general sign-in page, which asks which organization
    // (the acme session is cleared on the way): one session, in Globex.
    let response = here
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
    let response = here
        .submit("/api/auth/enter_org", "/orgs", &[("slug", "globex")])
        .await;
    assert_eq!(location(&response), "/o/globex");
    let listed = account(&here).await.sessions;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(
        listed
            .iter()
            .filter(|s| s.org_name == "Acme Corporation")
            .count(),
        1,
        "only the other browser is still in Acme: {listed:?}"
    );

    // A session that lapsed (idle for longer than the timeout) is neither
    // listed nor "ended" again by signing out everywhere else.
    sqlx::query(
        "update user_session set last_seen_at = now() - interval '30 days'
         where user_id = (select user_id from app_user where email = 'sam@consulting.test')
           and org_id = (select org_id from organization where slug = 'acme')",
    )
    .execute(&db.superuser)
    .await
    .unwrap();
    assert_eq!(account(&here).await.sessions.len(), 1);
    let response = here
        .submit("/api/account/end_other_sessions", "/account", &[])
        .await;
    assert!(location(&response).starts_with("/account"));
    assert!(
        revoked_events(&db).await.is_empty(),
        "nothing live was ended, so nothing is recorded"
    );
    drop(other);

    // Every row a browser left behind is closed, with its reason.
    let reasons: Vec<(Option<String>,)> = sqlx::query_as(
        "select ended_reason from user_session s join app_user u using (user_id)
         where u.email = 'sam@consulting.test' order by s.authenticated_at",
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    let reasons: Vec<_> = reasons.into_iter().map(|(r,)| r).collect();
    assert_eq!(
        reasons,
        [
            Some("replaced".to_string()),
            None,
            Some("replaced".to_string()),
            None
        ],
        "first sign-in replaced, other browser (lapsed, not ended), second replaced, globex live"
    );
}
