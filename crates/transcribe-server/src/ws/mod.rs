//! The two streaming endpoints and what they share: timers, closing, refusal.
//!
//! Each connection is one task that owns its socket, its audio file handle and
//! its recogniser feed; nothing else writes to them.

pub mod seed;
pub mod v1;

use std::future::pending;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use consult_protocol::CloseCode;
use tokio::time::{Instant, sleep_until};

use crate::auth::unix_now;

/// Largest WebSocket message read at all; anything larger than a profile's own
/// limit but below this still gets a clean 1009.
pub const MAX_WS_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Why a connection's timers ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerStop {
    /// Nothing arrived within the idle timeout.
    Idle,
    /// The token the connection last authenticated with has expired.
    TokenExpired,
    /// The `--close-every` test knob fired.
    Periodic,
}

/// Idle timeout, token expiry and the periodic-close test knob of one connection.
pub struct Timers {
    idle: Duration,
    idle_at: Instant,
    expiry: Option<Instant>,
    periodic: Option<Instant>,
}

impl Timers {
    /// Timers starting now: idle after `idle_secs`, and a periodic close after
    /// `close_every_secs` when set. Token expiry waits for [`expire_at`](Self::expire_at).
    pub fn new(idle_secs: u64, close_every_secs: Option<u64>) -> Self {
        let now = Instant::now();
        let idle = Duration::from_secs(idle_secs);
        Self {
            idle,
            idle_at: now + idle,
            expiry: None,
            periodic: close_every_secs.map(|s| now + Duration::from_secs(s)),
        }
    }

    /// Something arrived: the connection is not idle.
    pub fn touch(&mut self) {
        self.idle_at = Instant::now() + self.idle;
    }

    /// Close the connection when a token that expires at `exp` (Unix seconds) does.
    pub fn expire_at(&mut self, exp: u64) {
        let left = exp.saturating_sub(unix_now());
        self.expiry = Some(Instant::now() + Duration::from_secs(left));
    }

    /// Resolves when the first timer fires.
    pub async fn fired(&self) -> TimerStop {
        let at = |deadline: Option<Instant>| async move {
            match deadline {
                Some(t) => sleep_until(t).await,
                None => pending().await,
            }
        };
        tokio::select! {
            _ = sleep_until(self.idle_at) => TimerStop::Idle,
            _ = at(self.expiry) => TimerStop::TokenExpired,
            _ = at(self.periodic) => TimerStop::Periodic,
        }
    }
}

/// Sends a close frame and logs why; the socket is finished afterwards.
pub async fn close(socket: &mut WebSocket, code: CloseCode, reason: &str) {
    tracing::info!(code = code.code(), reason, "closing connection");
    let frame = CloseFrame {
        code: code.code(),
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Completes a close handshake the client started, so it sees our reply frame.
pub async fn acknowledge_close(socket: &mut WebSocket) {
    let _ = futures_util::SinkExt::close(socket).await;
}

/// The answer to an upgrade during a refusal window.
pub fn refusal(retry_after_secs: u64) -> Response {
    tracing::info!(retry_after_secs, "refusing WebSocket upgrade");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, retry_after_secs.to_string())],
        "refusing connections for now",
    )
        .into_response()
}
