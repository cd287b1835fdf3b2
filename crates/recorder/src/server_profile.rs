//! How the clinic's backend names things: its sign-in and refresh paths and
//! JSON fields, the optional call that creates a consultation, and (seed
//! profile) its streaming endpoint, how the token travels, its query
//! parameters and its greeting.
//!
//! A clinic's backend is configured, not programmed: these come from the
//! `[server_profile]` table of the administrator's file, and the defaults are
//! exactly the seed documents' backend.

use std::fmt;

use consult_protocol::{auth, seed};

/// Everything configurable about the server's interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerProfile {
    /// The sign-in and refresh calls.
    pub auth: AuthProfile,
    /// The seed profile's streaming endpoint.
    pub stream: StreamProfile,
    /// Asks the backend for a consultation id when the doctor gives none.
    pub create_session: Option<CreateSession>,
}

/// A REST call that creates a consultation on the clinic's backend and
/// answers its id: `POST /api/v1/sessions {"patient_ref": "{reference}"}`
/// → `{"data": {"id": "ENC-42"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSession {
    /// The HTTP method of the call.
    pub method: CreateMethod,
    /// The path on the server, e.g. `/api/v1/sessions`.
    pub path: String,
    /// A JSON object; `{reference}` and `{language}` inside its strings are
    /// replaced by the consultation's reference and language.
    pub body: serde_json::Value,
    /// Where the new id is in the answer (a string or a number).
    pub id_field: FieldPath,
}

impl CreateSession {
    /// The body for one consultation.
    pub fn body_for(&self, reference: &str, language: Option<&str>) -> serde_json::Value {
        fill(&self.body, reference, language.unwrap_or(""))
    }
}

fn fill(template: &serde_json::Value, reference: &str, language: &str) -> serde_json::Value {
    use serde_json::Value;
    match template {
        Value::String(text) => Value::String(
            text.replace("{reference}", reference)
                .replace("{language}", language),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fill(item, reference, language))
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), fill(value, reference, language)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The HTTP method of [`CreateSession`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CreateMethod {
    /// `POST`, the default.
    #[default]
    Post,
    /// `PUT`.
    Put,
}

impl CreateMethod {
    /// Reads `POST` or `PUT`, in any case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            _ => None,
        }
    }

    /// The method's name, in capitals.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
        }
    }
}

/// The sign-in and refresh endpoints (both profiles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthProfile {
    /// Path of the sign-in call (a JSON `POST` of the e-mail address and password).
    pub login_path: String,
    /// Path of the refresh call (a JSON `POST` of the refresh token).
    pub refresh_path: String,
    /// Field of the sign-in body holding the e-mail address (or user name).
    pub login_email_field: String,
    /// Field of the sign-in body holding the password.
    pub login_password_field: String,
    /// Field of the refresh body holding the refresh token.
    pub refresh_request_field: String,
    /// Where the access token is in both answers.
    pub access_token_field: FieldPath,
    /// Where the refresh token is in both answers.
    pub refresh_token_field: FieldPath,
    /// Where the access token's lifetime in seconds is; read only when the
    /// token itself carries no readable expiry.
    pub expires_in_field: FieldPath,
}

impl Default for AuthProfile {
    fn default() -> Self {
        Self {
            login_path: auth::LOGIN_PATH.into(),
            refresh_path: auth::REFRESH_PATH.into(),
            login_email_field: "email".into(),
            login_password_field: "password".into(),
            refresh_request_field: "refresh_token".into(),
            access_token_field: FieldPath::new("access_token"),
            refresh_token_field: FieldPath::new("refresh_token"),
            expires_in_field: FieldPath::new("expires_in"),
        }
    }
}

/// How the access token reaches the streaming endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TokenTransport {
    /// A query parameter (the seed's transcription endpoint).
    #[default]
    Query,
    /// A first text message `{"token": "…"}` after the upgrade (the seed's
    /// other WebSocket endpoint).
    FirstMessage,
    /// An `Authorization: Bearer` header on the upgrade request.
    Header,
}

impl TokenTransport {
    /// The transport's name as the configuration file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTransport::Query => "query",
            TokenTransport::FirstMessage => "first_message",
            TokenTransport::Header => "header",
        }
    }

    /// Reads a name as the configuration file writes it (`query`,
    /// `first_message` or `header`).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Query, Self::FirstMessage, Self::Header]
            .into_iter()
            .find(|t| t.as_str() == text)
    }
}

/// The message that says the server is ready for audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// Where in the message to look, dotted for nesting.
    pub field: String,
    /// The string that field holds once the server is ready.
    pub value: String,
}

