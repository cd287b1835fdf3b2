//! The v1 profile endpoint: resumable, acknowledged, token in the header.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use consult_protocol::audio::{AudioFrame, FrameError, MAX_FRAME_SAMPLES};
use consult_protocol::v1::{self, ClientMessage, Ready, ServerMessage, Transcript};
use consult_protocol::{CloseCode, SAMPLE_RATE};
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::{MAX_WS_MESSAGE_BYTES, TimerStop, Timers, acknowledge_close, close, refusal};
use crate::auth::TokenError;
use crate::recognizer::{FeedState, WorkerEvent, spawn_worker};
use crate::sessions::{Session, SessionError, SessionMedia};
use crate::state::AppState;

/// How often pending audio is synced and acknowledged when frames are small.
const ACK_TICK: Duration = Duration::from_millis(250);

/// `GET /api/v1/stream`, the v1 endpoint. Refused with 503 during a refusal
/// window; otherwise upgraded with the v1 subprotocol, and the bearer token from
/// the `Authorization` header is checked once the socket is open.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> Response {
    if let Some(secs) = state.refusing() {
        return refusal(secs);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let connection = state.connection_id();
    ws.protocols([v1::SUBPROTOCOL])
        .max_message_size(MAX_WS_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let span = tracing::info_span!("v1_connection", connection);
            run(socket, token, query, state).instrument(span)
        })
}

async fn run(
    mut socket: WebSocket,
    token: Option<String>,
    query: HashMap<String, String>,
    state: Arc<AppState>,
) {
    let Some(session_id) = query
        .get(v1::QUERY_SESSION)
        .filter(|s| consult_protocol::is_valid_session_id(s))
        .cloned()
    else {
        return close(
            &mut socket,
            CloseCode::ProtocolViolation,
            "session_id must be 1-128 letters, digits, - or _",
        )
        .await;
    };
    let claims = match token.as_deref().map(|t| state.access.verify(t)) {
        Some(Ok(claims)) => claims,
        Some(Err(TokenError::Expired)) => {
            return close(&mut socket, CloseCode::Unauthorized, "token expired").await;
        }
        Some(Err(TokenError::Invalid)) => {
            return close(&mut socket, CloseCode::Unauthorized, "invalid token").await;
        }
        None => {
            return close(&mut socket, CloseCode::Unauthorized, "missing bearer token").await;
        }
    };
    let session = match state.sessions.open(session_id.clone(), &claims.sub) {
        Ok(session) => session,
        Err(SessionError::Forbidden) => {
            return close(
                &mut socket,
                CloseCode::Forbidden,
                "session belongs to another account",
            )
            .await;
        }
        Err(SessionError::Storage(err)) => {
            tracing::error!(error = %err, "cannot open session");
            return close(&mut socket, CloseCode::InternalError, "cannot store audio").await;
        }
    };
    // The reference recogniser knows English only; other languages get it too.
    let language = query
        .get(v1::QUERY_LANGUAGE)
        .map(String::as_str)
        .unwrap_or("en-US");
    tracing::info!(account = %claims.sub, session = %session_id, language, "v1 connection authenticated");
    let transcripts_after = query
        .get(v1::QUERY_TRANSCRIPTS_AFTER)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (generation, watcher, media) = session.claim().await;
    Stream {
        socket,
        state,
        session,
        media,
        generation,
        watcher,
        token_expires_at: claims.exp,
        acked: 0,
        finishing: false,
        duplicates: 0,
    }
    .run(transcripts_after)
    .await;
}

/// One live v1 connection holding its session.
struct Stream {
    socket: WebSocket,
    state: Arc<AppState>,
    session: Arc<Session>,
    media: tokio::sync::OwnedMutexGuard<SessionMedia>,
    generation: u64,
    watcher: watch::Receiver<u64>,
    token_expires_at: u64,
    acked: u64,
    finishing: bool,
    /// Samples received that the server already held (resends after a reconnect).
    duplicates: u64,
}

/// How a connection ends.
enum End {
    /// Close with this code and reason.
    Close(CloseCode, String),
    /// The peer went away or already closed.
    Gone,
}

impl End {
    fn close(code: CloseCode, reason: impl Into<String>) -> Self {
        End::Close(code, reason.into())
    }
}

