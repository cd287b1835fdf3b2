//! Speech in, exact words out: the reference server's recogniser in grammar mode.

use consult_protocol::v1;
use e2e_tests::server::{Options, TestServer};
use e2e_tests::speech::speak_all;
use e2e_tests::wire::*;

const PHRASES: [&str; 3] = [
    "the patient reports chest pain",
    "blood pressure is normal",
    "take two tablets daily",
];

/// A server recognising `PHRASES`, a token on it and speech to send: where each test starts.
struct Dictation {
    /// Holds the grammar and the speech while the test runs.
    _scratch: tempfile::TempDir,
    server: TestServer,
    token: String,
    pcm: Vec<u8>,
    /// Samples in `pcm`.
    total: u64,
}

impl Dictation {
    /// Opens a signed-in v1 socket for `session` (`query` added to its URL), as each one here.
    async fn connect(&self, session: &str, query: &str) -> Ws {
        connect_v1(&self.server.ws(), Some(&self.token), session, query).await
    }
}

/// Starts the recognising server and speaks `spoken`: where every test of recognition begins.
async fn dictate(spoken: &[&str]) -> Dictation {
    let scratch = tempfile::tempdir().unwrap();
    let (server, token) =
        TestServer::start_signed_in(Options::new().grammar(&PHRASES, scratch.path())).await;
    let pcm = speak_all(spoken, scratch.path());
    let total = (pcm.len() / 2) as u64;
    Dictation {
        _scratch: scratch,
        server,
        token,
        pcm,
        total,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_returns_the_spoken_phrases_in_order_with_offsets() {
    let spoken = [PHRASES[1], PHRASES[0], PHRASES[2]];
    let dictation = dictate(&spoken).await;
    let session = new_session();

    let mut ws = dictation.connect(&session, "").await;
    let ready = next_json(&mut ws).await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["durable_offset"], 0);
    send_v1_audio(&mut ws, 0, &dictation.pcm, 1600).await;
    send_v1_finish(&mut ws, dictation.total).await;

    let mut finals = Vec::new();
    let mut last_end = 0;
    loop {
        match next(&mut ws).await {
            Next::Text(text) => match v1::parse_server_message(&text).unwrap() {
                v1::Incoming::Message(v1::ServerMessage::Transcript(t)) if t.is_final => {
                    assert!(
                        t.start < t.end && t.end <= dictation.total,
                        "offsets inside the audio"
                    );
                    assert!(t.start >= last_end, "finals arrive in order");
                    last_end = t.end;
                    finals.push(t.text);
                }
                v1::Incoming::Message(v1::ServerMessage::Done { durable_offset }) => {
                    assert_eq!(durable_offset, dictation.total);
                }
                _ => {}
            },
            Next::Closed { code, .. } => {
                assert_eq!(code, 1000);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(finals.join(" "), spoken.join(" "));
}

/// Collects finals (deduplicated by their start offset) until the session is
/// done, or until the server has acknowledged `ack_until` samples *and* at
/// least `min_finals` finals have arrived.
async fn read_finals(
    ws: &mut Ws,
    finals: &mut std::collections::BTreeMap<u64, String>,
    ack_until: Option<u64>,
    min_finals: usize,
) {
    let mut acked = false;
    loop {
        if acked && finals.len() >= min_finals {
            return;
        }
        match next(ws).await {
            Next::Text(text) => match v1::parse_server_message(&text).unwrap() {
                v1::Incoming::Message(v1::ServerMessage::Transcript(t)) if t.is_final => {
                    finals.insert(t.start, t.text);
                }
                v1::Incoming::Message(v1::ServerMessage::Ack { durable_offset })
                    if ack_until.is_some_and(|u| durable_offset >= u) =>
                {
                    acked = true;
                }
                _ => {}
            },
            Next::Closed { code: 1000, .. } => return,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_keeps_every_phrase_across_a_dropped_connection() {
    let dictation = dictate(&PHRASES).await;
    let session = new_session();
    // Cut in the middle of the second phrase.
    let cut = dictation.total / 2;

    let mut finals = std::collections::BTreeMap::new();
    let mut ws = dictation.connect(&session, "").await;
    next_json(&mut ws).await;
    send_v1_audio(&mut ws, 0, &dictation.pcm[..2 * cut as usize], 1600).await;
    // Drop only after the first phrase's final arrived (and so was stored):
    // recognition must then resume right after it, mid-way through the audio.
    read_finals(&mut ws, &mut finals, Some(cut), 1).await;
    drop(ws);

    let heard_until = 0; // pretend the client lost its transcript too: ask for everything
    let query = format!("&{}={heard_until}", v1::QUERY_TRANSCRIPTS_AFTER);
    let mut ws = dictation.connect(&session, &query).await;
    let ready = next_json(&mut ws).await;
    let resume = ready["durable_offset"].as_u64().unwrap();
    assert_eq!(resume, cut);
    send_v1_audio(&mut ws, resume, &dictation.pcm[2 * resume as usize..], 1600).await;
    send_v1_finish(&mut ws, dictation.total).await;
    read_finals(&mut ws, &mut finals, None, 0).await;

    let text: Vec<&str> = finals.values().map(String::as_str).collect();
    assert_eq!(text.join(" "), PHRASES.join(" "));
}
