//! The server-only domain layer. It owns all SQL; server functions call into
//! it with already-parsed input. Org data is reached only through
//! [`tenancy::Tenant`], which sets the org context transaction-locally.

pub mod account_deletion;
pub mod accounts;
pub mod audit;
pub mod audit_view;
pub mod auth;
pub mod db;
pub mod demo;
pub mod invitations;
pub mod mail;
pub mod members;
pub mod my_data;
pub mod orgs;
pub mod password;
pub mod projects;
pub mod rate_limit;
pub mod request;
pub mod second_factor;
pub mod session;
pub mod sessions;
pub mod sso;
pub mod tenancy;
pub mod tokens;
