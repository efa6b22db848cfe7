//! Typed identifiers, so an organization id cannot be passed where a user id
//! belongs. They cross the wire as plain UUID strings.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered (UUIDv7) id.
            #[cfg(feature = "ssr")]
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// An organization (a tenant).
    OrgId
);
typed_id!(
    /// A global user identity.
    UserId
);
typed_id!(
    /// An invitation, unique within its organization.
    InvitationId
);
// resource: project
typed_id!(
    /// A project, unique within its organization.
    ProjectId
);
// end resource: project
