//! An organization's SSO connection: saved only after discovery succeeds,
//! enabled only after a successful test, enforced only while enabled.
//!
//! The client secret is sealed together with the issuer and client id it
//! was entered for, so changing either needs the secret again and a stored
//! secret is only ever sent to the provider it was given for. Changing them
//! also forgets the identities the connection linked (see `identity`).

use super::{
    identity,
    oidc::{self, Claims, DiscoveryProblem, Endpoint},
    runtime::SsoRuntime,
};
use crate::{
    audit::AuditAction,
    domain::{
        audit::{self, Event},
        request::RequestMeta,
        tenancy::OrgTx,
    },
    error::AppError,
    ids::OrgId,
    roles::Role,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// The id an organization's connection gets when it is first saved. It is
/// known before then, so the settings page can show the redirect URI (which
/// names it) to register at the provider before the admin has a client id.
pub fn id_for_new(org_id: OrgId) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest =
        Sha256::digest([b"trellis sso connection ".as_slice(), org_id.0.as_bytes()].concat());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

/// What a sealed secret was entered for: it opens only for the same pair.
fn secret_purpose(issuer: &str, client_id: &str) -> Vec<u8> {
    format!("oidc client secret\n{issuer}\n{client_id}").into_bytes()
}

/// The stored connection (the secret stays sealed).
#[derive(Clone, Debug)]
pub struct Connection {
    pub id: Uuid,
    pub issuer_url: String,
    pub client_id: String,
    sealed_secret: Vec<u8>,
    key_id: String,
    /// Sealed for (issuer, client id); false for secrets sealed before.
    secret_bound: bool,
    pub default_role: Role,
    pub trust_unverified_email: bool,
    pub tested_ok_at: Option<OffsetDateTime>,
    pub enabled: bool,
    pub enforced: bool,
    pub last_test_at: Option<OffsetDateTime>,
    pub last_test_report: Option<serde_json::Value>,
    /// When an existing connection's redirect URI moved to its own; the
    /// settings page asks to register it until a test succeeds.
    pub redirect_uri_changed_at: Option<OffsetDateTime>,
}

impl Connection {
    /// The client secret, opened for this connection's issuer and client id
    /// only: after either changed, it does not open.
    pub fn secret(&self, rt: &SsoRuntime) -> Result<String, super::crypto::OpenError> {
        let purpose = if self.secret_bound {
            secret_purpose(&self.issuer_url, &self.client_id)
        } else {
            Vec::new()
        };
        rt.keys.open(&self.key_id, &self.sealed_secret, &purpose)
    }

    /// Sealed by an older key, or before secrets were bound to their
    /// issuer: [`reseal_if_old`] has work to do.
    pub fn needs_reseal(&self, rt: &SsoRuntime) -> bool {
        self.key_id != rt.keys.current_id() || !self.secret_bound
    }

    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            connection_id: self.id,
            issuer: &self.issuer_url,
            client_id: &self.client_id,
        }
    }
}

/// The organization's connection, if it has one.
pub async fn load(tx: &mut OrgTx) -> Result<Option<Connection>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select sso_connection_id, issuer_url, client_id, client_secret_sealed, client_secret_key_id,
               client_secret_bound, default_role as "default_role: Role", trust_unverified_email, last_test_succeeded_at,
               enabled_at, enforced, last_test_at, last_test_report, redirect_uri_changed_at
        from sso_connection where org_id = $1
        "#,
        tx.org_id().0
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Connection {
        id: r.sso_connection_id,
        issuer_url: r.issuer_url,
        client_id: r.client_id,
        sealed_secret: r.client_secret_sealed,
        key_id: r.client_secret_key_id,
        secret_bound: r.client_secret_bound,
        default_role: r.default_role,
        trust_unverified_email: r.trust_unverified_email,
        tested_ok_at: r.last_test_succeeded_at,
        enabled: r.enabled_at.is_some(),
        enforced: r.enforced,
        last_test_at: r.last_test_at,
        last_test_report: r.last_test_report,
        redirect_uri_changed_at: r.redirect_uri_changed_at,
    }))
}

/// What an admin submits.
pub struct Settings {
    pub issuer_url: String,
    pub client_id: String,
    /// `None` keeps the stored secret (only while the issuer and client id
    /// stay the same).
    pub client_secret: Option<String>,
    pub default_role: Role,
    pub trust_unverified_email: bool,
}

