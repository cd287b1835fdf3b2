//! The seed sender: the existing clinic backend, which never says what it stored.
//!
//! **The delivery rule** (docs/protocol.md has the proof sketch):
//! 1. Pace: each connection sends at most a 1 s burst plus `seed_pace` seconds
//!    of audio per second since its greeting — live audio and backlog alike,
//!    in order — so a Google-style recogniser never refuses it as too fast.
//! 2. Evidence: pings carry the offset sent; a pong that the connection
//!    outlives by 1 s of audio time is *settled* (see [`super::evidence`]).
//! 3. After any unplanned end (a cut, a stall, a 1011, a refusal) the next
//!    connection resends from the settled offset: nothing unproven is skipped.
//! 4. Token handover: open the new connection first, stop sending on the old
//!    one, keep reading it until everything sent on it has settled, then close
//!    it and go on from there. A drain that does not settle within 5 s is a
//!    reconnect from the settled offset.
//! 5. The end: everything sent and settled is "sent", never "confirmed".

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use consult_protocol::seed::{self, Incoming, Unreadable};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;

use super::capture::CaptureDone;
use super::connection::{
    BadMessages, Pump, confirm, report_status, send_before, stalled_reason, wait_until_due,
};
use super::driver::{ProfileConnection, drive};
use super::evidence::Evidence;
use super::link::{Link, Outcome};
use super::pace::Pacer;
use super::retry::wait_for_audio_past;
use super::seed_url::{UrlParts, stream_url, token_message};
use super::transcript::TranscriptAssembler;
use crate::auth::{AuthEvent, Secret};
use crate::events::{Status, TranscriptUpdate};
use crate::net::{self, WsStream};
use crate::server_profile::TokenTransport;
use crate::spool::SpoolReader;
use crate::store::Segment;

/// A ping after every 0.5 s of audio sent keeps the unsettled tail short…
const PING_EVERY_SAMPLES: u64 = 8_000;
/// …and one every 2 s keeps an idle connection's evidence fresh.
const PING_EVERY: Duration = Duration::from_secs(2);
/// Audio time a connection must outlive a pong for it to count as settled.
const SETTLE_AUDIO_SECS: f64 = 1.0;
/// After a "too fast" refusal, resend this much more (2 s) than settled: the
/// recogniser dropped its queue, which may hold audio the pong vouched for.
const REFUSED_EXTRA: u64 = 32_000;
/// How long to wait for the last final transcript once everything settled.
const FINAL_GRACE: Duration = Duration::from_secs(5);
/// How long a close handshake may take.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long the old connection may take to settle during a token handover.
const DRAIN_MAX: Duration = Duration::from_secs(5);
/// How soon a failed attempt to open the handover's new connection is retried.
const HANDOVER_RETRY: Duration = Duration::from_secs(2);
/// The slowest the pace falls after the server refuses audio as too fast.
const MIN_PACE_SHARE: f64 = 0.5;
/// Why a token handover became a reconnect.
const HANDOVER_UNANSWERED: &str =
    "the server did not answer while switching to a fresh sign-in token (stalled connection)";

/// Streams until every sample was sent and settled, or fails for good.
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
        high_water: confirmed,
        pace: link.options.seed_pace,
        ungreeted: 0,
        warned_too_fast: false,
        unreadable: UnreadableMessages::default(),
    };
    drive(link, written, &mut seed).await
}

struct Seed<'a> {
    link: &'a Link,
    reader: &'a mut SpoolReader,
    capture: &'a mut CaptureDone,
    transcript: &'a mut TranscriptAssembler,
    /// The settled offset: where the next connection starts.
    confirmed: u64,
    /// The furthest offset ever sent: a connection starting below it replays.
    high_water: u64,
    /// Seconds of audio per second, lowered if the server says "too fast".
    pace: f64,
    /// Connections in a row that ended before the server's greeting.
    ungreeted: u32,
    warned_too_fast: bool,
    unreadable: UnreadableMessages,
}

