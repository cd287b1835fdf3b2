//! What a live connection of either profile does the same way: reading the
//! spool at the right pace, reporting status, recording confirmations, and
//! turning a closed or broken socket into an [`Outcome`].

use std::time::Duration;

use consult_protocol::samples_to_secs;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::link::{Link, Outcome};
use crate::events::Status;
use crate::spool::SpoolReader;

/// Audio behind the live edge that still counts as "live" (0.5 s).
pub const LIVE_LAG: u64 = 8_000;
/// Behind by more than this (2 s), the status says "uploading backlog".
pub const BACKLOG_LAG: u64 = 32_000;

/// Moves audio from the spool to the socket: live audio at once, a backlog at
/// a bounded multiple of real time.
pub struct Pump {
    pcm: Vec<u8>,
    next_backlog_send: Instant,
}

impl Pump {
    pub fn new() -> Self {
        Self {
            pcm: Vec::with_capacity(32_000),
            next_backlog_send: Instant::now(),
        }
    }

    /// When the next chunk may go, being `lag` samples behind the live edge:
    /// `None` for at once (live audio, or a backlog whose turn has come).
    pub fn send_at(&self, lag: u64) -> Option<Instant> {
        (lag > LIVE_LAG && self.next_backlog_send > Instant::now())
            .then_some(self.next_backlog_send)
    }

    /// Reads up to `max` samples at `offset`; `Ok(0)` when there is nothing yet.
    /// Damaged audio (read as silence) is reported to the person.
    pub fn read(
        &mut self,
        link: &Link,
        reader: &mut SpoolReader,
        offset: u64,
        max: u64,
    ) -> Result<u64, String> {
        self.pcm.clear();
        let read = reader
            .read(offset, max, &mut self.pcm)
            .map_err(|e| e.to_string())?;
        if read.damaged {
            link.reporter.warning(format!(
                "{:.2} s of audio was damaged on this computer's disk and is sent as silence",
                samples_to_secs(read.samples)
            ));
        }
        Ok(read.samples)
    }

    pub fn pcm(&self) -> &[u8] {
        &self.pcm
    }

    /// After `samples` went out while `lag` behind: pace the backlog.
    pub fn sent(&mut self, samples: u64, lag: u64, speed: f64) {
        if lag > LIVE_LAG {
            let pace = Duration::from_secs_f64(samples_to_secs(samples) / speed);
            self.next_backlog_send = self.next_backlog_send.max(Instant::now() - pace) + pace;
        }
    }
}

/// Waits until `at` (see [`Pump::send_at`]); ready at once for `None`.
/// A timer set for "now" would still wait for the next millisecond tick and
/// wake the runtime a second time, for every live chunk.
pub async fn wait_until_due(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// "Connected" or "uploading backlog — N s left", plus a progress event.
pub fn report_status(
    link: &Link,
    reader: &SpoolReader,
    sent: u64,
    confirmed: u64,
    finishing: bool,
) {
    if finishing {
        return;
    }
    let written = reader.written().written;
    let lag = written.saturating_sub(sent);
    if lag > BACKLOG_LAG {
        link.reporter.status(Status::UploadingBacklog {
            seconds_left: (samples_to_secs(lag) * 10.0).round() / 10.0,
        });
    } else {
        link.reporter.status(Status::Connected);
    }
    link.reporter.progress(written, sent, confirmed);
}

/// Raises the confirmed offset (never lowers it) and stores it.
pub fn confirm(link: &Link, confirmed: &mut u64, offset: u64) {
    if offset > *confirmed {
        *confirmed = offset;
        if let Err(err) = link.store.set_confirmed(&link.session_id, offset) {
            tracing::error!(error = %err, "cannot record the confirmed offset");
        }
    }
}

/// Tells the person once per connection that the server sent something unreadable.
#[derive(Default)]
pub struct BadMessages {
    warned: bool,
}

impl BadMessages {
    pub fn report(&mut self, link: &Link, what: &str) {
        if !self.warned {
            self.warned = true;
            link.reporter.warning(format!(
                "ignored a message from the server that could not be read ({what})"
            ));
        }
    }
}

/// The message, or how the connection ended.
pub fn message_or_end(
    incoming: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Result<Message, Outcome> {
    match incoming {
        None => Err(Outcome::Retry("the connection closed".into())),
        Some(Err(err)) => Err(Outcome::Retry(format!("the connection failed: {err}"))),
        Some(Ok(Message::Close(frame))) => Err(close_outcome(frame)),
        Some(Ok(message)) => Ok(message),
    }
}

/// How a close frame from the server ends the connection.
pub fn close_outcome(frame: Option<CloseFrame>) -> Outcome {
    let (code, reason) = frame.map_or((1005, String::new()), |f| {
        (u16::from(f.code), f.reason.to_string())
    });
    Outcome::from_close(code, &reason)
}

/// Why a silent connection was given up.
pub fn stalled_reason(stall_after: Duration) -> String {
    format!(
        "no answer from the server for {} s (stalled connection)",
        stall_after.as_secs()
    )
}

/// Sends one message, but gives up once `deadline` passes with nothing heard
/// from the server: on a half-open connection the socket's buffers fill and a
/// send would otherwise wait for as long as the stall lasts, hiding it.
pub async fn send_before<S>(
    sink: &mut S,
    message: Message,
    deadline: Instant,
    broken: &str,
) -> Result<(), String>
where
    S: futures_util::Sink<Message> + Unpin,
{
    use futures_util::SinkExt;
    match tokio::time::timeout_at(deadline, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(broken.to_owned()),
        Err(_) => Err(format!(
            "no answer from the server while sending (stalled connection, {})",
            broken
        )),
    }
}
