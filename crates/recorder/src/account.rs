//! Which server and account this machine last signed in to — never a token.
//!
//! Kept in the config directory so `status`, `logout` and a silent sign-in at
//! start know which keychain entry to use.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The remembered sign-in (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedAccount {
    pub server: String,
    pub account: String,
}

/// Why the remembered account could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {reason}")]
pub struct AccountFileError {
    action: &'static str,
    path: PathBuf,
    reason: String,
}

const FILE_NAME: &str = "account.json";

pub fn load(config_dir: &Path) -> Result<Option<RememberedAccount>, AccountFileError> {
    let path = config_dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AccountFileError {
                action: "reading",
                path,
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AccountFileError {
            action: "reading",
            path,
            reason: e.to_string(),
        }),
    }
}

pub fn save(config_dir: &Path, remembered: &RememberedAccount) -> Result<(), AccountFileError> {
    let path = config_dir.join(FILE_NAME);
    let fail = |action, e: std::io::Error| AccountFileError {
        action,
        path: path.clone(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(config_dir).map_err(|e| fail("creating the folder of", e))?;
    let json = serde_json::to_vec_pretty(remembered).expect("plain struct serialises");
    std::fs::write(&path, json).map_err(|e| fail("writing", e))
}

pub fn forget(config_dir: &Path) -> Result<(), AccountFileError> {
    let path = config_dir.join(FILE_NAME);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(AccountFileError {
            action: "removing",
            path,
            reason: e.to_string(),
        }),
    }
}
