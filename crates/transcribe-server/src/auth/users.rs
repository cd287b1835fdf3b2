//! The accounts the server accepts.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The demo account created when no account is configured.
pub const DEMO_EMAIL: &str = "demo@clinic.example";
/// The demo account's password (printed at start; a development server only).
pub const DEMO_PASSWORD: &str = "consult-demo";

/// Why an account list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// An entry is not EMAIL:PASSWORD. Holds only the text before the first colon,
    /// so a password never reaches a log.
    #[error("account {0:?} is not EMAIL:PASSWORD")]
    Malformed(String),
    /// The accounts file could not be read.
    #[error("cannot read accounts file {path}: {source}")]
    Read {
        /// The accounts file, as displayed.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Accounts by e-mail, with passwords kept only as SHA-256 digests in memory.
#[derive(Debug, Default, Clone)]
pub struct Users {
    by_email: HashMap<String, [u8; 32]>,
}

impl Users {
    /// The accounts from `--user` entries and from `--users-file`, if given.
    /// Empty when none is configured; the caller then uses the demo account.
    pub fn from_config(entries: &[String], file: Option<&Path>) -> Result<Self, UsersError> {
        let mut users = Users::default();
        for entry in entries {
            users.add_entry(entry)?;
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| UsersError::Read {
                path: path.display().to_string(),
                source,
            })?;
            for line in text.lines().map(str::trim) {
                if !line.is_empty() && !line.starts_with('#') {
                    users.add_entry(line)?;
                }
            }
        }
        Ok(users)
    }

    /// The demo account alone.
    pub fn demo() -> Self {
        let mut users = Users::default();
        users.add(DEMO_EMAIL, DEMO_PASSWORD);
        users
    }

    /// Whether no account is configured (the server then creates the demo account).
    pub fn is_empty(&self) -> bool {
        self.by_email.is_empty()
    }

    /// Adds or replaces an account. The e-mail is kept in lower case, so sign-in
    /// ignores its case.
    pub fn add(&mut self, email: &str, password: &str) {
        self.by_email
            .insert(email.to_ascii_lowercase(), digest(password));
    }

    fn add_entry(&mut self, entry: &str) -> Result<(), UsersError> {
        match entry.split_once(':') {
            Some((email, password)) if !email.is_empty() && !password.is_empty() => {
                self.add(email.trim(), password);
                Ok(())
            }
            // Only the e-mail part goes into the error: the entry may hold a password.
            _ => Err(UsersError::Malformed(
                entry.split(':').next().unwrap_or_default().to_owned(),
            )),
        }
    }

    /// The canonical account name when the password matches.
    pub fn check(&self, email: &str, password: &str) -> Option<String> {
        let email = email.trim().to_ascii_lowercase();
        let expected = self.by_email.get(&email)?;
        let given = digest(password);
        // Compare digests without an early exit.
        let same = expected
            .iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        same.then_some(email)
    }
}

fn digest(password: &str) -> [u8; 32] {
    Sha256::digest(password.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_passwords_case_insensitively_by_email() {
        let users =
            Users::from_config(&["Doc@Clinic.example:s3cret:with:colons".into()], None).unwrap();
        assert_eq!(
            users.check("doc@clinic.example", "s3cret:with:colons"),
            Some("doc@clinic.example".into())
        );
        assert_eq!(users.check("doc@clinic.example", "wrong"), None);
        assert_eq!(users.check("nobody@clinic.example", "s3cret"), None);
    }

    #[test]
    fn malformed_entries_do_not_echo_passwords() {
        let err = Users::from_config(&["no-colon-here".into()], None).unwrap_err();
        assert!(err.to_string().contains("no-colon-here"));
        let err = Users::from_config(&["doc@x:".into()], None).unwrap_err();
        assert!(matches!(err, UsersError::Malformed(e) if e == "doc@x"));
    }
}
