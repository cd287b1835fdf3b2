//! Errors as the doctor reads them: one sentence that says what happened and
//! what to do, plus a kind the UI can act on.

use serde::Serialize;

use crate::auth::{AuthError, SignInError};

/// What went wrong, for the UI to choose its wording and next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The server refused the e-mail address and password.
    WrongPassword,
    /// The server cannot be reached, or could not do it just now; trying again may help.
    Unreachable,
    /// Nobody is signed in, or the sign-in has ended: the doctor must sign in (again).
    SignInNeeded,
    /// The system keychain could not keep or remove the sign-in.
    Keychain,
    /// An administrator fixed this setting.
    Locked,
    /// The microphones cannot be listed or opened, or access to them is refused.
    Microphone,
    /// A recording is already running; only one runs at a time.
    AlreadyRecording,
    /// The administrator requires the patient's consent to be confirmed first.
    ConsentNeeded,
    /// The session asked for no longer exists.
    NotFound,
    /// Something the person gave (a field, a link, an id) cannot be used; the message says why.
    InvalidInput,
    /// Recordings, settings or exports on this computer could not be read or written.
    Storage,
    /// Anything else, such as the app shutting down.
    Other,
}

/// An error for the UI: never carries a token, a password or patient text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[error("{message}")]
pub struct AppError {
    /// What went wrong, for the UI to choose its next step.
    pub kind: ErrorKind,
    /// One sentence for the person: what happened and what to do.
    pub message: String,
    /// The form field the message is about, for the UI to show it beside.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub field: Option<String>,
}

impl AppError {
    /// An error of `kind` with this sentence.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            field: None,
        }
    }

    /// Something the person gave cannot be used ([`ErrorKind::InvalidInput`]).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// An invalid value of one form field (named as in the settings file).
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::invalid(message)
        }
    }

    /// Files on this computer could not be read or written ([`ErrorKind::Storage`]);
    /// `err` is the cause, added to the sentence.
    pub fn storage(err: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::Storage,
            format!("The recordings on this computer could not be read or written: {err}"),
        )
    }
}

impl From<SignInError> for AppError {
    fn from(err: SignInError) -> Self {
        match err {
            SignInError::Auth(AuthError::WrongCredentials) => Self::new(
                ErrorKind::WrongPassword,
                "Wrong e-mail or password. Please try again.",
            ),
            SignInError::Auth(AuthError::SignInRequired(reason)) => Self::new(
                ErrorKind::SignInNeeded,
                format!("Please sign in again ({reason})."),
            ),
            SignInError::Auth(err @ (AuthError::Unreachable(_) | AuthError::Timeout(_))) => {
                // The technical cause is for the log and the diagnostics
                // report; the doctor gets what to do.
                tracing::warn!(error = %err, "sign-in: the server cannot be reached");
                Self::new(
                    ErrorKind::Unreachable,
                    "The server cannot be reached. Check the network connection, or ask IT \
                     whether the server address is right (About → Run diagnostics shows the cause).",
                )
            }
            SignInError::Auth(err) => {
                tracing::warn!(error = %err, "sign-in: the server refused");
                Self::new(
                    ErrorKind::Unreachable,
                    "The server could not sign you in just now. Please try again in a moment; if \
                     it keeps happening, About → Run diagnostics shows the cause for IT.",
                )
            }
            SignInError::Keychain(err) => Self::new(
                ErrorKind::Keychain,
                format!("The system keychain could not keep the sign-in: {err}."),
            ),
            SignInError::NothingSaved(_) => Self::new(ErrorKind::SignInNeeded, "Please sign in."),
            SignInError::Stopped => Self::new(ErrorKind::Other, "The app is shutting down."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technical_causes_stay_out_of_the_sentence() {
        let err = AppError::from(SignInError::Auth(AuthError::Unreachable(
            "tcp connect error: Connection refused (os error 111)".into(),
        )));
        assert_eq!(err.kind, ErrorKind::Unreachable);
        assert!(
            err.message.starts_with("The server cannot be reached."),
            "{}",
            err.message
        );
        assert!(!err.message.contains("os error"), "{}", err.message);
    }

    #[test]
    fn a_wrong_password_reads_as_such() {
        let err = AppError::from(SignInError::Auth(AuthError::WrongCredentials));
        assert_eq!(err.kind, ErrorKind::WrongPassword);
        assert!(err.message.starts_with("Wrong e-mail or password"));
    }
}
