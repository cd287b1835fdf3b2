//! Pause and resume mid-recording: what the microphone hears while paused is
//! never spooled nor sent, the audio after the pause follows on at the same
//! offset, and a seed server that ends its stream during the pause (as a
//! Google-style recogniser does after about 10 s without audio) is not
//! reported as a fault.
//!
//! The WAV file plays on in real time (times the test's speed) during the
//! pause, like a room that goes on talking, so the pause's length is what
//! the test waits for there; every check is of what arrived, not of time.

use std::time::Duration;

use consult_recorder::events::{Event, Status};
use consult_recorder::session::{Pauser, SenderOptions, Session, SessionSetup};
use consult_recorder::store::Profile;
use e2e_tests::recording::{Consultation, signed_in};
use e2e_tests::reliability::{lost_and_duplicated, seed_pieces};
use e2e_tests::seed_backend::{Architecture, SeedBackend, SeedOptions};
use e2e_tests::server::{Options, TestServer};
use tokio::sync::broadcast;

/// What the session showed, from its events.
#[derive(Default)]
struct Seen {
    /// Where the pause and the resume were (samples).
    paused_at: Option<u64>,
    resumed_at: Option<u64>,
    /// The most audio the spool held, as progress said it.
    recorded: u64,
    /// The audio the recording holds in the end, as its record says.
    kept: u64,
    /// Statuses that mean a fault: reconnecting, offline, failed.
    faults: Vec<Status>,
    ended: Option<Status>,
}

impl Seen {
    fn take(&mut self, event: Event) {
        match event {
            Event::Paused {
                paused: true, at, ..
            } => self.paused_at = Some(at),
            Event::Paused {
                paused: false, at, ..
            } => self.resumed_at = Some(at),
            Event::Progress { recorded, .. } => self.recorded = self.recorded.max(recorded),
            Event::Status { status, .. } => {
                if matches!(
                    status,
                    Status::Reconnecting { .. } | Status::Offline { .. } | Status::Failed { .. }
                ) {
                    self.faults.push(status.clone());
                }
                self.ended = Some(status);
            }
            _ => {}
        }
    }
}

/// Records `consultation`, pausing once `pause_from` samples are on disk
/// for `pause_for`, and returns what the session showed once it ended.
async fn record_with_a_pause(
    consultation: &Consultation,
    setup: SessionSetup,
    speed: f64,
    pause_from: u64,
    pause_for: Duration,
) -> Seen {
    let store = setup.store.clone();
    let session = consultation.record(setup, speed);
    let pauser = session.pauser();
    let mut events = session.subscribe();
    let mut seen = Seen::default();
    let finished = tokio::spawn(Session::finished(session));
    until(&mut events, &mut seen, |s| s.recorded >= pause_from).await;
    pauser.set(true);
    until(&mut events, &mut seen, |s| s.paused_at.is_some()).await;
    // The pause's length is the input of this test (see the top).
    tokio::time::sleep(pause_for).await;
    resume(&pauser);
    until(&mut events, &mut seen, |s| s.resumed_at.is_some()).await;
    let result = tokio::time::timeout(Duration::from_secs(90), finished)
        .await
        .expect("the session ends")
        .unwrap();
    while let Ok(event) = events.try_recv() {
        seen.take(event);
    }
    assert!(result.is_ok(), "{result:?}");
    seen.kept = store
        .get(&consultation.session_id)
        .unwrap()
        .expect("the recording's record")
        .samples_recorded;
    seen
}

fn resume(pauser: &Pauser) {
    assert!(pauser.is_paused());
    pauser.set(false);
}

/// Takes events until `done` holds (the timeout turns a hang into a failure).
async fn until(
    events: &mut broadcast::Receiver<Event>,
    seen: &mut Seen,
    done: impl Fn(&Seen) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while !done(seen) {
            match events.recv().await {
                Ok(event) => seen.take(event),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the session ended early"),
            }
        }
    })
    .await
    .expect("the session got there");
}

/// The source without the audio played during the pause: what the server must hold.
fn without_the_pause(source: &[u8], seen: &Seen) -> Vec<u8> {
    let at = seen.paused_at.expect("paused") as usize;
    assert_eq!(
        seen.resumed_at, seen.paused_at,
        "the audio after the pause follows on where it stopped"
    );
    let skipped = source.len() / 2 - seen.kept as usize;
    assert!(
        skipped >= 16_000,
        "the source played on during the pause: {skipped} samples dropped"
    );
    [&source[..at * 2], &source[(at + skipped) * 2..]].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_audio_from_a_pause_is_nowhere_and_the_rest_arrives_byte_for_byte() {
    let server = TestServer::start(Options::new()).await;
    let tokens = signed_in(&server.http()).await;
    let consultation = Consultation::new(12 * 16_000, 0x9A05E);
    let setup = consultation.setup(Profile::V1, server.http(), tokens);

    let seen = record_with_a_pause(
        &consultation,
        setup,
        2.0,
        3 * 16_000,
        Duration::from_secs(2),
    )
    .await;

    assert_eq!(seen.ended, Some(Status::Complete));
    assert!(seen.faults.is_empty(), "{:?}", seen.faults);
    let expected = without_the_pause(&consultation.source, &seen);
    let stored = std::fs::read(
        server
            .session_dir(&consultation.session_id)
            .join("audio.pcm"),
    )
    .unwrap();
    assert!(
        stored == expected,
        "the server holds exactly the audio before and after the pause ({} bytes stored, {} expected)",
        stored.len(),
        expected.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python; run scripts/test.sh"]
async fn a_seed_stream_ended_by_a_pause_is_no_fault_and_loses_nothing_recorded() {
    // Four times real time: the backend's 10 s without audio is 2.5 s here.
    const SPEED: f64 = 4.0;
    let mut options = SeedOptions::new(Architecture::Pipeline);
    options.time_scale = SPEED;
    let backend = SeedBackend::start(options).await;
    let tokens = signed_in(&backend.http_url()).await;
    let consultation = Consultation::new(40 * 16_000, 0x5EED_9A05);
    let setup = SessionSetup {
        options: SenderOptions {
            seed_pace: SPEED,
            ..SenderOptions::default()
        },
        ..consultation.setup(Profile::Seed, backend.http_url(), tokens)
    };

    // 4 s of wall time paused: 16 s of audio, past the backend's timeout.
    let seen = record_with_a_pause(
        &consultation,
        setup,
        SPEED,
        8 * 16_000,
        Duration::from_secs(4),
    )
    .await;

    assert_eq!(seen.ended, Some(Status::Sent));
    assert!(
        seen.faults.is_empty(),
        "a stream ended by the pause is not a fault: {:?}",
        seen.faults
    );
    let stored = backend.session_dir(&consultation.session_id);
    assert!(
        seed_pieces(&stored).unwrap_or_default().len() >= 2,
        "the backend ended its stream during the pause, and a new one took the rest"
    );
    let expected = without_the_pause(&consultation.source, &seen);
    assert_eq!(
        lost_and_duplicated(
            &expected,
            &backend.session_dir(&consultation.session_id),
            Profile::Seed
        ),
        (0, 0),
        "the backend holds the audio before and after the pause, once"
    );
}
