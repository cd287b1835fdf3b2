//! Capture → spool: every frame from the source is appended to the spool the
//! moment it arrives, before anything sends it, and a sync thread makes the
//! spool durable at least every 250 ms.
//!
//! The append runs on the capture task itself: a positional write of about
//! 1.3 kB into the page cache, a few microseconds, like the sender's reads of
//! the same file. Only `fdatasync`, which can take milliseconds on a busy
//! disk, leaves for a thread of its own. (Handing every frame to a writer
//! thread instead cost two thread switches per 40 ms, most of what live
//! streaming cost.)
//!
//! When the disk refuses a write (full, read-only), frames wait in memory up to
//! [`MAX_HELD_SAMPLES`] and are retried with every frame and tick; the session
//! reports a failure naming the file. Past that bound the oldest held audio is
//! dropped and counted, loudly.

use std::collections::VecDeque;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use super::report::Reporter;
use crate::audio::{AudioError, AudioSource, Frame};
use crate::events::Status;
use crate::spool::{SpoolError, SpoolSyncer, SpoolWriter};
use crate::store::Store;

/// The longest interval between two syncs of the spool.
pub const SYNC_EVERY: Duration = Duration::from_millis(250);
/// Audio kept in memory while the disk refuses writes: 10 minutes (19 MB).
pub const MAX_HELD_SAMPLES: u64 = 10 * 60 * 16_000;
/// How often the session's record is told how much audio is safely on disk:
/// it is what a list of sessions shows, not what recovery relies on (the
/// spool itself is), so once a second is plenty.
const NOTE_PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What woke the capture task.
enum Step {
    Read(Result<Option<Frame>, AudioError>),
    Sync,
}

/// What the capture pipeline tells the sender: `Some(end)` once capture is over.
pub type CaptureDone = watch::Receiver<Option<u64>>;

/// Set when audio could not be written to the spool: the session must not be
/// reported complete.
pub type CaptureFailure = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// Starts the sync thread and the task that feeds the spool from `source`.
/// `stop` ends capture early (the doctor pressed Stop).
pub fn start<S: AudioSource + 'static>(
    mut source: S,
    writer: SpoolWriter,
    store: Store,
    reporter: Reporter,
    mut stop: watch::Receiver<bool>,
    failure: CaptureFailure,
) -> Result<CaptureDone, SpoolError> {
    let (done_tx, done) = watch::channel(None);
    let syncs = SyncThread::spawn(writer.syncer()?, store, reporter.clone());

    if let Some(mut notices) = source.take_notices() {
        let reporter = reporter.clone();
        tokio::spawn(async move {
            while let Some(notice) = notices.recv().await {
                reporter.source_notice(notice);
            }
        });
    }

    tokio::spawn(async move {
        let mut spool = HeldSpool::new(writer, reporter.clone());
        let mut sync = tokio::time::interval(SYNC_EVERY);
        sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sync_asked_at = spool.writer.end();
        loop {
            // A read in flight outlives the sync ticks: cancelling it could
            // cancel a microphone being reopened.
            let reading = source.next_frame();
            tokio::pin!(reading);
            let next = loop {
                // The select only decides; writing happens after it.
                let step = tokio::select! {
                    next = &mut reading => Step::Read(next),
                    _ = stop.wait_for(|s| *s) => Step::Read(Ok(None)),
                    _ = sync.tick() => Step::Sync,
                };
                match step {
                    Step::Read(next) => break next,
                    Step::Sync => {
                        spool.flush();
                        // A silent microphone or a refusing disk: nothing new to sync.
                        if spool.writer.end() > sync_asked_at {
                            sync_asked_at = spool.writer.end();
                            syncs.ask();
                        }
                    }
                }
            };
            match next {
                Ok(Some(frame)) => {
                    // With `sent` in the sender: capture → socket latency (benchmarks).
                    tracing::trace!(target: "consult_recorder::latency", offset = frame.offset, "captured");
                    spool.push(frame);
                    spool.flush();
                }
                Ok(None) => break,
                Err(err) => {
                    report_source_error(&reporter, &err);
                    break;
                }
            }
        }
        spool.flush();
        syncs.finish().await;
        let unsaved = spool.unsaved_samples();
        if unsaved > 0 {
            let reason = format!(
                "{:.1} s of audio could not be written to {} (the disk is full or refuses writes)",
                unsaved as f64 / 16_000.0,
                spool.writer.path().display()
            );
            tracing::error!(%reason, "capture ended with unsaved audio");
            *failure.lock().expect("failure lock poisoned") = Some(reason);
        }
        let _ = done_tx.send(Some(spool.writer.end()));
    });
    Ok(done)
}

