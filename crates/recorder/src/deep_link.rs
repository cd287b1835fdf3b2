//! Reads a link from the clinic's system that asks for a recording:
//! `consult-recorder://record?session_id=ENC-42&reference=Room%203&language=hi-IN`.
//!
//! A link can come from any web page, so it never starts anything by itself:
//! it only fills in what the doctor then confirms. Anything unexpected (another
//! scheme or action, a missing or malformed id, unknown or repeated
//! parameters, overlong values) is refused with a reason a person can read.
//! The desktop shell hands links to [`crate::app::App::offer_link`].

use reqwest::Url;

use crate::consultation::{BadSessionId, check_session_id};
use crate::settings::check_language;

/// The URL scheme registered for the app.
pub const SCHEME: &str = "consult-recorder";
/// Longest link read at all.
const MAX_LINK_LEN: usize = 2048;
/// Longest reference, as the recorder's own field allows.
const MAX_REFERENCE_CHARS: usize = 200;

/// What a valid link asks for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RecordLink {
    /// The consultation's id, checked and trimmed.
    pub session_id: String,
    /// The patient/encounter reference (may be empty).
    pub reference: String,
    /// The recognition language (BCP 47, e.g. `hi-IN`); the configured one if absent.
    pub language: Option<String>,
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    /// The text does not parse as a URL.
    #[error("the link is not a web address")]
    NotAUrl,
    /// The link is over 2048 bytes, so it is not read at all.
    #[error("the link is longer than {MAX_LINK_LEN} characters")]
    TooLong,
    /// The link's scheme is not `consult-recorder`; holds the scheme.
    #[error("the link is for \"{0}\", not Consult Recorder")]
    OtherScheme(String),
    /// The link asks for something other than `record`; holds what (cut to 40 characters).
    #[error("the link asks for \"{0}\"; only \"record\" is understood")]
    OtherAction(String),
    /// The link has no `session_id`.
    #[error("the link names no consultation (session_id is missing)")]
    MissingSessionId,
    /// The `session_id` is not a safe consultation id.
    #[error("the link's consultation ID is not usable: {0}")]
    BadSessionId(#[from] BadSessionId),
    /// The `reference` is over 200 characters or holds a control character.
    #[error("the link's reference is longer than {MAX_REFERENCE_CHARS} characters or not one line")]
    BadReference,
    /// The `language` is not a language tag; holds why.
    #[error("the link's language is not usable: {0}")]
    BadLanguage(String),
    /// The link has a parameter other than `session_id`, `reference` and `language`; holds its name (cut to 40 characters).
    #[error("the link has a parameter this version does not know: \"{0}\"")]
    UnknownParameter(String),
    /// The link gives a parameter twice; holds its name.
    #[error("the link gives \"{0}\" more than once")]
    RepeatedParameter(String),
}

/// Reads `link`, or says why it is refused.
pub fn parse(link: &str) -> Result<RecordLink, LinkRefused> {
    if link.len() > MAX_LINK_LEN {
        return Err(LinkRefused::TooLong);
    }
    let url = Url::parse(link.trim()).map_err(|_| LinkRefused::NotAUrl)?;
    if url.scheme() != SCHEME {
        return Err(LinkRefused::OtherScheme(url.scheme().to_owned()));
    }
    let action = url.host_str().unwrap_or_default();
    if action != "record" || !matches!(url.path(), "" | "/") {
        let asked = format!("{action}{}", url.path());
        return Err(LinkRefused::OtherAction(asked.chars().take(40).collect()));
    }
    let (mut session_id, mut reference, mut language) = (None, None, None);
    for (name, value) in url.query_pairs() {
        let slot = match name.as_ref() {
            "session_id" => &mut session_id,
            "reference" => &mut reference,
            "language" => &mut language,
            other => {
                return Err(LinkRefused::UnknownParameter(
                    other.chars().take(40).collect(),
                ));
            }
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(LinkRefused::RepeatedParameter(name.into_owned()));
        }
    }
    let session_id = check_session_id(&session_id.ok_or(LinkRefused::MissingSessionId)?)?;
    let reference = reference.unwrap_or_default();
    if reference.chars().count() > MAX_REFERENCE_CHARS || reference.chars().any(char::is_control) {
        return Err(LinkRefused::BadReference);
    }
    if let Some(language) = &language {
        check_language(language).map_err(|e| LinkRefused::BadLanguage(e.to_string()))?;
    }
    Ok(RecordLink {
        session_id,
        reference,
        language,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_from_the_clinic_system_is_read_whole() {
        assert_eq!(
            parse(
                "consult-recorder://record?session_id=ENC-2026-0042&reference=Room%203%2C%20Mr%20Jones&language=hi-IN"
            ),
            Ok(RecordLink {
                session_id: "ENC-2026-0042".into(),
                reference: "Room 3, Mr Jones".into(),
                language: Some("hi-IN".into()),
            })
        );
        assert_eq!(
            parse("consult-recorder://record/?session_id=7").map(|l| l.reference),
            Ok(String::new())
        );
    }

    #[test]
    fn hostile_and_unexpected_links_are_refused_with_a_reason() {
        let refused = |link: &str| parse(link).unwrap_err();
        assert_eq!(refused("not a link"), LinkRefused::NotAUrl);
        assert_eq!(
            refused("https://evil.example/record?session_id=1"),
            LinkRefused::OtherScheme("https".into())
        );
        assert!(matches!(
            refused("consult-recorder://delete?session_id=1"),
            LinkRefused::OtherAction(_)
        ));
        assert!(matches!(
            refused("consult-recorder://record/../../x?session_id=1"),
            LinkRefused::OtherAction(_)
        ));
        assert_eq!(
            refused("consult-recorder://record?reference=x"),
            LinkRefused::MissingSessionId
        );
        assert!(matches!(
            refused("consult-recorder://record?session_id=..%2F..%2Fetc"),
            LinkRefused::BadSessionId(_)
        ));
        assert_eq!(
            refused("consult-recorder://record?session_id=1&session_id=2"),
            LinkRefused::RepeatedParameter("session_id".into())
        );
        assert_eq!(
            refused("consult-recorder://record?session_id=1&autostart=1"),
            LinkRefused::UnknownParameter("autostart".into())
        );
        assert_eq!(
            refused(&format!(
                "consult-recorder://record?session_id=1&reference={}",
                "a".repeat(201)
            )),
            LinkRefused::BadReference
        );
        assert_eq!(
            refused("consult-recorder://record?session_id=1&reference=a%0Ab"),
            LinkRefused::BadReference
        );
        assert!(matches!(
            refused("consult-recorder://record?session_id=1&language=%3Cscript%3E"),
            LinkRefused::BadLanguage(_)
        ));
        assert_eq!(
            refused(&format!(
                "consult-recorder://record?session_id={}",
                "1".repeat(3000)
            )),
            LinkRefused::TooLong
        );
        assert!(
            refused("consult-recorder://record")
                .to_string()
                .contains("names no consultation")
        );
    }
}
