//! The seed profile endpoint, faithful to the existing clinic backend.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use consult_protocol::CloseCode;
use consult_protocol::auth::AccessClaims;
use consult_protocol::seed::{self, Connected};
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::{MAX_WS_MESSAGE_BYTES, TimerStop, Timers, acknowledge_close, close, refusal};
use crate::auth::TokenError;
use crate::recognizer::{FeedState, Span, WorkerEvent, spawn_worker};
use crate::state::AppState;
use crate::storage::{AudioFile, session_dir};

/// Largest binary frame the seed endpoint accepts (2 s of audio).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// `GET /api/v1/ws/transcribe`, the seed endpoint. Refused with 503 during a
/// refusal window; otherwise the socket is accepted first and the token in the
/// query checked after, like the seed backend.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> Response {
    if let Some(secs) = state.refusing() {
        return refusal(secs);
    }
    let connection = state.connection_id();
    ws.max_message_size(MAX_WS_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let span = tracing::info_span!("seed_connection", connection);
            run(socket, query, state, connection).instrument(span)
        })
}

/// Session ids become directory names: letters, digits, `-` and `_` only.
fn valid_session_id(id: &str) -> bool {
    consult_protocol::is_valid_session_id(id)
}

/// How a connection is refused or ended by us: the close code and reason.
type Refusal = (CloseCode, &'static str);

/// Like the seed backend: the socket is accepted first, then the token and
/// the session id in the query are checked.
fn authenticate(
    query: &HashMap<String, String>,
    state: &AppState,
) -> Result<(AccessClaims, String), Refusal> {
    let claims = match query.get(seed::QUERY_TOKEN).map(|t| state.access.verify(t)) {
        Some(Ok(claims)) => claims,
        Some(Err(TokenError::Expired)) => {
            return Err((CloseCode::PolicyViolation, seed::REASON_TOKEN_EXPIRED));
        }
        Some(Err(TokenError::Invalid)) => {
            return Err((CloseCode::PolicyViolation, seed::REASON_TOKEN_INVALID));
        }
        None => {
            return Err((
                CloseCode::PolicyViolation,
                "Authentication failed: Missing token",
            ));
        }
    };
    match query.get(seed::QUERY_SESSION) {
        Some(id) if valid_session_id(id) => Ok((claims, id.clone())),
        _ => Err((CloseCode::PolicyViolation, "Missing or invalid session_id")),
    }
}

/// The file this connection's audio goes to, named by start time, then
/// connection number: unique across restarts and sorted in the order the
/// connections opened.
fn audio_path(state: &AppState, session: &str, connection: u64) -> std::path::PathBuf {
    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    session_dir(state.data_dir(), session)
        .join(format!("seed-{started_ms:013}-{connection:08}.pcm"))
}

/// Checks and stores one binary frame; syncs every
/// [`consult_protocol::v1::ACK_EVERY_SAMPLES`] samples.
async fn store_frame(
    audio: &mut AudioFile,
    bytes: &[u8],
    unsynced: &mut u64,
) -> Result<(), Refusal> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err((CloseCode::MessageTooBig, "Audio frame larger than 64 KiB"));
    }
    if !bytes.len().is_multiple_of(2) {
        return Err((
            CloseCode::InvalidPayload,
            "Audio frame has an odd number of bytes",
        ));
    }
    if let Err(err) = audio.append(bytes) {
        tracing::error!(error = %err, "cannot store audio");
        return Err((CloseCode::InternalError, "Cannot store audio"));
    }
    *unsynced += bytes.len() as u64 / 2;
    if *unsynced >= consult_protocol::v1::ACK_EVERY_SAMPLES {
        *unsynced = 0;
        if let Err(err) = audio.sync().await {
            tracing::error!(error = %err, "cannot sync audio");
        }
    }
    Ok(())
}

