//! The reconnect loop both profiles share: get a token, connect, stream,
//! decide from how the connection ended what to do, wait, repeat.

use super::connection::{Dialect, stream};
use super::retry::{self, NoToken};
use super::sender::Outcome;
use super::upload::Upload;
use crate::backoff::Backoff;
use crate::events::Status;
use crate::spool::WrittenEnd;
use tokio::sync::watch;

/// Why a session ended without its profile's evidence that it is whole. The
/// text is what the person and the history are shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The server refused in a way no retry can change (a protocol
    /// violation, another account's session).
    #[error("{0}")]
    Refused(String),
    /// Audio was captured but never reached this computer's disk.
    #[error("{0}")]
    NotSaved(String),
    /// The session's task ended without a result.
    #[error("the session task stopped: {0}")]
    TaskStopped(String),
}

/// Whether the doctor paused and everything recorded so far has been sent.
fn paused_and_caught_up(upload: &Upload<'_>, written: &watch::Receiver<WrittenEnd>) -> bool {
    *upload.sender.paused.borrow()
        && upload.capture.borrow().is_none()
        && written.borrow().written <= upload.high_water
}

/// Until there is something to send again: a resume, new audio, or Stop.
async fn wait_for_resume(upload: &mut Upload<'_>, mut written: watch::Receiver<WrittenEnd>) {
    let mut paused = upload.sender.paused.clone();
    let high_water = upload.high_water;
    tokio::select! {
        _ = paused.wait_for(|p| !*p) => {}
        _ = retry::wait_for_audio_past(&mut written, high_water) => {}
        _ = upload.capture.wait_for(Option::is_some) => {}
    }
}

/// Runs connections until the session is confirmed whole, or fails for good.
pub async fn drive<D: Dialect>(upload: &mut Upload<'_>, dialect: &mut D) -> Result<(), Failure> {
    let sender = upload.sender;
    let written = upload.reader.subscribe();
    let mut backoff = Backoff::new(sender.options.first_retry, sender.options.max_retry);
    let mut auth_failures = 0u32;
    loop {
        let outcome = match retry::token(sender).await {
            Ok(token) => {
                if backoff.attempt() == 0 && sender.reporter.current_status().is_none() {
                    sender.reporter.status(Status::Connecting);
                }
                let (outcome, greeted) = match dialect.connect(upload, token).await {
                    Ok(greeted) => (stream(upload, dialect, greeted).await, true),
                    Err(outcome) => (outcome, false),
                };
                if greeted {
                    backoff.reset();
                    if matches!(outcome, Outcome::Retry(_)) {
                        auth_failures = 0;
                    }
                }
                tracing::info!(session = %sender.session_id, ?outcome, "connection ended");
                outcome
            }
            Err(NoToken::SignedInAgain) => continue,
            Err(NoToken::Unavailable(outcome)) => outcome,
        };
        match outcome {
            Outcome::Done => return Ok(()),
            Outcome::Fatal(reason) => return Err(Failure::Refused(reason)),
            Outcome::Auth(_) => {
                auth_failures += 1;
                sender.tokens.invalidate().await;
                if auth_failures >= 3 {
                    // Fresh tokens keep being refused: only a new sign-in can help.
                    auth_failures = 0;
                    sender
                        .tokens
                        .require_sign_in("the server keeps refusing fresh access tokens")
                        .await;
                    continue;
                }
            }
            Outcome::Retry(_) => {
                if paused_and_caught_up(upload, &written) {
                    // A seed server ends a stream without audio after about
                    // 10 s: during a pause that is expected, not a fault.
                    tracing::info!(session = %sender.session_id, "connection closed during a pause");
                    wait_for_resume(upload, written.clone()).await;
                    backoff.reset();
                    continue;
                }
            }
        }
        let confirmed = upload.confirmed;
        retry::pause(sender, &mut backoff, &outcome, written.clone(), confirmed).await;
    }
}
