//! A reference server per test, in this process, on an ephemeral loopback port.

use std::path::{Path, PathBuf};

use transcribe_server::{RunningServer, ServerConfig};

/// The account every test server knows.
pub const EMAIL: &str = "doctor@clinic.test";
/// The password of [`EMAIL`].
pub const PASSWORD: &str = "correct horse battery staple";
/// A second account, for ownership tests.
pub const OTHER_EMAIL: &str = "other@clinic.test";
/// The password of [`OTHER_EMAIL`].
pub const OTHER_PASSWORD: &str = "another long password";

/// A running server and the temporary directory holding its data.
pub struct TestServer {
    /// The server itself: its address, URLs and data folder.
    pub server: RunningServer,
    dir: tempfile::TempDir,
}

/// Builder-style options for [`TestServer::start`].
pub struct Options {
    /// The configuration the server starts with; tests may change any of it.
    pub config: ServerConfig,
}

impl Options {
    /// Two accounts, recogniser off, default knobs.
    pub fn new() -> Self {
        let mut config = ServerConfig::for_tests("unused");
        config.users = vec![
            format!("{EMAIL}:{PASSWORD}"),
            format!("{OTHER_EMAIL}:{OTHER_PASSWORD}"),
        ];
        config.recognizer = transcribe_server::RecognizerKind::Off;
        config.jwt_secret = Some("test-signing-key".into());
        Self { config }
    }

    /// Recognise speech, restricted to `phrases` (grammar mode).
    pub fn grammar(mut self, phrases: &[&str], dir: &Path) -> Self {
        let path = dir.join("phrases.txt");
        std::fs::write(&path, phrases.join("\n")).expect("write phrases");
        self.config.recognizer = transcribe_server::RecognizerKind::Pocketsphinx;
        self.config.phrases = Some(path);
        self
    }

    /// Listen on this address (a restarted server keeps its port).
    pub fn bind(mut self, addr: std::net::SocketAddr) -> Self {
        self.config.bind = addr;
        self
    }

    /// Lets `change` set any other part of the configuration.
    pub fn with(mut self, change: impl FnOnce(&mut ServerConfig)) -> Self {
        change(&mut self.config);
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

impl TestServer {
    /// Starts a server with its data in a new temporary directory.
    pub async fn start(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(options, dir).await
    }

    /// A server and the test account's access token: where a test of the protocol begins.
    pub async fn start_signed_in(options: Options) -> (Self, String) {
        let server = Self::start(options).await;
        let token = server.access_token().await;
        (server, token)
    }

    /// The test account's access token, signed in over the wire, for tests that speak the protocol.
    pub async fn access_token(&self) -> String {
        crate::wire::sign_in(&self.http(), EMAIL, PASSWORD)
            .await
            .access_token
    }

    /// Starts in an existing directory (a restart keeps the same data).
    pub async fn start_in(mut options: Options, dir: tempfile::TempDir) -> Self {
        options.config.data_dir = dir.path().join("data");
        let server = transcribe_server::start(options.config)
            .await
            .expect("reference server starts");
        Self { server, dir }
    }

    /// Stops the server and hands back its directory for a restart.
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.stop().await;
        self.dir
    }

    /// The base URL of the HTTP endpoints (`http://ADDR`).
    pub fn http(&self) -> String {
        self.server.http_url()
    }

    /// The base URL of the streaming endpoints (`ws://ADDR`).
    pub fn ws(&self) -> String {
        self.server.ws_url()
    }

    /// A scratch directory next to the server's data (for generated audio).
    pub fn scratch(&self) -> PathBuf {
        let path = self.dir.path().join("scratch");
        std::fs::create_dir_all(&path).expect("scratch dir");
        path
    }

    /// Calls an admin endpoint (revocation, refusal windows): the knobs tests turn from outside.
    pub async fn admin(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        crate::wire::admin(&self.http(), path, body).await
    }

    /// Where the server keeps what it stored for `session`.
    pub fn session_dir(&self, session: &str) -> PathBuf {
        self.server.data_dir().join("sessions").join(session)
    }
}
