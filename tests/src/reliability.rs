//! The reliability run: `consult-cli record` streams a long consultation
//! through the fault proxy to a backend — the reference server, or one of the
//! independent Python seed backends — while faults, crashes and a forced
//! sign-in happen at seeded random moments; then the backend's audio is
//! compared with the source and the figures are printed.
//!
//! Time is compressed honestly: the file is fed at `speed` times real time,
//! and token lifetimes and offline windows are divided by the same factor, so
//! the client sees what a consultation `speed` times longer would show it.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use consult_recorder::store::Profile;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};
use tokio::time::{Instant, sleep};

use crate::audio::{unique_pcm, write_wav};
use crate::chaos::Restartable;
use crate::proxy::FaultProxy;
use crate::seed_backend::{Architecture, SeedBackend, SeedOptions};
use crate::server::{EMAIL, Options, PASSWORD};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The protocol profile the recorder speaks (v1 or seed).
    pub profile: Profile,
    /// Length of the consultation, in minutes of audio.
    pub minutes: f64,
    /// Time compression factor.
    pub speed: f64,
    /// Seeds the source audio and the moments of faults, crashes and the forced sign-in.
    pub seed: u64,
    /// `kill -9` of the recorder at this many random moments.
    pub crashes: u32,
    /// Revoke every refresh token once, then sign in again from the CLI.
    pub forced_sign_in: bool,
    /// The backend the recorder streams to, behind the fault proxy.
    pub backend: BackendKind,
}

/// Which server the recorder talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Our reference server (both profiles), with 15-minute access tokens
    /// compressed like the rest of the run.
    Reference,
    /// An independent seed backend in Python, with 20 s access tokens (wall
    /// time), strict expiry and strict refresh-token reuse detection.
    Python(Architecture),
}

impl BackendKind {
    /// How the report's lines name this backend.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Reference => "reference server",
            BackendKind::Python(Architecture::OneLoop) => "Python seed backend (one loop)",
            BackendKind::Python(Architecture::Pipeline) => "Python seed backend (pipeline)",
        }
    }
}

/// The running backend of a run.
pub enum Backend {
    /// Our reference server, which can restart on the same port.
    Reference(Arc<Restartable>),
    /// An independent seed backend in Python.
    Python(Box<SeedBackend>),
}

/// Access tokens of the Python seed backends, in wall seconds.
const PYTHON_ACCESS_TOKEN_SECS: u64 = 20;

impl Backend {
    async fn start(plan: &Plan) -> Self {
        match plan.backend {
            BackendKind::Reference => {
                let access_ttl = (ACCESS_TOKEN_SECS / plan.speed).max(4.0) as u64;
                Backend::Reference(
                    Restartable::start(move || {
                        Options::new().with(|c| {
                            c.access_ttl = access_ttl;
                            c.strict_expiry = true;
                        })
                    })
                    .await,
                )
            }
            BackendKind::Python(architecture) => {
                let mut options = SeedOptions::new(architecture);
                options.time_scale = plan.speed;
                options.access_ttl_secs = PYTHON_ACCESS_TOKEN_SECS;
                options.strict_expiry = true;
                options.strict_reuse = true;
                Backend::Python(Box::new(SeedBackend::start(options).await))
            }
        }
    }

    async fn addr(&self) -> std::net::SocketAddr {
        match self {
            Backend::Reference(server) => server.addr().await,
            Backend::Python(server) => server.addr(),
        }
    }

    async fn restart(&self) {
        match self {
            Backend::Reference(server) => server.restart().await,
            Backend::Python(server) => server.restart().await,
        }
    }

    async fn revoke_refresh_tokens(&self) {
        match self {
            Backend::Reference(server) => {
                let response = reqwest::Client::new()
                    .post(format!(
                        "{}/admin/revoke-refresh-tokens",
                        server.http_url().await
                    ))
                    .json(&serde_json::json!({}))
                    .send()
                    .await
                    .expect("admin endpoint answers");
                assert!(response.status().is_success());
            }
            Backend::Python(server) => server.revoke_refresh_tokens().await,
        }
    }

    async fn session_dir(&self, session: &str) -> PathBuf {
        match self {
            Backend::Reference(server) => server.session_dir(session).await,
            Backend::Python(server) => server.session_dir(session),
        }
    }

