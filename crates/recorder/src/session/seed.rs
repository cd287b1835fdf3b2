//! The seed dialect: the existing clinic backend, which never says what it stored.
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

use std::time::Duration;

use consult_protocol::seed::{self, Incoming, Unreadable};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::connection::{Dialect, Greeted, Heard};
use super::evidence::Evidence;
use super::handover::Opening;
use super::pace::Pacer;
use super::seed_url::{UrlParts, stream_url, token_message};
use super::sender::{Outcome, SenderContext, SenderOptions};
use super::socket::close_code_and_reason;
use super::upload::Upload;
use crate::auth::Secret;
use crate::events::TranscriptUpdate;
use crate::net::{self, WsStream};
use crate::server_profile::TokenTransport;

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
/// The slowest the pace falls after the server refuses audio as too fast.
const MIN_PACE_SHARE: f64 = 0.5;

/// The seed profile's side of the connection loop.
pub struct Seed {
    /// The configured pace, and the floor a refusal may lower it to.
    configured_pace: f64,
    /// Seconds of audio per second, lowered if the server says "too fast".
    pace: f64,
    /// Extra audio to resend on the next connection (after "too fast").
    replay_extra: u64,
    /// Connections in a row that ended before the server's greeting.
    ungreeted: u32,
    warned_too_fast: bool,
    unreadable: UnreadableMessages,
    /// The connection in progress.
    live: LiveEvidence,
}

/// What a seed connection has shown, and the utterance it is recognising.
struct LiveEvidence {
    evidence: Evidence,
    /// Wall time a pong must be outlived by to settle, at this pace.
    settle: Duration,
    /// Estimated start of the utterance being recognised (no offsets here).
    utterance_start: u64,
    /// A partial arrived and its final has not yet.
    partial_pending: bool,
    /// When everything sent had settled while finishing.
    all_settled_at: Option<Instant>,
}

impl LiveEvidence {
    fn new(start: u64, pacer: &Pacer) -> Self {
        Self {
            evidence: Evidence::new(start),
            settle: pacer.wall(SETTLE_AUDIO_SECS),
            utterance_start: start,
            partial_pending: false,
            all_settled_at: None,
        }
    }
}

impl Seed {
    pub fn new(options: &SenderOptions) -> Self {
        Self {
            configured_pace: options.seed_pace,
            pace: options.seed_pace,
            replay_extra: 0,
            ungreeted: 0,
            warned_too_fast: false,
            unreadable: UnreadableMessages::default(),
            live: LiveEvidence::new(0, &Pacer::new(options.seed_pace, Instant::now())),
        }
    }

    /// A transcript in the shape the server profile names, else one of the
    /// built-in shapes; `None` for any other message.
    fn transcript(
        &mut self,
        sender: &SenderContext,
        text: &str,
    ) -> Result<Option<(String, bool)>, String> {
        if let Some(fields) = &sender.options.stream.transcript
            && let Some(read) = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|message| fields.read(&message))
        {
            return Ok(Some(read));
        }
        match seed::parse_server_message(text) {
            Ok(Incoming::Transcript { text, is_final }) => Ok(Some((text, is_final))),
            Ok(Incoming::Unknown(message)) => {
                self.unreadable.saw(sender, message);
                Ok(None)
            }
            Ok(Incoming::Connected(_)) => Ok(None),
            Err(err) => Err(err.to_string()),
        }
    }

    /// No offsets in this profile: estimate them from what had been sent.
    fn estimate_offsets(&mut self, text: String, is_final: bool, sent: u64) -> TranscriptUpdate {
        let live = &mut self.live;
        live.partial_pending = !is_final;
        let update = TranscriptUpdate {
            text,
            is_final,
            start: live.utterance_start,
            end: sent.max(live.utterance_start + 1),
        };
        if is_final {
            live.utterance_start = sent;
        }
        update
    }
}

impl Dialect for Seed {
    type Pace = Pacer;
    const ACKNOWLEDGES: bool = false;

    async fn connect(
        &mut self,
        upload: &mut Upload<'_>,
        token: Secret,
    ) -> Result<Greeted, Outcome> {
        let ws = match open_greeted(upload.sender, token).await {
            Ok(ws) => ws,
            Err(NotGreeted::Refused(outcome)) => return Err(outcome),
            Err(NotGreeted::Vanished(why)) => {
                self.ungreeted += 1;
                // Once with a fresh token (a refused one ends like this),
                // then as a network fault with backoff.
                return Err(if self.ungreeted == 1 {
                    Outcome::Auth(why)
                } else {
                    Outcome::Retry(why)
                });
            }
        };
        self.ungreeted = 0;
        let start = upload
            .confirmed
            .saturating_sub(std::mem::take(&mut self.replay_extra));
        if start < upload.high_water {
            upload.transcript.replaying_from(start);
            tracing::info!(
                replay_secs = consult_protocol::samples_to_secs(upload.high_water - start),
                pace = self.pace,
                "resending audio the server has not shown it took"
            );
        }
        Ok(Greeted { ws, start })
    }

