//! Capture → spool: frames from a source are appended to the spool by one
//! blocking thread, synced at least every 250 ms, before anything sends them.
//!
//! The thread is there for its isolation, not for the cost of a write: even a
//! write into the page cache can wait seconds behind a journal commit or a
//! full writeback queue on a busy disk, and capture and the live upload share
//! one runtime. (Writing from the capture task saved a third of the wake-ups
//! while streaming and was taken back out for this reason.)
//!
//! When the disk refuses a write (full, read-only), frames wait in memory up to
//! [`MAX_HELD_SAMPLES`] and are retried every tick; the session reports a
//! failure naming the file. Past that bound the oldest held audio is dropped and
//! counted, loudly.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::Power;
use super::awake;
use super::report::Reporter;
use super::sleep_watch::SleepWatch;
use crate::audio::{AudioError, AudioSource, Frame};
use crate::events::Status;
use crate::spool::SpoolWriter;
use crate::store::Store;

/// The longest interval between two syncs of the spool.
pub const SYNC_EVERY: Duration = Duration::from_millis(250);
/// Live frames go to the spool thread in pairs (40 ms): one thread switch per
/// pair instead of per frame, which the sender then takes in one message —
/// the same batching [`crate::spool::WAKE_READERS_EVERY`] gives its readers,
/// so the pairing costs no latency of its own. A frame left waiting for its
/// pair (a stalled microphone) goes with the next sync, at most
/// [`SYNC_EVERY`] later, and so is on disk as soon as it would have been.
pub const HAND_OVER_EVERY: u64 = crate::spool::WAKE_READERS_EVERY;
/// Audio kept in memory while the disk refuses writes: 10 minutes (19 MB).
pub const MAX_HELD_SAMPLES: u64 = 10 * 60 * consult_protocol::SAMPLE_RATE as u64;

/// What woke the capture task.
enum Step {
    Read(Result<Option<Frame>, AudioError>),
    Sync,
    /// Paused (`true`) or resumed.
    Paused(bool),
}

enum Command {
    /// Frames in order, handed over together (see [`HAND_OVER_EVERY`]).
    Frames(Vec<Frame>),
    Sync,
    Finish(oneshot::Sender<u64>),
}

/// What the capture pipeline tells the sender: `Some(end)` once capture is over.
pub type CaptureDone = watch::Receiver<Option<u64>>;

/// Set when audio could not be written to the spool: the session must not be
/// reported complete.
pub type CaptureFailure = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// What the doctor can do to a running capture.
#[derive(Debug, Clone)]
pub struct Controls {
    /// `true` ends capture (the doctor pressed Stop).
    pub stop: watch::Receiver<bool>,
    /// `true` while paused: what the source delivers is dropped, never
    /// spooled, and the audio after the pause follows on from the audio
    /// before it with no gap in the offsets.
    pub paused: watch::Receiver<bool>,
}

