//! The OpenID Connect side: discovery, and the authorization code flow with
//! PKCE, `state` and `nonce` bound to the browser's session, ending in a
//! fully validated ID token (signature by the provider's published keys,
//! issuer, audience, expiry, nonce).

use super::runtime::SsoRuntime;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
};
use serde::{Deserialize, Serialize};

/// The path of the one callback all organizations register.
pub const CALLBACK_PATH: &str = "/sso/callback";

/// The redirect URI an admin registers at their provider.
pub fn redirect_uri(base_url: &str) -> String {
    format!("{base_url}{CALLBACK_PATH}")
}

/// Why discovery failed, in words an admin can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiscoveryProblem {
    InvalidUrl,
    Insecure(String),
    Unreachable(String),
    NotAProvider(String),
    IssuerMismatch(String),
    MissingEndpoint(&'static str),
}

impl DiscoveryProblem {
    pub fn message(&self) -> String {
        match self {
            DiscoveryProblem::InvalidUrl => {
                "Enter the issuer as a full URL, like https://login.example.com.".into()
            }
            DiscoveryProblem::Insecure(why) => {
                format!("The provider must be reached over https: {why}.")
            }
            DiscoveryProblem::Unreachable(why) => {
                format!(
                    "The provider could not be reached ({why}). Check the issuer URL and that the provider is up."
                )
            }
            DiscoveryProblem::NotAProvider(why) => format!(
                "That address does not answer like an OpenID Connect provider: its /.well-known/openid-configuration \
                 could not be read ({why})."
            ),
            DiscoveryProblem::IssuerMismatch(why) => format!(
                "The provider calls itself by a different issuer than the one entered ({why}). Enter the issuer \
                 exactly as the provider publishes it."
            ),
            DiscoveryProblem::MissingEndpoint(which) => {
                format!("The provider's configuration has no {which}, which sign-in needs.")
            }
        }
    }
}

/// Reads the provider's configuration and signing keys.
pub async fn discover(
    rt: &SsoRuntime,
    issuer: &str,
) -> Result<CoreProviderMetadata, DiscoveryProblem> {
    let issuer_url =
        IssuerUrl::new(issuer.trim().to_string()).map_err(|_| DiscoveryProblem::InvalidUrl)?;
    if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
        return Err(DiscoveryProblem::InvalidUrl);
    }
    rt.http.check(issuer).map_err(DiscoveryProblem::Insecure)?;
    let metadata = CoreProviderMetadata::discover_async(issuer_url, &rt.http)
        .await
        .map_err(|error| {
            use openidconnect::DiscoveryError as E;
            match error {
                E::Request(inner) => {
                    let text = error_chain(&inner);
                    if text.contains("https") || text.contains("private or local") {
                        DiscoveryProblem::Insecure(text)
                    } else {
                        DiscoveryProblem::Unreachable(text)
                    }
                }
                E::Response(status, _, _) => {
                    DiscoveryProblem::NotAProvider(format!("HTTP {status}"))
                }
                E::Parse(inner) => DiscoveryProblem::NotAProvider(inner.to_string()),
                E::Validation(why) if why.contains("issuer") => {
                    DiscoveryProblem::IssuerMismatch(why)
                }
                other => DiscoveryProblem::NotAProvider(other.to_string()),
            }
        })?;
    if metadata.token_endpoint().is_none() {
        return Err(DiscoveryProblem::MissingEndpoint("token endpoint"));
    }
    for endpoint in [
        metadata.authorization_endpoint().as_str(),
        metadata
            .token_endpoint()
            .map(|t| t.as_str())
            .unwrap_or_default(),
        metadata.jwks_uri().as_str(),
    ] {
        rt.http
            .check(endpoint)
            .map_err(DiscoveryProblem::Insecure)?;
    }
    Ok(metadata)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// What a flow is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    SignIn,
    /// "Test connection": show the claims, sign nobody in.
    Test,
}

/// A sign-in under way, kept in the browser's server-side session between
/// the redirect to the provider and the callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flow {
    pub org_id: crate::ids::OrgId,
    pub org_slug: String,
    pub purpose: Purpose,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Unix milliseconds; a flow is good for ten minutes.
    pub started_at: i64,
}

impl Flow {
    pub const LIFETIME_MS: i64 = 10 * 60 * 1000;
}

/// The organization a callback's `state` names (see [`start`]); only a hint
/// for where to record a failure, never trusted for anything else.
pub fn org_named_by_state(state: &str) -> Option<crate::ids::OrgId> {
    let (id, _) = state.split_once('.')?;
    uuid::Uuid::try_parse(id).ok().map(crate::ids::OrgId)
}

/// The identity the provider vouched for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
}

