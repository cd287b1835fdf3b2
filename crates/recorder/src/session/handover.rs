//! A token handover over a new connection, for a profile that cannot take a
//! fresh token on the open one (the seed): open the new connection first,
//! stop sending on the old one, keep reading it until everything sent on it
//! is confirmed, then close it and go on over the new one.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;

use super::sender::Outcome;
use super::socket::{WsSink, WsSource, close_reading};
use crate::net::WsStream;

/// How long the old connection may take to confirm what was sent on it.
pub const DRAIN_MAX: Duration = Duration::from_secs(5);
/// How soon a failed attempt to open the new connection is retried.
const RETRY_OPEN: Duration = Duration::from_secs(2);

/// Opening (and greeting) the handover's new connection.
pub type Opening<'f> = Pin<Box<dyn Future<Output = Result<Box<WsStream>, Outcome>> + Send + 'f>>;

/// The old connection of a handover, closing: resolves to the text messages
/// (transcripts) it still sent. Its answer proves nothing about storage; the
/// drain did that.
pub type Retiring = Pin<Box<dyn Future<Output = Vec<Message>> + Send>>;

/// The handover in progress on a connection.
pub enum Handover<'f> {
    Idle,
    /// The new connection is being opened; the old one streams on.
    Opening(Opening<'f>),
    /// The new connection is greeted; the old one sends nothing more and is
    /// read until everything sent on it (`target`) is confirmed.
    Draining {
        next: Box<WsStream>,
        target: u64,
        give_up_at: Instant,
    },
    /// Opening failed; try again at this time (the old token is still valid).
    RetryAt(Instant),
}

/// What happened to a handover in progress.
pub enum HandoverTurn {
    Opened(Box<WsStream>),
    OpenFailed,
    TryAgain,
    DrainTimedOut,
}

impl<'f> Handover<'f> {
    pub fn is_idle(&self) -> bool {
        matches!(self, Handover::Idle)
    }

    pub fn is_draining(&self) -> bool {
        matches!(self, Handover::Draining { .. })
    }

    /// The new connection, once everything up to the drain's target is confirmed.
    pub fn take_drained(&mut self, confirmed: u64) -> Option<Box<WsStream>> {
        if !matches!(self, Handover::Draining { target, .. } if confirmed >= *target) {
            return None;
        }
        match std::mem::replace(self, Handover::Idle) {
            Handover::Draining { next, .. } => Some(next),
            _ => None,
        }
    }

    /// Stops sending on the old connection: drain everything up to `sent`.
    pub fn drain(&mut self, next: Box<WsStream>, sent: u64) {
        *self = Handover::Draining {
            next,
            target: sent,
            give_up_at: Instant::now() + DRAIN_MAX,
        };
    }

    pub fn retry_later(&mut self) {
        *self = Handover::RetryAt(Instant::now() + RETRY_OPEN);
    }

    /// Resolves when the handover takes its next turn; never when idle.
    pub async fn turn(&mut self) -> HandoverTurn {
        match self {
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
}

/// Starts closing the old connection of a handover (see [`Retiring`]).
pub fn retire(mut sink: WsSink, mut source: WsSource) -> Retiring {
    Box::pin(async move { close_reading(&mut sink, &mut source, "token handover").await })
}

/// Resolves when the retiring connection is closed; never without one.
pub async fn retired(retiring: &mut Option<Retiring>) -> Vec<Message> {
    match retiring {
        Some(closing) => closing.await,
        None => std::future::pending().await,
    }
}
