//! Received audio and final transcripts on disk, per session.
//!
//! Layout under `<data-dir>/sessions/<session>/`:
//! - `audio.pcm`: v1, every sample exactly once, in order (its length is the
//!   durable offset after a restart);
//! - `seed-<start ms>-<connection>.pcm`: seed, one file per connection, exactly as
//!   received
//!   (duplicates included), so tests can check for gaps and count duplicates;
//! - `owner`: the account that created the session (v1);
//! - `finals.jsonl`: v1 final transcripts with their offsets.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use consult_protocol::v1::Transcript;

/// A disk problem while storing a session.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct StorageError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl StorageError {
    /// The error for `action` (a verb such as "creating") failing on `path`.
    pub fn from_io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self {
            action,
            path: path.to_owned(),
            source,
        }
    }

    fn new(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self {
            action,
            path,
            source,
        }
    }
}

/// Where a session's files live.
pub fn session_dir(data_dir: &Path, session: &str) -> PathBuf {
    data_dir.join("sessions").join(session)
}

/// An append-only PCM file that knows how many samples it holds and how many are synced.
#[derive(Debug)]
pub struct AudioFile {
    path: PathBuf,
    file: Arc<File>,
    received: u64,
    durable: u64,
}

impl AudioFile {
    /// Opens (or creates) `path`, trimming a torn half sample left by a crash.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(StorageError::new("creating", parent))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(StorageError::new("opening", path))?;
        let len = file
            .metadata()
            .map_err(StorageError::new("reading the size of", path))?
            .len();
        if !len.is_multiple_of(2) {
            file.set_len(len - 1)
                .map_err(StorageError::new("trimming", path))?;
        }
        let samples = len / 2;
        Ok(Self {
            path: path.to_owned(),
            file: Arc::new(file),
            received: samples,
            durable: samples,
        })
    }

    /// The file the samples are appended to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Samples written (visible to readers of the file).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Samples known to be on stable storage.
    pub fn durable(&self) -> u64 {
        self.durable
    }

    /// Appends whole PCM16LE samples.
    pub fn append(&mut self, pcm: &[u8]) -> Result<(), StorageError> {
        debug_assert!(pcm.len().is_multiple_of(2));
        (&*self.file)
            .write_all(pcm)
            .map_err(StorageError::new("writing", &self.path))?;
        self.received += (pcm.len() / 2) as u64;
        Ok(())
    }

    /// Flushes to stable storage off the async threads; returns the durable offset.
    pub async fn sync(&mut self) -> Result<u64, StorageError> {
        if self.durable == self.received {
            return Ok(self.durable);
        }
        let file = Arc::clone(&self.file);
        let target = self.received;
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .unwrap_or_else(|join| Err(std::io::Error::other(join)))
            .map_err(StorageError::new("syncing", &self.path))?;
        self.durable = target;
        Ok(target)
    }
}

/// The v1 final transcripts of one session, in order, mirrored to `finals.jsonl`.
#[derive(Debug)]
pub struct Finals {
    path: PathBuf,
    items: Vec<Transcript>,
}

impl Finals {
    /// Loads the finals at `path` (none when it is absent). A line that does not
    /// parse, such as one torn by a crash, is skipped.
    pub fn load(path: &Path) -> Result<Self, StorageError> {
        let items = match std::fs::read_to_string(path) {
            // A torn last line from a crash is skipped; its audio is decoded again.
            Ok(text) => text
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StorageError::new("reading", path)(e)),
        };
        Ok(Self {
            path: path.to_owned(),
            items,
        })
    }

    /// Where recognition resumes: at the start of the last final, so the
    /// decoder hears that utterance again (without reporting it) and has the
    /// same context it had the first time; reporting resumes at its end.
    pub fn resume_span(&self) -> crate::recognizer::Span {
        match self.items.last() {
            Some(last) => crate::recognizer::Span {
                decode_from: last.start,
                report_from: last.end,
            },
            None => crate::recognizer::Span::from_start(),
        }
    }

    /// The finals ending after `offset`: the ones a client holding text up to there
    /// has not seen.
    pub fn after(&self, offset: u64) -> impl Iterator<Item = &Transcript> {
        self.items.iter().filter(move |t| t.end > offset)
    }

    /// Appends a final to `finals.jsonl`, then keeps it in memory.
    pub fn push(&mut self, transcript: Transcript) -> Result<(), StorageError> {
        let mut line = serde_json::to_string(&transcript).expect("plain struct serialises");
        line.push('\n');
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(StorageError::new("appending to", &self.path))?;
        self.items.push(transcript);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn audio_file_trims_a_torn_sample_and_counts_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s/audio.pcm");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, [1, 2, 3, 4, 5]).unwrap();
        let mut audio = AudioFile::open(&path).unwrap();
        assert_eq!(audio.received(), 2);
        audio.append(&[6, 7]).unwrap();
        assert_eq!(audio.received(), 3);
        assert_eq!(audio.durable(), 2);
        assert_eq!(audio.sync().await.unwrap(), 3);
        assert_eq!(std::fs::read(&path).unwrap(), [1, 2, 3, 4, 6, 7]);
    }

    #[test]
    fn finals_survive_reload_and_skip_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("finals.jsonl");
        let mut finals = Finals::load(&path).unwrap();
        for (start, end) in [(0, 10), (10, 20)] {
            finals
                .push(Transcript {
                    text: "x".into(),
                    is_final: true,
                    start,
                    end,
                })
                .unwrap();
        }
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"text\":\"to").unwrap();
        let finals = Finals::load(&path).unwrap();
        assert_eq!(
            finals.resume_span(),
            crate::recognizer::Span {
                decode_from: 10,
                report_from: 20
            }
        );
        assert_eq!(finals.after(10).count(), 1);
    }
}
