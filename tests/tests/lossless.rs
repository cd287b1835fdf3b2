//! Ten minutes of consultation through cuts, stalls, offline windows, a server
//! restart, strict 10-second access tokens and rotating refresh tokens: every
//! sample reaches the server (v1: exactly once; seed: with no gap).

use std::sync::Arc;
use std::time::Duration;

use consult_recorder::events::Status;
use consult_recorder::session::{SenderOptions, SessionSetup};
use consult_recorder::store::Profile;
use e2e_tests::audio::locate;
use e2e_tests::chaos::{Restartable, inject, watch_events};
use e2e_tests::proxy::FaultProxy;
use e2e_tests::recording::{Consultation, signed_in};
use e2e_tests::reliability::seed_pieces;
use e2e_tests::server::Options;

const MINUTES: usize = 10;
const SPEED: f64 = 20.0;

fn strict_short_tokens() -> Options {
    Options::new().with(|c| {
        c.access_ttl = 10;
        c.strict_expiry = true;
    })
}

fn fast_retries() -> SenderOptions {
    SenderOptions {
        connect_timeout: Duration::from_secs(5),
        ping_every: Duration::from_secs(1),
        stall_after: Duration::from_secs(3),
        first_retry: Duration::from_millis(100),
        max_retry: Duration::from_secs(2),
        // Time runs SPEED times faster here, the seed pace with it.
        seed_pace: SPEED,
        ..SenderOptions::default()
    }
}

struct Run {
    source: Vec<u8>,
    server: Arc<Restartable>,
    session_id: String,
}

async fn record_through_chaos(profile: Profile, seed: u64) -> Run {
    let consultation = Consultation::new(MINUTES * 60 * 16_000, seed);

    let server = Restartable::start(strict_short_tokens).await;
    let proxy = FaultProxy::start(server.addr().await).await;
    let tokens = signed_in(&proxy.http_url()).await;

    let setup = SessionSetup {
        reference: "chaos".into(),
        options: fast_retries(),
        ..consultation.setup(profile, proxy.http_url(), tokens.clone())
    };
    let session = consultation.record(setup, SPEED);
    let watcher = tokio::spawn(watch_events(session.subscribe()));
    let started = tokio::time::Instant::now();
    let finished = session.finished();
    tokio::pin!(finished);
    let mut outcome = None;
    let faults = inject(seed, &proxy, &server, Some(6), async {
        // Faults stop once capture is over, so the last of the backlog can drain.
        tokio::select! {
            result = &mut finished => outcome = Some(result),
            _ = tokio::time::sleep(Duration::from_secs_f64(MINUTES as f64 * 60.0 / SPEED)) => {}
        }
    })
    .await;
    let result = match outcome {
        Some(result) => result,
        None => tokio::time::timeout(Duration::from_secs(120), finished)
            .await
            .expect("the session completes after the faults stop"),
    };
    let (figures, last) = watcher.await.unwrap();
    assert!(result.is_ok(), "session failed: {result:?}");
    // Only v1 confirms storage; a seed session ends as "sent".
    let expected = match profile {
        Profile::V1 => Status::Complete,
        Profile::Seed => Status::Sent,
    };
    assert_eq!(last, Some(expected));
    let (p50, max) = figures.recovery_p50_and_max();
    println!("profile: {}", profile.as_str());
    println!(
        "audio: {MINUTES} min at {SPEED}x in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (kind, count) in &faults.0 {
        println!("faults injected, {kind}: {count}");
    }
    println!("reconnects: {}", figures.reconnects);
    println!(
        "recovery after a fault: p50 {:.2} s, max {:.2} s",
        p50.as_secs_f64(),
        max.as_secs_f64()
    );
    println!(
        "proxy connections: {}",
        proxy
            .stats()
            .accepted
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(
        faults.0.values().sum::<u32>() >= 8,
        "enough faults were injected: {faults:?}"
    );
    assert!(
        figures.reconnects >= 3,
        "the faults really broke connections"
    );
    Run {
        source: consultation.source,
        server,
        session_id: consultation.session_id,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_delivers_every_sample_exactly_once_through_chaos() {
    let run = record_through_chaos(Profile::V1, 0xC0FFEE).await;
    let stored = std::fs::read(
        run.server
            .session_dir(&run.session_id)
            .await
            .join("audio.pcm"),
    )
    .unwrap();
    let lost = run.source.len().saturating_sub(stored.len());
    println!("bytes lost: {lost}");
    println!(
        "bytes duplicated: {}",
        stored.len().saturating_sub(run.source.len())
    );
    assert_eq!(stored.len(), run.source.len(), "no sample lost or doubled");
    assert!(
        stored == run.source,
        "the server's audio equals the source byte for byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_delivers_every_sample_with_no_gap_through_chaos() {
    let run = record_through_chaos(Profile::Seed, 0xBEEF).await;
    let dir = run.server.session_dir(&run.session_id).await;
    let files = seed_pieces(&dir).unwrap();
    let total = run.source.len() / 2;
    let mut covered = vec![false; total];
    let mut received = 0usize;
    for file in &files {
        let piece = std::fs::read(file).unwrap();
        if piece.is_empty() {
            continue;
        }
        let start =
            locate(&run.source, &piece).expect("every stored piece is a piece of the source");
        let slice = run.source.get(start * 2..start * 2 + piece.len());
        assert!(
            slice == Some(&piece[..]),
            "{} is not an exact, contiguous slice of the source",
            file.display()
        );
        covered[start..start + piece.len() / 2]
            .iter_mut()
            .for_each(|c| *c = true);
        received += piece.len() / 2;
    }
    let missing = covered.iter().filter(|c| !**c).count();
    println!("connections stored: {}", files.len());
    println!("bytes lost: {}", missing * 2);
    println!(
        "bytes duplicated: {} ({:.2} % of the audio)",
        (received - total + missing) * 2,
        100.0 * (received + missing - total) as f64 / total as f64
    );
    assert_eq!(
        missing, 0,
        "no gap: every sample reached the server at least once"
    );
}