/// Starts the spool thread and the task that feeds it from `source`.
/// `power` says whether the computer is kept from sleeping until capture
/// ends (or pauses), and how a sleep is noticed.
pub fn start<S: AudioSource + 'static>(
    mut source: S,
    writer: SpoolWriter,
    store: Store,
    reporter: Reporter,
    controls: Controls,
    failure: CaptureFailure,
    power: Power,
) -> CaptureDone {
    let (commands, inbox) = mpsc::channel::<Command>(1024);
    let (done_tx, done) = watch::channel(None);
    let captured_end = writer.end();
    spawn_spool_thread(writer, inbox, store, reporter.clone(), failure);

    if let Some(mut notices) = source.take_notices() {
        let reporter = reporter.clone();
        tokio::spawn(async move {
            while let Some(notice) = notices.recv().await {
                reporter.source_notice(notice);
            }
        });
    }

    tokio::spawn(async move {
        let Controls {
            mut stop,
            mut paused,
        } = controls;
        let mut capturing = Capturing {
            paused: *paused.borrow_and_update(),
            awake: None,
            keep_awake: power.keep_awake,
            sleep_watch: SleepWatch::new(power.sleep_clock),
            pending: Vec::new(),
            captured_end,
            skipped: 0,
            commands,
            reporter,
        };
        capturing.hold_awake(!capturing.paused).await;
        let mut sync = tokio::time::interval(SYNC_EVERY);
        sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        'capture: loop {
            // A read in flight outlives the sync ticks: cancelling it could
            // cancel a microphone being reopened.
            let reading = source.next_frame();
            tokio::pin!(reading);
            let next = loop {
                // The select only decides; sending happens after it.
                let step = tokio::select! {
                    next = &mut reading => Step::Read(next),
                    _ = stop.wait_for(|s| *s) => Step::Read(Ok(None)),
                    _ = sync.tick() => Step::Sync,
                    Ok(()) = paused.changed() => Step::Paused(*paused.borrow_and_update()),
                };
                let handled = match step {
                    Step::Read(next) => break next,
                    Step::Sync => capturing.sync().await,
                    Step::Paused(now) => capturing.set_paused(now).await,
                };
                if handled.is_err() {
                    break 'capture;
                }
            };
            let kept = match next {
                Ok(Some(frame)) => capturing.keep(frame).await,
                Ok(None) => Err(()),
                Err(err) => {
                    report_source_error(&capturing.reporter, &err);
                    Err(())
                }
            };
            if kept.is_err() {
                break;
            }
        }
        let Capturing {
            commands,
            mut pending,
            awake,
            reporter,
            ..
        } = capturing;
        let _ = hand_over(&commands, &mut pending).await;
        if let Some(awake) = awake {
            awake::release(awake, &reporter).await;
        }
        let (reply, end) = oneshot::channel();
        if commands.send(Command::Finish(reply)).await.is_ok()
            && let Ok(end) = end.await
        {
            let _ = done_tx.send(Some(end));
        }
    });
    done
}

/// The capture task's state between frames.
struct Capturing {
    commands: mpsc::Sender<Command>,
    reporter: Reporter,
    /// Frames not yet handed to the spool thread.
    pending: Vec<Frame>,
    /// Where the next kept frame goes in the recording.
    captured_end: u64,
    /// Samples dropped while paused: later frames move back by this much.
    skipped: u64,
    paused: bool,
    keep_awake: bool,
    /// The hold on sleep, while capturing and not paused.
    awake: Option<awake::Pending>,
    sleep_watch: SleepWatch,
}

impl Capturing {
    /// A frame from the source: spooled, or dropped while paused.
    async fn keep(&mut self, mut frame: Frame) -> Result<(), ()> {
        if self.paused {
            self.skipped += frame.samples();
            return Ok(());
        }
        frame.offset -= self.skipped;
        // With `sent` in the sender: capture → socket latency (benchmarks).
        tracing::trace!(target: "consult_recorder::latency", offset = frame.offset, "captured");
        self.captured_end = frame.offset + frame.samples();
        self.pending.push(frame);
        let held: u64 = self.pending.iter().map(Frame::samples).sum();
        if held >= HAND_OVER_EVERY {
            hand_over(&self.commands, &mut self.pending).await?;
        }
        Ok(())
    }

    /// The periodic sync; also when a sleep is noticed.
    async fn sync(&mut self) -> Result<(), ()> {
        if let Some(slept) = self.sleep_watch.slept()
            && !self.paused
        {
            self.reporter.slept(self.captured_end, slept);
        }
        hand_over(&self.commands, &mut self.pending).await?;
        self.commands.send(Command::Sync).await.map_err(|_| ())
    }

    /// Pause or resume: what came before a pause is spooled at once, and
    /// the computer may sleep while nothing is recorded.
    async fn set_paused(&mut self, paused: bool) -> Result<(), ()> {
        if paused == self.paused {
            return Ok(());
        }
        self.paused = paused;
        if paused {
            hand_over(&self.commands, &mut self.pending).await?;
            self.commands.send(Command::Sync).await.map_err(|_| ())?;
        }
        self.reporter.paused(paused, self.captured_end);
        self.hold_awake(!paused).await;
        Ok(())
    }

    async fn hold_awake(&mut self, wanted: bool) {
        if !self.keep_awake {
            return;
        }
        match (wanted, self.awake.take()) {
            (true, None) => self.awake = Some(awake::take(self.reporter.clone())),
            (false, Some(held)) => awake::release(held, &self.reporter).await,
            (_, held) => self.awake = held,
        }
    }
}

/// Sends the pending frames (if any) to the spool thread; `Err` once it is gone.
async fn hand_over(commands: &mpsc::Sender<Command>, pending: &mut Vec<Frame>) -> Result<(), ()> {
    if pending.is_empty() {
        return Ok(());
    }
    commands
        .send(Command::Frames(std::mem::take(pending)))
        .await
        .map_err(|_| ())
}