    /// Audio its recogniser refused as too fast (only the Python backends count).
    fn too_fast_refusals(&self) -> Option<usize> {
        match self {
            Backend::Reference(_) => None,
            Backend::Python(server) => Some(server.too_fast_refusals()),
        }
    }
}

/// Access tokens as the clinic issues them: 15 minutes, before compression.
const ACCESS_TOKEN_SECS: f64 = 15.0 * 60.0;
/// A stall long enough for the client's ping timeout to notice it.
const STALL_FOR: Duration = Duration::from_secs(15);
/// How often a stall that did not reach the recorder's connection is tried again.
const STALL_TRIES: u32 = 5;

/// The figures of one run, grouped by what they are about.
#[derive(Debug)]
pub struct Report {
    /// What was run.
    pub plan: Plan,
    /// Wall-clock time of the whole run, set-up included.
    pub wall: Duration,
    /// How many faults of each kind were injected, crashes and the revocation included.
    pub faults: BTreeMap<&'static str, u32>,
    // The connections: how soon they were back, and how often they broke.
    /// For each outage, the time from losing the connection to having it back.
    pub recoveries: Vec<Duration>,
    /// How many times the connection broke, counted once per outage.
    pub reconnects: u32,
    /// For each stall the recorder noticed, how long it took to report the connection lost.
    pub stall_detections: Vec<Duration>,
    /// Stalls of the connection in use that the recorder never reported.
    pub stalls_unnoticed: u32,
    // Signing in.
    /// Access-token refreshes the recorder reported.
    pub refreshes: u32,
    /// Sign-ins with a password from the CLI, the first one included.
    pub sign_ins: u32,
    /// Sign-ins the recorder asked for besides the forced one.
    pub unplanned_sign_ins: u32,
    // The recorder's own disk.
    /// Audio captured but not yet on disk at each crash, in seconds of live capture.
    pub crash_losses: Vec<f64>,
    /// Failures that name the spool or the disk, plus warnings of damaged data.
    pub spool_errors: u32,
    // What the server got, and what came back.
    /// Bytes of the source audio the server never stored.
    pub bytes_lost: usize,
    /// Bytes stored beyond one copy of the source: repeats, or audio not from it.
    pub bytes_duplicated: usize,
    /// Consultation seconds between a final transcript's audio and the live
    /// edge when the final arrived.
    pub text_delays: Vec<f64>,
    /// Refusals by the backend's recogniser for audio sent too fast.
    pub too_fast_refusals: Option<usize>,
    // How the session ended.
    /// The CLI exited successfully with the session complete (v1) or sent (seed).
    pub completed: bool,
    /// The recorder said "complete" for a seed session (no such proof exists).
    pub claimed_complete: bool,
}

fn p50_and_max(values: &[Duration]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort();
    let p50 = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    let max = sorted.last().copied().unwrap_or_default();
    (p50.as_secs_f64(), max.as_secs_f64())
}

impl Report {
    /// Seconds of consultation recorded, which the figures are per.
    fn audio_secs(&self) -> f64 {
        self.plan.minutes * 60.0
    }

