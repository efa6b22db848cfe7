//! Outgoing mail. A change that sends mail writes it to `mail_outbox` in its
//! own transaction; the server's delivery worker sends it later, with
//! retries. So a mail exists if and only if the change committed, and an
//! SMTP outage only delays it.

use sqlx::PgConnection;
use uuid::Uuid;

/// A rendered message, ready for the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A message of the outbox, as the development mailbox lists it.
#[derive(Clone, Debug)]
pub struct Queued {
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub created_at: time::OffsetDateTime,
    pub sent_at: Option<time::OffsetDateTime>,
    pub delivered_via: Option<String>,
    pub attempts: i32,
    pub abandoned_at: Option<time::OffsetDateTime>,
}

impl Queued {
    /// Where the message stands, in words.
    pub fn status(&self) -> String {
        match (
            self.sent_at,
            self.delivered_via.as_deref(),
            self.abandoned_at,
        ) {
            (Some(_), Some("local"), _) => "kept locally (no SMTP server configured)".into(),
            (Some(_), _, _) => "sent".into(),
            (None, _, Some(_)) => "refused by the mail server".into(),
            (None, _, None) if self.attempts > 0 => format!("retrying (attempt {})", self.attempts),
            _ => "queued".into(),
        }
    }
}

/// The newest `limit` messages of the outbox (every org's: for the
/// development mailbox only).
pub async fn recent(db: &super::db::Db, limit: i64) -> Result<Vec<Queued>, sqlx::Error> {
    sqlx::query_as!(
        Queued,
        r#"
        select to_address, subject, body_text, created_at, sent_at, delivered_via, attempts, abandoned_at
        from mail_outbox order by created_at desc limit $1
        "#,
        limit
    )
    .fetch_all(db.pool())
    .await
}

/// Queues `mail` inside the caller's transaction.
pub async fn enqueue(conn: &mut PgConnection, mail: &Mail) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into mail_outbox (mail_id, to_address, subject, body_text, body_html) values ($1, $2, $3, $4, $5)",
        Uuid::now_v7(),
        mail.to,
        mail.subject,
        mail.text,
        mail.html,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The parts every message has, rendered to both plain text and HTML.
struct Message<'a> {
    heading: String,
    paragraphs: Vec<String>,
    action: Option<(&'a str, String)>,
    footer: String,
}

impl Message<'_> {
    fn render(self, to: &str, subject: String) -> Mail {
        // Names in the subject come from people; a header is one line.
        let subject = crate::text::one_line(&subject);
        let mut text = format!("{}\n\n", self.heading);
        for p in &self.paragraphs {
            text.push_str(p);
            text.push_str("\n\n");
        }
        if let Some((label, url)) = &self.action {
            text.push_str(&format!("{label}:\n{url}\n\n"));
        }
        text.push_str(&self.footer);
        text.push('\n');

        let paragraphs: String = self
            .paragraphs
            .iter()
            .map(|p| format!(r#"<p style="margin:0 0 16px;font-size:15px;line-height:24px;color:#334155">{}</p>"#, escape(p)))
            .collect();
        let action = match &self.action {
            Some((label, url)) => format!(
                r#"<p style="margin:24px 0"><a href="{url}" style="display:inline-block;background:#4f46e5;color:#ffffff;padding:12px 20px;border-radius:8px;font-weight:600;font-size:15px;text-decoration:none">{label}</a></p>
<p style="margin:0 0 16px;font-size:13px;line-height:20px;color:#64748b">If the button does not work, paste this address into your browser:<br><a href="{url}" style="color:#4f46e5;word-break:break-all">{url}</a></p>"#,
                url = escape(url),
                label = escape(label),
            ),
            None => String::new(),
        };
        let html = format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{subject}</title></head>
<body style="margin:0;padding:0;background:#f8fafc;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f8fafc"><tr><td align="center" style="padding:32px 16px">
<table role="presentation" width="560" cellpadding="0" cellspacing="0" style="max-width:560px;width:100%;background:#ffffff;border:1px solid #e2e8f0;border-radius:12px">
<tr><td style="padding:32px">
<p style="margin:0 0 24px;font-size:15px;font-weight:700;color:#4f46e5">Trellis</p>
<h1 style="margin:0 0 16px;font-size:22px;line-height:30px;color:#0f172a">{heading}</h1>
{paragraphs}{action}
<p style="margin:24px 0 0;padding-top:16px;border-top:1px solid #e2e8f0;font-size:13px;line-height:20px;color:#64748b">{footer}</p>
</td></tr></table>
</td></tr></table>
</body></html>
"#,
            subject = escape(&subject),
            heading = escape(&self.heading),
            footer = escape(&self.footer),
        );
        Mail {
            to: to.to_string(),
            subject,
            text,
            html,
        }
    }
}

