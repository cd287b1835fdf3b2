//! The `[server_profile]` table of the administrator's file: how the clinic's
//! backend names its paths, fields and parameters. Only the administrator's
//! file sets it (a person cannot, so it needs no lock); each bad key is
//! ignored with a problem naming its line, and the seed default stays.

use std::collections::BTreeMap;

use toml::Spanned;

use crate::server_profile::{
    CreateMethod, CreateSession, FieldPath, Greeting, InvalidProfileValue, ServerProfile,
    TokenTransport, TranscriptFields, check_name, check_origin, check_path,
};

/// The table's name in the file.
pub const TABLE: &str = "server_profile";

/// Every key of the table, as documented in deployment.md.
pub const KEYS: [&str; 25] = [
    "login_path",
    "refresh_path",
    "login_email_field",
    "login_password_field",
    "refresh_request_field",
    "access_token_field",
    "refresh_token_field",
    "expires_in_field",
    "stream_path",
    "token_transport",
    "token_query_param",
    "token_message_field",
    "session_query_param",
    "language_query_param",
    "reference_query_param",
    "extra_query",
    "origin",
    "greeting_field",
    "greeting_value",
    "transcript_text_field",
    "transcript_final_field",
    "create_session_path",
    "create_session_method",
    "create_session_body",
    "create_session_id_field",
];

type Table = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// One ignored key: its byte offset in the file, its name and why.
pub struct TableProblem {
    pub offset: usize,
    pub key: String,
    pub message: String,
}

/// Reads the table over the seed defaults.
pub fn read(table: &Table) -> (ServerProfile, Vec<TableProblem>) {
    let mut profile = ServerProfile::default();
    let mut problems = Vec::new();
    let mut greeting_field = profile.stream.greeting.as_ref().map(|g| g.field.clone());
    let mut greeting_value = profile.stream.greeting.as_ref().map(|g| g.value.clone());
    let mut transcript_text: Option<(usize, String)> = None;
    let mut transcript_final: Option<(usize, String)> = None;
    let mut create = CreateParts::default();
    for (name, value) in table {
        let key = name.get_ref().as_str();
        let result = if let Some(part) = key.strip_prefix("create_session_") {
            create.set(part, value)
        } else if key == "extra_query" {
            read_extra_query(value.get_ref()).map(|pairs| profile.stream.extra_query = pairs)
        } else if let ("transcript_text_field" | "transcript_final_field", Some(text)) =
            (key, value.get_ref().as_str())
        {
            let slot = if key == "transcript_text_field" {
                &mut transcript_text
            } else {
                &mut transcript_final
            };
            check_name(text.trim())
                .map(|()| *slot = Some((value.span().start, text.trim().to_owned())))
        } else {
            match value.get_ref() {
                toml::Value::String(text) => set(
                    &mut profile,
                    &mut greeting_field,
                    &mut greeting_value,
                    key,
                    text.trim(),
                ),
                other => Err(InvalidProfileValue::WrongType {
                    expected: "a string",
                    found: other.type_str(),
                }),
            }
        };
        if let Err(message) = result {
            problems.push(TableProblem {
                offset: value.span().start,
                key: format!("{TABLE}.{key}"),
                message: format!("{message}; the default is used"),
            });
        }
    }
    match (transcript_text, transcript_final) {
        (Some((_, text)), Some((_, is_final))) => {
            profile.stream.transcript = Some(TranscriptFields {
                text: FieldPath::new(&text),
                is_final: FieldPath::new(&is_final),
            });
        }
        (Some((offset, _)), None) | (None, Some((offset, _))) => problems.push(TableProblem {
            offset,
            key: format!("{TABLE}.transcript_text_field"),
            message:
                "transcript_text_field and transcript_final_field go together; both are ignored"
                    .into(),
        }),
        (None, None) => {}
    }
    match create.build() {
        Ok(built) => profile.create_session = built,
        Err((offset, message)) => problems.push(TableProblem {
            offset,
            key: format!("{TABLE}.create_session_path"),
            message,
        }),
    }
    profile.stream.greeting = match (greeting_field, greeting_value) {
        (Some(field), Some(value)) => Some(Greeting { field, value }),
        _ => None,
    };
    (profile, problems)
}

