//! Reading the spool from any sample offset, while the writer keeps appending.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::format::{HEADER_LEN, RecordError, RecordSeal, check_body, decode_header};
use super::{IndexEntry, SpoolError, WrittenEnd};

/// What a read returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Samples appended to the output buffer.
    pub samples: u64,
    /// The samples are silence standing in for audio damaged on disk.
    pub damaged: bool,
}

/// A reader of one spool file. Each sender owns its own.
#[derive(Debug)]
pub struct SpoolReader {
    path: PathBuf,
    file: File,
    seal: RecordSeal,
    index: Arc<Mutex<Vec<IndexEntry>>>,
    lost: Arc<[Range<u64>]>,
    written: watch::Receiver<WrittenEnd>,
    /// Where the record holding `cursor.offset` starts, to avoid index look-ups
    /// when reading forward.
    cursor: Option<IndexEntry>,
    /// The bytes of the last record read: header and sealed body.
    bytes: Vec<u8>,
    /// Its audio, once the tag checked out.
    payload: Vec<u8>,
    /// Where that record starts and what it holds: reading forward asks for
    /// it again (the cursor points at it), and a second read or decryption
    /// of the same record would double the cost of live streaming.
    opened: Option<(u64, super::Record)>,
}

impl SpoolReader {
    pub(super) fn open(
        path: &Path,
        seal: RecordSeal,
        index: Arc<Mutex<Vec<IndexEntry>>>,
        lost: Arc<[Range<u64>]>,
        written: watch::Receiver<WrittenEnd>,
    ) -> Result<Self, SpoolError> {
        let file = File::open(path).map_err(SpoolError::io("open", path))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            seal,
            index,
            lost,
            written,
            cursor: None,
            bytes: Vec::new(),
            payload: Vec::new(),
            opened: None,
        })
    }

    /// How far the spool is written and synced now.
    pub fn written(&self) -> WrittenEnd {
        *self.written.borrow()
    }

    /// A receiver that changes whenever more audio is written or synced.
    pub fn subscribe(&self) -> watch::Receiver<WrittenEnd> {
        self.written.clone()
    }

    /// Appends up to `max_samples` samples starting at `from` to `out`.
    /// Reads nothing past what the writer has finished writing.
    pub fn read(
        &mut self,
        from: u64,
        max_samples: u64,
        out: &mut Vec<u8>,
    ) -> Result<ReadOutcome, SpoolError> {
        let end = self.written().written;
        if from >= end || max_samples == 0 {
            return Ok(ReadOutcome {
                samples: 0,
                damaged: false,
            });
        }
        if let Some(range) = self.lost.iter().find(|r| r.contains(&from)) {
            let samples = (range.end - from).min(max_samples);
            out.resize(out.len() + samples as usize * 2, 0);
            return Ok(ReadOutcome {
                samples,
                damaged: true,
            });
        }
        let mut position = self.seek_position(from);
        let mut at = from;
        let limit = (from + max_samples).min(end);
        while at < limit {
            // A record after skipped bytes is indexed: walking by record
            // lengths would land in the bytes, so jump to it.
            if let Some(indexed) = self.indexed_at(at) {
                position = indexed;
            }
            let record_start = position;
            let record = self.read_record(position, at)?;
            if record.end() <= at {
                position += record.total_len();
                continue;
            }
            let skip = (at - record.offset) as usize * 2;
            let take = ((record.end().min(limit) - at) as usize) * 2;
            out.extend_from_slice(&self.payload[skip..skip + take]);
            at += (take / 2) as u64;
            self.cursor = Some(IndexEntry {
                offset: record.offset,
                position: record_start,
            });
            position += record.total_len();
            // Stop at a damaged range; the next read reports it.
            if self.lost.iter().any(|r| r.start == at) {
                break;
            }
        }
        Ok(ReadOutcome {
            samples: at - from,
            damaged: false,
        })
    }

    /// The position of the indexed record starting exactly at `offset`.
    fn indexed_at(&self, offset: u64) -> Option<u64> {
        let index = self.index.lock().expect("spool index lock poisoned");
        index
            .binary_search_by_key(&offset, |e| e.offset)
            .ok()
            .map(|i| index[i].position)
    }

    /// Where to start scanning for `offset`: the cursor when reading forward,
    /// otherwise the sparse index.
    fn seek_position(&self, offset: u64) -> u64 {
        if let Some(cursor) = self.cursor
            && cursor.offset <= offset
        {
            let index = self.index.lock().expect("spool index lock poisoned");
            let indexed = index.partition_point(|e| e.offset <= offset);
            // Prefer the index when it jumps further ahead than the cursor.
            return match indexed.checked_sub(1).map(|i| index[i]) {
                Some(entry) if entry.offset > cursor.offset => entry.position,
                _ => cursor.position,
            };
        }
        let index = self.index.lock().expect("spool index lock poisoned");
        let indexed = index.partition_point(|e| e.offset <= offset);
        indexed.checked_sub(1).map_or(0, |i| index[i].position)
    }

    /// Reads, checks and opens the record at `position` into `self.payload`.
    fn read_record(&mut self, position: u64, wanted: u64) -> Result<super::Record, SpoolError> {
        if let Some((at, record)) = self.opened
            && at == position
        {
            return Ok(record);
        }
        self.opened = None;
        let missing = || SpoolError::Missing {
            path: self.path.clone(),
            offset: wanted,
        };
        // One read for header and body, guessing the body is as long as the
        // last one (records of live audio all are); a longer one costs a
        // second read.
        let guess = HEADER_LEN + self.bytes.len().saturating_sub(HEADER_LEN).max(1);
        self.bytes.resize(guess, 0);
        let got = read_up_to(&self.file, &mut self.bytes, position)
            .map_err(SpoolError::io("read", &self.path))?;
        if got < HEADER_LEN {
            return Err(missing());
        }
        let (record, crc) = decode_header(&self.bytes[..HEADER_LEN]).map_err(|_| missing())?;
        let total = record.total_len() as usize;
        self.bytes.resize(total, 0);
        if got < total {
            read_exact_at(&self.file, &mut self.bytes[got..], position + got as u64)
                .map_err(SpoolError::io("read", &self.path))?;
        }
        let (header, body) = self.bytes.split_at(HEADER_LEN);
        check_body(header, body, crc).map_err(|_| missing())?;
        self.seal
            .open(header, body, &mut self.payload)
            .map_err(|e| match e {
                RecordError::Tampered => SpoolError::Tampered {
                    path: self.path.clone(),
                    offset: record.offset,
                },
                _ => missing(),
            })?;
        self.opened = Some((position, record));
        Ok(record)
    }
}

/// Reads into `buf` until it is full or the file ends; the bytes read.
fn read_up_to(file: &File, buf: &mut [u8], position: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match read_at(file, &mut buf[got..], position + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(got)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], position: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, position)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], position: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, position)
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], position: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, position)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut position: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, position)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        position += n as u64;
    }
    Ok(())
}
