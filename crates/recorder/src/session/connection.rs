//! The one connection loop both profiles run: send the spool at the
//! profile's pace, read the server, record what it confirms, re-authenticate,
//! finish, and turn however the socket ended into an [`Outcome`].
//!
//! What differs between profiles sits behind [`Dialect`]: the handshake, the
//! framing, what counts as confirmation, and how a fresh token reaches the
//! server (in band, or by a handover to a new connection).

use std::future::Future;
use std::time::Duration;

use consult_protocol::samples_to_secs;
use futures_util::StreamExt;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::handover::{Handover, HandoverTurn, Opening, Retiring, retire, retired};
use super::pace::Pace;
use super::retry::wait_for_audio_past;
use super::sender::{Outcome, SenderContext, SenderOptions};
use super::socket::{
    self, SendError, WsSink, WsSource, close_reading, message_or_end, send_before, stalled_reason,
    wait_until_due,
};
use super::upload::{BadMessages, Upload};
use crate::auth::{AuthEvent, Secret};
use crate::events::{Status, TranscriptUpdate};
use crate::net::WsStream;

/// A connection the server has greeted, and the offset to send from.
pub struct Greeted {
    pub ws: Box<WsStream>,
    pub start: u64,
}

/// What a server message meant, as the profile reads it.
pub enum Heard {
    Nothing,
    Transcript(TranscriptUpdate),
    /// The server holds everything up to this offset.
    Confirmed(u64),
    /// The server holds the whole session, up to this offset.
    Done(u64),
    /// A message that breaks the profile's rules, said in a few words.
    Unreadable(String),
}

/// What one server profile does its own way on a connection.
pub trait Dialect: Send {
    type Pace: Pace;

    /// Whether the server acknowledges audio as it stores it, so that audio
    /// left unacknowledged means a broken server even if it answers pings.
    const ACKNOWLEDGES: bool;

    /// Opens a connection with `token`, authenticates and waits for the
    /// server's greeting.
    fn connect(
        &mut self,
        upload: &mut Upload<'_>,
        token: Secret,
    ) -> impl Future<Output = Result<Greeted, Outcome>> + Send;

    /// A connection starts sending at `start`: its pace, from now.
    fn begin(&mut self, start: u64, now: Instant) -> Self::Pace;

    /// One frame of audio starting at `offset`.
    fn frame(&self, offset: u64, pcm: &[u8]) -> Message;

    /// Reads one message, with `sent` samples sent on this connection.
    fn hear(
        &mut self,
        sender: &SenderContext,
        message: Message,
        sent: u64,
        finishing: bool,
    ) -> Heard;

    /// Tells the server the session ends at `end`.
    fn finish(&self, end: u64) -> Message;

    /// How often an idle connection pings.
    fn ping_every(&self, options: &SenderOptions) -> Duration;

    /// A ping after every this many samples sent, besides the timer's.
    fn ping_after_samples(&self) -> Option<u64> {
        None
    }

    /// Whether a finishing connection has all the evidence it will get
    /// (for a profile with no final word from the server).
    fn complete(&mut self, _sent: u64, _now: Instant) -> bool {
        false
    }

    /// When evidence ripens with time alone (see [`Dialect::ripen`]).
    fn ripens_at(&self) -> Option<Instant> {
        None
    }

    /// The offset confirmed by time alone, as of `now`.
    fn ripen(&mut self, _now: Instant) -> Option<u64> {
        None
    }

    /// The message that hands a fresh `token` to the server on this
    /// connection; `None` when the profile needs a handover instead.
    fn reauth_message(&self, _token: &Secret) -> Option<Message> {
        None
    }

    /// Opens and greets a handover's new connection with the current token;
    /// `None` when the profile re-authenticates in band.
    fn handover(_link: &SenderContext) -> Option<Opening<'_>> {
        None
    }

    /// How a close frame from the server ends the connection.
    fn close_outcome(frame: Option<CloseFrame>) -> Outcome {
        socket::close_outcome(frame)
    }

    /// A connection ended with `outcome`: adjust for the next one.
    fn ended(&mut self, _link: &SenderContext, _outcome: &Outcome) {}
}

