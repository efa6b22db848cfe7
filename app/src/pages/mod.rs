//! One module per screen.

pub mod account;
pub mod audit;
pub mod home;
pub mod invitation;
pub mod mailbox;
pub mod member_sessions;
pub mod members;
pub mod not_found;
pub mod org_home;
pub mod orgs;
pub mod password;
pub mod projects;
pub mod second_step;
pub mod settings;
pub mod sign_in;
pub mod signup;
pub mod sso;
pub mod sso_continue;
pub mod sso_failed;
pub mod sso_link;
