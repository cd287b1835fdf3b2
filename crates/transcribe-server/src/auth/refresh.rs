//! Rotating refresh tokens with reuse detection (RFC 9700 §4.14.2).
//!
//! Each sign-in starts a token family. Refreshing retires the presented token and
//! issues the next one in the family. Presenting a retired token again means it
//! was copied, so the whole family is revoked. Only SHA-256 digests are stored,
//! in a JSON file, so families survive a server restart.
//!
//! One exception, as production servers make it: the token retired by the
//! latest rotation is accepted again for [`RETRY_GRACE_SECS`], as long as its
//! successor has not been used. That is a client whose refresh response was
//! lost on the way (a cut connection) retrying; without the grace, a network
//! glitch at the wrong moment would sign the doctor out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::jwt::unix_now;

/// Why a refresh was refused. Every variant means "sign in again".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// This server never issued the token.
    #[error("Invalid refresh token")]
    Unknown,
    /// A retired token came back: it was copied, so its whole family is now revoked.
    #[error("Refresh token reuse detected; all sessions of this sign-in were revoked")]
    Reused,
    /// The sign-in that started the family is older than the refresh-token lifetime.
    #[error("Refresh token expired")]
    Expired,
    /// The family was revoked earlier, after a reuse or by the admin endpoint.
    #[error("Refresh token revoked")]
    Revoked,
}

