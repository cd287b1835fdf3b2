//! Signing in once and staying signed in: owns the tokens, the refresh timing
//! and the keychain. Never writes a token to a file or a log.

mod claims;
mod client;
mod keychain;
mod manager;
mod schedule;

pub use crate::secret::Secret;
pub use crate::server_profile::AuthProfile;
pub use claims::{ClaimsError, TokenTimes, read_times};
pub use client::{AuthClient, AuthError, IssuedTokens};
pub use keychain::{Backend as KeychainBackend, EntryKey, Keychain, KeychainError};
pub use manager::{
    AuthBackend, AuthEvent, AuthState, KeychainVault, ManagerOptions, RefreshTokenVault,
    SignInError, TokenManager, TokenUnavailable,
};

#[cfg(any(test, feature = "test-support"))]
pub mod memory_vault;

/// How long the sign-in service has to answer one request.
const AUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The token manager for `server`, with its refresh token in `keychain`: the
/// one way the app and the CLI build it, so both sign in alike.
pub fn manager_for(
    server: &str,
    profile: AuthProfile,
    keychain: &Keychain,
) -> Result<TokenManager, AuthError> {
    let client = AuthClient::new(server, profile, AUTH_TIMEOUT)?;
    let vault = KeychainVault::new(keychain.clone(), server);
    Ok(TokenManager::start(
        client,
        vault,
        ManagerOptions::default(),
    ))
}
