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

use super::report::Reporter;
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

/// Starts the spool thread and the task that feeds it from `source`.
/// `stop` ends capture early (the doctor pressed Stop).
pub fn start<S: AudioSource + 'static>(
    mut source: S,
    writer: SpoolWriter,
    store: Store,
    reporter: Reporter,
    mut stop: watch::Receiver<bool>,
    failure: CaptureFailure,
) -> CaptureDone {
    let (commands, inbox) = mpsc::channel::<Command>(1024);
    let (done_tx, done) = watch::channel(None);
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
        let mut pending: Vec<Frame> = Vec::new();
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
                };
                match step {
                    Step::Read(next) => break next,
                    Step::Sync => {
                        if hand_over(&commands, &mut pending).await.is_err()
                            || commands.send(Command::Sync).await.is_err()
                        {
                            break 'capture;
                        }
                    }
                }
            };
            match next {
                Ok(Some(frame)) => {
                    // With `sent` in the sender: capture → socket latency (benchmarks).
                    tracing::trace!(target: "consult_recorder::latency", offset = frame.offset, "captured");
                    pending.push(frame);
                    let held: u64 = pending.iter().map(Frame::samples).sum();
                    if held >= HAND_OVER_EVERY && hand_over(&commands, &mut pending).await.is_err()
                    {
                        break;
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    report_source_error(&reporter, &err);
                    break;
                }
            }
        }
        let _ = hand_over(&commands, &mut pending).await;
        let (reply, end) = oneshot::channel();
        if commands.send(Command::Finish(reply)).await.is_ok()
            && let Ok(end) = end.await
        {
            let _ = done_tx.send(Some(end));
        }
    });
    done
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
    mut writer: SpoolWriter,
    mut inbox: mpsc::Receiver<Command>,
    store: Store,
    reporter: Reporter,
    failure: CaptureFailure,
) {
    std::thread::Builder::new()
        .name("spool-writer".into())
        .spawn(move || {
            let mut held: VecDeque<Frame> = VecDeque::new();
            let mut held_samples = 0u64;
            let mut dropped = 0u64;
            let mut failing = false;
            let mut ticks = 0u32;
            let id = reporter.session_id().to_owned();
            while let Some(command) = inbox.blocking_recv() {
                match command {
                    Command::Frames(frames) => {
                        for frame in frames {
                            held_samples += frame.samples();
                            held.push_back(frame);
                        }
                        while held_samples > MAX_HELD_SAMPLES {
                            let Some(oldest) = held.pop_front() else {
                                break;
                            };
                            held_samples -= oldest.samples();
                            dropped += oldest.samples();
                        }
                    }
                    Command::Sync => {
                        if let Err(err) = writer.sync() {
                            tracing::error!(error = %err, "spool sync failed");
                        }
                        ticks += 1;
                        if ticks.is_multiple_of(4) {
                            let _ = store.set_recorded(&id, writer.end());
                        }
                    }
                    Command::Finish(reply) => {
                        flush(
                            &mut writer,
                            &mut held,
                            &mut held_samples,
                            &reporter,
                            &mut failing,
                        );
                        let _ = writer.sync();
                        let _ = store.set_recorded(&id, writer.end());
                        let unsaved = held_samples + dropped;
                        if unsaved > 0 {
                            let reason = format!(
                                "{:.1} s of audio could not be written to {} (the disk is full or refuses writes)",
                                consult_protocol::samples_to_secs(unsaved),
                                writer.path().display()
                            );
                            tracing::error!(%reason, "capture ended with unsaved audio");
                            *failure.lock().expect("failure lock poisoned") = Some(reason);
                        }
                        let _ = reply.send(writer.end());
                        return;
                    }
                }
                flush(
                    &mut writer,
                    &mut held,
                    &mut held_samples,
                    &reporter,
                    &mut failing,
                );
            }
        })
        .expect("spawn the spool writer");
}

/// Writes held frames in order; on the first failure keeps the rest for later.
fn flush(
    writer: &mut SpoolWriter,
    held: &mut VecDeque<Frame>,
    held_samples: &mut u64,
    reporter: &Reporter,
    failing: &mut bool,
) {
    while let Some(frame) = held.front() {
        // A frame whose offset is behind the spool end was already written
        // (a resumed recording): skip it.
        if frame.end() <= writer.end() {
            *held_samples -= frame.samples();
            held.pop_front();
            continue;
        }
        match writer.append(frame.offset, &frame.pcm) {
            Ok(()) => {
                *held_samples -= frame.samples();
                held.pop_front();
                if *failing {
                    *failing = false;
                    reporter.warning("the audio spool is writable again; held audio was saved");
                }
            }
            Err(err) => {
                if !*failing {
                    *failing = true;
                    tracing::error!(error = %err, "cannot write the audio spool");
                    reporter.status(Status::Failed {
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
