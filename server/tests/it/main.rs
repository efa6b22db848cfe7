//! Every database, HTTP and attack test, as one test binary (one link
//! instead of one per file). Run one area with a filter, e.g.
//! `cargo test -p server --features app/ssr --test it -- isolation::`.

mod support;

mod account;
mod admin_console;
mod audit;
mod audit_completeness;
mod hardening;
mod isolation;
mod projects;
mod second_factor;
mod sessions;
mod sign_in;
mod sso;
mod step_up;
