//! Error messages of forms posted without JavaScript travel back to the form
//! in its URL (`?__path=…&__err=…`, Leptos's convention), and the page shows
//! them. Anyone can write such a URL, so a link could make our login page
//! say whatever its author likes ("Your account is locked. Call …").
//!
//! This layer seals every error redirect the server makes: an HMAC over the
//! error, bound to a random cookie of the browser that made the request.
//! A page request whose error does not carry a valid seal for this browser
//! is redirected to the same page without it, before anything renders, so
//! neither the server nor the hydrated app ever shows it.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use openidconnect::url::Url;
use std::sync::Arc;

/// The cookie a sealed error is bound to. Over https it carries the
/// `__Host-` prefix, so no other host (a sibling subdomain) can set it.
const COOKIE: &str = "trellis_form";
const SECURE_COOKIE: &str = "__Host-trellis_form";
const ERROR_PARAMS: [&str; 3] = ["__path", "__err", "__seal"];

/// The key and cookie settings of the seal.
pub struct FormErrorSeal {
    key: [u8; 32],
    secure_cookie: bool,
    public_base_url: String,
}

impl FormErrorSeal {
    pub fn new(key: [u8; 32], public_base_url: &str) -> Self {
        Self {
            key,
            secure_cookie: public_base_url.starts_with("https://"),
            public_base_url: public_base_url.to_string(),
        }
    }

    fn cookie_name(&self) -> &'static str {
        if self.secure_cookie {
            SECURE_COOKIE
        } else {
            COOKIE
        }
    }

    /// The HMAC over the three parts, each length-prefixed so that no two
    /// different triples read the same.
    fn mac(&self, binding: &str, path: &str, error: &str) -> Hmac<sha2::Sha256> {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("any key length");
        for part in [binding, path, error] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    fn seal(&self, binding: &str, path: &str, error: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(binding, path, error).finalize().into_bytes())
    }

    fn verify(&self, binding: &str, path: &str, error: &str, seal: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(seal)
            .is_ok_and(|given| self.mac(binding, path, error).verify_slice(&given).is_ok())
    }
}

