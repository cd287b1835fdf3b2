//! A v1 server that misbehaves in every way a broken or hostile backend might.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// How the fake server behaves on each new connection, in turn.
#[derive(Debug, Clone, Copy)]
pub enum Misbehaviour {
    /// `ready`, then garbage: not JSON, binary data, an unknown type, and acks
    /// for audio never sent; then it keeps reading and never acknowledges.
    Garbage,
    /// `ready`, then a 10 MB message.
    Huge,
    /// Accepts the upgrade and never says anything.
    Silent,
}

/// Echoes the v1 subprotocol, as a real v1 server does.
#[allow(clippy::result_large_err)] // the callback's type is tungstenite's, not ours
fn echo_protocol(
    request: &Request,
    mut response: Response,
) -> Result<Response, tokio_tungstenite::tungstenite::handshake::server::ErrorResponse> {
    if request.headers().contains_key("sec-websocket-protocol") {
        response.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(consult_protocol::v1::SUBPROTOCOL),
        );
    }
    Ok(response)
}

/// A running fake server; connection `n` gets `script[n % len]`.
pub struct BadServer {
    /// The loopback address it listens on.
    pub addr: SocketAddr,
    /// Connections accepted so far, counted before the WebSocket upgrade.
    pub connections: Arc<AtomicU32>,
}

impl BadServer {
    /// Starts it on a free loopback port; new connections get `script`'s entries in turn.
    pub async fn start(script: Vec<Misbehaviour>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&connections);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let n = counter.fetch_add(1, Ordering::SeqCst) as usize;
                let behaviour = script[n % script.len()];
                tokio::spawn(async move {
                    let Ok(mut ws) =
                        tokio_tungstenite::accept_hdr_async(stream, echo_protocol).await
                    else {
                        return;
                    };
                    let ready = serde_json::json!({
                        "type": "ready", "session_id": uuid::Uuid::nil(), "durable_offset": 0,
                        "sample_rate": 16000, "max_frame_samples": 16000, "token_expires_at": 4_000_000_000u64,
                    })
                    .to_string();
                    match behaviour {
                        Misbehaviour::Silent => {}
                        Misbehaviour::Garbage => {
                            let _ = ws.send(Message::Text(ready.into())).await;
                            for junk in [
                                Message::Text("{ not json".into()),
                                Message::Binary(vec![1, 2, 3].into()),
                                Message::Text(r#"{"type":"advert","text":"buy now"}"#.into()),
                                Message::Text(
                                    r#"{"type":"ack","durable_offset":999999999999}"#.into(),
                                ),
                                Message::Text(r#"{"type":"transcript","text":7}"#.into()),
                            ] {
                                let _ = ws.send(junk).await;
                            }
                        }
                        Misbehaviour::Huge => {
                            let _ = ws.send(Message::Text(ready.into())).await;
                            let huge = "x".repeat(10 * 1024 * 1024);
                            let _ = ws.send(Message::Text(huge.into())).await;
                        }
                    }
                    // Read (and drop) whatever the client sends, answering nothing.
                    while let Some(Ok(_)) = ws.next().await {}
                });
            }
        });
        Self { addr, connections }
    }
}
