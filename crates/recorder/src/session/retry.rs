//! Between connections: getting a token, and waiting before the next try
//! while telling the doctor that the audio is safe.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep};

use super::sender::{Outcome, SenderContext, wait_for_sign_in};
use crate::auth::{Secret, TokenUnavailable};
use crate::backoff::Backoff;
use crate::events::Status;
use crate::spool::WrittenEnd;

/// Why there is no token to connect with.
pub enum NoToken {
    /// The doctor has just signed in again: connect at once.
    SignedInAgain,
    /// Offline (wait and retry) or the sign-in service stopped (give up).
    Unavailable(Outcome),
}

/// A token to connect with; waits for the doctor when a sign-in is needed.
pub async fn token(sender: &SenderContext) -> Result<Secret, NoToken> {
    match sender.tokens.access_token().await {
        Ok(token) => Ok(token),
        Err(TokenUnavailable::SignInRequired(_) | TokenUnavailable::SignedOut) => {
            sender.reporter.status(Status::SignInRequired);
            wait_for_sign_in(&sender.tokens).await;
            Err(NoToken::SignedInAgain)
        }
        Err(TokenUnavailable::Offline(reason)) => Err(NoToken::Unavailable(Outcome::Retry(reason))),
        Err(TokenUnavailable::Stopped) => Err(NoToken::Unavailable(Outcome::Fatal(
            "the sign-in service stopped".into(),
        ))),
    }
}

/// Waits out the backoff, updating the status every second: "reconnecting" for
/// the first tries, then "offline — N s recorded locally".
pub async fn pause(
    sender: &SenderContext,
    backoff: &mut Backoff,
    why: &Outcome,
    written: watch::Receiver<WrittenEnd>,
    confirmed: u64,
) {
    let reason = match why {
        Outcome::Retry(r) | Outcome::Auth(r) | Outcome::Fatal(r) => r.clone(),
        Outcome::Done => String::new(),
    };
    let delay = backoff.next_delay();
    let attempt = backoff.attempt();
    let until = Instant::now() + delay;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let next_try_in_ms = left.as_millis() as u64;
        let status = if attempt <= 2 {
            Status::Reconnecting {
                attempt,
                next_try_in_ms,
                reason: reason.clone(),
            }
        } else {
            let buffered = written.borrow().written.saturating_sub(confirmed);
            Status::Offline {
                buffered_secs: (consult_protocol::samples_to_secs(buffered) * 10.0).round() / 10.0,
                attempt,
                next_try_in_ms,
            }
        };
        sender.reporter.status(status);
        if left.is_zero() {
            return;
        }
        sleep(left.min(Duration::from_secs(1))).await;
    }
}

/// Resolves once the spool holds audio past `offset` (never, if the writer is gone).
pub async fn wait_for_audio_past(written: &mut watch::Receiver<WrittenEnd>, offset: u64) {
    if written.wait_for(|w| w.written > offset).await.is_err() {
        std::future::pending::<()>().await;
    }
}
