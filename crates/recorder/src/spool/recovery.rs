//! Opening a spool after a crash: keep every valid record, trim a torn tail,
//! and step over damaged bytes to the next good record, saying what was lost.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use super::format::{HEADER_LEN, Record, check_payload, decode_header};
use super::{INDEX_EVERY_SAMPLES, IndexEntry, SpoolError};

/// What was found in a spool file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// The next sample offset to append.
    pub end: u64,
    /// Bytes of the file that hold valid records (the file is cut here).
    pub valid_len: u64,
    /// Bytes of an incomplete last record removed (a crash mid-write).
    pub torn_tail_bytes: u64,
    /// Sample ranges whose records were damaged beyond use.
    pub lost: Vec<Range<u64>>,
    pub records: u64,
    pub index: Vec<IndexEntry>,
}

/// Scans `path` (which may not exist yet). Does not modify the file.
pub fn recover(path: &Path) -> Result<Recovered, SpoolError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recovered::default()),
        Err(e) => return Err(SpoolError::io("open", path)(e)),
    };
    let len = file.metadata().map_err(SpoolError::io("read", path))?.len();
    let mut scan = Scanner {
        reader: BufReader::with_capacity(1 << 16, file),
        path,
        len,
        position: 0,
    };
    let mut found = Recovered::default();
    let mut last_indexed: Option<u64> = None;
    while scan.position < len {
        match scan.record_at(scan.position)? {
            Some(record) if record.offset >= found.end => {
                if record.offset > found.end {
                    found.lost.push(found.end..record.offset);
                }
                if last_indexed.is_none_or(|at| record.offset >= at + INDEX_EVERY_SAMPLES)
                    || record.offset > found.end
                {
                    found.index.push(IndexEntry {
                        offset: record.offset,
                        position: scan.position,
                    });
                    last_indexed = Some(record.offset);
                }
                found.end = record.end();
                found.records += 1;
                scan.position += record.total_len();
                found.valid_len = scan.position;
            }
            // A record that goes backwards or does not check out: damage.
            Some(_) | None => match scan.next_good_record(scan.position + 1)? {
                Some(next) => scan.position = next,
                None => break,
            },
        }
    }
    found.torn_tail_bytes = len - found.valid_len;
    Ok(found)
}

struct Scanner<'a> {
    reader: BufReader<File>,
    path: &'a Path,
    len: u64,
    position: u64,
}

impl Scanner<'_> {
    /// The valid record at `position`, if there is one.
    fn record_at(&mut self, position: u64) -> Result<Option<Record>, SpoolError> {
        if self.len - position < HEADER_LEN as u64 {
            return Ok(None);
        }
        self.reader
            .seek(SeekFrom::Start(position))
            .map_err(SpoolError::io("read", self.path))?;
        let mut header = [0u8; HEADER_LEN];
        self.reader
            .read_exact(&mut header)
            .map_err(SpoolError::io("read", self.path))?;
        let Ok((record, crc)) = decode_header(&header) else {
            return Ok(None);
        };
        if position + record.total_len() > self.len {
            return Ok(None);
        }
        let mut payload = vec![0u8; record.payload_len as usize];
        self.reader
            .read_exact(&mut payload)
            .map_err(SpoolError::io("read", self.path))?;
        Ok(check_payload(&header, &payload, crc)
            .is_ok()
            .then_some(record))
    }

    /// The position of the next valid record at or after `from`.
    fn next_good_record(&mut self, from: u64) -> Result<Option<u64>, SpoolError> {
        let mut candidate = from;
        while candidate + HEADER_LEN as u64 <= self.len {
            self.reader
                .seek(SeekFrom::Start(candidate))
                .map_err(SpoolError::io("read", self.path))?;
            let mut window = [0u8; 4];
            if self.reader.read_exact(&mut window).is_err() {
                return Ok(None);
            }
            if &window == b"CRsp" && self.record_at(candidate)?.is_some() {
                return Ok(Some(candidate));
            }
            candidate += 1;
        }
        Ok(None)
    }
}
