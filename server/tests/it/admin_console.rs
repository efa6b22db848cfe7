//! The org admin console over HTTP: members, invitations, roles, settings.

use crate::support::{
    TestDb, seeded,
    smtp::SmtpSink,
    web::{Browser, TestApp, location, signed_in},
};
use app::{
    api::members::MembersPage,
    domain::{demo, demo::DEMO_PASSWORD},
    error::AppError,
    roles::{Permission, Role},
};
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

/// Adds a member directly (as the superuser), for tests that need more people.
async fn add_member(db: &TestDb, slug: &str, email: &str, role: Role) -> String {
    let id = Uuid::now_v7();
    sqlx::query("insert into app_user (user_id, email, display_name, email_verified_at) values ($1, $2, $2, now())")
        .bind(id)
        .bind(email)
        .execute(&db.superuser)
        .await
        .unwrap();
    sqlx::query("insert into membership (org_id, user_id, role) select org_id, $2, $3 from organization where slug = $1")
        .bind(slug)
        .bind(id)
        .bind(role.as_str())
        .execute(&db.superuser)
        .await
        .unwrap();
    id.to_string()
}

/// Everything the console can change about an org, as text.
async fn snapshot(db: &TestDb, slug: &str) -> String {
    let rows: Vec<(String,)> = sqlx::query_as(
        r#"
        select format('org %s %s', o.name, o.slug) from organization o where o.slug = $1
        union all
        select format('member %s %s', u.email, m.role) from membership m
          join organization o using (org_id) join app_user u using (user_id) where o.slug = $1
        union all
        select format('invitation %s %s %s %s %s %s', i.email, i.role, encode(i.token_hash, 'hex'),
                      i.accepted_at is not null, i.revoked_at is not null, i.expires_at)
          from invitation i join organization o using (org_id) where o.slug = $1
        order by 1
        "#,
    )
    .bind(slug)
    .fetch_all(&db.superuser)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(r,)| r)
        .collect::<Vec<_>>()
        .join("\n")
}

/// (action, actor email, target label) of an org's audit log, oldest first.
async fn audit_log(db: &TestDb, slug: &str) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "select a.action, a.actor_email, a.target_label from audit_event a join organization o using (org_id)
         where o.slug = $1 order by a.audit_event_id",
    )
    .bind(slug)
    .fetch_all(&db.superuser)
    .await
    .unwrap()
}

