//! The seed profile: the existing clinic backend, exactly as it behaves.
//!
//! `GET /api/v1/ws/transcribe?token=<JWT>&session_id=<ID>`; the server accepts the
//! upgrade and then checks the token (1008 on failure). Audio goes up as bare
//! PCM16LE binary frames; there are no offsets and no acknowledgements.

use serde::{Deserialize, Serialize};

/// Path of the seed streaming endpoint.
pub const STREAM_PATH: &str = "/api/v1/ws/transcribe";
/// Query parameter carrying the access token (the seed backend's design, not ours).
pub const QUERY_TOKEN: &str = "token";
/// Query parameter naming the session.
pub const QUERY_SESSION: &str = "session_id";
/// `status` value of the greeting.
pub const STATUS_CONNECTED: &str = "connected";
/// `message` text of the greeting.
pub const READY_MESSAGE: &str = "Transcription service ready";
/// Close reason for an expired token, as the seed backend words it.
pub const REASON_TOKEN_EXPIRED: &str = "Authentication failed: Token expired";
/// Close reason for any other bad token.
pub const REASON_TOKEN_INVALID: &str = "Authentication failed: Invalid token";
/// Seconds without a message before the seed backend closes with 1008.
pub const IDLE_TIMEOUT_SECS: u64 = 300;

/// The greeting sent after a successful token check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connected {
    pub status: String,
    pub message: String,
    pub session_id: String,
}

/// A transcript message (no offsets in this profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    pub is_final: bool,
}

impl Transcript {
    pub fn new(text: impl Into<String>, is_final: bool) -> Self {
        Self {
            kind: "transcript".into(),
            text: text.into(),
            is_final,
        }
    }
}

/// A server text message as a seed client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Connected(Connected),
    Transcript {
        text: String,
        is_final: bool,
    },
    /// Valid JSON this client does not understand: ignore it.
    Unknown,
}

/// Why a seed server message could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("server message is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("transcript message is malformed: {0}")]
    MalformedTranscript(#[source] serde_json::Error),
}

/// Parses a seed server text message.
pub fn parse_server_message(text: &str) -> Result<Incoming, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ParseError::NotJson)?;
    if value.get("type").and_then(serde_json::Value::as_str) == Some("transcript") {
        let t: Transcript =
            serde_json::from_value(value).map_err(ParseError::MalformedTranscript)?;
        return Ok(Incoming::Transcript {
            text: t.text,
            is_final: t.is_final,
        });
    }
    if value.get("status").and_then(serde_json::Value::as_str) == Some(STATUS_CONNECTED)
        && let Ok(c) = serde_json::from_value::<Connected>(value)
    {
        return Ok(Incoming::Connected(c));
    }
    Ok(Incoming::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_backend_messages() {
        let hello =
            r#"{"status":"connected","message":"Transcription service ready","session_id":"abc"}"#;
        assert!(matches!(
            parse_server_message(hello).unwrap(),
            Incoming::Connected(c) if c.session_id == "abc"
        ));
        let t = r#"{"type":"transcript","text":"hi there","is_final":false,"confidence":0.5}"#;
        assert_eq!(
            parse_server_message(t).unwrap(),
            Incoming::Transcript {
                text: "hi there".into(),
                is_final: false
            }
        );
        assert_eq!(
            parse_server_message(r#"{"type":"metrics"}"#).unwrap(),
            Incoming::Unknown
        );
        assert!(parse_server_message("<html>").is_err());
        assert!(parse_server_message(r#"{"type":"transcript","text":1}"#).is_err());
    }

    #[test]
    fn transcript_serialises_like_the_seed_backend() {
        let json = serde_json::to_string(&Transcript::new("ok", true)).unwrap();
        assert_eq!(json, r#"{"type":"transcript","text":"ok","is_final":true}"#);
    }
}
