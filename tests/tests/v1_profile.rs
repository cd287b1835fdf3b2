//! The v1 profile: token in the header, offsets on every frame, durable acks,
//! exact resume, in-band re-auth and a graceful end.

use consult_protocol::v1::{self, Incoming, ServerMessage};
use e2e_tests::server::{EMAIL, OTHER_EMAIL, OTHER_PASSWORD, Options, PASSWORD, TestServer};
use e2e_tests::wire::*;
use transcribe_server::unix_now;

/// Distinct samples, so any misplaced byte shows.
fn audio(samples: u32, seed: u32) -> Vec<u8> {
    (0..samples)
        .flat_map(|i| ((i.wrapping_mul(7919).wrapping_add(seed)) as i16).to_le_bytes())
        .collect()
}

async fn finish(ws: &mut Ws, end_offset: u64) -> u64 {
    send_v1_finish(ws, end_offset).await;
    loop {
        match next(ws).await {
            Next::Closed { code, .. } => panic!("closed with {code} before done"),
            Next::Text(text) => {
                if let Ok(Incoming::Message(ServerMessage::Done { durable_offset })) =
                    v1::parse_server_message(&text)
                {
                    assert_eq!(
                        closed(ws).await.0,
                        1000,
                        "done is followed by a normal close"
                    );
                    return durable_offset;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn handshake_announces_where_to_resume() {
    let (server, token) = TestServer::start_signed_in(Options::new()).await;
    let session = new_session();
    let (_ws, r) = open_v1(&server.ws(), &token, &session).await;
    assert_eq!(r.session_id.to_string(), session);
    assert_eq!(
        (r.durable_offset, r.sample_rate, r.max_frame_samples),
        (0, 16_000, 16_000)
    );
    assert!(r.token_expires_at > unix_now());
}

#[tokio::test]
async fn resumes_exactly_at_the_durable_offset_and_drops_resent_samples() {
    let (server, token) = TestServer::start_signed_in(Options::new()).await;
    let session = new_session();
    let source = audio(48_000, 1);

    let (mut ws, ready) = open_v1(&server.ws(), &token, &session).await;
    assert_eq!(ready.durable_offset, 0);
    send_v1_acked(&mut ws, 0, &source[..2 * 20_000], 320).await;
    drop(ws); // the network dies: no close frame

    let (mut ws, ready) = open_v1(&server.ws(), &token, &session).await;
    let resume = ready.durable_offset;
    assert_eq!(resume, 20_000);
    // Resend a little from before the resume point, as a cautious client might.
    send_v1_audio(&mut ws, 12_000, &source[2 * 12_000..], 320).await;
    assert_eq!(finish(&mut ws, 48_000).await, 48_000);

    let stored = std::fs::read(server.session_dir(&session).join("audio.pcm")).unwrap();
    assert_eq!(stored.len(), source.len(), "no sample lost or doubled");
    assert!(
        stored == source,
        "stored audio equals the source byte for byte"
    );
}

#[tokio::test]
async fn acknowledges_at_least_every_half_second_of_audio() {
    let (server, token) = TestServer::start_signed_in(Options::new()).await;
    let (mut ws, _) = open_v1(&server.ws(), &token, &new_session()).await;
    let frame = 320u64; // 20 ms
    let acks = send_v1_acked(&mut ws, 0, &audio(40_000, 2), frame as usize).await;
    let mut previous = 0;
    for ack in &acks {
        assert!(*ack > previous, "acks only move forward: {acks:?}");
        assert!(
            ack - previous <= v1::ACK_EVERY_SAMPLES + frame,
            "ack gap too large: {acks:?}"
        );
        previous = *ack;
    }
}

#[tokio::test]
async fn refuses_a_gap_with_4409() {
    let (server, token) = TestServer::start_signed_in(Options::new()).await;
    let session = new_session();
    let (mut ws, _) = open_v1(&server.ws(), &token, &session).await;
    send_v1_audio(&mut ws, 0, &audio(1000, 3), 500).await;
    send_v1_audio(&mut ws, 1500, &audio(500, 4), 500).await;
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, 4409);
    assert!(reason.contains("gap"), "{reason}");
    let stored = std::fs::read(server.session_dir(&session).join("audio.pcm")).unwrap();
    assert_eq!(stored.len(), 2000, "nothing after the gap was stored");

    // Finishing short of what was sent is a gap at the end.
    let (mut ws, ready) = open_v1(&server.ws(), &token, &session).await;
    assert_eq!(ready.durable_offset, 1000);
    send_text(&mut ws, r#"{"type":"finish","end_offset":5000}"#).await;
    assert_eq!(closed(&mut ws).await.0, 4409);
}

#[tokio::test]
async fn bad_or_missing_tokens_and_foreign_sessions_are_refused() {
    let server = TestServer::start(Options::new()).await;
    let session = new_session();
    let now = unix_now();
    let expired = server.server.issue_access_token(EMAIL, now - 100, now - 1);
    for (token, reason) in [
        (None, "missing bearer token"),
        (Some("garbage"), "invalid token"),
        (Some(expired.as_str()), "token expired"),
    ] {
        let mut ws = connect_v1(&server.ws(), token, &session, "").await;
        assert_eq!(closed(&mut ws).await, (4401, reason.to_owned()));
    }

    let mine = server.access_token().await;
    let mut ws = connect_v1(&server.ws(), Some(&mine), "..%2Fnot%20a%20name", "").await;
    assert_eq!(closed(&mut ws).await.0, 4400);

    let (_owner, _) = open_v1(&server.ws(), &mine, &session).await;
    let theirs = sign_in(&server.http(), OTHER_EMAIL, OTHER_PASSWORD)
        .await
        .access_token;
    let mut intruder = connect_v1(&server.ws(), Some(&theirs), &session, "").await;
    assert_eq!(closed(&mut intruder).await.0, 4403);
}

/// Relays one TCP connection to `upstream`, keeping what the client sent
/// before the first blank line: its HTTP upgrade request, as the server got it.
async fn capture_upgrade(
    upstream: std::net::SocketAddr,
) -> (String, tokio::sync::oneshot::Receiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut client, _) = listener.accept().await.unwrap();
        let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            client.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        server.write_all(&head).await.unwrap();
        let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    });
    (url, rx)
}

#[tokio::test]
async fn the_recorder_sends_the_token_in_a_header_never_in_the_url() {
    use consult_recorder::store::Profile;
    use e2e_tests::recording::{Consultation, finished_within, signed_in};

    let server = TestServer::start(Options::new()).await;
    let tokens = signed_in(&server.http()).await;
    let token = tokens.access_token().await.unwrap();
    let (via, upgrade) = capture_upgrade(server.server.addr()).await;

    let consultation = Consultation::new(8_000, 7);
    let session = consultation.record(consultation.setup(Profile::V1, via, tokens), 4.0);
    let head = tokio::time::timeout(std::time::Duration::from_secs(10), upgrade)
        .await
        .expect("the recorder connected")
        .unwrap();
    finished_within(
        session,
        std::time::Duration::from_secs(30),
        "the session finished",
    )
    .await
    .expect("the server confirmed it");
    let request_line = head.lines().next().unwrap_or_default();
    assert!(
        request_line.starts_with("GET /api/v1/stream"),
        "{request_line}"
    );
    assert!(
        !request_line.contains(token.expose()),
        "the URL the server received holds no token: {request_line}"
    );
    let bearer = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
        .expect("an Authorization header");
    assert_eq!(
        bearer.split_once(':').unwrap().1.trim(),
        format!("Bearer {}", token.expose())
    );
}

#[tokio::test]
async fn expiry_without_reauth_closes_4401_and_reauth_keeps_the_socket() {
    let server = TestServer::start(Options::new().with(|c| c.access_ttl = 2)).await;
    let tokens = sign_in(&server.http(), EMAIL, PASSWORD).await;

    let (mut idle, _) = open_v1(&server.ws(), &tokens.access_token, &new_session()).await;

    let (mut ws, ready) = open_v1(&server.ws(), &tokens.access_token, &new_session()).await;
    let first_expiry = ready.token_expires_at;
    // A token minted in the same second would expire with the first one; a
    // client re-authenticates with a token that lives longer.
    let now = unix_now();
    let fresh = server.server.issue_access_token(EMAIL, now, now + 60);
    send_text(
        &mut ws,
        &format!(r#"{{"type":"reauth","token":"{fresh}"}}"#),
    )
    .await;

    assert_eq!(closed(&mut idle).await, (4401, "token expired".to_owned()));

    // The re-authenticated socket keeps streaming past the first token's expiry.
    let mut offset = 0u64;
    let mut reauthed = false;
    let mut pacing = tokio::time::interval(std::time::Duration::from_millis(100));
    while unix_now() <= first_expiry + 1 {
        pacing.tick().await;
        send_v1_audio(&mut ws, offset, &audio(1600, 5), 1600).await;
        offset += 1600;
        loop {
            match v1_message(next(&mut ws).await) {
                ServerMessage::ReauthOk { token_expires_at } => {
                    assert!(token_expires_at > first_expiry);
                    reauthed = true;
                }
                ServerMessage::Ack { durable_offset } if durable_offset == offset => break,
                _ => {}
            }
        }
    }
    assert!(reauthed, "reauth_ok arrived");

    // A bad token sent in band ends the connection.
    send_text(&mut ws, r#"{"type":"reauth","token":"garbage"}"#).await;
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, 4401);
    assert!(reason.starts_with("re-auth failed"), "{reason}");
}

#[tokio::test]
async fn a_newer_connection_takes_the_session_over() {
    let session = new_session();
    let (server, token) = TestServer::start_signed_in(Options::new()).await;
    let (mut old, _) = open_v1(&server.ws(), &token, &session).await;
    send_v1_acked(&mut old, 0, &audio(8000, 6), 1000).await;
    let mut new = connect_v1(&server.ws(), Some(&token), &session, "").await;
    assert_eq!(closed(&mut old).await.0, 4410);
    assert_eq!(v1_ready(&mut new).await.durable_offset, 8000);
}

#[tokio::test]
async fn durable_audio_survives_a_server_restart() {
    let source = audio(30_000, 7);
    let (server, token) = TestServer::start_signed_in(Options::new()).await;
    let session = new_session();
    let (mut ws, _) = open_v1(&server.ws(), &token, &session).await;
    send_v1_acked(&mut ws, 0, &source[..20_000], 500).await;

    let dir = server.stop().await;
    assert_eq!(
        closed(&mut ws).await.0,
        1001,
        "a stopping server says it is going away"
    );
    let server = TestServer::start_in(Options::new(), dir).await;

    let (mut ws, ready) = open_v1(&server.ws(), &token, &session).await;
    let resume = ready.durable_offset;
    assert_eq!(resume, 10_000);
    send_v1_audio(&mut ws, resume, &source[2 * resume as usize..], 500).await;
    assert_eq!(finish(&mut ws, 30_000).await, 30_000);
    let stored = std::fs::read(server.session_dir(&session).join("audio.pcm")).unwrap();
    assert!(stored == source);
}

#[tokio::test]
async fn bad_input_gets_a_documented_close_code() {
    let (server, token) = TestServer::start_signed_in(Options::new()).await;
    use tokio_tungstenite::tungstenite::Message;
    let oversized = {
        let mut bytes = vec![0u8; 8];
        bytes.extend(vec![0u8; 2 * 16_001]);
        bytes
    };
    let cases: Vec<(&str, Message, u16)> = vec![
        ("non-JSON text", "hello".into(), 1007),
        ("unknown message type", r#"{"type":"pause"}"#.into(), 4400),
        ("malformed finish", r#"{"type":"finish"}"#.into(), 4400),
        (
            "frame shorter than its header",
            vec![1u8, 2, 3].into(),
            1007,
        ),
        ("odd byte count", vec![0u8; 8 + 3].into(), 1007),
        ("oversized frame", oversized.into(), 1009),
        ("ten megabytes", vec![0u8; 10 * 1024 * 1024].into(), 1009),
    ];
    for (name, bad, code) in cases {
        let (mut ws, _) = open_v1(&server.ws(), &token, &new_session()).await;
        futures_util::SinkExt::send(&mut ws, bad).await.unwrap();
        let (got, reason) = closed(&mut ws).await;
        assert_eq!(got, code, "{name}: {reason}");
    }
    let (_still_served, _) = open_v1(&server.ws(), &token, &new_session()).await;
}

#[tokio::test]
async fn idle_sockets_are_closed_with_4408() {
    let (server, token) =
        TestServer::start_signed_in(Options::new().with(|c| c.idle_timeout = 1)).await;
    let (mut ws, _) = open_v1(&server.ws(), &token, &new_session()).await;
    assert_eq!(closed(&mut ws).await.0, 4408);
}
