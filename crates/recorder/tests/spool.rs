//! The spool on a real file: exact read-back, crash recovery, damage, a full disk.

use std::io::Write;

use std::sync::OnceLock;

use consult_recorder::crypto::{DataKey, SEAL_OVERHEAD};
use consult_recorder::spool::{HEADER_LEN, SpoolError, SpoolWriter};

/// This install's key, the same for every open in a test run.
fn key() -> &'static DataKey {
    static KEY: OnceLock<DataKey> = OnceLock::new();
    KEY.get_or_init(DataKey::generate)
}

/// Bytes of one record of 320 samples on disk.
const RECORD_LEN: usize = HEADER_LEN + 640 + SEAL_OVERHEAD;

/// Distinct samples so any misplaced byte shows.
fn pcm(from: u64, samples: u64) -> Vec<u8> {
    (from..from + samples)
        .flat_map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) as i16).to_le_bytes())
        .collect()
}

/// Appends `frames` frames of `frame` samples and returns the file's path.
fn spool_with(dir: &tempfile::TempDir, frames: u64, frame: u64) -> std::path::PathBuf {
    let path = dir.path().join("session.spool");
    let (mut writer, recovered) = SpoolWriter::open(&path, key()).unwrap();
    assert_eq!(recovered.end, 0);
    for k in 0..frames {
        writer.append(k * frame, &pcm(k * frame, frame)).unwrap();
    }
    writer.sync().unwrap();
    path
}

fn read_all(writer: &SpoolWriter, from: u64, to: u64, chunk: u64) -> Vec<u8> {
    let mut reader = writer.reader().unwrap();
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let got = reader.read(at, chunk.min(to - at), &mut out).unwrap();
        assert!(got.samples > 0, "progress at {at}");
        at += got.samples;
    }
    out
}

#[test]
fn reads_back_exactly_from_any_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool_with(&dir, 300, 320); // 6 s of 20 ms frames
    let (writer, recovered) = SpoolWriter::open(&path, key()).unwrap();
    assert_eq!(
        (recovered.end, recovered.records, recovered.torn_tail_bytes),
        (96_000, 300, 0)
    );
    assert!(
        recovered.index.len() >= 6,
        "about one index entry per second"
    );
    for (from, to, chunk) in [
        (0, 96_000, 16_000),
        (17, 96_000, 999),
        (50_001, 60_000, 7),
        (95_999, 96_000, 1),
    ] {
        assert_eq!(
            read_all(&writer, from, to, chunk),
            pcm(from, to - from),
            "{from}..{to} by {chunk}"
        );
    }
    // Nothing is read past the end.
    let mut reader = writer.reader().unwrap();
    let mut out = Vec::new();
    assert_eq!(reader.read(96_000, 100, &mut out).unwrap().samples, 0);
}

#[test]
fn a_record_torn_at_any_byte_is_trimmed_and_writing_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool_with(&dir, 10, 320);
    let whole = std::fs::read(&path).unwrap();
    let record_len = RECORD_LEN;
    // A crash while writing an 11th record, cut at every possible byte.
    let mut extra = Vec::new();
    {
        let scratch = dir.path().join("scratch.spool");
        let (mut w, _) = SpoolWriter::open(&scratch, key()).unwrap();
        for k in 0..11 {
            w.append(k * 320, &pcm(k * 320, 320)).unwrap();
        }
        extra.extend_from_slice(&std::fs::read(&scratch).unwrap()[whole.len()..]);
    }
    assert_eq!(extra.len(), record_len);
    for cut in 1..record_len {
        std::fs::write(&path, [&whole[..], &extra[..cut]].concat()).unwrap();
        let (mut writer, recovered) = SpoolWriter::open(&path, key()).unwrap();
        assert_eq!(recovered.end, 3_200, "cut at {cut}");
        assert_eq!(recovered.torn_tail_bytes, cut as u64);
        assert!(recovered.lost.is_empty());
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            whole.len() as u64,
            "trimmed"
        );
        writer.append(3_200, &pcm(3_200, 320)).unwrap();
        assert_eq!(read_all(&writer, 0, 3_520, 1000), pcm(0, 3_520));
    }
}

