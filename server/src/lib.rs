#![recursion_limit = "256"]

//! The Trellis server: start-up, the router, and the routes that live
//! outside Leptos. `main.rs` only reads the configuration and calls [`run`].

pub mod audit_export;
pub mod config;
pub mod form_errors;
pub mod health;
pub mod http;
pub mod mail;
pub mod my_data;
pub mod sso;
pub mod startup;
pub mod telemetry;

pub use startup::{Application, RouterOptions, StartupError, build_router, plain_routes, run};