/// Saves the connection after discovering the provider. Changing the issuer
/// or the client id needs the secret again, turns the connection off until
/// it is tested again, and forgets the identities it linked.
#[tracing::instrument(skip_all)]
pub async fn save(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    rt: &SsoRuntime,
    settings: Settings,
) -> Result<String, AppError> {
    let issuer = settings.issuer_url.trim().trim_end_matches('/').to_string();
    let client_id = settings.client_id.trim().to_string();
    let mut v = crate::error::Validator::new();
    if issuer.is_empty() {
        v.add(
            "issuer_url",
            "Enter the issuer URL of your identity provider.",
        );
    } else if issuer.len() > 500 {
        v.add("issuer_url", "That URL is too long.");
    }
    if client_id.is_empty() {
        v.add("client_id", "Enter the client id the provider gave you.");
    } else if client_id.len() > 500 {
        v.add("client_id", "That client id is too long.");
    }
    if settings
        .client_secret
        .as_ref()
        .is_some_and(|s| s.len() > 2000)
    {
        v.add("client_secret", "That client secret is too long.");
    }
    if settings.default_role == Role::Owner {
        v.add(
            "default_role",
            "Single sign-on cannot make people owners; choose admin, member or viewer.",
        );
    }
    let keep = [
        ("issuer_url", issuer.as_str()),
        ("client_id", client_id.as_str()),
    ];
    v.finish().map_err(|e| e.keeping(&keep))?;

    let existing = load(tx).await?;
    let new_secret = settings.client_secret.filter(|s| !s.trim().is_empty());
    if existing.is_none() && new_secret.is_none() {
        return Err(AppError::field(
            "client_secret",
            "Enter the client secret the provider gave you.",
        )
        .keeping(&keep));
    }
    // The issuer as the provider spells it (with or without the trailing slash).
    let discovered_issuer = match oidc::discover(rt, &settings.issuer_url).await {
        Ok(metadata) => metadata.issuer().as_str().to_string(),
        Err(DiscoveryProblem::IssuerMismatch(why))
            if !settings.issuer_url.trim().ends_with('/') =>
        {
            match oidc::discover(rt, &format!("{issuer}/")).await {
                Ok(metadata) => metadata.issuer().as_str().to_string(),
                Err(_) => {
                    return Err(AppError::field(
                        "issuer_url",
                        DiscoveryProblem::IssuerMismatch(why).message(),
                    )
                    .keeping(&keep));
                }
            }
        }
        Err(problem) => return Err(AppError::field("issuer_url", problem.message()).keeping(&keep)),
    };

    let identity_changed = existing
        .as_ref()
        .is_some_and(|c| c.issuer_url != discovered_issuer || c.client_id != client_id);
    if identity_changed && new_secret.is_none() {
        return Err(AppError::field(
            "client_secret",
            "The issuer or client id changed, so enter the client secret for it again: a stored secret is only \
             ever sent to the provider it was entered for.",
        )
        .keeping(&keep));
    }
    let (key_id, sealed) = match &new_secret {
        Some(secret) => {
            let (id, sealed) = rt.keys.seal(
                secret.trim(),
                &secret_purpose(&discovered_issuer, &client_id),
            );
            (Some(id), Some(sealed))
        }
        None => (None, None),
    };
    let org_id = tx.org_id().0;
    match &existing {
        None => {
            let (key_id, sealed) = (
                key_id.clone().expect("checked"),
                sealed.clone().expect("checked"),
            );
            sqlx::query!(
                r#"
                insert into sso_connection (org_id, sso_connection_id, issuer_url, client_id, client_secret_sealed,
                                            client_secret_key_id, client_secret_bound, default_role,
                                            trust_unverified_email)
                values ($1, $2, $3, $4, $5, $6, true, $7, $8)
                "#,
                org_id,
                id_for_new(tx.org_id()),
                discovered_issuer,
                client_id,
                sealed,
                key_id,
                settings.default_role.as_str(),
                settings.trust_unverified_email,
            )
            .execute(tx.conn())
            .await?;
        }
        Some(_) => {
            sqlx::query!(
                r#"
                update sso_connection set
                    issuer_url = $2,
                    client_id = $3,
                    client_secret_sealed = coalesce($4, client_secret_sealed),
                    client_secret_key_id = coalesce($5, client_secret_key_id),
                    client_secret_bound = client_secret_bound or $4 is not null,
                    default_role = $6,
                    trust_unverified_email = $7,
                    last_test_succeeded_at = case when $8 then null else last_test_succeeded_at end,
                    enabled_at = case when $8 then null else enabled_at end,
                    enforced = case when $8 then false else enforced end,
                    sso_sessions_valid_after = case when $8 then now() else sso_sessions_valid_after end
                where org_id = $1
                "#,
                org_id,
                discovered_issuer,
                client_id,
                sealed,
                key_id,
                settings.default_role.as_str(),
                settings.trust_unverified_email,
                identity_changed,
            )
            .execute(tx.conn())
            .await?;
        }
    }
    let links_forgotten = match &existing {
        Some(c) if identity_changed => identity::forget_all(tx, c.id).await?,
        _ => 0,
    };
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::SsoConnectionSaved).details(serde_json::json!({
            "links_forgotten": links_forgotten,
            "sso_sessions_ended": identity_changed,
            "issuer": discovered_issuer,
            "client_id": client_id,
            "secret_changed": new_secret.is_some(),
            "default_role": settings.default_role.as_str(),
            "trust_unverified_email": settings.trust_unverified_email,
            "turned_off_for_retest": identity_changed && existing.as_ref().is_some_and(|c| c.enabled),
        })),
    )
    .await?;
    // What the owners and admins are told (read after the actor's name).
    Ok(match &existing {
        None => format!(
            "connected the organization to the identity provider {discovered_issuer} (client id {client_id})"
        ),
        Some(_) if identity_changed => format!(
            "changed the identity provider to {discovered_issuer} (client id {client_id}); single sign-on is off until it is tested again"
        ),
        Some(_) => format!(
            "changed the single sign-on connection to {discovered_issuer} (client id {client_id}{})",
            if new_secret.is_some() {
                ", new client secret"
            } else {
                ""
            }
        ),
    })
}

