//! Streams audio through the real CLI at real time to the reference server
//! (recogniser off, so the client is what is measured) and prints what the
//! client costs and how fast it recovers:
//! - capture → socket latency per 20 ms frame (p50/p99), from the CLI's
//!   per-frame trace lines, in a run of its own;
//! - CPU as % of one core and CPU seconds per audio minute (from the
//!   process's own accounting in /proc), RSS at start, peak and end;
//! - recovery: from the network coming back to audio flowing again, over a
//!   series of outages;
//! - backlog: after a long outage, how fast the kept audio goes up (in
//!   multiples of real time) while live audio continues;
//! - the floor: `websocat` piping the same PCM to the same server, when it
//!   is installed (`cargo install websocat`).
//!
//! Prints figures only; it asserts nothing about speed. Needs a keyutils
//! session keyring (run it through `scripts/bench.sh`).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e_tests::audio::{unique_pcm, write_wav};
use e2e_tests::procfs::{context_switches, sample};
use e2e_tests::proxy::FaultProxy;
use e2e_tests::server::{EMAIL, Options, PASSWORD, TestServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

struct Plan {
    latency_secs: u64,
    steady_secs: u64,
    outages: u32,
    outage_secs: u64,
    backlog_secs: u64,
    refresh_secs: u64,
}

impl Plan {
    fn from_args() -> Self {
        let mut plan = Plan {
            latency_secs: 60,
            steady_secs: 300,
            outages: 20,
            outage_secs: 2,
            backlog_secs: 300,
            refresh_secs: 120,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        while i < args.len() {
            let value = || -> u64 {
                args.get(i + 1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            };
            match args[i].as_str() {
                "--latency-secs" => plan.latency_secs = value(),
                "--steady-secs" => plan.steady_secs = value(),
                "--outages" => plan.outages = value() as u32,
                "--backlog-secs" => plan.backlog_secs = value(),
                "--refresh-secs" => plan.refresh_secs = value(),
                "--short" => {
                    plan.latency_secs = 10;
                    plan.steady_secs = 30;
                    plan.outages = 3;
                    plan.backlog_secs = 20;
                    plan.refresh_secs = 25;
                    i += 1;
                    continue;
                }
                _ => usage(),
            }
            i += 2;
        }
        plan
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: stream-bench [--short] [--latency-secs N] [--steady-secs N] [--outages N] [--backlog-secs N] [--refresh-secs N]"
    );
    std::process::exit(2);
}

/// Hands each JSON event the CLI prints to `see`, reading to the end so the pipe never fills.
fn on_each_event(
    child: &mut Child,
    mut see: impl FnMut(serde_json::Value) + std::marker::Send + 'static,
) {
    let stdout = child.stdout.take().expect("piped");
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) {
                see(event);
            }
        }
    });
}

/// The state names of the CLI's status events, with when they arrived.
fn follow_events(child: &mut Child) -> Events {
    let (tx, rx) = mpsc::unbounded_channel();
    on_each_event(child, move |event| {
        if event["type"] == "status" {
            let state = event["status"]["state"].as_str().unwrap_or("").to_owned();
            let _ = tx.send((Instant::now(), state, event["status"].clone()));
        }
    });
    rx
}

/// One send of audio, from the CLI's `consult_recorder::latency` trace lines.
#[derive(Debug, Clone, Copy)]
struct Send {
    /// Seconds since midnight (UTC), on the CLI's clock.
    at: f64,
    offset: u64,
    samples: u64,
}

/// What the CLI's per-frame trace lines say: when each frame left the source
/// (`captured`) and every send (`sent`, which may carry several frames).
struct Trace {
    collecting: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Capture → socket delay of every frame, in seconds.
    delays: std::sync::Arc<std::sync::Mutex<Vec<f64>>>,
    sends: std::sync::Arc<std::sync::Mutex<Vec<Send>>>,
}

/// Frames whose send carried more than this were backlog, not live audio.
const LIVE_SEND_SAMPLES: u64 = 1_600;
/// The trace's first seconds are the connection being made, not streaming.
const WARM_UP_SECS: f64 = 2.0;

