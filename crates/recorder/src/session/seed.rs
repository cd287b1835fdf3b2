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
//! confirms everything sent, then replays by the same rule.

use std::time::Duration;

use consult_protocol::samples_to_secs;
use consult_protocol::seed::{self, Incoming};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;

use super::backoff::Backoff;
use super::capture::CaptureDone;
use super::link::{Link, Outcome};
use super::retry::{self, wait_for_audio_past};
use super::transcript::TranscriptAssembler;
use crate::auth::AuthEvent;
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
const LIVE_LAG: u64 = 8_000;
const BACKLOG_LAG: u64 = 32_000;
/// How long to wait for the last final transcript after all audio is confirmed.
const FINAL_GRACE: Duration = Duration::from_secs(5);

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
    let mut confirmed = link
        .store
        .get(&link.session_id)
        .ok()
        .flatten()
        .map_or(0, |s| s.samples_confirmed);
    let mut last_final_at: Option<u64> = None;
    let mut backoff = Backoff::new(link.options.first_retry, link.options.max_retry);
    let mut auth_failures = 0u32;
    let mut resume_from = confirmed;
    loop {
        let token = match retry::token(link).await {
            Ok(token) => token,
            Err(Outcome::Fatal(reason)) => return Err(reason),
            Err(Outcome::Retry(reason)) if reason.is_empty() => continue,
            Err(other) => {
                retry::pause(link, &mut backoff, &other, reader.subscribe(), confirmed).await;
                continue;
            }
        };
        if backoff.attempt() == 0 && link.reporter.current_status().is_none() {
            link.reporter.status(Status::Connecting);
        }
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
        let (outcome, greeted) = match opened {
            Err(err) => (Outcome::from_connect(err), false),
            Ok(ws) => {
                if resume_from < confirmed {
                    transcript.replaying_from(resume_from);
                    tracing::info!(
                        replay_secs = samples_to_secs(confirmed - resume_from),
                        "resending audio the server may not have recognised"
                    );
                }
                let mut connection = Connection {
                    link,
                    reader: &mut *reader,
                    capture: &mut *capture,
                    transcript: &mut *transcript,
                    confirmed: &mut confirmed,
                    last_final_at: &mut last_final_at,
                    sent: resume_from,
                    utterance_start: resume_from,
                    finishing: false,
                    warned_bad_message: false,
                    partial_pending: false,
                };
                connection.stream(ws).await
            }
        };
        if greeted {
            backoff.reset();
        }
        resume_from = replay_point(confirmed, last_final_at);
        tracing::info!(session = %link.session_id, ?outcome, resume_from, "connection ended");
        match outcome {
            Outcome::Done => return Ok(()),
            Outcome::Fatal(reason) => return Err(reason),
            Outcome::Handover => {}
            Outcome::Auth(_) => {
                auth_failures += 1;
                link.tokens.invalidate().await;
                if auth_failures >= 3 {
                    auth_failures = 0;
                    link.tokens
                        .require_sign_in("the server keeps refusing fresh access tokens")
                        .await;
                    continue;
                }
                retry::pause(link, &mut backoff, &outcome, reader.subscribe(), confirmed).await;
            }
            Outcome::Retry(_) => {
                if greeted {
                    auth_failures = 0;
                }
                retry::pause(link, &mut backoff, &outcome, reader.subscribe(), confirmed).await;
            }
        }
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
    warned_bad_message: bool,
    /// A partial arrived and its final has not yet.
    partial_pending: bool,
}

