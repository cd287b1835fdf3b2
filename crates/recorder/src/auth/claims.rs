//! Reads `exp`, `iat` and `sub` from an access token, without verifying it.
//!
//! The client never holds the signing key and never trusts these claims for
//! anything but deciding when to refresh; the server verifies every token.

use serde::Deserialize;

use super::Secret;

/// Times and subject read from an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTimes {
    /// Expiry, server clock, Unix seconds.
    pub exp: u64,
    /// Issue time, server clock, Unix seconds, when the server wrote one.
    pub iat: Option<u64>,
    /// The account the token was issued to.
    pub subject: Option<String>,
}

/// Why an access token's claims could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// The token cannot be decoded as a JWT.
    #[error("the server's access token is not a JWT")]
    NotAJwt,
    /// The payload has no usable `exp`: absent, not a number, or not after 1970.
    #[error("the server's access token has no readable expiry (exp)")]
    MissingExpiry,
    /// `exp` is earlier than `iat`.
    #[error("the server's access token expires before it was issued")]
    ExpiresBeforeIssue,
}

#[derive(Deserialize)]
struct RawClaims {
    exp: Option<f64>,
    iat: Option<f64>,
    sub: Option<String>,
}

/// Reads the token's times. Fractional seconds (some Python backends write
/// `exp` as a float) are rounded down; a time before 1 s after the epoch is
/// no time (fuzzing found `exp: 1e-70` read as an expiry of 0).
pub fn read_times(token: &Secret) -> Result<TokenTimes, ClaimsError> {
    let data =
        jsonwebtoken::dangerous::insecure_decode::<RawClaims>(token.expose()).map_err(|err| {
            match err.kind() {
                jsonwebtoken::errors::ErrorKind::Json(_) => ClaimsError::MissingExpiry,
                _ => ClaimsError::NotAJwt,
            }
        })?;
    let exp = data
        .claims
        .exp
        .filter(|e| e.is_finite() && *e >= 1.0)
        .ok_or(ClaimsError::MissingExpiry)? as u64;
    let iat = data
        .claims
        .iat
        .filter(|i| i.is_finite() && *i >= 1.0)
        .map(|i| i as u64);
    if iat.is_some_and(|iat| iat > exp) {
        return Err(ClaimsError::ExpiresBeforeIssue);
    }
    Ok(TokenTimes {
        exp,
        iat,
        subject: data.claims.sub,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(payload: &str) -> Secret {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        Secret::new(format!(
            "{}.{}.{}",
            b64(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64(payload),
            b64("not-checked")
        ))
    }

    #[test]
    fn reads_times_without_the_key() {
        let t = read_times(&jwt(r#"{"sub":"doc","iat":100,"exp":1900}"#)).unwrap();
        assert_eq!(
            t,
            TokenTimes {
                exp: 1900,
                iat: Some(100),
                subject: Some("doc".into())
            }
        );
        let float = read_times(&jwt(r#"{"exp":1900.75}"#)).unwrap();
        assert_eq!((float.exp, float.iat), (1900, None));
    }

    #[test]
    fn bad_tokens_are_clear_errors() {
        assert_eq!(
            read_times(&jwt(r#"{"sub":"doc"}"#)),
            Err(ClaimsError::MissingExpiry)
        );
        assert_eq!(
            read_times(&jwt(r#"{"exp":"soon"}"#)),
            Err(ClaimsError::MissingExpiry)
        );
        // Found by fuzzing: a tiny positive float is no expiry, not "expired in 1970".
        assert_eq!(
            read_times(&jwt(r#"{"exp":1.1e-70}"#)),
            Err(ClaimsError::MissingExpiry)
        );
        assert_eq!(
            read_times(&jwt(r#"{"iat":5,"exp":4}"#)),
            Err(ClaimsError::ExpiresBeforeIssue)
        );
        for garbage in ["", "abc", "a.b", "a.b.c", "<html>oops</html>"] {
            assert_eq!(
                read_times(&Secret::new(garbage)),
                Err(ClaimsError::NotAJwt),
                "{garbage}"
            );
        }
    }
}
