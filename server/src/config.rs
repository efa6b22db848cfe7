//! Configuration, read once from the environment at start-up.
//!
//! Every variable is listed with its meaning in `.env.example`. Outside
//! production, anything unset falls back to a local-development default; in
//! production a missing or malformed required value stops start-up with a
//! message naming the variable.

use app::{
    domain::sso::{DnsServer, SecretKeys},
    state::Environment,
};
use std::{fmt, net::SocketAddr, str::FromStr};

/// A value that must never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The server's whole configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub environment: Environment,
    /// Where the HTTP server listens (`LEPTOS_SITE_ADDR`, shared with cargo-leptos).
    pub listen_addr: SocketAddr,
    /// What people type to reach the app; links in mail are built from it.
    pub public_base_url: String,
    /// The runtime pool's connection: the non-owner, RLS-bound role.
    pub database_url: Secret,
    /// The owner role's connection, used only to run migrations at start-up.
    pub database_owner_url: Secret,
    pub database_max_connections: u32,
    /// `smtp://` or `smtps://` URL; `None` keeps mail in the local outbox.
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    pub seed_demo_data: bool,
    pub log_format: LogFormat,
    /// Where cargo-leptos put the wasm bundle, CSS and public assets.
    pub site_root: String,
    pub reload_port: u32,
    pub session_idle_timeout: std::time::Duration,
    pub session_absolute_timeout: std::time::Duration,
    /// How recent a sign-in (or confirmation) a sensitive action needs.
    pub step_up_window: std::time::Duration,
    /// How many reverse proxies in front of the server append to
    /// X-Forwarded-For; 0 trusts no header and uses the peer address.
    pub trusted_proxy_hops: usize,
    /// Multiplies every rate limit (load tests, browser tests).
    pub rate_limit_multiplier: u32,
    /// How long invitation links work.
    pub invitation_ttl: time::Duration,
    /// Keys sealing SSO client secrets: `id:base64key[,id:base64key…]`,
    /// the first seals, all open.
    pub sso_encryption_keys: Secret,
    /// Who answers DNS look-ups for SSO domain verification.
    pub dns_resolver: DnsServer,
}

/// The key development and test seal SSO secrets with when
/// `SSO_ENCRYPTION_KEYS` is unset. It is public, so production refuses it.
pub const DEV_SSO_KEY: &str = "dev:ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGk=";

