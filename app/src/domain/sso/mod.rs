//! Self-service single sign-on with OpenID Connect: one connection per
//! organization (issuer, client id, sealed client secret), email domains
//! proved by DNS, and the sign-in that runs through the provider.

pub mod connection;
pub mod crypto;
pub mod domains;
pub mod oidc;
pub mod runtime;
pub mod sign_in;

pub use crypto::SecretKeys;
pub use runtime::{DnsServer, SsoRuntime};
