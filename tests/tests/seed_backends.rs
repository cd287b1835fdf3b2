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

use std::io::Write;

use consult_recorder::store::Profile;
use e2e_tests::reliability::{BackendKind, Plan, run};
use e2e_tests::seed_backend::Architecture;

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
    assert_eq!(report.sign_ins, 2, "the forced sign-in happened");
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
