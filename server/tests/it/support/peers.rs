//! The single sign-on peers, as child processes: a real OpenID provider
//! (end2end/peers/oidc-provider.mjs, panva's oidc-provider) and a real DNS
//! server (end2end/peers/dns-server.mjs, dns2).

use super::web::Browser;
use reqwest::{Response, header};
use serde::Deserialize;
use std::{net::SocketAddr, process::Stdio, time::Duration};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/peers");

/// Starts `node peers/<script> <args>` and reads its first line (JSON).
async fn spawn_peer<T: for<'de> Deserialize<'de>>(script: &str, args: &[String]) -> (Child, T) {
    let mut child = Command::new("node")
        .arg(format!("{PEERS}/{script}"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs the peer (npm packages installed in end2end/)");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{script} starts"))
        .unwrap()
        .unwrap_or_else(|| panic!("{script} prints where it listens"));
    (child, serde_json::from_str(&line).unwrap())
}

/// How to start the provider.
#[derive(Clone, Debug)]
pub struct ProviderOptions {
    pub redirect_uri: String,
    /// `127.0.0.1` or `localhost`: the host the issuer names.
    pub host: &'static str,
    /// 0: any free port.
    pub port: u16,
    pub client_id: &'static str,
    pub client_secret: &'static str,
    /// Seconds added to the provider's clock.
    pub clock_offset: i64,
}

impl ProviderOptions {
    /// A provider for the app at `app_base`. Each connection has its own
    /// redirect URI, known once it is saved: tests register it then with
    /// [`Provider::register_redirect_uri`], as an admin would.
    pub fn for_app(app_base: &str) -> Self {
        Self {
            redirect_uri: format!("{app_base}/sso/callback/not-registered-yet"),
            host: "127.0.0.1",
            port: 0,
            client_id: "trellis",
            client_secret: "trellis-secret",
            clock_offset: 0,
        }
    }
}

pub struct Provider {
    child: Child,
    pub issuer: String,
    pub port: u16,
}

#[derive(Deserialize)]
struct ProviderStarted {
    issuer: String,
    port: u16,
}

impl Provider {
    pub async fn start(options: &ProviderOptions) -> Self {
        let args = vec![
            "--redirect-uri".into(),
            options.redirect_uri.clone(),
            "--host".into(),
            options.host.into(),
            "--port".into(),
            options.port.to_string(),
            "--client-id".into(),
            options.client_id.into(),
            "--client-secret".into(),
            options.client_secret.into(),
            "--clock-offset".into(),
            options.clock_offset.to_string(),
        ];
        let (child, started): (Child, ProviderStarted) =
            spawn_peer("oidc-provider.mjs", &args).await;
        Self {
            child,
            issuer: started.issuer,
            port: started.port,
        }
    }

    /// Registers another redirect URI for the client, as an administrator
    /// does in their provider's console.
    pub async fn register_redirect_uri(&self, uri: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/__peer/redirect-uris", self.issuer))
            .query(&[("uri", uri)])
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "the provider registers {uri}"
        );
    }

    /// Makes the account `login` (its subject) assert `email` from now on.
    pub async fn set_address(&self, login: &str, email: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/__peer/accounts", self.issuer))
            .query(&[("login", login), ("email", email)])
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "the provider changes {login}"
        );
    }

    /// Stops the provider (it is "down" from then on).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
    }
}

pub struct Dns {
    _child: Child,
    pub addr: SocketAddr,
    api: String,
}

#[derive(Deserialize)]
struct DnsStarted {
    dns: u16,
    http: u16,
}

impl Dns {
    pub async fn start() -> Self {
        let (child, started): (Child, DnsStarted) = spawn_peer("dns-server.mjs", &[]).await;
        Self {
            _child: child,
            addr: SocketAddr::from(([127, 0, 0, 1], started.dns)),
            api: format!("http://127.0.0.1:{}", started.http),
        }
    }

