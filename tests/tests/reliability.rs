//! The short form of the reliability run (the long form is `scripts/chaos.sh`):
//! twenty minutes of consultation per profile at 30x through cuts, a stall,
//! offline windows, throttling, server restarts, 15-minute access tokens (30 s
//! here), rotating refresh tokens, a forced sign-in and three `kill -9`s of
//! the recorder. It prints the same figures and holds the same promises.

use std::io::Write;

use consult_recorder::store::Profile;
use e2e_tests::reliability::{BackendKind, Plan, run};

async fn short_form(profile: Profile, seed: u64) {
    let report = run(Plan {
        profile,
        minutes: 20.0,
        speed: 30.0,
        seed,
        crashes: 3,
        forced_sign_in: true,
        backend: BackendKind::Reference,
    })
    .await;
    // Straight to stderr, past the test harness's capture: the figures are
    // printed in CI whether the run passes or not.
    let mut err = std::io::stderr().lock();
    for line in report.lines() {
        let _ = writeln!(err, "{line}");
    }
    drop(err);
    assert_eq!(report.problems(), Vec::<String>::new());
    assert_eq!(report.crash_losses.len(), 3, "every crash happened");
    assert_eq!(report.sign_ins, 2, "the forced sign-in happened");
    assert_eq!(report.stall_detections.len(), 1, "the stall was noticed");
    assert!(
        report.reconnects >= 5,
        "the faults really broke connections"
    );
    // Twenty minutes with 15-minute tokens: at least one refresh in-session.
    assert!(report.refreshes >= 1, "tokens were refreshed along the way");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
async fn v1_short_reliability_run_keeps_every_promise() {
    short_form(Profile::V1, 0x5EED_0001).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
async fn seed_short_reliability_run_keeps_every_promise() {
    short_form(Profile::Seed, 0x5EED_0002).await;
}
