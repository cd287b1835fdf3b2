//! The WebSocket itself, the same for both profiles: sending without hanging
//! on a half-open connection, reading how it ended, and closing it.

use std::time::Duration;

use futures_util::{Sink, SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;

use super::sender::Outcome;
use crate::net::WsStream;

/// The sending half of a connection.
pub type WsSink = futures_util::stream::SplitSink<WsStream, Message>;
/// The receiving half of a connection.
pub type WsSource = futures_util::stream::SplitStream<WsStream>;

/// How long a close handshake may take.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The message, or how the connection ended (`close` reads a close frame).
pub fn message_or_end(
    incoming: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    close: fn(Option<CloseFrame>) -> Outcome,
) -> Result<Message, Outcome> {
    match incoming {
        None => Err(Outcome::Retry("the connection closed".into())),
        Some(Err(err)) => Err(Outcome::Retry(format!("the connection failed: {err}"))),
        Some(Ok(Message::Close(frame))) => Err(close(frame)),
        Some(Ok(message)) => Ok(message),
    }
}

/// How a close frame from the server ends the connection, by its code.
pub fn close_outcome(frame: Option<CloseFrame>) -> Outcome {
    let (code, reason) = close_code_and_reason(frame);
    Outcome::from_close(code, &reason)
}

/// A close frame's code and reason; 1005 ("no status") for none.
pub fn close_code_and_reason(frame: Option<CloseFrame>) -> (u16, String) {
    frame.map_or((1005, String::new()), |f| {
        (u16::from(f.code), f.reason.to_string())
    })
}

/// Why a silent connection was given up.
pub fn stalled_reason(stall_after: Duration) -> String {
    format!(
        "no answer from the server for {} s (stalled connection)",
        stall_after.as_secs()
    )
}

/// Why a message could not be sent; `during` says what was being sent, in
/// the words the person and the log are shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The socket failed: the connection is gone.
    #[error("{during}")]
    Broken { during: &'static str },
    /// The send waited past the deadline with nothing heard from the server.
    #[error("no answer from the server while sending (stalled connection, {during})")]
    Stalled { during: &'static str },
}

impl From<SendError> for Outcome {
    /// A connection that cannot send is retried on a new one.
    fn from(err: SendError) -> Self {
        Outcome::Retry(err.to_string())
    }
}

/// Sends one message, but gives up once `deadline` passes with nothing heard
/// from the server: on a half-open connection the socket's buffers fill and a
/// send would otherwise wait for as long as the stall lasts, hiding it.
pub async fn send_before<S>(
    sink: &mut S,
    message: Message,
    deadline: Instant,
    during: &'static str,
) -> Result<(), SendError>
where
    S: Sink<Message> + Unpin,
{
    match tokio::time::timeout_at(deadline, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(SendError::Broken { during }),
        Err(_) => Err(SendError::Stalled { during }),
    }
}

/// Closes with a handshake and returns the text messages (transcripts) the
/// server still sent, once it answered or after [`CLOSE_GRACE`]. The answer
/// proves only that its WebSocket library read our frames, nothing about storage.
pub async fn close_reading(sink: &mut WsSink, source: &mut WsSource, reason: &str) -> Vec<Message> {
    let deadline = Instant::now() + CLOSE_GRACE;
    let mut kept = Vec::new();
    let frame = CloseFrame {
        code: WsCloseCode::Normal,
        reason: reason.to_owned().into(),
    };
    if send_before(sink, Message::Close(Some(frame)), deadline, "closing")
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
}

/// Waits until `at`; ready at once for `None`. A timer set for "now" would
/// still wait for the next millisecond tick and wake the runtime a second
/// time, for every live chunk.
pub async fn wait_until_due(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}