    /// Publishes a TXT record.
    pub async fn publish_txt(&self, name: &str, value: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/txt", self.api))
            .query(&[("name", name), ("value", value)])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

/// Resolves a Location header against the URL that answered.
fn next_url(from: &str, response: &reqwest::Response) -> String {
    let location = response
        .headers()
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("{from} answered {} without a Location", response.status()))
        .to_str()
        .unwrap();
    reqwest::Url::parse(from)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

impl Browser {
    /// Saves `slug`'s OpenID connection to `issuer` (client id `trellis`) as
    /// its SSO page posts it without JavaScript.
    pub async fn save_sso_connection(
        &self,
        slug: &str,
        issuer: &str,
        secret: &str,
        default_role: &str,
    ) -> Response {
        self.submit(
            "/api/sso/save",
            &format!("/o/{slug}/sso"),
            &[
                ("slug", slug),
                ("issuer_url", issuer),
                ("client_id", "trellis"),
                ("client_secret", secret),
                ("default_role", default_role),
            ],
        )
        .await
    }

    /// The redirect URI `slug`'s SSO page tells the admin to register.
    pub async fn sso_redirect_uri(&self, slug: &str) -> String {
        let response = self.call("/api/sso/get", &[("slug", slug)]).await;
        assert_eq!(response.status(), 200, "the SSO settings of {slug}");
        let settings: serde_json::Value = response.json().await.unwrap();
        settings["redirect_uri"].as_str().unwrap().to_string()
    }

    /// Presses an SSO button for `org` (a form post to the `sso/start`
    /// server function, from the org's login page), and follows the app to
    /// where it sends the browser next: the answer of `/sso/start?ticket=…`
    /// (a redirect to the provider, or to a failure page).
    pub async fn start_sso(&self, org: &str, test: bool, login_hint: Option<&str>) -> Response {
        let mut form = vec![("org", org)];
        if test {
            form.push(("test", "1"));
        }
        if let Some(hint) = login_hint {
            form.push(("login_hint", hint));
        }
        let from = if test {
            format!("/o/{org}/sso")
        } else {
            format!("/o/{org}/login")
        };
        let pressed = self.submit("/api/sso/start", &from, &form).await;
        self.follow_to_sso_start(&pressed).await
    }

    /// From an answer that sends the browser to `/sso/continue?ticket=…`,
    /// follows that page's meta refresh as a browser does; returns the
    /// answer of `/sso/start?ticket=…`.
    pub async fn follow_to_sso_start(&self, answer: &Response) -> Response {
        let continue_at = super::web::location(answer);
        assert!(
            continue_at.starts_with("/sso/continue?ticket="),
            "expected the way to the provider, got {continue_at}"
        );
        let page = self.get(&continue_at).await.text().await.unwrap();
        let refresh = page
            .split(r#"http-equiv="refresh" content="0;url="#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{continue_at} moves on by itself:\n{page}"))
            .replace("&amp;", "&");
        self.get(&refresh).await
    }

    /// Follows the app to the provider as `/sso/start?org=…[&test=1]
    /// [&login_hint=…]` names it (pressing the button for it) and signs in
    /// there as `login`; returns the callback URL the provider sends the
    /// browser to (not yet visited).
    pub async fn through_provider(&self, start_path: &str, login: &str) -> String {
        let url = reqwest::Url::parse(&self.url(start_path)).unwrap();
        let param = |key: &str| {
            url.query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        };
        let org = param("org").expect("the start path names the org");
        let test = param("test").is_some();
        let hint = param("login_hint");
        let start = self.start_sso(&org, test, hint.as_deref()).await;
        assert_eq!(
            start.status(),
            303,
            "{start_path} redirects to the provider"
        );
        let authorize = next_url(&self.url("/sso/start"), &start);
        assert!(
            !authorize.starts_with(&self.base),
            "went to {authorize}, not to the provider"
        );
        self.sign_in_at_provider(&authorize, login).await
    }

    /// Signs in at the provider's development form, from its authorization
    /// URL, until it redirects back to the app.
    pub async fn sign_in_at_provider(&self, authorize: &str, login: &str) -> String {
        let mut url = authorize.to_string();
        for _ in 0..10 {
            if url.starts_with(&self.base) {
                return url;
            }
            let response = self.get(&url).await;
            if response.status().is_redirection() {
                url = next_url(&url, &response);
                continue;
            }
            assert_eq!(response.status(), 200, "{url}");
            let page = response.text().await.unwrap();
            let action = page
                .split("action=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("a form at {url}:\n{page}"));
            let action = reqwest::Url::parse(&url)
                .unwrap()
                .join(action)
                .unwrap()
                .to_string();
            let prompt = if page.contains("name=\"login\"") {
                "login"
            } else {
                "consent"
            };
            let posted = self
                .submit(
                    &action,
                    &url,
                    &[("prompt", prompt), ("login", login), ("password", "any")],
                )
                .await;
            assert!(
                posted.status().is_redirection(),
                "provider form answered {}",
                posted.status()
            );
            url = next_url(&action, &posted);
        }
        panic!("the provider never sent the browser back to the app");
    }
}
