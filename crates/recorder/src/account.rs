//! Which server and account this machine last signed in to — never a token.
//!
//! Kept in the config directory so `status`, `logout` and a silent sign-in at
//! start know which keychain entry to use.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The remembered sign-in (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedAccount {
    /// The server's web address, without a trailing slash.
    pub server: String,
    /// The account the server signed in (usually the e-mail address); it names the keychain entry.
    pub account: String,
}

/// Why the remembered account could not be read or written.
pub type AccountFileError = crate::json_file::JsonFileError;

const FILE_NAME: &str = "account.json";

/// The remembered account, or `None` before the first sign-in.
pub fn load(config_dir: &Path) -> Result<Option<RememberedAccount>, AccountFileError> {
    crate::json_file::read(&config_dir.join(FILE_NAME))
}

/// Remembers the account (written whole, never half).
pub fn save(config_dir: &Path, remembered: &RememberedAccount) -> Result<(), AccountFileError> {
    crate::json_file::write(&config_dir.join(FILE_NAME), remembered)
}

/// Forgets the account (signing out); nothing remembered is not an error.
pub fn forget(config_dir: &Path) -> Result<(), AccountFileError> {
    crate::json_file::remove(&config_dir.join(FILE_NAME))
}
