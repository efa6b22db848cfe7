//! Input types that can only be built from valid input ("parse, don't
//! validate"). Each `parse` returns a message a person can act on. They are
//! shared with the browser so the same rules can be shown before submitting,
//! but the server always parses again.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically valid email address, trimmed. Compared case-insensitively
/// by the database; the domain part is stored lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim();
        if value.is_empty() {
            return Err("Enter your email address.".into());
        }
        if value.chars().count() > 254 {
            return Err("That email address is too long.".into());
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err("Enter an email address like name@company.com.".into());
        };
        let domain_ok = domain.len() >= 3
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c));
        if !local_ok || !domain_ok {
            return Err("Enter an email address like name@company.com.".into());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part, lower-case.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organization's URL name, as in `/o/{slug}/login`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrgSlug(String);

impl OrgSlug {
    pub const MIN_LEN: usize = 2;
    pub const MAX_LEN: usize = 40;

    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim();
        if value.is_empty() {
            return Err("Choose a URL name for your organization.".into());
        }
        if value.len() < Self::MIN_LEN || value.len() > Self::MAX_LEN {
            return Err(format!(
                "Use {} to {} characters.",
                Self::MIN_LEN,
                Self::MAX_LEN
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err("Use lower-case letters, digits and hyphens only.".into());
        }
        if value.starts_with('-') || value.ends_with('-') {
            return Err("Start and end with a letter or digit.".into());
        }
        Ok(Self(value.to_string()))
    }

    /// A suggestion derived from an organization name: "Acme, Inc." → "acme-inc".
    pub fn suggest(name: &str) -> String {
        let mut slug = String::new();
        for c in name.trim().to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.len() >= Self::MAX_LEN {
                break;
            }
        }
        slug.trim_matches('-').to_string()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organization's display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = collapse_spaces(input);
        match value.chars().count() {
            0 => Err("Enter the organization's name.".into()),
            n if n > 100 => Err("Keep the name under 100 characters.".into()),
            _ if value.chars().any(char::is_control) => {
                Err("The name contains characters that cannot be shown.".into())
            }
            _ if crate::text::has_direction_controls(&value) => Err(
                "The name contains characters that change the direction of text; remove them."
                    .into(),
            ),
            _ => Ok(Self(value)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as shown to others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = collapse_spaces(input);
        match value.chars().count() {
            0 => Err("Enter your name.".into()),
            n if n > 100 => Err("Keep your name under 100 characters.".into()),
            _ if value.chars().any(char::is_control) => {
                Err("Your name contains characters that cannot be shown.".into())
            }
            _ if crate::text::has_direction_controls(&value) => Err(
                "Your name contains characters that change the direction of text; remove them."
                    .into(),
            ),
            _ => Ok(Self(value)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email domain an organization claims, like `acme.com`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailDomain(String);

impl EmailDomain {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim().trim_end_matches('.').to_lowercase();
        let value = value.strip_prefix('@').unwrap_or(&value).to_string();
        if value.is_empty() {
            return Err("Enter a domain, like example.com.".into());
        }
        let labels: Vec<&str> = value.split('.').collect();
        let ok = value.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()));
        if ok {
            Ok(Self(value))
        } else {
            Err("Enter a domain name, like example.com (without https:// or a path).".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password. Never serialized: it must not travel back to the browser.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_LEN: usize = 10;
    /// argon2 is expensive on purpose; an unbounded input would be a cheap DoS.
    pub const MAX_LEN: usize = 128;

    pub fn parse(input: &str) -> Result<Self, String> {
        let n = input.chars().count();
        if n < Self::MIN_LEN {
            return Err(format!("Use at least {} characters.", Self::MIN_LEN));
        }
        if n > Self::MAX_LEN {
            return Err(format!("Use at most {} characters.", Self::MAX_LEN));
        }
        if input.trim().is_empty() {
            return Err("A password cannot be only spaces.".into());
        }
        Ok(Self(input.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

fn collapse_spaces(input: &str) -> String {
    input.split_whitespace().collect::<Vec<_>>().join(" ")
}

// resource: project
// The reference resource's input types (see docs/adding-a-resource.md);
// `scripts/new-resource.sh` copies this block.

/// The longest project name, description and list search the forms accept
/// (the table's checks say the same).
pub const PROJECT_NAME_MAX_CHARS: usize = 100;
pub const PROJECT_DESCRIPTION_MAX_CHARS: usize = 2000;
pub const PROJECT_SEARCH_MAX_CHARS: usize = 100;

/// A project's name: trimmed, single spaces, 1–100 characters, nothing that
/// cannot be shown or that turns text around.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectName(String);

impl ProjectName {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
        match value.chars().count() {
            0 => Err("Enter a name for the project.".into()),
            n if n > PROJECT_NAME_MAX_CHARS => Err(format!(
                "Use at most {PROJECT_NAME_MAX_CHARS} characters for the name."
            )),
            _ if value.chars().any(char::is_control) => {
                Err("The name contains characters that cannot be shown.".into())
            }
            _ if crate::text::has_direction_controls(&value) => Err(
                "The name contains characters that change the direction of text; remove them."
                    .into(),
            ),
            _ => Ok(Self(value)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A project's description: up to 2,000 characters of plain text; line
/// breaks are kept (as `\n`), other control characters are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDescription(String);

impl ProjectDescription {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.replace("\r\n", "\n").replace('\r', "\n");
        let value = value.trim();
        if value.chars().count() > PROJECT_DESCRIPTION_MAX_CHARS {
            return Err(format!(
                "Use at most {PROJECT_DESCRIPTION_MAX_CHARS} characters for the description."
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("The description contains characters that cannot be shown.".into());
        }
        if crate::text::has_direction_controls(value) {
            return Err(
                "The description contains characters that change the direction of text; remove them."
                    .into(),
            );
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod project_tests {
    use super::*;

    #[test]
    fn names_are_tidied_and_bounded() {
        assert_eq!(
            ProjectName::parse("  Q3   launch ").unwrap().as_str(),
            "Q3 launch"
        );
        assert!(ProjectName::parse("   ").is_err());
        assert!(ProjectName::parse(&"x".repeat(101)).is_err());
        assert!(ProjectName::parse(&"é".repeat(100)).is_ok());
        assert!(ProjectName::parse("a\u{202e}b").is_err());
        assert!(ProjectName::parse("a\u{0007}b").is_err());
    }

    #[test]
    fn descriptions_keep_line_breaks_and_refuse_other_controls() {
        let d = ProjectDescription::parse(" one\r\ntwo\n ").unwrap();
        assert_eq!(d.as_str(), "one\ntwo");
        assert!(ProjectDescription::parse("a\u{0000}b").is_err());
        assert!(ProjectDescription::parse("a\u{2066}b").is_err());
        assert!(ProjectDescription::parse(&"x".repeat(2001)).is_err());
        assert_eq!(ProjectDescription::parse("").unwrap().as_str(), "");
    }
}

// end resource: project

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_their_domain_lower_cased() {
        let email = Email::parse("  Jane.Doe@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Jane.Doe@example.com");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn malformed_emails_are_refused_with_a_message() {
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "ja ne@example.com",
            "jane@exa_mple.com",
            "jane@-x.com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn slugs_accept_lowercase_digits_and_inner_hyphens_only() {
        assert!(OrgSlug::parse("acme-2").is_ok());
        assert!(OrgSlug::parse("a").is_err());
        assert!(OrgSlug::parse("Acme").is_err());
        assert!(OrgSlug::parse("-acme").is_err());
        assert!(OrgSlug::parse("acme-").is_err());
        assert!(OrgSlug::parse("ac me").is_err());
        assert!(OrgSlug::parse(&"a".repeat(41)).is_err());
    }

    #[test]
    fn slug_suggestions_are_valid_slugs() {
        assert_eq!(OrgSlug::suggest("Acme, Inc."), "acme-inc");
        assert_eq!(
            OrgSlug::suggest("  Globex   Corporation "),
            "globex-corporation"
        );
        assert_eq!(OrgSlug::suggest("Ünïcode Ltd"), "n-code-ltd");
        assert!(OrgSlug::parse(&OrgSlug::suggest(&"Long name ".repeat(20))).is_ok());
    }

    #[test]
    fn email_domains_are_normalized_and_checked() {
        assert_eq!(
            EmailDomain::parse(" Example.COM. ").unwrap().as_str(),
            "example.com"
        );
        assert_eq!(
            EmailDomain::parse("@acme.co.uk").unwrap().as_str(),
            "acme.co.uk"
        );
        for bad in [
            "",
            "localhost",
            "https://acme.com",
            "acme.com/x",
            "-acme.com",
            "acme..com",
            "10.0.0.1",
            "a_b.com",
        ] {
            assert!(EmailDomain::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_collapse_whitespace_and_have_bounds() {
        assert_eq!(
            DisplayName::parse("  Ada   Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(OrgName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn passwords_have_bounds_and_never_print() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert!(NewPassword::parse("          ").is_err());
        let password = NewPassword::parse("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
