//! Capture into a real spool file and a real session database: every frame is
//! readable once it arrives and on disk within a sync, and the session's record
//! learns how much audio is safe.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use consult_recorder::audio::{AudioError, AudioSource, Frame};
use consult_recorder::crypto::{DataKey, DataKeySource};
use consult_recorder::session::Reporter;
use consult_recorder::session::capture::{self, SYNC_EVERY};
use consult_recorder::spool::SpoolWriter;
use consult_recorder::store::{Profile, SessionRecord, SessionState, Store};

/// A microphone that delivers `frames` frames of 20 ms, then stalls without
/// an error (a device that stops sending) or, with `then_end`, ends. A
/// stand-in for the real one, which cannot be made to stall on demand; it
/// counts the reads started, so a read cancelled by the capture task (and
/// started again) shows.
struct StallingSource {
    frames: u64,
    delivered: u64,
    reads_started: Arc<AtomicUsize>,
    then_end: bool,
}

impl AudioSource for StallingSource {
    fn start_at(&mut self, _offset: u64) {}

    async fn next_frame(&mut self) -> Result<Option<Frame>, AudioError> {
        self.reads_started.fetch_add(1, Ordering::SeqCst);
        if self.delivered == self.frames {
            if self.then_end {
                return Ok(None);
            }
            std::future::pending::<()>().await;
        }
        let offset = self.delivered * 320;
        self.delivered += 1;
        Ok(Some(Frame {
            offset,
            pcm: (0..320u32).flat_map(|i| (i as i16).to_le_bytes()).collect(),
        }))
    }
}

fn open_store(dir: &std::path::Path) -> Store {
    Store::open(
        &dir.join("sessions.sqlite3"),
        DataKeySource::fixed(DataKey::generate()),
    )
    .unwrap()
}

fn source(frames: u64, then_end: bool) -> (StallingSource, Arc<AtomicUsize>) {
    let reads_started = Arc::new(AtomicUsize::new(0));
    let source = StallingSource {
        frames,
        delivered: 0,
        reads_started: Arc::clone(&reads_started),
        then_end,
    };
    (source, reads_started)
}

#[tokio::test]
async fn every_frame_is_written_at_once_and_synced_within_a_tick() {
    let dir = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let (writer, _) = SpoolWriter::open(&dir.path().join("s.spool"), &key).unwrap();
    let mut written = writer.subscribe();
    let (events, _) = tokio::sync::broadcast::channel(16);
    let (source, reads_started) = source(3, false);
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let _done = capture::start(
        source,
        writer,
        open_store(dir.path()),
        Reporter::new("capture-test", events),
        stop,
        Default::default(),
    )
    .unwrap();

    // Three frames, then the microphone stalls: all three reach the disk with
    // the next sync, whatever the pairing of sends. The timeout only turns a
    // hang into a failure.
    let end = tokio::time::timeout(SYNC_EVERY * 8, written.wait_for(|w| w.synced >= 3 * 320))
        .await
        .expect("the frames reached the disk within a few syncs")
        .unwrap()
        .synced;
    assert_eq!(end, 3 * 320);
    // Sync ticks came and went while the fourth read was waiting: it was
    // never cancelled and started again.
    assert_eq!(reads_started.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn the_session_record_learns_what_is_on_disk_when_capture_ends() {
    let dir = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let (writer, _) = SpoolWriter::open(&dir.path().join("s.spool"), &key).unwrap();
    let written = writer.subscribe();
    let store = open_store(dir.path());
    store
        .create(&SessionRecord {
            id: "capture-test".into(),
            reference: String::new(),
            started_at: 0,
            profile: Profile::V1,
            server: "http://127.0.0.1:1".into(),
            state: SessionState::Recording,
            failure: None,
            samples_recorded: 0,
            samples_confirmed: 0,
        })
        .unwrap();
    let (events, _) = tokio::sync::broadcast::channel(16);
    let (source, _) = source(5, true);
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut done = capture::start(
        source,
        writer,
        store.clone(),
        Reporter::new("capture-test", events),
        stop,
        Default::default(),
    )
    .unwrap();

    let end = done.wait_for(Option::is_some).await.unwrap().unwrap();
    assert_eq!(end, 5 * 320);
    // Capture is only over once the last sync and its note are done.
    assert_eq!(written.borrow().synced, 5 * 320);
    let record = store.get("capture-test").unwrap().expect("the session");
    assert_eq!(record.samples_recorded, 5 * 320);
}