/// Records the outcome of "Test connection" (claims or the error; never tokens).
pub async fn record_test(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    outcome: &Result<Claims, String>,
) -> Result<(), sqlx::Error> {
    let report = match outcome {
        Ok(claims) => serde_json::json!({ "ok": true, "claims": claims }),
        Err(error) => serde_json::json!({ "ok": false, "error": error }),
    };
    sqlx::query!(
        r#"
        update sso_connection set
            last_test_at = now(),
            last_test_report = $2,
            last_test_succeeded_at = case when $3 then now() else last_test_succeeded_at end,
            redirect_uri_changed_at = case when $3 then null else redirect_uri_changed_at end
        where org_id = $1
        "#,
        tx.org_id().0,
        report,
        outcome.is_ok(),
    )
    .execute(tx.conn())
    .await?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::SsoConnectionTested).details(report),
    )
    .await
}

/// Turns the connection on or off (true when that changed anything). On
/// needs a successful test since the issuer or client id last changed; off
/// also ends enforcement.
#[tracing::instrument(skip_all)]
pub async fn set_enabled(tx: &mut OrgTx, meta: &RequestMeta, on: bool) -> Result<bool, AppError> {
    let connection = load(tx)
        .await?
        .ok_or_else(|| AppError::Conflict("Set up the connection first.".into()))?;
    if on == connection.enabled {
        return Ok(false);
    }
    if on && connection.tested_ok_at.is_none() {
        return Err(AppError::Conflict(
            "Test the connection successfully before turning it on.".into(),
        ));
    }
    sqlx::query!(
        "update sso_connection set enabled_at = case when $2 then now() end, enforced = enforced and $2 where org_id = $1",
        tx.org_id().0,
        on
    )
    .execute(tx.conn())
    .await?;
    let action = if on {
        AuditAction::SsoEnabled
    } else {
        AuditAction::SsoDisabled
    };
    audit::record(
        tx,
        meta,
        Event::new(action).details(serde_json::json!({ "issuer": connection.issuer_url })),
    )
    .await?;
    if !on && connection.enforced {
        audit::record(tx, meta, Event::new(AuditAction::SsoUnenforced)).await?;
    }
    Ok(true)
}

/// Makes SSO mandatory (or optional again) for signing in to the org (true
/// when that changed anything). Sessions of the org that did not sign in
/// through SSO end at their next request (owners' break-glass sessions
/// excepted): the membership check reads the requirement every time.
#[tracing::instrument(skip_all)]
pub async fn set_enforced(tx: &mut OrgTx, meta: &RequestMeta, on: bool) -> Result<bool, AppError> {
    let connection = load(tx)
        .await?
        .ok_or_else(|| AppError::Conflict("Set up the connection first.".into()))?;
    if on == connection.enforced {
        return Ok(false);
    }
    if on && !connection.enabled {
        return Err(AppError::Conflict(
            "Turn single sign-on on before making it mandatory.".into(),
        ));
    }
    sqlx::query!(
        "update sso_connection set enforced = $2 where org_id = $1",
        tx.org_id().0,
        on
    )
    .execute(tx.conn())
    .await?;
    let event = if on {
        Event::new(AuditAction::SsoEnforced).details(serde_json::json!({
            "sessions": "password and emailed-link sessions end at their next request; single sign-on and owners' break-glass sessions stay",
        }))
    } else {
        Event::new(AuditAction::SsoUnenforced)
    };
    audit::record(tx, meta, event).await?;
    Ok(true)
}

/// Re-seals the secret with the current key if an older key sealed it (so
/// keys rotate as connections are used), and binds a secret sealed before
/// secrets were bound to their issuer to the one it has just worked with.
pub async fn reseal_if_old(
    tx: &mut OrgTx,
    rt: &SsoRuntime,
    connection: &Connection,
    secret: &str,
) -> Result<(), sqlx::Error> {
    if !connection.needs_reseal(rt) {
        return Ok(());
    }
    let (key_id, sealed) = rt.keys.seal(
        secret,
        &secret_purpose(&connection.issuer_url, &connection.client_id),
    );
    sqlx::query!(
        "update sso_connection set client_secret_sealed = $2, client_secret_key_id = $3, client_secret_bound = true
         where org_id = $1 and sso_connection_id = $4",
        tx.org_id().0,
        sealed,
        key_id,
        connection.id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
