//! Delivers the mail outbox. Changes write mail into `mail_outbox` in their
//! own transaction; this worker sends what is due, marks it sent, and on
//! failure retries with exponential backoff — an SMTP outage delays mail and
//! loses none. Several server processes can run it at once: each batch is
//! claimed with `for update skip locked`.
//!
//! With no SMTP server configured (development), messages are marked as
//! kept locally and can be read at `/dev/mailbox`.

use app::domain::{db::Db, mail::outbox};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use std::time::Duration;
use tokio::sync::watch;

/// Where messages go.
#[derive(Clone)]
pub enum Delivery {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// No SMTP server: messages stay in the outbox, readable in development.
    Local,
}

/// How often to look for due mail and how to back off after failures.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    pub poll: Duration,
    pub retry_base: Duration,
    pub retry_cap: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Schedule {
    /// The wait before attempt number `attempts + 1`.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.clamp(0, 20) as u32);
        self.retry_base.saturating_mul(factor).min(self.retry_cap)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("SMTP_URL: {0}")]
    SmtpUrl(lettre::transport::smtp::Error),
    #[error("MAIL_FROM: {0}")]
    From(lettre::address::AddressError),
}

#[derive(Clone)]
pub struct MailWorker {
    db: Db,
    delivery: Delivery,
    from: Mailbox,
    schedule: Schedule,
}

impl MailWorker {
    pub fn new(
        db: Db,
        smtp_url: Option<&str>,
        from: &str,
        schedule: Schedule,
    ) -> Result<Self, MailConfigError> {
        let delivery = match smtp_url {
            Some(url) => Delivery::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(MailConfigError::SmtpUrl)?
                    .timeout(Some(Duration::from_secs(15)))
                    .build(),
            ),
            None => Delivery::Local,
        };
        Ok(Self {
            db,
            delivery,
            from: from.parse().map_err(MailConfigError::From)?,
            schedule,
        })
    }

    /// Delivers due mail until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.deliver_due().await {
                // A full batch: there may be more waiting.
                Ok(n) if n >= BATCH => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "mail outbox: could not read due mail"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.schedule.poll) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }

    /// Sends one batch of due mail. Returns how many messages it handled.
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        let mut tx = self.db.pool().begin().await?;
        let due = outbox::due(&mut tx, BATCH as i64).await?;
        let count = due.len();
        for mail in due {
            let outcome = self
                .send(
                    &mail.to_address,
                    &mail.subject,
                    &mail.body_text,
                    &mail.body_html,
                )
                .await;
            match outcome {
                Ok(via) => {
                    outbox::sent(&mut tx, mail.mail_id, via).await?;
                    if via == "local" {
                        tracing::info!(mail_id = %mail.mail_id, subject = %mail.subject,
                            "no SMTP server configured: mail kept locally; read it at /dev/mailbox");
                    } else {
                        tracing::info!(mail_id = %mail.mail_id, "mail sent");
                    }
                }
                Err(Failure::Permanent(error)) => {
                    tracing::error!(mail_id = %mail.mail_id, %error, "mail refused permanently; not retrying");
                    outbox::abandoned(&mut tx, mail.mail_id, &error).await?;
                }
                Err(Failure::Transient(error)) => {
                    let wait = self.schedule.backoff(mail.attempts);
                    tracing::warn!(mail_id = %mail.mail_id, %error, attempt = mail.attempts + 1,
                        retry_in_secs = wait.as_secs_f64(), "mail not sent; will retry");
                    outbox::retry_later(&mut tx, mail.mail_id, &error, wait.as_secs_f64()).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(count)
    }

    async fn send(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        html: &str,
    ) -> Result<&'static str, Failure> {
        let transport = match &self.delivery {
            Delivery::Local => return Ok("local"),
            Delivery::Smtp(transport) => transport,
        };
        let to: Mailbox = to
            .parse()
            .map_err(|e: lettre::address::AddressError| Failure::Permanent(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            // Rendering keeps subjects on one line; a row queued by an
            // older version may not be.
            .subject(app::text::one_line(subject))
            .multipart(MultiPart::alternative_plain_html(
                text.to_string(),
                html.to_string(),
            ))
            .map_err(|e| Failure::Permanent(e.to_string()))?;
        match transport.send(message).await {
            Ok(_) => Ok("smtp"),
            Err(e) if e.is_permanent() => Err(Failure::Permanent(e.to_string())),
            Err(e) => Err(Failure::Transient(e.to_string())),
        }
    }
}

const BATCH: usize = 20;

enum Failure {
    /// The server refused this message for good (e.g. no such mailbox).
    Permanent(String),
    /// Could not deliver now (server down, timeout, temporary refusal).
    Transient(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let schedule = Schedule {
            poll: Duration::from_secs(1),
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(60),
        };
        assert_eq!(schedule.backoff(0), Duration::from_secs(5));
        assert_eq!(schedule.backoff(1), Duration::from_secs(10));
        assert_eq!(schedule.backoff(3), Duration::from_secs(40));
        assert_eq!(schedule.backoff(4), Duration::from_secs(60));
        assert_eq!(schedule.backoff(1000), Duration::from_secs(60));
    }
}
