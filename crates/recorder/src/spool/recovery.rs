//! Opening a spool after a crash: keep every valid record, trim a torn tail,
//! and step over damaged bytes to the next good record, saying what was lost.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use super::format::{HEADER_LEN, Record, RecordSeal, check_body, decode_header};
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
    /// Sample ranges whose records were damaged beyond use (or altered).
    pub lost: Vec<Range<u64>>,
    /// Records whose checksum holds but whose tag does not: altered on
    /// purpose, or sealed under another key. Their bytes stay in the file
    /// (the right key may turn up); their audio counts as lost.
    pub unauthentic_records: u64,
    /// Valid records kept.
    pub records: u64,
    /// Where valid records start: about one a second, and the first after
    /// every hole or damaged stretch.
    pub index: Vec<IndexEntry>,
}

/// Scans `path` (which may not exist yet). Does not modify the file.
///
/// With the spool's `seal`, every record's tag is checked too, so a record
/// altered on purpose counts as damage like any other. Without it (a tool
/// that holds no key) torn tails and accidental damage are still found.
pub fn recover(path: &Path, seal: Option<&RecordSeal>) -> Result<Recovered, SpoolError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recovered::default()),
        Err(e) => return Err(SpoolError::io("open", path)(e)),
    };
    let len = file.metadata().map_err(SpoolError::io("read", path))?.len();
    let mut scan = Scanner {
        reader: BufReader::with_capacity(1 << 16, file),
        path,
        seal,
        len,
        position: 0,
        audio: Vec::new(),
    };
    let mut found = Recovered::default();
    let mut last_indexed: Option<u64> = None;
    // After a hole or skipped bytes, the next good record is indexed so
    // readers jump over them.
    let mut after_hole = false;
    while scan.position < len {
        match scan.record_at(scan.position)? {
            Found::Valid(record) | Found::Unauthentic(record) if record.offset < found.end => {
                // A record that goes backwards: damage.
                after_hole = true;
                match scan.next_good_record(scan.position + 1)? {
                    Some(next) => scan.position = next,
                    None => break,
                }
            }
            Found::Valid(record) => {
                if record.offset > found.end {
                    found.lost.push(found.end..record.offset);
                }
                if last_indexed.is_none_or(|at| record.offset >= at + INDEX_EVERY_SAMPLES)
                    || record.offset > found.end
                    || after_hole
                {
                    found.index.push(IndexEntry {
                        offset: record.offset,
                        position: scan.position,
                    });
                    last_indexed = Some(record.offset);
                }
                after_hole = false;
                found.end = record.end();
                found.records += 1;
                scan.position += record.total_len();
                found.valid_len = scan.position;
            }
            Found::Unauthentic(record) => {
                let start = found.end.min(record.offset);
                match found.lost.last_mut() {
                    Some(last) if last.end == start => last.end = record.end(),
                    _ => found.lost.push(start..record.end()),
                }
                after_hole = true;
                found.end = record.end();
                found.unauthentic_records += 1;
                scan.position += record.total_len();
                found.valid_len = scan.position;
            }
            // Bytes that are no record (even if no sample is missing, as when
            // garbage was spliced in): readers must jump them, so the next
            // good record is indexed.
            Found::Nothing => {
                after_hole = true;
                match scan.next_good_record(scan.position + 1)? {
                    Some(next) => scan.position = next,
                    None => break,
                }
            }
        }
    }
    found.torn_tail_bytes = len - found.valid_len;
    Ok(found)
}

/// What the bytes at one position are.
enum Found {
    Valid(Record),
    /// Whole and checksummed, but its tag fails.
    Unauthentic(Record),
    /// No record: torn, damaged, or not a record boundary.
    Nothing,
}

struct Scanner<'a> {
    reader: BufReader<File>,
    path: &'a Path,
    seal: Option<&'a RecordSeal>,
    len: u64,
    position: u64,
    audio: Vec<u8>,
}

impl Scanner<'_> {
    /// What record, if any, starts at `position`.
    fn record_at(&mut self, position: u64) -> Result<Found, SpoolError> {
        if self.len - position < HEADER_LEN as u64 {
            return Ok(Found::Nothing);
        }
        self.reader
            .seek(SeekFrom::Start(position))
            .map_err(SpoolError::io("read", self.path))?;
        let mut header = [0u8; HEADER_LEN];
        self.reader
            .read_exact(&mut header)
            .map_err(SpoolError::io("read", self.path))?;
        let Ok((record, crc)) = decode_header(&header) else {
            return Ok(Found::Nothing);
        };
        if position + record.total_len() > self.len {
            return Ok(Found::Nothing);
        }
        let mut body = vec![0u8; record.body_len()];
        self.reader
            .read_exact(&mut body)
            .map_err(SpoolError::io("read", self.path))?;
        if check_body(&header, &body, crc).is_err() {
            return Ok(Found::Nothing);
        }
        if let Some(seal) = self.seal
            && seal.open(&header, &body, &mut self.audio).is_err()
        {
            tracing::warn!(
                spool = %self.path.display(),
                position,
                "a spool record does not authenticate; its audio is not used"
            );
            return Ok(Found::Unauthentic(record));
        }
        Ok(Found::Valid(record))
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
            if &window == b"CRsp" && !matches!(self.record_at(candidate)?, Found::Nothing) {
                return Ok(Some(candidate));
            }
            candidate += 1;
        }
        Ok(None)
    }
}
