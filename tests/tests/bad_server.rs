//! A server that sends garbage, huge messages, impossible acks or nothing at
//! all: the client warns or reconnects, never panics, and loses no audio — once
//! a working server is reachable again, every sample arrives.

use std::sync::atomic::Ordering;
use std::time::Duration;

use consult_recorder::audio::WavSource;
use consult_recorder::auth::memory_vault::MemoryVault;
use consult_recorder::auth::{AuthClient, AuthProfile, ManagerOptions, Secret, TokenManager};
use consult_recorder::crypto::{DataKey, DataKeySource};
use consult_recorder::events::Status;
use consult_recorder::session::{SenderOptions, Session, SessionSetup};
use consult_recorder::store::{Profile, Store};
use e2e_tests::audio::{unique_pcm, write_wav};
use e2e_tests::bad_server::{BadServer, Misbehaviour};
use e2e_tests::chaos::watch_events;
use e2e_tests::proxy::FaultProxy;
use e2e_tests::server::{EMAIL, Options, PASSWORD, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_server_costs_no_audio() {
    let scratch = tempfile::tempdir().unwrap();
    let source = unique_pcm(20 * 16_000, 42);
    let wav = scratch.path().join("consultation.wav");
    write_wav(&wav, &source);

    let good = TestServer::start(Options::new()).await;
    let bad = BadServer::start(vec![
        Misbehaviour::Garbage,
        Misbehaviour::Huge,
        Misbehaviour::Silent,
    ])
    .await;
    // Sign in against the good server; then point the stream at the bad one.
    let auth =
        AuthClient::new(&good.http(), AuthProfile::default(), Duration::from_secs(5)).unwrap();
    let tokens = TokenManager::start(auth, MemoryVault::default(), ManagerOptions::default());
    tokens.sign_in(EMAIL, Secret::new(PASSWORD)).await.unwrap();
    let proxy = FaultProxy::start(bad.addr).await;

    let session_id = uuid::Uuid::new_v4().to_string();
    let setup = SessionSetup {
        id: session_id.clone(),
        reference: String::new(),
        profile: Profile::V1,
        server: proxy.http_url(),
        spool_dir: scratch.path().join("spool"),
        store: Store::open(
            &scratch.path().join("sessions.sqlite3"),
            DataKeySource::fixed(DataKey::generate()),
        )
        .unwrap(),
        tokens,
        options: SenderOptions {
            connect_timeout: Duration::from_secs(2),
            ping_every: Duration::from_millis(500),
            stall_after: Duration::from_secs(2),
            first_retry: Duration::from_millis(100),
            max_retry: Duration::from_secs(1),
            ..SenderOptions::default()
        },
    };
    let session = Session::start(setup, Some(WavSource::open(&wav, 10.0).unwrap())).unwrap();
    let watcher = tokio::spawn(watch_events(session.subscribe()));

    // Let every misbehaviour happen at least twice, then fix the network.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    while bad.connections.load(Ordering::SeqCst) < 6 {
        poll.tick().await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the client kept reconnecting"
        );
    }
    proxy.set_upstream(good.server.addr());
    proxy.cut_all();

    let result = tokio::time::timeout(Duration::from_secs(60), session.finished())
        .await
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let (figures, last) = watcher.await.unwrap();
    assert_eq!(last, Some(Status::Complete));
    println!(
        "bad-server connections: {}",
        bad.connections.load(Ordering::SeqCst)
    );
    println!("reconnects: {}", figures.reconnects);
    for warning in &figures.warnings {
        println!("warning shown: {warning}");
    }
    assert!(
        figures
            .warnings
            .iter()
            .any(|w| w.contains("could not be read")),
        "the person was told the server sent nonsense: {:?}",
        figures.warnings
    );
    let stored = std::fs::read(good.session_dir(&session_id).join("audio.pcm")).unwrap();
    assert!(stored == source, "every sample arrived, exactly once");
}