fn report_source_error(reporter: &Reporter, err: &AudioError) {
    reporter.warning(format!("audio capture stopped: {err}"));
}

fn spawn_spool_thread(
    writer: SpoolWriter,
    mut inbox: mpsc::Receiver<Command>,
    store: Store,
    reporter: Reporter,
    failure: CaptureFailure,
) {
    let mut spool = SpoolThread {
        id: reporter.session_id().to_owned(),
        writer,
        store,
        reporter,
        held: VecDeque::new(),
        held_samples: 0,
        dropped: 0,
        failing: false,
        ticks: 0,
    };
    std::thread::Builder::new()
        .name("spool-writer".into())
        .spawn(move || {
            while let Some(command) = inbox.blocking_recv() {
                match command {
                    Command::Frames(frames) => spool.hold(frames),
                    Command::Sync => spool.sync(),
                    Command::Finish(reply) => {
                        let end = spool.finish(&failure);
                        let _ = reply.send(end);
                        return;
                    }
                }
                spool.flush();
            }
        })
        .expect("spawn the spool writer");
}

/// The spool thread's state: the writer and the frames the disk has not taken yet.
struct SpoolThread {
    id: String,
    writer: SpoolWriter,
    store: Store,
    reporter: Reporter,
    held: VecDeque<Frame>,
    held_samples: u64,
    /// Audio dropped past [`MAX_HELD_SAMPLES`]: reported when capture ends.
    dropped: u64,
    /// Whether the last write failed (the failure is reported once, not per frame).
    failing: bool,
    ticks: u32,
}

impl SpoolThread {
    /// Queues frames behind any the disk refused, dropping the oldest past the bound.
    fn hold(&mut self, frames: Vec<Frame>) {
        for frame in frames {
            self.held_samples += frame.samples();
            self.held.push_back(frame);
        }
        while self.held_samples > MAX_HELD_SAMPLES {
            let Some(oldest) = self.held.pop_front() else {
                break;
            };
            self.held_samples -= oldest.samples();
            self.dropped += oldest.samples();
        }
    }

    /// Makes what was written durable; every fourth tick (1 s) the history row learns the length.
    fn sync(&mut self) {
        if let Err(err) = self.writer.sync() {
            tracing::error!(error = %err, "spool sync failed");
        }
        self.ticks += 1;
        if self.ticks.is_multiple_of(4) {
            let _ = self.store.set_recorded(&self.id, self.writer.end());
        }
    }

    /// Writes what it can, syncs, and records any audio that never reached the
    /// disk as the capture's failure. Returns the spool's end.
    fn finish(&mut self, failure: &CaptureFailure) -> u64 {
        self.flush();
        let _ = self.writer.sync();
        let _ = self.store.set_recorded(&self.id, self.writer.end());
        let unsaved = self.held_samples + self.dropped;
        if unsaved > 0 {
            let reason = format!(
                "{:.1} s of audio could not be written to {} (the disk is full or refuses writes)",
                consult_protocol::samples_to_secs(unsaved),
                self.writer.path().display()
            );
            tracing::error!(%reason, "capture ended with unsaved audio");
            *failure.lock().expect("failure lock poisoned") = Some(reason);
        }
        self.writer.end()
    }

    /// Writes held frames in order; on the first failure keeps the rest for later.
    fn flush(&mut self) {
        while let Some(frame) = self.held.front() {
            // A frame whose offset is behind the spool end was already written
            // (a resumed recording): skip it.
            if frame.end() <= self.writer.end() {
                self.held_samples -= frame.samples();
                self.held.pop_front();
                continue;
            }
            match self.writer.append(frame.offset, &frame.pcm) {
                Ok(()) => {
                    self.held_samples -= frame.samples();
                    self.held.pop_front();
                    if self.failing {
                        self.failing = false;
                        self.reporter
                            .warning("the audio spool is writable again; held audio was saved");
                    }
                }
                Err(err) => {
                    if !self.failing {
                        self.failing = true;
                        tracing::error!(error = %err, "cannot write the audio spool");
                        self.reporter.status(Status::Failed {
                            reason: format!(
                                "{err}. Recording continues in memory (up to 10 minutes) — free some disk space"
                            ),
                        });
                    }
                    return;
                }
            }
        }
    }
}
