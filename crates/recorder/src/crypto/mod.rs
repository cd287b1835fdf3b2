//! Patient data at rest: the per-install data key and the AEAD that seals
//! spool records and stored transcripts with it.
//!
//! Owns the key's life (made once per install, kept only in the OS keychain,
//! held in memory zeroed on drop) and the nonce scheme. Never writes the key
//! to a file or a log, and never hands out plaintext that failed its tag.

mod key;
mod seal;

pub use key::{DataKey, DataKeySource, KeyError};
pub use seal::{NONCE_LEN, SEAL_OVERHEAD, SealError, Sealer, TAG_LEN};
