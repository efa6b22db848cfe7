//! A real SMTP server for the tests: end2end/peers/smtp-sink.mjs (nodemailer's
//! smtp-server), run as a child process.

use serde::Deserialize;
use std::{process::Stdio, time::Duration};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

#[derive(Clone, Debug, Deserialize)]
pub struct Delivered {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The names of the message's header lines, lower case.
    #[serde(default)]
    pub headers: Vec<String>,
}

impl Delivered {
    /// The first link in the plain-text body whose path contains `fragment`.
    #[track_caller]
    pub fn link(&self, fragment: &str) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(fragment))
            .unwrap_or_else(|| panic!("no link with {fragment:?} in:\n{}", self.text))
            .to_string()
    }
}

pub struct SmtpSink {
    child: Child,
    pub smtp_port: u16,
    pub http_port: u16,
}

#[derive(Deserialize)]
struct Ports {
    smtp: u16,
    http: u16,
}

impl SmtpSink {
    /// Starts a sink on free ports.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Starts a sink whose SMTP server listens on `smtp_port` (0: any).
    pub async fn start_on(smtp_port: u16) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../end2end/peers/smtp-sink.mjs"
        );
        let mut child = Command::new("node")
            .arg(script)
            .arg("--smtp-port")
            .arg(smtp_port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the SMTP sink (npm packages installed in end2end/)");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(15), lines.next_line())
            .await
            .expect("SMTP sink starts")
            .unwrap()
            .expect("SMTP sink prints its ports");
        let ports: Ports = serde_json::from_str(&line).unwrap();
        Self {
            child,
            smtp_port: ports.smtp,
            http_port: ports.http,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    pub async fn messages_to(&self, address: &str) -> Vec<Delivered> {
        reqwest::get(format!(
            "http://127.0.0.1:{}/messages?to={}",
            self.http_port,
            address.to_lowercase()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
    }

    /// Waits (up to 15 s) for a message to `address` whose subject contains
    /// `subject`.
    pub async fn wait_for(&self, address: &str, subject: &str) -> Delivered {
        for _ in 0..150 {
            if let Some(found) = self
                .messages_to(address)
                .await
                .into_iter()
                .rev()
                .find(|m| m.subject.contains(subject))
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail to {address} about {subject:?} arrived");
    }

    /// Waits (up to 15 s) for a message to `address` whose subject contains
    /// `subject` and whose text contains `text` (when earlier messages
    /// share the subject).
    pub async fn wait_for_text(&self, address: &str, subject: &str, text: &str) -> Delivered {
        for _ in 0..150 {
            if let Some(found) = self
                .messages_to(address)
                .await
                .into_iter()
                .rev()
                .find(|m| m.subject.contains(subject) && m.text.contains(text))
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail to {address} about {subject:?} saying {text:?} arrived");
    }

    /// Stops the server (its port closes at once).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
    }
}