/// Server messages this version cannot read, over the whole session: each
/// shape logged once (keys only, never values), the doctor told once.
#[derive(Default)]
struct UnreadableMessages {
    count: u32,
    logged: std::collections::BTreeSet<String>,
    transcripts_read: bool,
    told: bool,
}

/// Unreadable messages in a row, with no transcript read, after which the
/// doctor is told even if none looked like text.
const UNREADABLE_BEFORE_TELLING: u32 = 5;

impl UnreadableMessages {
    fn saw(&mut self, link: &Link, message: Unreadable) {
        self.count += 1;
        if self.logged.len() < 16 && self.logged.insert(message.shape.clone()) {
            tracing::warn!(shape = %message.shape, "a server message this version cannot read");
        }
        let tell = message.may_carry_text
            || (!self.transcripts_read && self.count >= UNREADABLE_BEFORE_TELLING);
        if tell && !self.told {
            self.told = true;
            link.reporter.warning(format!(
                "The server is sending messages this version cannot read ({} so far): the text \
                 will not appear, but the audio is safe and still being sent.",
                self.count
            ));
        }
    }
}

/// Why a connection did not reach the greeting.
enum NotGreeted {
    /// The server answered: with an HTTP status, a close frame, a timeout.
    Refused(Outcome),
    /// It ended without a word (a browser shows 1006): often a refused token.
    Vanished(String),
}

/// What one connection's streaming came to.
enum Step {
    Ended(Outcome),
    /// A token handover: carry on over this (greeted) connection.
    HandedOver(Box<WsStream>),
}

/// After a handover: go on over `next` while `retiring` closes the old one.
enum Next {
    Ended(Outcome),
    Continue {
        next: Box<WsStream>,
        retiring: Retiring,
    },
}

/// The old connection of a handover, closing: resolves to the text messages
/// (transcripts) it still sent, once the server answered the close or after
/// at most 5 s. Its answer proves nothing about storage; the drain did that.
type Retiring = Pin<Box<dyn Future<Output = Vec<Message>> + Send>>;

type Sink = futures_util::stream::SplitSink<WsStream, Message>;
type Source = futures_util::stream::SplitStream<WsStream>;
type Opening<'f> = Pin<Box<dyn Future<Output = Result<Box<WsStream>, NotGreeted>> + Send + 'f>>;

impl ProfileConnection for Seed<'_> {
    async fn connect_and_stream(&mut self, token: Secret) -> (Outcome, bool) {
        let mut ws = match open_greeted(self.link, token).await {
            Ok(ws) => ws,
            Err(NotGreeted::Refused(outcome)) => return (outcome, false),
            Err(NotGreeted::Vanished(why)) => {
                self.ungreeted += 1;
                // Once with a fresh token (a refused one ends like this),
                // then as a network fault with backoff.
                let outcome = if self.ungreeted == 1 {
                    Outcome::Auth(why)
                } else {
                    Outcome::Retry(why)
                };
                return (outcome, false);
            }
        };
        self.ungreeted = 0;
        let mut retiring = None;
        loop {
            match self.stream(ws, retiring.take()).await {
                Next::Continue {
                    next,
                    retiring: old,
                } => {
                    ws = next;
                    retiring = Some(old);
                }
                Next::Ended(outcome) => return (outcome, true),
            }
        }
    }

    fn confirmed(&self) -> u64 {
        self.confirmed
    }
}

