//! The seed profile as the existing clinic backend behaves: token in the URL,
//! accept-then-authenticate, bare PCM frames, 1008 on auth and idle.

use consult_protocol::seed::{self, REASON_TOKEN_EXPIRED, REASON_TOKEN_INVALID};
use e2e_tests::reliability::seed_pieces;
use e2e_tests::server::{EMAIL, Options, PASSWORD, TestServer};
use e2e_tests::speech::speak_all;
use e2e_tests::wire::*;
use transcribe_server::unix_now;

async fn connected(server: &TestServer, session: &str) -> Ws {
    let tokens = sign_in(&server.http(), EMAIL, PASSWORD).await;
    let mut ws = connect_seed(&server.ws(), &tokens.access_token, session).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(
        hello,
        serde_json::json!({
            "status": "connected",
            "message": "Transcription service ready",
            "session_id": session,
        })
    );
    ws
}

/// The seed files of a session, in connection order.
fn stored(server: &TestServer, session: &str) -> Vec<Vec<u8>> {
    seed_pieces(&server.session_dir(session))
        .unwrap()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

#[tokio::test]
async fn stores_each_connection_exactly_as_received() {
    let server = TestServer::start(Options::new()).await;
    let first: Vec<u8> = (0..3200u32)
        .flat_map(|i| (i as i16).to_le_bytes())
        .collect();
    let second: Vec<u8> = (0..1000u32)
        .flat_map(|i| (-(i as i16)).to_le_bytes())
        .collect();
    for audio in [&first, &second] {
        let mut ws = connected(&server, "visit-42").await;
        for chunk in audio.chunks(640) {
            send_binary(&mut ws, chunk.to_vec()).await;
        }
        ws.close(None).await.unwrap();
        assert_eq!(
            next(&mut ws).await,
            Next::Closed {
                code: 1005,
                reason: String::new()
            }
        );
    }
    assert_eq!(stored(&server, "visit-42"), vec![first, second]);
}

#[tokio::test]
async fn bad_expired_and_missing_tokens_close_with_1008_after_accept() {
    let server = TestServer::start(Options::new()).await;
    let now = unix_now();
    let expired = server.server.issue_access_token(EMAIL, now - 3600, now - 1);
    for (token, reason) in [
        (expired.as_str(), REASON_TOKEN_EXPIRED),
        ("not-a-jwt", REASON_TOKEN_INVALID),
    ] {
        let mut ws = connect_seed(&server.ws(), token, "s1").await;
        // A client that streams before reading the verdict gets no audio stored.
        let _ = futures_util::SinkExt::send(
            &mut ws,
            tokio_tungstenite::tungstenite::Message::Binary(vec![0u8; 640].into()),
        )
        .await;
        assert_eq!(closed(&mut ws).await, (1008, reason.to_owned()));
    }
    let url = format!("{}{}?session_id=s1", server.ws(), seed::STREAM_PATH);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(closed(&mut ws).await.0, 1008);
    assert!(
        !server.session_dir("s1").exists(),
        "nothing stored without a valid token"
    );
}

#[tokio::test]
async fn strict_expiry_closes_a_live_socket_when_its_token_expires() {
    let server = TestServer::start(Options::new().with(|c| {
        c.access_ttl = 2;
        c.strict_expiry = true;
    }))
    .await;
    let mut ws = connected(&server, "long-visit").await;
    let opened = unix_now();
    assert_eq!(
        closed(&mut ws).await,
        (1008, REASON_TOKEN_EXPIRED.to_owned())
    );
    assert!(unix_now() > opened, "closed at expiry, not at once");
}

#[tokio::test]
async fn idle_sockets_are_closed_with_1008() {
    let server = TestServer::start(Options::new().with(|c| c.idle_timeout = 1)).await;
    let mut ws = connected(&server, "quiet").await;
    assert_eq!(closed(&mut ws).await, (1008, "Idle timeout".to_owned()));
}

#[tokio::test]
async fn bad_input_gets_a_documented_close_code() {
    let server = TestServer::start(Options::new()).await;
    use tokio_tungstenite::tungstenite::Message;
    let cases: Vec<(&str, Message, u16)> = vec![
        ("non-JSON text", "hello".into(), 1003),
        (
            "JSON text of an unknown type",
            r#"{"type":"stop"}"#.into(),
            1003,
        ),
        ("odd byte count", vec![0u8; 641].into(), 1007),
        ("oversized frame", vec![0u8; 70_000].into(), 1009),
    ];
    for (name, message, code) in cases {
        let mut ws = connected(&server, "bad-input").await;
        futures_util::SinkExt::send(&mut ws, message).await.unwrap();
        let (got, reason) = closed(&mut ws).await;
        assert_eq!(got, code, "{name}: {reason}");
        assert!(!reason.is_empty(), "{name} closes with a reason");
    }
    // The server is still healthy.
    let _ = connected(&server, "after-bad-input").await;
}

#[tokio::test]
async fn refusal_window_answers_503_then_accepts_again() {
    let server = TestServer::start(Options::new()).await;
    let tokens = sign_in(&server.http(), EMAIL, PASSWORD).await;
    let answer = server
        .admin("/admin/refuse", serde_json::json!({ "seconds": 1 }))
        .await;
    assert_eq!(answer.status(), 200);
    let url = format!(
        "{}{}?token={}&session_id=r",
        server.ws(),
        seed::STREAM_PATH,
        tokens.access_token
    );
    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    // Wait for the window to pass by retrying, as a client would.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut interval = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        interval.tick().await;
        if tokio_tungstenite::connect_async(&url).await.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "refusal window never ended"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speech_comes_back_as_seed_transcripts() {
    let scratch = tempfile::tempdir().unwrap();
    let phrases = ["the wound is healing well", "no known allergies"];
    let server = TestServer::start(Options::new().grammar(&phrases, scratch.path())).await;
    let pcm = speak_all(&phrases, scratch.path());
    let mut ws = connected(&server, "speech").await;
    for chunk in pcm.chunks(3200) {
        send_binary(&mut ws, chunk.to_vec()).await;
    }
    let mut finals = Vec::new();
    while finals.len() < phrases.len() {
        let message = next_json(&mut ws).await;
        assert_eq!(message["type"], "transcript");
        assert!(
            message.get("start").is_none(),
            "the seed profile has no offsets"
        );
        if message["is_final"] == true {
            finals.push(message["text"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(finals, phrases);
}
