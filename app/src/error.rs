//! The error type of every server function. Client-facing variants carry a
//! message a person can act on; `Internal` carries nothing, because what went
//! wrong inside is logged on the server and never shown.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// The form field that carries a password or code confirming a sensitive
/// action (see [`AppError::StepUpRequired`]).
pub const STEP_UP_FIELD: &str = "reauth";

/// A message attached to one form field (or to the form as a whole when
/// `field` is empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// One or more inputs were refused; each message belongs next to its
    /// field. `values` echoes non-secret inputs so that a form submitted
    /// without JavaScript (and redirected back) can show them again.
    #[error("{}", errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "))]
    Validation {
        errors: Vec<FieldError>,
        #[serde(default)]
        values: Vec<(String, String)>,
    },
    /// The caller is not signed in (or their session ended).
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// The caller is signed in but their role does not allow this.
    #[error("You are not allowed to do that in this organization.")]
    Forbidden,
    /// A sensitive action, and the session has not authenticated (or
    /// confirmed it is the person) recently enough: the form asks for the
    /// password or a code and is sent again. `values` as for `Validation`.
    #[error(
        "To do this, first confirm it's you: enter your password or a code from your authenticator app."
    )]
    StepUpRequired {
        #[serde(default)]
        values: Vec<(String, String)>,
    },
    /// The thing does not exist, or is not visible to the caller.
    #[error("That could not be found.")]
    NotFound,
    /// The request conflicts with the current state (e.g. already a member).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; the caller may retry after the given delay.
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    /// Something failed on the server; details are in the server log only.
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// The request never reached the function (network, encoding, routing).
    #[error("The request could not be completed: {0}")]
    Transport(String),
}

impl AppError {
    /// A validation error on a single field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            errors: vec![FieldError {
                field: field.to_string(),
                message: message.into(),
            }],
            values: Vec::new(),
        }
    }

    /// Attaches submitted values (never secrets) for the form to show again.
    pub fn keeping(mut self, kept: &[(&str, &str)]) -> Self {
        if let AppError::Validation { values, .. } | AppError::StepUpRequired { values } = &mut self
        {
            values.extend(kept.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        }
        self
    }

    /// The message for `field`, if this is a validation error about it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation { errors, .. } => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            AppError::StepUpRequired { .. } if field == STEP_UP_FIELD => Some(self.to_string()),
            _ => None,
        }
    }

    /// Whether the form should ask for the password or a code: the action
    /// needs a recent authentication, or the answer given was wrong.
    pub fn wants_step_up(&self) -> bool {
        self.message_for(STEP_UP_FIELD).is_some()
    }

    /// The submitted value of `field`, if the error kept it.
    pub fn value_for(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation { values, .. } | AppError::StepUpRequired { values } => values
                .iter()
                .find(|(k, _)| k == field)
                .map(|(_, v)| v.clone()),
            _ => None,
        }
    }

    /// The message to show above a form: everything that is not tied to one
    /// of the form's own fields.
    pub fn form_message(&self, fields: &[&str]) -> Option<String> {
        match self {
            AppError::Validation { errors, .. } => {
                let rest: Vec<_> = errors
                    .iter()
                    .filter(|e| !fields.contains(&e.field.as_str()))
                    .map(|e| e.message.as_str())
                    .collect();
                (!rest.is_empty()).then(|| rest.join(" "))
            }
            AppError::StepUpRequired { .. } if fields.contains(&STEP_UP_FIELD) => None,
            other => Some(other.to_string()),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Form fields that are missing or malformed never reach our own
            // validation; say so plainly rather than echoing serde's message.
            ServerFnErrorErr::Args(_) => {
                AppError::field("", "Some of the form's fields were missing or malformed.")
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

/// Collects field errors while parsing a form, so that every problem is
/// reported at once instead of one per submission.
#[derive(Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one field; on failure records the message and returns `None`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.errors.push(FieldError {
                    field: field.to_string(),
                    message,
                });
                None
            }
        }
    }

    /// Records an error not produced by a parser.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// `Err` with every collected message, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation {
                errors: self.errors,
                values: Vec::new(),
            })
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// The HTTP status an API caller gets for this error: the one table of it.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::StepUpRequired { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// For plain routes (not server functions): the status and the message a
/// person can read; a rate limit also says when to retry.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = self.status();
        let retry = match &self {
            AppError::RateLimited { retry_after_secs } => Some(retry_after_secs.to_string()),
            _ => None,
        };
        let mut response = (status, self.to_string()).into_response();
        if let Some(value) = retry.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    #[track_caller]
    fn from(error: sqlx::Error) -> Self {
        let location = std::panic::Location::caller();
        tracing::error!(%error, at = %location, "database error");
        AppError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_reports_every_field_at_once() {
        let mut v = Validator::new();
        v.check::<()>("email", Err("Enter your email address.".into()));
        v.check::<()>("password", Err("Use at least 10 characters.".into()));
        let err = v.finish().unwrap_err();
        assert_eq!(
            err.message_for("email").as_deref(),
            Some("Enter your email address.")
        );
        assert_eq!(
            err.message_for("password").as_deref(),
            Some("Use at least 10 characters.")
        );
        assert_eq!(err.form_message(&["email", "password"]), None);
    }

    #[test]
    fn internal_errors_reveal_nothing() {
        assert!(!AppError::Internal.to_string().contains("sql"));
    }
}