    /// One line per figure, the same in CI and by hand.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "profile: {} against the {}",
                self.plan.profile.as_str(),
                self.plan.backend.name()
            ),
            format!(
                "consultation: {:.0} min of audio at {}x (seed {:#x}) in {:.0} s",
                self.audio_secs() / 60.0,
                self.plan.speed,
                self.plan.seed,
                self.wall.as_secs_f64()
            ),
        ];
        for (kind, n) in &self.faults {
            out.push(format!("faults injected, {kind}: {n}"));
        }
        let (rec_p50, rec_max) = p50_and_max(&self.recoveries);
        let (stall_p50, stall_max) = p50_and_max(&self.stall_detections);
        let crash_max = self.crash_losses.iter().copied().fold(0.0, f64::max);
        out.extend([
            format!("reconnects: {}", self.reconnects),
            format!("token refreshes: {}", self.refreshes),
            format!(
                "sign-ins with a password: {} ({} not planned)",
                self.sign_ins, self.unplanned_sign_ins
            ),
            format!("bytes lost: {}", self.bytes_lost),
            format!("bytes duplicated: {}", self.bytes_duplicated),
            format!("recovery after a fault: p50 {rec_p50:.2} s, max {rec_max:.2} s"),
            format!(
                "stalled connection replaced after: p50 {stall_p50:.2} s, max {stall_max:.2} s ({} stalls)",
                self.stall_detections.len()
            ),
            format!(
                "audio lost per crash: max {crash_max:.2} s of live capture ({} crashes)",
                self.crash_losses.len()
            ),
            format!("spool errors: {}", self.spool_errors),
        ]);
        if let Some(refusals) = self.too_fast_refusals {
            out.push(format!("too-fast refusals by the recogniser: {refusals}"));
        }
        let mut delays = self.text_delays.clone();
        delays.sort_by(f64::total_cmp);
        out.push(match (delays.get(delays.len() / 2), delays.last()) {
            (Some(p50), Some(max)) => format!(
                "live-text delay (consultation time): p50 {p50:.1} s, max {max:.1} s ({} finals)",
                delays.len()
            ),
            _ => {
                "live-text delay: no final transcripts (the server ran without a recogniser)".into()
            }
        });
        out.push(format!(
            "duplicated: {:.1} % of the audio",
            100.0 * self.bytes_duplicated as f64 / (self.audio_secs() * 32_000.0).max(1.0)
        ));
        out.push(format!(
            "ended as: {}",
            match (self.completed, self.plan.profile) {
                (true, Profile::Seed) => "sent (the seed server does not confirm storage)",
                (true, _) => "complete (confirmed by the server)",
                (false, _) => "not finished",
            }
        ));
        out
    }

    /// The promises: nothing lost, at most a second per crash, a clean spool,
    /// stalls noticed within 10 s.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.completed {
            problems.push("the session did not finish".into());
        }
        if self.claimed_complete {
            problems.push(
                "the recorder said \"complete\" for a seed session: no seed server confirms storage"
                    .into(),
            );
        }
        if let Some(refusals) = self.too_fast_refusals
            && refusals > 0
        {
            problems.push(format!("{refusals} too-fast refusals by the recogniser"));
        }
        if self.bytes_lost > 0 {
            problems.push(format!("{} bytes lost", self.bytes_lost));
        }
        if self.plan.profile == Profile::V1 && self.bytes_duplicated > 0 {
            problems.push(format!(
                "{} bytes duplicated (v1 is exactly once)",
                self.bytes_duplicated
            ));
        }
        if let Some(worst) = self.crash_losses.iter().copied().reduce(f64::max)
            && worst > 1.0
        {
            problems.push(format!("a crash lost {worst:.2} s of audio"));
        }
        if self.spool_errors > 0 {
            problems.push(format!("{} spool errors", self.spool_errors));
        }
        if self.stalls_unnoticed > 0 {
            problems.push(format!(
                "{} stalled connection(s) never reported",
                self.stalls_unnoticed
            ));
        }
        if let Some(worst) = self.stall_detections.iter().max()
            && *worst > Duration::from_secs(10)
        {
            problems.push(format!(
                "a stall took {:.1} s to notice",
                worst.as_secs_f64()
            ));
        }
        problems
    }
}

/// The CLI next to this executable (`target/<profile>/consult-cli`).
pub fn cli_path() -> PathBuf {
    crate::desktop::built_binary("consult-cli")
}

/// The CLI with every folder under `home`, the keyutils keychain and no
/// server from the environment: a person of its own, never the user's.
pub fn isolated_cli(home: &Path) -> Command {
    let mut command = consult_test_support::cli::in_home(&cli_path(), home);
    command
        .env("CONSULT_KEYCHAIN", "keyutils")
        .env_remove("CONSULT_SERVER");
    command
}

/// One line the CLI printed, with when it arrived.
struct Line {
    at: Instant,
    /// Which recorder process printed it.
    run: u32,
    event: serde_json::Value,
}

struct Recorder {
    child: Child,
    run: u32,
    /// The last progress line: when it came, and where the spool ended then.
    last_progress: Option<(Instant, u64)>,
    /// The session's sample offset when this process started.
    start_offset: u64,
    /// Forwards its stdout; ends at the pipe's end, after the last line.
    reader: tokio::task::JoinHandle<()>,
}

struct Harness {
    plan: Plan,
    home: tempfile::TempDir,
    wav: PathBuf,
    session_id: String,
    proxy_url: String,
    lines: mpsc::UnboundedSender<Line>,
}

