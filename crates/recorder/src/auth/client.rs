//! Talks to the sign-in and refresh endpoints over HTTPS (rustls, with the
//! operating system's trust store so a clinic's own CA works).

use std::time::Duration;

use tokio::time::Instant;
use zeroize::Zeroizing;

use super::Secret;
use super::claims::{ClaimsError, TokenTimes, read_times};
use crate::net::answer::{HttpAnswer, error_chain};
use crate::server_profile::AuthProfile;

/// Why signing in or refreshing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The server refused the e-mail and password (HTTP 401 on sign-in).
    #[error("wrong e-mail or password")]
    WrongCredentials,
    /// The server refused the refresh token (HTTP 401): only a new sign-in helps.
    /// Holds the server's detail.
    #[error("the server ended this sign-in ({0}); please sign in again")]
    SignInRequired(String),
    /// The request did not get through; holds the error and its causes.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// No answer within the timeout; holds it in seconds.
    #[error("the server did not answer within {0} s")]
    Timeout(u64),
    /// The server answered with an error status other than 401.
    #[error("the server had a problem (HTTP {status}): {summary}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// A short summary of the error body.
        summary: String,
    },
    /// The answer is not JSON, or holds no token where the profile says.
    #[error("the server's answer was not understood: {0}")]
    BadResponse(String),
    /// The access token's times cannot be used, and the answer gave no lifetime
    /// to fall back on.
    #[error(transparent)]
    BadToken(#[from] ClaimsError),
}

impl AuthError {
    /// Whether trying again later may succeed (the network or the server).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AuthError::Unreachable(_) | AuthError::Timeout(_) | AuthError::Server { .. }
        )
    }
}

/// Tokens as the server issued them, with what we need to schedule a refresh.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// Proves the sign-in to the transcription server; kept in memory only.
    pub access: Secret,
    /// Traded for new tokens before the access token expires; kept in the keychain.
    pub refresh: Secret,
    /// Expiry, issue time and subject: from the access token, or from the
    /// answer's lifetime field when the token has no readable expiry.
    pub times: TokenTimes,
    /// The response's `Date` header, Unix seconds.
    pub server_date: Option<u64>,
    /// When the response arrived (monotonic clock).
    pub received_at: Instant,
}

/// An HTTP client for one server's auth endpoints.
#[derive(Debug, Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    base: String,
    profile: AuthProfile,
    timeout: Duration,
}

impl AuthClient {
    /// `base` is the server's origin, e.g. `https://transcribe.clinic.example`.
    pub fn new(base: &str, profile: AuthProfile, timeout: Duration) -> Result<Self, AuthError> {
        let http =
            crate::net::http_client(timeout).map_err(|e| AuthError::Unreachable(e.to_string()))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            profile,
            timeout,
        })
    }

    /// Signs in with an e-mail and password.
    pub async fn login(&self, email: &str, password: &Secret) -> Result<IssuedTokens, AuthError> {
        let body = body(&[
            (&self.profile.login_email_field, email),
            (&self.profile.login_password_field, password.expose()),
        ]);
        self.post(
            &self.profile.login_path,
            body,
            Unauthorized::WrongCredentials,
        )
        .await
    }

    /// Trades a refresh token for new tokens (the server may rotate the refresh
    /// token too).
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<IssuedTokens, AuthError> {
        let body = body(&[(&self.profile.refresh_request_field, refresh_token.expose())]);
        self.post(&self.profile.refresh_path, body, Unauthorized::SessionEnded)
            .await
    }

    async fn post(
        &self,
        path: &str,
        body: Zeroizing<Vec<u8>>,
        on_401: Unauthorized,
    ) -> Result<IssuedTokens, AuthError> {
        let url = format!("{}{}", self.base, path);
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let received_at = Instant::now();
        let answer = HttpAnswer::read(response)
            .await
            .map_err(|e| self.transport_error(e))?;
        let server_date = answer.server_date;
        if answer.status == 401 {
            return Err(match on_401 {
                Unauthorized::WrongCredentials => AuthError::WrongCredentials,
                Unauthorized::SessionEnded => AuthError::SignInRequired(answer.detail()),
            });
        }
        if !answer.is_success() {
            return Err(AuthError::Server {
                status: answer.status,
                summary: answer.detail(),
            });
        }
        let answer = answer
            .json()
            .map_err(|e| AuthError::BadResponse(format!("expected a token response ({e})")))?;
        let access = Secret::new(self.token_at(&answer, &self.profile.access_token_field)?);
        let refresh = Secret::new(self.token_at(&answer, &self.profile.refresh_token_field)?);
        let times = match read_times(&access) {
            Ok(times) => times,
            // A token without a readable expiry: the answer's lifetime, if
            // the server gave one, counted from its clock.
            Err(err @ (ClaimsError::NotAJwt | ClaimsError::MissingExpiry)) => self
                .profile
                .expires_in_field
                .find(&answer)
                .and_then(serde_json::Value::as_u64)
                .filter(|seconds| *seconds > 0)
                .map(|seconds| TokenTimes {
                    exp: server_date.unwrap_or_else(crate::clock::unix_secs) + seconds,
                    iat: None,
                    subject: None,
                })
                .ok_or(AuthError::BadToken(err))?,
            Err(err) => return Err(err.into()),
        };
        Ok(IssuedTokens {
            access,
            refresh,
            times,
            server_date,
            received_at,
        })
    }

    /// A non-empty string at `field` of the answer.
    fn token_at(
        &self,
        answer: &serde_json::Value,
        field: &crate::server_profile::FieldPath,
    ) -> Result<String, AuthError> {
        match field.find(answer).and_then(serde_json::Value::as_str) {
            Some("") => Err(AuthError::BadResponse(format!(
                "the token at \"{field}\" in the response is empty"
            ))),
            Some(token) => Ok(token.to_owned()),
            None => Err(AuthError::BadResponse(format!(
                "the response has no token at \"{field}\" (see server_profile in the configuration)"
            ))),
        }
    }

    fn transport_error(&self, err: reqwest::Error) -> AuthError {
        if err.is_timeout() {
            AuthError::Timeout(self.timeout.as_secs())
        } else {
            // reqwest's message names the URL, never the body.
            AuthError::Unreachable(error_chain(&err))
        }
    }
}

/// A JSON object of string fields, in memory that is wiped after sending
/// (it holds a password or a refresh token).
fn body(fields: &[(&str, &str)]) -> Zeroizing<Vec<u8>> {
    let object: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).into()))
        .collect();
    Zeroizing::new(serde_json::to_vec(&object).unwrap_or_default())
}

enum Unauthorized {
    WrongCredentials,
    SessionEnded,
}