impl Stream {
    async fn run(mut self, transcripts_after: u64) {
        let end = self.serve(transcripts_after).await;
        if let End::Close(code, reason) = &end {
            close(&mut self.socket, *code, reason).await;
        }
        if let Err(err) = self.media.audio.sync().await {
            tracing::error!(error = %err, "cannot sync audio");
        }
        tracing::info!(
            samples = self.media.audio.received(),
            duplicates = self.duplicates,
            "v1 connection ended"
        );
    }

    async fn send(&mut self, message: &ServerMessage) -> Result<(), End> {
        let json = serde_json::to_string(message).expect("server messages serialise");
        self.socket
            .send(Message::Text(json.into()))
            .await
            .map_err(|_| End::Gone)
    }

    async fn sync_and_ack(&mut self) -> Result<(), End> {
        let durable = self.media.audio.sync().await.map_err(|err| {
            tracing::error!(error = %err, "cannot sync audio");
            End::close(CloseCode::InternalError, "cannot store audio")
        })?;
        if durable > self.acked {
            self.acked = durable;
            self.send(&ServerMessage::Ack {
                durable_offset: durable,
            })
            .await?;
        }
        Ok(())
    }

    async fn serve(&mut self, transcripts_after: u64) -> End {
        let Err(end) = self.serve_inner(transcripts_after).await;
        end
    }

    /// `ready` with what is durable (anything a previous connection wrote but
    /// did not sync is made durable first), then the final transcripts the
    /// client has not seen.
    async fn greet(&mut self, transcripts_after: u64) -> Result<(), End> {
        let durable = self.media.audio.sync().await.map_err(|err| {
            tracing::error!(error = %err, "cannot sync audio");
            End::close(CloseCode::InternalError, "cannot store audio")
        })?;
        self.acked = durable;
        let ready = ServerMessage::Ready(Ready {
            session_id: self.session.id.clone(),
            durable_offset: durable,
            sample_rate: SAMPLE_RATE,
            max_frame_samples: MAX_FRAME_SAMPLES as u32,
            token_expires_at: self.token_expires_at,
        });
        self.send(&ready).await?;
        let replay: Vec<Transcript> = self
            .media
            .finals
            .after(transcripts_after)
            .cloned()
            .collect();
        for transcript in replay {
            self.send(&ServerMessage::Transcript(transcript)).await?;
        }
        Ok(())
    }

    /// Passes the recogniser's text on (finals stored first); once the
    /// recogniser has flushed the finished session, `done` ends it.
    async fn on_recognised(&mut self, event: WorkerEvent) -> Result<(), End> {
        match event {
            WorkerEvent::Text(text) => {
                let transcript = Transcript {
                    text: text.text,
                    is_final: text.is_final,
                    start: text.start,
                    end: text.end,
                };
                if transcript.is_final
                    && let Err(err) = self.media.finals.push(transcript.clone())
                {
                    tracing::error!(error = %err, "cannot store transcript");
                }
                self.send(&ServerMessage::Transcript(transcript)).await
            }
            WorkerEvent::Failed(reason) => {
                tracing::error!(%reason, "recogniser failed");
                Err(End::close(CloseCode::InternalError, "recogniser failed"))
            }
            WorkerEvent::Flushed => {
                self.sync_and_ack().await?;
                let durable_offset = self.media.audio.durable();
                self.send(&ServerMessage::Done { durable_offset }).await?;
                tracing::info!(durable_offset, "session finished");
                Err(End::close(CloseCode::Normal, "done"))
            }
        }
    }

