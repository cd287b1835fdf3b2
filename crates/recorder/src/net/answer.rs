//! Reading a REST answer the same way everywhere: status, body and `Date`,
//! and the one-line summaries a doctor or IT admin is shown when it fails.

use consult_protocol::auth::ErrorBody;

/// A whole HTTP answer, read before anything is decided from it.
pub struct HttpAnswer {
    /// The HTTP status code.
    pub status: u16,
    /// The body's bytes (they may hold a token: never logged).
    pub bytes: Vec<u8>,
    /// The server's `Date` header, as Unix seconds (for clock skew).
    pub server_date: Option<u64>,
}

impl HttpAnswer {
    /// Reads the status, the `Date` header and the whole body.
    pub async fn read(response: reqwest::Response) -> Result<Self, reqwest::Error> {
        let status = response.status().as_u16();
        let server_date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::clock::parse_http_date);
        let bytes = response.bytes().await?.to_vec();
        Ok(Self {
            status,
            bytes,
            server_date,
        })
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.bytes)
    }

    /// A short, human summary of an error body (see [`detail`]).
    pub fn detail(&self) -> String {
        detail(&self.bytes)
    }
}

/// A short, human summary of an error body: FastAPI's `detail`, or a hint that
/// the server sent a web page (a proxy or captive portal) instead of JSON.
pub fn detail(bytes: &[u8]) -> String {
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

/// An error and all its causes on one line: reqwest's top-level message alone
/// ("error sending request") does not say whether DNS, TLS or the proxy failed.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

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