impl Trace {
    fn follow(child: &mut Child) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let collecting = Arc::new(AtomicBool::new(true));
        let delays = Arc::new(Mutex::new(Vec::new()));
        let sends = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped");
        let (on, delay_sink, send_sink) = (
            Arc::clone(&collecting),
            Arc::clone(&delays),
            Arc::clone(&sends),
        );
        tokio::spawn(async move {
            let mut captured = std::collections::BTreeMap::new();
            let mut first: Option<f64> = None;
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Some(at) = line.split_whitespace().next().and_then(seconds_of_day) else {
                    continue;
                };
                if !on.load(Ordering::Relaxed) {
                    continue;
                }
                if let Some(offset) = field(&line, " captured offset=") {
                    captured.insert(offset, at);
                } else if let (Some(offset), Some(samples)) =
                    (field(&line, " sent offset="), field(&line, " samples="))
                {
                    send_sink.lock().expect("sends").push(Send {
                        at,
                        offset,
                        samples,
                    });
                    // Every frame this send carried, from its capture to now.
                    let carried: Vec<(u64, f64)> = captured
                        .range(offset..offset + samples)
                        .map(|(o, t)| (*o, *t))
                        .collect();
                    let warmed = at - *first.get_or_insert(at) >= WARM_UP_SECS;
                    for (frame, then) in carried {
                        captured.remove(&frame);
                        if warmed && samples <= LIVE_SEND_SAMPLES {
                            // Across midnight the clock of day wraps.
                            delay_sink
                                .lock()
                                .expect("delays")
                                .push((at - then).rem_euclid(86_400.0));
                        }
                    }
                }
            }
        });
        Self {
            collecting,
            delays,
            sends,
        }
    }

    /// Stops collecting; the delays and the sends so far.
    fn stop(&self) -> (Vec<f64>, Vec<Send>) {
        self.collecting
            .store(false, std::sync::atomic::Ordering::Relaxed);
        (
            self.delays.lock().expect("delays").clone(),
            self.sends.lock().expect("sends").clone(),
        )
    }
}

/// The intervals between consecutive sends, in seconds, and the samples
/// skipped (a send starting past everything sent before; 0 when nothing was
/// lost — a send may start earlier, re-sending after a reconnection).
fn intervals(sends: &[Send]) -> (Vec<f64>, u64) {
    let gaps = sends
        .windows(2)
        .map(|pair| (pair[1].at - pair[0].at).rem_euclid(86_400.0))
        .collect();
    let mut skipped = 0;
    let mut end: Option<u64> = None;
    for send in sends {
        if let Some(end) = end
            && send.offset > end
        {
            skipped += send.offset - end;
        }
        end = Some(end.unwrap_or(0).max(send.offset + send.samples));
    }
    (gaps, skipped)
}

/// `2026-11-22T16:13:00.123456Z` → seconds since midnight (UTC).
fn seconds_of_day(stamp: &str) -> Option<f64> {
    let time = stamp.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = time.split(':');
    let hours: f64 = parts.next()?.parse().ok()?;
    let minutes: f64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    Some(hours * 3600.0 + minutes * 60.0 + seconds)
}