/// Opens a seed connection, hands over the token the way the server profile
/// says, and waits for the greeting (`{"status":"connected"}` by default).
async fn open_greeted(link: &Link, token: Secret) -> Result<Box<WsStream>, NotGreeted> {
    let profile = &link.options.stream;
    let parts = UrlParts {
        ws_base: &link.ws_base,
        session_id: &link.session_id,
        language: link.options.language.as_deref(),
        reference: &link.reference,
    };
    // The URL may hold the token: it is never logged and wiped when dropped.
    let url =
        stream_url(profile, &parts, &token).map_err(|e| NotGreeted::Refused(Outcome::Fatal(e)))?;
    let bearer = (profile.token_transport == TokenTransport::Header).then_some(&token);
    let opened = net::open(
        &url,
        bearer,
        None,
        profile.origin.as_deref(),
        link.options.connect_timeout,
    )
    .await;
    drop(url);
    let mut ws = opened.map_err(|e| NotGreeted::Refused(Outcome::from_connect(e)))?;
    if profile.token_transport == TokenTransport::FirstMessage {
        let message = token_message(profile, &token);
        if ws.send(Message::text(message.as_str())).await.is_err() {
            return Err(NotGreeted::Vanished(
                "the server dropped the connection before the token was sent".into(),
            ));
        }
    }
    drop(token);
    if profile.greeting.is_none() {
        return Ok(Box::new(ws));
    }
    let first = timeout(link.options.connect_timeout, ws.next()).await;
    match first {
        Err(_) => Err(NotGreeted::Refused(Outcome::Retry(
            "the server did not greet the connection".into(),
        ))),
        Ok(Some(Ok(Message::Text(text)))) => {
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(message) if profile.is_greeting(&message) => Ok(Box::new(ws)),
                _ => Err(NotGreeted::Refused(Outcome::Retry(
                    "the server's first message was not its greeting (see greeting_field in \
                     the server profile)"
                        .into(),
                ))),
            }
        }
        Ok(Some(Ok(Message::Close(frame)))) => Err(NotGreeted::Refused(close_outcome(frame))),
        Ok(Some(Ok(_))) => Err(NotGreeted::Refused(Outcome::Retry(
            "the server's first message was not its greeting".into(),
        ))),
        Ok(Some(Err(_)) | None) => Err(NotGreeted::Vanished(
            "the server dropped the connection before greeting it".into(),
        )),
    }
}

/// Opens the handover's new connection with the current (fresh) token.
fn open_with_current_token(link: &Link) -> Opening<'_> {
    Box::pin(async move {
        let token = link
            .tokens
            .access_token()
            .await
            .map_err(|e| NotGreeted::Refused(Outcome::Retry(e.to_string())))?;
        open_greeted(link, token).await
    })
}

/// How a seed server's close frame ends the connection. The seed backend
/// uses 1008 for a refused or expired token and for its idle timeout; only
/// the first calls for a fresh token.
fn close_outcome(frame: Option<CloseFrame>) -> Outcome {
    let (code, reason) = frame.map_or((1005, String::new()), |f| {
        (u16::from(f.code), f.reason.to_string())
    });
    let lower = reason.to_lowercase();
    if code == 1008 && lower.contains("idle") {
        return Outcome::Retry(format!(
            "the server closed an idle connection: {reason} (1008)"
        ));
    }
    // The seed closes with 1008 for a bad token and for other refusals of
    // the request ("Missing session_id"): only the first is a sign-in
    // matter; the others are said as they are, and tried again later.
    if code == 1008 && !reason.is_empty() && !lower.contains("auth") && !lower.contains("token") {
        return Outcome::Retry(format!(
            "the server refused the connection: {reason} (1008); if this persists, check \
             the server profile in the configuration"
        ));
    }
    Outcome::from_close(code, &reason)
}

/// Whether a close says the recogniser refused audio as too fast.
fn refused_as_too_fast(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Retry(r) if r.contains("(1011)") && r.to_lowercase().contains("too fast"))
}

/// The handover in progress on a connection.
enum Handover<'f> {
    Idle,
    /// The new connection is being opened; the old one streams on.
    Opening(Opening<'f>),
    /// The new connection is greeted; the old one sends nothing more and is
    /// read until everything sent on it settles.
    Draining {
        next: Box<WsStream>,
        target: u64,
        give_up_at: Instant,
    },
    /// Opening failed; try again at this time (the old token is still valid).
    RetryAt(Instant),
}

