//! The spool's record format.
//!
//! ```text
//! 0   4  magic  "CRsp"
//! 4   1  version (1)
//! 5   1  flags   (bit 0 reserved for "payload is AEAD-sealed")
//! 6   2  reserved, zero
//! 8   8  sample offset of the first sample, little endian
//! 16  4  payload length in bytes, little endian
//! 20  4  CRC-32 of bytes 0..20 and the payload
//! 24  …  payload: PCM16LE mono 16 kHz samples
//! ```
//!
//! Every record is self-describing and self-checking, so a reader can tell a
//! torn tail (a crash mid-write) from valid data, and can find the next good
//! record after a damaged one. A later format version seals the payload with an
//! AEAD; the header stays readable so recovery works the same way.

/// Bytes before the payload.
pub const HEADER_LEN: usize = 24;
const MAGIC: [u8; 4] = *b"CRsp";
const VERSION: u8 = 1;
/// Largest payload a record may claim (10 s of audio); anything larger is damage.
pub const MAX_PAYLOAD: usize = 320_000;

/// One decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub offset: u64,
    pub payload_len: u32,
}

impl Record {
    pub fn samples(&self) -> u64 {
        u64::from(self.payload_len / 2)
    }

    pub fn end(&self) -> u64 {
        self.offset + self.samples()
    }

    pub fn total_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.payload_len)
    }
}

/// Why bytes are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record header is incomplete")]
    Truncated,
    #[error("not a spool record (bad magic)")]
    BadMagic,
    #[error("unsupported spool record version {0}")]
    BadVersion(u8),
    #[error("record claims an impossible length {0}")]
    BadLength(u32),
    #[error("record checksum does not match")]
    BadChecksum,
}

/// Appends one record for `pcm` starting at `offset` to `out`.
pub fn encode(offset: u64, pcm: &[u8], out: &mut Vec<u8>) {
    debug_assert!(pcm.len().is_multiple_of(2) && pcm.len() <= MAX_PAYLOAD);
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(0);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&(pcm.len() as u32).to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out[start..start + 20]);
    crc.update(pcm);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(pcm);
}

/// Parses a header; the payload is checked with [`check_payload`].
pub fn decode_header(bytes: &[u8]) -> Result<(Record, u32), RecordError> {
    if bytes.len() < HEADER_LEN {
        return Err(RecordError::Truncated);
    }
    if bytes[0..4] != MAGIC {
        return Err(RecordError::BadMagic);
    }
    if bytes[4] != VERSION {
        return Err(RecordError::BadVersion(bytes[4]));
    }
    let offset = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let payload_len = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    if payload_len as usize > MAX_PAYLOAD || !payload_len.is_multiple_of(2) || payload_len == 0 {
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

/// Verifies the checksum of a header and its payload.
pub fn check_payload(header: &[u8], payload: &[u8], crc: u32) -> Result<(), RecordError> {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header[..20]);
    hasher.update(payload);
    if hasher.finalize() == crc {
        Ok(())
    } else {
        Err(RecordError::BadChecksum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_any_flipped_bit() {
        let pcm: Vec<u8> = (0..640u32).map(|i| (i * 7) as u8).collect();
        let mut bytes = Vec::new();
        encode(4242, &pcm, &mut bytes);
        let (record, crc) = decode_header(&bytes).unwrap();
        assert_eq!(
            record,
            Record {
                offset: 4242,
                payload_len: 640
            }
        );
        check_payload(&bytes[..HEADER_LEN], &bytes[HEADER_LEN..], crc).unwrap();
        for bit in [0, 37, 8 * 9 + 3, 8 * 30, bytes.len() * 8 - 1] {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let verdict = decode_header(&damaged).and_then(|(_, crc)| {
                check_payload(&damaged[..HEADER_LEN], &damaged[HEADER_LEN..], crc)
            });
            assert!(verdict.is_err(), "flipped bit {bit} went unnoticed");
        }
    }
}
