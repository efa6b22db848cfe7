//! The vocabulary of the audit log: every action the application records,
//! grouped the way the audit view filters them.

use serde::{Deserialize, Serialize};

/// How the audit view groups actions for filtering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionGroup {
    SignIn,
    Members,
    Invitations,
    Roles,
    Sso,
    Settings,
    Security,
    Projects,
}

impl ActionGroup {
    pub const ALL: &'static [ActionGroup] = &[
        ActionGroup::SignIn,
        ActionGroup::Members,
        ActionGroup::Invitations,
        ActionGroup::Roles,
        ActionGroup::Sso,
        ActionGroup::Settings,
        ActionGroup::Security,
        ActionGroup::Projects,
    ];

    /// How the group is named in URLs.
    pub fn code(self) -> &'static str {
        match self {
            ActionGroup::SignIn => "sign_in",
            ActionGroup::Members => "members",
            ActionGroup::Invitations => "invitations",
            ActionGroup::Roles => "roles",
            ActionGroup::Sso => "sso",
            ActionGroup::Settings => "settings",
            ActionGroup::Security => "security",
            ActionGroup::Projects => "projects",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ActionGroup::SignIn => "Sign-in",
            ActionGroup::Members => "Members",
            ActionGroup::Invitations => "Invitations",
            ActionGroup::Roles => "Roles",
            ActionGroup::Sso => "Single sign-on",
            ActionGroup::Settings => "Settings",
            ActionGroup::Security => "Account security",
            ActionGroup::Projects => "Projects",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|g| g.code() == code)
    }

    /// The action codes in this group.
    pub fn codes(self) -> Vec<&'static str> {
        AuditAction::ALL
            .iter()
            .filter(|a| a.group() == self)
            .map(|a| a.code())
            .collect()
    }
}

macro_rules! audit_actions {
    ($($variant:ident => $code:literal, $group:ident, $sentence:literal;)*) => {
        /// An action recorded in the audit log. The code (`member.invited`)
        /// is what is stored; the sentence is what the audit view shows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            pub fn code(self) -> &'static str {
                match self { $(AuditAction::$variant => $code,)* }
            }

            pub fn group(self) -> ActionGroup {
                match self { $(AuditAction::$variant => ActionGroup::$group,)* }
            }

            /// A short past-tense description, read after the actor's name.
            pub fn sentence(self) -> &'static str {
                match self { $(AuditAction::$variant => $sentence,)* }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(AuditAction::$variant),)* _ => None }
            }
        }
    };
}

