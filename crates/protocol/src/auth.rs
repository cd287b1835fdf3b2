//! JSON bodies of the sign-in and refresh endpoints (identical in both profiles).

use serde::{Deserialize, Serialize};

/// Default path of the password sign-in endpoint.
pub const LOGIN_PATH: &str = "/api/v1/auth/login";
/// Default path of the refresh endpoint.
pub const REFRESH_PATH: &str = "/api/v1/auth/refresh";

/// `POST` body of the sign-in endpoint.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The account's e-mail address.
    pub email: String,
    /// The account's password.
    pub password: String,
}

/// `POST` body of the refresh endpoint.
#[derive(Clone, Serialize, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token of the latest [`TokenResponse`]; a successful refresh retires it.
    pub refresh_token: String,
}

/// Successful answer of both endpoints. The refresh token rotates on every use.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The JWT that authorises streaming (see [`AccessClaims`]).
    pub access_token: String,
    /// The token to send to the refresh endpoint for the next pair.
    pub refresh_token: String,
    /// The token scheme: `"bearer"`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
}

/// Error body of a refused request (FastAPI's shape: `{"detail": "..."}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Why the request was refused, in words a person can read.
    pub detail: String,
}

/// Claims of an access token that a client may read (never verify) to schedule refreshes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The account: the user's e-mail address.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issue time, seconds since the Unix epoch (the seed backend may omit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Token kind; the seed backend writes `"access"`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind: Option<String>,
}
