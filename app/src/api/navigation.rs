//! Where a server function sends the browser next. Every target passes
//! through [`local_path`]: parsed as a URL relative to `PUBLIC_BASE_URL`,
//! the way a browser reads a `Location` header, and kept only when it
//! stays on this origin. A `next` parameter, or a slug someone typed into a
//! path, can neither leave the site nor break the header.

use crate::state::AppState;
use leptos::prelude::use_context;
use openidconnect::url::Url;

/// The path (with query and fragment) `target` names on this site, ready
/// for a `Location` header; `None` when it would leave the origin or is not
/// a URL at all.
pub fn local_path(base_url: &str, target: &str) -> Option<String> {
    let base = Url::parse(base_url).ok()?;
    let url = base.join(target).ok()?;
    if url.origin() != base.origin() || url.cannot_be_a_base() {
        return None;
    }
    // Serialized by the URL parser: spaces, controls and non-ASCII are
    // percent-encoded. A path that starts with two slashes would be read as
    // another host, so it keeps one.
    let path = url.path();
    let mut out = if path.starts_with("//") {
        format!("/{}", path.trim_start_matches('/'))
    } else {
        path.to_string()
    };
    if let Some(query) = url.query() {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        out.push('#');
        out.push_str(fragment);
    }
    Some(out)
}

/// Redirects to `target` on this site, or to the home page when `target`
/// would go elsewhere.
pub fn redirect(target: &str) {
    let base = use_context::<AppState>()
        .map(|state| state.settings.public_base_url.clone())
        .unwrap_or_else(|| "http://localhost".to_string());
    let path = local_path(&base, target).unwrap_or_else(|| "/".to_string());
    leptos_axum::redirect(&path);
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://app.example.com";

    #[test]
    fn paths_of_this_site_are_kept() {
        for (target, expected) in [
            ("/o/acme", "/o/acme"),
            ("/invite?token=abc", "/invite?token=abc"),
            (
                "/login?email=a%2Bb%40x.test&switching=1",
                "/login?email=a%2Bb%40x.test&switching=1",
            ),
            ("https://app.example.com/o/acme#top", "/o/acme#top"),
            ("/o/a b/login", "/o/a%20b/login"),
            ("/o/a\nb/login", "/o/ab/login"),
        ] {
            assert_eq!(
                local_path(BASE, target).as_deref(),
                Some(expected),
                "{target:?}"
            );
        }
    }

    #[test]
    fn targets_that_leave_the_origin_are_refused() {
        for target in [
            "//evil.example/x",
            "/\t/evil.example/x",
            "/\n/evil.example/x",
            "/\\evil.example/x",
            "\\\\evil.example",
            " //evil.example",
            "https://evil.example/",
            "http://app.example.com/",
            "https://app.example.com@evil.example/",
            "https://app.example.com:8443/",
            "javascript:alert(1)",
            "data:text/html,x",
            "mailto:a@b.c",
        ] {
            assert_eq!(local_path(BASE, target), None, "{target:?}");
        }
    }

    #[test]
    fn a_double_slash_path_on_this_origin_keeps_one_slash() {
        assert_eq!(
            local_path(BASE, "https://app.example.com//evil.example/x").as_deref(),
            Some("/evil.example/x")
        );
    }
}