pub async fn seal_form_errors(
    State(seal): State<Arc<FormErrorSeal>>,
    request: Request,
    next: Next,
) -> Response {
    let binding = cookie(request.headers(), seal.cookie_name());
    if matches!(*request.method(), Method::GET | Method::HEAD)
        && let Some(query) = request.uri().query()
        && query_has_error(query)
    {
        let pairs: Vec<(String, String)> = url_pairs(query);
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        // Each parameter once: Leptos shows the last of several, the check
        // would read the first.
        let once = ERROR_PARAMS
            .iter()
            .all(|key| pairs.iter().filter(|(k, _)| k == key).count() <= 1);
        let genuine = match (&binding, get("__path"), get("__err"), get("__seal")) {
            _ if !once => false,
            (Some(binding), Some(path), Some(error), Some(given)) => {
                seal.verify(binding, path, error, given)
            }
            _ => false,
        };
        if !genuine {
            return see_other(&without_error(request.uri().path(), &pairs));
        }
        return next.run(request).await;
    }

    // Only a server function's own error redirect is sealed: a POST to
    // `/api/…` whose `__path` names that very function. Any other redirect
    // that carries error parameters (from a slug someone wrote into a path,
    // say) loses them.
    let function = (request.method() == Method::POST && request.uri().path().starts_with("/api/"))
        .then(|| request.uri().path().to_string());
    let mut request = request;
    if function.is_some() {
        forget_earlier_error(&mut request);
    }
    let mut response = next.run(request).await;
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|l| ERROR_PARAMS.iter().any(|key| l.contains(key)))
        .map(str::to_string)
    else {
        return response;
    };
    // The target, as a browser reads it, and its query.
    let target = Url::parse(&seal.public_base_url)
        .and_then(|base| base.join(&location))
        .ok();
    let pairs = url_pairs(target.as_ref().and_then(Url::query).unwrap_or_default());
    let count = |key: &str| pairs.iter().filter(|(k, _)| k == key).count();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let produced_here = function
        .is_some_and(|path| count("__path") == 1 && count("__err") == 1 && get("__path") == path);
    if !produced_here {
        let stripped = target
            .and_then(|url| app::api::navigation::local_path(&seal.public_base_url, url.as_str()))
            .map(|local| {
                let (path, query) = local.split_once('?').unwrap_or((&local, ""));
                without_error(path, &url_pairs(query))
            })
            .unwrap_or_else(|| "/".to_string());
        if let Ok(value) = HeaderValue::from_str(&stripped) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        return response;
    }
    let (binding, new_cookie) = match binding {
        Some(binding) => (binding, false),
        None => (URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>()), true),
    };
    let sealed = target
        .map(|mut url| {
            let mac = seal.seal(&binding, &get("__path"), &get("__err"));
            {
                let mut query = url.query_pairs_mut();
                query.clear();
                for (k, v) in pairs.iter().filter(|(k, _)| k != "__seal") {
                    query.append_pair(k, v);
                }
                query.append_pair("__seal", &mac);
            }
            url.to_string()
        })
        // The form's page, taken from the Referer: only when it is one of ours.
        .filter(|url| app::api::navigation::local_path(&seal.public_base_url, url).is_some());
    let headers = response.headers_mut();
    match sealed.and_then(|l| HeaderValue::from_str(&l).ok()) {
        Some(value) => {
            headers.insert(header::LOCATION, value);
        }
        // Not a page of this site: the form goes back to the home page.
        None => {
            headers.insert(header::LOCATION, HeaderValue::from_static("/"));
        }
    }
    if new_cookie {
        let secure = if seal.secure_cookie { "; Secure" } else { "" };
        if let Ok(value) = HeaderValue::from_str(&format!(
            "{}={binding}; Path=/; HttpOnly; SameSite=Lax{secure}",
            seal.cookie_name()
        )) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A form posted again from the page its last failure came back to has that
/// failure in its Referer; Leptos would append the new one after it, and the
/// page would show neither (see `once`). The form's page is the Referer
/// without it.
fn forget_earlier_error(request: &mut Request) {
    let Some(referer) = request
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Url::parse(v).ok())
    else {
        return;
    };
    let pairs = url_pairs(referer.query().unwrap_or_default());
    if !pairs
        .iter()
        .any(|(k, _)| ERROR_PARAMS.contains(&k.as_str()))
    {
        return;
    }
    let mut clean = referer.clone();
    let local = without_error(referer.path(), &pairs);
    let (_, query) = local.split_once('?').unwrap_or((&local, ""));
    clean.set_query((!query.is_empty()).then_some(query));
    if let Ok(value) = HeaderValue::from_str(clean.as_str()) {
        request.headers_mut().insert(header::REFERER, value);
    }
}

fn query_has_error(query: &str) -> bool {
    url_pairs(query)
        .iter()
        .any(|(k, _)| ERROR_PARAMS.contains(&k.as_str()))
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    openidconnect::url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The page's path and query without the error parameters.
fn without_error(path: &str, pairs: &[(String, String)]) -> String {
    let kept: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !ERROR_PARAMS.contains(&k.as_str()))
        .collect();
    let path = format!("/{}", path.trim_start_matches('/'));
    if kept.is_empty() {
        return path;
    }
    let mut query = openidconnect::url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in kept {
        query.append_pair(k, v);
    }
    format!("{path}?{}", query.finish())
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response(),
    }
}

fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty() && v.len() <= 64)
        .map(|(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_belongs_to_one_browser_and_one_error() {
        let seal = FormErrorSeal::new([7; 32], "http://127.0.0.1:3000");
        let mac = seal.seal("browser-a", "/api/auth/sign_in", "e30");
        assert!(seal.verify("browser-a", "/api/auth/sign_in", "e30", &mac));
        assert!(!seal.verify("browser-b", "/api/auth/sign_in", "e30", &mac));
        assert!(!seal.verify("browser-a", "/api/auth/sign_up", "e30", &mac));
        assert!(!seal.verify("browser-a", "/api/auth/sign_in", "e31", &mac));
        assert!(!seal.verify("browser-a", "/api/auth/sign_in", "e30", "not-base64!"));
    }

    #[test]
    fn the_page_keeps_its_own_parameters() {
        let pairs = url_pairs("email=a%40b.test&__path=%2Fx&__err=e30&__seal=zz&switching=1");
        assert_eq!(
            without_error("/o/acme/login", &pairs),
            "/o/acme/login?email=a%40b.test&switching=1"
        );
        assert_eq!(without_error("//evil.example", &[]), "/evil.example");
    }
}
