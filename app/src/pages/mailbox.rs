//! The development mailbox: with no SMTP server configured, mail stays in
//! the outbox and can be read here. Not available in production.

use crate::{api::session::dev_mailbox, components::layout::PublicLayout};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

#[component]
pub fn MailboxPage() -> impl IntoView {
    let mails = Resource::new(|| (), |_| dev_mailbox());
    view! {
        <Title text="Development mailbox" />
        <PublicLayout>
            <div class="mx-auto max-w-4xl px-4 py-10 sm:px-6">
                <h1 class="text-2xl font-bold tracking-tight text-slate-900">"Development mailbox"</h1>
                <p class="mt-1 text-sm text-slate-600">"The 50 newest messages of the outbox. Links open in this browser."</p>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match mails.await {
                            Ok(mails) if mails.is_empty() => {
                                Either::Left(view! { <p class="mt-8 text-slate-600">{"No mail yet.".to_string()}</p> })
                            }
                            Ok(mails) => {
                                Either::Right(
                                    view! {
                                        <ul class="mt-8 space-y-4">
                                            {mails
                                                .into_iter()
                                                .map(|mail| {
                                                    view! {
                                                        <li class="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm">
                                                            <div class="flex flex-wrap items-baseline justify-between gap-2">
                                                                <p class="font-semibold text-slate-900">{mail.subject}</p>
                                                                <p class="text-xs text-slate-500">{mail.status}</p>
                                                            </div>
                                                            <p class="text-sm text-slate-600">"To " {mail.to}</p>
                                                            <pre class="mt-3 overflow-x-auto whitespace-pre-wrap rounded-lg bg-slate-50 p-3 text-sm text-slate-800">
                                                                {linkify(&mail.text)}
                                                            </pre>
                                                        </li>
                                                    }
                                                })
                                                .collect_view()}
                                        </ul>
                                    },
                                )
                            }
                            Err(error) => {
                                Either::Left(view! { <p class="mt-8 text-slate-600">{error.to_string()}</p> })
                            }
                        }
                    })}
                </Suspense>
            </div>
        </PublicLayout>
    }
}

/// Turns the http(s) URLs of a plain-text body into links.
fn linkify(text: &str) -> Vec<AnyView> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push("\n".into_any());
        }
        for (j, word) in line.split(' ').enumerate() {
            if j > 0 {
                out.push(" ".into_any());
            }
            if word.starts_with("http://") || word.starts_with("https://") {
                let (href, text) = (word.to_string(), word.to_string());
                out.push(
                    view! { <a href=href class="text-indigo-600 underline break-all">{text}</a> }
                        .into_any(),
                );
            } else {
                out.push(word.to_string().into_any());
            }
        }
    }
    out
}
