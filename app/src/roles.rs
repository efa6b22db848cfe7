//! Per-membership roles and the one permission table that pages, server
//! functions and tests all consult.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A member's role in one organization. Ordered from most to least powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

/// Something a member may be allowed to do in their organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read the organization's workspace.
    ViewWorkspace,
    /// Create content (projects), and change or delete what one created.
    EditContent,
    /// Change or delete anyone's content.
    ManageContent,
    /// See the member list and pending invitations.
    ViewMembers,
    /// Invite people, resend and revoke invitations.
    InviteMembers,
    /// Change roles (below owner) and remove members.
    ManageMembers,
    /// Grant or take away the owner role.
    ManageOwners,
    /// Configure SSO connections and domains.
    ManageSso,
    /// Read the audit log.
    ViewAudit,
    /// Rename the organization, change its slug, set retention, delete it.
    ManageOrganization,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    /// The permission table. Every authorization decision goes through here.
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(permission, ManageOwners | ManageOrganization),
            Role::Member => matches!(permission, ViewWorkspace | EditContent),
            Role::Viewer => matches!(permission, ViewWorkspace),
        }
    }

    /// Owner or admin: a role that decides who is in the organization and
    /// how they sign in. Granting one, by a role change or an invitation,
    /// is a sensitive action (it needs a recent sign-in).
    pub fn administers(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// The role as a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
            Role::Viewer => "Viewer",
        }
    }

    /// Parses the stored or submitted form of a role.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            "viewer" => Ok(Role::Viewer),
            _ => Err("Choose one of: owner, admin, member, viewer.".to_string()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Roles are stored as their lowercase names; a query selects one as
/// `role as "role: Role"` and gets the enum.
#[cfg(feature = "ssr")]
mod sql {
    use super::Role;
    use sqlx::{
        Decode, Encode, Postgres, Type,
        encode::IsNull,
        error::BoxDynError,
        postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef},
    };

    impl Type<Postgres> for Role {
        fn type_info() -> PgTypeInfo {
            <&str as Type<Postgres>>::type_info()
        }

        fn compatible(ty: &PgTypeInfo) -> bool {
            <&str as Type<Postgres>>::compatible(ty)
        }
    }

    impl<'r> Decode<'r, Postgres> for Role {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            let text = <&str as Decode<Postgres>>::decode(value)?;
            Role::parse(text).map_err(|_| format!("not a role: {text:?}").into())
        }
    }

    impl Encode<'_, Postgres> for Role {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <&str as Encode<Postgres>>::encode(self.as_str(), buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn only_owners_manage_owners_and_the_organization() {
        for role in Role::ALL {
            assert_eq!(role.can(ManageOwners), role == Role::Owner, "{role:?}");
            assert_eq!(
                role.can(ManageOrganization),
                role == Role::Owner,
                "{role:?}"
            );
        }
    }

    #[test]
    fn admins_run_the_console_but_members_and_viewers_do_not() {
        for permission in [
            ViewMembers,
            InviteMembers,
            ManageMembers,
            ManageSso,
            ViewAudit,
        ] {
            assert!(Role::Owner.can(permission));
            assert!(Role::Admin.can(permission));
            assert!(!Role::Member.can(permission));
            assert!(!Role::Viewer.can(permission));
        }
    }

    #[test]
    fn members_edit_their_own_content_and_admins_everyones() {
        for role in Role::ALL {
            assert_eq!(role.can(EditContent), role != Role::Viewer, "{role:?}");
            assert_eq!(
                role.can(ManageContent),
                matches!(role, Role::Owner | Role::Admin),
                "{role:?}"
            );
        }
    }

    #[test]
    fn viewers_can_only_look() {
        assert!(Role::Viewer.can(ViewWorkspace));
        assert!(!Role::Viewer.can(EditContent));
        assert!(Role::Member.can(EditContent));
    }

    #[test]
    fn roles_round_trip_through_their_stored_form() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(Role::parse(" Admin "), Ok(Role::Admin));
        assert!(Role::parse("superuser").is_err());
    }
}
