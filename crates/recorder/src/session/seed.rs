//! The seed sender: the existing backend has no acknowledgements, so this
//! sender makes its own, and replays just enough after a reconnect.
//!
//! **Replay policy.** Every ping carries the sample offset sent so far as its
//! payload. A WebSocket server answers a ping only after reading every frame
//! before it, so a pong proves the server has read all audio up to the offset
//! it echoes (the *confirmed* offset). After a connection is lost the sender
//! resends from `min(confirmed, offset sent when the last final transcript
//! arrived)` — so the utterance that was cut off is recognised whole — but
//! never from more than 30 s before the confirmed offset. Pings go every 2 s
//! and after every 2 s of audio sent, so without a pending final the resend is
//! about 2 s plus what was in flight. No audio is skipped; the worst case per
//! reconnect is 30 s plus what was in flight.
//! A planned token handover closes the old socket with a close handshake, which
//! confirms everything sent, then replays by the same rule. A close the server
//! does not answer within 5 s means the link had stalled: the handover is then
//! reported as a reconnect, so the doctor's status never says "connected" over
//! a dead connection.

use std::time::Duration;

use consult_protocol::seed::{self, Incoming};
use futures_util::StreamExt;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;

use super::capture::CaptureDone;
use super::connection::{
    BadMessages, Pump, close_outcome, confirm, message_or_end, report_status, send_before,
    stalled_reason, until,
};
use super::driver::{Protocol, drive};
use super::link::{Link, Outcome};
use super::retry::wait_for_audio_past;
use super::transcript::TranscriptAssembler;
use crate::auth::{AuthEvent, Secret};
use crate::events::{Status, TranscriptUpdate};
use crate::net::{self, WsStream};
use crate::spool::SpoolReader;
use crate::store::Segment;

/// Pings every 2 s keep the confirmed offset recent…
const PING_EVERY: Duration = Duration::from_secs(2);
/// …and so does one after every 2 s of audio sent, which bounds what a
/// reconnect must resend when a backlog is uploading faster than real time.
const PING_EVERY_SAMPLES: u64 = 32_000;
/// The farthest a replay reaches back before the confirmed offset (30 s).
pub const MAX_REPLAY: u64 = 30 * 16_000;
/// Largest binary frame (the seed backend accepts up to 64 KiB).
const MAX_CHUNK: u64 = 16_000;
/// How long to wait for the last final transcript after all audio is confirmed.
const FINAL_GRACE: Duration = Duration::from_secs(5);
/// How long a close handshake may take before the connection counts as broken.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Why a token handover became a reconnect.
const HANDOVER_UNANSWERED: &str =
    "the server did not answer while switching to a fresh sign-in token (stalled connection)";

/// Where to resume after a reconnect (see the module documentation).
pub fn replay_point(confirmed: u64, last_final_at: Option<u64>) -> u64 {
    let wanted = last_final_at.map_or(confirmed, |f| f.min(confirmed));
    wanted.max(confirmed.saturating_sub(MAX_REPLAY))
}

/// Streams until every sample is confirmed, or fails for good.
pub async fn run(
    link: &Link,
    reader: &mut SpoolReader,
    capture: &mut CaptureDone,
    transcript: &mut TranscriptAssembler,
) -> Result<(), String> {
    let confirmed = link.stored_confirmed();
    let written = reader.subscribe();
    let mut seed = Seed {
        link,
        reader,
        capture,
        transcript,
        confirmed,
        last_final_at: None,
        resume_from: confirmed,
    };
    drive(link, written, &mut seed).await
}

struct Seed<'a> {
    link: &'a Link,
    reader: &'a mut SpoolReader,
    capture: &'a mut CaptureDone,
    transcript: &'a mut TranscriptAssembler,
    confirmed: u64,
    last_final_at: Option<u64>,
    resume_from: u64,
}

impl Protocol for Seed<'_> {
    async fn connect_and_stream(&mut self, token: Secret) -> (Outcome, bool) {
        let link = self.link;
        // The seed backend wants the token in the URL; this string is never logged.
        let url = zeroize::Zeroizing::new(format!(
            "{}{}?{}={}&{}={}",
            link.ws_base,
            seed::STREAM_PATH,
            seed::QUERY_TOKEN,
            token.expose(),
            seed::QUERY_SESSION,
            link.session_id
        ));
        drop(token);
        let opened = net::open(&url, None, None, link.options.connect_timeout).await;
        drop(url);
        let ended = match opened {
            Err(err) => (Outcome::from_connect(err), false),
            Ok(ws) => {
                if self.resume_from < self.confirmed {
                    self.transcript.replaying_from(self.resume_from);
                    tracing::info!(
                        replay_secs =
                            consult_protocol::samples_to_secs(self.confirmed - self.resume_from),
                        "resending audio the server may not have recognised"
                    );
                }
                Connection {
                    link,
                    reader: &mut *self.reader,
                    capture: &mut *self.capture,
                    transcript: &mut *self.transcript,
                    confirmed: &mut self.confirmed,
                    last_final_at: &mut self.last_final_at,
                    sent: self.resume_from,
                    utterance_start: self.resume_from,
                    finishing: false,
                    partial_pending: false,
                    bad: BadMessages::default(),
                }
                .stream(ws)
                .await
            }
        };
        self.resume_from = replay_point(self.confirmed, self.last_final_at);
        ended
    }

    fn confirmed(&self) -> u64 {
        self.confirmed
    }
}

