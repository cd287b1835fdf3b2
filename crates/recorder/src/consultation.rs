//! A consultation's id as the clinic's system gives it. The seed backend
//! ties every connection to a session the doctor started in the clinic's web
//! app and checks it on every message, so the id must come from there (typed,
//! pasted, or passed on the command line) rather than be made up here. The
//! same id names the spool file and every reconnect, so it is checked before
//! anything is created.

pub use consult_protocol::MAX_SESSION_ID_LEN as MAX_LEN;
/// The exact rule, for ids that must not be trimmed or explained.
pub use consult_protocol::is_valid_session_id;

/// Why an id from outside cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSessionId {
    /// Nothing is left once the spaces around it are trimmed.
    #[error("the consultation ID is empty")]
    Empty,
    /// More than [`MAX_LEN`] characters.
    #[error("the consultation ID is longer than {MAX_LEN} characters")]
    TooLong,
    /// Holds the first character that is not an ASCII letter or digit, `-` or `_`.
    #[error("the consultation ID may hold only letters, digits, - and _ (\"{0}\" is not allowed)")]
    BadCharacter(char),
}

/// The id, trimmed, if it is safe to use as a file name and a URL value.
pub fn check_session_id(id: &str) -> Result<String, BadSessionId> {
    let id = id.trim();
    if id.is_empty() {
        return Err(BadSessionId::Empty);
    }
    if id.chars().count() > MAX_LEN {
        return Err(BadSessionId::TooLong);
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !consult_protocol::is_session_id_char(*c))
    {
        return Err(BadSessionId::BadCharacter(bad));
    }
    Ok(id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clinic_ids_pass_and_hostile_ones_are_refused_with_a_reason() {
        assert_eq!(
            check_session_id(" ENC_2026-0042 ").unwrap(),
            "ENC_2026-0042"
        );
        assert_eq!(
            check_session_id("3f2a9c1e-7b4d-4f7a-9a51-0c2d1e6b8f00").unwrap(),
            "3f2a9c1e-7b4d-4f7a-9a51-0c2d1e6b8f00"
        );
        assert_eq!(check_session_id("  "), Err(BadSessionId::Empty));
        assert_eq!(
            check_session_id(&"a".repeat(MAX_LEN + 1)),
            Err(BadSessionId::TooLong)
        );
        assert_eq!(
            check_session_id("../../etc/passwd"),
            Err(BadSessionId::BadCharacter('.'))
        );
        assert_eq!(
            check_session_id("a&token=x"),
            Err(BadSessionId::BadCharacter('&'))
        );
        assert_eq!(check_session_id(".."), Err(BadSessionId::BadCharacter('.')));
        assert_eq!(
            check_session_id("enc:42"),
            Err(BadSessionId::BadCharacter(':'))
        );
        assert!(
            check_session_id("a b")
                .unwrap_err()
                .to_string()
                .contains("letters, digits, - and _")
        );
    }
}
