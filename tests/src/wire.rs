//! Minimal protocol clients for tests: they speak the wire format directly so
//! the server is tested independently of the product's client.

use std::sync::Once;
use std::time::Duration;

use consult_protocol::auth::{LOGIN_PATH, REFRESH_PATH, TokenResponse};
use consult_protocol::{AudioFrame, seed, v1};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// A client WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for something the server must do.
pub const WAIT: Duration = Duration::from_secs(30);

/// An HTTP client (rustls with the ring provider, installed once).
pub fn http_client() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

/// Posts a sign-in with `email` and `password`; returns the response, whatever its status.
pub async fn login(base: &str, email: &str, password: &str) -> reqwest::Response {
    http_client()
        .post(format!("{base}{LOGIN_PATH}"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login request")
}

/// Trades `refresh_token` for new tokens; returns the response, whatever its status.
pub async fn refresh(base: &str, refresh_token: &str) -> reqwest::Response {
    http_client()
        .post(format!("{base}{REFRESH_PATH}"))
        .json(&serde_json::json!({ "refresh_token": refresh_token }))
        .send()
        .await
        .expect("refresh request")
}

/// Signs in and returns the tokens, asserting success.
pub async fn sign_in(base: &str, email: &str, password: &str) -> TokenResponse {
    let response = login(base, email, password).await;
    assert_eq!(response.status(), 200, "sign-in should succeed");
    response.json().await.expect("token response")
}

/// Posts `body` as JSON to the admin endpoint `path` under `base`; returns the response.
pub async fn admin(base: &str, path: &str, body: serde_json::Value) -> reqwest::Response {
    http_client()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("admin request")
}

/// Opens a seed-profile socket (token in the URL, as the seed backend wants).
pub async fn connect_seed(ws_base: &str, token: &str, session: &str) -> Ws {
    let url = format!(
        "{ws_base}{}?{}={token}&{}={session}",
        seed::STREAM_PATH,
        seed::QUERY_TOKEN,
        seed::QUERY_SESSION
    );
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("seed upgrade");
    ws
}

/// Opens a v1 socket with the token in the `Authorization` header.
pub async fn connect_v1(ws_base: &str, token: Option<&str>, session: &str, query: &str) -> Ws {
    let url = format!(
        "{ws_base}{}?{}={session}{query}",
        v1::STREAM_PATH,
        v1::QUERY_SESSION
    );
    let mut request = url.into_client_request().expect("request");
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
    }
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(v1::SUBPROTOCOL),
    );
    let (ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("v1 upgrade");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.as_bytes()),
        Some(v1::SUBPROTOCOL.as_bytes()),
        "server echoes the v1 subprotocol"
    );
    ws
}

/// What the server did next, skipping pings and pongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A text message, with its text.
    Text(String),
    /// A binary message, with its bytes.
    Binary(Vec<u8>),
    /// A close frame.
    Closed {
        /// The close code (1005 when the frame carried none).
        code: u16,
        /// The close reason (empty when none was given).
        reason: String,
    },
    /// The connection ended without a close frame.
    Dropped,
}

/// Waits for the next message from the server.
pub async fn next(ws: &mut Ws) -> Next {
    loop {
        let item = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("server answered in time");
        return match item {
            Some(Ok(Message::Text(t))) => Next::Text(t.to_string()),
            Some(Ok(Message::Binary(b))) => Next::Binary(b.to_vec()),
            Some(Ok(Message::Close(frame))) => match frame {
                Some(f) => Next::Closed {
                    code: u16::from(f.code),
                    reason: f.reason.to_string(),
                },
                None => Next::Closed {
                    code: 1005,
                    reason: String::new(),
                },
            },
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => Next::Dropped,
        };
    }
}

/// The v1 server message in `next`, failing on anything else: no test skips the unexpected.
pub fn v1_message(next: Next) -> v1::ServerMessage {
    match next {
        Next::Text(text) => match v1::parse_server_message(&text).unwrap() {
            v1::Incoming::Message(m) => m,
            v1::Incoming::Unknown(kind) => panic!("unknown message type {kind}"),
        },
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Reads the `ready` every v1 socket opens with, failing on anything else.
pub async fn v1_ready(ws: &mut Ws) -> v1::Ready {
    match v1_message(next(ws).await) {
        v1::ServerMessage::Ready(ready) => ready,
        other => panic!("expected ready, got {other:?}"),
    }
}

/// Opens a v1 socket for `session` and reads its `ready`: how nearly every v1 conversation begins.
pub async fn open_v1(ws_base: &str, token: &str, session: &str) -> (Ws, v1::Ready) {
    let mut ws = connect_v1(ws_base, Some(token), session, "").await;
    let ready = v1_ready(&mut ws).await;
    (ws, ready)
}

/// Waits for the close frame, ignoring any text before it; returns (code, reason).
pub async fn closed(ws: &mut Ws) -> (u16, String) {
    loop {
        match next(ws).await {
            Next::Closed { code, reason } => return (code, reason),
            Next::Dropped => panic!("connection dropped without a close frame"),
            Next::Text(_) | Next::Binary(_) => {}
        }
    }
}

/// Waits for the next text message and parses it as JSON.
pub async fn next_json(ws: &mut Ws) -> serde_json::Value {
    match next(ws).await {
        Next::Text(text) => serde_json::from_str(&text).expect("server sends JSON"),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Sends `bytes` as one binary message, failing the test if it cannot.
pub async fn send_binary(ws: &mut Ws, bytes: Vec<u8>) {
    ws.send(Message::Binary(bytes.into()))
        .await
        .expect("send binary");
}

/// Sends `text` as one text message, failing the test if it cannot.
pub async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Message::Text(text.into()))
        .await
        .expect("send text");
}

/// Sends `pcm` as v1 frames of `frame_samples`, starting at sample `offset`.
pub async fn send_v1_audio(ws: &mut Ws, offset: u64, pcm: &[u8], frame_samples: usize) {
    let mut at = offset;
    for chunk in pcm.chunks(frame_samples * 2) {
        let frame = AudioFrame {
            offset: at,
            pcm: chunk,
        };
        send_binary(ws, frame.encode()).await;
        at += (chunk.len() / 2) as u64;
    }
}

/// Says the v1 session ends at `end_offset`, the message every graceful end sends.
pub async fn send_v1_finish(ws: &mut Ws, end_offset: u64) {
    send_text(
        ws,
        &format!(r#"{{"type":"finish","end_offset":{end_offset}}}"#),
    )
    .await;
}

/// Reads until the server acknowledges `offset`; every ack seen, for tests of acknowledgement.
pub async fn v1_acks_until(ws: &mut Ws, offset: u64) -> Vec<u64> {
    let mut acks = Vec::new();
    loop {
        if let v1::ServerMessage::Ack { durable_offset } = v1_message(next(ws).await) {
            acks.push(durable_offset);
            if durable_offset >= offset {
                return acks;
            }
        }
    }
}

/// Sends `pcm` from `offset` and waits for its ack, so a test goes on with durable audio.
pub async fn send_v1_acked(ws: &mut Ws, offset: u64, pcm: &[u8], frame_samples: usize) -> Vec<u64> {
    send_v1_audio(ws, offset, pcm, frame_samples).await;
    v1_acks_until(ws, offset + (pcm.len() / 2) as u64).await
}

/// A new random session id.
pub fn new_session() -> String {
    Uuid::new_v4().to_string()
}