/// A configuration problem, naming the variable at fault.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the
    /// process environment. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let environment = match get("APP_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("test") => Environment::Test,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError {
                    variable: "APP_ENV",
                    problem: format!("expected development, test or production, got {other:?}"),
                });
            }
        };
        let production = environment.is_production();

        // In production every one of these must be given explicitly.
        let required = |name: &'static str, dev_default: &str| -> Result<String, ConfigError> {
            match get(name) {
                Some(value) => Ok(value),
                None if production => Err(ConfigError {
                    variable: name,
                    problem: "is required when APP_ENV=production".into(),
                }),
                None => Ok(dev_default.to_string()),
            }
        };

        let listen_addr: SocketAddr = parse(
            "LEPTOS_SITE_ADDR",
            &get("LEPTOS_SITE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into()),
        )?;

        // Development and test mode come with conveniences that are unsafe
        // on a network (the mailbox with live sign-in links, demo accounts
        // with a published password, the published SSO key, identity
        // providers over plain http or on private addresses): they exist
        // only on a loopback address.
        if !production && !listen_addr.ip().is_loopback() {
            return Err(ConfigError {
                variable: "APP_ENV",
                problem: match get("APP_ENV") {
                    None => format!(
                        "is not set, and the server would listen on {listen_addr}, which is not a \
                         loopback address: set APP_ENV=production to serve on a network \
                         (development mode listens on 127.0.0.1 or [::1] only)"
                    ),
                    Some(mode) => format!(
                        "{mode} mode listens on a loopback address only (127.0.0.1 or [::1]), \
                         not on {listen_addr} (LEPTOS_SITE_ADDR): its conveniences would be open \
                         to the network; use APP_ENV=production there"
                    ),
                },
            });
        }

        let public_base_url = required("PUBLIC_BASE_URL", &format!("http://{listen_addr}"))?;
        let public_base_url = public_base_url.trim_end_matches('/').to_string();
        let scheme_ok = if production {
            public_base_url.starts_with("https://")
        } else {
            public_base_url.starts_with("https://") || public_base_url.starts_with("http://")
        };
        if !scheme_ok
            || public_base_url
                .split("://")
                .nth(1)
                .is_none_or(str::is_empty)
        {
            return Err(ConfigError {
                variable: "PUBLIC_BASE_URL",
                problem: if production {
                    "must be an https:// URL in production".into()
                } else {
                    "must be an http:// or https:// URL".into()
                },
            });
        }

        let database_url = required(
            "DATABASE_URL",
            "postgres://app_runtime@127.0.0.1:5432/trellis_dev",
        )?;
        let database_owner_url = required(
            "DATABASE_OWNER_URL",
            "postgres://app_owner@127.0.0.1:5432/trellis_dev",
        )?;
        for (variable, url) in [
            ("DATABASE_URL", &database_url),
            ("DATABASE_OWNER_URL", &database_owner_url),
        ] {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError {
                    variable,
                    problem: "must be a postgres:// URL".into(),
                });
            }
        }
        if database_url == database_owner_url {
            return Err(ConfigError {
                variable: "DATABASE_URL",
                problem:
                    "must log in as the runtime role, not the owner role of DATABASE_OWNER_URL"
                        .into(),
            });
        }

        let database_max_connections: u32 = match get("DATABASE_MAX_CONNECTIONS") {
            Some(v) => parse("DATABASE_MAX_CONNECTIONS", &v)?,
            None => 10,
        };
        if database_max_connections == 0 {
            return Err(ConfigError {
                variable: "DATABASE_MAX_CONNECTIONS",
                problem: "must be at least 1".into(),
            });
        }

        let smtp_url = match get("SMTP_URL") {
            Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
                Some(Secret::new(url))
            }
            Some(_) => {
                return Err(ConfigError {
                    variable: "SMTP_URL",
                    problem: "must be an smtp:// or smtps:// URL".into(),
                });
            }
            None if production => {
                return Err(ConfigError {
                    variable: "SMTP_URL",
                    problem: "is required when APP_ENV=production".into(),
                });
            }
            None => None,
        };
        let mail_from = required("MAIL_FROM", "Trellis <no-reply@trellis.localhost>")?;
        if !mail_from.contains('@') {
            return Err(ConfigError {
                variable: "MAIL_FROM",
                problem: "must be an address such as \"Trellis <no-reply@example.com>\"".into(),
            });
        }

        let seed_demo_data = match get("SEED_DEMO_DATA") {
            Some(v) => parse_bool("SEED_DEMO_DATA", &v)?,
            None => environment == Environment::Development,
        };
        if seed_demo_data && production {
            return Err(ConfigError {
                variable: "SEED_DEMO_DATA",
                problem: "demo accounts with a published password cannot be created in production"
                    .into(),
            });
        }

        let log_format = match get("LOG_FORMAT").as_deref() {
            None if production => LogFormat::Json,
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    variable: "LOG_FORMAT",
                    problem: format!("expected pretty or json, got {other:?}"),
                });
            }
        };

        let site_root = get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into());
        let reload_port = match get("LEPTOS_RELOAD_PORT") {
            Some(v) => parse("LEPTOS_RELOAD_PORT", &v)?,
            None => 3001,
        };

        let minutes =
            |name: &'static str, default: u64| -> Result<std::time::Duration, ConfigError> {
                let value: u64 = match get(name) {
                    Some(v) => parse(name, &v)?,
                    None => default,
                };
                if value == 0 {
                    return Err(ConfigError {
                        variable: name,
                        problem: "must be at least 1".into(),
                    });
                }
                Ok(std::time::Duration::from_secs(value * 60))
            };
        let session_idle_timeout = minutes("SESSION_IDLE_TIMEOUT_MINUTES", 8 * 60)?;
        let session_absolute_timeout = minutes("SESSION_ABSOLUTE_TIMEOUT_MINUTES", 24 * 60)?;
        if session_idle_timeout > session_absolute_timeout {
            return Err(ConfigError {
                variable: "SESSION_IDLE_TIMEOUT_MINUTES",
                problem: "cannot be longer than SESSION_ABSOLUTE_TIMEOUT_MINUTES".into(),
            });
        }
        // 0 asks for the password or a code at every sensitive action.
        let step_up_window = match get("STEP_UP_WINDOW_MINUTES") {
            Some(v) => {
                std::time::Duration::from_secs(parse::<u64>("STEP_UP_WINDOW_MINUTES", &v)? * 60)
            }
            None => std::time::Duration::from_secs(10 * 60),
        };
        if step_up_window > session_absolute_timeout {
            return Err(ConfigError {
                variable: "STEP_UP_WINDOW_MINUTES",
                problem: "cannot be longer than SESSION_ABSOLUTE_TIMEOUT_MINUTES".into(),
            });
        }
        let trusted_proxy_hops: usize = match get("TRUSTED_PROXY_HOPS") {
            Some(v) => parse("TRUSTED_PROXY_HOPS", &v)?,
            None => 0,
        };
        let rate_limit_multiplier: u32 = match get("RATE_LIMIT_MULTIPLIER") {
            Some(v) => parse("RATE_LIMIT_MULTIPLIER", &v)?,
            None => 1,
        };
        if rate_limit_multiplier == 0 {
            return Err(ConfigError {
                variable: "RATE_LIMIT_MULTIPLIER",
                problem: "must be at least 1".into(),
            });
        }

        let invitation_ttl_days: i64 = match get("INVITATION_TTL_DAYS") {
            Some(v) => parse("INVITATION_TTL_DAYS", &v)?,
            None => 7,
        };
        if !(1..=90).contains(&invitation_ttl_days) {
            return Err(ConfigError {
                variable: "INVITATION_TTL_DAYS",
                problem: "must be between 1 and 90".into(),
            });
        }

        let sso_encryption_keys = required("SSO_ENCRYPTION_KEYS", DEV_SSO_KEY)?;
        if let Err(problem) = SecretKeys::parse(&sso_encryption_keys) {
            return Err(ConfigError {
                variable: "SSO_ENCRYPTION_KEYS",
                problem: format!(
                    "{problem}; expected id:base64key[,id:base64key…] with 32-byte keys \
                     (openssl rand -base64 32)"
                ),
            });
        }
        if production && sso_encryption_keys.contains(DEV_SSO_KEY) {
            return Err(ConfigError {
                variable: "SSO_ENCRYPTION_KEYS",
                problem: "the published development key cannot be used in production".into(),
            });
        }
        let dns_resolver = match get("DNS_RESOLVER").as_deref() {
            None | Some("system") => DnsServer::System,
            Some(addr) => DnsServer::At(parse("DNS_RESOLVER", addr)?),
        };

        Ok(Config {
            environment,
            listen_addr,
            public_base_url,
            database_url: Secret::new(database_url),
            database_owner_url: Secret::new(database_owner_url),
            database_max_connections,
            smtp_url,
            mail_from,
            seed_demo_data,
            log_format,
            site_root,
            reload_port,
            session_idle_timeout,
            session_absolute_timeout,
            step_up_window,
            trusted_proxy_hops,
            rate_limit_multiplier,
            invitation_ttl: time::Duration::days(invitation_ttl_days),
            sso_encryption_keys: Secret::new(sso_encryption_keys),
            dns_resolver,
        })
    }
}

