//! What every sender needs: where to connect, tokens, the store, the reporter,
//! and how a connection ended.

use std::time::Duration;

use consult_protocol::{ClientAction, CloseCode};

use super::report::Reporter;
use crate::auth::{AuthState, TokenManager};
use crate::net::ConnectError;
use crate::server_profile::StreamProfile;
use crate::store::Store;

/// Knobs of the sender; the defaults suit a clinic network.
#[derive(Debug, Clone)]
pub struct SenderOptions {
    /// How long opening a connection may take, and then the server's greeting
    /// (seed) or `ready` (v1).
    pub connect_timeout: Duration,
    /// Send a ping this often…
    pub ping_every: Duration,
    /// …and replace a connection that has said nothing for this long.
    pub stall_after: Duration,
    /// Backlog upload speed limit, in multiples of real time.
    pub backlog_speed: f64,
    /// The wait before the first reconnection attempt; it doubles up to
    /// `max_retry`.
    pub first_retry: Duration,
    /// The longest wait between reconnection attempts: how late, at worst,
    /// a returning network is noticed.
    pub max_retry: Duration,
    /// Recognition language (v1 only), e.g. `en-IN`.
    pub language: Option<String>,
    /// Seed profile: the most audio sent per second, in seconds (1.0 = real
    /// time, what a Google-style streaming recogniser accepts).
    pub seed_pace: f64,
    /// Seed profile: the streaming endpoint's path, parameters and greeting.
    pub stream: StreamProfile,
}

impl SenderOptions {
    /// These options with what the configuration in force decides: the seed
    /// pace, the seed endpoint's shape and the recognition language.
    pub fn configured(self, config: &crate::config::Resolved) -> Self {
        Self {
            seed_pace: config.seed_pace.as_f64(),
            stream: config.server_profile.stream.clone(),
            language: config.language.clone(),
            ..self
        }
    }
}

impl Default for SenderOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            ping_every: Duration::from_secs(4),
            stall_after: Duration::from_secs(8),
            backlog_speed: 50.0,
            first_retry: Duration::from_millis(500),
            // One refused connection every 5 s costs nothing, and after a
            // long outage the upload resumes within 5 s of the network's
            // return (at 30 s, the benchmark saw 25 s of needless waiting).
            max_retry: Duration::from_secs(5),
            language: None,
            seed_pace: DEFAULT_SEED_PACE,
            stream: StreamProfile::default(),
        }
    }
}

/// Real time: what the seed backend's streaming recogniser accepts.
pub const DEFAULT_SEED_PACE: f64 = 1.0;

/// The shared context of one session's sender.
#[derive(Clone)]
pub struct SenderContext {
    pub session_id: String,
    /// The patient/encounter reference, sent only where the server profile says.
    pub reference: String,
    pub ws_base: String,
    pub tokens: TokenManager,
    pub store: Store,
    pub reporter: Reporter,
    pub options: SenderOptions,
    /// `true` while the doctor has paused the recording.
    pub paused: tokio::sync::watch::Receiver<bool>,
}

/// How one connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server confirmed everything: the session is complete.
    Done,
    /// Try again after a pause.
    Retry(String),
    /// The server refused the token: refresh, then try again.
    Auth(String),
    /// Retrying cannot help (a protocol violation, another account's session).
    Fatal(String),
}

impl Outcome {
    /// How a close frame ends a connection: what the close code asks of the
    /// client. A "done" close before the session was finished is retried like
    /// any other: only the profile's own evidence makes a session complete.
    pub fn from_close(code: u16, reason: &str) -> Self {
        let described = if reason.is_empty() {
            format!("the server closed the connection ({code})")
        } else {
            format!("the server closed the connection: {reason} ({code})")
        };
        match CloseCode::from_code(code).map(CloseCode::client_action) {
            Some(ClientAction::Done | ClientAction::Reconnect) | None => Outcome::Retry(described),
            Some(ClientAction::RefreshAndReconnect) => Outcome::Auth(described),
            Some(ClientAction::Fail) => Outcome::Fatal(described),
        }
    }

    pub fn from_connect(err: ConnectError) -> Self {
        match err {
            ConnectError::BadUrl(_) | ConnectError::Insecure(_) => Outcome::Fatal(err.to_string()),
            ConnectError::Refused { status: 401 | 403 } => Outcome::Auth(err.to_string()),
            other => Outcome::Retry(other.to_string()),
        }
    }
}

impl SenderContext {
    /// Samples the server confirmed in an earlier run (from the session store).
    pub fn stored_confirmed(&self) -> u64 {
        self.store
            .get(&self.session_id)
            .ok()
            .flatten()
            .map_or(0, |s| s.samples_confirmed)
    }
}

/// Waits until the person has signed in (again).
pub async fn wait_for_sign_in(tokens: &TokenManager) {
    let mut state = tokens.watch_state();
    let _ = state
        .wait_for(|s| matches!(s, AuthState::SignedIn { .. }))
        .await;
}
