//! Why a single sign-on did not work, in words: one table for the failure
//! page and for the report of a test sign-in (the codes are the `reason`
//! of the audit event).

/// The title and explanation for a failure code (the codes are the
/// `reason` of the audit event).
pub fn describe(code: &str) -> (&'static str, &'static str) {
    match code {
        "state_mismatch" => (
            "The sign-in could not be matched to this browser",
            "The answer from your identity provider did not belong to the sign-in started here. This happens when a \
             sign-in link is reused or opened in another browser. Start again from your organization's sign-in page.",
        ),
        "no_flow" => (
            "This sign-in has expired or was already used",
            "No single sign-on was under way in this browser, or it took more than ten minutes. Start again from \
             your organization's sign-in page.",
        ),
        "wrong_connection" => (
            "This answer was meant for another sign-in",
            "Your identity provider's answer came back for another organization's single sign-on than the one you \
             started, so it was refused and nobody was signed in. An identity provider that sends people on to \
             another one can cause this. Start again from your organization's sign-in page.",
        ),
        "connection_changed" => (
            "The single sign-on settings changed meanwhile",
            "The organization's identity provider settings changed while you were signing in. Start again from \
             your organization's sign-in page.",
        ),
        "issuer_mismatch" => (
            "The answer did not come from your organization's provider",
            "The sign-in answer named another identity provider than the one this organization uses, so it was \
             refused. Start again; if it keeps happening, tell your IT administrator.",
        ),
        "start_expired" => (
            "This sign-in was not started here, or took too long",
            "A single sign-on starts with a button on your organization's sign-in page and must go on within a \
             few minutes. Start again from there.",
        ),
        "rate_limited" => (
            "Too many sign-in answers from your network",
            "Many single sign-on answers that belong to no sign-in came from your address. Wait a few minutes, \
             then start again from your organization's sign-in page.",
        ),
        "callback_moved" => (
            "This sign-in came back to an old address",
            "Each organization's single sign-on now has its own return address. If your identity provider sent \
             you here, an administrator of your organization needs to register the new redirect URI (shown on its \
             single sign-on settings page) at the provider.",
        ),
        "provider_denied" => (
            "Your identity provider did not sign you in",
            "The provider stopped the sign-in (it may have been cancelled, or the provider refused the request). Try \
             again; if it keeps happening, contact your IT administrator.",
        ),
        "provider_unreachable" => (
            "Your identity provider cannot be reached",
            "The organization's identity provider did not answer. It may be down; try again in a few minutes, or \
             contact your IT administrator.",
        ),
        "provider_misconfigured" => (
            "Your identity provider's settings do not match",
            "The provider's published configuration does not match what this organization set up (for example its \
             issuer changed). An administrator of the organization needs to check the single sign-on settings.",
        ),
        "code_refused" => (
            "Your identity provider refused to finish the sign-in",
            "The provider would not exchange the sign-in for an identity. The sign-in may have been used already, \
             or the connection's client secret may be wrong. Try again; an administrator can test the connection.",
        ),
        "no_id_token" | "invalid_id_token" => (
            "The identity from your provider could not be trusted",
            "The provider's answer failed validation (signature, issuer, audience, expiry or nonce), so no one was \
             signed in. If your device's clock is right, an administrator should test the connection.",
        ),
        "secret_unreadable" => (
            "Single sign-on is misconfigured on our side",
            "The connection's client secret cannot be decrypted. An administrator needs to enter the client secret \
             again in the single sign-on settings.",
        ),
        "email_missing" => (
            "Your identity provider did not share an email address",
            "An email address is needed to find your account. Ask your IT administrator to release the email claim \
             to this application.",
        ),
        "email_unverified" => (
            "Your email address is not verified by your identity provider",
            "For your security, only addresses your identity provider has verified can sign in. Ask your IT \
             administrator to verify your address there.",
        ),
        "domain_not_verified" => (
            "Your account is not part of this organization",
            "You are not a member, and your email address is not in one of the organization's verified domains, so \
             you cannot join automatically. Ask an administrator of the organization for an invitation.",
        ),
        "sso_not_enabled" => (
            "Single sign-on is not turned on",
            "This organization does not use single sign-on at the moment. Sign in with your password or an emailed \
             link instead.",
        ),
        "sso_required" => (
            "This organization requires single sign-on",
            "Sign in through your organization's identity provider.",
        ),
        "unknown_org" => (
            "This organization does not exist",
            "The sign-in link may be mistyped, or the organization may have changed its address.",
        ),
        _ => (
            "Single sign-on did not work",
            "Something went wrong while signing you in. Start again from your organization's sign-in page.",
        ),
    }
}