#[test]
fn a_damaged_record_in_the_middle_is_reported_and_read_as_marked_silence() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool_with(&dir, 100, 320);
    let mut bytes = std::fs::read(&path).unwrap();
    let record_len = RECORD_LEN;
    bytes[40 * record_len + HEADER_LEN + 100] ^= 0xff; // inside record 40's audio
    std::fs::write(&path, &bytes).unwrap();

    let (mut writer, recovered) = SpoolWriter::open(&path, key()).unwrap();
    assert_eq!(recovered.lost, vec![40 * 320..41 * 320]);
    assert_eq!(recovered.end, 32_000, "records after the damage are kept");
    writer.append(32_000, &pcm(32_000, 320)).unwrap();

    let mut reader = writer.reader().unwrap();
    let mut out = Vec::new();
    let first = reader.read(0, 100_000, &mut out).unwrap();
    assert_eq!(
        (first.samples, first.damaged),
        (12_800, false),
        "stops at the damage"
    );
    let hole = reader.read(12_800, 100_000, &mut out).unwrap();
    assert_eq!((hole.samples, hole.damaged), (320, true));
    let rest = reader.read(13_120, 100_000, &mut out).unwrap();
    assert_eq!((rest.samples, rest.damaged), (32_320 - 13_120, false));
    assert_eq!(&out[..25_600], &pcm(0, 12_800)[..]);
    assert!(out[25_600..26_240].iter().all(|b| *b == 0));
    assert_eq!(&out[26_240..], &pcm(13_120, 32_320 - 13_120)[..]);
}

#[test]
fn garbage_after_good_records_is_a_torn_tail_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool_with(&dir, 5, 320);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(&[0xAB; 5000]).unwrap();
    let (_, recovered) = SpoolWriter::open(&path, key()).unwrap();
    assert_eq!((recovered.end, recovered.torn_tail_bytes), (1_600, 5000));
}

#[test]
fn out_of_order_audio_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) = SpoolWriter::open(&dir.path().join("s.spool"), key()).unwrap();
    writer.append(0, &pcm(0, 320)).unwrap();
    let err = writer.append(1000, &pcm(1000, 320)).unwrap_err();
    assert!(matches!(
        err,
        SpoolError::OutOfOrder {
            expected: 320,
            got: 1000,
            ..
        }
    ));
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_a_clear_error_naming_the_file() {
    // /dev/full answers every write with ENOSPC: a real full disk, no mount needed.
    let (mut writer, _) = SpoolWriter::open(std::path::Path::new("/dev/full"), key()).unwrap();
    let err = writer.append(0, &pcm(0, 320)).unwrap_err();
    assert!(err.is_disk_full(), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("/dev/full"), "{message}");
    assert_eq!(writer.end(), 0, "nothing counted as written");
}

#[test]
fn no_audio_is_readable_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool_with(&dir, 50, 320);
    let bytes = std::fs::read(&path).unwrap();
    let audio = pcm(0, 50 * 320);
    // Any 16-byte run of the audio appearing in the file would be a leak.
    let leaked = audio
        .chunks(16)
        .filter(|run| bytes.windows(16).any(|w| w == *run))
        .count();
    assert_eq!(leaked, 0, "audio visible on disk");
}

/// Alters record `n`'s sealed audio and fixes its CRC, as someone with the
/// file (but not the key) would.
fn forge(bytes: &mut [u8], n: usize) {
    let start = n * RECORD_LEN;
    bytes[start + HEADER_LEN + 100] ^= 0x5a;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[start..start + 20]);
    crc.update(&bytes[start + HEADER_LEN..start + RECORD_LEN]);
    bytes[start + 20..start + 24].copy_from_slice(&crc.finalize().to_le_bytes());
}

#[test]
fn an_altered_record_is_reported_never_decrypted_and_kept_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool_with(&dir, 100, 320);
    let mut bytes = std::fs::read(&path).unwrap();
    forge(&mut bytes, 40);
    std::fs::write(&path, &bytes).unwrap();

    let (mut writer, recovered) = SpoolWriter::open(&path, key()).unwrap();
    assert_eq!(recovered.lost, vec![40 * 320..41 * 320]);
    assert_eq!(recovered.unauthentic_records, 1);
    assert_eq!(recovered.end, 32_000);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        bytes.len() as u64,
        "nothing cut from the file"
    );
    writer.append(32_000, &pcm(32_000, 320)).unwrap();
    let mut reader = writer.reader().unwrap();
    let mut out = Vec::new();
    assert_eq!(reader.read(0, 100_000, &mut out).unwrap().samples, 12_800);
    let hole = reader.read(12_800, 100_000, &mut out).unwrap();
    assert_eq!((hole.samples, hole.damaged), (320, true));
    let rest = reader.read(13_120, 100_000, &mut out).unwrap();
    assert_eq!(rest.samples, 32_320 - 13_120);
    assert!(
        out[25_600..26_240].iter().all(|b| *b == 0),
        "silence, not garbage"
    );
    assert_eq!(&out[26_240..], &pcm(13_120, 32_320 - 13_120)[..]);
}