fn parse<T: FromStr>(variable: &'static str, value: &str) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    value.parse().map_err(|e: T::Err| ConfigError {
        variable,
        problem: format!("{value:?} is not valid: {e}"),
    })
}

fn parse_bool(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError {
            variable,
            problem: format!("expected true or false, got {value:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    fn production() -> Vec<(&'static str, &'static str)> {
        vec![
            ("APP_ENV", "production"),
            ("PUBLIC_BASE_URL", "https://app.example.com/"),
            ("DATABASE_URL", "postgres://app_runtime:pw@db/app"),
            ("DATABASE_OWNER_URL", "postgres://app_owner:pw@db/app"),
            ("SMTP_URL", "smtp://mail.example.com:587"),
            ("MAIL_FROM", "Example <no-reply@example.com>"),
            (
                "SSO_ENCRYPTION_KEYS",
                "k2:cHJvZHVjdGlvbi1rZXktdHdvLTMyLWJ5dGVzLWxvbmc=,k1:cHJvZHVjdGlvbi1rZXktb25lLTMyLWJ5dGVzLWxvbmc=",
            ),
        ]
    }

    #[test]
    fn nothing_configured_gives_a_working_development_setup() {
        let config = config(&[]).unwrap();
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.public_base_url, "http://127.0.0.1:3000");
        assert!(config.database_url.expose().contains("app_runtime"));
        assert!(config.database_owner_url.expose().contains("app_owner"));
        assert!(config.smtp_url.is_none());
        assert!(config.seed_demo_data);
    }

    #[test]
    fn a_complete_production_configuration_is_accepted() {
        let config = config(&production()).unwrap();
        assert_eq!(config.public_base_url, "https://app.example.com");
        assert!(!config.seed_demo_data);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn production_names_each_missing_required_variable() {
        for missing in [
            "PUBLIC_BASE_URL",
            "DATABASE_URL",
            "DATABASE_OWNER_URL",
            "SMTP_URL",
            "MAIL_FROM",
            "SSO_ENCRYPTION_KEYS",
        ] {
            let vars: Vec<_> = production()
                .into_iter()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = config(&vars).unwrap_err();
            assert_eq!(err.variable, missing);
            assert!(err.to_string().starts_with(missing), "{err}");
        }
    }

    #[test]
    fn malformed_values_are_refused_by_name() {
        let cases: &[(&str, &str)] = &[
            ("APP_ENV", "staging"),
            ("LEPTOS_SITE_ADDR", "localhost"),
            ("DATABASE_MAX_CONNECTIONS", "many"),
            ("SMTP_URL", "mail.example.com"),
            ("SEED_DEMO_DATA", "maybe"),
            ("LOG_FORMAT", "xml"),
            ("SESSION_IDLE_TIMEOUT_MINUTES", "0"),
            ("SESSION_ABSOLUTE_TIMEOUT_MINUTES", "soon"),
            ("TRUSTED_PROXY_HOPS", "-1"),
            ("RATE_LIMIT_MULTIPLIER", "0"),
            ("INVITATION_TTL_DAYS", "0"),
            ("PUBLIC_BASE_URL", "app.example.com"),
            ("SSO_ENCRYPTION_KEYS", "k1:c2hvcnQ="),
            ("SSO_ENCRYPTION_KEYS", "no-colon"),
            ("DNS_RESOLVER", "8.8.8.8"),
        ];
        for (variable, value) in cases {
            let err = config(&[(variable, value)]).unwrap_err();
            assert_eq!(&err.variable, variable, "{err}");
        }
    }

    #[test]
    fn production_refuses_plain_http_and_demo_data() {
        let mut vars = production();
        vars.retain(|(k, _)| *k != "PUBLIC_BASE_URL");
        vars.push(("PUBLIC_BASE_URL", "http://app.example.com"));
        assert_eq!(config(&vars).unwrap_err().variable, "PUBLIC_BASE_URL");

        let mut vars = production();
        vars.push(("SEED_DEMO_DATA", "true"));
        assert_eq!(config(&vars).unwrap_err().variable, "SEED_DEMO_DATA");

        let mut vars = production();
        vars.retain(|(k, _)| *k != "SSO_ENCRYPTION_KEYS");
        vars.push(("SSO_ENCRYPTION_KEYS", DEV_SSO_KEY));
        assert_eq!(config(&vars).unwrap_err().variable, "SSO_ENCRYPTION_KEYS");
    }

    #[test]
    fn development_mode_is_refused_off_loopback() {
        // No APP_ENV on a network address: stops, naming the variable.
        let err = config(&[("LEPTOS_SITE_ADDR", "0.0.0.0:3000")]).unwrap_err();
        assert_eq!(err.variable, "APP_ENV");
        assert!(err.problem.contains("is not set"), "{err}");
        for mode in ["development", "test"] {
            for addr in ["0.0.0.0:3000", "192.168.1.20:3000", "[::]:3000"] {
                let err = config(&[("APP_ENV", mode), ("LEPTOS_SITE_ADDR", addr)]).unwrap_err();
                assert_eq!(err.variable, "APP_ENV", "{mode} on {addr}");
                assert!(err.problem.contains("loopback"), "{err}");
            }
        }
        // Loopback, either family: development works.
        for addr in ["127.0.0.1:3000", "[::1]:3000", "127.0.0.2:3000"] {
            let config = config(&[("LEPTOS_SITE_ADDR", addr)]).unwrap();
            assert_eq!(config.environment, Environment::Development);
        }
        // Production may listen anywhere.
        let mut vars = production();
        vars.push(("LEPTOS_SITE_ADDR", "0.0.0.0:3000"));
        assert!(config(&vars).is_ok());
    }

    #[test]
    fn the_dns_resolver_is_the_system_one_unless_an_address_is_given() {
        assert_eq!(config(&[]).unwrap().dns_resolver, DnsServer::System);
        let config = config(&[("DNS_RESOLVER", "127.0.0.1:5353")]).unwrap();
        assert_eq!(
            config.dns_resolver,
            DnsServer::At("127.0.0.1:5353".parse().unwrap())
        );
    }

    #[test]
    fn the_runtime_pool_may_not_log_in_as_the_owner() {
        let url = "postgres://app_owner@127.0.0.1/x";
        let err = config(&[("DATABASE_URL", url), ("DATABASE_OWNER_URL", url)]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
    }

    #[test]
    fn secrets_do_not_print() {
        let config = config(&production()).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains(":pw@"), "{printed}");
    }
}
