//! What the domain needs to know about the request that caused a change.

use std::net::IpAddr;

/// The client's address as the server decided it (peer address, or the
/// configured hop of X-Forwarded-For behind a trusted proxy). The server
/// inserts it into every request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client behind a request, recorded with every audit event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// For changes made by the system itself (demo seed, maintenance jobs).
    pub fn system() -> Self {
        Self::default()
    }

    /// Reads the client address and user agent from a request.
    pub fn from_parts(parts: &http::request::Parts) -> Self {
        Self {
            ip: parts.extensions.get::<ClientIp>().map(|c| c.0),
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(512).collect()),
        }
    }
}
