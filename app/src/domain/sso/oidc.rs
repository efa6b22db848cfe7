//! The OpenID Connect side: discovery, and the authorization code flow with
//! PKCE, `state` and `nonce` bound to the browser's session, ending in a
//! fully validated ID token (signature by the provider's published keys,
//! issuer, audience, expiry, nonce).
//!
//! Each connection has a redirect URI of its own, and a flow records the
//! connection, issuer and client id it was started for: an authorization
//! response is redeemed only at the token endpoint of that connection, and
//! only when it came back to that connection's URI. With one URI shared by
//! every organization, a provider run by one organization could bounce a
//! member of another to their real provider and have the code come back
//! into a flow of its own choosing (the IdP mix-up attack). Where the
//! provider says it sends RFC 9207's `iss` parameter, the response must
//! carry it, naming the connection's issuer.

use super::runtime::SsoRuntime;
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl, Scope,
    TokenResponse,
    core::{
        CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
        CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
        CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType,
        CoreSubjectIdentifierType,
    },
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a connection's authorization responses come back.
pub fn callback_path(connection_id: Uuid) -> String {
    format!("/sso/callback/{connection_id}")
}

/// The redirect URI an admin registers at their provider for a connection.
pub fn redirect_uri(base_url: &str, connection_id: Uuid) -> String {
    format!("{base_url}{}", callback_path(connection_id))
}

/// The one callback every organization shared before each connection had
/// its own. It answers with a page that says so, and redeems nothing.
pub const LEGACY_CALLBACK_PATH: &str = "/sso/callback";

/// What of the provider's configuration sign-in reads beyond the core:
/// whether it sends RFC 9207's `iss` with authorization responses.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ResponseIssuer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for ResponseIssuer {}

/// A provider's published configuration.
pub type Metadata = ProviderMetadata<
    ResponseIssuer,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The connection a flow talks to: which redirect URI it uses, which
/// provider it trusts, which client it is there.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint<'a> {
    pub connection_id: Uuid,
    pub issuer: &'a str,
    pub client_id: &'a str,
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
pub async fn discover(rt: &SsoRuntime, issuer: &str) -> Result<Metadata, DiscoveryProblem> {
    let issuer_url =
        IssuerUrl::new(issuer.trim().to_string()).map_err(|_| DiscoveryProblem::InvalidUrl)?;
    if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
        return Err(DiscoveryProblem::InvalidUrl);
    }
    rt.http.check(issuer).map_err(DiscoveryProblem::Insecure)?;
    let metadata = Metadata::discover_async(issuer_url, &rt.http)
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
    /// The connection, issuer and client id the flow was started for; a
    /// response is accepted only for exactly these.
    pub connection_id: Uuid,
    pub issuer: String,
    pub client_id: String,
    pub purpose: Purpose,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Unix milliseconds; a flow is good for ten minutes.
    pub started_at: i64,
}

impl Flow {
    pub const LIFETIME_MS: i64 = 10 * 60 * 1000;

    /// Whether the flow was started for this connection as it is now.
    pub fn is_for(&self, endpoint: &Endpoint<'_>) -> bool {
        self.connection_id == endpoint.connection_id
            && self.issuer == endpoint.issuer
            && self.client_id == endpoint.client_id
    }
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
    /// The response came back to another connection's redirect URI than
    /// the one the flow was started for (a provider bounced it there).
    WrongConnection,
    /// The connection's issuer or client id changed while the flow was
    /// under way.
    ConnectionChanged,
    /// The response's RFC 9207 `iss` names another issuer, or is missing
    /// although the provider says it sends one.
    ResponseIssuer(String),
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
            Failure::WrongConnection => "wrong_connection",
            Failure::ConnectionChanged => "connection_changed",
            Failure::ResponseIssuer(_) => "issuer_mismatch",
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
            | Failure::ResponseIssuer(d)
            | Failure::Unreachable(d)
            | Failure::CodeRefused(d)
            | Failure::InvalidIdToken(d) => d.clone(),
            Failure::Discovery(p) => p.message(),
            other => other.code().to_string(),
        }
    }
}

fn client(
    metadata: Metadata,
    endpoint: &Endpoint<'_>,
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
    let redirect = RedirectUrl::new(redirect_uri(base_url, endpoint.connection_id))
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(endpoint.client_id.to_string()),
        Some(ClientSecret::new(secret.to_string())),
    )
    .set_redirect_uri(redirect))
}

/// Builds the provider URL to send the browser to, and the flow to keep.
pub async fn start(
    rt: &SsoRuntime,
    endpoint: &Endpoint<'_>,
    secret: &str,
    base_url: &str,
    flow: (crate::ids::OrgId, String, Purpose),
    login_hint: Option<&str>,
) -> Result<(String, Flow), Failure> {
    let metadata = discover(rt, endpoint.issuer).await.map_err(|p| match p {
        DiscoveryProblem::Unreachable(why) => Failure::Unreachable(why),
        other => Failure::Discovery(other),
    })?;
    let client = client(metadata, endpoint, secret, base_url)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
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
            connection_id: endpoint.connection_id,
            issuer: endpoint.issuer.to_string(),
            client_id: endpoint.client_id.to_string(),
            purpose: flow.2,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            started_at: super::super::session::now(),
        },
    ))
}

/// What came back to a connection's redirect URI.
#[derive(Clone, Copy, Debug)]
pub struct Response<'a> {
    pub code: &'a str,
    /// RFC 9207's `iss` parameter, when the provider sent one.
    pub iss: Option<&'a str>,
}

/// Exchanges the code and validates the ID token it brings. Refuses before
/// any request to the token endpoint when the flow was started for another
/// connection (or for this one before its issuer or client id changed),
/// and when the response's `iss` does not name the connection's issuer.
pub async fn finish(
    rt: &SsoRuntime,
    endpoint: &Endpoint<'_>,
    secret: &str,
    base_url: &str,
    flow: &Flow,
    response: Response<'_>,
) -> Result<Claims, Failure> {
    if flow.connection_id != endpoint.connection_id {
        return Err(Failure::WrongConnection);
    }
    if !flow.is_for(endpoint) {
        return Err(Failure::ConnectionChanged);
    }
    let metadata = discover(rt, endpoint.issuer).await.map_err(|p| match p {
        DiscoveryProblem::Unreachable(why) => Failure::Unreachable(why),
        other => Failure::Discovery(other),
    })?;
    let sends_iss = metadata
        .additional_metadata()
        .authorization_response_iss_parameter_supported
        == Some(true);
    match response.iss {
        Some(iss) if iss != endpoint.issuer => {
            return Err(Failure::ResponseIssuer(format!(
                "the response names the issuer {iss:?}, not {:?}",
                endpoint.issuer
            )));
        }
        None if sends_iss => {
            return Err(Failure::ResponseIssuer(
                "the provider says it names itself in every response (RFC 9207), and this one did not"
                    .into(),
            ));
        }
        _ => {}
    }
    let client = client(metadata, endpoint, secret, base_url)?;
    let response = client
        .exchange_code(AuthorizationCode::new(response.code.to_string()))
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
