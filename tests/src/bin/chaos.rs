//! The reliability run by hand: `scripts/chaos.sh` (see docs/reliability.md).
//!
//! Prints one line per figure for each protocol profile and backend (the
//! reference server; the seed profile also against both Python seed backends) and exits non-zero if
//! any promise was broken (audio lost, more than a second lost per crash, a
//! spool error, a stall noticed late).

use consult_recorder::store::Profile;
use e2e_tests::reliability::{BackendKind, Plan, run};
use e2e_tests::seed_backend::Architecture;

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let minutes = arg("--minutes", 240.0);
    let speed = arg("--speed", 40.0);
    let seed = arg("--seed", 20_261_122.0) as u64;
    let crashes = arg("--crashes", 20.0) as u32;
    let mut broken = Vec::new();
    let runs = [
        (Profile::V1, BackendKind::Reference),
        (Profile::Seed, BackendKind::Reference),
        (Profile::Seed, BackendKind::Python(Architecture::OneLoop)),
        (Profile::Seed, BackendKind::Python(Architecture::Pipeline)),
    ];
    for (profile, backend) in runs {
        let report = run(Plan {
            profile,
            minutes,
            speed,
            seed,
            crashes,
            forced_sign_in: true,
            backend,
        })
        .await;
        for line in report.lines() {
            println!("{line}");
        }
        println!();
        broken.extend(
            report
                .problems()
                .into_iter()
                .map(|p| format!("{} against the {}: {p}", profile.as_str(), backend.name())),
        );
    }
    if broken.is_empty() {
        println!("all promises kept");
        std::process::ExitCode::SUCCESS
    } else {
        for problem in &broken {
            eprintln!("BROKEN: {problem}");
        }
        std::process::ExitCode::FAILURE
    }
}
