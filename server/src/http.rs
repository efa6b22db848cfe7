//! Layers every request passes through: the client's address, the
//! same-origin check on state-changing requests, and security headers.

use app::{domain::request::ClientIp, error::AppError, state::Environment};
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
/// else gets a policy that allows nothing to run. Everything but the
/// static files is someone's own (a page with their recovery codes, an
/// authenticator secret, their sessions): no cache keeps it, not even the
/// browser's back button after they sign out.
pub async fn security_headers(State(hsts): State<bool>, request: Request, next: Next) -> Response {
    let static_file = is_static_file(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !static_file {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
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

/// The build's files (`/pkg/…`, cargo-leptos's `site-pkg-dir`) and the
/// assets copied beside them (`public/`): the same for everyone.
fn is_static_file(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg"
}

/// Server-function inputs the functions never see as such: a NUL character
/// (PostgreSQL cannot store it in text, so it would surface as a database
/// error) is refused here for every function at once, and arguments that do
/// not even parse (a `bool` that is not one) are the client's mistake, a
/// 422, not the server's 500.
pub async fn server_fn_inputs(request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let json = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.contains("text/html"));
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response();
    };
    let nul = bytes.contains(&0)
        || bytes
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0');
    if nul {
        let error = AppError::field("", "The form contains a character that cannot be stored.");
        return client_error(json, StatusCode::UNPROCESSABLE_ENTITY, &error);
    }
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    // Our own functions answer their failures with the right status (see
    // `with_status`); a 500 that carries a validation error comes from the
    // framework's argument parsing.
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .unwrap_or_default();
    match serde_json::from_slice::<AppError>(&bytes) {
        Ok(error @ AppError::Validation { .. }) => {
            client_error(json, StatusCode::UNPROCESSABLE_ENTITY, &error)
        }
        _ => Response::from_parts(parts, axum::body::Body::from(bytes)),
    }
}

/// Larger than the request body limit, so the limit layer decides first.
const MAX_FORM_BYTES: usize = 1024 * 1024;

fn client_error(json: bool, status: StatusCode, error: &AppError) -> Response {
    if json {
        let body = serde_json::to_vec(error).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!(
                "<!doctype html><title>Please check the form</title><p>{}</p>\
                 <p>Go back, correct it and send it again.</p>",
                app::text::escape_html(&error.to_string())
            ),
        )
            .into_response()
    }
}

/// The answer to a request whose handler panicked: the panic is logged (the
/// message only: it may not hold secrets, but it holds no request data
/// either), the client gets a plain error page.
pub fn panic_page(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "<!doctype html><title>Something went wrong</title><p>Something went wrong on our side. \
         Please try again in a moment.</p><p><a href=\"/\">Back to Trellis</a></p>",
    )
        .into_response()
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