    /// Runs until the connection ends; the error is how it ended.
    async fn serve_inner(
        &mut self,
        transcripts_after: u64,
    ) -> Result<std::convert::Infallible, End> {
        self.greet(transcripts_after).await?;
        let (feed, feed_rx) = watch::channel(FeedState {
            available: self.media.audio.received(),
            finished: false,
        });
        let (events_tx, mut events) = mpsc::channel(64);
        spawn_worker(
            self.state.recognition.clone(),
            self.session.audio_path(self.state.data_dir()),
            self.media.finals.resume_span(),
            feed_rx,
            events_tx,
        );

        let mut timers = Timers::new(
            self.state.config.idle_timeout,
            self.state.config.close_every,
        );
        timers.expire_at(self.token_expires_at);
        let mut close_all = self.state.close_all.subscribe();
        let mut ack_tick = tokio::time::interval(ACK_TICK);
        ack_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        loop {
            tokio::select! {
                stop = timers.fired() => {
                    return Err(match stop {
                        TimerStop::Idle => End::close(CloseCode::IdleTimeout, "idle timeout"),
                        TimerStop::TokenExpired => End::close(CloseCode::Unauthorized, "token expired"),
                        TimerStop::Periodic => End::close(CloseCode::GoingAway, "periodic close (test knob)"),
                    });
                }
                _ = close_all.changed() => {
                    return Err(End::close(CloseCode::GoingAway, "server restarting"));
                }
                changed = self.watcher.changed() => {
                    if changed.is_err() || *self.watcher.borrow() != self.generation {
                        return Err(End::close(CloseCode::Superseded, "a newer connection took over this session"));
                    }
                }
                _ = ack_tick.tick() => self.sync_and_ack().await?,
                Some(event) = events.recv() => self.on_recognised(event).await?,
                incoming = self.socket.recv() => {
                    timers.touch();
                    let Some(Ok(message)) = incoming else { return Err(End::Gone) };
                    match message {
                        Message::Binary(bytes) => self.on_audio(&bytes, &feed).await?,
                        Message::Text(text) => self.on_control(&text, &feed, &mut timers).await?,
                        Message::Close(_) => {
                            acknowledge_close(&mut self.socket).await;
                            return Err(End::Gone);
                        }
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
            }
        }
    }

    async fn on_audio(&mut self, bytes: &[u8], feed: &watch::Sender<FeedState>) -> Result<(), End> {
        let frame = AudioFrame::decode(bytes).map_err(|err| match err {
            FrameError::TooLarge { .. } => End::close(CloseCode::MessageTooBig, err.to_string()),
            _ => End::close(CloseCode::InvalidPayload, err.to_string()),
        })?;
        if self.finishing {
            return Err(End::close(
                CloseCode::ProtocolViolation,
                "audio after finish",
            ));
        }
        let held = self.media.audio.received();
        if frame.offset > held {
            return Err(End::close(
                CloseCode::Gap,
                format!(
                    "gap: server holds {held} samples, frame starts at {}",
                    frame.offset
                ),
            ));
        }
        if frame.end() <= held {
            self.duplicates += frame.samples();
            return Ok(());
        }
        let skip = (held - frame.offset) as usize;
        self.duplicates += skip as u64;
        self.media
            .audio
            .append(&frame.pcm[skip * 2..])
            .map_err(|err| {
                tracing::error!(error = %err, "cannot store audio");
                End::close(CloseCode::InternalError, "cannot store audio")
            })?;
        let received = self.media.audio.received();
        feed.send_modify(|f| f.available = received);
        if received - self.acked >= v1::ACK_EVERY_SAMPLES {
            self.sync_and_ack().await?;
        }
        Ok(())
    }

    async fn on_control(
        &mut self,
        text: &str,
        feed: &watch::Sender<FeedState>,
        timers: &mut Timers,
    ) -> Result<(), End> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| End::close(CloseCode::InvalidPayload, "text message is not JSON"))?;
        let kind = value
            .get("type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned();
        if !matches!(kind.as_str(), "reauth" | "finish") {
            return Err(End::close(
                CloseCode::ProtocolViolation,
                format!("unknown message type {kind:?}"),
            ));
        }
        let message: ClientMessage = serde_json::from_value(value).map_err(|_| {
            End::close(
                CloseCode::ProtocolViolation,
                format!("malformed {kind} message"),
            )
        })?;
        match message {
            ClientMessage::Reauth { token } => match self.state.access.verify(&token) {
                Ok(claims) if claims.sub == self.session.owner => {
                    self.token_expires_at = claims.exp;
                    timers.expire_at(claims.exp);
                    tracing::info!("re-authenticated in band");
                    self.send(&ServerMessage::ReauthOk {
                        token_expires_at: claims.exp,
                    })
                    .await
                }
                Ok(_) => Err(End::close(
                    CloseCode::Forbidden,
                    "re-auth token is for another account",
                )),
                Err(err) => Err(End::close(
                    CloseCode::Unauthorized,
                    format!("re-auth failed: {err}"),
                )),
            },
            ClientMessage::Finish { end_offset } => {
                let held = self.media.audio.received();
                if end_offset > held {
                    return Err(End::close(
                        CloseCode::Gap,
                        format!("finish at {end_offset} but server holds {held} samples"),
                    ));
                }
                if end_offset < held {
                    return Err(End::close(
                        CloseCode::ProtocolViolation,
                        format!("finish at {end_offset} but server already holds {held} samples"),
                    ));
                }
                self.finishing = true;
                feed.send_modify(|f| f.finished = true);
                Ok(())
            }
        }
    }
}
