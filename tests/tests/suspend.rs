//! The computer sleeps in the middle of a recording: the doctor is told for
//! how long and where, the recording goes on, and every sample captured
//! before and after reaches the server.
//!
//! A real suspend cannot be done on a test machine, so the sleep clock (on
//! Linux, the boot-time clock minus the monotonic one) is replaced by one the
//! test winds forward by twelve minutes. What a real suspend does to the
//! microphone is what an unplugged one does: the desktop suite unplugs it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use consult_recorder::events::Event;
use consult_recorder::session::{Power, SessionSetup, SleepClock};
use consult_recorder::store::Profile;
use e2e_tests::recording::{Consultation, finished_within, signed_in};
use e2e_tests::reliability::lost_and_duplicated;
use e2e_tests::server::{Options, TestServer};
use tokio::sync::broadcast;

/// Waits for the first event `pick` accepts (the timeout turns a hang into a failure).
async fn first<T>(
    events: &mut broadcast::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(event) {
                        return found;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {
                    panic!("the session ended before {what}")
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("no {what} within 30 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleep_mid_recording_is_told_with_its_length_and_costs_no_captured_audio() {
    let server = TestServer::start(Options::new()).await;
    let tokens = signed_in(&server.http()).await;
    let consultation = Consultation::new(10 * 16_000, 11);

    let asleep_secs = Arc::new(AtomicU64::new(0));
    let clock = {
        let asleep_secs = Arc::clone(&asleep_secs);
        SleepClock::from_fn(move || Some(Duration::from_secs(asleep_secs.load(Ordering::SeqCst))))
    };
    let setup = SessionSetup {
        power: Power {
            keep_awake: false,
            sleep_clock: clock,
        },
        ..consultation.setup(Profile::V1, server.http(), tokens)
    };
    let session = consultation.record(setup, 2.0);
    let mut events = session.subscribe();

    let recorded = first(&mut events, "3 s recorded", |e| match e {
        Event::Progress { recorded, .. } if recorded >= 3 * 16_000 => Some(recorded),
        _ => None,
    })
    .await;
    asleep_secs.store(12 * 60, Ordering::SeqCst);
    let (at, secs, message) = first(&mut events, "the sleep notice", |e| match e {
        Event::Slept {
            at, secs, message, ..
        } => Some((at, secs, message)),
        _ => None,
    })
    .await;
    assert_eq!(secs, 12 * 60);
    assert!(
        at >= recorded && at < 10 * 16_000,
        "the gap is where the recording was when the clock jumped: {at} (recorded {recorded})"
    );
    assert_eq!(
        message,
        "This computer was asleep for 12 minutes; nothing was recorded meanwhile. Recording goes on."
    );

    finished_within(session, Duration::from_secs(60), "the session completes")
        .await
        .expect("the recording goes on and completes");
    assert_eq!(
        lost_and_duplicated(
            &consultation.source,
            &server.session_dir(&consultation.session_id),
            Profile::V1
        ),
        (0, 0),
        "every captured sample reached the server once"
    );
}
