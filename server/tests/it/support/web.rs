//! The real router, served in-process on an ephemeral port, and a client
//! that behaves like a browser: it keeps cookies, sends our Origin, and can
//! post forms either as a page without JavaScript or as the hydrated app.

use super::{TestDb, smtp::SmtpSink};
use app::domain::{db::Db, rate_limit::RateLimits, session::SessionPolicy, sso::DnsServer};
use reqwest::{Response, cookie::CookieStore, header};
use server::{
    Application,
    config::{Config, Secret},
    mail::Schedule,
};
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// Knobs a test may turn.
pub struct AppOptions {
    pub rate_limits: RateLimits,
    pub session: SessionPolicy,
    /// Deliver mail through this SMTP server (a worker runs in the test).
    pub smtp_url: Option<String>,
    /// Who answers SSO domain-verification look-ups.
    pub dns: DnsServer,
    /// Keys sealing SSO client secrets.
    pub sso_keys: &'static str,
    /// How long an export waits for a reader that does not read.
    pub export_chunk_deadline: Duration,
    /// The address the server says it is served at (behind a TLS proxy,
    /// say); the server's own `http://127.0.0.1:…` when `None`.
    pub public_base_url: Option<String>,
}

/// The sealing key the test server uses unless a test picks others.
pub const TEST_SSO_KEYS: &str = "t1:dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtISE=";

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            // Tests sign in a lot from one address.
            rate_limits: RateLimits::default().scaled(100),
            session: SessionPolicy::default(),
            smtp_url: None,
            // No test depends on the machine's resolver.
            dns: DnsServer::At("127.0.0.1:9".parse().unwrap()),
            sso_keys: TEST_SSO_KEYS,
            export_chunk_deadline: Duration::from_secs(30),
            public_base_url: None,
        }
    }
}

/// The app, served on 127.0.0.1 by its own multi-threaded runtime on its
/// own thread, with its own pool — as in production, and independent of the
/// test's single-threaded runtime. Dropping it stops the server.
pub struct TestApp {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Ends with how many pooled connections were still checked out when
    /// the server stopped (a leak if not zero).
    thread: Option<std::thread::JoinHandle<u32>>,
}

impl TestApp {
    pub async fn spawn(db: &TestDb) -> Self {
        Self::spawn_with(db, AppOptions::default()).await
    }

    /// Serves the app with a mail worker delivering to `sink`.
    pub async fn spawn_with_mail(db: &TestDb, sink: &SmtpSink) -> Self {
        Self::spawn_with(
            db,
            AppOptions {
                smtp_url: Some(sink.url()),
                ..AppOptions::default()
            },
        )
        .await
    }

    pub async fn spawn_with(test_db: &TestDb, options: AppOptions) -> Self {
        let connect = test_db.runtime_options.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<String>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let leaked = runtime.block_on(serve(connect, options, ready_tx, stopped));
            runtime.shutdown_timeout(Duration::from_secs(2));
            leaked
        });
        let base = ready_rx.await.expect("the test server starts");
        Self {
            base,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A fresh browser with no cookies.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }
}

