//! The seed profile against backends we did not write: the independent
//! Python seed backends of `tests/seed-backends/` (FastAPI, python-jose; one
//! built as a single receive-recognise-reply loop, one as the seed's
//! queue → streaming recogniser → sender pipeline that refuses audio faster
//! than real time). Each run records four minutes of consultation at 8x
//! through cuts, offline windows, throttling, backend restarts, a stall,
//! 20-second access tokens with strict expiry, strict refresh-token reuse
//! detection, a forced sign-in and a `kill -9` of the recorder.
//!
//! The promises: every recorded sample accepted by the backend's recogniser
//! at least once, no refusal for streaming too fast, and the recorder ends at
//! "sent", never "complete" (no seed server confirms storage).
//!
//! Then the transcript shapes: the seed documents never show a transcript
//! message, so the backends send the shapes real ones use, and one no client
//! should guess; that one must be named to the doctor, never dropped silently.

use std::io::Write;
use std::time::Duration;

use consult_recorder::events::{Event, Status};
use consult_recorder::server_profile::{FieldPath, StreamProfile, TranscriptFields};
use consult_recorder::session::{SenderOptions, SessionSetup};
use consult_recorder::store::Profile;
use e2e_tests::recording::{Consultation, signed_in};
use e2e_tests::reliability::{BackendKind, Plan, lost_and_duplicated, run};
use e2e_tests::seed_backend::{Architecture, SeedBackend, SeedOptions};

async fn short_form(architecture: Architecture, seed: u64) {
    let report = run(Plan {
        profile: Profile::Seed,
        minutes: 4.0,
        speed: 8.0,
        seed,
        crashes: 1,
        forced_sign_in: true,
        backend: BackendKind::Python(architecture),
    })
    .await;
    let mut err = std::io::stderr().lock();
    for line in report.lines() {
        let _ = writeln!(err, "{line}");
    }
    let _ = writeln!(err);
    drop(err);
    assert_eq!(report.problems(), Vec::<String>::new());
    assert_eq!(report.too_fast_refusals, Some(0));
    assert_eq!(report.crash_losses.len(), 1, "the crash happened");
    // The forced one, and any the backend forced by itself: its strict
    // reuse detection revokes the sign-in when a refresh's answer is lost to
    // a cut (a doctor signs in again; no audio may be lost meanwhile).
    assert_eq!(
        report.sign_ins - report.unplanned_sign_ins,
        2,
        "the forced sign-in happened"
    );
    assert!(
        report.reconnects >= 3,
        "the faults really broke connections"
    );
    assert!(
        report.refreshes >= 2,
        "20 s tokens were refreshed along the way"
    );
}

macro_rules! seeded {
    ($($name:ident: $architecture:expr, $seed:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "needs a keyutils session keyring and Python; run scripts/test.sh"]
        async fn $name() {
            short_form($architecture, $seed).await;
        }
    )*};
}

seeded! {
    one_loop_backend_seed_1_loses_nothing: Architecture::OneLoop, 0x5EED_1001;
    one_loop_backend_seed_2_loses_nothing: Architecture::OneLoop, 0x5EED_1002;
    one_loop_backend_seed_3_loses_nothing: Architecture::OneLoop, 0x5EED_1003;
    pipeline_backend_seed_1_loses_nothing: Architecture::Pipeline, 0x5EED_2001;
    pipeline_backend_seed_2_loses_nothing: Architecture::Pipeline, 0x5EED_2002;
    pipeline_backend_seed_3_loses_nothing: Architecture::Pipeline, 0x5EED_2003;
}

/// What a short recording against a backend that sends `shape` showed.
struct Shown {
    finals: Vec<String>,
    warnings: Vec<String>,
    lost: usize,
    ended: Option<Status>,
}

