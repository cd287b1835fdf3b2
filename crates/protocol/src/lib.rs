//! The wire contract between Consult Recorder and a transcription server.
//!
//! Two profiles share one audio format (PCM16LE, 16 kHz, mono):
//! - [`seed`]: the existing clinic backend, token in the URL, no acknowledgements;
//! - [`v1`]: ours, token in a header, every frame carries its sample offset, the
//!   server acknowledges what it holds durably, so a reconnect resumes exactly.
//!
//! This crate only describes bytes and JSON; it does no I/O, so the client, the
//! reference server and the fuzzers all parse messages the same way.
//! `docs/protocol.md` is the prose version of this crate.

#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]

pub mod audio;
pub mod auth;
pub mod close;
pub mod seed;
pub mod v1;

pub use audio::{AudioFrame, FrameError};
pub use close::{ClientAction, CloseCode};

/// Audio sample rate on the wire, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// Bytes per sample on the wire (PCM16LE, mono).
pub const BYTES_PER_SAMPLE: usize = 2;

/// Longest session id either profile accepts.
pub const MAX_SESSION_ID_LEN: usize = 128;

/// Whether `id` can name a session in both profiles: 1–128 ASCII letters,
/// digits, `-` and `_`. A UUID fits, and so do most clinic systems'
/// consultation numbers; the id becomes a file and folder name on both ends,
/// so nothing else is allowed.
pub fn is_valid_session_id(id: &str) -> bool {
    (1..=MAX_SESSION_ID_LEN).contains(&id.len()) && id.chars().all(is_session_id_char)
}

/// A character a session id may hold.
pub fn is_session_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Converts a sample count to seconds of audio at [`SAMPLE_RATE`].
pub fn samples_to_secs(samples: u64) -> f64 {
    samples as f64 / f64::from(SAMPLE_RATE)
}
