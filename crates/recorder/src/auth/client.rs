//! Talks to the sign-in and refresh endpoints over HTTPS (rustls, with the
//! operating system's trust store so a clinic's own CA works).

use std::sync::Once;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use consult_protocol::auth::ErrorBody;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::Secret;
use super::claims::{ClaimsError, TokenTimes, read_times};
use crate::server_profile::AuthProfile;

/// Why signing in or refreshing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("wrong e-mail or password")]
    WrongCredentials,
    #[error("the server ended this sign-in ({0}); please sign in again")]
    SignInRequired(String),
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("the server did not answer within {0} s")]
    Timeout(u64),
    #[error("the server had a problem (HTTP {status}): {summary}")]
    Server { status: u16, summary: String },
    #[error("the server's answer was not understood: {0}")]
    BadResponse(String),
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
    pub access: Secret,
    pub refresh: Secret,
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

/// Installs rustls' ring provider once per process (reqwest is built without one).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl AuthClient {
    /// `base` is the server's origin, e.g. `https://transcribe.clinic.example`.
    pub fn new(base: &str, profile: AuthProfile, timeout: Duration) -> Result<Self, AuthError> {
        install_crypto_provider();
        let http = crate::net::http_client(timeout).map_err(AuthError::Unreachable)?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            profile,
            timeout,
        })
    }

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
        let status = response.status();
        let server_date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(match on_401 {
                Unauthorized::WrongCredentials => AuthError::WrongCredentials,
                Unauthorized::SessionEnded => AuthError::SignInRequired(detail(&bytes)),
            });
        }
        if !status.is_success() {
            return Err(AuthError::Server {
                status: status.as_u16(),
                summary: detail(&bytes),
            });
        }
        let answer: serde_json::Value = serde_json::from_slice(&bytes)
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
                    exp: server_date.unwrap_or_else(local_unix_now) + seconds,
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

/// A short, human summary of an error body: FastAPI's `detail`, or a hint that
/// the server sent a web page (a proxy or captive portal) instead of JSON.
pub(crate) fn detail(bytes: &[u8]) -> String {
    if let Ok(body) = serde_json::from_slice::<ErrorBody>(bytes) {
        return body.detail.chars().take(200).collect();
    }
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        "the server sent a web page instead of an answer (a proxy or login portal in the way?)"
            .into()
    } else if trimmed.is_empty() {
        "no details".into()
    } else {
        trimmed.chars().take(120).collect()
    }
}

pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Parses an RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
pub fn parse_http_date(value: &str) -> Option<u64> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo as i64 + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + s)
}

/// This machine's clock, Unix seconds.
pub fn local_unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Sun, 22 Nov 2026 05:00:00 GMT"),
            Some(1_795_323_600)
        );
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT"),
            Some(1_709_251_199)
        );
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"), None);
    }

    #[test]
    fn error_bodies_become_short_human_text() {
        assert_eq!(
            detail(br#"{"detail":"Refresh token revoked"}"#),
            "Refresh token revoked"
        );
        assert!(detail(b"<!doctype html><html>502</html>").contains("web page"));
        assert_eq!(detail(b""), "no details");
    }
}
