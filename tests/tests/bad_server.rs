//! A server that sends garbage, huge messages, impossible acks or nothing at
//! all: the client warns or reconnects, never panics, and loses no audio — once
//! a working server is reachable again, every sample arrives.

use std::sync::atomic::Ordering;
use std::time::Duration;

use consult_recorder::events::Status;
use consult_recorder::session::{SenderOptions, SessionSetup};
use consult_recorder::store::Profile;
use e2e_tests::bad_server::{BadServer, Misbehaviour};
use e2e_tests::chaos::watch_events;
use e2e_tests::proxy::FaultProxy;
use e2e_tests::recording::{Consultation, finished_within, signed_in};
use e2e_tests::server::{Options, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_server_costs_no_audio() {
    let consultation = Consultation::new(20 * 16_000, 42);

    let good = TestServer::start(Options::new()).await;
    let bad = BadServer::start(vec![
        Misbehaviour::Garbage,
        Misbehaviour::Huge,
        Misbehaviour::Silent,
    ])
    .await;
    // Sign in against the good server; then point the stream at the bad one.
    let tokens = signed_in(&good.http()).await;
    let proxy = FaultProxy::start(bad.addr).await;

    let setup = SessionSetup {
        options: SenderOptions {
            connect_timeout: Duration::from_secs(2),
            ping_every: Duration::from_millis(500),
            stall_after: Duration::from_secs(2),
            first_retry: Duration::from_millis(100),
            max_retry: Duration::from_secs(1),
            ..SenderOptions::default()
        },
        ..consultation.setup(Profile::V1, proxy.http_url(), tokens)
    };
    let session = consultation.record(setup, 10.0);
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

    let result = finished_within(session, Duration::from_secs(60), "the session ends").await;
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
    let stored =
        std::fs::read(good.session_dir(&consultation.session_id).join("audio.pcm")).unwrap();
    assert!(
        stored == consultation.source,
        "every sample arrived, exactly once"
    );
}
