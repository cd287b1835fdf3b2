//! Helpers shared by the recorder's integration tests.

#![allow(dead_code, unused_imports)] // each test binary uses a different subset

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub use consult_recorder::auth::memory_vault::MemoryVault;

pub mod pulse;

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

/// Unique samples (a seeded xorshift), so any misplaced byte shows.
pub fn unique_pcm(samples: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..samples)
        .flat_map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 48) as i16).to_le_bytes()
        })
        .collect()
}

pub fn write_wav(path: &Path, pcm: &[u8]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for pair in pcm.chunks_exact(2) {
        writer
            .write_sample(i16::from_le_bytes([pair[0], pair[1]]))
            .unwrap();
    }
    writer.finalize().unwrap();
}

/// Runs `command` with piped output, writing `stdin` (if any) to it first.
pub async fn run_with_input(
    mut command: tokio::process::Command,
    stdin: Option<&str>,
) -> std::process::Output {
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("the program starts");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    child.wait_with_output().await.unwrap()
}