use crate::text::escape_html as escape;

const IGNORE: &str = "If you did not ask for this, you can ignore this message.";

/// Confirms a new account's address.
pub fn verify_email(to: &str, name: &str, org_name: &str, link: String) -> Mail {
    Message {
        heading: "Confirm your email address".into(),
        paragraphs: vec![
            format!("Hi {name},"),
            format!("you created the organization {org_name} on Trellis. Confirm that this is your address to finish signing up. The link works for 24 hours."),
        ],
        action: Some(("Confirm my address", link)),
        footer: IGNORE.into(),
    }
    .render(to, "Confirm your email address".into())
}

/// Sent instead of a second account when someone signs up with an address
/// that already has one (the page they see does not say which happened).
pub fn account_exists(to: &str, sign_in_link: String, reset_link: String) -> Mail {
    Message {
        heading: "You already have an account".into(),
        paragraphs: vec![
            "Someone, probably you, tried to create a Trellis account with this address. You already have one, so nothing new was created.".into(),
            format!("If you have forgotten your password, you can choose a new one: {reset_link}"),
        ],
        action: Some(("Sign in", sign_in_link)),
        footer: IGNORE.into(),
    }
    .render(to, "You already have a Trellis account".into())
}

/// A one-time sign-in link.
pub fn sign_in_link(
    to: &str,
    name: &str,
    org_name: Option<&str>,
    link: String,
    minutes: i64,
) -> Mail {
    let target = match org_name {
        Some(org) => format!("to {org}"),
        None => "to Trellis".to_string(),
    };
    Message {
        heading: format!("Sign in {target}"),
        paragraphs: vec![
            format!("Hi {name},"),
            format!("use the button below to sign in {target}. It works once, for the next {minutes} minutes."),
        ],
        action: Some(("Sign in", link)),
        footer: IGNORE.into(),
    }
    .render(to, format!("Your sign-in link {target}"))
}

/// A password-reset link.
pub fn reset_password(to: &str, name: &str, link: String, minutes: i64) -> Mail {
    Message {
        heading: "Choose a new password".into(),
        paragraphs: vec![
            format!("Hi {name},"),
            format!("someone asked to reset the password of your Trellis account. The link works once, for the next {minutes} minutes. Choosing a new password signs you out everywhere."),
        ],
        action: Some(("Choose a new password", link)),
        footer: "If you did not ask for this, your password is unchanged and you can ignore this message.".into(),
    }
    .render(to, "Reset your Trellis password".into())
}

/// Tells the account that its password was just changed, so that a change
/// its owner did not make does not go unnoticed; `signed_out`: every other
/// session of the account was ended with it.
pub fn password_changed(to: &str, name: &str, reset_link: String, signed_out: bool) -> Mail {
    let what = if signed_out {
        "the password of your Trellis account was just changed, and the account's other sessions were signed out."
    } else {
        "the password of your Trellis account was just changed. Sessions already signed in stay signed in."
    };
    Message {
        heading: "Your password was changed".into(),
        paragraphs: vec![
            format!("Hi {name},"),
            what.into(),
            "If you did this, there is nothing else to do. If you did not, choose a new password right away; the link below asks for a reset link.".into(),
        ],
        action: Some(("Choose a new password", reset_link)),
        footer: "You get this message whenever the password of your account changes.".into(),
    }
    .render(to, "Your Trellis password was changed".into())
}

