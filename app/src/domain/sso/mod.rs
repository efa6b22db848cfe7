//! Self-service single sign-on with OpenID Connect: one connection per
//! organization (issuer, client id, sealed client secret, its own redirect
//! URI), email domains proved by DNS, the identities (issuer, subject) it
//! linked to members, and the sign-in that runs through the provider.

pub mod connection;
pub mod crypto;
pub mod domains;
pub mod identity;
pub mod notify;
pub mod oidc;
pub mod runtime;
pub mod sign_in;

pub use crypto::SecretKeys;
pub use runtime::{DnsServer, SsoRuntime};
