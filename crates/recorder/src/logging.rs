//! Log files for IT: `tracing` output in the OS's log folder, rotated by size
//! so a recorder left running for months holds at most [`MAX_FILES`] ×
//! [`MAX_FILE_BYTES`]. The code logs no tokens, passwords, audio or
//! transcript text at any level (tests grep the files for them).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// One file's size limit.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// The current file plus this many minus one rotated ones.
pub const MAX_FILES: usize = 5;

/// A log file that starts afresh when it would outgrow its limit:
/// `name.log` → `name.1.log` → … → `name.{MAX_FILES-1}.log` → deleted.
#[derive(Clone)]
pub struct RotatingFile {
    inner: Arc<Mutex<Current>>,
}

struct Current {
    dir: PathBuf,
    name: String,
    max_bytes: u64,
    max_files: usize,
    file: Option<File>,
    written: u64,
}

impl RotatingFile {
    /// Opens (appending) `dir/name.log`.
    pub fn open(dir: &Path, name: &str) -> io::Result<Self> {
        Self::with_limits(dir, name, MAX_FILE_BYTES, MAX_FILES)
    }

    /// [`RotatingFile::open`] with other limits (tests).
    pub fn with_limits(
        dir: &Path,
        name: &str,
        max_bytes: u64,
        max_files: usize,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut current = Current {
            dir: dir.to_owned(),
            name: name.to_owned(),
            max_bytes,
            max_files: max_files.max(1),
            file: None,
            written: 0,
        };
        current.reopen()?;
        Ok(Self {
            inner: Arc::new(Mutex::new(current)),
        })
    }

    /// The file being written.
    pub fn path(&self) -> PathBuf {
        let current = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        current.numbered(0)
    }
}

impl Current {
    fn numbered(&self, n: usize) -> PathBuf {
        if n == 0 {
            self.dir.join(format!("{}.log", self.name))
        } else {
            self.dir.join(format!("{}.{n}.log", self.name))
        }
    }

    fn reopen(&mut self) -> io::Result<()> {
        let path = self.numbered(0);
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        // Readable by this user only: logs name accounts and servers.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        self.written = file.metadata()?.len();
        self.file = Some(file);
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let oldest = self.numbered(self.max_files - 1);
        match std::fs::remove_file(&oldest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        for n in (0..self.max_files - 1).rev() {
            let from = self.numbered(n);
            if from.exists() {
                std::fs::rename(&from, self.numbered(n + 1))?;
            }
        }
        self.reopen()
    }

    fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        if self.written > 0 && self.written + record.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        if self.file.is_none() {
            self.reopen()?;
        }
        let file = self.file.as_mut().expect("opened above");
        file.write_all(record)?;
        self.written += record.len() as u64;
        Ok(())
    }
}

/// One log record's writer: `tracing` formats a whole line, then writes it
/// here at once, so a line never straddles two files.
pub struct RecordWriter {
    target: Arc<Mutex<Current>>,
    buffer: Vec<u8>,
}

impl Write for RecordWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut current = self.target.lock().unwrap_or_else(|e| e.into_inner());
        let result = current.write_record(&self.buffer);
        self.buffer.clear();
        result
    }
}

impl Drop for RecordWriter {
    fn drop(&mut self) {
        // Logging must never take the app down; a full disk loses log lines only.
        let _ = self.flush();
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = RecordWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RecordWriter {
            target: Arc::clone(&self.inner),
            buffer: Vec::with_capacity(256),
        }
    }
}

/// Sends `tracing` to `dir/name.log` — this product's events at `file_level`,
/// other libraries' at `warn` (their debug output is not written for IT and
/// could echo request details) — and to standard error with the filter
/// `stderr_filter` (e.g. `warn` or `consult_recorder=debug`). Returns the log file's path; without a
/// writable folder, logs go to standard error only and the reason is returned.
pub fn init(
    dir: &Path,
    name: &str,
    file_level: &str,
    stderr_filter: &str,
) -> Result<PathBuf, LogFileError> {
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .with_writer(io::stderr)
        .with_filter(EnvFilter::new(stderr_filter).and(filter_fn(|m| !holds_secrets(m))));
    let opened = RotatingFile::open(dir, name);
    let to_file = opened.as_ref().ok().map(|file| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(file.clone())
            .with_filter(
                EnvFilter::new(file_filter(file_level)).and(filter_fn(|m| !holds_secrets(m))),
            )
    });
    tracing_subscriber::registry()
        .with(to_file)
        .with(stderr)
        .init();
    opened
        .map(|file| file.path())
        .map_err(|source| LogFileError {
            dir: dir.to_path_buf(),
            source,
        })
}

/// The log folder cannot be written: logs go to standard error only.
#[derive(Debug, thiserror::Error)]
#[error("cannot write logs to {}: {source}", dir.display())]
pub struct LogFileError {
    /// The folder the log file was to go in.
    pub dir: PathBuf,
    /// Why the file could not be opened there.
    #[source]
    pub source: io::Error,
}

/// Transport libraries whose debug and trace events print requests whole: the
/// seed profile's WebSocket URL carries the access token, and request headers
/// carry the v1 profile's. No filter a person sets lets those through.
const TRANSPORT_TARGETS: [&str; 9] = [
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "rustls",
    "tokio_rustls",
    "http",
];

/// Whether an event may print a secret: a transport library's detail.
fn holds_secrets(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() > tracing::Level::INFO
        && TRANSPORT_TARGETS.iter().any(|t| {
            meta.target()
                .strip_prefix(t)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
}

/// `warn` for everything, `level` for this product's crates.
fn file_filter(level: &str) -> String {
    // The core, the CLI and the app (whose binary's target is also `consult_recorder`).
    let ours = ["consult_recorder", "consult_cli", "consult_recorder_app"];
    let mut filter = String::from("warn");
    for target in ours {
        filter.push_str(&format!(",{target}={level}"));
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_rotate_at_the_limit_and_the_oldest_goes() {
        let dir = tempfile::tempdir().unwrap();
        let log = RotatingFile::with_limits(dir.path(), "app", 100, 3).unwrap();
        for i in 0..20 {
            let mut writer = log.make_writer();
            writeln!(writer, "record {i:02} {}", "x".repeat(30)).unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["app.1.log", "app.2.log", "app.log"]);
        let total: u64 = names
            .iter()
            .map(|n| std::fs::metadata(dir.path().join(n)).unwrap().len())
            .sum();
        assert!(total <= 300, "{total} bytes kept");
        // Whole lines only, newest in the current file.
        let current = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
        assert!(current.ends_with(&format!("record 19 {}\n", "x".repeat(30))));
        for file in &names {
            let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
            assert!(text.lines().all(|l| l.len() == 40), "{text}");
        }
    }

    #[test]
    fn an_existing_file_is_appended_to_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.log"), "x".repeat(90)).unwrap();
        let log = RotatingFile::with_limits(dir.path(), "app", 100, 2).unwrap();
        writeln!(log.make_writer(), "{}", "y".repeat(19)).unwrap();
        assert!(dir.path().join("app.1.log").exists());
        assert_eq!(
            std::fs::read_to_string(log.path()).unwrap(),
            format!("{}\n", "y".repeat(19))
        );
    }
}
