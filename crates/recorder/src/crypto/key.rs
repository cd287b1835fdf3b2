//! The per-install data key: 32 random bytes made on first use and kept only
//! in the OS keychain, next to (but apart from) the sign-in.
//!
//! Signing out does not remove it: audio still waiting to be uploaded is
//! sealed under it. Losing it (a reset keychain) makes such audio unreadable,
//! which is the point of keeping it nowhere else.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore;
use zeroize::Zeroizing;

use super::Sealer;
use crate::auth::{EntryKey, Keychain, KeychainError, Secret};

/// Why the data key is not available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The keychain could not be read or written.
    #[error(
        "the key that protects recordings on this computer could not be read from the keychain \
         ({0}); nothing can be recorded or read back until the keychain answers"
    )]
    Keychain(#[from] KeychainError),
    /// The keychain's entry is not a 32-byte key in base64.
    #[error(
        "the keychain's entry for the recordings' key is damaged (not 32 bytes); \
         recordings sealed under it cannot be read"
    )]
    Corrupt,
}

/// The key that seals spool records and stored transcripts. Cheap to clone;
/// the key schedule is zeroed when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct DataKey(Sealer);

impl DataKey {
    /// A new random key (for a new install, or a test).
    pub fn generate() -> Self {
        Self::from_bytes(&random_bytes())
    }

    fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(Sealer::new(bytes))
    }

    fn from_secret(secret: &Secret) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(
            STANDARD_NO_PAD
                .decode(secret.expose())
                .map_err(|_| KeyError::Corrupt)?,
        );
        let array: &[u8; 32] = bytes.as_slice().try_into().map_err(|_| KeyError::Corrupt)?;
        Ok(Self::from_bytes(array))
    }

    /// Seals and opens items under this key.
    pub fn sealer(&self) -> &Sealer {
        &self.0
    }
}

fn random_bytes() -> Zeroizing<[u8; 32]> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(bytes.as_mut());
    bytes
}

/// The keychain entry of the data key.
pub fn entry_key() -> EntryKey {
    EntryKey {
        service: "consult-recorder data key".into(),
        account: "recordings on this computer".into(),
    }
}

/// Where the data key comes from: the keychain the first time it is needed,
/// memory after that. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DataKeySource {
    keychain: Option<Keychain>,
    cached: Arc<Mutex<Option<DataKey>>>,
}

impl DataKeySource {
    /// The product's source: the OS keychain (made there on first use).
    pub fn keychain(keychain: Keychain) -> Self {
        Self {
            keychain: Some(keychain),
            cached: Arc::default(),
        }
    }

    /// A key given directly (tests, and tools that already hold it).
    pub fn fixed(key: DataKey) -> Self {
        Self {
            keychain: None,
            cached: Arc::new(Mutex::new(Some(key))),
        }
    }

    /// The key, fetched (or made) on the first call. Blocks on the keychain
    /// thread that first time only.
    pub fn get(&self) -> Result<DataKey, KeyError> {
        let mut cached = self.cached.lock().expect("data key lock poisoned");
        if let Some(key) = cached.as_ref() {
            return Ok(key.clone());
        }
        let keychain = self
            .keychain
            .as_ref()
            .expect("a source without a keychain always holds its key");
        let secret = keychain.load_or_create_blocking(&entry_key(), || {
            Secret::new(STANDARD_NO_PAD.encode(random_bytes().as_ref()))
        })?;
        let key = DataKey::from_secret(&secret)?;
        *cached = Some(key.clone());
        tracing::debug!("the recordings' data key is loaded");
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_key_reads_back_as_the_same_key() {
        let secret = Secret::new(STANDARD_NO_PAD.encode([9u8; 32]));
        let key = DataKey::from_secret(&secret).unwrap();
        let sealed = DataKey::from_bytes(&[9u8; 32]).sealer().seal(b"a", b"text");
        assert_eq!(key.sealer().open(b"a", &sealed).unwrap(), b"text");
        assert_eq!(
            DataKey::from_secret(&Secret::new("c2hvcnQ")).unwrap_err(),
            KeyError::Corrupt
        );
        assert_eq!(
            DataKey::from_secret(&Secret::new("not base64!")).unwrap_err(),
            KeyError::Corrupt
        );
    }

    #[test]
    fn debug_output_shows_no_key() {
        let text = format!("{:?}", DataKeySource::fixed(DataKey::generate()));
        assert!(text.contains("redacted"), "{text}");
    }
}
