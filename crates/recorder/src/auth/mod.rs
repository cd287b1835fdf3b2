//! Signing in once and staying signed in: owns the tokens, the refresh timing
//! and the keychain. Never writes a token to a file or a log.

pub mod claims;
pub mod client;
pub mod keychain;
pub mod manager;
pub mod schedule;

pub use crate::secret::Secret;
pub use crate::server_profile::AuthProfile;
pub use client::{AuthClient, AuthError, IssuedTokens};
pub use keychain::{Backend as KeychainBackend, EntryKey, Keychain, KeychainError};
pub use manager::{
    AuthBackend, AuthEvent, AuthState, KeychainVault, ManagerOptions, RefreshTokenVault,
    SignInError, TokenManager, TokenUnavailable,
};

#[cfg(any(test, feature = "test-support"))]
pub mod memory_vault;