/// One connection's state.
struct Live {
    sink: Sink,
    source: Source,
    sent: u64,
    pinged_at: u64,
    pacer: Pacer,
    evidence: Evidence,
    settle: Duration,
    last_heard: Instant,
    /// Estimated start of the utterance being recognised (no offsets here).
    utterance_start: u64,
    /// A partial arrived and its final has not yet.
    partial_pending: bool,
    finishing: bool,
    /// When everything sent had settled while finishing.
    all_settled_at: Option<Instant>,
    bad: BadMessages,
    /// The previous connection, closing after a handover.
    retiring: Option<Retiring>,
}

/// Closes the old connection of a handover (see [`Retiring`]).
fn retire(mut sink: Sink, mut source: Source) -> Retiring {
    Box::pin(async move {
        let deadline = Instant::now() + CLOSE_GRACE;
        let mut kept = Vec::new();
        let frame = CloseFrame {
            code: WsCloseCode::Normal,
            reason: "token handover".into(),
        };
        if send_before(&mut sink, Message::Close(Some(frame)), deadline, "closing")
            .await
            .is_err()
        {
            return kept;
        }
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, source.next()).await {
            match message {
                Message::Close(_) => break,
                Message::Text(_) => kept.push(message),
                _ => {}
            }
        }
        kept
    })
}