    fn begin(&mut self, start: u64, now: Instant) -> Pacer {
        let pacer = Pacer::new(self.pace, now);
        self.live = LiveEvidence::new(start, &pacer);
        pacer
    }

    fn frame(&self, _offset: u64, pcm: &[u8]) -> Message {
        Message::Binary(pcm.to_vec().into())
    }

    fn hear(
        &mut self,
        sender: &SenderContext,
        message: Message,
        sent: u64,
        _finishing: bool,
    ) -> Heard {
        match message {
            Message::Text(text) => match self.transcript(sender, &text) {
                Ok(Some((text, is_final))) => {
                    self.unreadable.transcripts_read = true;
                    Heard::Transcript(self.estimate_offsets(text, is_final, sent))
                }
                Ok(None) => Heard::Nothing,
                Err(what) => Heard::Unreadable(what),
            },
            Message::Pong(payload) => {
                if let Ok(bytes) = <[u8; 8]>::try_from(payload.as_ref()) {
                    let offset = u64::from_le_bytes(bytes);
                    if offset <= sent {
                        self.live.evidence.pong(offset, Instant::now());
                    }
                }
                Heard::Nothing
            }
            Message::Binary(_) => Heard::Unreadable("the server sent binary data".into()),
            Message::Ping(_) | Message::Frame(_) | Message::Close(_) => Heard::Nothing,
        }
    }

    /// The seed has no "finish" message: a last ping asks for the last evidence.
    fn finish(&self, end: u64) -> Message {
        Message::Ping(end.to_le_bytes().to_vec().into())
    }

    fn ping_every(&self, options: &SenderOptions) -> Duration {
        PING_EVERY.min(options.ping_every)
    }

    fn ping_after_samples(&self) -> Option<u64> {
        Some(PING_EVERY_SAMPLES)
    }

    fn complete(&mut self, sent: u64, now: Instant) -> bool {
        let live = &mut self.live;
        if live.evidence.settled() < sent {
            return false;
        }
        let since = *live.all_settled_at.get_or_insert(now);
        // Wait (briefly) for the final of an utterance still being recognised.
        !live.partial_pending || now.saturating_duration_since(since) >= FINAL_GRACE
    }

    fn ripens_at(&self) -> Option<Instant> {
        let settle_at = self.live.evidence.next_settle_at(self.live.settle);
        let grace_at = self.live.all_settled_at.map(|t| t + FINAL_GRACE);
        settle_at.into_iter().chain(grace_at).min()
    }

    fn ripen(&mut self, now: Instant) -> Option<u64> {
        Some(self.live.evidence.settle(now, self.live.settle))
    }

    fn handover(sender: &SenderContext) -> Option<Opening<'_>> {
        Some(Box::pin(async move {
            let token = sender
                .tokens
                .access_token()
                .await
                .map_err(|e| Outcome::Retry(e.to_string()))?;
            open_greeted(sender, token).await.map_err(|e| match e {
                NotGreeted::Refused(outcome) => outcome,
                NotGreeted::Vanished(why) => Outcome::Retry(why),
            })
        }))
    }

    fn close_outcome(frame: Option<CloseFrame>) -> Outcome {
        close_outcome(frame)
    }

    fn ended(&mut self, sender: &SenderContext, outcome: &Outcome) {
        if !refused_as_too_fast(outcome) {
            return;
        }
        // The recogniser dropped what it had queued: go back further, and slower.
        self.replay_extra = REFUSED_EXTRA;
        self.pace = (self.pace * 0.8).max(self.configured_pace * MIN_PACE_SHARE);
        if !self.warned_too_fast {
            self.warned_too_fast = true;
            sender.reporter.warning(format!(
                "The server asked for audio no faster than real time; sending at {:.2}× from now on",
                self.pace
            ));
        }
    }
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
    fn saw(&mut self, sender: &SenderContext, message: Unreadable) {
        self.count += 1;
        if self.logged.len() < 16 && self.logged.insert(message.shape.clone()) {
            tracing::warn!(shape = %message.shape, "a server message this version cannot read");
        }
        let tell = message.may_carry_text
            || (!self.transcripts_read && self.count >= UNREADABLE_BEFORE_TELLING);
        if tell && !self.told {
            self.told = true;
            sender.reporter.warning(format!(
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

/// Opens a seed connection, hands over the token the way the server profile
/// says, and waits for the greeting (`{"status":"connected"}` by default).
async fn open_greeted(sender: &SenderContext, token: Secret) -> Result<Box<WsStream>, NotGreeted> {
    let profile = &sender.options.stream;
    let parts = UrlParts {
        ws_base: &sender.ws_base,
        session_id: &sender.session_id,
        language: sender.options.language.as_deref(),
        reference: &sender.reference,
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
        sender.options.connect_timeout,
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
    let first = timeout(sender.options.connect_timeout, ws.next()).await;
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

/// How a seed server's close frame ends the connection. The seed backend
/// uses 1008 for a refused or expired token and for its idle timeout; only
/// the first calls for a fresh token.
fn close_outcome(frame: Option<CloseFrame>) -> Outcome {
    let (code, reason) = close_code_and_reason(frame);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;

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
