//! The spool's record format.
//!
//! ```text
//! 0   4  magic  "CRsp"
//! 4   1  version (2)
//! 5   1  flags   (bit 0: the body is sealed — always set by this version)
//! 6   2  reserved, zero
//! 8   8  sample offset of the first sample, little endian
//! 16  4  audio length in bytes (PCM16LE mono 16 kHz), little endian
//! 20  4  CRC-32 of bytes 0..20 and the body
//! 24  …  body: nonce (24) ‖ XChaCha20-Poly1305 ciphertext of the audio ‖ tag (16)
//! ```
//!
//! Every record is self-describing and self-checking, so a reader can tell a
//! torn tail (a crash mid-write) from valid data, and can find the next good
//! record after a damaged one, without the key: the CRC covers the sealed
//! body. The AEAD then proves the audio is what this install wrote, for this
//! session, at this offset: its additional data is a label, the spool's name
//! (the session id) and bytes 0..20 of the header. A record whose CRC holds
//! but whose tag does not was altered on purpose, or sealed under another key.

use crate::crypto::{SEAL_OVERHEAD, SealError, Sealer};

/// Bytes before the body.
pub const HEADER_LEN: usize = 24;
const MAGIC: [u8; 4] = *b"CRsp";
const VERSION: u8 = 2;
const SEALED: u8 = 1;
/// Largest audio a record may claim (10 s); anything larger is damage.
pub const MAX_PAYLOAD: usize = 320_000;
const AAD_LABEL: &[u8] = b"consult-recorder spool v2\0";

/// One decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Sample offset of the record's first sample.
    pub offset: u64,
    /// Bytes of audio (the body holds [`SEAL_OVERHEAD`] more).
    pub payload_len: u32,
}

impl Record {
    /// Samples of audio in the record.
    pub fn samples(&self) -> u64 {
        u64::from(self.payload_len / 2)
    }

    /// The offset just after the record's last sample.
    pub fn end(&self) -> u64 {
        self.offset + self.samples()
    }

    /// Bytes of the body on disk.
    pub fn body_len(&self) -> usize {
        self.payload_len as usize + SEAL_OVERHEAD
    }

    /// Bytes of the whole record on disk, header included.
    pub fn total_len(&self) -> u64 {
        (HEADER_LEN + self.body_len()) as u64
    }
}

/// Why bytes are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Fewer bytes than a header.
    #[error("record header is incomplete")]
    Truncated,
    /// The bytes do not start with the spool's magic.
    #[error("not a spool record (bad magic)")]
    BadMagic,
    /// Another format version, or an unsealed record; holds the version byte.
    #[error("unsupported spool record version {0}")]
    BadVersion(u8),
    /// The audio length is zero, odd, over `MAX_PAYLOAD`, or runs past the
    /// last possible offset; holds it.
    #[error("record claims an impossible length {0}")]
    BadLength(u32),
    /// The CRC does not match the header and body: damage.
    #[error("record checksum does not match")]
    BadChecksum,
    /// The CRC holds but the tag does not: altered, or sealed under another key.
    #[error("record was altered or sealed under another key")]
    Tampered,
}

/// How records of one spool are sealed: the key and the spool's name.
#[derive(Debug, Clone)]
pub struct RecordSeal {
    sealer: Sealer,
    name: Vec<u8>,
}

impl RecordSeal {
    /// `name` binds records to their spool (the session id).
    pub fn new(sealer: Sealer, name: &str) -> Self {
        Self {
            sealer,
            name: name.as_bytes().to_vec(),
        }
    }

    fn aad(&self, header: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(AAD_LABEL.len() + self.name.len() + 21);
        aad.extend_from_slice(AAD_LABEL);
        aad.extend_from_slice(&self.name);
        aad.push(0);
        aad.extend_from_slice(&header[..20]);
        aad
    }

    /// Opens a checked record's body into `audio`.
    pub fn open(&self, header: &[u8], body: &[u8], audio: &mut Vec<u8>) -> Result<(), RecordError> {
        self.sealer
            .open_into(&self.aad(header), body, audio)
            .map_err(|e| match e {
                SealError::Truncated | SealError::Tampered => RecordError::Tampered,
            })
    }
}