impl Harness {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = isolated_cli(self.home.path());
        command
            .args(args)
            // Time is compressed by `speed`: so is the pace the seed server's
            // recogniser accepts (real time, `speed` times faster).
            .env("CONSULT_SEED_PACE", self.plan.speed.to_string());
        command
    }

    /// Signs in as the doctor would: through the same faulty network, trying
    /// again a little later (a few times) when a fault cuts the attempt.
    async fn log_in(&self) {
        for attempt in 1..=8u64 {
            let output = self
                .command(&["login", "--server", &self.proxy_url, "--email", EMAIL])
                .env("CONSULT_PASSWORD", PASSWORD)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .await
                .expect("consult-cli runs");
            if output.status.success() {
                return;
            }
            let said = String::from_utf8_lossy(&output.stderr);
            assert!(
                said.contains("cannot reach the server") && attempt < 8,
                "consult-cli login failed (attempt {attempt}): {said}"
            );
            // A retry policy, not a wait for anything: an offline window
            // lasts at most 2 s of wall time here.
            sleep(Duration::from_millis(250 * attempt)).await;
        }
    }

    fn spool(&self) -> PathBuf {
        self.home
            .path()
            .join("data/consult-recorder/spool")
            .join(format!("{}.spool", self.session_id))
    }

    /// Where the spool ends now (0 before the first run).
    fn spool_end(&self) -> u64 {
        if !self.spool().exists() {
            return 0;
        }
        // Structure only: the key stays with the recorder (the checksums
        // still find the end and any damage).
        let recovered =
            consult_recorder::spool::recover(&self.spool(), None).expect("the spool reads");
        recovered.end
    }

    fn start_recorder(&self, run: u32) -> Recorder {
        let start_offset = self.spool_end();
        let speed = self.plan.speed.to_string();
        let mut child = self
            .command(&[
                "record",
                "--input",
                self.wav.to_str().expect("utf-8 path"),
                "--speed",
                &speed,
                "--session-id",
                &self.session_id,
                "--profile",
                self.plan.profile.as_str(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("consult-cli record starts");
        let stdout = child.stdout.take().expect("piped");
        let sink = self.lines.clone();
        let reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(event) = serde_json::from_str(&line) {
                    let _ = sink.send(Line {
                        at: Instant::now(),
                        run,
                        event,
                    });
                }
            }
        });
        Recorder {
            child,
            run,
            last_progress: None,
            start_offset,
            reader,
        }
    }
}

/// Follows the CLI's events: connection figures and the session's end.
#[derive(Default)]
struct Watch {
    lost_at: Option<Instant>,
    /// The recorder run whose connection last said it was up, until it is lost.
    connected_run: Option<u32>,
    stall_started: Option<Instant>,
    reconnects: u32,
    refreshes: u32,
    recoveries: Vec<Duration>,
    stall_detections: Vec<Duration>,
    spool_errors: u32,
    sign_in_required: bool,
    finishing: bool,
    complete: bool,
    /// Seed: "sent", the most that profile can claim.
    sent: bool,
    /// The live edge, from the last progress line.
    last_recorded: u64,
    text_delays: Vec<f64>,
}

impl Watch {
    /// Whether `run`'s connection is up and nothing has been lost since.
    fn streaming(&self, run: u32) -> bool {
        self.connected_run == Some(run) && self.lost_at.is_none()
    }

