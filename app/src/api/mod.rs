//! Server functions, by area. Each is thin: context, validation, one call
//! into the domain layer.

pub mod account;
pub mod audit;
pub mod auth;
#[cfg(feature = "ssr")]
pub mod context;
pub mod invitations;
pub mod members;
#[cfg(feature = "ssr")]
pub mod navigation;
pub mod projects;
pub mod second_step;
pub mod session;
pub mod settings;
pub mod sso;
#[cfg(feature = "ssr")]
pub mod sso_flow;
pub mod sso_sign_in;
