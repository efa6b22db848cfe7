//! Rate limits in PostgreSQL, so every server process counts against the
//! same buckets. Fixed windows: a bucket allows `limit` hits per `window`,
//! then answers "try again in N seconds" until the window ends.

use super::db::Db;
use crate::error::AppError;
use std::time::Duration;

/// One limit: at most `limit` hits per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub limit: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn per(limit: u32, window: Duration) -> Self {
        Self { limit, window }
    }
}

/// Every limit the application applies. Tests use smaller windows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Sign-in attempts (password or link) from one client address.
    pub sign_in_per_ip: Limit,
    /// Failed sign-ins for one account from one client address: an
    /// attacker's failures throttle the attacker, not the account's owner.
    pub sign_in_failures_per_account: Limit,
    /// Failed sign-ins for one account from anywhere: a slower ceiling
    /// against guessing from many addresses (an emailed link still works).
    pub sign_in_failures_per_account_anywhere: Limit,
    /// Sign-ups from one client address.
    pub sign_up_per_ip: Limit,
    /// Mails that can be requested (reset, sign-in link) from one address…
    pub email_requests_per_ip: Limit,
    /// …and to one mailbox from one address…
    pub email_requests_per_account: Limit,
    /// …and to one mailbox from anywhere (so that requests from another
    /// address cannot stop the owner of the mailbox from asking).
    pub email_requests_per_account_anywhere: Limit,
    /// SSO callbacks from one address that belong to no sign-in under way
    /// in their browser; a burst of them is recorded once.
    pub stray_sso_callbacks_per_ip: Limit,
    /// Wrong second-factor codes (authenticator or recovery) for one
    /// account, from anywhere: the account is then locked out of the
    /// second step until the window ends (codes are only six digits).
    pub second_factor_failures_per_account: Limit,
    /// Invitation mails (new and resent) one member may send…
    pub invitations_per_inviter: Limit,
    /// …and one organization, whoever sends them.
    pub invitations_per_org: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        const MINUTE: Duration = Duration::from_secs(60);
        Self {
            sign_in_per_ip: Limit::per(30, 10 * MINUTE),
            sign_in_failures_per_account: Limit::per(10, 15 * MINUTE),
            sign_in_failures_per_account_anywhere: Limit::per(100, 60 * MINUTE),
            sign_up_per_ip: Limit::per(10, 60 * MINUTE),
            email_requests_per_ip: Limit::per(20, 60 * MINUTE),
            email_requests_per_account: Limit::per(5, 60 * MINUTE),
            email_requests_per_account_anywhere: Limit::per(30, 60 * MINUTE),
            stray_sso_callbacks_per_ip: Limit::per(20, 10 * MINUTE),
            second_factor_failures_per_account: Limit::per(5, 15 * MINUTE),
            invitations_per_inviter: Limit::per(100, 60 * MINUTE),
            invitations_per_org: Limit::per(300, 60 * MINUTE),
        }
    }
}

impl RateLimits {
    /// Every limit multiplied by `factor` (load tests, browser tests).
    pub fn scaled(self, factor: u32) -> Self {
        let scale = |l: Limit| Limit::per(l.limit.saturating_mul(factor), l.window);
        Self {
            sign_in_per_ip: scale(self.sign_in_per_ip),
            sign_in_failures_per_account: scale(self.sign_in_failures_per_account),
            sign_in_failures_per_account_anywhere: scale(
                self.sign_in_failures_per_account_anywhere,
            ),
            sign_up_per_ip: scale(self.sign_up_per_ip),
            email_requests_per_ip: scale(self.email_requests_per_ip),
            email_requests_per_account: scale(self.email_requests_per_account),
            email_requests_per_account_anywhere: scale(self.email_requests_per_account_anywhere),
            stray_sso_callbacks_per_ip: scale(self.stray_sso_callbacks_per_ip),
            second_factor_failures_per_account: scale(self.second_factor_failures_per_account),
            invitations_per_inviter: scale(self.invitations_per_inviter),
            invitations_per_org: scale(self.invitations_per_org),
        }
    }
}