#[test]
fn a_record_altered_while_recording_is_refused_by_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.spool");
    let (mut writer, _) = SpoolWriter::open(&path, key()).unwrap();
    for k in 0..10 {
        writer.append(k * 320, &pcm(k * 320, 320)).unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    forge(&mut bytes, 3);
    std::fs::write(&path, &bytes).unwrap();
    let mut reader = writer.reader().unwrap();
    let mut out = Vec::new();
    let err = reader.read(0, 10 * 320, &mut out).unwrap_err();
    assert!(
        matches!(err, SpoolError::Tampered { offset: 960, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("live.spool"), "{err}");
    assert!(
        out.len() <= 3 * 640,
        "nothing past the altered record was returned"
    );
}

#[test]
fn another_computers_key_opens_nothing_and_destroys_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool_with(&dir, 20, 320);
    let before = std::fs::read(&path).unwrap();
    let (mut writer, recovered) = SpoolWriter::open(&path, &DataKey::generate()).unwrap();
    assert_eq!(recovered.lost, vec![0..6_400]);
    assert_eq!(recovered.unauthentic_records, 20);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
    // Recording goes on after the hole, and is readable.
    writer.append(6_400, &pcm(6_400, 320)).unwrap();
    let mut reader = writer.reader().unwrap();
    let mut out = Vec::new();
    let hole = reader.read(0, 100_000, &mut out).unwrap();
    assert_eq!((hole.samples, hole.damaged), (6_400, true));
    out.clear();
    let new = reader.read(6_400, 100_000, &mut out).unwrap();
    assert_eq!((new.samples, new.damaged), (320, false));
    assert_eq!(out, pcm(6_400, 320));
}

#[test]
fn a_record_moved_to_another_session_does_not_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool_with(&dir, 5, 320);
    let moved = dir.path().join("another-session.spool");
    std::fs::copy(&path, &moved).unwrap();
    let (_, recovered) = SpoolWriter::open(&moved, key()).unwrap();
    assert_eq!(recovered.unauthentic_records, 5);
}

/// Found by fuzzing: bytes spliced in exactly between two records lose no
/// sample, so no hole is reported — and readers walking record by record
/// used to land in them and fail ("no audio at sample …").
#[test]
fn garbage_between_two_records_is_jumped_by_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool_with(&dir, 10, 320);
    let bytes = std::fs::read(&path).unwrap();
    let spliced = [
        &bytes[..3 * RECORD_LEN],
        &[0x23u8, 0x34][..],
        &bytes[3 * RECORD_LEN..],
    ]
    .concat();
    std::fs::write(&path, spliced).unwrap();
    let (writer, recovered) = SpoolWriter::open(&path, key()).unwrap();
    assert!(recovered.lost.is_empty(), "{:?}", recovered.lost);
    assert_eq!(recovered.end, 3_200);
    for (from, chunk) in [(0, 10_000), (0, 321), (640, 1_000), (960, 7)] {
        assert_eq!(
            read_all(&writer, from, 3_200, chunk),
            pcm(from, 3_200 - from),
            "{from} by {chunk}"
        );
    }
}

#[test]
fn records_of_changing_length_read_back_exactly() {
    // The reader guesses each record is as long as the one before: longer,
    // shorter and equal neighbours all have to come back byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.spool");
    let (mut writer, _) = SpoolWriter::open(&path, key()).unwrap();
    let mut at = 0;
    for samples in [320, 1_600, 160, 160, 4_000, 1, 320, 640] {
        writer.append(at, &pcm(at, samples)).unwrap();
        at += samples;
    }
    for (from, chunk) in [(0, 320), (0, 7), (100, 999), (at - 1, 1)] {
        assert_eq!(
            read_all(&writer, from, at, chunk),
            pcm(from, at - from),
            "from {from} by {chunk}"
        );
    }
}

#[test]
fn readers_are_woken_every_40_ms_of_audio_and_at_every_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) = SpoolWriter::open(&dir.path().join("s.spool"), key()).unwrap();
    let mut written = writer.subscribe();
    written.mark_unchanged();
    writer.append(0, &pcm(0, 320)).unwrap();
    // Visible at once, waking no one.
    assert_eq!(written.borrow().written, 320);
    assert!(!written.has_changed().unwrap());
    writer.append(320, &pcm(320, 320)).unwrap();
    assert!(written.has_changed().unwrap());
    written.mark_unchanged();
    writer.append(640, &pcm(640, 320)).unwrap();
    assert!(!written.has_changed().unwrap());
    writer.sync().unwrap();
    assert!(written.has_changed().unwrap());
    assert_eq!(written.borrow_and_update().synced, 960);
}
