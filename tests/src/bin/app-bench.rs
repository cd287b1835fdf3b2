//! The desktop app's memory, as the laptop's task manager sees it: the real
//! window under Xvfb (driven over WebDriver), signed in and idle, then
//! recording speech from the virtual microphone with live text coming back
//! from the reference server. Prints the resident memory of the app and of
//! WebKit's helper processes — at the start, peak and end of each phase, one
//! sample a second.
//!
//! Prints figures only; nothing is asserted about them. It does fail when no
//! live text arrived, since the figures would then not be those of a
//! recording with live text. Needs the test session's Secret Service and
//! PulseAudio (run it through `scripts/bench.sh`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use e2e_tests::desktop::{App, Desktop};
use e2e_tests::procfs;
use e2e_tests::server::{EMAIL, Options, PASSWORD, TestServer};
use serde_json::json;
use tokio::sync::watch;

use consult_test_support::pulse;

const PHRASES: [&str; 4] = [
    "blood pressure is normal",
    "the patient reports chest pain",
    "follow up in two weeks",
    "no known drug allergies",
];
const STEP: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Plan {
    idle_secs: u64,
    recording_secs: u64,
    /// Print the current figures this often while recording (0: never), to
    /// see over a long run whether memory levels off or keeps climbing.
    report_secs: u64,
    /// After recording, add this many lines to the live transcript and
    /// print what they cost (0: skip): whether bounding it is worth it.
    dom_lines: usize,
}

fn plan() -> Plan {
    let mut plan = Plan {
        idle_secs: 60,
        recording_secs: 120,
        ..Plan::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--idle-secs" => plan.idle_secs = value(),
            "--recording-secs" => plan.recording_secs = value(),
            "--report-secs" => plan.report_secs = value(),
            "--dom-lines" => plan.dom_lines = value() as usize,
            "--short" => {
                plan.idle_secs = 5;
                plan.recording_secs = 15;
            }
            _ => usage(),
        }
    }
    plan
}

fn usage() -> ! {
    eprintln!(
        "usage: app-bench [--short] [--idle-secs N] [--recording-secs N] [--report-secs N] [--dom-lines N]"
    );
    std::process::exit(2);
}

/// Memory over one phase, per process name (RSS) and for all of them
/// together (PSS, since their RSS would count shared pages twice):
/// first, peak and last sample.
#[derive(Default)]
struct Memory {
    by_process: BTreeMap<String, Span>,
    together: Option<Span>,
}

struct Span {
    first: u64,
    peak: u64,
    last: u64,
}

impl Span {
    fn new(bytes: u64) -> Self {
        Self {
            first: bytes,
            peak: bytes,
            last: bytes,
        }
    }

    fn push(&mut self, bytes: u64) {
        self.peak = self.peak.max(bytes);
        self.last = bytes;
    }

    fn line(&self, what: &str) -> String {
        format!(
            "  {what:<34} {:>6.1} MB at start, {:>6.1} MB peak, {:>6.1} MB at end ({:+.1} MB)",
            mb(self.first),
            mb(self.peak),
            mb(self.last),
            mb(self.last) - mb(self.first)
        )
    }
}

impl Memory {
    /// One sample of the app and everything it started.
    fn sample(&mut self, app_pid: u32) {
        let mut rss: BTreeMap<String, u64> = BTreeMap::new();
        let mut pss = 0;
        for pid in procfs::with_descendants(app_pid) {
            if let (Some(name), Some(bytes)) = (procfs::name(pid), procfs::rss(pid)) {
                *rss.entry(name).or_default() += bytes;
                pss += procfs::pss(pid).unwrap_or(0);
            }
        }
        for (name, bytes) in rss {
            self.by_process
                .entry(name)
                .and_modify(|span| span.push(bytes))
                .or_insert_with(|| Span::new(bytes));
        }
        match &mut self.together {
            Some(span) => span.push(pss),
            None => self.together = Some(Span::new(pss)),
        }
    }

