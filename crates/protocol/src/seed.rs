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
    /// Always [`STATUS_CONNECTED`].
    pub status: String,
    /// Human-readable greeting ([`READY_MESSAGE`] from the reference server).
    pub message: String,
    /// The session named in the upgrade's query, echoed back.
    pub session_id: String,
}

/// A transcript message (no offsets in this profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The `type` field: always `"transcript"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The recognised text.
    pub text: String,
    /// Whether the text is final rather than a partial.
    pub is_final: bool,
}

impl Transcript {
    /// A transcript message with its `type` set to `"transcript"`.
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
    /// The greeting: the token was accepted.
    Connected(Connected),
    /// Recognised text, in whichever of the known shapes it came.
    Transcript {
        /// The recognised text.
        text: String,
        /// Whether the text is final rather than a partial.
        is_final: bool,
    },
    /// Valid JSON this client cannot read.
    Unknown(Unreadable),
}

/// What can be said of a message this client cannot read, without its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Its keys, nested one level (`{kind, payload{done, words}}`): what to
    /// log, since the values may be patient speech.
    pub shape: String,
    /// Whether a key suggests it carries recognised text, so a person must be
    /// told rather than the message passed over.
    pub may_carry_text: bool,
}

/// Why a seed server message could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not JSON.
    #[error("server message is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// `type` is `"transcript"` but the other fields do not fit [`Transcript`].
    #[error("transcript message is malformed: {0}")]
    MalformedTranscript(#[source] serde_json::Error),
}

/// Keys whose presence suggests recognised text.
const TEXT_KEYS: [&str; 8] = [
    "text",
    "transcript",
    "results",
    "alternatives",
    "result",
    "words",
    "hypothesis",
    "utterance",
];

/// Parses a seed server text message. The seed documents never show a
/// transcript, so the shapes real backends send are recognised where that is
/// unambiguous: ours (`type: transcript`), `text`/`transcript` with
/// `is_final`/`isFinal`/`final`, a `type` of `partial`/`final`, and Google's
/// `results[].alternatives[].transcript` with `isFinal`.
pub fn parse_server_message(text: &str) -> Result<Incoming, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ParseError::NotJson)?;
    let kind = value.get("type").and_then(serde_json::Value::as_str);
    if kind == Some("transcript") {
        let t: Transcript =
            serde_json::from_value(value).map_err(ParseError::MalformedTranscript)?;
        return Ok(Incoming::Transcript {
            text: t.text,
            is_final: t.is_final,
        });
    }
    if value.get("status").and_then(serde_json::Value::as_str) == Some(STATUS_CONNECTED)
        && let Ok(c) = serde_json::from_value::<Connected>(value.clone())
    {
        return Ok(Incoming::Connected(c));
    }
    if let Some(transcript) = google_results(&value).or_else(|| flat_transcript(&value, kind)) {
        return Ok(transcript);
    }
    Ok(Incoming::Unknown(unreadable(&value)))
}

/// `{"text"|"transcript": …}` with a finality flag, or a `type` of `partial`/`final`.
fn flat_transcript(value: &serde_json::Value, kind: Option<&str>) -> Option<Incoming> {
    let text = ["text", "transcript"]
        .iter()
        .find_map(|k| value.get(*k).and_then(serde_json::Value::as_str))?;
    let is_final = match kind {
        Some("final") => true,
        Some("partial") => false,
        _ => ["is_final", "isFinal", "final"]
            .iter()
            .find_map(|k| value.get(*k).and_then(serde_json::Value::as_bool))?,
    };
    Some(Incoming::Transcript {
        text: text.to_owned(),
        is_final,
    })
}