/// The seed endpoint takes binary audio only; any text ends the connection.
fn text_refusal(text: &str) -> Refusal {
    let reason = if serde_json::from_str::<serde_json::Value>(text).is_ok() {
        "Unknown message type: this endpoint accepts binary PCM16LE audio only"
    } else {
        "Text is not JSON: this endpoint accepts binary PCM16LE audio only"
    };
    (CloseCode::UnsupportedData, reason)
}

/// The close a timer asks for.
fn timer_refusal(stop: TimerStop) -> Refusal {
    match stop {
        TimerStop::Idle => (CloseCode::PolicyViolation, "Idle timeout"),
        TimerStop::TokenExpired => (CloseCode::PolicyViolation, seed::REASON_TOKEN_EXPIRED),
        TimerStop::Periodic => (CloseCode::GoingAway, "Periodic close (test knob)"),
    }
}

async fn run(
    mut socket: WebSocket,
    query: HashMap<String, String>,
    state: Arc<AppState>,
    connection: u64,
) {
    let (claims, session) = match authenticate(&query, &state) {
        Ok(found) => found,
        Err((code, reason)) => return close(&mut socket, code, reason).await,
    };
    tracing::info!(account = %claims.sub, %session, "seed connection authenticated");

    let path = audio_path(&state, &session, connection);
    let mut audio = match AudioFile::open(&path) {
        Ok(audio) => audio,
        Err(err) => {
            tracing::error!(error = %err, "cannot store audio");
            return close(&mut socket, CloseCode::InternalError, "Cannot store audio").await;
        }
    };
    let greeting = Connected {
        status: seed::STATUS_CONNECTED.into(),
        message: seed::READY_MESSAGE.into(),
        session_id: session.clone(),
    };
    let greeting = serde_json::to_string(&greeting).expect("greeting serialises");
    if socket.send(Message::Text(greeting.into())).await.is_err() {
        return;
    }

    let (feed, feed_rx) = watch::channel(FeedState::default());
    let (events_tx, mut events) = mpsc::channel(64);
    spawn_worker(
        state.recognition.clone(),
        path,
        Span::from_start(),
        feed_rx,
        events_tx,
    );

    let mut timers = Timers::new(state.config.idle_timeout, state.config.close_every);
    if state.config.strict_expiry {
        timers.expire_at(claims.exp);
    }
    let mut close_all = state.close_all.subscribe();
    let mut unsynced = 0u64;

    // `Some` ends the connection with that close; `None` ends it because the
    // client went away or closed it.
    let ended: Option<Refusal> = loop {
        tokio::select! {
            stop = timers.fired() => break Some(timer_refusal(stop)),
            _ = close_all.changed() => break Some((CloseCode::GoingAway, "Server restarting")),
            Some(event) = events.recv() => match event {
                WorkerEvent::Text(text) => {
                    let message = seed::Transcript::new(text.text, text.is_final);
                    let json = serde_json::to_string(&message).expect("transcript serialises");
                    if socket.send(Message::Text(json.into())).await.is_err() {
                        break None;
                    }
                }
                WorkerEvent::Failed(reason) => {
                    tracing::error!(%reason, "recogniser failed");
                    break Some((CloseCode::InternalError, "Recogniser failed"));
                }
                WorkerEvent::Flushed => {}
            },
            incoming = socket.recv() => {
                timers.touch();
                let Some(Ok(message)) = incoming else { break None };
                match message {
                    Message::Binary(bytes) => {
                        if let Err(refusal) = store_frame(&mut audio, &bytes, &mut unsynced).await {
                            break Some(refusal);
                        }
                        feed.send_modify(|f| f.available = audio.received());
                    }
                    Message::Text(text) => break Some(text_refusal(&text)),
                    Message::Close(_) => {
                        acknowledge_close(&mut socket).await;
                        break None;
                    }
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
        }
    };
    if let Some((code, reason)) = ended {
        close(&mut socket, code, reason).await;
    }
    if let Err(err) = audio.sync().await {
        tracing::error!(error = %err, "cannot sync audio");
    }
    tracing::info!(samples = audio.received(), "seed connection ended");
}