/// Streams over a greeted connection, and the connections it hands over to,
/// until one ends.
pub async fn stream<D: Dialect>(
    upload: &mut Upload<'_>,
    dialect: &mut D,
    first: Greeted,
) -> Outcome {
    let Greeted { mut ws, mut start } = first;
    let mut retiring = None;
    loop {
        let (sink, source) = (*ws).split();
        let pace = dialect.begin(start, Instant::now());
        let mut live = Live::new(sink, source, start, pace, retiring.take());
        tracing::info!(session = %upload.sender.session_id, resume_at = start, "connected");
        upload.report_status(start, false);
        match live.run(upload, dialect).await {
            Step::Ended(outcome) => {
                if let Some(offset) = dialect.ripen(Instant::now()) {
                    upload.confirm(offset);
                }
                dialect.ended(upload.sender, &outcome);
                return outcome;
            }
            Step::HandedOver(next) => {
                tracing::info!(at = live.sent, "handed over to a fresh token");
                retiring = Some(retire(live.sink, live.source));
                ws = next;
                start = upload.confirmed.max(live.confirmed);
            }
        }
    }
}

/// What one connection's streaming came to.
enum Step {
    Ended(Outcome),
    /// A token handover: carry on over this (greeted) connection.
    HandedOver(Box<WsStream>),
}

/// Watches that a server which acknowledges audio keeps doing so: audio
/// that stays unacknowledged means a broken server, even one that answers pings.
struct AckWatch {
    seen: u64,
    since: Instant,
}

impl AckWatch {
    fn new(confirmed: u64) -> Self {
        Self {
            seen: confirmed,
            since: Instant::now(),
        }
    }

    /// Notes the confirmed offset; progress, or nothing waiting, restarts the clock.
    fn observe(&mut self, confirmed: u64, sent: u64, now: Instant) {
        if confirmed != self.seen || sent <= confirmed {
            self.seen = confirmed;
            self.since = now;
        }
    }

    fn stalled(&self, after: Duration) -> bool {
        self.since.elapsed() > after
    }
}

/// One connection's state.
struct Live<P> {
    sink: WsSink,
    source: WsSource,
    sent: u64,
    /// What this connection's server confirmed (the drain's measure).
    confirmed: u64,
    pinged_at: u64,
    pace: P,
    last_heard: Instant,
    finishing: bool,
    bad: BadMessages,
    /// The previous connection, closing after a handover.
    retiring: Option<Retiring>,
}

impl<P: Pace> Live<P> {
    fn new(
        sink: WsSink,
        source: WsSource,
        start: u64,
        pace: P,
        retiring: Option<Retiring>,
    ) -> Self {
        Self {
            sink,
            source,
            sent: start,
            confirmed: start,
            pinged_at: start,
            pace,
            last_heard: Instant::now(),
            finishing: false,
            bad: BadMessages::default(),
            retiring,
        }
    }