/// The client's address as a rate limit counts it: an IPv6 client is its
/// /64 (one subscriber holds the whole prefix, so counting single addresses
/// would let them rotate through it).
pub fn client_network(ip: Option<std::net::IpAddr>) -> String {
    match ip {
        Some(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Some(ip) => ip.to_string(),
        None => "unknown".to_string(),
    }
}

/// Counts one hit against `bucket`; refuses with the seconds left in the
/// window once the limit is passed.
pub async fn hit(db: &Db, bucket: &str, limit: Limit) -> Result<(), AppError> {
    hit_counted(db, bucket, limit).await.map(|_| ())
}

/// Like [`hit`], and says which hit of the window this was (1 for the
/// first), so a burst can be recorded once.
pub async fn hit_counted(db: &Db, bucket: &str, limit: Limit) -> Result<u32, AppError> {
    let window_secs = limit.window.as_secs_f64();
    let row = sqlx::query!(
        r#"
        insert into rate_limit as r (bucket, window_started_at, hits)
        values ($1, now(), 1)
        on conflict (bucket) do update set
            hits = case when r.window_started_at <= now() - make_interval(secs => $2) then 1 else r.hits + 1 end,
            window_started_at = case when r.window_started_at <= now() - make_interval(secs => $2)
                                     then now() else r.window_started_at end
        returning hits,
                  greatest(0, extract(epoch from (r.window_started_at + make_interval(secs => $2) - now())))::float8
                      as "retry_after_secs!"
        "#,
        bucket,
        window_secs,
    )
    .fetch_one(db.pool())
    .await?;
    if row.hits as i64 > limit.limit as i64 {
        Err(AppError::RateLimited {
            retry_after_secs: row.retry_after_secs.ceil().max(1.0) as u64,
        })
    } else {
        Ok(row.hits.max(0) as u32)
    }
}

/// Counts `n` hits against `bucket` at once, all or none: when they do not
/// fit in what is left of the window, nothing is counted and the answer is
/// "try again in N seconds" (a batch of invitations that would pass the
/// limit is refused whole, and does not use up the rest).
pub async fn take(db: &Db, bucket: &str, limit: Limit, n: u32) -> Result<(), AppError> {
    let window_secs = limit.window.as_secs_f64();
    let taken = sqlx::query_scalar!(
        r#"
        insert into rate_limit as r (bucket, window_started_at, hits)
        select $1, now(), $3::int where $3::int <= $4::int
        on conflict (bucket) do update set
            hits = case when r.window_started_at <= now() - make_interval(secs => $2) then $3 else r.hits + $3 end,
            window_started_at = case when r.window_started_at <= now() - make_interval(secs => $2)
                                     then now() else r.window_started_at end
        where r.window_started_at <= now() - make_interval(secs => $2) or r.hits + $3::int <= $4::int
        returning hits
        "#,
        bucket,
        window_secs,
        n as i32,
        limit.limit as i32,
    )
    .fetch_optional(db.pool())
    .await?;
    if taken.is_some() {
        return Ok(());
    }
    let retry_after_secs = sqlx::query_scalar!(
        r#"
        select greatest(0, extract(epoch from (window_started_at + make_interval(secs => $2) - now())))::float8
            as "retry_after_secs!"
        from rate_limit where bucket = $1
        "#,
        bucket,
        window_secs,
    )
    .fetch_optional(db.pool())
    .await?
    .unwrap_or(limit.window.as_secs_f64());
    Err(AppError::RateLimited {
        retry_after_secs: retry_after_secs.ceil().max(1.0) as u64,
    })
}

/// Whether `bucket` is already over its limit, without counting a hit (to
/// refuse before doing expensive work).
pub async fn check(db: &Db, bucket: &str, limit: Limit) -> Result<(), AppError> {
    let window_secs = limit.window.as_secs_f64();
    let row = sqlx::query!(
        r#"
        select hits,
               greatest(0, extract(epoch from (window_started_at + make_interval(secs => $2) - now())))::float8
                   as "retry_after_secs!"
        from rate_limit
        where bucket = $1 and window_started_at > now() - make_interval(secs => $2)
        "#,
        bucket,
        window_secs,
    )
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(row) if row.hits as i64 >= limit.limit as i64 => Err(AppError::RateLimited {
            retry_after_secs: row.retry_after_secs.ceil().max(1.0) as u64,
        }),
        _ => Ok(()),
    }
}

/// Drops buckets whose window ended long ago. Run periodically.
pub async fn prune(db: &Db) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query!("delete from rate_limit where window_started_at < now() - interval '1 day'")
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_counts_as_its_64() {
        let a = client_network(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = client_network(Some("2001:db8:1:2:ffff:1:2:3".parse().unwrap()));
        let other = client_network(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(
            client_network(Some("::ffff:10.0.0.1".parse().unwrap())),
            "10.0.0.1"
        );
        assert_eq!(
            client_network(Some("10.0.0.1".parse().unwrap())),
            "10.0.0.1"
        );
        assert_eq!(client_network(None), "unknown");
    }
}
