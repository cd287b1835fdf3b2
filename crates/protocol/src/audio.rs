//! The v1 binary audio frame: an 8-byte little-endian sample offset, then PCM16LE.
//!
//! Carrying the offset in every frame is what lets the server drop what it already
//! holds and refuse a gap instead of silently stitching audio together.

use crate::BYTES_PER_SAMPLE;

/// Bytes of header before the PCM payload.
pub const HEADER_LEN: usize = 8;

/// Largest number of samples one v1 frame may carry (one second).
pub const MAX_FRAME_SAMPLES: usize = 16_000;

/// A borrowed view of one v1 audio frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFrame<'a> {
    /// Sample offset of the first sample in `pcm`, counted from the session start.
    pub offset: u64,
    /// PCM16LE mono samples; always an even number of bytes.
    pub pcm: &'a [u8],
}

/// Why a binary message is not a valid v1 audio frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The message (of this many bytes) is shorter than the offset header.
    #[error("audio frame of {0} bytes is shorter than its 8-byte offset header")]
    TooShort(usize),
    /// The header is followed by no PCM at all.
    #[error("audio frame carries no samples")]
    Empty,
    /// The PCM payload (of this many bytes) splits a 16-bit sample.
    #[error("audio payload of {0} bytes is not a whole number of 16-bit samples")]
    OddLength(usize),
    /// The frame carries more than [`MAX_FRAME_SAMPLES`] samples.
    #[error("audio frame of {samples} samples exceeds the limit of {limit}")]
    TooLarge {
        /// Samples the frame carries.
        samples: usize,
        /// Most samples a frame may carry.
        limit: usize,
    },
}

impl<'a> AudioFrame<'a> {
    /// Number of samples in the frame.
    pub fn samples(&self) -> u64 {
        (self.pcm.len() / BYTES_PER_SAMPLE) as u64
    }

    /// Offset one past the last sample of the frame.
    pub fn end(&self) -> u64 {
        self.offset + self.samples()
    }

    /// Parses a binary WebSocket message.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, FrameError> {
        if bytes.len() < HEADER_LEN {
            return Err(FrameError::TooShort(bytes.len()));
        }
        let (header, pcm) = bytes.split_at(HEADER_LEN);
        if pcm.is_empty() {
            return Err(FrameError::Empty);
        }
        if !pcm.len().is_multiple_of(BYTES_PER_SAMPLE) {
            return Err(FrameError::OddLength(pcm.len()));
        }
        let samples = pcm.len() / BYTES_PER_SAMPLE;
        if samples > MAX_FRAME_SAMPLES {
            return Err(FrameError::TooLarge {
                samples,
                limit: MAX_FRAME_SAMPLES,
            });
        }
        let mut offset = [0u8; HEADER_LEN];
        offset.copy_from_slice(header);
        Ok(Self {
            offset: u64::from_le_bytes(offset),
            pcm,
        })
    }

    /// Serialises the frame into a new buffer ready to send.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.pcm.len());
        self.encode_into(&mut out);
        out
    }

    /// Serialises the frame into `out`, reusing its allocation.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(self.pcm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_offset_and_samples() {
        let pcm: Vec<u8> = (0..640u16).flat_map(|s| s.to_le_bytes()).collect();
        let frame = AudioFrame {
            offset: 0x0102_0304_0506_0708,
            pcm: &pcm,
        };
        let bytes = frame.encode();
        assert_eq!(&bytes[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
        let back = AudioFrame::decode(&bytes).unwrap();
        assert_eq!(back, frame);
        assert_eq!(back.samples(), 640);
        assert_eq!(back.end(), 0x0102_0304_0506_0708 + 640);
    }

    #[test]
    fn rejects_malformed_frames() {
        assert_eq!(AudioFrame::decode(&[1, 2, 3]), Err(FrameError::TooShort(3)));
        assert_eq!(AudioFrame::decode(&[0; 8]), Err(FrameError::Empty));
        assert_eq!(AudioFrame::decode(&[0; 11]), Err(FrameError::OddLength(3)));
        let big = vec![0u8; HEADER_LEN + 2 * (MAX_FRAME_SAMPLES + 1)];
        assert!(matches!(
            AudioFrame::decode(&big),
            Err(FrameError::TooLarge { .. })
        ));
        let max = vec![0u8; HEADER_LEN + 2 * MAX_FRAME_SAMPLES];
        assert!(AudioFrame::decode(&max).is_ok());
    }
}
