//! The v1 sender: streams the spool to the server and resumes exactly.

use std::time::Duration;

use consult_protocol::v1::{self, ClientMessage, Incoming, ServerMessage};
use consult_protocol::{AudioFrame, samples_to_secs};
use futures_util::StreamExt;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;

use super::capture::CaptureDone;
use super::connection::{
    BadMessages, Pump, close_outcome, confirm, message_or_end, report_status, send_before,
    stalled_reason, wait_until_due,
};
use super::driver::{ProfileConnection, drive};
use super::link::{Link, Outcome};
use super::retry::wait_for_audio_past;
use super::transcript::TranscriptAssembler;
use crate::auth::{AuthEvent, Secret};
use crate::events::TranscriptUpdate;
use crate::net::{self, WsStream};
use crate::spool::SpoolReader;
use crate::store::Segment;

/// Streams until the server confirms the whole session, or fails for good.
pub async fn run(
    link: &Link,
    reader: &mut SpoolReader,
    capture: &mut CaptureDone,
    transcript: &mut TranscriptAssembler,
) -> Result<(), String> {
    let confirmed = link.stored_confirmed();
    let written = reader.subscribe();
    let mut v1 = V1 {
        link,
        reader,
        capture,
        transcript,
        confirmed,
    };
    drive(link, written, &mut v1).await
}

struct V1<'a> {
    link: &'a Link,
    reader: &'a mut SpoolReader,
    capture: &'a mut CaptureDone,
    transcript: &'a mut TranscriptAssembler,
    confirmed: u64,
}

