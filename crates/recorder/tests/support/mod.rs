//! Helpers shared by the recorder's integration tests.

#![allow(dead_code, unused_imports)] // each test binary uses a different subset

use std::path::Path;

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

pub use consult_test_support::audio::write_wav;
pub use consult_test_support::cli::run_with_input;

/// Unique samples, so any misplaced byte shows.
pub fn unique_pcm(samples: usize) -> Vec<u8> {
    consult_test_support::audio::unique_pcm(samples, 7)
}
