//! Audit completeness: every endpoint that changes state records what it did.
//!
//! The test reads the HTTP surface from the server itself — every registered
//! server function and every route outside Leptos — and requires each to be
//! named below, either as read-only (with the reason) or as state-changing.
//! Each state-changing endpoint is then called, successfully, in one journey
//! through the product, and the call must leave a new audit event of the
//! expected kind. A new endpoint that is in neither list fails the test, and
//! so does one listed as state-changing that records nothing.
//!
//! Leptos pages are not listed: rendering a page runs server functions
//! in-process, so what a page can change is what its server functions can.

use crate::support::{
    TestDb,
    peers::{Dns, Provider, ProviderOptions},
    seeded,
    smtp::SmtpSink,
    web::{AppOptions, TestApp, location, redirected_error, signed_in},
};
use app::domain::{demo::DEMO_PASSWORD, sso::DnsServer};
use reqwest::{Response, StatusCode};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Endpoints that change nothing an organization would audit, and why.
const READ_ONLY: &[(&str, &str)] = &[
    ("/healthz", "reports health"),
    (
        "/sso/start",
        "starts a flow in the visitor's own session; its outcome is recorded at its callback",
    ),
    (
        "/api/sso/start",
        "leaves a one-time ticket to start a sign-in in the visitor's own session",
    ),
    (
        "/sso/callback",
        "the old shared callback: answers with a page, redeems and records nothing",
    ),
    ("/api/sso/link/get", "reads the visitor's own pending link"),
    (
        "/api/sso/link/cancel",
        "forgets the pending link in the visitor's own session",
    ),
    ("/o/{slug}/audit.csv", "exports the audit log"),
    ("/api/session/viewer", "reads the signed-in person"),
    ("/api/session/org_login", "reads an org's sign-in page"),
    ("/api/session/picker", "reads the org picker"),
    ("/api/session/can_create_org", "reads a permission"),
    ("/api/session/org_home", "reads the dashboard"),
    ("/api/session/dev_mode", "reads a setting"),
    ("/api/dev/mailbox", "reads the development mailbox"),
    (
        "/api/auth/continue_with_sso",
        "finds the organization for an address and redirects",
    ),
    ("/api/auth/reset_link_state", "checks a reset link"),
    ("/api/members/list", "reads members"),
    ("/api/invitations/get", "reads an invitation"),
    ("/api/settings/get", "reads org settings"),
    ("/api/projects/list", "reads projects"),
    ("/api/projects/get", "reads a project"),
    ("/api/projects/recent", "reads recent projects"),
    ("/api/sso/get", "reads SSO settings"),
    ("/api/account/get", "reads the signed-in person's account"),
    (
        "/account/my-data.json",
        "downloads the signed-in person's own data",
    ),
    ("/api/members/sessions", "reads a member's sessions"),
    (
        "/api/account/totp_setup",
        "keeps an unconfirmed authenticator secret; nothing is on (or audited) until it is confirmed",
    ),
    (
        "/api/account/fresh_codes",
        "reads, once, the recovery codes kept in the visitor's own session",
    ),
    (
        "/api/auth/second_step",
        "reads the visitor's own sign-in waiting for its code",
    ),
    (
        "/api/auth/enrolment_step",
        "keeps an unconfirmed authenticator secret for the visitor's own waiting sign-in; audited when confirmed",
    ),
    ("/api/audit/page", "reads the audit log"),
];