/// Confirms to the address that its account was deleted (and which
/// organizations, of which it was the only member, went with it).
pub fn account_deleted(to: &str, name: &str, deleted_orgs: &[String]) -> Mail {
    let mut paragraphs = vec![
        format!("Hi {name},"),
        "your Trellis account was just deleted, as you asked. You are no longer a member of any organization, and this address can be used to sign up again.".into(),
    ];
    if !deleted_orgs.is_empty() {
        paragraphs.push(format!(
            "You were the only member of {}, so {} deleted with the account.",
            deleted_orgs.join(", "),
            if deleted_orgs.len() == 1 {
                "it was"
            } else {
                "they were"
            }
        ));
    }
    paragraphs.push("If you did not do this, someone had access to your account: contact the administrators of your organizations.".into());
    Message {
        heading: "Your account was deleted".into(),
        paragraphs,
        action: None,
        footer: "This is the last message about this account.".into(),
    }
    .render(to, "Your Trellis account was deleted".into())
}

/// Tells the account that its two-step sign-in changed (`what`: "turned
/// on", "turned off", "given new recovery codes"), so that a change its
/// owner did not make does not go unnoticed.
pub fn second_factor_changed(to: &str, name: &str, what: &str, account_link: String) -> Mail {
    Message {
        heading: format!("Two-step sign-in was {what}"),
        paragraphs: vec![
            format!("Hi {name},"),
            format!("two-step sign-in of your Trellis account was just {what}."),
            "If you did this, there is nothing else to do. If you did not, someone may know your password: reset it from the sign-in page right away, then check your account.".into(),
        ],
        action: Some(("Open your account", account_link)),
        footer: "You get this message whenever the two-step sign-in of your account changes.".into(),
    }
    .render(to, format!("Two-step sign-in was {what}"))
}

/// An invitation to join an organization.
pub fn invitation(
    to: &str,
    org_name: &str,
    inviter: &str,
    role: crate::roles::Role,
    link: String,
    days: i64,
) -> Mail {
    let article = if role == crate::roles::Role::Admin || role == crate::roles::Role::Owner {
        "an"
    } else {
        "a"
    };
    Message {
        heading: format!("Join {org_name} on Trellis"),
        paragraphs: vec![
            format!(
                "{inviter} invited you to join {org_name} as {article} {}.",
                role.label().to_lowercase()
            ),
            format!("The invitation works once, for {days} days."),
        ],
        action: Some(("Accept the invitation", link)),
        footer: "If you did not expect this invitation, you can ignore this message.".into(),
    }
    .render(to, format!("{inviter} invited you to {org_name}"))
}

/// Tells an account that its address was confirmed some other way than
/// its own verification link, in the browser that signed up, and that the
/// password set before that was removed (whoever set it may not have been
/// the owner of the address).
pub fn password_removed(to: &str, name: &str, how: &str, link: String, hours: i64) -> Mail {
    Message {
        heading: "Your address is confirmed: set a password".into(),
        paragraphs: vec![
            format!("Hi {name},"),
            format!("your address was confirmed {how}. A password had been chosen for this account before the address was confirmed, and it may not have been chosen by you, so it was removed and every session that used it has ended."),
            format!("To sign in with a password, set one now. The link works once, for the next {hours} hours; after that, use “Forgot your password?” on the sign-in page."),
        ],
        action: Some(("Set a password", link)),
        footer: "You can keep signing in the way you just did without a password.".into(),
    }
    .render(to, "Set a password for your Trellis account".into())
}

/// Confirms an existing account before its first single sign-on into an
/// organization links the provider's identity to it.
pub fn sso_link(to: &str, name: &str, org_name: &str, link: String, minutes: i64) -> Mail {
    Message {
        heading: format!("Confirm signing in to {org_name} with single sign-on"),
        paragraphs: vec![
            format!("Hi {name},"),
            format!("you signed in to {org_name} through its identity provider for the first time. Confirm that this account is yours, and from now on that provider signs you in here. The link works once, for the next {minutes} minutes, in the browser where you signed in."),
        ],
        action: Some(("Confirm and sign in", link)),
        footer: "If this was not you, do not open the link: nobody can use your account without it. Tell your organization's administrator.".into(),
    }
    .render(to, format!("Confirm signing in to {org_name} with single sign-on"))
}

