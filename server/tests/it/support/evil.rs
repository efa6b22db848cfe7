//! A malicious OpenID provider for the attack tests, run by the test on
//! loopback next to the honest one (end2end/peers/oidc-provider.mjs).
//!
//! It publishes a well-formed configuration, so an organization's admin can
//! save it as their provider, and then misbehaves as the test tells it to:
//! it bounces the browser to another provider's authorization endpoint with
//! parameters of its choosing (the IdP mix-up), or answers at once with a
//! code of its own (to see what the app sends to its token endpoint). Its
//! token endpoint records every request it receives and redeems nothing.

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// What the provider's authorization endpoint does with a browser.
#[derive(Clone, Debug, Default)]
pub enum Behaviour {
    /// Refuses (400).
    #[default]
    Refuse,
    /// Sends the browser to `authorize` with `params`, keeping the `state`
    /// the app sent (the mix-up: the victim's own state, the attacker's
    /// PKCE challenge and nonce, the other provider's client id).
    Bounce {
        authorize: String,
        params: Vec<(String, String)>,
    },
    /// Sends the browser straight back to the redirect URI the app gave,
    /// with this code and the app's state.
    ReturnCode(String),
}

/// A request that reached the token endpoint.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub authorization: Option<String>,
    pub form: HashMap<String, String>,
}

impl TokenRequest {
    /// The client secret the request carried, in either place a client may
    /// put it (HTTP Basic, or the form).
    pub fn client_secret(&self) -> Option<String> {
        use base64::Engine;
        if let Some(secret) = self.form.get("client_secret") {
            return Some(secret.clone());
        }
        let basic = self.authorization.as_deref()?.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .ok()?;
        let pair = String::from_utf8(decoded).ok()?;
        let (_, secret) = pair.split_once(':')?;
        Some(percent_decode(secret))
    }
}

fn percent_decode(value: &str) -> String {
    reqwest::Url::parse(&format!("http://x/?v={value}"))
        .ok()
        .and_then(|u| u.query_pairs().next().map(|(_, v)| v.into_owned()))
        .unwrap_or_else(|| value.to_string())
}

#[derive(Default)]
struct Shared {
    behaviour: Behaviour,
    authorize_requests: Vec<HashMap<String, String>>,
    token_requests: Vec<TokenRequest>,
}

#[derive(Clone)]
struct Evil {
    issuer: String,
    shared: Arc<Mutex<Shared>>,
}

pub struct EvilProvider {
    pub issuer: String,
    shared: Arc<Mutex<Shared>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EvilProvider {
    /// Serves the provider on its own thread (like the app under test), so
    /// it answers whatever the test's own runtime is doing.
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<String>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let for_thread = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let issuer = format!("http://{}", listener.local_addr().unwrap());
                let evil = Evil {
                    issuer: issuer.clone(),
                    shared: for_thread,
                };
                let router = Router::new()
                    .route("/.well-known/openid-configuration", get(configuration))
                    .route(
                        "/jwks",
                        get(|| async { Json(serde_json::json!({ "keys": [] })) }),
                    )
                    .route("/authorize", get(authorize))
                    .route("/token", post(token))
                    .with_state(evil);
                let _ = ready_tx.send(issuer);
                tokio::select! {
                    result = axum::serve(listener, router) => result.unwrap(),
                    _ = stopped => {}
                }
            });
        });
        let issuer = ready_rx.await.expect("the evil provider starts");
        Self {
            issuer,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn behave(&self, behaviour: Behaviour) {
        self.shared.lock().unwrap().behaviour = behaviour;
    }

    /// Every request its token endpoint received.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.lock().unwrap().token_requests.clone()
    }

    /// The query of every authorization request it received.
    pub fn authorize_requests(&self) -> Vec<HashMap<String, String>> {
        self.shared.lock().unwrap().authorize_requests.clone()
    }
}

impl Drop for EvilProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn configuration(State(evil): State<Evil>) -> Json<serde_json::Value> {
    let issuer = &evil.issuer;
    Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn authorize(
    State(evil): State<Evil>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let behaviour = {
        let mut shared = evil.shared.lock().unwrap();
        shared.authorize_requests.push(query.clone());
        shared.behaviour.clone()
    };
    let state = query.get("state").cloned().unwrap_or_default();
    match behaviour {
        Behaviour::Refuse => StatusCode::BAD_REQUEST.into_response(),
        Behaviour::Bounce { authorize, params } => {
            let mut url = reqwest::Url::parse(&authorize).unwrap();
            url.query_pairs_mut()
                .extend_pairs(&params)
                .append_pair("state", &state);
            Redirect::to(url.as_str()).into_response()
        }
        Behaviour::ReturnCode(code) => {
            let mut url = reqwest::Url::parse(&query["redirect_uri"]).unwrap();
            url.query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &state);
            Redirect::to(url.as_str()).into_response()
        }
    }
}

async fn token(State(evil): State<Evil>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let form = reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(&body)))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    evil.shared
        .lock()
        .unwrap()
        .token_requests
        .push(TokenRequest {
            authorization,
            form,
        });
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": "invalid_grant" })),
    )
        .into_response()
}
