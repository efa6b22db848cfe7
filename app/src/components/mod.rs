//! Building blocks shared by the pages.

pub mod form;
pub mod layout;
pub mod org_frame;
pub mod page;
pub mod sessions;
pub mod sso_start;
