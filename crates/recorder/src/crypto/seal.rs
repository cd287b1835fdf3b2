//! XChaCha20-Poly1305 with a fresh random nonce for every sealed item.
//!
//! Nonce scheme: 24 bytes from the operating system's CSPRNG (via `rand`'s
//! thread generator), stored in front of the ciphertext. With 192-bit nonces
//! random choice is safe for far more items than one install will ever seal
//! (collision chance below 2^-90 after 2^48 items), and nothing has to be
//! counted or remembered across crashes, restarts or rewritten records — the
//! case where counter schemes go wrong. The additional data binds each item
//! to what it is (a purpose label, the session, its position), so a sealed
//! item copied to another place fails to open.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// Bytes of the nonce in front of every sealed item.
pub const NONCE_LEN: usize = 24;
/// Bytes of the authentication tag behind every sealed item.
pub const TAG_LEN: usize = 16;
/// What sealing adds to a plaintext.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// Why a sealed item could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Too short to hold a nonce and a tag.
    #[error("the sealed data is shorter than a nonce and a tag")]
    Truncated,
    /// The tag does not match: the bytes or their additional data changed, or
    /// another key sealed them.
    #[error("the sealed data was altered, or sealed under another key")]
    Tampered,
}

/// Seals and opens items under one data key. Cheap to clone.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}

impl Sealer {
    pub(super) fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Appends `nonce ‖ ciphertext ‖ tag` of `plaintext` to `out`.
    pub fn seal_into(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&XNonce::from(nonce), aad, &mut out[start..])
            .expect("XChaCha20-Poly1305 seals any length a spool record or segment can have");
        out.extend_from_slice(&tag);
    }

    /// Seals `plaintext` into a new buffer.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        self.seal_into(aad, plaintext, &mut out);
        out
    }

    /// Replaces `out` with the plaintext of `sealed`, or leaves it empty when
    /// the tag does not check out (no unauthenticated byte is ever returned).
    pub fn open_into(&self, aad: &[u8], sealed: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        out.clear();
        if sealed.len() < SEAL_OVERHEAD {
            return Err(SealError::Truncated);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at the nonce's length");
        let tag: [u8; TAG_LEN] = tag.try_into().expect("split at the tag's length");
        out.extend_from_slice(ciphertext);
        let opened =
            self.cipher
                .decrypt_in_place_detached(&XNonce::from(nonce), aad, out, &Tag::from(tag));
        if opened.is_err() {
            out.clear();
            return Err(SealError::Tampered);
        }
        Ok(())
    }

    /// Opens `sealed` into a new buffer.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(sealed.len());
        self.open_into(aad, sealed, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(&[byte; 32])
    }

    #[test]
    fn opens_what_it_sealed_and_nothing_else() {
        let s = sealer(7);
        let sealed = s.seal(b"ctx", b"the patient's words");
        assert_eq!(sealed.len(), 19 + SEAL_OVERHEAD);
        assert!(
            !sealed.windows(7).any(|w| w == b"patient"),
            "plaintext visible in the sealed bytes"
        );
        assert_eq!(s.open(b"ctx", &sealed).unwrap(), b"the patient's words");
        // Another context, another key, any flipped bit, a cut: refused.
        assert_eq!(s.open(b"other", &sealed), Err(SealError::Tampered));
        assert_eq!(sealer(8).open(b"ctx", &sealed), Err(SealError::Tampered));
        for bit in 0..sealed.len() * 8 {
            let mut damaged = sealed.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                s.open(b"ctx", &damaged),
                Err(SealError::Tampered),
                "bit {bit}"
            );
        }
        assert_eq!(
            s.open(b"ctx", &sealed[..sealed.len() - 1]),
            Err(SealError::Tampered)
        );
        assert_eq!(s.open(b"ctx", &sealed[..10]), Err(SealError::Truncated));
    }

    #[test]
    fn never_repeats_a_nonce() {
        let s = sealer(1);
        let nonces: std::collections::HashSet<Vec<u8>> = (0..10_000)
            .map(|_| s.seal(b"", b"same")[..NONCE_LEN].to_vec())
            .collect();
        assert_eq!(nonces.len(), 10_000);
    }

    #[test]
    fn a_failed_open_leaves_no_plaintext_behind() {
        let s = sealer(3);
        let mut sealed = s.seal(b"", b"secret text");
        sealed[NONCE_LEN] ^= 1;
        let mut out = b"previous".to_vec();
        assert!(s.open_into(b"", &sealed, &mut out).is_err());
        assert!(out.is_empty());
    }
}
