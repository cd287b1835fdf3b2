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
    #[error("cannot {action} the audio spool {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("audio for sample {got} arrived but the spool {path} expected sample {expected}")]
    OutOfOrder {
        path: PathBuf,
        expected: u64,
        got: u64,
    },
    #[error("the audio spool {path} has no audio at sample {offset}")]
    Missing { path: PathBuf, offset: u64 },
    #[error(
        "the audio spool {path} was altered at sample {offset} (or sealed under another \
         computer's key); that audio is not used"
    )]
    Tampered { path: PathBuf, offset: u64 },
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
    pub offset: u64,
    pub position: u64,
}

/// Samples between two index entries (about one second).
pub const INDEX_EVERY_SAMPLES: u64 = consult_protocol::SAMPLE_RATE as u64;
