//! Access tokens: HS256 JWTs with `sub`, `iat`, `exp` and `type: "access"`.

use std::time::{SystemTime, UNIX_EPOCH};

use consult_protocol::auth::AccessClaims;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

/// Why an access token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Genuine, but past its `exp`.
    #[error("Token expired")]
    Expired,
    /// Malformed, wrongly signed, missing `exp` or `sub`, or not an access token.
    #[error("Invalid token")]
    Invalid,
}

/// Issues and verifies access tokens with one signing key.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_secs: u64,
}

impl AccessTokens {
    /// Signs and verifies with `secret`; issued tokens live `ttl_secs` seconds.
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_secs,
        }
    }

    /// The lifetime of issued tokens in seconds (`expires_in` in a token response).
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// A new access token for `subject`, valid from now for the configured lifetime.
    pub fn issue(&self, subject: &str) -> String {
        let now = unix_now();
        self.issue_with(subject, now, now + self.ttl_secs)
    }

    /// A token with explicit times (tests use this to make expired tokens).
    pub fn issue_with(&self, subject: &str, iat: u64, exp: u64) -> String {
        let claims = AccessClaims {
            sub: subject.to_owned(),
            exp,
            iat: Some(iat),
            kind: Some("access".into()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding of plain claims cannot fail")
    }

    /// Verifies signature, algorithm, kind and expiry (no leeway: strict like the seed backend).
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        if data.claims.kind.as_deref().is_some_and(|k| k != "access") {
            return Err(TokenError::Invalid);
        }
        // jsonwebtoken accepts a token in its expiry second; the seed backend does not.
        if data.claims.exp <= unix_now() {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_verifiable_tokens_and_refuses_bad_ones() {
        let tokens = AccessTokens::new(b"k1", 60);
        let token = tokens.issue("doc@clinic.example");
        let claims = tokens.verify(&token).unwrap();
        assert_eq!(claims.sub, "doc@clinic.example");
        assert_eq!(claims.exp - claims.iat.unwrap(), 60);

        let other_key = AccessTokens::new(b"k2", 60);
        assert_eq!(other_key.verify(&token), Err(TokenError::Invalid));
        assert_eq!(tokens.verify("not.a.jwt"), Err(TokenError::Invalid));

        let now = unix_now();
        let expired = tokens.issue_with("doc@clinic.example", now - 100, now - 10);
        assert_eq!(tokens.verify(&expired), Err(TokenError::Expired));
    }
}