/// The seed profile's streaming endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamProfile {
    /// Path of the WebSocket endpoint.
    pub path: String,
    /// How the access token reaches the endpoint.
    pub token_transport: TokenTransport,
    /// Query parameter holding the token, with `TokenTransport::Query`.
    pub token_query_param: String,
    /// Field of the first message, with `TokenTransport::FirstMessage`.
    pub token_message_field: String,
    /// Query parameter holding the consultation id.
    pub session_query_param: String,
    /// Sends the recognition language under this name, when set.
    pub language_query_param: Option<String>,
    /// Sends the patient/encounter reference under this name, when set
    /// (by default it never leaves this computer).
    pub reference_query_param: Option<String>,
    /// Fixed parameters added to every connection, in order.
    pub extra_query: Vec<(String, String)>,
    /// An `Origin` header, for a backend whose CORS check wants one.
    pub origin: Option<String>,
    /// `None`: the server says nothing first; the upgrade is the welcome.
    pub greeting: Option<Greeting>,
    /// Where the text and its finality are in a transcript message of a
    /// shape the recorder does not recognise by itself.
    pub transcript: Option<TranscriptFields>,
}

/// A configured transcript shape: `{"payload": {"words": …, "done": …}}` is
/// text `payload.words`, final `payload.done`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptFields {
    /// Where the transcript's text is (a string).
    pub text: FieldPath,
    /// A boolean; a message without it is provisional.
    pub is_final: FieldPath,
}

impl TranscriptFields {
    /// The text and finality of `message`, if it has this shape.
    pub fn read(&self, message: &serde_json::Value) -> Option<(String, bool)> {
        let text = self.text.find(message)?.as_str()?.to_owned();
        let is_final = self
            .is_final
            .find(message)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        Some((text, is_final))
    }
}

impl Default for StreamProfile {
    fn default() -> Self {
        Self {
            path: seed::STREAM_PATH.into(),
            token_transport: TokenTransport::Query,
            token_query_param: seed::QUERY_TOKEN.into(),
            token_message_field: "token".into(),
            session_query_param: seed::QUERY_SESSION.into(),
            language_query_param: None,
            reference_query_param: None,
            extra_query: Vec::new(),
            origin: None,
            greeting: Some(Greeting {
                field: "status".into(),
                value: seed::STATUS_CONNECTED.into(),
            }),
            transcript: None,
        }
    }
}

impl StreamProfile {
    /// Whether `message` is this server's greeting.
    pub fn is_greeting(&self, message: &serde_json::Value) -> bool {
        self.greeting.as_ref().is_some_and(|g| {
            FieldPath::new(&g.field)
                .find(message)
                .and_then(serde_json::Value::as_str)
                == Some(g.value.as_str())
        })
    }
}

/// A field in a JSON answer, dotted for nesting: `data.accessToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// The path as written, e.g. `data.accessToken`; it is not checked here.
    pub fn new(path: &str) -> Self {
        Self(path.to_owned())
    }

    /// The value at this path, if every step is an object holding the next.
    pub fn find<'a>(&self, value: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        self.0
            .split('.')
            .try_fold(value, |value, step| value.as_object()?.get(step))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `[server_profile]` value that cannot be used, saying what could.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProfileValue {
    /// Not a path on the server: it must start with `/`, be at most 200 printable
    /// ASCII characters, and hold no `?` or `#`. Holds the value.
    #[error("\"{0}\" is not a server path (it starts with / and has no spaces, ? or #)")]
    Path(String),
    /// Not a field or parameter name (1 to 64 ASCII letters, digits, `_`, `-`
    /// and `.`). Holds the value.
    #[error("\"{0}\" is not a field name (letters, digits, _ - and ., at most 64)")]
    Name(String),
    /// Not an `Origin` value (`http://` or `https://`, then a host and maybe a
    /// port). Holds the value.
    #[error("\"{0}\" is not an origin (https://host or https://host:port, no path)")]
    Origin(String),
    /// Not `query`, `first_message` or `header`. Holds the value.
    #[error("\"{0}\" is not a token transport (query, first_message or header)")]
    TokenTransport(String),
    /// Not `POST` or `PUT`. Holds the value.
    #[error("\"{0}\" is not a method for creating (POST or PUT)")]
    Method(String),
    /// `greeting_value` is empty; a server that does not greet is set with an
    /// empty `greeting_field` instead.
    #[error(
        "the greeting's value cannot be empty (set greeting_field = \"\" for a server that does not greet)"
    )]
    EmptyGreeting,
    /// `create_session_body` is JSON but not an object, or longer than 4096 bytes.
    #[error("the body must be one JSON object of at most 4096 characters")]
    BodyNotAnObject,
    /// `create_session_body` is not JSON; holds the parser's message.
    #[error("the body is not JSON ({0})")]
    BodyNotJson(String),
    /// The value is of another TOML type than the key takes.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the key takes, e.g. `a string`.
        expected: &'static str,
        /// The TOML type that was given.
        found: &'static str,
    },
    /// The table has no such key; holds the known keys, comma-separated.
    #[error("unknown key (known keys: {0})")]
    UnknownKey(String),
    /// An `extra_query` value is longer than 200 bytes; holds its name.
    #[error("the value of \"{0}\" is too long")]
    ParameterTooLong(String),
    /// An `extra_query` value is not a string.
    #[error("the value of \"{name}\" must be a string, found {found}")]
    ParameterNotAString {
        /// The parameter's name.
        name: String,
        /// The TOML type that was given.
        found: &'static str,
    },
}

