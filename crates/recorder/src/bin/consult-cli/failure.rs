//! Why a command failed, and the exit code that says so.

use consult_recorder::app::{AppError, ErrorKind};
use consult_recorder::auth::{AuthError, SignInError};

/// A failed command: its exit code and the sentence printed on stderr.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<SignInError> for Failure {
    fn from(err: SignInError) -> Self {
        let code = match &err {
            SignInError::Auth(AuthError::WrongCredentials | AuthError::SignInRequired(_))
            | SignInError::NothingSaved(_) => 3,
            SignInError::Auth(_) => 4,
            SignInError::Keychain(_) => 5,
            SignInError::Stopped => 1,
        };
        Self {
            code,
            message: err.to_string(),
        }
    }
}

impl From<AppError> for Failure {
    fn from(err: AppError) -> Self {
        let code = match err.kind {
            ErrorKind::InvalidInput | ErrorKind::ConsentNeeded | ErrorKind::Locked => 2,
            ErrorKind::WrongPassword | ErrorKind::SignInNeeded => 3,
            ErrorKind::Unreachable => 4,
            ErrorKind::Keychain => 5,
            ErrorKind::Microphone
            | ErrorKind::AlreadyRecording
            | ErrorKind::NotFound
            | ErrorKind::Storage
            | ErrorKind::Other => 1,
        };
        Self {
            code,
            message: err.message,
        }
    }
}

/// Any error as a general failure (exit code 1).
pub fn other(err: impl std::fmt::Display) -> Failure {
    Failure::other(err.to_string())
}
