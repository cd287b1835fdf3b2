//! The v1 sender: streams the spool to the server and resumes exactly.

use std::time::Duration;

use consult_protocol::v1::{self, ClientMessage, Incoming, ServerMessage};
use consult_protocol::{AudioFrame, samples_to_secs};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;

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

/// Audio behind the live edge that still counts as "live" (0.5 s).
const LIVE_LAG: u64 = 8_000;
/// Behind by more than this (2 s), the status says "uploading backlog".
const BACKLOG_LAG: u64 = 32_000;

/// Streams until the server confirms the whole session, or fails for good.
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
    let mut backoff = Backoff::new(link.options.first_retry, link.options.max_retry);
    let mut auth_failures = 0u32;
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
        let mut url = format!(
            "{}{}?{}={}&{}={}",
            link.ws_base,
            v1::STREAM_PATH,
            v1::QUERY_SESSION,
            link.session_id,
            v1::QUERY_TRANSCRIPTS_AFTER,
            transcript.finals_until()
        );
        if let Some(language) = &link.options.language {
            url.push_str(&format!("&{}={language}", v1::QUERY_LANGUAGE));
        }
        if backoff.attempt() == 0 && link.reporter.current_status().is_none() {
            link.reporter.status(Status::Connecting);
        }
        let opened = net::open(
            &url,
            Some(&token),
            Some(v1::SUBPROTOCOL),
            link.options.connect_timeout,
        )
        .await;
        drop(token);
        let (outcome, reached_ready) = match opened {
            Err(err) => (Outcome::from_connect(err), false),
            Ok(ws) => {
                let mut connection = Connection {
                    link,
                    reader: &mut *reader,
                    capture: &mut *capture,
                    transcript: &mut *transcript,
                    confirmed: &mut confirmed,
                    sent: 0,
                    finishing: false,
                    warned_bad_message: false,
                };
                connection.stream(ws).await
            }
        };
        if reached_ready {
            backoff.reset();
        }
        tracing::info!(session = %link.session_id, ?outcome, "connection ended");
        match outcome {
            Outcome::Done => return Ok(()),
            Outcome::Fatal(reason) => return Err(reason),
            Outcome::Auth(_) => {
                auth_failures += 1;
                link.tokens.invalidate().await;
                if auth_failures >= 3 {
                    // Fresh tokens keep being refused: only a new sign-in can help.
                    auth_failures = 0;
                    link.tokens
                        .require_sign_in("the server keeps refusing fresh access tokens")
                        .await;
                    continue;
                }
                retry::pause(link, &mut backoff, &outcome, reader.subscribe(), confirmed).await;
            }
            Outcome::Handover => {}
            Outcome::Retry(_) => {
                if reached_ready {
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
    sent: u64,
    finishing: bool,
    warned_bad_message: bool,
}

/// What to do after one message from the server.
enum Next {
    Continue,
    End(Outcome),
}

impl Connection<'_> {
    /// Runs one connection; the flag says whether it got as far as `ready`.
    async fn stream(&mut self, ws: WsStream) -> (Outcome, bool) {
        let (mut sink, mut source) = ws.split();
        let ready = match timeout(self.link.options.connect_timeout, source.next()).await {
            Err(_) => {
                return (
                    Outcome::Retry("the server did not say it was ready".into()),
                    false,
                );
            }
            Ok(Some(Ok(Message::Text(text)))) => match v1::parse_server_message(&text) {
                Ok(Incoming::Message(ServerMessage::Ready(ready))) => ready,
                _ => {
                    return (
                        Outcome::Retry("the server's first message was not `ready`".into()),
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
                    Outcome::Retry(format!("the connection ended before `ready` ({other:?})")),
                    false,
                );
            }
        };
        let written = self.reader.written().written;
        if ready.durable_offset > written {
            return (
                Outcome::Fatal(format!(
                    "the server holds {:.1} s of this session but this computer recorded only {:.1} s",
                    samples_to_secs(ready.durable_offset),
                    samples_to_secs(written)
                )),
                true,
            );
        }
        self.sent = ready.durable_offset;
        self.confirm(ready.durable_offset);
        tracing::info!(session = %self.link.session_id, resume_at = self.sent, "connected");
        self.report_status();

        let options = &self.link.options;
        let mut ping = tokio::time::interval(options.ping_every);
        ping.reset();
        let mut report = tokio::time::interval(Duration::from_secs(1));
        let mut last_heard = Instant::now();
        let mut auth_events = self.link.tokens.subscribe();
        let mut next_backlog_send = Instant::now();
        let mut pcm = Vec::with_capacity(32_000);
        let mut frame = Vec::with_capacity(32_008);
        let mut written_rx = self.reader.subscribe();
        // The server promises an ack for every 500 ms of audio: audio that stays
        // unacknowledged means a broken server, even one that answers pings.
        let mut acked_progress_at = Instant::now();
        let mut acked_seen = *self.confirmed;
        loop {
            if *self.confirmed != acked_seen || self.sent <= *self.confirmed {
                acked_seen = *self.confirmed;
                acked_progress_at = Instant::now();
            }
            let written = self.reader.written().written;
            let capture_end = *self.capture.borrow();
            if !self.finishing && capture_end == Some(self.sent) && self.sent == written {
                let finish = ClientMessage::Finish {
                    end_offset: self.sent,
                };
                let text = serde_json::to_string(&finish).expect("finish serialises");
                if sink.send(Message::Text(text.into())).await.is_err() {
                    return (
                        Outcome::Retry("the connection broke while finishing".into()),
                        true,
                    );
                }
                self.finishing = true;
                self.link.reporter.status(Status::Finishing);
            }
            let lag = written.saturating_sub(self.sent);
            let send_at = if lag > LIVE_LAG {
                next_backlog_send
            } else {
                Instant::now()
            };
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
                    let max = (lag).min(consult_protocol::audio::MAX_FRAME_SAMPLES as u64);
                    let read = match self.reader.read(self.sent, max, &mut pcm) {
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
                    AudioFrame { offset: self.sent, pcm: &pcm }.encode_into(&mut frame);
                    if sink.send(Message::Binary(frame.clone().into())).await.is_err() {
                        return (Outcome::Retry("the connection broke while sending".into()), true);
                    }
                    self.sent += read.samples;
                    if lag > LIVE_LAG {
                        let pace = Duration::from_secs_f64(read.samples as f64 / 16_000.0 / options.backlog_speed);
                        next_backlog_send = next_backlog_send.max(Instant::now() - pace) + pace;
                    }
                }
                _ = wait_for_audio_past(&mut written_rx, self.sent), if lag == 0 => {}
                _ = self.capture.changed(), if capture_end.is_none() => {}
                _ = ping.tick() => {
                    if acked_progress_at.elapsed() > options.stall_after {
                        return (Outcome::Retry(format!(
                            "the server stopped acknowledging audio ({:.1} s waiting)",
                            samples_to_secs(self.sent - *self.confirmed)
                        )), true);
                    }
                    if last_heard.elapsed() > options.stall_after {
                        return (Outcome::Retry(format!(
                            "no answer from the server for {} s (stalled connection)",
                            options.stall_after.as_secs()
                        )), true);
                    }
                    if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return (Outcome::Retry("the connection broke".into()), true);
                    }
                }
                event = auth_events.recv() => {
                    if let Ok(AuthEvent::Refreshed { .. }) = event
                        && let Ok(token) = self.link.tokens.access_token().await
                    {
                        let reauth = ClientMessage::Reauth { token: token.expose().to_owned() };
                        let text = zeroize::Zeroizing::new(serde_json::to_string(&reauth).expect("reauth serialises"));
                        if sink.send(Message::Text(text.as_str().into())).await.is_err() {
                            return (Outcome::Retry("the connection broke".into()), true);
                        }
                    }
                }
                _ = report.tick() => self.report_status(),
            }
        }
    }

    fn confirm(&mut self, offset: u64) {
        if offset > *self.confirmed {
            *self.confirmed = offset;
            if let Err(err) = self.link.store.set_confirmed(&self.link.session_id, offset) {
                tracing::error!(error = %err, "cannot record the confirmed offset");
            }
        }
    }

    fn report_status(&self) {
        let written = self.reader.written().written;
        let lag = written.saturating_sub(self.sent);
        if self.finishing {
            return;
        }
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
            Message::Text(text) => match v1::parse_server_message(&text) {
                Ok(Incoming::Message(message)) => return self.on_message(message),
                Ok(Incoming::Unknown(kind)) => {
                    tracing::debug!(%kind, "ignoring an unknown server message")
                }
                Err(err) => self.bad_message(&err.to_string()),
            },
            Message::Binary(_) => self.bad_message("the server sent binary data"),
            Message::Close(frame) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                return Next::End(Outcome::from_close(code, &reason, self.finishing));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
        Next::Continue
    }

    fn bad_message(&mut self, what: &str) {
        if !self.warned_bad_message {
            self.warned_bad_message = true;
            self.link.reporter.warning(format!(
                "ignored a message from the server that could not be read ({what})"
            ));
        }
    }

    fn on_message(&mut self, message: ServerMessage) -> Next {
        match message {
            ServerMessage::Ack { durable_offset } => {
                if durable_offset > self.sent {
                    self.bad_message("an acknowledgement for audio never sent");
                } else {
                    self.confirm(durable_offset);
                }
            }
            ServerMessage::Transcript(t) => {
                let update = TranscriptUpdate {
                    text: t.text,
                    is_final: t.is_final,
                    start: t.start,
                    end: t.end,
                };
                if let Some(update) = self.transcript.accept(update) {
                    if update.is_final {
                        let segment = Segment {
                            start: update.start,
                            end: update.end,
                            text: update.text.clone(),
                        };
                        if let Err(err) =
                            self.link.store.add_segment(&self.link.session_id, &segment)
                        {
                            tracing::error!(error = %err, "cannot store a transcript segment");
                        }
                    }
                    self.link.reporter.transcript(update);
                }
            }
            ServerMessage::Done { durable_offset } => {
                if self.finishing && durable_offset == self.sent {
                    self.confirm(durable_offset);
                    return Next::End(Outcome::Done);
                }
                self.bad_message("`done` before the session was finished");
            }
            ServerMessage::ReauthOk { .. } => tracing::debug!("re-authenticated in band"),
            ServerMessage::Ready(_) => self.bad_message("a second `ready`"),
        }
        Next::Continue
    }
}