    async fn run<D: Dialect<Pace = P>>(
        &mut self,
        upload: &mut Upload<'_>,
        dialect: &mut D,
    ) -> Step {
        let sender = upload.sender;
        let options = &sender.options;
        let mut ping = tokio::time::interval(dialect.ping_every(options));
        ping.reset();
        let mut report = tokio::time::interval(Duration::from_secs(1));
        let mut auth_events = sender.tokens.subscribe();
        let mut written_rx = upload.reader.subscribe();
        let mut handover = Handover::Idle;
        let mut acks = AckWatch::new(self.confirmed);
        loop {
            let written = upload.written();
            let capture_end = *upload.capture.borrow();
            let draining = handover.is_draining();
            let finish_now = capture_end == Some(self.sent) && self.sent == written;
            if !self.finishing
                && !draining
                && finish_now
                && let Err(outcome) = self.start_finishing(sender, dialect).await
            {
                return Step::Ended(outcome);
            }
            let now = Instant::now();
            if self.finishing && dialect.complete(self.sent, now) {
                self.close(upload, dialect, "session finished").await;
                return Step::Ended(Outcome::Done);
            }
            if let Some(next) = handover.take_drained(self.confirmed) {
                return Step::HandedOver(next);
            }
            acks.observe(self.confirmed, self.sent, now);
            let lag = if draining {
                0
            } else {
                written.saturating_sub(self.sent)
            };
            let chunk = self.pace.chunk(lag);
            let silent_until = self.last_heard + options.stall_after;
            let ripens_at = dialect.ripens_at();
            let turn: Result<(), Outcome> = tokio::select! {
                biased;
                incoming = self.source.next() => self.on_incoming(upload, dialect, incoming).await,
                _ = sleep_until(silent_until) => Err(Outcome::Retry(stalled_reason(options.stall_after))),
                _ = wait_until_due(self.pace.send_at(chunk, lag, now)), if chunk > 0 => {
                    self.send_chunk(upload, dialect, chunk, lag).await
                }
                _ = wait_for_audio_past(&mut written_rx, self.sent), if lag == 0 && !self.finishing && !draining => Ok(()),
                _ = upload.capture.changed(), if capture_end.is_none() => Ok(()),
                _ = sleep_until(ripens_at.unwrap_or(now)), if ripens_at.is_some() => {
                    if let Some(offset) = dialect.ripen(Instant::now()) {
                        self.confirmed(upload, offset);
                    }
                    Ok(())
                }
                _ = ping.tick() => self.on_ping_timer::<D>(&acks, options).await,
                event = auth_events.recv(), if handover.is_idle() => match event {
                    Ok(AuthEvent::Refreshed { .. }) => self.reauthenticate(sender, dialect, &mut handover).await,
                    _ => Ok(()),
                },
                turn = handover.turn() => self.on_handover_turn::<D>(turn, &mut handover, sender).await,
                kept = retired(&mut self.retiring) => {
                    self.retiring = None;
                    for message in kept {
                        self.hear(upload, dialect, message);
                    }
                    Ok(())
                }
                _ = report.tick() => {
                    upload.report_status(self.sent, self.finishing);
                    Ok(())
                }
            };
            if let Err(outcome) = turn {
                return Step::Ended(outcome);
            }
        }
    }

    /// Everything captured was sent: tell the server the session ends here.
    async fn start_finishing<D: Dialect>(
        &mut self,
        sender: &SenderContext,
        dialect: &D,
    ) -> Result<(), Outcome> {
        self.finishing = true;
        sender.reporter.status(Status::Finishing);
        let finish = dialect.finish(self.sent);
        self.send(
            finish,
            "the connection broke while finishing",
            &sender.options,
        )
        .await
        .map_err(Outcome::from)
    }

    /// A message from the server, or the end of the connection.
    async fn on_incoming<D: Dialect>(
        &mut self,
        upload: &mut Upload<'_>,
        dialect: &mut D,
        incoming: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), Outcome> {
        self.last_heard = Instant::now();
        let message = message_or_end(incoming, D::close_outcome)?;
        match self.hear(upload, dialect, message) {
            None => Ok(()),
            Some(Outcome::Done) => {
                self.close(upload, dialect, "session finished").await;
                Err(Outcome::Done)
            }
            Some(outcome) => Err(outcome),
        }
    }

    /// The ping timer: give up on a server that stopped acknowledging, else ping.
    async fn on_ping_timer<D: Dialect>(
        &mut self,
        acks: &AckWatch,
        options: &SenderOptions,
    ) -> Result<(), Outcome> {
        if D::ACKNOWLEDGES && acks.stalled(options.stall_after) {
            return Err(Outcome::Retry(format!(
                "the server stopped acknowledging audio ({:.1} s waiting)",
                samples_to_secs(self.sent - self.confirmed)
            )));
        }
        self.ping("the connection broke", options)
            .await
            .map_err(Outcome::from)
    }