/// Endpoints that change state; the journey below calls each one.
const STATE_CHANGING: &[&str] = &[
    "/sso/callback/{connection_id}",
    "/api/sso/link/password",
    "/api/sso/link/send_email",
    "/api/sso/link/confirm",
    "/api/auth/sign_up",
    "/api/auth/verify_email",
    "/api/auth/sign_in",
    "/api/auth/request_link",
    "/api/auth/use_link",
    "/api/auth/enter_org",
    "/api/auth/create_org",
    "/api/auth/sign_out",
    "/api/auth/switch_org",
    "/api/auth/forgot_password",
    "/api/auth/reset_password",
    "/api/auth/verify_second_step",
    "/api/auth/confirm_enrolment_step",
    "/api/settings/require_mfa",
    "/api/account/totp_confirm",
    "/api/account/totp_disable",
    "/api/account/recovery_codes",
    "/api/account/change_name",
    "/api/account/change_password",
    "/api/account/end_session",
    "/api/account/end_other_sessions",
    "/api/account/delete",
    "/api/members/end_session",
    "/api/members/change_role",
    "/api/members/remove",
    "/api/members/leave",
    "/api/members/invite",
    "/api/members/resend_invitation",
    "/api/members/revoke_invitation",
    "/api/invitations/accept_new",
    "/api/invitations/accept_with_password",
    "/api/invitations/accept_signed_in",
    "/api/settings/rename",
    "/api/settings/change_slug",
    "/api/projects/create",
    "/api/projects/update",
    "/api/projects/archive",
    "/api/projects/restore",
    "/api/projects/delete",
    "/api/settings/delete",
    "/api/sso/save",
    "/api/sso/enable",
    "/api/sso/enforce",
    "/api/sso/domains/add",
    "/api/sso/domains/verify",
    "/api/sso/domains/remove",
    "/api/audit/retention",
];

/// The action a row of `deleted_organization` stands for: deleting an
/// organization removes its own audit log, so the deletion is recorded there.
const ORG_DELETED: &str = "deleted_organization";

/// Every audit record in the database: id → action.
async fn records(db: &TestDb) -> BTreeMap<Uuid, String> {
    sqlx::query_as::<_, (Uuid, String)>(
        "select audit_event_id, action from audit_event
         union all select deleted_org_id, $1 from deleted_organization",
    )
    .bind(ORG_DELETED)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// Which endpoints were called, and whether each left its event.
struct Ledger<'a> {
    db: &'a TestDb,
    seen: BTreeMap<Uuid, String>,
    covered: BTreeSet<&'static str>,
}

impl<'a> Ledger<'a> {
    async fn new(db: &'a TestDb) -> Self {
        Self {
            db,
            seen: records(db).await,
            covered: BTreeSet::new(),
        }
    }

    /// `endpoint` was just called and succeeded: the records added since the
    /// last check must include `action`.
    #[track_caller]
    fn check(
        &mut self,
        endpoint: &'static str,
        action: &str,
    ) -> impl std::future::Future<Output = ()> + '_ {
        let caller = std::panic::Location::caller();
        let action = action.to_string();
        async move {
            let now = records(self.db).await;
            let added: Vec<&String> = now
                .iter()
                .filter(|(id, _)| !self.seen.contains_key(id))
                .map(|(_, action)| action)
                .collect();
            assert!(
                added.contains(&&action),
                "{endpoint} (at {caller}) should have recorded {action}; it added {added:?}"
            );
            assert!(
                STATE_CHANGING.contains(&endpoint),
                "{endpoint} is not listed"
            );
            self.covered.insert(endpoint);
            self.seen = now;
        }
    }
}

/// The call worked: a 2xx answer, or a redirect that carries no error.
#[track_caller]
fn succeeded(response: &Response) {
    assert!(
        response.status().is_success()
            || (response.status().is_redirection() && redirected_error(response).is_none()),
        "{} answered {}: {:?}",
        response.url(),
        response.status(),
        redirected_error(response)
    );
}

/// The token of the newest mail to `to` whose subject contains `subject`,
/// from its link that contains `link`.
async fn mailed_token(sink: &SmtpSink, to: &str, subject: &str, link: &str) -> (String, String) {
    let url = sink.wait_for(to, subject).await.link(link);
    let token = url.split("token=").nth(1).unwrap().to_string();
    (url, token)
}

