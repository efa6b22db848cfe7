//! Email domains an organization claims. A domain counts only once the
//! organization has proved control of it with a DNS TXT record; only then
//! does it route `/login` to the org's provider and admit new people
//! just in time.

use super::runtime::SsoRuntime;
use crate::{
    audit::AuditAction,
    domain::{
        audit::{self, Event, Target},
        db::violated_constraint,
        request::RequestMeta,
        tenancy::OrgTx,
    },
    error::AppError,
    validation::EmailDomain,
};
use rand::RngCore;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where the proof lives: a TXT record on this name…
pub fn record_name(domain: &str) -> String {
    format!("_trellis-verification.{domain}")
}

/// …with this value.
pub fn record_value(token: &str) -> String {
    format!("trellis-verification={token}")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub id: Uuid,
    pub domain: String,
    pub token: String,
    pub verified_at: Option<OffsetDateTime>,
    pub last_checked_at: Option<OffsetDateTime>,
    pub last_check_error: Option<String>,
}

pub async fn list(tx: &mut OrgTx) -> Result<Vec<Domain>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        select sso_domain_id, domain, verification_token, verified_at, last_checked_at, last_check_error
        from sso_domain where org_id = $1 order by domain
        "#,
        tx.org_id().0
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Domain {
            id: r.sso_domain_id,
            domain: r.domain,
            token: r.verification_token,
            verified_at: r.verified_at,
            last_checked_at: r.last_checked_at,
            last_check_error: r.last_check_error,
        })
        .collect())
}

fn target(id: Uuid, domain: &str) -> Target {
    Target {
        kind: "domain",
        id: id.to_string(),
        label: domain.to_string(),
    }
}

/// Claims a domain (unverified until its TXT record is found).
#[tracing::instrument(skip_all)]
pub async fn add(tx: &mut OrgTx, meta: &RequestMeta, domain: &EmailDomain) -> Result<(), AppError> {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let id = Uuid::now_v7();
    let inserted = sqlx::query!(
        "insert into sso_domain (org_id, sso_domain_id, domain, verification_token) values ($1, $2, $3, $4)",
        tx.org_id().0,
        id,
        domain.as_str(),
        token,
    )
    .execute(tx.conn())
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if violated_constraint(&e) == Some("sso_domain_org_domain_key") => {
            return Err(AppError::field(
                "domain",
                format!("{} is already in the list.", domain.as_str()),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::SsoDomainAdded).target(target(id, domain.as_str())),
    )
    .await?;
    Ok(())
}

/// Looks for the domain's TXT record now. `Ok(Err(message))` says why it
/// is not verified; the attempt is recorded either way. `Ok(Ok(Some(domain)))`
/// when it has just been verified, `Ok(Ok(None))` when it was already.
#[tracing::instrument(skip_all)]
pub async fn verify(
    tx: &mut OrgTx,
    meta: &RequestMeta,
    rt: &SsoRuntime,
    id: Uuid,
) -> Result<Result<Option<String>, String>, AppError> {
    let row = sqlx::query!(
        "select domain, verification_token, verified_at from sso_domain where org_id = $1 and sso_domain_id = $2 for update",
        tx.org_id().0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or(AppError::NotFound)?;
    if row.verified_at.is_some() {
        return Ok(Ok(None));
    }
    let name = record_name(&row.domain);
    let expected = record_value(&row.verification_token);
    let found = match rt.dns.txt_lookup(format!("{name}.")).await {
        Ok(lookup) => {
            let values: Vec<String> = lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    hickory_resolver::proto::rr::RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part).into_owned())
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect();
            if values.iter().any(|v| v.trim() == expected) {
                Ok(())
            } else if values.is_empty() {
                Err(format!(
                    "No TXT record was found at {name}. DNS changes can take a while to appear; try again later."
                ))
            } else {
                Err(format!("{name} has TXT records, but none is {expected}."))
            }
        }
        Err(error) if error.is_no_records_found() || error.is_nx_domain() => Err(format!(
            "No TXT record was found at {name}. DNS changes can take a while to appear; try again later."
        )),
        Err(error) => Err(format!(
            "The DNS look-up of {name} failed ({error}). Try again later."
        )),
    };
    let org_id = tx.org_id().0;
    match &found {
        Ok(()) => {
            let marked = sqlx::query!(
                "update sso_domain set verified_at = now(), last_checked_at = now(), last_check_error = null
                 where org_id = $1 and sso_domain_id = $2",
                org_id,
                id
            )
            .execute(tx.conn())
            .await;
            match marked {
                Ok(_) => {}
                Err(e) if violated_constraint(&e) == Some("sso_domain_verified_key") => {
                    return Err(AppError::Conflict(format!(
                        "{} is already verified by another organization. Contact support if it is yours.",
                        row.domain
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            audit::record(
                tx,
                meta,
                Event::new(AuditAction::SsoDomainVerified).target(target(id, &row.domain)),
            )
            .await?;
        }
        Err(problem) => {
            sqlx::query!(
                "update sso_domain set last_checked_at = now(), last_check_error = $3 where org_id = $1 and sso_domain_id = $2",
                org_id,
                id,
                problem
            )
            .execute(tx.conn())
            .await?;
            audit::record(
                tx,
                meta,
                Event::new(AuditAction::SsoDomainCheckFailed)
                    .target(target(id, &row.domain))
                    .details(serde_json::json!({ "reason": problem })),
            )
            .await?;
        }
    }
    Ok(found.map(|()| Some(row.domain)))
}

#[tracing::instrument(skip_all)]
pub async fn remove(tx: &mut OrgTx, meta: &RequestMeta, id: Uuid) -> Result<String, AppError> {
    let domain = sqlx::query_scalar!(
        "delete from sso_domain where org_id = $1 and sso_domain_id = $2 returning domain",
        tx.org_id().0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or(AppError::NotFound)?;
    audit::record(
        tx,
        meta,
        Event::new(AuditAction::SsoDomainRemoved).target(target(id, &domain)),
    )
    .await?;
    Ok(domain)
}

/// Whether `domain` is a verified domain of the transaction's org.
pub async fn is_verified(tx: &mut OrgTx, domain: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from sso_domain where org_id = $1 and domain = $2 and verified_at is not null) as "x!""#,
        tx.org_id().0,
        domain
    )
    .fetch_one(tx.conn())
    .await
}