async fn serve(
    connect: sqlx::postgres::PgConnectOptions,
    options: AppOptions,
    ready: tokio::sync::oneshot::Sender<String>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> u32 {
    // The server's warnings land in the test's captured output (shown when
    // it fails); RUST_LOG=… shows more.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(5)
        // Pool exhaustion shows up as an error well within the client's timeout.
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect)
        .await
        .expect("the server connects as app_runtime");
    let db = Db::new(pool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    // The server's own configuration, as `APP_ENV=test` reads it, with
    // what this test server does differently.
    let mut config = Config::from_lookup(|name| (name == "APP_ENV").then(|| "test".to_string()))
        .expect("the test configuration is valid");
    config.public_base_url = options.public_base_url.clone().unwrap_or(base.clone());
    config.listen_addr = addr;
    config.site_root = "target/site".to_string();
    // Tests play different clients through X-Forwarded-For.
    config.trusted_proxy_hops = 1;
    config.smtp_url = options.smtp_url.clone().map(Secret::new);
    config.mail_from = "Trellis <no-reply@trellis.test>".to_string();
    config.sso_encryption_keys = Secret::new(options.sso_keys);
    config.dns_resolver = options.dns;
    config.invitation_ttl = app::domain::invitations::DEFAULT_TTL;
    let app = Application::assemble(
        &config,
        db,
        Schedule {
            poll: Duration::from_millis(50),
            retry_base: Duration::from_millis(200),
            retry_cap: Duration::from_secs(1),
        },
        |settings| {
            settings.session = options.session;
            settings.rate_limits = options.rate_limits;
            settings.export_chunk_deadline = options.export_chunk_deadline;
        },
    )
    .expect("the test application assembles");
    let router = app.router;
    let (shutdown, receiver) = tokio::sync::watch::channel(false);
    // Without an SMTP server, mail stays queued in the outbox for the
    // tests to read.
    if options.smtp_url.is_some() {
        tokio::spawn(app.mail.run(receiver));
    }
    let _ = ready.send(base);
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    );
    tokio::select! {
        result = server => result.unwrap(),
        _ = stopped => {}
    }
    let _ = shutdown.send(true);
    // Every request has finished: every connection must be back in the pool.
    let mut checked_out = pool.size() - pool.num_idle() as u32;
    for _ in 0..40 {
        if checked_out == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        checked_out = pool.size() - pool.num_idle() as u32;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), pool.close()).await;
    checked_out
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let leaked = thread.join().unwrap_or(0);
            if leaked > 0 && !std::thread::panicking() {
                panic!(
                    "{leaked} pooled connection(s) were never returned: a request leaked a connection"
                );
            }
        }
    }
}

/// The page of another site that links to, or posts to, ours.
pub const CROSS_SITE_PAGE: &str = "http://attacker.example/page.html";

fn cross_site_origin() -> &'static str {
    "http://attacker.example"
}