impl Shown {
    /// What each readable shape must show: finals, no "cannot read", no loss, "sent".
    fn assert_read(&self, shape: &str) {
        assert!(
            self.finals.len() >= 2 && self.finals.iter().all(|f| f.starts_with("heard ")),
            "{shape}: the finals appear: {:?}",
            self.finals
        );
        assert!(
            !self.warnings.iter().any(|w| w.contains("cannot read")),
            "{shape}: {:?}",
            self.warnings
        );
        assert_eq!(self.lost, 0, "{shape}: every sample accepted");
        assert_eq!(self.ended, Some(Status::Sent), "{shape}");
    }
}

async fn record_against(shape: &'static str, transcript: Option<TranscriptFields>) -> Shown {
    const SPEED: f64 = 4.0;
    let mut options = SeedOptions::new(Architecture::Pipeline);
    options.time_scale = SPEED;
    options.transcript_shape = shape;
    let backend = SeedBackend::start(options).await;
    let tokens = signed_in(&backend.http_url()).await;

    let consultation = Consultation::new(10 * 16_000, 0x5A9E);
    let setup = SessionSetup {
        reference: shape.into(),
        options: SenderOptions {
            seed_pace: SPEED,
            stream: StreamProfile {
                transcript,
                ..StreamProfile::default()
            },
            ..SenderOptions::default()
        },
        ..consultation.setup(Profile::Seed, backend.http_url(), tokens)
    };
    let session = consultation.record(setup, SPEED);
    let mut events = session.subscribe();
    let mut shown = Shown {
        finals: Vec::new(),
        warnings: Vec::new(),
        lost: 0,
        ended: None,
    };
    let finished = session.finished();
    tokio::pin!(finished);
    let result = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            tokio::select! {
                result = &mut finished => return result,
                event = events.recv() => match event {
                    Ok(Event::Transcript { update, .. }) if update.is_final => shown.finals.push(update.text),
                    Ok(Event::Warning { message, .. }) => shown.warnings.push(message),
                    Ok(Event::Status { status, .. }) => shown.ended = Some(status),
                    _ => {}
                },
            }
        }
    })
    .await
    .expect("a 10 s recording finishes");
    while let Ok(event) = events.try_recv() {
        match event {
            Event::Warning { message, .. } => shown.warnings.push(message),
            Event::Status { status, .. } => shown.ended = Some(status),
            _ => {}
        }
    }
    assert!(result.is_ok(), "{result:?}");
    let stored = backend.session_dir(&consultation.session_id);
    shown.lost = lost_and_duplicated(&consultation.source, &stored, Profile::Seed).0;
    shown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python; run scripts/test.sh"]
async fn transcripts_in_the_shapes_real_backends_send_appear() {
    for shape in ["seed", "camel", "typed", "google"] {
        record_against(shape, None).await.assert_read(shape);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python; run scripts/test.sh"]
async fn a_backend_sending_an_unknown_shape_is_named_to_the_doctor_and_loses_no_audio() {
    let shown = record_against("unknown", None).await;
    assert!(
        shown.finals.is_empty(),
        "nothing is guessed: {:?}",
        shown.finals
    );
    let told: Vec<_> = shown
        .warnings
        .iter()
        .filter(|w| w.contains("cannot read"))
        .collect();
    assert_eq!(
        told.len(),
        1,
        "told once, not at every message: {:?}",
        shown.warnings
    );
    assert!(told[0].contains("audio is safe"), "{}", told[0]);
    assert!(
        !told[0].contains("heard"),
        "the warning never holds the text: {}",
        told[0]
    );
    assert_eq!(shown.lost, 0, "the audio is complete all the same");
    assert_eq!(shown.ended, Some(Status::Sent));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python; run scripts/test.sh"]
async fn a_shape_named_in_the_server_profile_is_read() {
    let fields = TranscriptFields {
        text: FieldPath::new("payload.words"),
        is_final: FieldPath::new("payload.done"),
    };
    record_against("unknown", Some(fields))
        .await
        .assert_read("the shape named in the server profile");
}
