//! A refresh-token vault in memory, for tests that exercise timing or the
//! protocol rather than the keychain. Never used by the product: it forgets
//! everything when the process ends (which is also why it is safe).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{KeychainError, RefreshTokenVault, Secret};

/// Refresh tokens by account, shared between clones (a test keeps one to look in).
#[derive(Clone, Default)]
pub struct MemoryVault(pub Arc<Mutex<HashMap<String, String>>>);

impl MemoryVault {
    /// The refresh token stored for `account`, as a test checks it was rotated.
    pub fn get(&self, account: &str) -> Option<String> {
        self.0
            .lock()
            .expect("vault lock poisoned")
            .get(account)
            .cloned()
    }
}

impl RefreshTokenVault for MemoryVault {
    async fn store(&self, account: &str, token: &Secret) -> Result<(), KeychainError> {
        self.0
            .lock()
            .expect("vault lock poisoned")
            .insert(account.into(), token.expose().into());
        Ok(())
    }

    async fn load(&self, account: &str) -> Result<Option<Secret>, KeychainError> {
        Ok(self.get(account).map(Secret::new))
    }

    async fn delete(&self, account: &str) -> Result<bool, KeychainError> {
        Ok(self
            .0
            .lock()
            .expect("vault lock poisoned")
            .remove(account)
            .is_some())
    }
}
