//! The durable audio spool: the only source of truth for a session's audio.
//!
//! Owns the on-disk record format, crash recovery and the sparse index. Every
//! captured frame is appended here before anything tries to send it; the
//! sender reads from here, never from the capture path. It never talks to the
//! network and never drops audio silently.

mod format;
mod reader;
mod recovery;
mod writer;

pub use format::{HEADER_LEN, Record, RecordError, RecordSeal};
pub use reader::SpoolReader;
pub use recovery::{Recovered, recover};
pub use writer::{SpoolWriter, WAKE_READERS_EVERY, WrittenEnd};

use std::path::PathBuf;

/// A disk problem with the spool, always naming the file.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A file operation failed.
    #[error("cannot {action} the audio spool {path}: {source}")]
    Io {
        /// What was being done, as a verb for the message (`open`, `write to`…).
        action: &'static str,
        /// The spool file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Audio was appended that does not start where the spool ends.
    #[error("audio for sample {got} arrived but the spool {path} expected sample {expected}")]
    OutOfOrder {
        /// The spool file.
        path: PathBuf,
        /// The offset the spool ends at.
        expected: u64,
        /// The offset the audio started at.
        got: u64,
    },
    /// No readable record holds a sample that should be there (damaged, or cut
    /// off).
    #[error("the audio spool {path} has no audio at sample {offset}")]
    Missing {
        /// The spool file.
        path: PathBuf,
        /// The sample asked for.
        offset: u64,
    },
    /// A record's tag does not match: altered, or sealed under another key.
    #[error(
        "the audio spool {path} was altered at sample {offset} (or sealed under another \
         computer's key); that audio is not used"
    )]
    Tampered {
        /// The spool file.
        path: PathBuf,
        /// The first sample of the altered record.
        offset: u64,
    },
}

impl SpoolError {
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| SpoolError::Io {
            action,
            path,
            source,
        }
    }

    /// Whether the disk is full (or the file size limit reached).
    pub fn is_disk_full(&self) -> bool {
        match self {
            SpoolError::Io { source, .. } => {
                matches!(
                    source.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::FileTooLarge
                ) || source.raw_os_error() == Some(27) // EFBIG
            }
            _ => false,
        }
    }
}

/// How the records of the spool at `path` are sealed: under `key`, bound to
/// the file's name (the session id).
pub fn record_seal(path: &std::path::Path, key: &crate::crypto::DataKey) -> RecordSeal {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    RecordSeal::new(key.sealer().clone(), &name)
}

/// One entry of the sparse index: where a record starting at `offset` lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Sample offset of the record's first sample.
    pub offset: u64,
    /// Byte position of the record's header in the file.
    pub position: u64,
}

/// Samples between two index entries (about one second).
pub const INDEX_EVERY_SAMPLES: u64 = consult_protocol::SAMPLE_RATE as u64;
