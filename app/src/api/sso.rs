//! Server functions of the single sign-on settings page (owners and
//! admins: `Permission::ManageSso`).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::context::{
        act_in_org_confirmed, counts_under_required_sso, in_org, in_org_confirmed, session_ended,
        session_error, with_ctx,
    },
    super::navigation::redirect,
    crate::{
        domain::{
            session, sessions,
            sso::{connection, domains, notify, oidc},
        },
        roles::{Permission, Role},
        validation::EmailDomain,
    },
};

/// The connection as the settings page shows it: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub issuer_url: String,
    pub client_id: String,
    pub default_role: String,
    pub trust_unverified_email: bool,
    pub tested_ok: bool,
    pub enabled: bool,
    pub enforced: bool,
    /// When the last test ran ("today", …), and what it found.
    pub last_test: Option<TestReport>,
    /// The connection's redirect URI moved to its own (when, as a date):
    /// the provider must be told the new one. Cleared by a successful test.
    pub redirect_uri_moved: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    pub when: String,
    pub ok: bool,
    /// (claim, value) pairs the provider returned.
    pub claims: Vec<(String, String)>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainView {
    pub id: String,
    pub domain: String,
    pub verified: bool,
    pub record_name: String,
    pub record_value: String,
    pub last_check_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSettings {
    pub slug: String,
    pub org_name: String,
    /// What to register at the provider as the redirect (callback) URI:
    /// this connection's own, known before it is first saved.
    pub redirect_uri: String,
    pub connection: Option<ConnectionView>,
    pub domains: Vec<DomainView>,
}

#[server(prefix = "/api", endpoint = "sso/get")]
pub async fn get_sso_settings(slug: String) -> Result<SsoSettings, AppError> {
    in_org(&slug, Permission::ManageSso, async |ctx, tx| {
        let org_name = tx.org().name.clone();
        let stored = connection::load(tx).await?;
        let connection_id = stored
            .as_ref()
            .map(|c| c.id)
            .unwrap_or_else(|| connection::id_for_new(tx.org_id()));
        let connection = stored.map(|c| ConnectionView {
            issuer_url: c.issuer_url.clone(),
            client_id: c.client_id.clone(),
            default_role: c.default_role.as_str().to_string(),
            trust_unverified_email: c.trust_unverified_email,
            tested_ok: c.tested_ok_at.is_some(),
            enabled: c.enabled,
            enforced: c.enforced,
            last_test: c
                .last_test_at
                .map(|at| report(at, c.last_test_report.as_ref())),
            redirect_uri_moved: c.redirect_uri_changed_at.map(|at| at.date().to_string()),
        });
        let domains = domains::list(tx)
            .await?
            .into_iter()
            .map(|d| DomainView {
                id: d.id.to_string(),
                record_name: domains::record_name(&d.domain),
                record_value: domains::record_value(&d.token),
                verified: d.verified_at.is_some(),
                last_check_error: d.last_check_error,
                domain: d.domain,
            })
            .collect();
        Ok(SsoSettings {
            slug: slug.trim().to_string(),
            org_name,
            redirect_uri: oidc::redirect_uri(ctx.base_url(), connection_id),
            connection,
            domains,
        })
    })
    .await
}

#[cfg(feature = "ssr")]
fn report(at: time::OffsetDateTime, stored: Option<&serde_json::Value>) -> TestReport {
    let ok = stored.and_then(|r| r["ok"].as_bool()).unwrap_or(false);
    let claims = stored
        .and_then(|r| r["claims"].as_object())
        .map(|claims| {
            ["subject", "email", "email_verified", "name"]
                .into_iter()
                .map(|key| {
                    let value = match &claims.get(key) {
                        None | Some(serde_json::Value::Null) => "(not sent)".to_string(),
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                    };
                    (key.to_string(), value)
                })
                .collect()
        })
        .unwrap_or_default();
    TestReport {
        when: format!(
            "{} at {:02}:{:02} UTC",
            super::context::when(at),
            at.hour(),
            at.minute()
        ),
        ok,
        claims,
        error: stored.and_then(|r| r["error"].as_str()).map(str::to_string),
    }
}

/// Creates or updates the connection; the provider is discovered first.
/// An empty `client_secret` keeps the stored one.
#[server(prefix = "/api", endpoint = "sso/save")]
pub async fn save_sso_connection(
    slug: String,
    issuer_url: String,
    client_id: String,
    client_secret: Option<String>,
    default_role: String,
    trust_unverified_email: Option<String>,
    reauth: Option<String>,
) -> Result<(), AppError> {
    let keep = [
        ("issuer_url", issuer_url.clone()),
        ("client_id", client_id.clone()),
    ];
    let keep: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (*k, v.as_str())).collect();
    in_org_confirmed(
        &slug,
        Permission::ManageSso,
        reauth.as_deref(),
        &keep,
        async |ctx, tx| {
            let default_role = Role::parse(&default_role).map_err(|_| {
                AppError::field("default_role", "Choose admin, member or viewer.").keeping(&keep)
            })?;
            let change = connection::save(
                tx,
                &ctx.meta,
                &ctx.state.sso,
                connection::Settings {
                    issuer_url,
                    client_id,
                    client_secret,
                    default_role,
                    trust_unverified_email: trust_unverified_email.is_some(),
                },
            )
            .await?;
            notify::tell_admins(tx, ctx.base_url(), &change).await?;
            redirect(&format!("/o/{}/sso?notice=saved", slug.trim()));
            Ok(())
        },
    )
    .await
}