/// The number after `key` in a log line.
fn field(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// `consult-cli record` of `wav` at real time, with `extra` arguments.
fn record_in_real_time(home: &Path, wav: &Path, extra: &[&str]) -> Command {
    let wav = wav.to_str().expect("utf-8");
    let mut args = vec!["record", "--input", wav, "--speed", "1"];
    args.extend_from_slice(extra);
    cli(home, &args)
}

/// A real-time recording with its per-frame trace followed, for the runs measured frame by frame.
struct Traced {
    child: Child,
    trace: Trace,
}

/// Starts `consult-cli record` at real time, per-frame trace on, for the runs measured by it.
fn record_traced(home: &Path, wav: &Path, extra: &[&str], stdout: Stdio) -> Traced {
    let mut child = record_in_real_time(home, wav, extra)
        .env("CONSULT_LOG", "warn,consult_recorder::latency=trace")
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("consult-cli record starts");
    let trace = Trace::follow(&mut child);
    Traced { child, trace }
}

impl Traced {
    /// Lets it stream for `secs` and stops it; its trace's delays and sends, for the figures.
    async fn stop_after(mut self, secs: u64) -> (Vec<f64>, Vec<Send>) {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let seen = self.trace.stop();
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        seen
    }
}

fn cli(home: &Path, args: &[&str]) -> Command {
    let mut command = e2e_tests::reliability::isolated_cli(home);
    command.args(args);
    command
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The recorder's status lines: when each arrived, its state, the whole event.
type Events = mpsc::UnboundedReceiver<(Instant, String, serde_json::Value)>;

#[tokio::main]
async fn main() {
    let plan = Plan::from_args();
    consult_recorder::net::install_crypto_provider();
    let server = TestServer::start(Options::new()).await;
    let proxy = FaultProxy::start(server.server.addr()).await;
    let home = tempfile::tempdir().expect("a temporary folder");
    sign_in(home.path(), &proxy.http_url()).await;

    let outage_period = plan.outage_secs + 4;
    let total_secs =
        plan.steady_secs + plan.outages as u64 * outage_period + plan.backlog_secs * 3 + 10;
    let wav = home.path().join("consultation.wav");
    write_wav(&wav, &unique_pcm(16_000 * total_secs as usize, 7));
    // 0. Latency, in a run of its own: its per-frame trace lines cost CPU.
    latency(home.path(), &wav, plan.latency_secs).await;

    let mut child = record_in_real_time(home.path(), &wav, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("consult-cli record starts");
    let pid = child.id().expect("a running process");
    let mut events = follow_events(&mut child);
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::ARCH
    );
    // 1. Steady streaming at real time.
    let cpu_share = steady(pid, plan.steady_secs).await;
    while events.try_recv().is_ok() {}
    // 2. Recovery: the network goes for a moment and comes back.
    recovery(&proxy, &mut events, plan.outages, plan.outage_secs).await;
    // 3. Backlog: a long outage, then the kept audio goes up with live audio on top.
    backlog(&proxy, &mut events, plan.backlog_secs).await;
    let _ = child.start_kill();

    // 4. The floor: websocat sending the same PCM at the same pace.
    for chunk_ms in [20, 40] {
        floor(&server, cpu_share, chunk_ms).await;
    }

    // 5. The stream across token refreshes, in both profiles.
    for profile in ["seed", "v1"] {
        refresh_gap(profile, plan.refresh_secs).await;
    }
}

/// Capture to socket delay of each live frame, from the recorder's trace.
async fn latency(home: &Path, wav: &Path, secs: u64) {
    let traced = record_traced(home, wav, &[], Stdio::null());
    let (mut delays, _) = traced.stop_after(secs).await;
    delays.sort_by(f64::total_cmp);
    println!(
        "capture -> socket latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} live frames of 20 ms (after {WARM_UP_SECS:.0} s of warm-up)",
        percentile(&delays, 0.5) * 1e3,
        percentile(&delays, 0.99) * 1e3,
        delays.last().copied().unwrap_or(f64::NAN) * 1e3,
        delays.len()
    );
}

/// CPU, wake-ups and memory of the recorder `pid` streaming at real time for
/// `secs`; returns its CPU share of one core (for the floor's ratio).
async fn steady(pid: u32, secs: u64) -> f64 {
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (cpu_start, rss_start) = sample(pid).expect("the recorder runs");
    let switches_start = context_switches(pid).expect("the recorder runs");
    let wall_start = Instant::now();
    let mut rss_peak = rss_start;
    let mut rss_end = rss_start;
    let mut cpu_end = cpu_start;
    while wall_start.elapsed() < Duration::from_secs(secs.saturating_sub(5).max(1)) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (cpu, rss) = sample(pid).expect("the recorder runs");
        rss_peak = rss_peak.max(rss);
        rss_end = rss;
        cpu_end = cpu;
    }
    let switches = context_switches(pid).expect("the recorder runs") - switches_start;
    let wall = wall_start.elapsed().as_secs_f64();
    let cpu = (cpu_end - cpu_start).as_secs_f64();
    println!(
        "steady streaming: {:.0} s at real time; client CPU {:.2} % of one core, {:.2} CPU s per audio minute; {:.0} wake-ups a second (context switches, all threads)",
        started.elapsed().as_secs_f64(),
        100.0 * cpu / wall,
        cpu / wall * 60.0,
        switches as f64 / wall
    );
    println!(
        "client RSS: start {:.1} MB, peak {:.1} MB, end {:.1} MB (growth {:+.1} MB)",
        mb(rss_start),
        mb(rss_peak),
        mb(rss_end),
        mb(rss_end) - mb(rss_start)
    );
    cpu / wall
}

/// The network gone for `secs` (its events dropped), as every measured outage; when it came back.
async fn outage(proxy: &FaultProxy, events: &mut Events, secs: u64) -> Instant {
    proxy.set_refusing(true);
    proxy.cut_all();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    while events.try_recv().is_ok() {}
    proxy.set_refusing(false);
    Instant::now()
}

/// `outages` short outages: how long after the network returns the
/// recorder is sending again.
async fn recovery(proxy: &FaultProxy, events: &mut Events, outages: u32, outage_secs: u64) {
    let mut recoveries = Vec::new();
    for _ in 0..outages {
        let back = outage(proxy, events, outage_secs).await;
        let deadline = back + Duration::from_secs(30);
        while let Ok(Some((at, state, _))) =
            tokio::time::timeout_at(deadline.into(), events.recv()).await
        {
            if state == "uploading_backlog" || state == "connected" {
                recoveries.push(at.duration_since(back).as_secs_f64());
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    recoveries.sort_by(f64::total_cmp);
    println!(
        "recovery after the network returns: median {:.2} s, max {:.2} s over {} outages of {} s",
        percentile(&recoveries, 0.5),
        recoveries.last().copied().unwrap_or(f64::NAN),
        recoveries.len(),
        outage_secs
    );
}

/// One long outage: how fast the kept audio goes up once the network
/// returns, with live audio continuing on top.
async fn backlog(proxy: &FaultProxy, events: &mut Events, outage_secs: u64) {
    while events.try_recv().is_ok() {}
    let back = outage(proxy, events, outage_secs).await;
    let mut backlog: Option<(Instant, f64)> = None;
    let deadline = back + Duration::from_secs(outage_secs * 2 + 30);
    while let Ok(Some((at, state, status))) =
        tokio::time::timeout_at(deadline.into(), events.recv()).await
    {
        match state.as_str() {
            "uploading_backlog" if backlog.is_none() => {
                backlog = Some((at, status["seconds_left"].as_f64().unwrap_or_default()));
            }
            "connected" => {
                let Some((since, kept)) = backlog else {
                    continue;
                };
                // From the first backlog frame (the reconnection's backoff
                // wait is recovery, measured above) to live again.
                let drain = at.duration_since(since).as_secs_f64();
                println!(
                    "backlog: {kept:.0} s kept during a {outage_secs} s outage went up in {drain:.2} s once reconnected ({:.2} s after the network returned): {:.0}x real time, live audio continuing",
                    since.duration_since(back).as_secs_f64(),
                    kept / drain
                );
                break;
            }
            _ => {}
        }
    }
}

/// Access tokens this short are refreshed about every 10 s.
const SHORT_TOKEN_SECS: u64 = 20;

/// The stream across token refreshes: a recording with short access tokens
/// on a server that closes any socket whose token expires. Prints every pause
/// in the stream beyond the frame cadence and any audio skipped.
async fn refresh_gap(profile: &str, secs: u64) {
    let server = TestServer::start(Options::new().with(|c| {
        c.access_ttl = SHORT_TOKEN_SECS;
        c.strict_expiry = true;
    }))
    .await;
    let home = tempfile::tempdir().expect("a temporary folder");
    sign_in(home.path(), &server.http()).await;
    let wav = home.path().join("consultation.wav");
    write_wav(&wav, &unique_pcm(16_000 * (secs as usize + 10), 11));
    let mut traced = record_traced(home.path(), &wav, &["--profile", profile], Stdio::piped());
    let refreshes = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = std::sync::Arc::clone(&refreshes);
    on_each_event(&mut traced.child, move |event| {
        if event["type"] == "auth" && event["event"] == "refreshed" {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let (_, sends) = traced.stop_after(secs).await;
    let (mut gaps, skipped) = intervals(&sends);
    gaps.sort_by(f64::total_cmp);
    let cadence = percentile(&gaps, 0.5);
    let longest = gaps.last().copied().unwrap_or(f64::NAN);
    println!(
        "refresh gap ({profile} profile, {secs} s, {SHORT_TOKEN_SECS} s tokens): {} refreshes; between two sends: median {:.1} ms, p99 {:.1} ms, longest {:.1} ms (a gap of {:.1} ms beyond the cadence); audio skipped: {skipped} samples",
        refreshes.load(std::sync::atomic::Ordering::Relaxed),
        cadence * 1e3,
        percentile(&gaps, 0.99) * 1e3,
        longest * 1e3,
        (longest - cadence).max(0.0) * 1e3,
    );
}

async fn sign_in(home: &Path, server: &str) {
    let status = cli(home, &["login", "--server", server, "--email", EMAIL])
        .env("CONSULT_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .status()
        .await
        .expect("consult-cli runs");
    assert!(status.success(), "sign-in failed");
}

/// websocat reading raw PCM from a pipe in chunks of `chunk_ms` at real time
/// and sending each as one binary message to the same server.
async fn floor(server: &TestServer, ours: f64, chunk_ms: u64) {
    if std::process::Command::new("websocat")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("floor (websocat): not installed; `cargo install websocat` to compare");
        return;
    }
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let login: serde_json::Value = http
        .post(format!(
            "{}{}",
            server.http(),
            consult_recorder::protocol::auth::LOGIN_PATH
        ))
        .json(&serde_json::json!({ "email": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .expect("login answers")
        .json()
        .await
        .expect("login JSON");
    let token = login["access_token"].as_str().expect("an access token");
    let url = format!(
        "{}{}?token={token}&session_id={}",
        server.ws(),
        consult_recorder::protocol::seed::STREAM_PATH,
        uuid::Uuid::new_v4()
    );
    let mut child = Command::new("websocat")
        .args(["--binary", "--no-close", "-"])
        .arg(&url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("websocat starts");
    let pid = child.id().expect("running");
    let mut input = child.stdin.take().expect("piped");
    let frame = vec![0x11u8; 32 * chunk_ms as usize];
    let mut tick = tokio::time::interval(Duration::from_millis(chunk_ms));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cpu_start, _) = sample(pid).expect("websocat runs");
    let switches_start = context_switches(pid).expect("websocat runs");
    let started = Instant::now();
    for _ in 0..(30_000 / chunk_ms) {
        tick.tick().await;
        // A websocat that stops reading (its connection gone) would block
        // the pipe, and this run with it, for ever.
        match tokio::time::timeout(Duration::from_secs(5), input.write_all(&frame)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                println!("floor (websocat): the server closed the connection");
                return;
            }
            Err(_) => {
                println!("floor (websocat): stopped reading its input; no figure");
                return;
            }
        }
    }
    let (cpu_end, rss) = sample(pid).expect("websocat runs");
    let switches = context_switches(pid).expect("websocat runs") - switches_start;
    let wall = started.elapsed().as_secs_f64();
    let theirs = (cpu_end - cpu_start).as_secs_f64() / wall;
    println!(
        "floor (websocat, same PCM at the same pace in {chunk_ms} ms messages, 30 s): CPU {:.2} % of one core, {:.0} wake-ups a second, RSS {:.1} MB; ours / websocat = {:.1}",
        100.0 * theirs,
        switches as f64 / wall,
        mb(rss),
        if theirs > 0.0 {
            ours / theirs
        } else {
            f64::INFINITY
        }
    );
}