fn report_source_error(reporter: &Reporter, err: &AudioError) {
    reporter.warning(format!("audio capture stopped: {err}"));
}

/// The spool writer and the audio the disk has not taken yet.
struct HeldSpool {
    writer: SpoolWriter,
    held: VecDeque<Frame>,
    held_samples: u64,
    dropped_samples: u64,
    failing: bool,
    reporter: Reporter,
}

impl HeldSpool {
    fn new(writer: SpoolWriter, reporter: Reporter) -> Self {
        Self {
            writer,
            held: VecDeque::new(),
            held_samples: 0,
            dropped_samples: 0,
            failing: false,
            reporter,
        }
    }

    /// Queues a frame; past [`MAX_HELD_SAMPLES`] the oldest held audio goes.
    fn push(&mut self, frame: Frame) {
        self.held_samples += frame.samples();
        self.held.push_back(frame);
        while self.held_samples > MAX_HELD_SAMPLES {
            let Some(oldest) = self.held.pop_front() else {
                break;
            };
            self.held_samples -= oldest.samples();
            self.dropped_samples += oldest.samples();
        }
    }

    /// Audio that never reached the spool: still held, or dropped.
    fn unsaved_samples(&self) -> u64 {
        self.held_samples + self.dropped_samples
    }

    /// Writes held frames in order; on the first failure keeps the rest for later.
    fn flush(&mut self) {
        while let Some(frame) = self.held.front() {
            // A frame whose offset is behind the spool end was already written
            // (a resumed recording): skip it.
            if frame.end() > self.writer.end() {
                if let Err(err) = self.writer.append(frame.offset, &frame.pcm) {
                    self.refused(&err);
                    return;
                }
                if self.failing {
                    self.failing = false;
                    self.reporter
                        .warning("the audio spool is writable again; held audio was saved");
                }
            }
            self.held_samples -= frame.samples();
            self.held.pop_front();
        }
    }

    fn refused(&mut self, err: &SpoolError) {
        if self.failing {
            return;
        }
        self.failing = true;
        tracing::error!(error = %err, "cannot write the audio spool");
        self.reporter.status(Status::Failed {
            reason: format!(
                "{err}. Recording continues in memory (up to 10 minutes) — free some disk space"
            ),
        });
    }
}

enum SyncRequest {
    Sync,
    /// The last sync; answered once it is done and noted.
    Finish(oneshot::Sender<()>),
}

/// The thread that makes the spool durable and notes in the session's record
/// how much audio is on disk. Requests that queue up behind a slow sync are
/// served by one.
struct SyncThread {
    requests: std_mpsc::Sender<SyncRequest>,
}

impl SyncThread {
    fn spawn(syncer: SpoolSyncer, store: Store, reporter: Reporter) -> Self {
        let (requests, inbox) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("spool-sync".into())
            .spawn(move || serve_syncs(&syncer, &inbox, &store, &reporter))
            .expect("spawn the spool sync thread");
        Self { requests }
    }

    fn ask(&self) {
        // The thread only ends after `finish`.
        let _ = self.requests.send(SyncRequest::Sync);
    }

    /// The final sync; returns once the audio is on disk (or the sync failed
    /// and said so).
    async fn finish(self) {
        let (reply, done) = oneshot::channel();
        if self.requests.send(SyncRequest::Finish(reply)).is_ok() {
            let _ = done.await;
        }
    }
}

fn serve_syncs(
    syncer: &SpoolSyncer,
    inbox: &std_mpsc::Receiver<SyncRequest>,
    store: &Store,
    reporter: &Reporter,
) {
    let id = reporter.session_id().to_owned();
    let mut noted_at: Option<Instant> = None;
    let mut failing = false;
    while let Ok(first) = inbox.recv() {
        let finish =
            std::iter::once(first)
                .chain(inbox.try_iter())
                .find_map(|request| match request {
                    SyncRequest::Finish(reply) => Some(reply),
                    SyncRequest::Sync => None,
                });
        let synced = match syncer.sync() {
            Ok(synced) => {
                failing = false;
                Some(synced)
            }
            Err(err) => {
                if !failing {
                    failing = true;
                    tracing::error!(error = %err, "spool sync failed");
                    reporter.warning(format!(
                        "{err}; the audio is written but may not survive a power cut"
                    ));
                }
                None
            }
        };
        let note_due = noted_at.is_none_or(|at| at.elapsed() >= NOTE_PROGRESS_EVERY);
        if let Some(synced) = synced
            && (note_due || finish.is_some())
        {
            noted_at = Some(Instant::now());
            if let Err(err) = store.set_recorded(&id, synced) {
                tracing::warn!(error = %err, "cannot note the recorded length");
            }
        }
        if let Some(reply) = finish {
            let _ = reply.send(());
            return;
        }
    }
}