audit_actions! {
    OrgCreated          => "org.created",            Settings,    "created the organization";
    MemberAdded         => "member.added",           Members,     "added a member";
    SignedUp            => "auth.signed_up",         SignIn,      "signed up";
    SignedIn            => "auth.signed_in",         SignIn,      "signed in";
    SignInFailed        => "auth.sign_in_failed",    SignIn,      "failed to sign in";
    SignedOut           => "auth.signed_out",        SignIn,      "signed out";
    SwitchedOut         => "auth.switched_out",      SignIn,      "left to switch organization";
    SwitchedIn          => "auth.switched_in",       SignIn,      "switched into the organization";
    PasswordReset       => "auth.password_reset",    SignIn,      "reset their password";
    PasswordResetRequested => "auth.password_reset_requested", SignIn, "asked for a password reset link";
    SignInLinkSent      => "auth.sign_in_link_sent", SignIn,      "asked for a sign-in link by email";
    EmailVerified       => "auth.email_verified",    SignIn,      "verified their email address";
    PasswordChanged     => "account.password_changed", Security,  "changed their password";
    NameChanged         => "account.name_changed",   Members,     "changed their name";
    PasswordRemoved     => "auth.password_removed",  SignIn,      "lost a password set before their address was confirmed";
    SessionEnded        => "auth.session_ended",     SignIn,      "was signed out by a change to the organization's single sign-on";
    SessionRevoked      => "auth.session_revoked",   Security,    "ended a session";
    InvitationCreated   => "invitation.created",     Invitations, "invited someone";
    InvitationResent    => "invitation.resent",      Invitations, "resent an invitation";
    InvitationRevoked   => "invitation.revoked",     Invitations, "revoked an invitation";
    InvitationAccepted  => "invitation.accepted",    Invitations, "accepted an invitation and joined";
    RoleChanged         => "member.role_changed",    Roles,       "changed a member's role";
    MemberRemoved       => "member.removed",         Members,     "removed a member";
    MemberLeft          => "member.left",            Members,     "left the organization";
    AccountDeleted      => "member.account_deleted", Members,     "deleted their account, and so left the organization";
    OrgRenamed          => "org.renamed",            Settings,    "renamed the organization";
    OrgSlugChanged      => "org.slug_changed",       Settings,    "changed the organization's URL name";
    SsoConnectionSaved  => "sso.connection_saved",   Sso,         "changed the single sign-on connection";
    SsoConnectionTested => "sso.connection_tested",  Sso,         "tested the single sign-on connection";
    SsoEnabled          => "sso.enabled",            Sso,         "turned single sign-on on";
    SsoDisabled         => "sso.disabled",           Sso,         "turned single sign-on off";
    SsoEnforced         => "sso.enforced",           Sso,         "made single sign-on mandatory";
    SsoUnenforced       => "sso.unenforced",         Sso,         "made single sign-on optional";
    SsoDomainAdded      => "sso.domain_added",       Sso,         "added an email domain";
    SsoDomainVerified   => "sso.domain_verified",    Sso,         "verified an email domain";
    SsoDomainCheckFailed => "sso.domain_check_failed", Sso,       "could not verify an email domain";
    SsoDomainRemoved    => "sso.domain_removed",     Sso,         "removed an email domain";
    MemberJoinedViaSso  => "member.joined_via_sso",  Members,     "joined through single sign-on";
    SsoLinkStarted      => "sso.link_started",       Sso,         "signed in through the identity provider for the first time and was asked to confirm their account";
    SsoLinkEmailSent    => "sso.link_email_sent",    Sso,         "asked for a link to confirm their account for single sign-on";
    SsoIdentityLinked   => "sso.identity_linked",    Sso,         "linked their account to the identity provider";
    AuditRetentionChanged => "org.audit_retention_changed", Settings, "changed how long audit events are kept";
    AuditPurged         => "audit.purged",           Settings,    "removed audit events older than the retention period";
    TotpEnabled         => "mfa.totp_enabled",       Security,    "turned on two-step sign-in with an authenticator app";
    TotpDisabled        => "mfa.totp_disabled",      Security,    "turned off two-step sign-in";
    RecoveryCodesRegenerated => "mfa.recovery_codes_regenerated", Security, "made new recovery codes (the old ones stopped working)";
    RecoveryCodeUsed    => "mfa.recovery_code_used", Security,    "used a recovery code for the second step of signing in";
    SecondFactorFailed  => "mfa.check_failed",       Security,    "entered a wrong second-step code";
    IdentityConfirmed   => "auth.identity_confirmed", Security,   "confirmed it was them before a sensitive change";
    IdentityConfirmFailed => "auth.identity_confirm_failed", Security, "could not confirm it was them before a sensitive change";
    MfaRequired         => "org.mfa_required",       Security,    "made two-step sign-in mandatory for every member";
    MfaOptional         => "org.mfa_optional",       Security,    "made two-step sign-in optional";
    ProjectCreated      => "project.created",        Projects,    "created a project";
    ProjectUpdated      => "project.updated",        Projects,    "changed a project";
    ProjectArchived     => "project.archived",       Projects,    "archived a project";
    ProjectRestored     => "project.restored",       Projects,    "restored an archived project";
    ProjectDeleted      => "project.deleted",        Projects,    "deleted a project";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_match_the_database_check() {
        let mut seen = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            let code = action.code();
            assert!(seen.insert(code), "duplicate code {code}");
            let (area, verb) = code.split_once('.').expect("area.verb");
            let ok =
                |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            assert!(
                ok(area) && ok(verb),
                "{code} must match ^[a-z_]+\\.[a-z_]+$"
            );
            assert_eq!(AuditAction::from_code(code), Some(*action));
        }
    }
}