enum Next {
    Continue,
    End(Outcome),
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
            Ok(Some(Ok(Message::Close(frame)))) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                return (Outcome::from_close(code, &reason, false), false);
            }
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
        self.report_status();

        let options = &self.link.options;
        let mut ping = tokio::time::interval(PING_EVERY.min(options.ping_every));
        ping.reset();
        let mut report = tokio::time::interval(Duration::from_secs(1));
        let mut last_heard = Instant::now();
        let mut auth_events = self.link.tokens.subscribe();
        let mut next_backlog_send = Instant::now();
        let mut written_rx = self.reader.subscribe();
        let mut pcm = Vec::with_capacity(32_000);
        let mut all_confirmed_at: Option<Instant> = None;
        let mut pinged_at = self.sent;
        loop {
            let written = self.reader.written().written;
            let capture_end = *self.capture.borrow();
            if !self.finishing && capture_end == Some(self.sent) && self.sent == written {
                self.finishing = true;
                self.link.reporter.status(Status::Finishing);
                if sink
                    .send(Message::Ping(self.sent.to_le_bytes().to_vec().into()))
                    .await
                    .is_err()
                {
                    return (
                        Outcome::Retry("the connection broke while finishing".into()),
                        true,
                    );
                }
            }
            if self.finishing && *self.confirmed >= self.sent {
                let since = *all_confirmed_at.get_or_insert_with(Instant::now);
                // Wait for the final of an utterance still being recognised.
                let waiting_for_final = self.transcript_has_partial();
                if !waiting_for_final || since.elapsed() >= FINAL_GRACE {
                    self.close_gracefully(&mut sink, &mut source, "session finished")
                        .await;
                    return (Outcome::Done, true);
                }
            }
            let lag = written.saturating_sub(self.sent);
            let send_at = if lag > LIVE_LAG {
                next_backlog_send
            } else {
                Instant::now()
            };
            let grace = all_confirmed_at.map(|t| t + FINAL_GRACE);
            tokio::select! {
                biased;
                incoming = source.next() => {
                    last_heard = Instant::now();
                    if let Next::End(outcome) = self.on_incoming(incoming) {
                        return (outcome, true);
                    }
                }
                _ = sleep_until(send_at), if lag > 0 => {
                    pcm.clear();
                    let read = match self.reader.read(self.sent, lag.min(MAX_CHUNK), &mut pcm) {
                        Ok(read) => read,
                        Err(err) => return (Outcome::Fatal(err.to_string()), true),
                    };
                    if read.samples == 0 {
                        continue;
                    }
                    if read.damaged {
                        self.link.reporter.warning(format!(
                            "{:.2} s of audio was damaged on this computer's disk and is sent as silence",
                            samples_to_secs(read.samples)
                        ));
                    }
                    if sink.send(Message::Binary(pcm.clone().into())).await.is_err() {
                        return (Outcome::Retry("the connection broke while sending".into()), true);
                    }
                    self.sent += read.samples;
                    if self.sent - pinged_at >= PING_EVERY_SAMPLES {
                        pinged_at = self.sent;
                        if sink.send(Message::Ping(self.sent.to_le_bytes().to_vec().into())).await.is_err() {
                            return (Outcome::Retry("the connection broke while sending".into()), true);
                        }
                    }
                    if lag > LIVE_LAG {
                        let pace = Duration::from_secs_f64(read.samples as f64 / 16_000.0 / options.backlog_speed);
                        next_backlog_send = next_backlog_send.max(Instant::now() - pace) + pace;
                    }
                }
                _ = wait_for_audio_past(&mut written_rx, self.sent), if lag == 0 && !self.finishing => {}
                _ = self.capture.changed(), if capture_end.is_none() => {}
                _ = sleep_until(grace.unwrap_or_else(Instant::now)), if grace.is_some() => {}
                _ = ping.tick() => {
                    if last_heard.elapsed() > options.stall_after {
                        return (Outcome::Retry(format!(
                            "no answer from the server for {} s (stalled connection)",
                            options.stall_after.as_secs()
                        )), true);
                    }
                    if sink.send(Message::Ping(self.sent.to_le_bytes().to_vec().into())).await.is_err() {
                        return (Outcome::Retry("the connection broke".into()), true);
                    }
                }
                event = auth_events.recv() => {
                    if let Ok(AuthEvent::Refreshed { .. }) = event && !self.finishing {
                        // Hand over to the fresh token before the old one expires
                        // (a strict server closes the socket at expiry).
                        self.close_gracefully(&mut sink, &mut source, "token handover").await;
                        return (Outcome::Handover, true);
                    }
                }
                _ = report.tick() => self.report_status(),
            }
        }
    }

    fn transcript_has_partial(&self) -> bool {
        self.partial_pending
    }

    /// Closes with a handshake; the server's reply confirms every frame sent.
    async fn close_gracefully(&mut self, sink: &mut Sink, source: &mut Source, reason: &str) {
        let frame = CloseFrame {
            code: WsCloseCode::Normal,
            reason: reason.to_owned().into(),
        };
        if sink.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(Some(incoming)) = tokio::time::timeout_at(deadline, source.next()).await {
            match incoming {
                Ok(Message::Close(_)) => {
                    let sent = self.sent;
                    self.confirm(sent);
                    return;
                }
                Ok(other) => {
                    let _ = self.on_incoming(Some(Ok(other)));
                }
                Err(_) => return,
            }
        }
    }

    fn confirm(&mut self, offset: u64) {
        if offset > *self.confirmed && offset <= self.sent {
            *self.confirmed = offset;
            if let Err(err) = self.link.store.set_confirmed(&self.link.session_id, offset) {
                tracing::error!(error = %err, "cannot record the confirmed offset");
            }
        }
    }

    fn report_status(&self) {
        if self.finishing {
            return;
        }
        let written = self.reader.written().written;
        let lag = written.saturating_sub(self.sent);
        if lag > BACKLOG_LAG {
            self.link.reporter.status(Status::UploadingBacklog {
                seconds_left: (samples_to_secs(lag) * 10.0).round() / 10.0,
            });
        } else {
            self.link.reporter.status(Status::Connected);
        }
        self.link
            .reporter
            .progress(written, self.sent, *self.confirmed);
    }

    fn bad_message(&mut self, what: &str) {
        if !self.warned_bad_message {
            self.warned_bad_message = true;
            self.link.reporter.warning(format!(
                "ignored a message from the server that could not be read ({what})"
            ));
        }
    }

    fn on_incoming(
        &mut self,
        incoming: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Next {
        let message = match incoming {
            None => return Next::End(Outcome::Retry("the connection closed".into())),
            Some(Err(err)) => {
                return Next::End(Outcome::Retry(format!("the connection failed: {err}")));
            }
            Some(Ok(message)) => message,
        };
        match message {
            Message::Text(text) => match seed::parse_server_message(&text) {
                Ok(Incoming::Transcript { text, is_final }) => self.on_transcript(text, is_final),
                Ok(Incoming::Connected(_) | Incoming::Unknown) => {}
                Err(err) => self.bad_message(&err.to_string()),
            },
            Message::Pong(payload) => {
                if let Ok(bytes) = <[u8; 8]>::try_from(payload.as_ref()) {
                    self.confirm(u64::from_le_bytes(bytes));
                }
            }
            Message::Binary(_) => self.bad_message("the server sent binary data"),
            Message::Close(frame) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                return Next::End(Outcome::from_close(code, &reason, self.finishing));
            }
            Message::Ping(_) | Message::Frame(_) => {}
        }
        Next::Continue
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