/// A server function, its form, and what the test expects of it.
type Attempt<'a, V, E> = (&'a str, Vec<(&'a str, V)>, E);

async fn change(browser: &Browser, user: &str, role: &str) -> reqwest::Response {
    browser
        .call(
            "/api/members/change_role",
            &[("slug", "acme"), ("user_id", user), ("role", role)],
        )
        .await
}

#[track_caller]
fn allowed(status: StatusCode) -> bool {
    match status {
        StatusCode::OK => true,
        StatusCode::FORBIDDEN => false,
        other => panic!("expected 200 or 403, got {other}"),
    }
}

#[sqlx::test(migrations = false)]
async fn each_role_may_do_exactly_what_the_permission_table_says(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let owner = signed_in(&app, "acme", "olivia@acme.test").await;
    owner
        .call(
            "/api/members/invite",
            &[
                ("slug", "acme"),
                ("emails", "pending@new.test"),
                ("role", "member"),
            ],
        )
        .await;
    let invitation = db.pending_invitation("pending@new.test").await;

    for (email, role) in [
        ("olivia@acme.test", Role::Owner),
        ("adam@acme.test", Role::Admin),
        ("mia@acme.test", Role::Member),
        ("victor@acme.test", Role::Viewer),
    ] {
        let browser = signed_in(&app, "acme", email).await;
        let tag = role.as_str();
        let target = add_member(
            &db,
            "acme",
            &format!("target-{tag}@acme.test"),
            Role::Member,
        )
        .await;

        let list = browser.call("/api/members/list", &[("slug", "acme")]).await;
        assert_eq!(
            allowed(list.status()),
            role.can(Permission::ViewMembers),
            "{tag} lists"
        );

        let attempts: Vec<Attempt<String, Permission>> = vec![
            (
                "/api/members/invite",
                vec![
                    ("slug", "acme".into()),
                    ("emails", format!("new-{tag}@new.test")),
                    ("role", "member".into()),
                ],
                Permission::InviteMembers,
            ),
            (
                "/api/members/resend_invitation",
                vec![
                    ("slug", "acme".into()),
                    ("invitation_id", invitation.clone()),
                ],
                Permission::InviteMembers,
            ),
            (
                "/api/members/change_role",
                vec![
                    ("slug", "acme".into()),
                    ("user_id", target.clone()),
                    ("role", "viewer".into()),
                ],
                Permission::ManageMembers,
            ),
            (
                "/api/members/remove",
                vec![("slug", "acme".into()), ("user_id", target.clone())],
                Permission::ManageMembers,
            ),
            (
                "/api/settings/rename",
                vec![("slug", "acme".into()), ("name", format!("Acme {tag}"))],
                Permission::ManageOrganization,
            ),
        ];
        for (endpoint, form, permission) in attempts {
            let before = snapshot(&db, "acme").await;
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = browser.call(endpoint, &form).await;
            let may = role.can(permission);
            assert_eq!(allowed(response.status()), may, "{tag} → {endpoint}");
            let after = snapshot(&db, "acme").await;
            if may {
                assert_ne!(before, after, "{tag} → {endpoint} changed something");
            } else {
                assert_eq!(
                    before, after,
                    "{tag} → {endpoint} was refused and changed nothing"
                );
            }
        }
        // Settings pages themselves follow the same table.
        let settings = browser.call("/api/settings/get", &[("slug", "acme")]).await;
        assert_eq!(
            allowed(settings.status()),
            role.can(Permission::ManageOrganization),
            "{tag} settings"
        );
    }
    // Revoking: refused for a member, allowed for an admin.
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let refused = mia
        .call(
            "/api/members/revoke_invitation",
            &[("slug", "acme"), ("invitation_id", &invitation)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    let revoked = adam
        .call(
            "/api/members/revoke_invitation",
            &[("slug", "acme"), ("invitation_id", &invitation)],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn owner_rules_hold_and_role_changes_apply_on_the_next_request(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let (olivia_id, adam_id, mia_id) = (
        db.user_id("olivia@acme.test").await,
        db.user_id("adam@acme.test").await,
        db.user_id("mia@acme.test").await,
    );
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let message = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::CONFLICT);
        response.json::<AppError>().await.unwrap().to_string()
    };

    // Nobody changes their own role.
    assert!(
        message(change(&olivia, &olivia_id, "admin").await)
            .await
            .contains("your own role")
    );
    // An admin cannot grant or take away the owner role.
    assert!(
        message(change(&adam, &mia_id, "owner").await)
            .await
            .contains("Only an owner")
    );
    assert!(
        message(change(&adam, &olivia_id, "member").await)
            .await
            .contains("Only an owner")
    );
    // The sole owner cannot leave.
    let leave = olivia.call("/api/members/leave", &[("slug", "acme")]).await;
    assert!(message(leave).await.contains("only owner"));

    // Mia is a member: the members page is not hers…
    assert_eq!(
        mia.call("/api/members/list", &[("slug", "acme")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // …until an admin promotes her; her very next request has the new role.
    assert_eq!(
        change(&adam, &mia_id, "admin").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        mia.call("/api/members/list", &[("slug", "acme")])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        change(&adam, &mia_id, "viewer").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        mia.call("/api/members/list", &[("slug", "acme")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // The owner can hand over ownership, then step down.
    assert_eq!(
        change(&olivia, &adam_id, "owner").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        change(&adam, &olivia_id, "admin").await.status(),
        StatusCode::OK
    );
    let owners: i64 = sqlx::query_scalar(
        "select count(*) from membership m join organization o using (org_id) where o.slug = 'acme' and role = 'owner'",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(owners, 1);

    let roles: Vec<_> = audit_log(&db, "acme")
        .await
        .into_iter()
        .filter(|(a, _, _)| a == "member.role_changed")
        .map(|(_, actor, target)| (actor.unwrap(), target.unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("adam@acme.test".into(), "mia@acme.test".into()),
            ("adam@acme.test".into(), "mia@acme.test".into()),
            ("olivia@acme.test".into(), "adam@acme.test".into()),
            ("adam@acme.test".into(), "olivia@acme.test".into()),
        ]
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn two_owners_demoting_each_other_at_once_leave_exactly_one_owner(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let (olivia_id, adam_id) = (
        db.user_id("olivia@acme.test").await,
        db.user_id("adam@acme.test").await,
    );
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;

    for round in 0..10 {
        sqlx::query("update membership set role = 'owner' where user_id = any($1::uuid[])")
            .bind(vec![
                Uuid::parse_str(&olivia_id).unwrap(),
                Uuid::parse_str(&adam_id).unwrap(),
            ])
            .execute(&db.superuser)
            .await
            .unwrap();
        let demote_adam = [
            ("slug", "acme"),
            ("user_id", adam_id.as_str()),
            ("role", "admin"),
        ];
        let demote_olivia = [
            ("slug", "acme"),
            ("user_id", olivia_id.as_str()),
            ("role", "admin"),
        ];
        let (a, b) = tokio::join!(
            olivia.call("/api/members/change_role", &demote_adam),
            adam.call("/api/members/change_role", &demote_olivia),
        );
        let ok = [a.status(), b.status()]
            .iter()
            .filter(|s| **s == StatusCode::OK)
            .count();
        assert_eq!(
            ok,
            1,
            "round {round}: exactly one demotion wins ({} / {})",
            a.status(),
            b.status()
        );
        let owners: i64 = sqlx::query_scalar(
            "select count(*) from membership m join organization o using (org_id) where o.slug = 'acme' and role = 'owner'",
        )
        .fetch_one(&db.superuser)
        .await
        .unwrap();
        assert_eq!(owners, 1, "round {round}");
    }
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn the_database_itself_refuses_an_organization_without_owner(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let result = sqlx::query(
        "update membership set role = 'admin' where user_id = (select user_id from app_user where email = 'olivia@acme.test')",
    )
    .execute(&db.superuser)
    .await;
    let error = result
        .expect_err("the deferred trigger fires at commit")
        .to_string();
    assert!(error.contains("would have no owner"), "{error}");
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn invitations_are_mailed_used_once_and_can_be_resent_or_revoked(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;

    // Existing members and open invitations are clear messages; nothing is written.
    let before = snapshot(&db, "acme").await;
    let response = adam
        .call(
            "/api/members/invite",
            &[
                ("slug", "acme"),
                ("emails", "nina@new.test, MIA@acme.test"),
                ("role", "member"),
            ],
        )
        .await;
    let error: AppError = response.json().await.unwrap();
    assert_eq!(
        error.message_for("emails").as_deref(),
        Some("mia@acme.test is already a member.")
    );
    assert_eq!(snapshot(&db, "acme").await, before, "all or nothing");
    // An admin cannot invite an owner.
    let response = adam
        .call(
            "/api/members/invite",
            &[
                ("slug", "acme"),
                ("emails", "nina@new.test"),
                ("role", "owner"),
            ],
        )
        .await;
    assert_eq!(
        response
            .json::<AppError>()
            .await
            .unwrap()
            .message_for("role")
            .as_deref(),
        Some("Only an owner can invite another owner.")
    );

    let response = adam
        .submit(
            "/api/members/invite",
            "/o/acme/members",
            &[
                ("slug", "acme"),
                ("emails", "nina@new.test\nomar@new.test"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(
        location(&response),
        "/o/acme/members?notice=invited&who=2%20people"
    );
    let again = adam
        .call(
            "/api/members/invite",
            &[
                ("slug", "acme"),
                ("emails", "Nina@new.test"),
                ("role", "member"),
            ],
        )
        .await;
    let error: AppError = again.json().await.unwrap();
    assert!(
        error
            .message_for("emails")
            .unwrap()
            .contains("already has a pending invitation"),
        "{error:?}"
    );

    let mail = sink
        .wait_for("nina@new.test", "invited you to Acme Corporation")
        .await;
    assert!(
        mail.text
            .contains("Adam Admin invited you to join Acme Corporation as a viewer"),
        "{}",
        mail.text
    );
    let first_link = mail.link("/invite?token=");

    // Resending replaces the link.
    let nina_id = db.pending_invitation("nina@new.test").await;
    let resent = adam
        .call(
            "/api/members/resend_invitation",
            &[("slug", "acme"), ("invitation_id", &nina_id)],
        )
        .await;
    assert_eq!(resent.status(), StatusCode::OK);
    let second = loop {
        let all = sink.messages_to("nina@new.test").await;
        if all.len() == 2 {
            break all[1].link("/invite?token=");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let old_page = app.browser().get(&first_link).await.text().await.unwrap();
    assert!(
        old_page.contains("This invitation link is not valid"),
        "the old link is dead"
    );

    // A new person accepts: name and password, then they are in, with the role.
    let nina = app.browser();
    let page = nina.get(&second).await.text().await.unwrap();
    assert!(
        page.contains("Join Acme Corporation") && page.contains("Create your account"),
        "{page}"
    );
    let token = second.split("token=").nth(1).unwrap();
    let accepted = nina
        .submit(
            "/api/invitations/accept_new",
            &second,
            &[
                ("token", token),
                ("name", "Nina New"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(location(&accepted), "/o/acme");
    let home = nina.get("/o/acme").await.text().await.unwrap();
    assert!(
        home.contains("Nina New") && home.contains("viewer"),
        "{home}"
    );
    // The link now says it has been used.
    let used = app.browser().get(&second).await.text().await.unwrap();
    assert!(used.contains("already been used"));

    // Revoked: the link says so.
    let omar_link = sink
        .wait_for("omar@new.test", "invited you")
        .await
        .link("/invite?token=");
    let omar_id = db.pending_invitation("omar@new.test").await;
    let revoked = adam
        .submit(
            "/api/members/revoke_invitation",
            "/o/acme/members",
            &[("slug", "acme"), ("invitation_id", &omar_id)],
        )
        .await;
    assert_eq!(
        location(&revoked),
        "/o/acme/members?notice=revoked&who=omar%40new.test"
    );
    let page = app.browser().get(&omar_link).await.text().await.unwrap();
    assert!(page.contains("This invitation was withdrawn"), "{page}");

    let log: Vec<_> = audit_log(&db, "acme")
        .await
        .into_iter()
        .filter(|(a, _, _)| a.starts_with("invitation."))
        .map(|(a, actor, target)| (a, actor.unwrap_or_default(), target.unwrap_or_default()))
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("invitation.created", "adam@acme.test", "nina@new.test"),
        ("invitation.created", "adam@acme.test", "omar@new.test"),
        ("invitation.resent", "adam@acme.test", "nina@new.test"),
        ("invitation.accepted", "nina@new.test", "nina@new.test"),
        ("invitation.revoked", "adam@acme.test", "omar@new.test"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(log, expected);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn an_expired_invitation_shows_its_own_page_and_cannot_be_accepted(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    olivia
        .call(
            "/api/members/invite",
            &[
                ("slug", "acme"),
                ("emails", "late@new.test"),
                ("role", "member"),
            ],
        )
        .await;
    let link = sink
        .wait_for("late@new.test", "invited you")
        .await
        .link("/invite?token=");
    sqlx::query("update invitation set expires_at = now() - interval '1 second'")
        .execute(&db.superuser)
        .await
        .unwrap();
    let page = app.browser().get(&link).await.text().await.unwrap();
    assert!(page.contains("This invitation has expired"), "{page}");
    let token = link.split("token=").nth(1).unwrap();
    let response = app
        .browser()
        .call(
            "/api/invitations/accept_new",
            &[
                ("token", token),
                ("name", "Late"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let users: i64 =
        sqlx::query_scalar("select count(*) from app_user where email = 'late@new.test'")
            .fetch_one(&db.superuser)
            .await
            .unwrap();
    assert_eq!(users, 0, "no account was left behind");
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn existing_users_accept_signed_out_or_signed_in_and_only_as_the_invited_address(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    olivia
        .call(
            "/api/members/invite",
            &[
                ("slug", "acme"),
                ("emails", "grace@globex.test\ngus@globex.test"),
                ("role", "member"),
            ],
        )
        .await;

    // Grace, signed out: the page asks her to sign in; her password joins her.
    let link = sink
        .wait_for("grace@globex.test", "invited you")
        .await
        .link("/invite?token=");
    let grace = app.browser();
    let page = grace.get(&link).await.text().await.unwrap();
    assert!(page.contains("You already have an account"), "{page}");
    let token = link.split("token=").nth(1).unwrap();
    let wrong = grace
        .call(
            "/api/invitations/accept_with_password",
            &[("token", token), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let joined = grace
        .submit(
            "/api/invitations/accept_with_password",
            &link,
            &[("token", token), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(location(&joined), "/o/acme");
    assert_eq!(grace.get("/o/acme").await.status(), StatusCode::OK);

    // Someone signed in as another address is told, and offered to sign out.
    let link = sink
        .wait_for("gus@globex.test", "invited you")
        .await
        .link("/invite?token=");
    let token = link.split("token=").nth(1).unwrap();
    let max = signed_in(&app, "globex", "max@globex.test").await;
    let page = max.get(&link).await.text().await.unwrap();
    assert!(
        page.contains(
            "This invitation is for gus@globex.test, but you are signed in as max@globex.test"
        ),
        "{page}"
    );
    let refused = max
        .call("/api/invitations/accept_signed_in", &[("token", token)])
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);

    // Gus, signed in to Globex, accepts with one button and moves to Acme.
    let gus = signed_in(&app, "globex", "gus@globex.test").await;
    let page = gus.get(&link).await.text().await.unwrap();
    assert!(page.contains("Accept the invitation"), "{page}");
    let joined = gus
        .submit(
            "/api/invitations/accept_signed_in",
            &link,
            &[("token", token)],
        )
        .await;
    assert_eq!(location(&joined), "/o/acme");
    assert_eq!(gus.get("/o/acme").await.status(), StatusCode::OK);
    assert!(audit_log(&db, "globex").await.iter().any(
        |(a, actor, _)| a == "auth.switched_out" && actor.as_deref() == Some("gus@globex.test")
    ));
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn two_concurrent_accepts_make_one_membership(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_mail(&db, &sink).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;
    olivia
        .call(
            "/api/members/invite",
            &[
                ("slug", "acme"),
                ("emails", "twin@new.test\ngrace@globex.test"),
                ("role", "member"),
            ],
        )
        .await;

    // A new person, twice at once.
    let link = sink
        .wait_for("twin@new.test", "invited you")
        .await
        .link("/invite?token=");
    let token = link.split("token=").nth(1).unwrap();
    let form = [
        ("token", token),
        ("name", "Twin"),
        ("password", "correct horse battery"),
    ];
    let (a, b) = (app.browser(), app.browser());
    let (ra, rb) = tokio::join!(
        a.call("/api/invitations/accept_new", &form),
        b.call("/api/invitations/accept_new", &form)
    );
    let ok = [ra.status(), rb.status()]
        .iter()
        .filter(|s| **s == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{} / {}", ra.status(), rb.status());

    // An existing user, from two sessions at once.
    let link = sink
        .wait_for("grace@globex.test", "invited you")
        .await
        .link("/invite?token=");
    let token = link.split("token=").nth(1).unwrap();
    let (g1, g2) = (
        signed_in(&app, "globex", "grace@globex.test").await,
        signed_in(&app, "globex", "grace@globex.test").await,
    );
    let form = [("token", token)];
    let (r1, r2) = tokio::join!(
        g1.call("/api/invitations/accept_signed_in", &form),
        g2.call("/api/invitations/accept_signed_in", &form),
    );
    let ok = [r1.status(), r2.status()]
        .iter()
        .filter(|s| **s == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{} / {}", r1.status(), r2.status());

    let memberships: i64 = sqlx::query_scalar(
        "select count(*) from membership m join organization o using (org_id) join app_user u using (user_id)
         where o.slug = 'acme' and u.email in ('twin@new.test', 'grace@globex.test')",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(memberships, 2, "one each");
    let accepted = audit_log(&db, "acme")
        .await
        .iter()
        .filter(|(a, _, _)| a == "invitation.accepted")
        .count();
    assert_eq!(accepted, 2);
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn an_admin_of_org_a_reaches_nothing_of_org_b(_: PgPoolOptions, connect: PgConnectOptions) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let grace = signed_in(&app, "globex", "grace@globex.test").await;
    grace
        .call(
            "/api/members/invite",
            &[
                ("slug", "globex"),
                ("emails", "g-invite@new.test"),
                ("role", "member"),
            ],
        )
        .await;
    let b_invitation = db.pending_invitation("g-invite@new.test").await;
    let (gus, max) = (
        db.user_id("gus@globex.test").await,
        db.user_id("max@globex.test").await,
    );
    let before = snapshot(&db, "globex").await;

    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    let attempts: Vec<Attempt<&str, StatusCode>> = vec![
        (
            "/api/members/list",
            vec![("slug", "globex")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/members/invite",
            vec![
                ("slug", "globex"),
                ("emails", "x@new.test"),
                ("role", "admin"),
            ],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/members/change_role",
            vec![("slug", "globex"), ("user_id", &max), ("role", "admin")],
            StatusCode::UNAUTHORIZED,
        ),
        // With A's slug and B's ids: nothing of B exists from inside A.
        (
            "/api/members/change_role",
            vec![("slug", "acme"), ("user_id", &max), ("role", "admin")],
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/members/remove",
            vec![("slug", "acme"), ("user_id", &gus)],
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/members/resend_invitation",
            vec![("slug", "acme"), ("invitation_id", &b_invitation)],
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/members/revoke_invitation",
            vec![("slug", "acme"), ("invitation_id", &b_invitation)],
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/settings/rename",
            vec![("slug", "globex"), ("name", "Pwned")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/settings/delete",
            vec![("slug", "globex"), ("confirm_name", "Globex")],
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (endpoint, form, expected) in attempts {
        let response = adam.call(endpoint, &form).await;
        assert_eq!(response.status(), expected, "{endpoint} {form:?}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("globex.test"), "{endpoint} leaked: {body}");
    }
    assert_eq!(snapshot(&db, "globex").await, before, "org B is untouched");
    let page = adam.get("/o/globex/members").await;
    assert_eq!(location(&page), "/o/globex/login");
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn removed_members_are_signed_out_and_members_can_leave(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let adam = signed_in(&app, "acme", "adam@acme.test").await;
    let mia = signed_in(&app, "acme", "mia@acme.test").await;
    let victor = signed_in(&app, "acme", "victor@acme.test").await;

    let mia_id = db.user_id("mia@acme.test").await;
    let response = adam
        .submit(
            "/api/members/remove",
            "/o/acme/members",
            &[("slug", "acme"), ("user_id", &mia_id)],
        )
        .await;
    assert_eq!(
        location(&response),
        "/o/acme/members?notice=removed&who=mia%40acme.test"
    );
    assert_eq!(location(&mia.get("/o/acme").await), "/o/acme/login");

    let left = victor
        .submit("/api/members/leave", "/o/acme?leave=1", &[("slug", "acme")])
        .await;
    assert_eq!(location(&left), "/login?left=1");
    assert_eq!(location(&victor.get("/o/acme").await), "/o/acme/login");

    let log: Vec<_> = audit_log(&db, "acme").await.into_iter().collect();
    assert!(log.contains(&(
        "member.removed".into(),
        Some("adam@acme.test".into()),
        Some("mia@acme.test".into())
    )));
    assert!(log.contains(&(
        "member.left".into(),
        Some("victor@acme.test".into()),
        Some("victor@acme.test".into())
    )));
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn owners_rename_move_and_delete_their_organization(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = seeded(connect).await;
    let app = TestApp::spawn(&db).await;
    let olivia = signed_in(&app, "acme", "olivia@acme.test").await;

    let renamed = olivia
        .submit(
            "/api/settings/rename",
            "/o/acme/settings",
            &[("slug", "acme"), ("name", "Acme Rockets")],
        )
        .await;
    assert_eq!(location(&renamed), "/o/acme/settings?notice=renamed");
    let taken = olivia
        .call(
            "/api/settings/change_slug",
            &[("slug", "acme"), ("new_slug", "globex")],
        )
        .await;
    assert_eq!(
        taken
            .json::<AppError>()
            .await
            .unwrap()
            .message_for("new_slug")
            .as_deref(),
        Some("That URL name is taken. Try another one.")
    );
    let moved = olivia
        .submit(
            "/api/settings/change_slug",
            "/o/acme/settings",
            &[("slug", "acme"), ("new_slug", "acme-rockets")],
        )
        .await;
    assert_eq!(
        location(&moved),
        "/o/acme-rockets/settings?notice=slug_changed&old=acme"
    );
    assert_eq!(
        olivia.get("/o/acme-rockets").await.status(),
        StatusCode::OK,
        "the session follows the org"
    );

    // The old login link points to the new one.
    let page = app
        .browser()
        .get("/o/acme/login")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Acme Rockets has a new address") && page.contains("/o/acme-rockets/login"),
        "{page}"
    );

    // Deleting takes the exact name.
    let wrong = olivia
        .call(
            "/api/settings/delete",
            &[("slug", "acme-rockets"), ("confirm_name", "acme rockets")],
        )
        .await;
    assert!(
        wrong
            .json::<AppError>()
            .await
            .unwrap()
            .message_for("confirm_name")
            .is_some()
    );
    let deleted = olivia
        .submit(
            "/api/settings/delete",
            "/o/acme-rockets/settings",
            &[("slug", "acme-rockets"), ("confirm_name", "Acme Rockets")],
        )
        .await;
    assert_eq!(location(&deleted), "/login?deleted=Acme%20Rockets");
    assert_eq!(
        olivia.get("/o/acme-rockets").await.status(),
        StatusCode::FOUND
    );
    for table in [
        "organization",
        "membership",
        "invitation",
        "audit_event",
        "org_slug_redirect",
    ] {
        let left: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} t where not exists (select 1 from organization o where o.org_id = t.org_id)"
        ))
        .fetch_one(&db.superuser)
        .await
        .unwrap();
        assert_eq!(left, 0, "{table}");
    }
    let orgs: Vec<String> = sqlx::query_scalar("select slug from organization")
        .fetch_all(&db.superuser)
        .await
        .unwrap();
    assert_eq!(orgs, ["globex"], "only Acme is gone");
    let sam_memberships: i64 = sqlx::query_scalar(
        "select count(*) from membership where user_id = (select user_id from app_user where email = 'sam@consulting.test')",
    )
    .fetch_one(&db.superuser)
    .await
    .unwrap();
    assert_eq!(
        sam_memberships, 1,
        "accounts stay; only the Acme membership went"
    );
    let renamed_events: Vec<(String,)> =
        sqlx::query_as("select action from audit_event where action like 'org.%'")
            .fetch_all(&db.superuser)
            .await
            .unwrap();
    assert_eq!(
        renamed_events,
        [("org.created".to_string(),)],
        "only Globex's own events remain"
    );
    db.close().await;
}

#[sqlx::test(migrations = false)]
async fn ten_thousand_members_page_by_keyset_and_search(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    demo::seed_big_org(&db.db(), "bigco", 10_000).await.unwrap();
    let app = TestApp::spawn(&db).await;
    let owner = signed_in(&app, "bigco", "owner@bigco.test").await;

    let mut seen = std::collections::HashSet::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let page: MembersPage = owner
            .call("/api/members/list", &[("slug", "bigco"), ("after", &after)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page.total, 10_001);
        for member in &page.members {
            assert!(seen.insert(member.user_id.clone()), "no member twice");
        }
        pages += 1;
        match page.next {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 10_001);
    assert_eq!(pages, 201);

    let found: MembersPage = owner
        .call(
            "/api/members/list",
            &[("slug", "bigco"), ("q", "PERSON04242@")],
        )
        .await
        .json()
        .await
        .unwrap();
    let emails: Vec<_> = found.members.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(emails, ["person04242@bigco.test"]);
    // A search pages by the same cursor: "person00" names 1,000 members.
    let mut matched = std::collections::HashSet::new();
    let mut after = String::new();
    loop {
        let page: MembersPage = owner
            .call(
                "/api/members/list",
                &[("slug", "bigco"), ("q", "person00"), ("after", &after)],
            )
            .await
            .json()
            .await
            .unwrap();
        for member in &page.members {
            assert!(member.email.starts_with("person00"), "{}", member.email);
            assert!(matched.insert(member.user_id.clone()), "no match twice");
        }
        match page.next {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(matched.len(), 1000);
    let literal: MembersPage = owner
        .call("/api/members/list", &[("slug", "bigco"), ("q", "%")])
        .await
        .json()
        .await
        .unwrap();
    assert!(literal.members.is_empty(), "wildcards are literal");
    let broken = owner
        .call(
            "/api/members/list",
            &[("slug", "bigco"), ("after", "garbage")],
        )
        .await;
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A search longer than the box allows is refused, not ignored.
    let long = "a".repeat(101);
    let too_long = owner
        .call("/api/members/list", &[("slug", "bigco"), ("q", &long)])
        .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_long.text().await.unwrap().contains("100 characters"),
        "the refusal says why"
    );
    db.close().await;
}