    /// One line with the latest sample of every process, for a time series.
    fn print_latest(&self, elapsed_secs: u64) {
        let mut line = format!("  {:>5} s:", elapsed_secs);
        for (name, span) in &self.by_process {
            line += &format!(" {name} {:.1} MB,", mb(span.last));
        }
        if let Some(together) = &self.together {
            line += &format!(" together {:.1} MB PSS", mb(together.last));
        }
        println!("{line}");
    }

    /// The last sample: every process's RSS added up, and the PSS of all.
    fn last_totals(&self) -> (u64, u64) {
        let rss = self.by_process.values().map(|span| span.last).sum();
        (rss, self.together.as_ref().map_or(0, |span| span.last))
    }

    fn print(&self, phase: &str) {
        println!("{phase}:");
        for (name, span) in &self.by_process {
            println!("{}", span.line(&format!("{name} (RSS)")));
        }
        if let Some(together) = &self.together {
            println!("{}", together.line("all together (PSS)"));
        }
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Samples once a second for `secs`, printing the latest figures every
/// `report_secs` (0: never).
async fn watch_memory(app_pid: u32, secs: u64, report_secs: u64) -> Memory {
    let mut memory = Memory::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for elapsed in 0..=secs {
        tick.tick().await;
        memory.sample(app_pid);
        if report_secs > 0 && elapsed % report_secs == 0 {
            memory.print_latest(elapsed);
        }
    }
    memory
}

/// The finished lines of the live transcript.
async fn final_lines(app: &App) -> usize {
    app.session
        .execute(
            "return document.querySelectorAll('#transcript p:not(.partial)').length;",
            json!([]),
        )
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as usize
}

/// Lines of dictation length, as the transcript renderer adds them (one
/// `<p>` of text each, before the provisional line), followed to the end
/// as the live view follows them. `content_visibility` also sets the CSS
/// that lets WebKit skip laying out and painting lines out of view.
const ADD_LINES: &str = r#"
const [count, contentVisibility] = arguments;
const box = document.querySelector('#transcript');
const marked = 'bench-line';
for (const old of box.querySelectorAll('.' + marked)) old.remove();
document.getElementById('bench-style')?.remove();
if (contentVisibility) {
  const style = document.createElement('style');
  style.id = 'bench-style';
  style.textContent = '#transcript p { content-visibility: auto; contain-intrinsic-size: auto 1.5em; }';
  document.head.append(style);
}
const partial = box.querySelector('p.partial');
for (let i = 0; i < count; i++) {
  const line = document.createElement('p');
  line.className = marked;
  line.textContent = `Line ${i}: the patient reports intermittent chest pain after exercise, ${i % 97} minutes.`;
  box.insertBefore(line, partial);
}
box.scrollTop = box.scrollHeight;
return box.querySelectorAll('p').length;
"#;

/// What `count` more lines in the live transcript cost, with WebKit's
/// defaults and with `content-visibility: auto` on the lines: the memory
/// of the app and its web process (PSS, ten seconds after each change).
/// A long consultation has about 940 final lines an hour.
async fn transcript_dom_cost(app: &App, pid: u32, count: usize) {
    let settle = 10;
    let pss = |memory: Memory| memory.last_totals().1;
    println!(
        "the live transcript's DOM, {count} more lines (PSS of all, {settle} s after each step):"
    );
    let mut before = pss(watch_memory(pid, settle, 0).await);
    // Twice each, alternating: the garbage of one step is still being
    // collected during the next, and the repeat shows how much that moves.
    let steps = [
        ("WebKit's defaults", false),
        ("content-visibility: auto", true),
    ];
    for (label, content_visibility) in steps.into_iter().cycle().take(4) {
        let shown = app
            .session
            .execute(ADD_LINES, json!([count, content_visibility]))
            .await
            .expect("the lines are added");
        let after = pss(watch_memory(pid, settle, 0).await);
        println!(
            "  {label:<26} {:>7.1} MB before, {:>7.1} MB with them ({:+.1} MB; {:.1} kB a line; {shown} lines shown)",
            mb(before),
            mb(after),
            mb(after) - mb(before),
            (after as f64 - before as f64) / count as f64 / 1000.0,
        );
        app.session
            .execute(ADD_LINES, json!([0, false]))
            .await
            .expect("the lines are removed");
        before = pss(watch_memory(pid, settle, 0).await);
    }
}

/// Speaks the phrases into the microphone, one after another, until `stop`.
async fn keep_talking(dir: &Path, mut stop: watch::Receiver<bool>) {
    let spoken: Vec<_> = PHRASES
        .iter()
        .map(|p| pulse::speech_wav(dir, p, 0.3, 1.5).0)
        .collect();
    for wav in spoken.iter().cycle() {
        let mut player = pulse::play(wav);
        tokio::select! {
            _ = player.wait() => {}
            // The one change there is: stop.
            _ = stop.changed() => {
                let _ = player.kill().await;
                return;
            }
        }
    }
}

/// A Tauri window with the app's Tauri features and nothing else, on the
/// same display, idle for `secs` once its web process runs.
async fn floor(desktop: &Desktop, secs: u64) -> Memory {
    let mut window = desktop.spawn_beside(&e2e_tests::desktop::built_binary("floor-window"));
    let pid = window.id().expect("the floor window runs");
    let deadline = tokio::time::Instant::now() + STEP;
    // Its page is shown once WebKit's web process exists (the kernel keeps
    // 15 characters of a process name).
    while !procfs::with_descendants(pid)
        .into_iter()
        .filter_map(procfs::name)
        .any(|name| name.starts_with("WebKitWebProces"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the floor window showed no page"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let memory = watch_memory(pid, secs, 0).await;
    let _ = window.kill().await;
    memory
}

/// The app's memory as a multiple of the floor's, at the end of each phase.
fn print_ratios(idle: &Memory, recording: &Memory, floor: &Memory) {
    let (floor_rss, floor_pss) = floor.last_totals();
    println!(
        "the app as a multiple of the floor (last samples; RSS added up over processes, PSS of all):"
    );
    for (phase, memory) in [("idle", idle), ("after recording", recording)] {
        let (rss, pss) = memory.last_totals();
        println!(
            "  {phase:<16} RSS {:.1} / {:.1} MB = {:.2}x, PSS {:.1} / {:.1} MB = {:.2}x",
            mb(rss),
            mb(floor_rss),
            rss as f64 / floor_rss as f64,
            mb(pss),
            mb(floor_pss),
            pss as f64 / floor_pss as f64
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let plan = plan();
    let work = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(Options::new().grammar(&PHRASES, work.path())).await;
    let desktop = Desktop::with_server("app-bench", &server.http()).await;
    let app = desktop.launch().await;
    app.sign_in(EMAIL, PASSWORD).await;
    app.wait_shown("#view-recorder", STEP).await;
    let pid = app.pid().expect("the app's process is found");

    let idle = watch_memory(pid, plan.idle_secs, 0).await;
    idle.print(&format!("signed in, idle ({} s)", plan.idle_secs));

    app.type_into("#reference", "Benchmark").await;
    app.session.click("#record").await.unwrap();
    app.wait_text("#status-pill", "Connected", STEP).await;
    let (stop_talking, stop) = watch::channel(false);
    let talking = tokio::spawn({
        let dir = work.path().to_owned();
        async move { keep_talking(&dir, stop).await }
    });
    if plan.report_secs > 0 {
        println!("recording, every {} s:", plan.report_secs);
    }
    let memory = watch_memory(pid, plan.recording_secs, plan.report_secs).await;
    let _ = stop_talking.send(true);
    let _ = talking.await;
    let lines = final_lines(&app).await;
    memory.print(&format!(
        "recording with live text ({} s, {lines} final lines)",
        plan.recording_secs
    ));
    app.session.click("#record").await.unwrap();
    app.wait_text("#status-pill", "Uploaded", STEP).await;
    if plan.dom_lines > 0 {
        transcript_dom_cost(&app, pid, plan.dom_lines).await;
    }
    app.quit().await;

    let floor = floor(&desktop, plan.idle_secs).await;
    floor.print(&format!(
        "the floor: a bare Tauri window, same features, same display, idle ({} s)",
        plan.idle_secs
    ));
    print_ratios(&idle, &memory, &floor);
    if lines == 0 {
        eprintln!(
            "error: no live text arrived; these are not the figures of a recording with live text"
        );
        std::process::exit(1);
    }
}
