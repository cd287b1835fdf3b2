//! Capture into a real spool file: frames go to disk in pairs, and a frame
//! left without its pair still reaches the disk with the next sync.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use consult_recorder::audio::{AudioError, AudioSource, Frame};
use consult_recorder::crypto::{DataKey, DataKeySource};
use consult_recorder::session::capture::{self, SYNC_EVERY};
use consult_recorder::session::{Power, Reporter};
use consult_recorder::spool::SpoolWriter;
use consult_recorder::store::Store;

/// A microphone that delivers `frames` frames of 20 ms, then stalls without
/// an error (a device that stops sending). A stand-in for the real one, which
/// cannot be made to stall on demand; it counts the reads started, so a read
/// cancelled by the capture task (and started again) shows.
struct StallingSource {
    frames: u64,
    delivered: u64,
    reads_started: Arc<AtomicUsize>,
}

impl AudioSource for StallingSource {
    fn start_at(&mut self, _offset: u64) {}

    async fn next_frame(&mut self) -> Result<Option<Frame>, AudioError> {
        self.reads_started.fetch_add(1, Ordering::SeqCst);
        if self.delivered == self.frames {
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

#[tokio::test]
async fn a_frame_without_its_pair_reaches_the_disk_with_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let (writer, _) = SpoolWriter::open(&dir.path().join("s.spool"), &key).unwrap();
    let mut written = writer.subscribe();
    let store = Store::open(
        &dir.path().join("sessions.sqlite3"),
        DataKeySource::fixed(DataKey::generate()),
    )
    .unwrap();
    let (events, _) = tokio::sync::broadcast::channel(16);
    let reads_started = Arc::new(AtomicUsize::new(0));
    let source = StallingSource {
        frames: 3,
        delivered: 0,
        reads_started: Arc::clone(&reads_started),
    };
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let _done = capture::start(
        source,
        writer,
        store,
        Reporter::new("capture-test", events),
        capture::Controls {
            stop,
            paused: tokio::sync::watch::channel(false).1,
        },
        Default::default(),
        Power::watch_only(),
    );

    // Three frames: a pair goes at once, the third only with a sync. The
    // timeout only turns a hang into a failure.
    let end = tokio::time::timeout(SYNC_EVERY * 8, written.wait_for(|w| w.synced >= 3 * 320))
        .await
        .expect("the unpaired frame reached the disk within a few syncs")
        .unwrap()
        .synced;
    assert_eq!(end, 3 * 320);
    // Sync ticks came and went while the fourth read was waiting: it was
    // never cancelled and started again.
    assert_eq!(reads_started.load(Ordering::SeqCst), 4);
}