/// Why the store could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be read or written.
    #[error("refresh-token store {path}: {source}")]
    Io {
        /// The store's JSON file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but does not parse as a store.
    #[error("refresh-token store {path} is corrupt: {source}")]
    Corrupt {
        /// The store's JSON file.
        path: PathBuf,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Family {
    subject: String,
    expires_at: u64,
    revoked: bool,
    /// Digest of the one token of this family that may be used now.
    current: String,
    /// Digest of the token the latest rotation retired, and when.
    #[serde(default)]
    previous: Option<String>,
    #[serde(default)]
    rotated_at: u64,
}

/// How long a just-retired refresh token may be presented again (a retry of
/// a refresh whose response was lost).
pub const RETRY_GRACE_SECS: u64 = 30;

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    families: HashMap<String, Family>,
    /// Digest of every token ever issued → its family id.
    issued: HashMap<String, String>,
}

/// The server's refresh tokens.
#[derive(Debug)]
pub struct RefreshStore {
    path: PathBuf,
    ttl_secs: u64,
    state: State,
}

impl RefreshStore {
    /// Opens the store at `path`, creating it empty when absent.
    pub fn open(path: &Path, ttl_secs: u64) -> Result<Self, StoreError> {
        let state = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                path: path.to_owned(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Ok(Self {
            path: path.to_owned(),
            ttl_secs,
            state,
        })
    }

    /// Starts a family for a fresh sign-in and returns its first token.
    pub fn issue(&mut self, subject: &str) -> Result<String, StoreError> {
        let family_id = random_token();
        let token = random_token();
        let digest = digest(&token);
        self.state.families.insert(
            family_id.clone(),
            Family {
                subject: subject.to_owned(),
                expires_at: unix_now() + self.ttl_secs,
                revoked: false,
                current: digest.clone(),
                previous: None,
                rotated_at: 0,
            },
        );
        self.state.issued.insert(digest, family_id);
        self.save()?;
        Ok(token)
    }

    /// Retires `token` and returns its subject with the family's next token.
    pub fn rotate(
        &mut self,
        token: &str,
    ) -> Result<Result<(String, String), RefreshError>, StoreError> {
        let presented = digest(token);
        let Some(family_id) = self.state.issued.get(&presented).cloned() else {
            return Ok(Err(RefreshError::Unknown));
        };
        let Some(family) = self.state.families.get_mut(&family_id) else {
            return Ok(Err(RefreshError::Unknown));
        };
        if family.revoked {
            return Ok(Err(RefreshError::Revoked));
        }
        let now = unix_now();
        let retry = family.previous.as_deref() == Some(presented.as_str())
            && now.saturating_sub(family.rotated_at) <= RETRY_GRACE_SECS;
        if family.current != presented && !retry {
            family.revoked = true;
            self.save()?;
            return Ok(Err(RefreshError::Reused));
        }
        if family.expires_at <= now {
            return Ok(Err(RefreshError::Expired));
        }
        let next = random_token();
        let next_digest = digest(&next);
        if !retry {
            // A retry keeps the retired token and its time: the successor it
            // never received is simply replaced.
            family.previous = Some(presented);
            family.rotated_at = now;
        }
        family.current = next_digest.clone();
        let subject = family.subject.clone();
        self.state.issued.insert(next_digest, family_id);
        self.save()?;
        Ok(Ok((subject, next)))
    }

    /// Revokes every family (the admin "sign everyone out" knob). Returns how many.
    pub fn revoke_all(&mut self) -> Result<usize, StoreError> {
        let mut count = 0;
        for family in self.state.families.values_mut().filter(|f| !f.revoked) {
            family.revoked = true;
            count += 1;
        }
        self.save()?;
        Ok(count)
    }

    fn save(&self) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        let bytes = serde_json::to_vec(&self.state).expect("plain maps always serialise");
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, RefreshStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = RefreshStore::open(&dir.path().join("refresh.json"), 3600).unwrap();
        (dir, store)
    }

    #[test]
    fn rotation_retires_the_old_token_and_reuse_revokes_the_family() {
        let (_dir, mut store) = store();
        let first = store.issue("doc").unwrap();
        let (subject, second) = store.rotate(&first).unwrap().unwrap();
        assert_eq!(subject, "doc");
        assert_ne!(first, second);
        let (_, third) = store.rotate(&second).unwrap().unwrap();
        // `first` again, after its successor was used: a copy. All revoked.
        assert_eq!(store.rotate(&first).unwrap(), Err(RefreshError::Reused));
        // The legitimate holder is now signed out too.
        assert_eq!(store.rotate(&third).unwrap(), Err(RefreshError::Revoked));
    }

    #[test]
    fn a_retry_after_a_lost_response_is_answered_and_the_lost_token_dies() {
        let (_dir, mut store) = store();
        let first = store.issue("doc").unwrap();
        let (_, lost) = store.rotate(&first).unwrap().unwrap();
        // The response never arrived; the client retries with what it holds.
        let (_, second) = store.rotate(&first).unwrap().unwrap();
        assert_ne!(second, lost);
        let (_, third) = store.rotate(&second).unwrap().unwrap();
        // The undelivered token is no longer any use: presenting it is reuse.
        assert_eq!(store.rotate(&lost).unwrap(), Err(RefreshError::Reused));
        assert_eq!(store.rotate(&third).unwrap(), Err(RefreshError::Revoked));
    }

    #[test]
    fn the_grace_ends_with_its_time() {
        let (_dir, mut store) = store();
        let first = store.issue("doc").unwrap();
        let _ = store.rotate(&first).unwrap().unwrap();
        for family in store.state.families.values_mut() {
            family.rotated_at -= RETRY_GRACE_SECS + 1;
        }
        assert_eq!(store.rotate(&first).unwrap(), Err(RefreshError::Reused));
    }

    #[test]
    fn families_are_independent_and_survive_reopening() {
        let (dir, mut store) = store();
        let a = store.issue("a").unwrap();
        let b = store.issue("b").unwrap();
        let (_, a2) = store.rotate(&a).unwrap().unwrap();
        let _ = store.rotate(&a2).unwrap().unwrap();
        assert_eq!(store.rotate(&a).unwrap(), Err(RefreshError::Reused));
        let mut reopened = RefreshStore::open(&dir.path().join("refresh.json"), 3600).unwrap();
        let (subject, _) = reopened.rotate(&b).unwrap().unwrap();
        assert_eq!(subject, "b");
        assert_eq!(
            reopened.rotate("made-up").unwrap(),
            Err(RefreshError::Unknown)
        );
    }

    #[test]
    fn revoke_all_signs_everyone_out() {
        let (_dir, mut store) = store();
        let a = store.issue("a").unwrap();
        assert_eq!(store.revoke_all().unwrap(), 1);
        assert_eq!(store.rotate(&a).unwrap(), Err(RefreshError::Revoked));
    }

    #[test]
    fn the_file_holds_no_token() {
        let (dir, mut store) = store();
        let token = store.issue("a").unwrap();
        let text = std::fs::read_to_string(dir.path().join("refresh.json")).unwrap();
        assert!(!text.contains(&token));
    }
}
