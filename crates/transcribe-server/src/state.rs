//! Everything the request handlers share.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::auth::{AccessTokens, RefreshStore, Users};
use crate::config::ServerConfig;
use crate::recognizer::Recognition;
use crate::sessions::SessionRegistry;

/// Shared server state, behind an `Arc` in every handler.
pub struct AppState {
    /// The configuration the server started with.
    pub config: ServerConfig,
    /// The accounts that may sign in.
    pub users: Users,
    /// Issues and verifies access tokens.
    pub access: AccessTokens,
    /// The refresh tokens, behind a lock: each change rewrites their file.
    pub refresh: Mutex<RefreshStore>,
    /// The v1 sessions opened so far.
    pub sessions: SessionRegistry,
    /// How each connection's audio is recognised.
    pub recognition: Recognition,
    refuse_until: Mutex<Option<Instant>>,
    next_connection: AtomicU64,
    /// Bumped to make every live socket close with 1001 (shutdown, admin).
    pub close_all: watch::Sender<u64>,
}

impl AppState {
    /// The state of a freshly started server; a `--refuse-for` window starts now.
    pub fn new(
        config: ServerConfig,
        users: Users,
        access: AccessTokens,
        refresh: RefreshStore,
        recognition: Recognition,
    ) -> Self {
        let refuse_until = config
            .refuse_for
            .map(|secs| Instant::now() + Duration::from_secs(secs));
        Self {
            sessions: SessionRegistry::new(config.data_dir.clone()),
            config,
            users,
            access,
            refresh: Mutex::new(refresh),
            recognition,
            refuse_until: Mutex::new(refuse_until),
            next_connection: AtomicU64::new(1),
            close_all: watch::Sender::new(0),
        }
    }

    /// The directory holding sessions, refresh tokens and the signing key.
    pub fn data_dir(&self) -> &PathBuf {
        &self.config.data_dir
    }

    /// A process-unique, increasing connection number (names seed audio files).
    pub fn connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// Refuse WebSocket connections for `secs` from now.
    pub fn refuse_for(&self, secs: u64) {
        *self.refuse_until.lock().expect("refuse lock poisoned") =
            Some(Instant::now() + Duration::from_secs(secs));
    }

    /// Seconds left in the refusal window, if one is active.
    pub fn refusing(&self) -> Option<u64> {
        let until = (*self.refuse_until.lock().expect("refuse lock poisoned"))?;
        let left = until.checked_duration_since(Instant::now())?;
        Some(left.as_secs().max(1))
    }

    /// Closes every live socket with 1001.
    pub fn close_all_connections(&self) {
        self.close_all.send_modify(|g| *g += 1);
    }
}