/// A path on the server (`/api/v1/…`).
pub fn check_path(value: &str) -> Result<(), InvalidProfileValue> {
    if value.starts_with('/')
        && value.len() <= 200
        && !value.contains(['?', '#'])
        && value.chars().all(|c| c.is_ascii_graphic())
    {
        Ok(())
    } else {
        Err(InvalidProfileValue::Path(value.to_owned()))
    }
}

/// A JSON field or query parameter name.
pub fn check_name(value: &str) -> Result<(), InvalidProfileValue> {
    if !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        Ok(())
    } else {
        Err(InvalidProfileValue::Name(value.to_owned()))
    }
}

/// An `Origin` header value: a scheme and a host, nothing after.
pub fn check_origin(value: &str) -> Result<(), InvalidProfileValue> {
    let ok = ["http://", "https://"].iter().any(|scheme| {
        value.strip_prefix(scheme).is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        })
    });
    if ok {
        Ok(())
    } else {
        Err(InvalidProfileValue::Origin(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_create_body_carries_the_reference_and_language_as_json_strings() {
        let create = CreateSession {
            method: CreateMethod::Post,
            path: "/api/v1/sessions".into(),
            body: json!({"patient": {"ref": "{reference}"}, "lang": "{language}", "tags": ["{reference}", 3]}),
            id_field: FieldPath::new("data.id"),
        };
        assert_eq!(
            create.body_for("Room 3, \"Mr\" Jones", Some("hi-IN")),
            json!({"patient": {"ref": "Room 3, \"Mr\" Jones"}, "lang": "hi-IN", "tags": ["Room 3, \"Mr\" Jones", 3]})
        );
        assert_eq!(create.body_for("", None)["lang"], json!(""));
    }

    #[test]
    fn field_paths_reach_into_nested_answers() {
        let answer = json!({"data": {"accessToken": "a"}, "access_token": "b"});
        assert_eq!(
            FieldPath::new("data.accessToken").find(&answer),
            Some(&json!("a"))
        );
        assert_eq!(
            FieldPath::new("access_token").find(&answer),
            Some(&json!("b"))
        );
        assert_eq!(FieldPath::new("data.missing").find(&answer), None);
        assert_eq!(FieldPath::new("access_token.x").find(&answer), None);
    }

    #[test]
    fn a_configured_transcript_shape_is_read_and_others_are_not() {
        let fields = TranscriptFields {
            text: FieldPath::new("payload.words"),
            is_final: FieldPath::new("payload.done"),
        };
        assert_eq!(
            fields.read(&json!({"kind": "asr", "payload": {"words": "heard 3", "done": true}})),
            Some(("heard 3".to_owned(), true))
        );
        assert_eq!(
            fields.read(&json!({"payload": {"words": "heard"}})),
            Some(("heard".to_owned(), false)),
            "no flag: provisional"
        );
        assert_eq!(fields.read(&json!({"status": "connected"})), None);
    }

    #[test]
    fn the_default_greeting_is_the_seeds() {
        let profile = StreamProfile::default();
        assert!(profile.is_greeting(&json!({"status": "connected", "message": "ready"})));
        assert!(!profile.is_greeting(&json!({"status": "error"})));
        let silent = StreamProfile {
            greeting: None,
            ..StreamProfile::default()
        };
        assert!(!silent.is_greeting(&json!({"status": "connected"})));
    }

    #[test]
    fn names_paths_and_origins_are_checked() {
        assert!(check_path("/api/v1/auth/login").is_ok());
        assert!(check_path("api/login").is_err());
        assert!(check_path("/login?x=1").is_err());
        assert!(check_name("data.access_token").is_ok());
        assert!(check_name("a b").is_err());
        assert!(check_name("").is_err());
        assert!(check_origin("https://emr.clinic.example").is_ok());
        assert!(check_origin("https://emr.clinic.example:8443").is_ok());
        assert!(check_origin("https://emr.clinic.example/app").is_err());
        assert!(check_origin("emr.clinic.example").is_err());
    }
}