struct Connection<'a> {
    link: &'a Link,
    reader: &'a mut SpoolReader,
    capture: &'a mut CaptureDone,
    transcript: &'a mut TranscriptAssembler,
    confirmed: &'a mut u64,
    last_final_at: &'a mut Option<u64>,
    sent: u64,
    /// Estimated start of the utterance being recognised (the seed profile has no offsets).
    utterance_start: u64,
    finishing: bool,
    /// A partial arrived and its final has not yet.
    partial_pending: bool,
    bad: BadMessages,
}

type Sink = futures_util::stream::SplitSink<WsStream, Message>;
type Source = futures_util::stream::SplitStream<WsStream>;

impl Connection<'_> {
    async fn stream(&mut self, ws: WsStream) -> (Outcome, bool) {
        let (mut sink, mut source) = ws.split();
        match timeout(self.link.options.connect_timeout, source.next()).await {
            Err(_) => {
                return (
                    Outcome::Retry("the server did not greet the connection".into()),
                    false,
                );
            }
            Ok(Some(Ok(Message::Text(text)))) => match seed::parse_server_message(&text) {
                Ok(Incoming::Connected(_)) => {}
                _ => {
                    return (
                        Outcome::Retry("the server's first message was not the greeting".into()),
                        false,
                    );
                }
            },
            Ok(Some(Ok(Message::Close(frame)))) => return (close_outcome(frame, false), false),
            Ok(other) => {
                return (
                    Outcome::Retry(format!(
                        "the connection ended before the greeting ({other:?})"
                    )),
                    false,
                );
            }
        }
        tracing::info!(session = %self.link.session_id, resume_at = self.sent, "connected (seed)");
        report_status(
            self.link,
            self.reader,
            self.sent,
            *self.confirmed,
            self.finishing,
        );

        let options = &self.link.options;
        let mut ping = tokio::time::interval(PING_EVERY.min(options.ping_every));
        ping.reset();
        let mut report = tokio::time::interval(Duration::from_secs(1));
        let mut last_heard = Instant::now();
        let mut auth_events = self.link.tokens.subscribe();
        let mut pump = Pump::new();
        let mut written_rx = self.reader.subscribe();
        let mut all_confirmed_at: Option<Instant> = None;
        let mut pinged_at = self.sent;
        loop {
            let written = self.reader.written().written;
            let capture_end = *self.capture.borrow();
            if !self.finishing && capture_end == Some(self.sent) && self.sent == written {
                self.finishing = true;
                self.link.reporter.status(Status::Finishing);
                if let Err(reason) = send_before(
                    &mut sink,
                    ping_at(self.sent),
                    last_heard + options.stall_after,
                    "the connection broke while finishing",
                )
                .await
                {
                    return (Outcome::Retry(reason), true);
                }
            }
            if self.finishing && *self.confirmed >= self.sent {
                let since = *all_confirmed_at.get_or_insert_with(Instant::now);
                // Wait (briefly) for the final of an utterance still being recognised.
                if !self.partial_pending || since.elapsed() >= FINAL_GRACE {
                    let silent_until = last_heard + options.stall_after;
                    self.close_gracefully(&mut sink, &mut source, "session finished", silent_until)
                        .await;
                    return (Outcome::Done, true);
                }
            }
            let lag = written.saturating_sub(self.sent);
            let grace = all_confirmed_at.map(|t| t + FINAL_GRACE);
            let silent_until = last_heard + options.stall_after;
            tokio::select! {
                biased;
                incoming = source.next() => {
                    last_heard = Instant::now();
                    match message_or_end(incoming, self.finishing) {
                        Ok(message) => self.on_message(message),
                        Err(outcome) => return (outcome, true),
                    }
                }
                _ = sleep_until(silent_until) => {
                    return (Outcome::Retry(stalled_reason(options.stall_after)), true);
                }
                _ = until(pump.send_at(lag)), if lag > 0 => {
                    let samples = match pump.read(self.link, self.reader, self.sent, lag.min(MAX_CHUNK)) {
                        Ok(0) => continue,
                        Ok(samples) => samples,
                        Err(reason) => return (Outcome::Fatal(reason), true),
                    };
                    let audio = Message::Binary(pump.pcm().to_vec().into());
                    if let Err(reason) = send_before(&mut sink, audio, silent_until, "the connection broke while sending").await {
                        return (Outcome::Retry(reason), true);
                    }
                    tracing::trace!(target: "consult_recorder::latency", offset = self.sent, samples, "sent");
                    self.sent += samples;
                    pump.sent(samples, lag, options.backlog_speed);
                    if self.sent - pinged_at >= PING_EVERY_SAMPLES {
                        pinged_at = self.sent;
                        if let Err(reason) = send_before(&mut sink, ping_at(self.sent), silent_until, "the connection broke while sending").await {
                            return (Outcome::Retry(reason), true);
                        }
                    }
                }
                _ = wait_for_audio_past(&mut written_rx, self.sent), if lag == 0 && !self.finishing => {}
                _ = self.capture.changed(), if capture_end.is_none() => {}
                _ = sleep_until(grace.unwrap_or_else(Instant::now)), if grace.is_some() => {}
                _ = ping.tick() => {
                    if last_heard.elapsed() > options.stall_after {
                        return (Outcome::Retry(stalled_reason(options.stall_after)), true);
                    }
                    if let Err(reason) = send_before(&mut sink, ping_at(self.sent), silent_until, "the connection broke").await {
                        return (Outcome::Retry(reason), true);
                    }
                }
                event = auth_events.recv() => {
                    if let Ok(AuthEvent::Refreshed { .. }) = event && !self.finishing {
                        // Hand over to the fresh token before the old one expires
                        // (a strict server closes the socket at expiry). A close
                        // the server never answers means the connection had
                        // already stalled: say so, rather than slip away quietly.
                        let answered = self.close_gracefully(&mut sink, &mut source, "token handover", silent_until).await;
                        if !answered {
                            return (Outcome::Retry(HANDOVER_UNANSWERED.into()), true);
                        }
                        return (Outcome::Handover, true);
                    }
                }
                _ = report.tick() => report_status(self.link, self.reader, self.sent, *self.confirmed, self.finishing),
            }
        }
    }

    /// Closes with a handshake; the server's reply confirms every frame sent.
    /// Waits at most 5 s, and never past `silent_until` (when the connection
    /// would count as stalled anyway). Returns whether the server answered.
    async fn close_gracefully(
        &mut self,
        sink: &mut Sink,
        source: &mut Source,
        reason: &str,
        silent_until: Instant,
    ) -> bool {
        let deadline = silent_until.min(Instant::now() + CLOSE_GRACE);
        let frame = CloseFrame {
            code: WsCloseCode::Normal,
            reason: reason.to_owned().into(),
        };
        if send_before(sink, Message::Close(Some(frame)), deadline, "closing")
            .await
            .is_err()
        {
            return false;
        }
        while let Ok(Some(incoming)) = tokio::time::timeout_at(deadline, source.next()).await {
            match incoming {
                Ok(Message::Close(_)) => {
                    confirm(self.link, self.confirmed, self.sent);
                    return true;
                }
                Ok(other) => self.on_message(other),
                Err(_) => return false,
            }
        }
        false
    }

    fn on_message(&mut self, message: Message) {
        match message {
            Message::Text(text) => match seed::parse_server_message(&text) {
                Ok(Incoming::Transcript { text, is_final }) => self.on_transcript(text, is_final),
                Ok(Incoming::Connected(_) | Incoming::Unknown) => {}
                Err(err) => self.bad.report(self.link, &err.to_string()),
            },
            Message::Pong(payload) => {
                // The echoed offset: everything before it has been read by the server.
                if let Ok(bytes) = <[u8; 8]>::try_from(payload.as_ref()) {
                    let offset = u64::from_le_bytes(bytes);
                    if offset <= self.sent {
                        confirm(self.link, self.confirmed, offset);
                    }
                }
            }
            Message::Binary(_) => self.bad.report(self.link, "the server sent binary data"),
            Message::Ping(_) | Message::Frame(_) | Message::Close(_) => {}
        }
    }

    fn on_transcript(&mut self, text: String, is_final: bool) {
        self.partial_pending = !is_final;
        // No offsets in this profile: estimate them from what had been sent.
        let update = TranscriptUpdate {
            text,
            is_final,
            start: self.utterance_start,
            end: self.sent.max(self.utterance_start + 1),
        };
        let Some(update) = self.transcript.accept(update) else {
            if is_final {
                self.utterance_start = self.sent;
            }
            return;
        };
        if update.is_final {
            *self.last_final_at = Some(self.sent);
            self.utterance_start = self.sent;
            let segment = Segment {
                start: update.start,
                end: update.end,
                text: update.text.clone(),
            };
            if let Err(err) = self.link.store.add_segment(&self.link.session_id, &segment) {
                tracing::error!(error = %err, "cannot store a transcript segment");
            }
        }
        self.link.reporter.transcript(update);
    }
}

/// A ping whose payload is the sample offset sent so far.
fn ping_at(offset: u64) -> Message {
    Message::Ping(offset.to_le_bytes().to_vec().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_starts_at_the_earlier_of_confirmed_and_last_final_within_30_s() {
        // No final yet: resend from what the last pong confirmed.
        assert_eq!(replay_point(100_000, None), 100_000);
        // The utterance after the last final was cut off: resend it whole.
        assert_eq!(replay_point(100_000, Some(80_000)), 80_000);
        // A final arriving after the confirmed point changes nothing.
        assert_eq!(replay_point(100_000, Some(120_000)), 100_000);
        // Never more than 30 s back.
        assert_eq!(
            replay_point(1_000_000, Some(10_000)),
            1_000_000 - MAX_REPLAY
        );
    }
}