/// Tells an organization's owners and admins that its single sign-on
/// settings changed, so a change they did not make does not go unnoticed.
pub fn sso_changed(
    to: &str,
    name: &str,
    org_name: &str,
    actor: &str,
    change: &str,
    link: String,
) -> Mail {
    Message {
        heading: format!("Single sign-on settings changed for {org_name}"),
        paragraphs: vec![
            format!("Hi {name},"),
            format!("{actor} {change}."),
            "Whoever controls an organization's identity provider decides who can sign in to it. If you did not expect this change, check the settings and the audit log now.".into(),
        ],
        action: Some(("Review the settings", link)),
        footer: "You receive this because you are an owner or admin of the organization.".into(),
    }
    .render(to, format!("Single sign-on settings changed for {org_name}"))
}

/// Tells a member that their organization now requires two-step sign-in.
pub fn mfa_required(
    to: &str,
    name: &str,
    org_name: &str,
    actor: &str,
    has_factor: bool,
    link: String,
) -> Mail {
    let next = if has_factor {
        "Your account already has an authenticator app, so nothing changes for you: keep your recovery codes somewhere safe.".to_string()
    } else {
        format!(
            "The next time you sign in to {org_name}, you will be asked to set up an authenticator app (any TOTP app on your phone) before you get in. You can do it now from your account page."
        )
    };
    Message {
        heading: format!("{org_name} now requires two-step sign-in"),
        paragraphs: vec![
            format!("Hi {name},"),
            format!("{actor} has made two-step sign-in mandatory for everyone in {org_name}: after the password (or emailed link, or single sign-on) comes a six-digit code from an authenticator app."),
            next,
        ],
        action: Some(("Open your account", link)),
        footer: "You receive this because you are a member of the organization.".into(),
    }
    .render(to, format!("{org_name} now requires two-step sign-in"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_has_both_bodies_with_the_link_and_escapes_html() {
        let mail = verify_email(
            "a@b.test",
            "Ann <script>",
            "Acme & Co",
            "http://x.test/verify?t=1&u=2".into(),
        );
        assert!(mail.text.contains("http://x.test/verify?t=1&u=2"));
        assert!(mail.html.contains("http://x.test/verify?t=1&amp;u=2"));
        assert!(mail.html.contains("Ann &lt;script&gt;"));
        assert!(mail.html.contains("Acme &amp; Co"));
        assert!(!mail.html.contains("<script>"));
        assert_eq!(mail.to, "a@b.test");
    }
}

/// The delivery worker's reads and writes of the outbox (it holds no org
/// data, so it runs on the bare pool).
pub mod outbox {
    use sqlx::PgConnection;
    use uuid::Uuid;

    /// A message due for delivery.
    #[derive(Clone, Debug)]
    pub struct Due {
        pub mail_id: Uuid,
        pub to_address: String,
        pub subject: String,
        pub body_text: String,
        pub body_html: String,
        pub attempts: i32,
    }

    /// Up to `limit` due messages, locked for this transaction; another
    /// worker skips them.
    pub async fn due(conn: &mut PgConnection, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
        sqlx::query_as!(
            Due,
            r#"
            select mail_id, to_address, subject, body_text, body_html, attempts
            from mail_outbox
            where sent_at is null and abandoned_at is null and next_attempt_at <= now()
            order by next_attempt_at
            limit $1
            for update skip locked
            "#,
            limit
        )
        .fetch_all(conn)
        .await
    }

    /// Delivered (`via`: `smtp`, or `local` when no server is configured).
    pub async fn sent(
        conn: &mut PgConnection,
        mail_id: Uuid,
        via: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "update mail_outbox set sent_at = now(), delivered_via = $2, attempts = attempts + 1, last_error = null where mail_id = $1",
            mail_id,
            via,
        )
        .execute(conn)
        .await
        .map(drop)
    }

    /// Refused for good by the mail server: no more attempts.
    pub async fn abandoned(
        conn: &mut PgConnection,
        mail_id: Uuid,
        error: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "update mail_outbox set abandoned_at = now(), attempts = attempts + 1, last_error = $2 where mail_id = $1",
            mail_id,
            error,
        )
        .execute(conn)
        .await
        .map(drop)
    }

    /// Not delivered this time: tried again in `wait_secs` seconds.
    pub async fn retry_later(
        conn: &mut PgConnection,
        mail_id: Uuid,
        error: &str,
        wait_secs: f64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            r#"
            update mail_outbox
            set attempts = attempts + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3)
            where mail_id = $1
            "#,
            mail_id,
            error,
            wait_secs,
        )
        .execute(conn)
        .await
        .map(drop)
    }
}
