//! The reconnect loop both profiles share: get a token, connect, stream,
//! decide from how the connection ended what to do, wait, repeat.

use std::future::Future;

use tokio::sync::watch;

use super::link::{Link, Outcome};
use super::retry::{self, NoToken};
use crate::auth::Secret;
use crate::backoff::Backoff;
use crate::events::Status;
use crate::spool::WrittenEnd;

/// One profile's way of running a connection.
pub trait ProfileConnection: Send {
    /// Opens a connection with `token` and streams until it ends. Returns how
    /// it ended and whether the server got as far as greeting it.
    fn connect_and_stream(&mut self, token: Secret)
    -> impl Future<Output = (Outcome, bool)> + Send;

    /// Samples the server is known to hold.
    fn confirmed(&self) -> u64;
}

/// Runs connections until the session is confirmed whole, or fails for good.
pub async fn drive<P: ProfileConnection>(
    link: &Link,
    written: watch::Receiver<WrittenEnd>,
    protocol: &mut P,
) -> Result<(), String> {
    let mut backoff = Backoff::new(link.options.first_retry, link.options.max_retry);
    let mut auth_failures = 0u32;
    loop {
        let token = match retry::token(link).await {
            Ok(token) => token,
            Err(NoToken::SignedInAgain) => continue,
            Err(NoToken::Unavailable(Outcome::Fatal(reason))) => return Err(reason),
            Err(NoToken::Unavailable(other)) => {
                retry::pause(
                    link,
                    &mut backoff,
                    &other,
                    written.clone(),
                    protocol.confirmed(),
                )
                .await;
                continue;
            }
        };
        if backoff.attempt() == 0 && link.reporter.current_status().is_none() {
            link.reporter.status(Status::Connecting);
        }
        let (outcome, greeted) = protocol.connect_and_stream(token).await;
        if greeted {
            backoff.reset();
        }
        tracing::info!(session = %link.session_id, ?outcome, "connection ended");
        match outcome {
            Outcome::Done => return Ok(()),
            Outcome::Fatal(reason) => return Err(reason),
            Outcome::Auth(_) => {
                auth_failures += 1;
                link.tokens.invalidate().await;
                if auth_failures >= 3 {
                    // Fresh tokens keep being refused: only a new sign-in can help.
                    auth_failures = 0;
                    link.tokens
                        .require_sign_in("the server keeps refusing fresh access tokens")
                        .await;
                    continue;
                }
                retry::pause(
                    link,
                    &mut backoff,
                    &outcome,
                    written.clone(),
                    protocol.confirmed(),
                )
                .await;
            }
            Outcome::Retry(_) => {
                if greeted {
                    auth_failures = 0;
                }
                retry::pause(
                    link,
                    &mut backoff,
                    &outcome,
                    written.clone(),
                    protocol.confirmed(),
                )
                .await;
            }
        }
    }
}