/// A cookie-keeping HTTP client that does not follow redirects, so tests see
/// exactly where the app sends people.
pub struct Browser {
    pub base: String,
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self::with_headers(base, header::HeaderMap::new())
    }

    /// A browser on another machine: the proxy in front of the test server
    /// (one trusted hop) reports `ip` as the client's address.
    pub fn from_address(base: &str, ip: &str) -> Self {
        let mut headers = header::HeaderMap::new();
        headers.insert("x-forwarded-for", ip.parse().unwrap());
        Self::with_headers(base, headers)
    }

    /// A browser on another machine, saying what it is (`User-Agent`).
    pub fn on_device(base: &str, ip: &str, user_agent: &str) -> Self {
        let mut headers = header::HeaderMap::new();
        headers.insert("x-forwarded-for", ip.parse().unwrap());
        headers.insert(header::USER_AGENT, user_agent.parse().unwrap());
        Self::with_headers(base, headers)
    }

    fn with_headers(base: &str, headers: header::HeaderMap) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            // A request that never answers fails the test instead of hanging it.
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            base: base.to_string(),
            client,
            jar,
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// GET a page, as a browser navigating to it from one of our pages.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header(header::ORIGIN, &self.base)
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap()
    }

    /// GET a page as a link or an image on another site makes the browser
    /// do: with this browser's cookies (SameSite=Lax sends them on a
    /// top-level navigation), no Origin of ours, the other site as referrer.
    pub async fn get_from_elsewhere(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, CROSS_SITE_PAGE)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap()
    }

    /// Posts a form the way a page without JavaScript does (from `referer`):
    /// the answer is a redirect.
    pub async fn submit(&self, endpoint: &str, referer: &str, form: &[(&str, &str)]) -> Response {
        self.submit_request(endpoint, referer, form)
            .send()
            .await
            .unwrap()
    }

    fn submit_request(
        &self,
        endpoint: &str,
        referer: &str,
        form: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(endpoint))
            .header(header::ORIGIN, &self.base)
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, self.url(referer))
            .form(form)
    }

    /// Posts a form from a page of another site (an auto-submitting form
    /// there): its Origin is that site's.
    pub async fn submit_from_elsewhere(&self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(endpoint))
            .header(header::ORIGIN, cross_site_origin())
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, CROSS_SITE_PAGE)
            .header("sec-fetch-site", "cross-site")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function the way the hydrated app does: JSON back,
    /// with an HTTP status that matches the outcome.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        self.call_request(endpoint, form).send().await.unwrap()
    }

    fn call_request(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(endpoint))
            .header(header::ORIGIN, &self.base)
            .header(header::ACCEPT, "application/json")
            .form(form)
    }

    /// Like [`Browser::call`], but a failed exchange (a dropped connection)
    /// is returned instead of failing the test; for fuzzing.
    pub async fn try_call(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Result<reqwest::StatusCode, reqwest::Error> {
        let response = self.call_request(endpoint, form).send().await?;
        let status = response.status();
        response.bytes().await?;
        Ok(status)
    }

    /// Like [`Browser::submit`], returning a dropped connection as an error.
    pub async fn try_submit(
        &self,
        endpoint: &str,
        referer: &str,
        form: &[(&str, &str)],
    ) -> Result<reqwest::StatusCode, reqwest::Error> {
        let response = self.submit_request(endpoint, referer, form).send().await?;
        let status = response.status();
        response.bytes().await?;
        Ok(status)
    }

    /// The `Cookie` header this browser would send.
    pub fn cookie(&self) -> Option<String> {
        self.jar
            .cookies(&self.base.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// A second browser that sends a copy of this one's current cookie (to
    /// replay an old session).
    pub fn clone_with_cookie(&self) -> Browser {
        let copy = Browser::new(&self.base);
        if let Some(cookie) = self.cookie() {
            for pair in cookie.split("; ") {
                copy.jar.add_cookie_str(pair, &self.base.parse().unwrap());
            }
        }
        copy
    }

    /// Signs in through an organization's login page (no JavaScript).
    pub async fn sign_in(&self, slug: &str, email: &str, password: &str) -> Response {
        self.submit(
            "/api/auth/sign_in",
            &format!("/o/{slug}/login"),
            &[("email", email), ("password", password), ("org", slug)],
        )
        .await
    }
}

/// A browser signed in to `slug` as `email` (a demo account).
pub async fn signed_in(app: &TestApp, slug: &str, email: &str) -> Browser {
    let browser = app.browser();
    let response = browser
        .sign_in(slug, email, app::domain::demo::DEMO_PASSWORD)
        .await;
    assert_eq!(
        location(&response),
        format!("/o/{slug}"),
        "{email} signs in"
    );
    browser
}

/// The session cookie a response sets (`Set-Cookie`, whole, attributes
/// included), under its plain or its `__Host-` name.
#[track_caller]
pub fn session_cookie(response: &Response) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("trellis_session=") || c.starts_with("__Host-trellis_session="))
        .expect("a session cookie")
}

/// Where a redirect points.
#[track_caller]
pub fn location(response: &Response) -> String {
    assert!(
        response.status().is_redirection() || response.headers().contains_key("serverfnredirect"),
        "expected a redirect, got {}",
        response.status()
    );
    response
        .headers()
        .get(header::LOCATION)
        .expect("Location header")
        .to_str()
        .unwrap()
        .to_string()
}

/// The error a failed plain form post carried back in its redirect.
pub fn redirected_error(response: &Response) -> Option<app::error::AppError> {
    use base64::Engine;
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let url = reqwest::Url::parse(location).ok()?;
    let err = url.query_pairs().find(|(k, _)| k == "__err")?.1.to_string();
    let bytes = base64::engine::general_purpose::URL_SAFE.decode(err).ok()?;
    serde_json::from_slice(&bytes).ok()
}
