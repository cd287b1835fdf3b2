//! The seed streaming URL as the server profile describes it: path, session,
//! language, reference and fixed parameters, and the token when it travels in
//! the query.

use reqwest::Url;
use zeroize::Zeroizing;

use crate::auth::Secret;
use crate::server_profile::{StreamProfile, TokenTransport};

/// What one connection's URL says besides the profile.
pub struct UrlParts<'a> {
    pub ws_base: &'a str,
    pub session_id: &'a str,
    pub language: Option<&'a str>,
    pub reference: &'a str,
}

/// The URL to open. It may hold the access token, so it is wiped when dropped
/// and never logged.
pub fn stream_url(
    profile: &StreamProfile,
    parts: &UrlParts<'_>,
    token: &Secret,
) -> Result<Zeroizing<String>, String> {
    let mut url = Url::parse(&format!("{}{}", parts.ws_base, profile.path))
        .map_err(|_| format!("{}{} is not a URL", parts.ws_base, profile.path))?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair(&profile.session_query_param, parts.session_id);
        if let (Some(name), Some(language)) = (&profile.language_query_param, parts.language) {
            query.append_pair(name, language);
        }
        if let Some(name) = &profile.reference_query_param
            && !parts.reference.is_empty()
        {
            query.append_pair(name, parts.reference);
        }
        for (name, value) in &profile.extra_query {
            query.append_pair(name, value);
        }
    }
    let mut text = Zeroizing::new(String::from(url));
    if profile.token_transport == TokenTransport::Query {
        // Encoded on its own and appended last, so the token is only ever in
        // strings that are wiped.
        let mut holder = Url::parse("ws://token.invalid/").map_err(|e| e.to_string())?;
        holder
            .query_pairs_mut()
            .append_pair(&profile.token_query_param, token.expose());
        let encoded = Zeroizing::new(String::from(holder));
        let pair = encoded.split_once('?').map_or("", |(_, pair)| pair);
        text.push('&');
        text.push_str(pair);
    }
    Ok(text)
}

/// The first message of `TokenTransport::FirstMessage`: `{"token": "…"}`.
pub fn token_message(profile: &StreamProfile, token: &Secret) -> Zeroizing<String> {
    let mut object = serde_json::Map::new();
    object.insert(
        profile.token_message_field.clone(),
        token.expose().to_owned().into(),
    );
    Zeroizing::new(serde_json::Value::Object(object).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(language: Option<&'a str>, reference: &'a str) -> UrlParts<'a> {
        UrlParts {
            ws_base: "ws://127.0.0.1:9",
            session_id: "visit 7&x",
            language,
            reference,
        }
    }

    #[test]
    fn the_default_is_the_seed_documents_url() {
        let url = stream_url(
            &StreamProfile::default(),
            &parts(Some("hi-IN"), "Room 3"),
            &Secret::new("t.o.k"),
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "ws://127.0.0.1:9/api/v1/ws/transcribe?session_id=visit+7%26x&token=t.o.k"
        );
    }

    #[test]
    fn a_configured_profile_names_everything_and_keeps_the_token_out_when_asked() {
        let profile = StreamProfile {
            path: "/ws/v2/stream".into(),
            token_transport: TokenTransport::FirstMessage,
            session_query_param: "consultation".into(),
            language_query_param: Some("language_code".into()),
            reference_query_param: Some("encounter".into()),
            extra_query: vec![("model".into(), "medical".into())],
            ..StreamProfile::default()
        };
        let token = Secret::new("secret-token");
        let url = stream_url(&profile, &parts(Some("hi-IN"), "E-42"), &token).unwrap();
        assert_eq!(
            url.as_str(),
            "ws://127.0.0.1:9/ws/v2/stream?consultation=visit+7%26x&language_code=hi-IN\
             &encounter=E-42&model=medical"
        );
        assert_eq!(
            token_message(&profile, &token).as_str(),
            r#"{"token":"secret-token"}"#
        );
    }
}
