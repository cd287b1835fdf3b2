//! Helpers shared by the recorder's integration tests.

#![allow(dead_code, unused_imports)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub use consult_recorder::auth::memory_vault::MemoryVault;

pub use consult_test_support::pulse;

/// What a canned HTTP server does with each request.
#[derive(Clone)]
pub enum Canned {
    /// Answer with this status line, content type and body.
    Respond(u16, &'static str, String),
    /// Read the request and never answer.
    Hang,
}

/// Serves one canned answer to every request on a loopback port; returns its origin.
pub async fn canned_server(answer: Canned) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                match answer {
                    Canned::Respond(status, content_type, body) => {
                        let response = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = socket.write_all(response.as_bytes()).await;
                    }
                    Canned::Hang => std::future::pending::<()>().await,
                }
            });
        }
    });
    format!("http://{addr}")
}

/// The account every reference server in these tests knows.
pub const EMAIL: &str = "doctor@clinic.test";
pub const PASSWORD: &str = "correct horse battery staple";

/// A reference server in this process with its data in a temporary directory.
pub async fn reference_server(
    change: impl FnOnce(&mut transcribe_server::ServerConfig),
) -> (transcribe_server::RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = transcribe_server::ServerConfig::for_tests(dir.path().join("data"));
    config.users = vec![format!("{EMAIL}:{PASSWORD}")];
    config.recognizer = transcribe_server::RecognizerKind::Off;
    change(&mut config);
    let server = transcribe_server::start(config).await.unwrap();
    (server, dir)
}

/// A reference server with an empty home folder beside it: where every test
/// that talks to a server begins.
pub struct ServerHome {
    pub server: transcribe_server::RunningServer,
    _server_dir: tempfile::TempDir,
    pub url: String,
    pub home: tempfile::TempDir,
}

impl ServerHome {
    /// Starts a reference server (changed by `change`) and makes the home.
    pub async fn start(change: impl FnOnce(&mut transcribe_server::ServerConfig)) -> Self {
        let (server, _server_dir) = reference_server(change).await;
        Self {
            url: server.http_url(),
            server,
            _server_dir,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// A server that recognises real speech, listening for `phrases` (whose
    /// list it reads from a file written into `dir`).
    pub async fn recognising(dir: &Path, phrases: &[&str]) -> Self {
        let list = dir.join("phrases.txt");
        std::fs::write(
            &list,
            phrases.iter().map(|p| format!("{p}\n")).collect::<String>(),
        )
        .unwrap();
        Self::start(|c| {
            c.recognizer = transcribe_server::RecognizerKind::Pocketsphinx;
            c.phrases = Some(list);
        })
        .await
    }

    /// The folder in which the server keeps what it stored for `session`.
    pub fn session_dir(&self, session: &str) -> PathBuf {
        transcribe_server::session_dir(self.server.data_dir(), session)
    }

    /// The audio the server stored for `session` (the v1 profile's one file).
    pub fn stored_audio(&self, session: &str) -> Vec<u8> {
        std::fs::read(self.session_dir(session).join("audio.pcm")).unwrap()
    }
}

pub use consult_test_support::audio::write_wav;
pub use consult_test_support::cli::run_with_input;

/// A consultation of `seconds` of unique audio as `consultation.wav` in `dir`:
/// the recorders under test read it in place of a microphone.
pub fn consultation_wav(dir: &Path, seconds: usize) -> (Vec<u8>, PathBuf) {
    let source = unique_pcm(seconds * 16_000);
    let wav = dir.join("consultation.wav");
    write_wav(&wav, &source);
    (source, wav)
}

/// What a program printed, standard output then standard error, for messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Takes what `next` yields until `pick` keeps something, for up to `within`
/// (`late` is the failure shown after that): how the tests wait for events.
pub async fn first_picked<T, U>(
    within: Duration,
    late: &str,
    mut next: impl AsyncFnMut() -> T,
    mut pick: impl FnMut(T) -> Option<U>,
) -> U {
    tokio::time::timeout(within, async {
        loop {
            if let Some(picked) = pick(next().await) {
                return picked;
            }
        }
    })
    .await
    .expect(late)
}

/// Waits up to `within` for the first event on `events` matching `wanted`.
pub async fn next_matching<T: Clone>(
    events: &mut tokio::sync::broadcast::Receiver<T>,
    within: Duration,
    wanted: impl Fn(&T) -> bool,
) -> T {
    let recv = async || events.recv().await.expect("the event stream is open");
    let keep = |event: T| wanted(&event).then_some(event);
    first_picked(within, "the event came in time", recv, keep).await
}

/// Unique samples, so any misplaced byte shows.
pub fn unique_pcm(samples: usize) -> Vec<u8> {
    consult_test_support::audio::unique_pcm(samples, 7)
}