    fn see(&mut self, line: &Line) {
        let e = &line.event;
        match e["type"].as_str() {
            Some("status") => match e["status"]["state"].as_str() {
                Some("reconnecting" | "offline") => {
                    self.connected_run = None;
                    if e["status"]["attempt"] == 1 && self.lost_at.is_none() {
                        self.reconnects += 1;
                    }
                    self.lost_at.get_or_insert(line.at);
                    if let Some(stalled) = self.stall_started.take() {
                        self.stall_detections.push(line.at - stalled);
                    }
                }
                Some("connected" | "uploading_backlog") => {
                    self.connected_run = Some(line.run);
                    if let Some(at) = self.lost_at.take() {
                        self.recoveries.push(line.at - at);
                    }
                }
                Some("sign_in_required") => {
                    self.connected_run = None;
                    self.sign_in_required = true;
                }
                Some("finishing") => {
                    self.connected_run = None;
                    self.finishing = true;
                }
                Some("complete") => self.complete = true,
                Some("sent") => self.sent = true,
                Some("failed") => {
                    let reason = e["status"]["reason"].as_str().unwrap_or_default();
                    if reason.contains("spool") || reason.contains("disk") {
                        self.spool_errors += 1;
                    }
                }
                _ => {}
            },
            Some("progress") => {
                if let Some(recorded) = e["recorded"].as_u64() {
                    self.last_recorded = self.last_recorded.max(recorded);
                }
            }
            Some("transcript") if e["update"]["is_final"] == true => {
                if let Some(end) = e["update"]["end"].as_u64() {
                    let behind = self.last_recorded.saturating_sub(end);
                    self.text_delays.push(behind as f64 / 16_000.0);
                }
            }
            Some("auth") => match e["event"].as_str() {
                Some("refreshed") => self.refreshes += 1,
                Some("sign_in_required") => self.sign_in_required = true,
                _ => {}
            },
            Some("warning")
                if e["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("damaged") =>
            {
                self.spool_errors += 1;
            }
            _ => {}
        }
    }
}

/// Runs the plan and returns its figures.
pub async fn run(plan: Plan) -> Report {
    consult_recorder::net::install_crypto_provider();
    let started = Instant::now();
    let scratch = tempfile::tempdir().expect("temp dir");
    let total_samples = (plan.minutes * 60.0 * 16_000.0) as usize;
    let source = unique_pcm(total_samples, plan.seed);
    let wav = scratch.path().join("consultation.wav");
    write_wav(&wav, &source);

    let server = Arc::new(Backend::start(&plan).await);
    let proxy = Arc::new(FaultProxy::start(server.addr().await).await);
    let (lines_tx, lines) = mpsc::unbounded_channel();
    let harness = Harness {
        plan: plan.clone(),
        home: tempfile::tempdir().expect("temp dir"),
        wav,
        session_id: uuid::Uuid::new_v4().to_string(),
        proxy_url: proxy.http_url(),
        lines: lines_tx,
    };
    harness.log_in().await;

    let mut rng = StdRng::seed_from_u64(plan.seed);
    let capture_wall = plan.minutes * 60.0 / plan.speed;
    let mut crash_at: Vec<f64> = (0..plan.crashes)
        .map(|_| rng.random_range(0.05..0.9) * capture_wall)
        .collect();
    crash_at.sort_by(f64::total_cmp);
    let sign_in_at = plan
        .forced_sign_in
        .then(|| rng.random_range(0.3..0.6) * capture_wall);
    let stall_at = rng.random_range(0.2..0.7) * capture_wall;

    let faults = Arc::new(Mutex::new(BTreeMap::<&'static str, u32>::new()));
    // Held while a fault is under way, so no two overlap.
    let fault_gate = Arc::new(Mutex::new(()));
    let injector = tokio::spawn(inject(
        rng.random(),
        plan.speed,
        Arc::clone(&proxy),
        Arc::clone(&server),
        Arc::clone(&faults),
        Arc::clone(&fault_gate),
    ));
    let recorder = harness.start_recorder(0);
    let mut chaos = Chaos {
        started,
        total_samples,
        harness,
        server,
        proxy,
        lines,
        faults,
        fault_gate,
        stall: StallFault::due_at(stall_at),
        watch: Watch::default(),
        recorder,
        runs: 0,
        sign_ins: 1,
        crash_losses: Vec::new(),
        next_crash: crash_at.into_iter().peekable(),
        signed_again: sign_in_at.is_none(),
        sign_in_at,
        revoked: false,
        unplanned_sign_ins: 0,
        stalls_unnoticed: 0,
    };
    // A session that never ends is a failure to report, not a test to hang:
    // four times the capture's wall time, plus room for the outages.
    let exit = chaos
        .until_the_recorder_exits(capture_wall * 4.0 + 180.0)
        .await;
    injector.abort();
    chaos.report(exit, &source).await
}

/// One run under way: the recorder process of the moment, the faults and
/// what the recorder's lines have shown so far.
struct Chaos {
    started: Instant,
    total_samples: usize,
    harness: Harness,
    server: Arc<Backend>,
    proxy: Arc<FaultProxy>,
    lines: mpsc::UnboundedReceiver<Line>,
    faults: Arc<Mutex<BTreeMap<&'static str, u32>>>,
    fault_gate: Arc<Mutex<()>>,
    stall: StallFault,
    watch: Watch,
    recorder: Recorder,
    /// Recorder processes started after the first.
    runs: u32,
    sign_ins: u32,
    crash_losses: Vec<f64>,
    next_crash: std::iter::Peekable<std::vec::IntoIter<f64>>,
    sign_in_at: Option<f64>,
    revoked: bool,
    signed_again: bool,
    unplanned_sign_ins: u32,
    stalls_unnoticed: u32,
}

impl Chaos {
    /// Applies the faults that fall due and follows the recorder's lines
    /// until it exits (or is stopped after `give_up_after` seconds).
    async fn until_the_recorder_exits(&mut self, give_up_after: f64) -> std::process::ExitStatus {
        loop {
            let elapsed = self.started.elapsed().as_secs_f64();
            if elapsed > give_up_after {
                let _ = writeln!(
                    std::io::stderr(),
                    "the recorder did not finish within {give_up_after:.0} s; stopping it"
                );
                self.recorder.child.start_kill().expect("stop the recorder");
                return self
                    .recorder
                    .child
                    .wait()
                    .await
                    .expect("wait for the recorder");
            }
            self.tend_stall(elapsed).await;
            let stalled = self.stall.active_since().is_some();
            if !stalled && (self.crash_if_due(elapsed).await || self.sign_in_if_due(elapsed).await)
            {
                continue;
            }
            tokio::select! {
                Some(line) = self.lines.recv() => self.see(line),
                status = self.recorder.child.wait() => return status.expect("wait for the recorder"),
                _ = sleep(Duration::from_millis(100)) => {}
            }
        }
    }

    /// The stall measures how fast a silent connection in use is noticed: it
    /// begins only while the recorder streams and no other fault is under
    /// way, and nothing else happens until it is noticed or over.
    async fn tend_stall(&mut self, elapsed: f64) {
        if self.stall.may_begin(
            elapsed,
            self.watch.finishing,
            self.watch.streaming(self.recorder.run),
        ) && let Ok(exclusive) = Arc::clone(&self.fault_gate).try_lock_owned()
        {
            self.proxy.stall_open_connections();
            self.watch.stall_started = Some(Instant::now());
            self.stall.begin(exclusive);
            *self
                .faults
                .lock()
                .await
                .entry("stall (half-open)")
                .or_default() += 1;
        }
        let Some(since) = self.stall.active_since() else {
            return;
        };
        let noticed = self.watch.stall_started.is_none();
        if noticed || since.elapsed() >= STALL_FOR {
            self.proxy.set_stalled(false);
            let reached = self
                .proxy
                .stats()
                .held_back_from_clients
                .load(Ordering::SeqCst)
                > 0;
            if noticed {
                self.stall.finish();
            } else if reached {
                self.watch.stall_started = None;
                self.stalls_unnoticed += 1;
                self.stall.finish();
            } else {
                // The recorder had already left that connection (a token
                // handover at that very moment): the stall tested nothing.
                self.watch.stall_started = None;
                self.stall.try_again(elapsed);
            }
        }
    }

    /// A crash that is due: kill -9, see what reached the disk, start again.
    /// True when it happened.
    async fn crash_if_due(&mut self, elapsed: f64) -> bool {
        if self.watch.finishing || !self.next_crash.peek().is_some_and(|at| elapsed >= *at) {
            return false;
        }
        self.next_crash.next();
        let speed = self.harness.plan.speed;
        // Capture runs at a steady `speed`: from the last reported spool end
        // (or the first event, printed as capture starts), where it had got
        // to at the kill. A process killed before its first event was still
        // starting (reading the file, opening the spool) and had captured
        // nothing yet.
        let captured_until = match self.recorder.last_progress {
            Some((since, from)) => from as f64 + since.elapsed().as_secs_f64() * speed * 16_000.0,
            None => self.recorder.start_offset as f64,
        };
        self.recorder.child.start_kill().expect("kill -9");
        let _ = self.recorder.child.wait().await;
        let on_disk = self.harness.spool_end() as f64;
        let lost_live_secs =
            (captured_until.min(self.total_samples as f64) - on_disk).max(0.0) / 16_000.0 / speed;
        self.crash_losses.push(lost_live_secs);
        self.restart_recorder();
        true
    }

    /// The forced sign-in: revoke, wait for the client to notice, stop it,
    /// sign in again from the CLI and carry on recording. A sign-in the
    /// recorder asks for at any other time is given too, as a doctor would
    /// (a backend with strict refresh-token reuse detection revokes the
    /// sign-in by itself when a refresh's answer is lost to a cut), and
    /// counted apart. True when the recorder was restarted.
    async fn sign_in_if_due(&mut self, elapsed: f64) -> bool {
        if !self.revoked && self.sign_in_at.is_some_and(|at| elapsed >= at) && !self.watch.finishing
        {
            self.revoked = true;
            self.server.revoke_refresh_tokens().await;
            *self
                .faults
                .lock()
                .await
                .entry("refresh tokens revoked")
                .or_default() += 1;
        }
        if !self.watch.sign_in_required {
            return false;
        }
        if self.revoked && !self.signed_again {
            self.signed_again = true;
        } else {
            self.unplanned_sign_ins += 1;
        }
        self.watch.sign_in_required = false;
        self.recorder.child.start_kill().expect("stop the recorder");
        let _ = self.recorder.child.wait().await;
        self.harness.log_in().await;
        self.sign_ins += 1;
        self.restart_recorder();
        true
    }

    fn restart_recorder(&mut self) {
        self.runs += 1;
        self.recorder = self.harness.start_recorder(self.runs);
    }

    /// One line of the recorder's output.
    fn see(&mut self, line: Line) {
        let current = line.run == self.recorder.run;
        if current {
            match line.event["recorded"].as_u64() {
                Some(recorded) => self.recorder.last_progress = Some((line.at, recorded)),
                // The first event comes as capture starts.
                None => {
                    let start = self.recorder.start_offset;
                    self.recorder.last_progress.get_or_insert((line.at, start));
                }
            }
        }
        // A replaced recorder's last lines may still be in the pipe after
        // its successor started: a sign-in it asked for is not asked any
        // more (the successor asks again by itself if the sign-in is still
        // needed), and answering it would count a sign-in nobody needed.
        let asked_before = self.watch.sign_in_required;
        self.watch.see(&line);
        if !current {
            self.watch.sign_in_required = asked_before;
        }
    }

    /// Compares what the server stored with the source and gathers the
    /// figures.
    async fn report(mut self, exit: std::process::ExitStatus, source: &[u8]) -> Report {
        // The process has exited, but its last lines (the "complete" status
        // among them) may still be in the pipe: read it to the end before
        // judging.
        let _ = (&mut self.recorder.reader).await;
        while let Ok(line) = self.lines.try_recv() {
            self.watch.see(&line);
        }
        self.proxy.set_stalled(false);
        self.proxy.set_refusing(false);
        self.proxy.set_throttle(None);

        let plan = &self.harness.plan;
        let (bytes_lost, bytes_duplicated) = lost_and_duplicated(
            source,
            &self.server.session_dir(&self.harness.session_id).await,
            plan.profile,
        );
        let mut faults = self.faults.lock().await.clone();
        if !self.crash_losses.is_empty() {
            faults.insert("crash (kill -9)", self.crash_losses.len() as u32);
        }
        let watch = &self.watch;
        let (completed, claimed_complete) = match plan.profile {
            Profile::V1 => (exit.success() && watch.complete, false),
            Profile::Seed => (
                exit.success() && watch.sent && !watch.complete,
                watch.complete,
            ),
        };
        Report {
            plan: plan.clone(),
            wall: self.started.elapsed(),
            faults,
            reconnects: watch.reconnects,
            refreshes: watch.refreshes,
            sign_ins: self.sign_ins,
            unplanned_sign_ins: self.unplanned_sign_ins,
            bytes_lost,
            bytes_duplicated,
            recoveries: watch.recoveries.clone(),
            stall_detections: watch.stall_detections.clone(),
            stalls_unnoticed: self.stalls_unnoticed,
            crash_losses: self.crash_losses.clone(),
            spool_errors: watch.spool_errors,
            completed,
            claimed_complete,
            too_fast_refusals: self.server.too_fast_refusals(),
            text_delays: watch.text_delays.clone(),
        }
    }
}

/// The run's one stall of the connection in use.
struct StallFault {
    /// Seconds into the run from which it may begin.
    due_at: f64,
    tries: u32,
    /// Since when it holds the connection, and the fault gate meanwhile.
    active: Option<(Instant, OwnedMutexGuard<()>)>,
    over: bool,
}

impl StallFault {
    fn due_at(due_at: f64) -> Self {
        Self {
            due_at,
            tries: 0,
            active: None,
            over: false,
        }
    }

    fn may_begin(&self, elapsed: f64, finishing: bool, streaming: bool) -> bool {
        !self.over && self.active.is_none() && elapsed >= self.due_at && !finishing && streaming
    }

    fn begin(&mut self, exclusive: OwnedMutexGuard<()>) {
        self.tries += 1;
        self.active = Some((Instant::now(), exclusive));
    }

    fn active_since(&self) -> Option<Instant> {
        self.active.as_ref().map(|(since, _)| *since)
    }

    fn finish(&mut self) {
        self.active = None;
        self.over = true;
    }

    /// A little later, a few times at most.
    fn try_again(&mut self, elapsed: f64) {
        self.active = None;
        self.due_at = elapsed + 2.0;
        self.over = self.tries >= STALL_TRIES;
    }
}

/// Seeded faults, with offline windows of 1–60 s of consultation time, each
/// applied while holding `gate`.
async fn inject(
    seed: u64,
    speed: f64,
    proxy: Arc<FaultProxy>,
    server: Arc<Backend>,
    counts: Arc<Mutex<BTreeMap<&'static str, u32>>>,
    gate: Arc<Mutex<()>>,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut restarts = 0;
    loop {
        sleep(Duration::from_millis(rng.random_range(600..2000))).await;
        let _exclusive = gate.lock().await;
        let count = |kind: &'static str| {
            let counts = Arc::clone(&counts);
            async move { *counts.lock().await.entry(kind).or_default() += 1 }
        };
        match rng.random_range(0..100) {
            0..55 => {
                count("cut (RST)").await;
                proxy.cut_all();
            }
            55..75 => {
                count("offline window").await;
                let secs = rng.random_range(1.0..60.0) / speed;
                proxy.set_refusing(true);
                proxy.cut_all();
                sleep(Duration::from_secs_f64(secs.max(0.2))).await;
                proxy.set_refusing(false);
            }
            75..92 => {
                count("throttle").await;
                proxy.set_throttle(Some(rng.random_range(16_000..128_000)));
                sleep(Duration::from_millis(rng.random_range(1000..3000))).await;
                proxy.set_throttle(None);
            }
            _ if restarts < 3 => {
                restarts += 1;
                count("server restart").await;
                server.restart().await;
            }
            _ => {
                count("cut (RST)").await;
                proxy.cut_all();
            }
        }
    }
}

/// Bytes of the source missing from, and repeated in, what the server stored.
pub fn lost_and_duplicated(source: &[u8], session_dir: &Path, profile: Profile) -> (usize, usize) {
    match profile {
        Profile::V1 => {
            let stored = std::fs::read(session_dir.join("audio.pcm")).unwrap_or_default();
            let same_prefix = stored
                .iter()
                .zip(source)
                .take_while(|(a, b)| a == b)
                .count();
            (
                source.len() - same_prefix.min(source.len()),
                stored.len().saturating_sub(source.len()),
            )
        }
        Profile::Seed => {
            let files = seed_pieces(session_dir).unwrap_or_default();
            let total = source.len() / 2;
            let mut covered = vec![false; total];
            let mut received = 0usize;
            let mut hint = 0usize;
            for file in &files {
                let piece = std::fs::read(file).unwrap_or_default();
                if piece.len() < 32 {
                    continue;
                }
                let Some(start) = locate_near(source, &piece, hint) else {
                    // Not a piece of the source at all: count it all as wrong.
                    received += piece.len() / 2;
                    continue;
                };
                let end = (start + piece.len() / 2).min(total);
                if source[start * 2..end * 2] != piece[..(end - start) * 2] {
                    received += piece.len() / 2;
                    continue;
                }
                covered[start..end].iter_mut().for_each(|c| *c = true);
                received += end - start;
                hint = end;
            }
            let missing = covered.iter().filter(|c| !**c).count();
            (missing * 2, (received + missing - total) * 2)
        }
    }
}

/// A seed session's stored files (`seed-*`), in connection order: where checks of seed audio start.
pub fn seed_pieces(session_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(session_dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Where `piece` starts in `source`, in samples, searching just before `hint`
/// first (a seed reconnect replays at most 30 s), then everywhere.
fn locate_near(source: &[u8], piece: &[u8], hint: usize) -> Option<usize> {
    let probe = &piece[..32];
    let samples = source.len() / 2;
    let near = hint.saturating_sub(40 * 16_000)..samples.min(hint + 40 * 16_000);
    near.clone()
        .chain(0..near.start)
        .chain(near.end..samples)
        .find(|&i| source[i * 2..].starts_with(probe))
}