/// Why the provider's answer did not sign anyone in. `code()` is recorded in
/// the audit log and names the page's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The callback did not come back with the state we sent.
    StateMismatch,
    /// No sign-in was under way in this browser, or it took too long.
    NoFlow,
    /// The provider said no (the user cancelled, or it refused the request).
    ProviderDenied(String),
    Unreachable(String),
    Discovery(DiscoveryProblem),
    /// The token endpoint refused the code (wrong secret, code used twice…).
    CodeRefused(String),
    NoIdToken,
    /// Signature, issuer, audience, expiry or nonce did not check out.
    InvalidIdToken(String),
    SecretUnreadable,
}

impl Failure {
    pub fn code(&self) -> &'static str {
        match self {
            Failure::StateMismatch => "state_mismatch",
            Failure::NoFlow => "no_flow",
            Failure::ProviderDenied(_) => "provider_denied",
            Failure::Unreachable(_) => "provider_unreachable",
            Failure::Discovery(_) => "provider_misconfigured",
            Failure::CodeRefused(_) => "code_refused",
            Failure::NoIdToken => "no_id_token",
            Failure::InvalidIdToken(_) => "invalid_id_token",
            Failure::SecretUnreadable => "secret_unreadable",
        }
    }

    /// Details for the audit log and the test report (never secrets).
    pub fn detail(&self) -> String {
        match self {
            Failure::ProviderDenied(d)
            | Failure::Unreachable(d)
            | Failure::CodeRefused(d)
            | Failure::InvalidIdToken(d) => d.clone(),
            Failure::Discovery(p) => p.message(),
            other => other.code().to_string(),
        }
    }
}

fn client(
    metadata: CoreProviderMetadata,
    client_id: &str,
    secret: &str,
    base_url: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    Failure,
> {
    let redirect = RedirectUrl::new(redirect_uri(base_url))
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_string()),
        Some(ClientSecret::new(secret.to_string())),
    )
    .set_redirect_uri(redirect))
}

/// Builds the provider URL to send the browser to, and the flow to keep.
pub async fn start(
    rt: &SsoRuntime,
    issuer: &str,
    client_id: &str,
    secret: &str,
    base_url: &str,
    flow: (crate::ids::OrgId, String, Purpose),
    login_hint: Option<&str>,
) -> Result<(String, Flow), Failure> {
    let metadata = discover(rt, issuer).await.map_err(|p| match p {
        DiscoveryProblem::Unreachable(why) => Failure::Unreachable(why),
        other => Failure::Discovery(other),
    })?;
    let client = client(metadata, client_id, secret, base_url)?;
    let org_id = flow.0;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            // The org's id leads the state, so a callback that matches no
            // sign-in under way can still be recorded in that org's log.
            move || {
                CsrfToken::new(format!(
                    "{}.{}",
                    org_id.0.simple(),
                    CsrfToken::new_random().secret()
                ))
            },
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
        request = request.add_extra_param("login_hint", hint.to_string());
    }
    if flow.2 == Purpose::Test {
        // A test must show the provider's sign-in, not reuse a session there.
        request = request.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
    }
    let (url, state, nonce) = request.url();
    Ok((
        url.to_string(),
        Flow {
            org_id: flow.0,
            org_slug: flow.1,
            purpose: flow.2,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            started_at: super::super::session::now(),
        },
    ))
}

/// Exchanges the code and validates the ID token it brings.
pub async fn finish(
    rt: &SsoRuntime,
    issuer: &str,
    client_id: &str,
    secret: &str,
    base_url: &str,
    flow: &Flow,
    code: &str,
) -> Result<Claims, Failure> {
    let metadata = discover(rt, issuer).await.map_err(|p| match p {
        DiscoveryProblem::Unreachable(why) => Failure::Unreachable(why),
        other => Failure::Discovery(other),
    })?;
    let client = client(metadata, client_id, secret, base_url)?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| Failure::CodeRefused(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(&rt.http)
        .await
        .map_err(|error| {
            use openidconnect::RequestTokenError as E;
            match error {
                E::ServerResponse(response) => Failure::CodeRefused(format!(
                    "{}{}",
                    response.error(),
                    response
                        .error_description()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                )),
                E::Request(inner) => Failure::Unreachable(error_chain(&inner)),
                other => Failure::CodeRefused(other.to_string()),
            }
        })?;
    let id_token = response.id_token().ok_or(Failure::NoIdToken)?;
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &Nonce::new(flow.nonce.clone()))
        .map_err(|e| Failure::InvalidIdToken(e.to_string()))?;
    Ok(Claims {
        subject: claims.subject().as_str().to_string(),
        email: claims.email().map(|e| e.as_str().to_string()),
        email_verified: claims.email_verified(),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
    })
}