    /// The next step of a token handover.
    async fn on_handover_turn<'l, D: Dialect>(
        &mut self,
        turn: HandoverTurn,
        handover: &mut Handover<'l>,
        sender: &'l SenderContext,
    ) -> Result<(), Outcome> {
        match turn {
            HandoverTurn::Opened(next) => {
                // Stop sending here; everything sent must be confirmed first.
                self.ping(
                    "the connection broke during a token handover",
                    &sender.options,
                )
                .await?;
                handover.drain(next, self.sent);
            }
            HandoverTurn::OpenFailed => {
                tracing::info!("the handover's new connection failed; staying on this one for now");
                handover.retry_later();
            }
            HandoverTurn::TryAgain => {
                if let Some(opening) = D::handover(sender) {
                    *handover = Handover::Opening(opening);
                }
            }
            HandoverTurn::DrainTimedOut => {
                return Err(Outcome::Retry(
                    "the server did not answer while switching to a fresh sign-in token \
                     (stalled connection)"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// Reads and sends the next `chunk` samples, `lag` behind the live edge.
    async fn send_chunk<D: Dialect>(
        &mut self,
        upload: &mut Upload<'_>,
        dialect: &D,
        chunk: u64,
        lag: u64,
    ) -> Result<(), Outcome> {
        let options = &upload.sender.options;
        let samples = match upload.read(self.sent, chunk) {
            Ok(0) => return Ok(()),
            Ok(samples) => samples,
            Err(err) => return Err(Outcome::Fatal(err.to_string())),
        };
        let audio = dialect.frame(self.sent, upload.pcm());
        self.send(audio, "the connection broke while sending", options)
            .await?;
        tracing::trace!(target: "consult_recorder::latency", offset = self.sent, samples, "sent");
        self.sent += samples;
        self.pace.sent(samples, lag);
        upload.high_water = upload.high_water.max(self.sent);
        if let Some(every) = dialect.ping_after_samples()
            && self.sent - self.pinged_at >= every
        {
            self.ping("the connection broke while sending", options)
                .await?;
        }
        Ok(())
    }

    /// Hands a fresh token to the server: in band, or by starting a handover.
    async fn reauthenticate<'l, D: Dialect>(
        &mut self,
        sender: &'l SenderContext,
        dialect: &D,
        handover: &mut Handover<'l>,
    ) -> Result<(), Outcome> {
        if let Some(opening) = D::handover(sender) {
            if !self.finishing {
                *handover = Handover::Opening(opening);
            }
            return Ok(());
        }
        let Ok(token) = sender.tokens.access_token().await else {
            return Ok(());
        };
        match dialect.reauth_message(&token) {
            Some(message) => self
                .send(message, "the connection broke", &sender.options)
                .await
                .map_err(Outcome::from),
            None => Ok(()),
        }
    }

    /// Sends a message, giving up if the server stays silent too long.
    async fn send(
        &mut self,
        message: Message,
        during: &'static str,
        options: &SenderOptions,
    ) -> Result<(), SendError> {
        send_before(
            &mut self.sink,
            message,
            self.last_heard + options.stall_after,
            during,
        )
        .await
    }

    /// A ping carrying the offset sent so far.
    async fn ping(
        &mut self,
        during: &'static str,
        options: &SenderOptions,
    ) -> Result<(), SendError> {
        self.pinged_at = self.sent;
        let ping = Message::Ping(self.sent.to_le_bytes().to_vec().into());
        self.send(ping, during, options).await
    }

    fn confirmed(&mut self, upload: &mut Upload<'_>, offset: u64) {
        self.confirmed = self.confirmed.max(offset);
        upload.confirm(offset);
    }

    /// Acts on one message; `Some` when the connection is over.
    fn hear<D: Dialect>(
        &mut self,
        upload: &mut Upload<'_>,
        dialect: &mut D,
        message: Message,
    ) -> Option<Outcome> {
        match dialect.hear(upload.sender, message, self.sent, self.finishing) {
            Heard::Nothing => {}
            Heard::Transcript(update) => upload.transcript_update(update),
            Heard::Confirmed(offset) => self.confirmed(upload, offset),
            Heard::Done(offset) => {
                self.confirmed(upload, offset);
                return Some(Outcome::Done);
            }
            Heard::Unreadable(what) => self.bad.report(upload.sender, &what),
        }
        None
    }

    /// Closes with a handshake, reading the transcripts that still come.
    async fn close<D: Dialect>(&mut self, upload: &mut Upload<'_>, dialect: &mut D, reason: &str) {
        for message in close_reading(&mut self.sink, &mut self.source, reason).await {
            self.hear(upload, dialect, message);
        }
    }
}
