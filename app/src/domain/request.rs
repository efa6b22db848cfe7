//! What the domain needs to know about the request that caused a change.

use std::net::IpAddr;

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
}
