//! Appending to the spool. One owner; everything else reads.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::format::{RecordSeal, encode};
use super::reader::SpoolReader;
use super::recovery::{Recovered, recover};
use super::{INDEX_EVERY_SAMPLES, IndexEntry, SpoolError, record_seal};
use crate::crypto::DataKey;

/// How far the spool has been written and synced, in samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WrittenEnd {
    /// Readable by [`SpoolReader`]s.
    pub written: u64,
    /// On stable storage.
    pub synced: u64,
}

/// The single writer of one session's spool file.
#[derive(Debug)]
pub struct SpoolWriter {
    path: PathBuf,
    file: File,
    seal: RecordSeal,
    end: u64,
    position: u64,
    buffer: Vec<u8>,
    index: Arc<Mutex<Vec<IndexEntry>>>,
    lost: Arc<[std::ops::Range<u64>]>,
    last_indexed: Option<u64>,
    state: watch::Sender<WrittenEnd>,
    /// `end` when readers were last woken.
    woken_at: u64,
}

/// Readers waiting for audio are woken once this much more is written (40 ms,
/// two live frames): every wake-up of the sender costs a thread switch and a
/// socket write, and halving them is most of what live streaming costs. The
/// value itself is always current, and every sync wakes readers too, so a
/// reader never waits longer than one sync interval.
pub const WAKE_READERS_EVERY: u64 = 640;

impl SpoolWriter {
    /// Opens (or creates) the spool at `path`, recovering what a crash left.
    /// Records are sealed under `key` (see the format module).
    pub fn open(path: &Path, key: &DataKey) -> Result<(Self, Recovered), SpoolError> {
        let seal = record_seal(path, key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(SpoolError::io("create the folder of", path))?;
        }
        let recovered = recover(path, Some(&seal))?;
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(SpoolError::io("open", path))?;
        // Cut a torn tail so new records follow the last good one.
        let len = file.metadata().map_err(SpoolError::io("read", path))?.len();
        if len != recovered.valid_len {
            file.set_len(recovered.valid_len)
                .map_err(SpoolError::io("trim", path))?;
            file.sync_all().map_err(SpoolError::io("sync", path))?;
        }
        // A hole at the very end (unauthentic records are kept, not trimmed):
        // the next record must be indexed so readers jump over the hole.
        let hole_at_end = recovered
            .lost
            .last()
            .is_some_and(|r| r.end == recovered.end);
        let last_indexed = if hole_at_end {
            None
        } else {
            recovered.index.last().map(|e| e.offset)
        };
        let writer = Self {
            path: path.to_owned(),
            file,
            seal,
            end: recovered.end,
            position: recovered.valid_len,
            buffer: Vec::with_capacity(64 * 1024),
            index: Arc::new(Mutex::new(recovered.index.clone())),
            lost: recovered.lost.clone().into(),
            last_indexed,
            state: watch::Sender::new(WrittenEnd {
                written: recovered.end,
                synced: recovered.end,
            }),
            woken_at: recovered.end,
        };
        Ok((writer, recovered))
    }

    /// The spool file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next sample offset to append.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Appends whole samples that start exactly where the spool ends.
    ///
    /// On failure (a full disk, say) the file is cut back to its last whole
    /// record, so a later retry of the same audio leaves no damage behind.
    pub fn append(&mut self, offset: u64, pcm: &[u8]) -> Result<(), SpoolError> {
        if offset != self.end {
            return Err(SpoolError::OutOfOrder {
                path: self.path.clone(),
                expected: self.end,
                got: offset,
            });
        }
        self.buffer.clear();
        encode(&self.seal, offset, pcm, &mut self.buffer);
        let write = (&self.file)
            .write_all_at_end(&self.buffer, self.position)
            .map_err(SpoolError::io("write to", &self.path));
        if let Err(err) = write {
            let _ = self.file.set_len(self.position);
            return Err(err);
        }
        if self
            .last_indexed
            .is_none_or(|at| offset >= at + INDEX_EVERY_SAMPLES)
        {
            self.index
                .lock()
                .expect("spool index lock poisoned")
                .push(IndexEntry {
                    offset,
                    position: self.position,
                });
            self.last_indexed = Some(offset);
        }
        self.position += self.buffer.len() as u64;
        self.end = offset + (pcm.len() / 2) as u64;
        let end = self.end;
        let wake = end >= self.woken_at + WAKE_READERS_EVERY;
        if wake {
            self.woken_at = end;
        }
        // Without `wake`, a silent update: visible to every `borrow`, waking no one.
        self.state.send_if_modified(|s| {
            s.written = end;
            wake
        });
        Ok(())
    }

    /// Flushes to stable storage (blocking: call from a blocking thread).
    pub fn sync(&mut self) -> Result<(), SpoolError> {
        let end = self.end;
        if self.state.borrow().synced == end {
            return Ok(());
        }
        self.file
            .sync_data()
            .map_err(SpoolError::io("sync", &self.path))?;
        self.woken_at = end;
        self.state.send_modify(|s| s.synced = end);
        Ok(())
    }

    /// A reader over this spool that sees every record once it is written.
    pub fn reader(&self) -> Result<SpoolReader, SpoolError> {
        SpoolReader::open(
            &self.path,
            self.seal.clone(),
            Arc::clone(&self.index),
            Arc::clone(&self.lost),
            self.state.subscribe(),
        )
    }

    /// Follows how far the spool is written and synced.
    pub fn subscribe(&self) -> watch::Receiver<WrittenEnd> {
        self.state.subscribe()
    }
}

/// Positional writes, so a failed write can be cut back without seeking state.
trait WriteAt {
    fn write_all_at_end(&self, bytes: &[u8], position: u64) -> std::io::Result<()>;
}

impl WriteAt for &File {
    #[cfg(unix)]
    fn write_all_at_end(&self, bytes: &[u8], position: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(*self, bytes, position)
    }

    #[cfg(windows)]
    fn write_all_at_end(&self, mut bytes: &[u8], mut position: u64) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let n = std::os::windows::fs::FileExt::seek_write(*self, bytes, position)?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            bytes = &bytes[n..];
            position += n as u64;
        }
        Ok(())
    }
}