/// Turns single sign-on on (after a successful test) or off.
#[server(prefix = "/api", endpoint = "sso/enable")]
pub async fn set_sso_enabled(
    slug: String,
    on: bool,
    reauth: Option<String>,
) -> Result<(), AppError> {
    in_org_confirmed(
        &slug,
        Permission::ManageSso,
        reauth.as_deref(),
        &[],
        async |ctx, tx| {
            if connection::set_enabled(tx, &ctx.meta, on).await? {
                let change = if on {
                    "turned single sign-on on"
                } else {
                    "turned single sign-on off"
                };
                notify::tell_admins(tx, ctx.base_url(), change).await?;
            }
            redirect(&format!(
                "/o/{}/sso?notice={}",
                slug.trim(),
                if on { "enabled" } else { "disabled" }
            ));
            Ok(())
        },
    )
    .await
}

/// Makes single sign-on the only way in (or optional again).
#[server(prefix = "/api", endpoint = "sso/enforce")]
pub async fn set_sso_enforced(
    slug: String,
    on: bool,
    reauth: Option<String>,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let own_session_ends = act_in_org_confirmed(
            &ctx,
            &slug,
            Permission::ManageSso,
            reauth.as_deref(),
            &[],
            async |ctx, tx| {
            if connection::set_enforced(tx, &ctx.meta, on).await? {
                let change = if on {
                    "made single sign-on the only way to sign in (sessions that signed in another way have ended)"
                } else {
                    "made single sign-on optional: passwords and emailed links work again"
                };
                notify::tell_admins(tx, ctx.base_url(), change).await?;
            }
            // The admin's own session ends with the others when it did not
            // sign in through the provider: they sign in again through it.
            let current = session::org_session(&ctx.session)
                .await
                .map_err(session_error)?
                .ok_or(AppError::Unauthenticated)?;
            let own_session_ends = on && !counts_under_required_sso(&current, tx.actor().role);
            if own_session_ends {
                session_ended(tx, &ctx.meta, &current, sessions::EndReason::SsoRequired).await?;
            }
            Ok(own_session_ends)
            },
        )
        .await?;
        if own_session_ends {
            session::end(&ctx.session).await.map_err(session_error)?;
            redirect(&format!("/o/{}/login?sso_now_required=1", slug.trim()));
            return Ok(());
        }
        redirect(&format!(
            "/o/{}/sso?notice={}",
            slug.trim(),
            if on { "enforced" } else { "unenforced" }
        ));
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "sso/domains/add")]
pub async fn add_sso_domain(
    slug: String,
    domain: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    let keep = [("domain", domain.as_str())];
    in_org_confirmed(
        &slug,
        Permission::ManageSso,
        reauth.as_deref(),
        &keep,
        async |ctx, tx| {
            let parsed = EmailDomain::parse(&domain)
                .map_err(|m| AppError::field("domain", m).keeping(&keep))?;
            domains::add(tx, &ctx.meta, &parsed)
                .await
                .map_err(|e| e.keeping(&keep))?;
            let change = format!("added the email domain {}", parsed.as_str());
            notify::tell_admins(tx, ctx.base_url(), &change).await?;
            redirect(&format!(
                "/o/{}/sso?notice=domain_added#domains",
                slug.trim()
            ));
            Ok(())
        },
    )
    .await
}

/// Looks for the domain's TXT record now. A failed look-up is recorded and
/// reported on the page; it is not an error of the request.
#[server(prefix = "/api", endpoint = "sso/domains/verify")]
pub async fn verify_sso_domain(
    slug: String,
    domain_id: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    let keep = [("domain_id", domain_id.as_str())];
    in_org_confirmed(&slug, Permission::ManageSso, reauth.as_deref(), &keep, async |ctx, tx| {
        let id = uuid::Uuid::try_parse(domain_id.trim()).map_err(|_| AppError::NotFound)?;
        let outcome = domains::verify(tx, &ctx.meta, &ctx.state.sso, id).await?;
        if let Ok(Some(domain)) = &outcome {
            let change = format!(
                "verified the email domain {domain}: people of it now join through single sign-on"
            );
            notify::tell_admins(tx, ctx.base_url(), &change).await?;
        }
        let notice = if outcome.is_ok() {
            "domain_verified"
        } else {
            "domain_not_verified"
        };
        redirect(&format!("/o/{}/sso?notice={notice}#domains", slug.trim()));
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "sso/domains/remove")]
pub async fn remove_sso_domain(
    slug: String,
    domain_id: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    let keep = [("domain_id", domain_id.as_str())];
    in_org_confirmed(
        &slug,
        Permission::ManageSso,
        reauth.as_deref(),
        &keep,
        async |ctx, tx| {
            let id = uuid::Uuid::try_parse(domain_id.trim()).map_err(|_| AppError::NotFound)?;
            let removed = domains::remove(tx, &ctx.meta, id).await?;
            let change = format!("removed the email domain {removed}");
            notify::tell_admins(tx, ctx.base_url(), &change).await?;
            redirect(&format!(
                "/o/{}/sso?notice=domain_removed#domains",
                slug.trim()
            ));
            Ok(())
        },
    )
    .await
}