fn set(
    profile: &mut ServerProfile,
    greeting_field: &mut Option<String>,
    greeting_value: &mut Option<String>,
    key: &str,
    value: &str,
) -> Result<(), InvalidProfileValue> {
    let auth = &mut profile.auth;
    let stream = &mut profile.stream;
    let path = |target: &mut String| check_path(value).map(|()| *target = value.to_owned());
    let name = |target: &mut String| check_name(value).map(|()| *target = value.to_owned());
    let field =
        |target: &mut FieldPath| check_name(value).map(|()| *target = FieldPath::new(value));
    // An empty value switches an optional parameter off.
    let optional = |target: &mut Option<String>| {
        if value.is_empty() {
            *target = None;
            Ok(())
        } else {
            check_name(value).map(|()| *target = Some(value.to_owned()))
        }
    };
    match key {
        "login_path" => path(&mut auth.login_path),
        "refresh_path" => path(&mut auth.refresh_path),
        "login_email_field" => name(&mut auth.login_email_field),
        "login_password_field" => name(&mut auth.login_password_field),
        "refresh_request_field" => name(&mut auth.refresh_request_field),
        "access_token_field" => field(&mut auth.access_token_field),
        "refresh_token_field" => field(&mut auth.refresh_token_field),
        "expires_in_field" => field(&mut auth.expires_in_field),
        "stream_path" => path(&mut stream.path),
        "token_transport" => TokenTransport::parse(value)
            .map(|t| stream.token_transport = t)
            .ok_or_else(|| InvalidProfileValue::TokenTransport(value.to_owned())),
        "token_query_param" => name(&mut stream.token_query_param),
        "token_message_field" => name(&mut stream.token_message_field),
        "session_query_param" => name(&mut stream.session_query_param),
        "language_query_param" => optional(&mut stream.language_query_param),
        "reference_query_param" => optional(&mut stream.reference_query_param),
        "origin" if value.is_empty() => {
            stream.origin = None;
            Ok(())
        }
        "origin" => check_origin(value).map(|()| stream.origin = Some(value.to_owned())),
        "greeting_field" => optional(greeting_field),
        "greeting_value" if value.is_empty() => Err(InvalidProfileValue::EmptyGreeting),
        "greeting_value" => {
            *greeting_value = Some(value.to_owned());
            Ok(())
        }
        _ => Err(unknown_key()),
    }
}

fn unknown_key() -> InvalidProfileValue {
    InvalidProfileValue::UnknownKey(KEYS.join(", "))
}

/// The `create_session_*` keys, read apart: they only make sense together.
#[derive(Default)]
struct CreateParts {
    path: Option<String>,
    method: Option<CreateMethod>,
    body: Option<serde_json::Value>,
    id_field: Option<FieldPath>,
    /// Where the first of them is, for a problem about the set.
    first: Option<usize>,
}

impl CreateParts {
    fn set(&mut self, part: &str, value: &Spanned<toml::Value>) -> Result<(), InvalidProfileValue> {
        let Some(text) = value.get_ref().as_str().map(str::trim) else {
            return Err(InvalidProfileValue::WrongType {
                expected: "a string",
                found: value.get_ref().type_str(),
            });
        };
        match part {
            "path" => check_path(text).map(|()| self.path = Some(text.to_owned())),
            "method" => CreateMethod::parse(text)
                .map(|m| self.method = Some(m))
                .ok_or_else(|| InvalidProfileValue::Method(text.to_owned())),
            "body" => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(body @ serde_json::Value::Object(_)) if text.len() <= 4096 => {
                    self.body = Some(body);
                    Ok(())
                }
                Ok(_) => Err(InvalidProfileValue::BodyNotAnObject),
                Err(e) => Err(InvalidProfileValue::BodyNotJson(e.to_string())),
            },
            "id_field" => check_name(text).map(|()| self.id_field = Some(FieldPath::new(text))),
            _ => Err(unknown_key()),
        }?;
        self.first = Some(
            self.first
                .unwrap_or(value.span().start)
                .min(value.span().start),
        );
        Ok(())
    }

    /// The call, when a path was given; the other keys alone are a mistake.
    fn build(self) -> Result<Option<CreateSession>, (usize, String)> {
        match (self.path, self.first) {
            (Some(path), _) => Ok(Some(CreateSession {
                method: self.method.unwrap_or_default(),
                path,
                body: self.body.unwrap_or_else(|| serde_json::json!({})),
                id_field: self.id_field.unwrap_or_else(|| FieldPath::new("session_id")),
            })),
            (None, Some(offset)) => Err((
                offset,
                "the create_session_* keys need create_session_path; no consultation is created on the server".into(),
            )),
            (None, None) => Ok(None),
        }
    }
}

/// `extra_query = { language_code = "hi-IN", model = "medical" }`.
fn read_extra_query(value: &toml::Value) -> Result<Vec<(String, String)>, InvalidProfileValue> {
    let toml::Value::Table(table) = value else {
        return Err(InvalidProfileValue::WrongType {
            expected: "a table such as { language_code = \"hi-IN\" }",
            found: value.type_str(),
        });
    };
    table
        .iter()
        .map(|(name, value)| {
            check_name(name)?;
            match value {
                toml::Value::String(text) if text.len() <= 200 => Ok((name.clone(), text.clone())),
                toml::Value::String(_) => Err(InvalidProfileValue::ParameterTooLong(name.clone())),
                other => Err(InvalidProfileValue::ParameterNotAString {
                    name: name.clone(),
                    found: other.type_str(),
                }),
            }
        })
        .collect()
}
