//! Command-line configuration of the reference server, including its test knobs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Reference transcription server for Consult Recorder (seed and v1 profiles).
#[derive(Debug, Clone, Parser)]
#[command(name = "transcribe-server", version)]
pub struct ServerConfig {
    /// Address to listen on. Loopback by default: this is a development server.
    #[arg(long, default_value = "127.0.0.1:8080", env = "TRANSCRIBE_BIND")]
    pub bind: SocketAddr,

    /// Directory for received audio, transcripts, refresh tokens and the signing key.
    #[arg(long, default_value = "transcribe-data", env = "TRANSCRIBE_DATA_DIR")]
    pub data_dir: PathBuf,

    /// An account as EMAIL:PASSWORD (repeatable). Without any, a demo account is created.
    #[arg(long = "user", value_name = "EMAIL:PASSWORD")]
    pub users: Vec<String>,

    /// A file of accounts, one EMAIL:PASSWORD per line (`#` starts a comment).
    #[arg(long, value_name = "FILE")]
    pub users_file: Option<PathBuf>,

    /// HS256 signing key for access tokens. Default: a random key kept in the data directory,
    /// so tokens survive a restart.
    #[arg(long, env = "TRANSCRIBE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Access-token lifetime in seconds (the seed backend used 1800).
    #[arg(long, default_value_t = 1800)]
    pub access_ttl: u64,

    /// Refresh-token lifetime in seconds.
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    pub refresh_ttl: u64,

    /// Close a live seed socket when the token it was opened with expires
    /// (1008), as a strict seed backend would. A v1 socket is always closed
    /// at expiry (4401) unless the client re-authenticated in band.
    #[arg(long)]
    pub strict_expiry: bool,

    /// Test knob: close every connection this many seconds after it opened (1001).
    #[arg(long, value_name = "SECS")]
    pub close_every: Option<u64>,

    /// Close a socket after this many seconds without any message.
    #[arg(long, default_value_t = consult_protocol::seed::IDLE_TIMEOUT_SECS)]
    pub idle_timeout: u64,

    /// Test knob: refuse WebSocket connections (HTTP 503) for this many seconds after start.
    #[arg(long, value_name = "SECS")]
    pub refuse_for: Option<u64>,

    /// Speech recogniser.
    #[arg(long, value_enum, default_value_t = RecognizerKind::Pocketsphinx)]
    pub recognizer: RecognizerKind,

    /// pocketsphinx model directory (Debian's pocketsphinx-en-us layout).
    #[arg(long, default_value = "/usr/share/pocketsphinx/model/en-us")]
    pub model_dir: PathBuf,

    /// Restrict recognition to a JSGF grammar file.
    #[arg(long, value_name = "FILE", conflicts_with = "phrases")]
    pub grammar: Option<PathBuf>,

    /// Restrict recognition to these phrases, one per line (any sequence of them).
    #[arg(long, value_name = "FILE")]
    pub phrases: Option<PathBuf>,
}

/// Which recogniser the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecognizerKind {
    /// Offline recognition with pocketsphinx.
    Pocketsphinx,
    /// No recognition: store and acknowledge audio only.
    Off,
}

impl ServerConfig {
    /// A configuration for tests: loopback, an ephemeral port, the given data directory.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Self::parse_from(["transcribe-server", "--bind", "127.0.0.1:0"]);
        config.data_dir = data_dir.into();
        config
    }
}
