//! Layers every request passes through: the client's address, the
//! same-origin check on state-changing requests, and security headers.

use app::{domain::request::ClientIp, state::Environment};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{net::SocketAddr, sync::Arc};

/// Decides the client address: the TCP peer, or — behind `hops` trusted
/// proxies that append to X-Forwarded-For — the address the outermost one saw.
pub async fn client_ip(State(hops): State<usize>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = forwarded_client(request.headers(), hops);
    if let Some(ip) = forwarded.or(peer) {
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

fn forwarded_client(headers: &HeaderMap, hops: usize) -> Option<std::net::IpAddr> {
    if hops == 0 {
        return None;
    }
    let chain: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    chain
        .len()
        .checked_sub(hops)
        .and_then(|i| chain.get(i))
        .and_then(|s| s.parse().ok())
}

/// The origins allowed to send state-changing requests.
#[derive(Clone, Debug)]
pub struct AllowedOrigins {
    origins: Vec<String>,
}

impl AllowedOrigins {
    /// The public base URL's origin; outside production also its loopback
    /// aliases (127.0.0.1, localhost, [::1]) on the same port, so local
    /// development works whichever name the browser uses.
    pub fn new(public_base_url: &str, environment: Environment) -> Self {
        let origin = origin_of(public_base_url).unwrap_or_else(|| public_base_url.to_string());
        let mut origins = vec![origin.clone()];
        if !environment.is_production()
            && let Some((scheme, rest)) = origin.split_once("://")
        {
            let port = rest
                .rsplit_once(':')
                .map(|(_, p)| p)
                .filter(|p| p.chars().all(|c| c.is_ascii_digit()));
            for host in ["127.0.0.1", "localhost", "[::1]"] {
                origins.push(match port {
                    Some(port) => format!("{scheme}://{host}:{port}"),
                    None => format!("{scheme}://{host}"),
                });
            }
        }
        Self { origins }
    }

    fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }
}

/// scheme://host[:port] of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

/// Refuses state-changing requests that do not come from our own pages:
/// the Origin header (or, failing that, the Referer) must be ours. This is
/// the CSRF defence for forms and server functions alike.
pub async fn same_origin(
    State(allowed): State<Arc<AllowedOrigins>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|v| *v != "null")
        .map(str::to_string)
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(origin_of)
        });
    match origin {
        Some(origin) if allowed.allows(&origin) => next.run(request).await,
        other => {
            tracing::warn!(origin = ?other, path = %request.uri().path(), "cross-site request refused");
            (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "This request did not come from this site's own pages, so it was refused. Go back, reload the page and try again.",
            )
                .into_response()
        }
    }
}

/// Headers on every response. Pages rendered by Leptos set their own
/// Content-Security-Policy (with the per-request script nonce); everything
/// else gets a policy that allows nothing to run.
pub async fn security_headers(State(hsts): State<bool>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    if hsts {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_read_only_as_far_as_the_trusted_hops() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 1.2.3.4, 10.0.0.1"),
        );
        assert_eq!(forwarded_client(&headers, 0), None);
        assert_eq!(
            forwarded_client(&headers, 1),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(
            forwarded_client(&headers, 2),
            Some("1.2.3.4".parse().unwrap())
        );
        assert_eq!(forwarded_client(&headers, 4), None);
    }

    #[test]
    fn origins_are_exact_and_loopback_aliases_only_outside_production() {
        let dev = AllowedOrigins::new("http://127.0.0.1:3000", Environment::Development);
        assert!(dev.allows("http://127.0.0.1:3000"));
        assert!(dev.allows("http://localhost:3000"));
        assert!(!dev.allows("http://localhost:3001"));
        assert!(!dev.allows("http://evil.test"));
        let prod = AllowedOrigins::new("https://app.example.com/", Environment::Production);
        assert!(prod.allows("https://app.example.com"));
        assert!(!prod.allows("http://app.example.com"));
        assert!(!prod.allows("https://localhost"));
        assert_eq!(
            origin_of("https://a.test:8443/x?y#z").as_deref(),
            Some("https://a.test:8443")
        );
    }
}