#[sqlx::test(migrations = false)]
async fn every_state_changing_endpoint_records_an_audit_event(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // The surface, as the server registers it.
    let mut registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    registered.extend(
        server::plain_routes()
            .into_iter()
            .map(|(p, _)| p.to_string()),
    );
    assert!(
        registered.len() > 40,
        "the enumeration works: {registered:?}"
    );
    let listed: BTreeSet<String> = READ_ONLY
        .iter()
        .map(|(path, _)| *path)
        .chain(STATE_CHANGING.iter().copied())
        .map(String::from)
        .collect();
    let unlisted: Vec<_> = registered.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "endpoints neither read-only nor known to record an audit event: {unlisted:?} \
         (add each to READ_ONLY with a reason, or to STATE_CHANGING and the journey below)"
    );
    let gone: Vec<_> = listed.difference(&registered).collect();
    assert!(gone.is_empty(), "listed but no longer served: {gone:?}");

    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let dns = Dns::start().await;
    let app = TestApp::spawn_with(
        &db,
        AppOptions {
            smtp_url: Some(sink.url()),
            dns: DnsServer::At(dns.addr),
            ..AppOptions::default()
        },
    )
    .await;
    let provider = Provider::start(&ProviderOptions::for_app(&app.base)).await;
    let mut ledger = Ledger::new(&db).await;

    // Signing up, confirming the address, signing in.
    let nina = app.browser();
    let response = nina
        .submit(
            "/api/auth/sign_up",
            "/signup",
            &[
                ("name", "Nina New"),
                ("email", "nina@initech.test"),
                ("password", "a long enough password"),
                ("org_name", "Initech"),
                ("slug", "initech"),
            ],
        )
        .await;
    succeeded(&response);
    ledger.check("/api/auth/sign_up", "auth.signed_up").await;
    let (_, token) = mailed_token(
        &sink,
        "nina@initech.test",
        "Confirm your email",
        "/verify-email?token=",
    )
    .await;
    let response = nina
        .call("/api/auth/verify_email", &[("token", &token)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    ledger
        .check("/api/auth/verify_email", "auth.email_verified")
        .await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    ledger.check("/api/auth/sign_in", "auth.signed_in").await;

    // Organization settings.
    let response = olivia
        .submit(
            "/api/audit/retention",
            "/o/acme/audit",
            &[("slug", "acme"), ("days", "365")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/audit/retention", "org.audit_retention_changed")
        .await;
    let response = nina
        .submit(
            "/api/settings/rename",
            "/o/initech/settings",
            &[("slug", "initech"), ("name", "Initech Co")],
        )
        .await;
    succeeded(&response);
    ledger.check("/api/settings/rename", "org.renamed").await;
    // resource: project
    let response = nina
        .submit(
            "/api/projects/create",
            "/o/initech/projects",
            &[
                ("slug", "initech"),
                ("name", "Audit me"),
                ("description", ""),
            ],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/projects/create", "project.created")
        .await;
    let project: Uuid =
        sqlx::query_scalar("select project_id from project where name = 'Audit me'")
            .fetch_one(&db.superuser)
            .await
            .unwrap();
    let project = project.to_string();
    let one = [("slug", "initech"), ("id", project.as_str())];
    let response = nina
        .submit(
            "/api/projects/update",
            "/o/initech/projects",
            &[one[0], one[1], ("name", "Audited"), ("description", "more")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/projects/update", "project.updated")
        .await;
    for (endpoint, action) in [
        ("/api/projects/archive", "project.archived"),
        ("/api/projects/restore", "project.restored"),
        ("/api/projects/delete", "project.deleted"),
    ] {
        let response = nina.submit(endpoint, "/o/initech/projects", &one).await;
        succeeded(&response);
        ledger.check(endpoint, action).await;
    }
    // end resource: project
    let response = nina
        .submit(
            "/api/settings/change_slug",
            "/o/initech/settings",
            &[("slug", "initech"), ("new_slug", "initech-co")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/settings/change_slug", "org.slug_changed")
        .await;

    // Invitations: sent, resent, revoked, and accepted three ways.
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    let response = adam
        .submit(
            "/api/members/invite",
            "/o/acme/members",
            &[
                ("slug", "acme"),
                (
                    "emails",
                    "newcomer@new.test, max@globex.test, grace@globex.test, typo@new.test",
                ),
                ("role", "member"),
            ],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/members/invite", "invitation.created")
        .await;
    let typo = db.pending_invitation("typo@new.test").await;
    let response = adam
        .submit(
            "/api/members/resend_invitation",
            "/o/acme/members",
            &[("slug", "acme"), ("invitation_id", &typo)],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/members/resend_invitation", "invitation.resent")
        .await;
    let response = adam
        .submit(
            "/api/members/revoke_invitation",
            "/o/acme/members",
            &[("slug", "acme"), ("invitation_id", &typo)],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/members/revoke_invitation", "invitation.revoked")
        .await;
    let (_, token) =
        mailed_token(&sink, "newcomer@new.test", "invited you", "/invite?token=").await;
    let response = app
        .browser()
        .call(
            "/api/invitations/accept_new",
            &[
                ("token", &token),
                ("name", "Newcomer"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/invitations/accept_new", "invitation.accepted")
        .await;
    let (_, token) = mailed_token(&sink, "max@globex.test", "invited you", "/invite?token=").await;
    let response = app
        .browser()
        .call(
            "/api/invitations/accept_with_password",
            &[("token", &token), ("password", DEMO_PASSWORD)],
        )
        .await;
    succeeded(&response);
    ledger
        .check(
            "/api/invitations/accept_with_password",
            "invitation.accepted",
        )
        .await;
    let grace = signed_in(&app, "globex", "grace@globex.test").await;
    ledger.check("/api/auth/sign_in", "auth.signed_in").await;
    let (_, token) =
        mailed_token(&sink, "grace@globex.test", "invited you", "/invite?token=").await;
    let response = grace
        .call("/api/invitations/accept_signed_in", &[("token", &token)])
        .await;
    succeeded(&response);
    ledger
        .check("/api/invitations/accept_signed_in", "invitation.accepted")
        .await;

    // Members: a role change, a removal, someone leaving.
    let mia_id = db.user_id("mia@acme.test").await;
    let response = adam
        .submit(
            "/api/members/change_role",
            "/o/acme/members",
            &[("slug", "acme"), ("user_id", &mia_id), ("role", "viewer")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/members/change_role", "member.role_changed")
        .await;
    let victor_id = db.user_id("victor@acme.test").await;
    let response = adam
        .submit(
            "/api/members/remove",
            "/o/acme/members",
            &[("slug", "acme"), ("user_id", &victor_id)],
        )
        .await;
    succeeded(&response);
    ledger.check("/api/members/remove", "member.removed").await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let response = mia
        .submit("/api/members/leave", "/o/acme", &[("slug", "acme")])
        .await;
    succeeded(&response);
    ledger.check("/api/members/leave", "member.left").await;

    // Emailed sign-in links and password resets.
    let gus = app.browser();
    let response = gus
        .submit(
            "/api/auth/request_link",
            "/o/globex/login",
            &[("email", "gus@globex.test"), ("org", "globex")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/auth/request_link", "auth.sign_in_link_sent")
        .await;
    let (_, token) = mailed_token(
        &sink,
        "gus@globex.test",
        "sign-in link",
        "/o/globex/login/link?token=",
    )
    .await;
    let response = gus
        .call(
            "/api/auth/use_link",
            &[("token", &token), ("org", "globex")],
        )
        .await;
    succeeded(&response);
    ledger.check("/api/auth/use_link", "auth.signed_in").await;
    let forgetful = app.browser();
    let response = forgetful
        .submit(
            "/api/auth/forgot_password",
            "/forgot-password",
            &[("email", "max@globex.test")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/auth/forgot_password", "auth.password_reset_requested")
        .await;
    let (_, token) = mailed_token(
        &sink,
        "max@globex.test",
        "Reset your",
        "/reset-password?token=",
    )
    .await;
    let response = forgetful
        .call(
            "/api/auth/reset_password",
            &[
                ("token", &token),
                ("password", "a brand new password"),
                ("confirm", "a brand new password"),
            ],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/auth/reset_password", "auth.password_reset")
        .await;

    // Switching organization, picking one, creating one, signing out.
    let sam = signed_in(&app, "acme", "sam@consulting.test").await;
    let response = sam
        .submit("/api/auth/switch_org", "/o/acme", &[("slug", "globex")])
        .await;
    succeeded(&response);
    ledger
        .check("/api/auth/switch_org", "auth.switched_out")
        .await;
    let picker = app.browser();
    let response = picker
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
    let response = picker
        .submit("/api/auth/enter_org", "/orgs", &[("slug", "globex")])
        .await;
    succeeded(&response);
    ledger.check("/api/auth/enter_org", "auth.signed_in").await;
    let response = olivia
        .submit(
            "/api/auth/create_org",
            "/orgs/new",
            &[("org_name", "Hooli"), ("slug", "hooli")],
        )
        .await;
    succeeded(&response);
    ledger.check("/api/auth/create_org", "org.created").await;
    let response = olivia.submit("/api/auth/sign_out", "/o/hooli", &[]).await;
    succeeded(&response);
    ledger.check("/api/auth/sign_out", "auth.signed_out").await;

    // Two-step sign-in: turning it on, new recovery codes, the second step
    // of a sign-in, turning it off.
    let grace = signed_in(&app, "globex", "grace@globex.test").await;
    let (_, _, codes) = crate::second_factor::enrol(&grace).await;
    ledger
        .check("/api/account/totp_confirm", "mfa.totp_enabled")
        .await;
    let response = grace
        .submit(
            "/api/account/recovery_codes",
            "/account",
            &[("code", &codes[0])],
        )
        .await;
    succeeded(&response);
    ledger
        .check(
            "/api/account/recovery_codes",
            "mfa.recovery_codes_regenerated",
        )
        .await;
    let codes: Vec<String> = grace
        .call("/api/account/fresh_codes", &[])
        .await
        .json()
        .await
        .unwrap();
    let phone = app.browser();
    let response = phone
        .sign_in("globex", "grace@globex.test", DEMO_PASSWORD)
        .await;
    assert_eq!(location(&response), "/login/second-step");
    let response = phone
        .submit(
            "/api/auth/verify_second_step",
            "/login/second-step",
            &[("code", &codes[0])],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/auth/verify_second_step", "mfa.recovery_code_used")
        .await;
    let response = phone
        .submit(
            "/api/account/totp_disable",
            "/account",
            &[("code", &codes[1])],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/account/totp_disable", "mfa.totp_disabled")
        .await;
    // The account's own changes.
    let gus = signed_in(&app, "globex", "gus@globex.test").await;
    let response = gus
        .submit(
            "/api/account/change_name",
            "/account",
            &[("name", "Gus Admin II")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/account/change_name", "account.name_changed")
        .await;
    let response = gus
        .submit(
            "/api/account/change_password",
            "/account",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", "a quieter orchard lantern"),
            ],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/account/change_password", "account.password_changed")
        .await;
    // Sessions: Gus ends one of his others, then all of them; Grace, his
    // owner, ends his sessions in Globex.
    let gus_elsewhere = || async {
        let browser = app.browser();
        let response = browser
            .sign_in("globex", "gus@globex.test", "a quieter orchard lantern")
            .await;
        assert_eq!(location(&response), "/o/globex");
        browser
    };
    gus_elsewhere().await;
    let listed: app::api::account::Account = gus
        .call("/api/account/get", &[])
        .await
        .json()
        .await
        .unwrap();
    let other = listed
        .sessions
        .iter()
        .find(|s| !s.current)
        .expect("another session");
    let response = gus
        .submit(
            "/api/account/end_session",
            "/account",
            &[("session_id", &other.session_id)],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/account/end_session", "auth.session_revoked")
        .await;
    gus_elsewhere().await;
    let response = gus
        .submit("/api/account/end_other_sessions", "/account", &[])
        .await;
    succeeded(&response);
    ledger
        .check("/api/account/end_other_sessions", "auth.session_revoked")
        .await;
    let gus_id = db.user_id("gus@globex.test").await;
    let response = grace
        .submit(
            "/api/members/end_session",
            &format!("/o/globex/members/{gus_id}/sessions"),
            &[("slug", "globex"), ("user_id", &gus_id), ("all", "true")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/members/end_session", "auth.session_revoked")
        .await;
    // Max deletes his account (a fresh sign-in is recent enough).
    let max = app.browser();
    let response = max
        .sign_in("globex", "max@globex.test", "a brand new password")
        .await;
    assert_eq!(location(&response), "/o/globex");
    let response = max
        .submit(
            "/api/account/delete",
            "/account",
            &[("confirm_email", "max@globex.test")],
        )
        .await;
    assert_eq!(location(&response), "/login?account_deleted=1");
    ledger
        .check("/api/account/delete", "member.account_deleted")
        .await;
    // globex requires it; Grace (whose app is off again) sets it up to get in.
    let response = grace
        .submit(
            "/api/settings/require_mfa",
            "/o/globex/settings",
            &[("slug", "globex"), ("required", "true")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/settings/require_mfa", "org.mfa_required")
        .await;
    let again = app.browser();
    let response = again
        .sign_in("globex", "grace@globex.test", DEMO_PASSWORD)
        .await;
    assert_eq!(location(&response), "/login/set-up-two-step");
    let step: serde_json::Value = again
        .call("/api/auth/enrolment_step", &[])
        .await
        .json()
        .await
        .unwrap();
    let secret = step["setup"]["secret"].as_str().unwrap();
    let response = again
        .submit(
            "/api/auth/confirm_enrolment_step",
            "/login/set-up-two-step",
            &[(
                "code",
                &crate::second_factor::code(secret, crate::second_factor::step_now()),
            )],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/auth/confirm_enrolment_step", "mfa.totp_enabled")
        .await;
    let response = grace
        .submit(
            "/api/settings/require_mfa",
            "/o/globex/settings",
            &[("slug", "globex"), ("required", "false")],
        )
        .await;
    succeeded(&response);

    // Single sign-on: the connection, its test sign-in, domains, policy.
    let response = adam
        .save_sso_connection("acme", &provider.issuer, "trellis-secret", "member")
        .await;
    succeeded(&response);
    ledger.check("/api/sso/save", "sso.connection_saved").await;
    let redirect_uri: String = adam
        .call("/api/sso/get", &[("slug", "acme")])
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["redirect_uri"]
        .as_str()
        .unwrap()
        .to_string();
    provider.register_redirect_uri(&redirect_uri).await;
    let callback = adam
        .through_provider("/sso/start?org=acme&test=1", "adam@acme.test")
        .await;
    succeeded(&adam.get(&callback).await);
    ledger
        .check("/sso/callback/{connection_id}", "sso.connection_tested")
        .await;
    let response = adam
        .submit(
            "/api/sso/enable",
            "/o/acme/sso",
            &[("slug", "acme"), ("on", "true")],
        )
        .await;
    succeeded(&response);
    ledger.check("/api/sso/enable", "sso.enabled").await;
    // An existing account's first SSO sign-in: it is proved once, by its
    // password (Adam) or by a mailed link (Olivia).
    let callback = adam
        .through_provider("/sso/start?org=acme", "adam@acme.test")
        .await;
    assert_eq!(location(&adam.get(&callback).await), "/sso/link");
    ledger
        .check("/sso/callback/{connection_id}", "sso.link_started")
        .await;
    let response = adam
        .submit(
            "/api/sso/link/password",
            "/sso/link",
            &[("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(location(&response), "/o/acme");
    ledger
        .check("/api/sso/link/password", "sso.identity_linked")
        .await;
    let owner = app.browser();
    let callback = owner
        .through_provider("/sso/start?org=acme", "olivia@acme.test")
        .await;
    assert_eq!(location(&owner.get(&callback).await), "/sso/link");
    let response = owner
        .submit("/api/sso/link/send_email", "/sso/link", &[])
        .await;
    succeeded(&response);
    ledger
        .check("/api/sso/link/send_email", "sso.link_email_sent")
        .await;
    let (_, token) = mailed_token(
        &sink,
        "olivia@acme.test",
        "Confirm signing in to",
        "/sso/link/confirm",
    )
    .await;
    let response = owner
        .submit(
            "/api/sso/link/confirm",
            "/sso/link/confirm",
            &[("token", &token)],
        )
        .await;
    assert_eq!(location(&response), "/o/acme");
    ledger
        .check("/api/sso/link/confirm", "sso.identity_linked")
        .await;
    let response = adam
        .submit(
            "/api/sso/domains/add",
            "/o/acme/sso",
            &[("slug", "acme"), ("domain", "acme.test")],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/sso/domains/add", "sso.domain_added")
        .await;
    let (domain_id, record_name, record_value) = sqlx::query_as::<_, (Uuid, String)>(
        "select sso_domain_id, verification_token from sso_domain where domain = 'acme.test'",
    )
    .fetch_one(&db.superuser)
    .await
    .map(|(id, token)| {
        (
            id.to_string(),
            "_trellis-verification.acme.test".to_string(),
            format!("trellis-verification={token}"),
        )
    })
    .unwrap();
    dns.publish_txt(&record_name, &record_value).await;
    let response = adam
        .submit(
            "/api/sso/domains/verify",
            "/o/acme/sso",
            &[("slug", "acme"), ("domain_id", &domain_id)],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/sso/domains/verify", "sso.domain_verified")
        .await;
    let response = adam
        .submit(
            "/api/sso/enforce",
            "/o/acme/sso",
            &[("slug", "acme"), ("on", "true")],
        )
        .await;
    succeeded(&response);
    ledger.check("/api/sso/enforce", "sso.enforced").await;
    let member = app.browser();
    let callback = member
        .through_provider("/sso/start?org=acme", "adam@acme.test")
        .await;
    assert_eq!(location(&member.get(&callback).await), "/o/acme");
    ledger
        .check("/sso/callback/{connection_id}", "auth.signed_in")
        .await;
    let response = adam
        .submit(
            "/api/sso/domains/remove",
            "/o/acme/sso",
            &[("slug", "acme"), ("domain_id", &domain_id)],
        )
        .await;
    succeeded(&response);
    ledger
        .check("/api/sso/domains/remove", "sso.domain_removed")
        .await;

    // Deleting an organization takes its audit log with it; the deletion is
    // recorded outside it, with who did it and what went.
    let response = nina
        .submit(
            "/api/settings/delete",
            "/o/initech-co/settings",
            &[("slug", "initech-co"), ("confirm_name", "Initech Co")],
        )
        .await;
    succeeded(&response);
    ledger.check("/api/settings/delete", ORG_DELETED).await;
    let (slug, actor, members, events): (String, String, i64, i64) = sqlx::query_as(
        "select slug, actor_email, (details->>'members')::bigint, (details->>'audit_events')::bigint
         from deleted_organization",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(
        (slug.as_str(), actor.as_str()),
        ("initech-co", "nina@initech.test")
    );
    assert_eq!(members, 1);
    assert!(events >= 5, "{events}");

    // The journey added and removed members every way there is; the counts
    // kept on each organization still match.
    let drifted: Vec<String> = sqlx::query_scalar(
        "select slug from organization o
         where member_count <> (select count(*) from membership m where m.org_id = o.org_id)",
    )
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    assert!(drifted.is_empty(), "member counts drifted in {drifted:?}");

    // Every state-changing endpoint was exercised above.
    let missed: Vec<_> = STATE_CHANGING
        .iter()
        .filter(|e| !ledger.covered.contains(*e))
        .collect();
    assert!(missed.is_empty(), "not exercised: {missed:?}");

    drop(app);
    provider.stop().await;
    sink.stop().await;
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn the_runtime_role_can_only_add_to_the_record_of_deleted_organizations(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    sqlx::query("insert into deleted_organization (deleted_org_id, slug, name) values (gen_random_uuid(), 'gone', 'Gone')")
        .execute(&db.runtime)
        .await
        .expect("the runtime role records a deletion");
    for statement in [
        "select count(*) from deleted_organization",
        "update deleted_organization set name = 'x'",
        "delete from deleted_organization",
    ] {
        let error = sqlx::query(statement)
            .execute(&db.runtime)
            .await
            .expect_err(statement);
        assert!(
            error.to_string().contains("permission denied"),
            "{statement}: {error}"
        );
    }
    // Not even the owner or the superuser can rewrite it.
    for pool in [&db.owner, &db.superuser] {
        for statement in [
            "update deleted_organization set name = 'x'",
            "delete from deleted_organization",
            "truncate deleted_organization",
        ] {
            let error = sqlx::query(statement)
                .execute(pool)
                .await
                .expect_err(statement);
            assert!(
                error.to_string().contains("append-only"),
                "{statement}: {error}"
            );
        }
    }
    db.close().await;
}