/// Appends one sealed record for `pcm` starting at `offset` to `out`.
pub fn encode(seal: &RecordSeal, offset: u64, pcm: &[u8], out: &mut Vec<u8>) {
    debug_assert!(pcm.len().is_multiple_of(2) && pcm.len() <= MAX_PAYLOAD);
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(SEALED);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&(pcm.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let aad = seal.aad(&out[start..start + 20]);
    seal.sealer.seal_into(&aad, pcm, out);
    let crc = checksum(&out[start..start + 20], &out[start + HEADER_LEN..]);
    out[start + 20..start + 24].copy_from_slice(&crc.to_le_bytes());
}

/// Parses a header; the body is checked with [`check_body`].
pub fn decode_header(bytes: &[u8]) -> Result<(Record, u32), RecordError> {
    if bytes.len() < HEADER_LEN {
        return Err(RecordError::Truncated);
    }
    if bytes[0..4] != MAGIC {
        return Err(RecordError::BadMagic);
    }
    if bytes[4] != VERSION || bytes[5] != SEALED {
        return Err(RecordError::BadVersion(bytes[4]));
    }
    let offset = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let payload_len = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    if payload_len as usize > MAX_PAYLOAD || !payload_len.is_multiple_of(2) || payload_len == 0 {
        return Err(RecordError::BadLength(payload_len));
    }
    if offset.checked_add(u64::from(payload_len / 2)).is_none() {
        return Err(RecordError::BadLength(payload_len));
    }
    let crc = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
    Ok((
        Record {
            offset,
            payload_len,
        },
        crc,
    ))
}

/// Verifies the checksum of a header and its (sealed) body.
pub fn check_body(header: &[u8], body: &[u8], crc: u32) -> Result<(), RecordError> {
    if checksum(header, body) == crc {
        Ok(())
    } else {
        Err(RecordError::BadChecksum)
    }
}

fn checksum(header: &[u8], body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header[..20]);
    hasher.update(body);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;

    fn seal() -> RecordSeal {
        RecordSeal::new(DataKey::generate().sealer().clone(), "session-1")
    }

    fn verdict(seal: &RecordSeal, bytes: &[u8]) -> Result<Vec<u8>, RecordError> {
        let (record, crc) = decode_header(bytes)?;
        let body = bytes.get(HEADER_LEN..).ok_or(RecordError::Truncated)?;
        if body.len() != record.body_len() {
            return Err(RecordError::Truncated);
        }
        check_body(&bytes[..HEADER_LEN], body, crc)?;
        let mut audio = Vec::new();
        seal.open(&bytes[..HEADER_LEN], body, &mut audio)?;
        Ok(audio)
    }

    #[test]
    fn round_trips_and_detects_any_flipped_bit() {
        let seal = seal();
        let pcm: Vec<u8> = (0..640u32).map(|i| (i * 7) as u8).collect();
        let mut bytes = Vec::new();
        encode(&seal, 4242, &pcm, &mut bytes);
        let (record, _) = decode_header(&bytes).unwrap();
        assert_eq!(
            record,
            Record {
                offset: 4242,
                payload_len: 640
            }
        );
        assert_eq!(bytes.len() as u64, record.total_len());
        assert_eq!(verdict(&seal, &bytes).unwrap(), pcm);
        assert!(
            !bytes.windows(32).any(|w| pcm.windows(32).any(|p| p == w)),
            "audio visible on disk"
        );
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(
                verdict(&seal, &damaged).is_err(),
                "flipped bit {bit} went unnoticed"
            );
        }
    }

    #[test]
    fn a_forged_checksum_still_fails_the_tag() {
        let seal = seal();
        let mut bytes = Vec::new();
        encode(&seal, 0, &[1; 64], &mut bytes);
        // Alter the ciphertext and recompute the CRC, as someone with the file would.
        bytes[HEADER_LEN + 30] ^= 0x55;
        let crc = checksum(&bytes[..20], &bytes[HEADER_LEN..]);
        bytes[20..24].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(verdict(&seal, &bytes), Err(RecordError::Tampered));
        // A record of another session, CRC intact: refused too.
        let mut other = Vec::new();
        encode(&seal, 0, &[1; 64], &mut other);
        let elsewhere = RecordSeal::new(seal.sealer.clone(), "session-2");
        assert_eq!(verdict(&elsewhere, &other), Err(RecordError::Tampered));
    }
}
