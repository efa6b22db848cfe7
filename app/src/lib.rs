//! Trellis: an orgs-first B2B SaaS starter.
//!
//! This crate is the whole web application. Pages, components and server
//! functions compile for both the server (`ssr`) and the browser
//! (`hydrate`); the domain layer, which owns all SQL, compiles for the
//! server only.

#![recursion_limit = "256"]

pub mod audit;
pub mod components;
pub mod error;
pub mod ids;
pub mod pages;
pub mod roles;
pub mod validation;

#[cfg(feature = "ssr")]
pub mod domain;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" class="h-full">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="h-full bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// The application: routes and the pieces every page shares.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Marks the document once the wasm bundle has taken over, so tests (and
    // curious people) can tell a hydrated page from a server-rendered one.
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/trellis.css" />
        <Title formatter=|title: String| {
            if title.is_empty() { "Trellis".to_string() } else { format!("{title} · Trellis") }
        } />
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("") view=pages::home::HomePage />
            </Routes>
        </Router>
    }
}
