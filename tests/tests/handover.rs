//! The seed profile switches to a fresh token by opening a new connection,
//! then letting the old one drain until everything sent on it is settled
//! (answered by a pong the connection outlived). When the old socket has
//! silently stalled (a half-open connection) with audio still unanswered, it
//! never settles: the doctor must see "reconnecting" rather than a status
//! that still says "connected", and the next connection must resend what the
//! stalled one never proved, with no gap.

use std::sync::atomic::Ordering;
use std::time::Duration;

use consult_recorder::events::{Event, Status};
use consult_recorder::session::{SenderOptions, SessionSetup};
use consult_recorder::store::Profile;
use e2e_tests::proxy::FaultProxy;
use e2e_tests::recording::{Consultation, finished_within, signed_in};
use e2e_tests::reliability::lost_and_duplicated;
use e2e_tests::server::{Options, TestServer};
use tokio::sync::broadcast;

/// The first status of the session that `pick` accepts, within 30 s.
async fn next_status<T>(
    events: &mut broadcast::Receiver<Event>,
    what: &str,
    pick: impl Fn(&Status) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(Event::Status { status, .. }) => {
                    if let Some(found) = pick(&status) {
                        return found;
                    }
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the session ended first"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("no {what} status within 30 s"))
}

/// Waits until the session has sent at least `samples`; returns what it has sent.
async fn next_sent(events: &mut broadcast::Receiver<Event>, samples: u64) -> u64 {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(Event::Progress { sent, .. }) if sent >= samples => return sent,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the session ended first"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("{samples} samples not sent within 30 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_handover_over_a_stalled_connection_is_reported_and_loses_nothing() {
    let server = TestServer::start(Options::new()).await;
    let proxy = FaultProxy::start(server.server.addr()).await;
    // Tokens come straight from the server: only the audio crosses the proxy,
    // so the stall holds the audio socket and nothing else.
    let tokens = signed_in(&server.http()).await;

    let consultation = Consultation::new(40 * 16_000, 0x4A4D);
    let setup = SessionSetup {
        reference: "handover".into(),
        options: SenderOptions {
            first_retry: Duration::from_millis(100),
            // The file plays at twice real time; the seed pace keeps up.
            seed_pace: 2.0,
            ..SenderOptions::default()
        },
        ..consultation.setup(Profile::Seed, proxy.http_url(), tokens.clone())
    };
    let session = consultation.record(setup, 2.0);
    let mut events = session.subscribe();
    next_status(&mut events, "connected", |s| {
        matches!(s, Status::Connected).then_some(())
    })
    .await;

    // The socket in use goes silent while audio goes into it; then a fresh
    // token arrives, as it does a few minutes before every expiry.
    let before_stall = next_sent(&mut events, 16_000).await;
    proxy.stall_open_connections();
    next_sent(&mut events, before_stall + 16_000).await;
    tokens.invalidate().await;
    let reason = next_status(&mut events, "reconnecting", |s| match s {
        Status::Reconnecting { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(
        reason.contains("fresh sign-in token"),
        "the unanswered handover is what is reported, not a later stall timeout: {reason}"
    );
    assert!(
        proxy.stats().held_back_from_clients.load(Ordering::SeqCst) > 0,
        "the stall held the connection the recorder was using"
    );
    next_status(&mut events, "connected (again)", |s| {
        matches!(s, Status::Connected | Status::UploadingBacklog { .. }).then_some(())
    })
    .await;
    // The half-open socket's held data may still arrive; it changes nothing.
    proxy.set_stalled(false);

    finished_within(session, Duration::from_secs(60), "the session completes")
        .await
        .expect("the session succeeds");
    let (lost, _duplicated) = lost_and_duplicated(
        &consultation.source,
        &server.session_dir(&consultation.session_id),
        Profile::Seed,
    );
    assert_eq!(lost, 0, "no gap: every sample reached the server");
}
