//! Reference transcription server for Consult Recorder.
//!
//! Serves the seed profile (the existing clinic backend, as it is) and our v1
//! profile, the sign-in and refresh endpoints, and loopback-only test knobs.
//! It exists for development, demos and tests; see `docs/protocol.md`.

#![deny(clippy::unwrap_used)]

mod admin;
mod auth;
mod config;
mod recognizer;
mod sessions;
mod state;
mod storage;
mod ws;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use base64::Engine;
use rand::RngCore;
use tokio::sync::watch;

pub use auth::unix_now;
pub use auth::users::{DEMO_EMAIL, DEMO_PASSWORD};
pub use config::{RecognizerKind, ServerConfig};
use recognizer::{ModelPaths, Recognition, RecognizerError, grammar};
use state::AppState;
pub use storage::session_dir;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory, or the signing key in it, could not be created, read or written.
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        /// The directory or key file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configured accounts could not be read.
    #[error(transparent)]
    Users(#[from] auth::users::UsersError),
    /// The refresh-token store could not be opened.
    #[error(transparent)]
    RefreshStore(#[from] auth::refresh::StoreError),
    /// The grammar or phrase-list file could not be read.
    #[error("cannot read grammar {path}: {source}")]
    Grammar {
        /// The grammar or phrase-list file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The phrase list at this path has no words in it, so no grammar can be built.
    #[error("phrase list {0} has no words in it")]
    EmptyPhrases(PathBuf),
    /// The recogniser could not load its model or grammar (checked once at start).
    #[error(transparent)]
    Recognizer(#[from] RecognizerError),
    /// The listening socket could not be bound, or its address read.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address (`--bind`).
        addr: SocketAddr,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A server running on the current Tokio runtime.
pub struct RunningServer {
    addr: SocketAddr,
    state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    demo_account: bool,
}

impl RunningServer {
    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base of every endpoint.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://ADDR`, the base of the streaming endpoints.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The directory holding sessions, refresh tokens and the signing key.
    pub fn data_dir(&self) -> &Path {
        self.state.data_dir()
    }

    /// Whether the built-in demo account was created because none was configured.
    pub fn uses_demo_account(&self) -> bool {
        self.demo_account
    }

    /// Issues an access token for `subject` with explicit times (tests).
    pub fn issue_access_token(&self, subject: &str, iat: u64, exp: u64) -> String {
        self.state.access.issue_with(subject, iat, exp)
    }

    /// Closes every socket with 1001 and stops listening.
    pub async fn stop(self) {
        self.state.close_all_connections();
        let _ = self.shutdown.send(true);
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "server stopped with an error"),
            Err(err) => tracing::error!(error = %err, "server task failed"),
        }
    }

    /// Waits until the server stops (e.g. forever, for the binary).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    /// Stops on Ctrl-C or SIGTERM.
    pub async fn run_until_signal(self) {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await;
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Builds the routes over shared state.
pub fn router(state: Arc<AppState>) -> Router {
    use consult_protocol::{auth as wire_auth, seed, v1};
    Router::new()
        .route(wire_auth::LOGIN_PATH, post(auth::http::login))
        .route(wire_auth::REFRESH_PATH, post(auth::http::refresh))
        .route(seed::STREAM_PATH, get(ws::seed::upgrade))
        .route(v1::STREAM_PATH, get(ws::v1::upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/admin/revoke-refresh-tokens",
            post(admin::revoke_refresh_tokens),
        )
        .route("/admin/refuse", post(admin::refuse))
        .route("/admin/close-connections", post(admin::close_connections))
        .with_state(state)
}

/// Starts the server: loads accounts, keys and the recogniser, then listens.
pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(data_dir.join("sessions")).map_err(|source| StartError::DataDir {
        path: data_dir.clone(),
        source,
    })?;
    let mut users = auth::Users::from_config(&config.users, config.users_file.as_deref())?;
    let demo_account = users.is_empty();
    if demo_account {
        users = auth::Users::demo();
    }
    let secret = match &config.jwt_secret {
        Some(secret) => secret.clone().into_bytes(),
        None => signing_key(&data_dir)?,
    };
    let access = auth::AccessTokens::new(&secret, config.access_ttl);
    let refresh =
        auth::RefreshStore::open(&data_dir.join("refresh-tokens.json"), config.refresh_ttl)?;
    let recognition = recognition(&config)?;
    recognition.check()?;

    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let state = Arc::new(AppState::new(config, users, access, refresh, recognition));
    let (shutdown, mut shutdown_rx) = watch::channel(false);
    let app = router(Arc::clone(&state)).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown_rx.wait_for(|stop| *stop).await;
            })
            .await
    });
    tracing::info!(%addr, "listening");
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        task,
        demo_account,
    })
}

fn recognition(config: &ServerConfig) -> Result<Recognition, StartError> {
    if config.recognizer == RecognizerKind::Off {
        return Ok(Recognition::Off);
    }
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|source| StartError::Grammar {
            path: path.clone(),
            source,
        })
    };
    let jsgf = match (&config.grammar, &config.phrases) {
        (Some(path), _) => Some(read(path)?),
        (None, Some(path)) => Some(
            grammar::jsgf_from_phrases(read(path)?.lines())
                .ok_or_else(|| StartError::EmptyPhrases(path.clone()))?,
        ),
        (None, None) => None,
    };
    Ok(Recognition::Pocketsphinx {
        paths: ModelPaths::in_dir(&config.model_dir),
        jsgf: jsgf.map(Arc::from),
    })
}

/// The signing key kept in the data directory, created on first start.
fn signing_key(data_dir: &Path) -> Result<Vec<u8>, StartError> {
    let path = data_dir.join("jwt-secret");
    let io = |source| StartError::DataDir {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    std::fs::write(&path, &key).map_err(io)?;
    Ok(key.into_bytes())
}
