//! The independent seed-style backends of `tests/seed-backends/`: FastAPI
//! servers written from the seed documents alone, in Python, sharing nothing
//! with our crates. This module only starts, restarts and reads them.
//!
//! Their virtual environment is made once per target directory by the
//! backends' own `setup-venv.sh` (pinned packages from PyPI).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex as StdMutex;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use crate::server::{EMAIL, PASSWORD};

/// How the backend is built inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// One loop receives, stores, recognises and replies.
    OneLoop,
    /// Receive loop → queue → streaming-recogniser task → sender task (the seed's shape).
    Pipeline,
}

impl Architecture {
    /// The value the backend's `--architecture` option takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::OneLoop => "one-loop",
            Architecture::Pipeline => "pipeline",
        }
    }
}

/// How to run one backend.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Which of the two designs to run.
    pub architecture: Architecture,
    /// Seconds of audio its recogniser accepts per wall second (a test's
    /// compressed clock; its timeouts shrink by the same factor).
    pub time_scale: f64,
    /// Lifetime of its access tokens, in wall seconds (`time_scale` does not shrink it).
    pub access_ttl_secs: u64,
    /// Close 1008 at the access token's expiry while connected.
    pub strict_expiry: bool,
    /// A reused refresh token revokes its whole family, with no grace window.
    pub strict_reuse: bool,
    /// The JSON shape of its transcripts (`seed`, `camel`, `typed`, `google`,
    /// `unknown`; see the backends' README).
    pub transcript_shape: &'static str,
    /// Its paths, field names and token transport: `seed` (the seed
    /// documents') or `clinic` (every name different; see the README).
    pub api: &'static str,
}

impl SeedOptions {
    /// Real time, 30-minute access tokens, lenient expiry and reuse, and the
    /// seed's own API and transcript shape.
    pub fn new(architecture: Architecture) -> Self {
        Self {
            architecture,
            time_scale: 1.0,
            access_ttl_secs: 1800,
            strict_expiry: false,
            strict_reuse: false,
            transcript_shape: "seed",
            api: "seed",
        }
    }
}

/// A running backend, restartable on the same port and data.
pub struct SeedBackend {
    options: SeedOptions,
    data: tempfile::TempDir,
    port: u16,
    child: Mutex<Child>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_owned()
}

/// The backends' virtual environment, made (or brought up to date) once per process.
fn venv_python() -> PathBuf {
    static READY: StdMutex<bool> = StdMutex::new(false);
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let venv = target.join("seed-venv");
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if !*ready {
        let status = std::process::Command::new("bash")
            .arg(root.join("tests/seed-backends/setup-venv.sh"))
            .arg(&venv)
            .status()
            .expect("bash runs");
        assert!(
            status.success(),
            "setting up the seed backends' Python environment failed"
        );
        *ready = true;
    }
    venv.join("bin/python")
}

impl SeedBackend {
    /// Starts a backend on a free loopback port with its own data folder.
    pub async fn start(options: SeedOptions) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let (child, port) = spawn(&options, data.path(), 0).await;
        Self {
            options,
            data,
            port,
            child: Mutex::new(child),
        }
    }

    /// Its loopback address, the same after a restart.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Its base URL (`http://ADDR`).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Where it stored what its recogniser accepted for `session`, one
    /// `seed-NNNNNN.pcm` per connection.
    pub fn session_dir(&self, session: &str) -> PathBuf {
        self.data.path().join(session)
    }

    /// Its events (`events.jsonl`): connections, closes, refusals.
    pub fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.data.path().join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// How many times its recogniser refused audio as too fast.
    pub fn too_fast_refusals(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| e["event"] == "too_fast")
            .count()
    }

    /// Kills it (as a crash would) and starts it again on the same port and data.
    pub async fn restart(&self) {
        let mut child = self.child.lock().await;
        let _ = child.start_kill();
        let _ = child.wait().await;
        let (fresh, _) = spawn(&self.options, self.data.path(), self.port).await;
        *child = fresh;
    }

    /// Kills it (as a crash or an outage would); it stays down.
    pub async fn kill(&self) {
        let mut child = self.child.lock().await;
        let _ = child.start_kill();
        let _ = child.wait().await;
    }

    /// Revokes every refresh token (the doctor must sign in again).
    pub async fn revoke_refresh_tokens(&self) {
        let response = reqwest::Client::new()
            .post(format!("{}/test/revoke-refresh-tokens", self.http_url()))
            .send()
            .await
            .expect("the seed backend answers");
        assert!(
            response.status().is_success(),
            "revoking failed: {}",
            response.status()
        );
    }
}

/// Starts the process and waits for its `LISTENING host:port` line.
async fn spawn(options: &SeedOptions, data: &Path, port: u16) -> (Child, u16) {
    let python = venv_python();
    let mut command = Command::new(python);
    command
        .current_dir(workspace_root().join("tests/seed-backends"))
        .args([
            "-m",
            "seed_backend",
            "--architecture",
            options.architecture.as_str(),
        ])
        .arg("--data-dir")
        .arg(data)
        .args(["--port", &port.to_string()])
        .args(["--time-scale", &options.time_scale.to_string()])
        .args(["--access-ttl", &options.access_ttl_secs.to_string()])
        .args(["--user", &format!("{EMAIL}:{PASSWORD}")])
        .args(["--transcript-shape", options.transcript_shape])
        .args(["--api", options.api])
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("SEED_BACKEND_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true);
    if options.strict_expiry {
        command.arg("--strict-expiry");
    }
    if options.strict_reuse {
        command.arg("--strict-reuse");
    }
    // A restart may find its port still held for a moment by the old process.
    for _ in 0..20 {
        let mut child = command.spawn().expect("the seed backend starts");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let listening = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line.strip_prefix("LISTENING ") {
                    return addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        if let Some(port) = listening {
            // Keep reading stdout so the process never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, port);
        }
        let _ = child.start_kill();
        let _ = child.wait().await;
        assert!(port != 0, "the seed backend did not start");
        // A retry policy for a port in TIME_WAIT, not a wait for an event.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the seed backend did not start on port {port}");
}