impl ProfileConnection for V1<'_> {
    async fn connect_and_stream(&mut self, token: Secret) -> (Outcome, bool) {
        let link = self.link;
        let mut url = format!(
            "{}{}?{}={}&{}={}",
            link.ws_base,
            v1::STREAM_PATH,
            v1::QUERY_SESSION,
            link.session_id,
            v1::QUERY_TRANSCRIPTS_AFTER,
            self.transcript.finals_until()
        );
        if let Some(language) = &link.options.language {
            url.push_str(&format!("&{}={language}", v1::QUERY_LANGUAGE));
        }
        let opened = net::open(
            &url,
            Some(&token),
            Some(v1::SUBPROTOCOL),
            None,
            link.options.connect_timeout,
        )
        .await;
        drop(token);
        match opened {
            Err(err) => (Outcome::from_connect(err), false),
            Ok(ws) => {
                Connection {
                    link,
                    reader: &mut *self.reader,
                    capture: &mut *self.capture,
                    transcript: &mut *self.transcript,
                    confirmed: &mut self.confirmed,
                    sent: 0,
                    finishing: false,
                    bad: BadMessages::default(),
                }
                .stream(ws)
                .await
            }
        }
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
    sent: u64,
    finishing: bool,
    bad: BadMessages,
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
            Ok(Some(Ok(Message::Close(frame)))) => return (close_outcome(frame), false),
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
        confirm(self.link, self.confirmed, ready.durable_offset);
        tracing::info!(session = %self.link.session_id, resume_at = self.sent, "connected");
        report_status(
            self.link,
            self.reader,
            self.sent,
            *self.confirmed,
            self.finishing,
        );

        let options = &self.link.options;
        let mut ping = tokio::time::interval(options.ping_every);
        ping.reset();
        let mut report = tokio::time::interval(Duration::from_secs(1));
        let mut last_heard = Instant::now();
        let mut auth_events = self.link.tokens.subscribe();
        let mut pump = Pump::new();
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
                if let Err(reason) = send_before(
                    &mut sink,
                    Message::Text(text.into()),
                    last_heard + options.stall_after,
                    "the connection broke while finishing",
                )
                .await
                {
                    return (Outcome::Retry(reason), true);
                }
                self.finishing = true;
                self.link.reporter.status(crate::events::Status::Finishing);
            }
            let lag = written.saturating_sub(self.sent);
            let silent_until = last_heard + options.stall_after;
            tokio::select! {
                biased;
                incoming = source.next() => {
                    last_heard = Instant::now();
                    match message_or_end(incoming) {
                        Ok(message) => if let Some(outcome) = self.on_message(message) {
                            return (outcome, true);
                        },
                        Err(outcome) => return (outcome, true),
                    }
                }
                _ = sleep_until(silent_until) => {
                    return (Outcome::Retry(stalled_reason(options.stall_after)), true);
                }
                _ = wait_until_due(pump.send_at(lag)), if lag > 0 => {
                    let max = lag.min(consult_protocol::audio::MAX_FRAME_SAMPLES as u64);
                    let samples = match pump.read(self.link, self.reader, self.sent, max) {
                        Ok(0) => continue,
                        Ok(samples) => samples,
                        Err(reason) => return (Outcome::Fatal(reason), true),
                    };
                    AudioFrame { offset: self.sent, pcm: pump.pcm() }.encode_into(&mut frame);
                    let audio = Message::Binary(frame.clone().into());
                    if let Err(reason) = send_before(&mut sink, audio, silent_until, "the connection broke while sending").await {
                        return (Outcome::Retry(reason), true);
                    }
                    tracing::trace!(target: "consult_recorder::latency", offset = self.sent, samples, "sent");
                    self.sent += samples;
                    pump.sent(samples, lag, options.backlog_speed);
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
                        return (Outcome::Retry(stalled_reason(options.stall_after)), true);
                    }
                    if let Err(reason) = send_before(&mut sink, Message::Ping(Vec::new().into()), silent_until, "the connection broke").await {
                        return (Outcome::Retry(reason), true);
                    }
                }
                event = auth_events.recv() => {
                    if let Ok(AuthEvent::Refreshed { .. }) = event
                        && let Ok(token) = self.link.tokens.access_token().await
                    {
                        let reauth = ClientMessage::Reauth { token: token.expose().to_owned() };
                        let text = zeroize::Zeroizing::new(serde_json::to_string(&reauth).expect("reauth serialises"));
                        if let Err(reason) = send_before(&mut sink, Message::Text(text.as_str().into()), silent_until, "the connection broke").await {
                            return (Outcome::Retry(reason), true);
                        }
                    }
                }
                _ = report.tick() => report_status(self.link, self.reader, self.sent, *self.confirmed, self.finishing),
            }
        }
    }

    /// Handles one message; `Some` when the connection is over.
    fn on_message(&mut self, message: Message) -> Option<Outcome> {
        match message {
            Message::Text(text) => match v1::parse_server_message(&text) {
                Ok(Incoming::Message(message)) => return self.on_server_message(message),
                Ok(Incoming::Unknown(kind)) => {
                    tracing::debug!(%kind, "ignoring an unknown server message")
                }
                Err(err) => self.bad.report(self.link, &err.to_string()),
            },
            Message::Binary(_) => self.bad.report(self.link, "the server sent binary data"),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) | Message::Close(_) => {}
        }
        None
    }

    fn on_server_message(&mut self, message: ServerMessage) -> Option<Outcome> {
        match message {
            ServerMessage::Ack { durable_offset } => {
                if durable_offset > self.sent {
                    self.bad
                        .report(self.link, "an acknowledgement for audio never sent");
                } else {
                    confirm(self.link, self.confirmed, durable_offset);
                }
            }
            ServerMessage::Transcript(t) => self.on_transcript(TranscriptUpdate {
                text: t.text,
                is_final: t.is_final,
                start: t.start,
                end: t.end,
            }),
            ServerMessage::Done { durable_offset } => {
                if self.finishing && durable_offset == self.sent {
                    confirm(self.link, self.confirmed, durable_offset);
                    return Some(Outcome::Done);
                }
                self.bad
                    .report(self.link, "`done` before the session was finished");
            }
            ServerMessage::ReauthOk { .. } => tracing::debug!("re-authenticated in band"),
            ServerMessage::Ready(_) => self.bad.report(self.link, "a second `ready`"),
        }
        None
    }

    fn on_transcript(&mut self, update: TranscriptUpdate) {
        let Some(update) = self.transcript.accept(update) else {
            return;
        };
        if update.is_final {
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