impl Seed<'_> {
    /// Streams over one greeted connection until it ends or hands over.
    async fn stream(&mut self, ws: Box<WsStream>, retiring: Option<Retiring>) -> Next {
        let (sink, source) = (*ws).split();
        let start = self.confirmed;
        if start < self.high_water {
            self.transcript.replaying_from(start);
            tracing::info!(
                replay_secs = consult_protocol::samples_to_secs(self.high_water - start),
                "resending audio the server has not shown it took"
            );
        }
        let now = Instant::now();
        let pacer = Pacer::new(self.pace, now);
        let mut live = Live {
            sink,
            source,
            sent: start,
            pinged_at: start,
            settle: pacer.wall(SETTLE_AUDIO_SECS),
            pacer,
            evidence: Evidence::new(start),
            last_heard: now,
            utterance_start: start,
            partial_pending: false,
            finishing: false,
            all_settled_at: None,
            bad: BadMessages::default(),
            retiring,
        };
        tracing::info!(session = %self.link.session_id, resume_at = start, pace = self.pace, "connected (seed)");
        report_status(self.link, self.reader, live.sent, self.confirmed, false);
        match self.stream_on(&mut live).await {
            Step::Ended(outcome) => {
                self.ended(&mut live, &outcome);
                Next::Ended(outcome)
            }
            Step::HandedOver(next) => Next::Continue {
                next,
                retiring: retire(live.sink, live.source),
            },
        }
    }

    /// Where the next connection starts, after this one ended with `outcome`.
    fn ended(&mut self, live: &mut Live, outcome: &Outcome) {
        let settled = live.evidence.settle(Instant::now(), live.settle);
        self.settled(settled);
        if refused_as_too_fast(outcome) {
            // The recogniser dropped what it had queued: go back further, and slower.
            self.confirmed = self.confirmed.saturating_sub(REFUSED_EXTRA);
            self.pace = (self.pace * 0.8).max(self.link.options.seed_pace * MIN_PACE_SHARE);
            if !self.warned_too_fast {
                self.warned_too_fast = true;
                self.link.reporter.warning(format!(
                    "The server asked for audio no faster than real time; sending at {:.2}× from now on",
                    self.pace
                ));
            }
        }
    }

    fn settled(&mut self, offset: u64) {
        confirm(self.link, &mut self.confirmed, offset);
    }

    async fn stream_on(&mut self, live: &mut Live) -> Step {
        let options = &self.link.options;
        let link = self.link;
        let mut ping = tokio::time::interval(PING_EVERY.min(options.ping_every));
        ping.reset();
        let mut report = tokio::time::interval(Duration::from_secs(1));
        let mut auth_events = link.tokens.subscribe();
        let mut pump = Pump::new();
        let mut written_rx = self.reader.subscribe();
        let mut handover = Handover::Idle;
        loop {
            let written = self.reader.written().written;
            let capture_end = *self.capture.borrow();
            let draining = matches!(handover, Handover::Draining { .. });
            if !live.finishing
                && !draining
                && capture_end == Some(live.sent)
                && live.sent == written
            {
                live.finishing = true;
                link.reporter.status(Status::Finishing);
                if let Err(reason) = self
                    .ping(live, "the connection broke while finishing")
                    .await
                {
                    return Step::Ended(Outcome::Retry(reason));
                }
            }
            if live.finishing && live.evidence.settled() >= live.sent {
                let since = *live.all_settled_at.get_or_insert_with(Instant::now);
                // Wait (briefly) for the final of an utterance still being recognised.
                if !live.partial_pending || since.elapsed() >= FINAL_GRACE {
                    self.close_gracefully(live, "session finished").await;
                    return Step::Ended(Outcome::Done);
                }
            }
            let drained = matches!(&handover, Handover::Draining { target, .. } if live.evidence.settled() >= *target);
            if drained
                && let Handover::Draining { next, .. } =
                    std::mem::replace(&mut handover, Handover::Idle)
            {
                tracing::info!(at = live.sent, "handed over to a fresh token");
                return Step::HandedOver(next);
            }
            let lag = if draining {
                0
            } else {
                written.saturating_sub(live.sent)
            };
            let chunk = lag.min(live.pacer.chunk_samples());
            let now = Instant::now();
            let silent_until = live.last_heard + options.stall_after;
            let settle_at = live.evidence.next_settle_at(live.settle);
            let grace = live.all_settled_at.map(|t| t + FINAL_GRACE);
            tokio::select! {
                biased;
                incoming = live.source.next() => {
                    live.last_heard = Instant::now();
                    match incoming {
                        Some(Ok(Message::Close(frame))) => return Step::Ended(close_outcome(frame)),
                        Some(Ok(message)) => self.on_message(live, message),
                        Some(Err(err)) => return Step::Ended(Outcome::Retry(format!("the connection failed: {err}"))),
                        None => return Step::Ended(Outcome::Retry("the connection closed".into())),
                    }
                }
                _ = sleep_until(silent_until) => {
                    return Step::Ended(Outcome::Retry(stalled_reason(options.stall_after)));
                }
                _ = wait_until_due(live.pacer.send_at(chunk, now)), if chunk > 0 => {
                    if let Err(outcome) = self.send_chunk(live, &mut pump, chunk, silent_until).await {
                        return Step::Ended(outcome);
                    }
                }
                _ = wait_for_audio_past(&mut written_rx, live.sent), if lag == 0 && !live.finishing && !draining => {}
                _ = self.capture.changed(), if capture_end.is_none() => {}
                _ = sleep_until(settle_at.unwrap_or(now)), if settle_at.is_some() => {
                    let settled = live.evidence.settle(Instant::now(), live.settle);
                    self.settled(settled);
                }
                _ = sleep_until(grace.unwrap_or(now)), if grace.is_some() => {}
                _ = ping.tick() => {
                    if let Err(reason) = self.ping(live, "the connection broke").await {
                        return Step::Ended(Outcome::Retry(reason));
                    }
                }
                event = auth_events.recv(), if matches!(handover, Handover::Idle) && !live.finishing => {
                    if let Ok(AuthEvent::Refreshed { .. }) = event {
                        handover = Handover::Opening(open_with_current_token(link));
                    }
                }
                turn = handover_turn(&mut handover) => match turn {
                    HandoverTurn::Opened(next) => {
                        // Stop sending here; everything sent must settle first.
                        if let Err(reason) = self.ping(live, "the connection broke during a token handover").await {
                            return Step::Ended(Outcome::Retry(reason));
                        }
                        handover = Handover::Draining { next, target: live.sent, give_up_at: Instant::now() + DRAIN_MAX };
                    }
                    HandoverTurn::OpenFailed => {
                        tracing::info!("the handover's new connection failed; staying on this one for now");
                        handover = Handover::RetryAt(Instant::now() + HANDOVER_RETRY);
                    }
                    HandoverTurn::TryAgain => handover = Handover::Opening(open_with_current_token(link)),
                    HandoverTurn::DrainTimedOut => return Step::Ended(Outcome::Retry(HANDOVER_UNANSWERED.into())),
                },
                kept = retired(&mut live.retiring) => {
                    live.retiring = None;
                    for message in kept {
                        self.on_message(live, message);
                    }
                }
                _ = report.tick() => report_status(link, self.reader, live.sent, self.confirmed, live.finishing),
            }
        }
    }

    /// Reads and sends the next `chunk` samples.
    async fn send_chunk(
        &mut self,
        live: &mut Live,
        pump: &mut Pump,
        chunk: u64,
        silent_until: Instant,
    ) -> Result<(), Outcome> {
        let samples = match pump.read(self.link, self.reader, live.sent, chunk) {
            Ok(0) => return Ok(()),
            Ok(samples) => samples,
            Err(reason) => return Err(Outcome::Fatal(reason)),
        };
        let audio = Message::Binary(pump.pcm().to_vec().into());
        send_before(
            &mut live.sink,
            audio,
            silent_until,
            "the connection broke while sending",
        )
        .await
        .map_err(Outcome::Retry)?;
        tracing::trace!(target: "consult_recorder::latency", offset = live.sent, samples, "sent");
        live.sent += samples;
        live.pacer.sent(samples);
        self.high_water = self.high_water.max(live.sent);
        if live.sent - live.pinged_at >= PING_EVERY_SAMPLES {
            self.ping(live, "the connection broke while sending")
                .await
                .map_err(Outcome::Retry)?;
        }
        Ok(())
    }

    /// A ping carrying the offset sent so far.
    async fn ping(&self, live: &mut Live, broken: &str) -> Result<(), String> {
        live.pinged_at = live.sent;
        let ping = Message::Ping(live.sent.to_le_bytes().to_vec().into());
        send_before(
            &mut live.sink,
            ping,
            live.last_heard + self.link.options.stall_after,
            broken,
        )
        .await
    }

    /// Closes with a handshake, reading transcripts until the server answers
    /// (at most 5 s). The answer proves nothing about storage.
    async fn close_gracefully(&mut self, live: &mut Live, reason: &str) {
        let deadline = Instant::now() + CLOSE_GRACE;
        let frame = CloseFrame {
            code: WsCloseCode::Normal,
            reason: reason.to_owned().into(),
        };
        if send_before(
            &mut live.sink,
            Message::Close(Some(frame)),
            deadline,
            "closing",
        )
        .await
        .is_err()
        {
            return;
        }
        while let Ok(Some(Ok(incoming))) =
            tokio::time::timeout_at(deadline, live.source.next()).await
        {
            if matches!(incoming, Message::Close(_)) {
                return;
            }
            self.on_message(live, incoming);
        }
    }

    /// A transcript in the shape the server profile names; false for any
    /// other message, which the built-in shapes then read.
    fn configured_transcript(&mut self, live: &mut Live, text: &str) -> bool {
        let Some(fields) = &self.link.options.stream.transcript else {
            return false;
        };
        let Some((text, is_final)) = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|message| fields.read(&message))
        else {
            return false;
        };
        self.unreadable.transcripts_read = true;
        self.on_transcript(live, text, is_final);
        true
    }

    fn on_message(&mut self, live: &mut Live, message: Message) {
        match message {
            Message::Text(text) if self.configured_transcript(live, &text) => {}
            Message::Text(text) => match seed::parse_server_message(&text) {
                Ok(Incoming::Transcript { text, is_final }) => {
                    self.unreadable.transcripts_read = true;
                    self.on_transcript(live, text, is_final)
                }
                Ok(Incoming::Unknown(message)) => self.unreadable.saw(self.link, message),
                Ok(Incoming::Connected(_)) => {}
                Err(err) => live.bad.report(self.link, &err.to_string()),
            },
            Message::Pong(payload) => {
                if let Ok(bytes) = <[u8; 8]>::try_from(payload.as_ref()) {
                    let offset = u64::from_le_bytes(bytes);
                    if offset <= live.sent {
                        live.evidence.pong(offset, Instant::now());
                    }
                }
            }
            Message::Binary(_) => live.bad.report(self.link, "the server sent binary data"),
            Message::Ping(_) | Message::Frame(_) | Message::Close(_) => {}
        }
    }

    fn on_transcript(&mut self, live: &mut Live, text: String, is_final: bool) {
        live.partial_pending = !is_final;
        // No offsets in this profile: estimate them from what had been sent.
        let update = TranscriptUpdate {
            text,
            is_final,
            start: live.utterance_start,
            end: live.sent.max(live.utterance_start + 1),
        };
        if is_final {
            live.utterance_start = live.sent;
        }
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

/// Resolves when the retiring connection is closed; never without one.
async fn retired(retiring: &mut Option<Retiring>) -> Vec<Message> {
    match retiring {
        Some(closing) => closing.await,
        None => std::future::pending().await,
    }
}

/// What happened to a handover in progress.
enum HandoverTurn {
    Opened(Box<WsStream>),
    OpenFailed,
    TryAgain,
    DrainTimedOut,
}

/// Resolves when the handover in progress takes its next turn; never when idle.
async fn handover_turn(handover: &mut Handover<'_>) -> HandoverTurn {
    match handover {
        Handover::Idle => std::future::pending().await,
        Handover::Opening(opening) => match opening.await {
            Ok(next) => HandoverTurn::Opened(next),
            Err(_) => HandoverTurn::OpenFailed,
        },
        Handover::Draining { give_up_at, .. } => {
            sleep_until(*give_up_at).await;
            HandoverTurn::DrainTimedOut
        }
        Handover::RetryAt(at) => {
            sleep_until(*at).await;
            HandoverTurn::TryAgain
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(code: u16, reason: &str) -> Outcome {
        close_outcome(Some(CloseFrame {
            code: WsCloseCode::from(code),
            reason: reason.to_owned().into(),
        }))
    }

    #[test]
    fn the_seed_close_codes_mean_what_the_seed_backend_means() {
        assert!(matches!(
            close(1008, "Authentication failed: Token expired"),
            Outcome::Auth(_)
        ));
        assert!(matches!(
            close(1008, "Authentication failed: Invalid token"),
            Outcome::Auth(_)
        ));
        assert!(
            matches!(close(1008, "Idle timeout"), Outcome::Retry(_)),
            "an idle timeout is not a sign-in problem"
        );
        match close(1008, "Missing language_code") {
            Outcome::Retry(reason) => assert!(
                reason.contains("Missing language_code") && reason.contains("server profile"),
                "{reason}"
            ),
            other => panic!("a refused request is not a sign-in problem: {other:?}"),
        }
        assert!(
            matches!(close(1008, ""), Outcome::Auth(_)),
            "a bare 1008 from the seed is its token check"
        );
        let too_fast = close(
            1011,
            "Audio data is being streamed too fast. Please stream audio data approximately at real time.",
        );
        assert!(refused_as_too_fast(&too_fast));
        assert!(!refused_as_too_fast(&close(1011, "Audio Timeout Error")));
        assert!(matches!(close(1001, ""), Outcome::Retry(_)));
    }
}