/// Google Speech's streaming shape: the top alternative of each result.
fn google_results(value: &serde_json::Value) -> Option<Incoming> {
    let results = value.get("results")?.as_array()?;
    let mut texts = Vec::new();
    for result in results {
        let best = result.get("alternatives")?.as_array()?.first()?;
        texts.push(best.get("transcript")?.as_str()?.trim().to_owned());
    }
    let first = results.first()?;
    let is_final = ["isFinal", "is_final"]
        .iter()
        .find_map(|k| first.get(*k).and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    Some(Incoming::Transcript {
        text: texts.join(" "),
        is_final,
    })
}

fn unreadable(value: &serde_json::Value) -> Unreadable {
    fn keys(value: &serde_json::Value, depth: u8, suggests_text: &mut bool) -> String {
        match value {
            serde_json::Value::Object(map) => {
                let mut names: Vec<String> = map
                    .iter()
                    .map(|(k, v)| {
                        *suggests_text |= TEXT_KEYS.contains(&k.as_str());
                        let inner = if depth > 0 && v.is_object() {
                            keys(v, depth - 1, suggests_text)
                        } else {
                            String::new()
                        };
                        format!("{k}{inner}")
                    })
                    .collect();
                names.sort();
                format!("{{{}}}", names.join(", "))
            }
            serde_json::Value::Array(_) => "[…]".into(),
            _ => "a bare value".into(),
        }
    }
    let mut may_carry_text = false;
    let shape = keys(value, 1, &mut may_carry_text);
    Unreadable {
        shape,
        may_carry_text,
    }
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
            Incoming::Unknown(Unreadable {
                shape: "{type}".into(),
                may_carry_text: false
            })
        );
        assert!(parse_server_message("<html>").is_err());
        assert!(parse_server_message(r#"{"type":"transcript","text":1}"#).is_err());
    }

    #[test]
    fn the_transcript_shapes_real_backends_send_are_read() {
        let read = |json: &str| parse_server_message(json).unwrap();
        let t = |text: &str, is_final| Incoming::Transcript {
            text: text.into(),
            is_final,
        };
        assert_eq!(
            read(r#"{"transcript":"bp normal","isFinal":true}"#),
            t("bp normal", true)
        );
        assert_eq!(read(r#"{"text":"bp","final":false}"#), t("bp", false));
        assert_eq!(read(r#"{"text":"bp","is_final":true}"#), t("bp", true));
        assert_eq!(read(r#"{"type":"partial","text":"bp"}"#), t("bp", false));
        assert_eq!(
            read(r#"{"type":"final","transcript":"bp normal"}"#),
            t("bp normal", true)
        );
        let google = r#"{"results":[{"alternatives":[{"transcript":"blood pressure","confidence":0.9},
            {"transcript":"blood pleasure"}],"isFinal":true,"stability":0.1}]}"#;
        assert_eq!(read(google), t("blood pressure", true));
        let interim = r#"{"results":[{"alternatives":[{"transcript":"blood"}],"stability":0.1}]}"#;
        assert_eq!(read(interim), t("blood", false));
    }

    #[test]
    fn unreadable_messages_are_described_by_their_keys_never_their_text() {
        let Incoming::Unknown(unreadable) = parse_server_message(
            r#"{"kind":"asr","payload":{"words":"private words","done":true}}"#,
        )
        .unwrap() else {
            panic!("an unknown shape is not guessed at");
        };
        assert_eq!(unreadable.shape, "{kind, payload{done, words}}");
        assert!(unreadable.may_carry_text);
        assert!(!unreadable.shape.contains("private"));
        // A flag without text, or text without a flag, is not a transcript.
        for ambiguous in [r#"{"isFinal":true}"#, r#"{"text":"hello"}"#] {
            assert!(
                matches!(
                    parse_server_message(ambiguous).unwrap(),
                    Incoming::Unknown(_)
                ),
                "{ambiguous}"
            );
        }
    }

    #[test]
    fn transcript_serialises_like_the_seed_backend() {
        let json = serde_json::to_string(&Transcript::new("ok", true)).unwrap();
        assert_eq!(json, r#"{"type":"transcript","text":"ok","is_final":true}"#);
    }
}
