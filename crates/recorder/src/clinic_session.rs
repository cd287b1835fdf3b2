//! Asks the clinic's backend to create a consultation when the doctor gives
//! no id (the server profile's `create_session_*` keys): one authenticated
//! REST call whose answer holds the new id.
//!
//! When the call fails nothing is recorded under a made-up id: a backend that
//! creates its consultations itself would refuse every message of it. The
//! doctor is told why and can try again or paste the id from the clinic's
//! system.

use std::time::Duration;

use crate::auth::Secret;
use crate::consultation::{BadSessionId, check_session_id};
use crate::net::answer::{HttpAnswer, error_chain};
use crate::server_profile::{CreateMethod, CreateSession};

/// How long the backend has to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Why no consultation was created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateSessionError {
    /// No answer came back (no network, refused, timed out); holds the error chain.
    #[error("the clinic server cannot be reached ({0})")]
    Unreachable(String),
    /// The server answered 401 or 403 to the access token; holds that status.
    #[error("the clinic server did not accept the sign-in for creating a consultation (HTTP {0})")]
    NotAllowed(u16),
    #[error("the clinic server refused to create a consultation (HTTP {status}: {summary})")]
    /// The server answered with another error status.
    Refused {
        /// The HTTP status.
        status: u16,
        /// A short summary of the error body.
        summary: String,
    },
    /// The answer has no string or number at the configured field; holds that field's path.
    #[error(
        "the clinic server's answer has no consultation ID at \"{0}\" (see create_session_id_field)"
    )]
    NoId(String),
    /// The answer's body is not JSON; holds why.
    #[error("the clinic server's answer was not understood ({0})")]
    BadAnswer(String),
    /// The server gave an id that is not a safe consultation id.
    #[error("the clinic server's consultation ID cannot be used: {0}")]
    BadId(#[from] BadSessionId),
}

/// Creates a consultation on `server` and returns its id, checked.
pub async fn create(
    server: &str,
    call: &CreateSession,
    access_token: &Secret,
    reference: &str,
    language: Option<&str>,
) -> Result<String, CreateSessionError> {
    let http = crate::net::http_client(TIMEOUT)
        .map_err(|e| CreateSessionError::Unreachable(e.to_string()))?;
    let url = format!("{}{}", server.trim_end_matches('/'), call.path);
    let request = match call.method {
        CreateMethod::Post => http.post(&url),
        CreateMethod::Put => http.put(&url),
    };
    let response = request
        .bearer_auth(access_token.expose())
        .json(&call.body_for(reference, language))
        .send()
        .await
        .map_err(|e| CreateSessionError::Unreachable(error_chain(&e)))?;
    let answer = HttpAnswer::read(response)
        .await
        .map_err(|e| CreateSessionError::Unreachable(error_chain(&e)))?;
    if matches!(answer.status, 401 | 403) {
        return Err(CreateSessionError::NotAllowed(answer.status));
    }
    if !answer.is_success() {
        return Err(CreateSessionError::Refused {
            status: answer.status,
            summary: answer.detail(),
        });
    }
    let answer = answer
        .json()
        .map_err(|e| CreateSessionError::BadAnswer(format!("not JSON: {e}")))?;
    let id = match call.id_field.find(&answer) {
        Some(serde_json::Value::String(id)) => id.clone(),
        Some(serde_json::Value::Number(id)) => id.to_string(),
        _ => return Err(CreateSessionError::NoId(call.id_field.to_string())),
    };
    let id = check_session_id(&id)?;
    tracing::info!(session_id = %id, "the clinic server created the consultation");
    Ok(id)
}
