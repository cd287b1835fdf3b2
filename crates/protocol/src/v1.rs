//! The v1 profile: resumable, acknowledged, token in a header.
//!
//! Text messages are JSON objects tagged by `type`; binary messages are
//! [`AudioFrame`](crate::AudioFrame)s. Both sides ignore unknown fields; a server
//! closes with 4400 on an unknown client message type, while a client ignores
//! unknown server message types so servers can add messages without breaking it.

use serde::{Deserialize, Serialize};

/// Path of the v1 streaming endpoint.
pub const STREAM_PATH: &str = "/api/v1/stream";
/// WebSocket subprotocol a v1 client offers and a v1 server echoes.
pub const SUBPROTOCOL: &str = "consult.v1";
/// Query parameter naming the session (a UUID).
pub const QUERY_SESSION: &str = "session_id";
/// Optional query parameter naming the recognition language (BCP 47, e.g. `en-IN`).
pub const QUERY_LANGUAGE: &str = "language";
/// Optional query parameter: replay final transcripts ending after this sample offset.
pub const QUERY_TRANSCRIPTS_AFTER: &str = "transcripts_after";
/// The server acknowledges at least this often, in samples of received audio (500 ms).
pub const ACK_EVERY_SAMPLES: u64 = 8_000;

/// A text message from the client.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// A fresh access token for this connection (in-band re-auth).
    Reauth {
        /// The new access token (a JWT for the same account).
        token: String,
    },
    /// The client has sent everything: `end_offset` is the session's total samples.
    Finish {
        /// Total samples of the session the client has sent.
        end_offset: u64,
    },
}

impl std::fmt::Debug for ClientMessage {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientMessage::Reauth { .. } => f.write_str("Reauth { token: <redacted> }"),
            ClientMessage::Finish { end_offset } => {
                write!(f, "Finish {{ end_offset: {end_offset} }}")
            }
        }
    }
}

/// A text message from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message of every connection: where to resume.
    Ready(Ready),
    /// Everything before `durable_offset` is stored durably on the server.
    Ack {
        /// Samples of the session stored durably so far; never decreases.
        durable_offset: u64,
    },
    /// Recognised text for samples `start..end`. Partials are replaced by later
    /// partials or by the final with the same `start`.
    Transcript(Transcript),
    /// The token sent with `reauth` was accepted.
    ReauthOk {
        /// Expiry of the accepted token (Unix seconds); the connection now lasts until then.
        token_expires_at: u64,
    },
    /// Answer to `finish`: all audio is durable and the last final was sent.
    Done {
        /// Total samples of the session stored durably: the client's `end_offset`.
        durable_offset: u64,
    },
}

/// Body of [`ServerMessage::Ready`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The session named in the upgrade's query.
    pub session_id: String,
    /// Samples of this session the server already holds durably: resume here.
    pub durable_offset: u64,
    /// Audio sample rate the server expects, in Hz ([`SAMPLE_RATE`](crate::SAMPLE_RATE)).
    pub sample_rate: u32,
    /// Largest frame the server accepts, in samples.
    pub max_frame_samples: u32,
    /// Expiry of the connection's token (Unix seconds); send `reauth` before it.
    pub token_expires_at: u64,
}

/// Body of [`ServerMessage::Transcript`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The recognised text.
    pub text: String,
    /// Whether this is a final, which never changes, rather than a partial.
    pub is_final: bool,
    /// First sample of the utterance.
    pub start: u64,
    /// One past the last sample the text covers.
    pub end: u64,
}

/// Why a server text message could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not JSON.
    #[error("server message is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The JSON has no string `type` field.
    #[error("server message has no \"type\" field")]
    MissingType,
    /// A known message type whose fields do not fit its shape.
    #[error("server message of type {kind:?} is malformed: {source}")]
    Malformed {
        /// The message's `type`.
        kind: String,
        /// What did not fit.
        #[source]
        source: serde_json::Error,
    },
}

/// The outcome of reading one server text message.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A message of a known type.
    Message(ServerMessage),
    /// A well-formed message of a type this client does not know: ignore it.
    Unknown(String),
}

const KNOWN_SERVER_TYPES: [&str; 5] = ["ready", "ack", "transcript", "reauth_ok", "done"];

/// Parses a server text message, telling unknown types apart from broken ones.
pub fn parse_server_message(text: &str) -> Result<Incoming, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ParseError::NotJson)?;
    let kind = value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .ok_or(ParseError::MissingType)?
        .to_owned();
    if !KNOWN_SERVER_TYPES.contains(&kind.as_str()) {
        return Ok(Incoming::Unknown(kind));
    }
    serde_json::from_value(value)
        .map(Incoming::Message)
        .map_err(|source| ParseError::Malformed { kind, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_have_the_documented_shape() {
        let ack = serde_json::to_string(&ServerMessage::Ack { durable_offset: 42 }).unwrap();
        assert_eq!(ack, r#"{"type":"ack","durable_offset":42}"#);
        let t = ServerMessage::Transcript(Transcript {
            text: "hello".into(),
            is_final: true,
            start: 1,
            end: 2,
        });
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"type":"transcript","text":"hello","is_final":true,"start":1,"end":2}"#
        );
    }

    #[test]
    fn unknown_types_and_fields_are_tolerated() {
        assert_eq!(
            parse_server_message(r#"{"type":"news","x":1}"#).unwrap(),
            Incoming::Unknown("news".into())
        );
        let with_extra = r#"{"type":"ack","durable_offset":7,"extra":true}"#;
        assert_eq!(
            parse_server_message(with_extra).unwrap(),
            Incoming::Message(ServerMessage::Ack { durable_offset: 7 })
        );
    }

    #[test]
    fn broken_messages_are_errors_not_panics() {
        assert!(matches!(
            parse_server_message("not json"),
            Err(ParseError::NotJson(_))
        ));
        assert!(matches!(
            parse_server_message(r#"{"durable_offset":1}"#),
            Err(ParseError::MissingType)
        ));
        assert!(matches!(
            parse_server_message(r#"{"type":"ack","durable_offset":"many"}"#),
            Err(ParseError::Malformed { .. })
        ));
    }

    #[test]
    fn client_message_debug_hides_the_token() {
        let m = ClientMessage::Reauth {
            token: "secret.jwt.value".into(),
        };
        assert!(!format!("{m:?}").contains("secret"));
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"type":"reauth","token":"secret.jwt.value"}"#);
    }
}
