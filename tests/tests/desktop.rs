//! The whole app as a doctor uses it: the real window (WebKitGTK) driven over
//! WebDriver under Xvfb, speech played into a virtual microphone (PulseAudio
//! null sink), the real Secret Service keychain, and the reference server
//! recognising a fixed list of phrases — with the network and the sign-in
//! failing on purpose. Every step waits on what the window shows, with a
//! timeout; screenshots of each step are kept in `target/desktop-screenshots/`.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::time::Duration;

use consult_recorder::auth::{EntryKey, Keychain, KeychainBackend};
use e2e_tests::desktop::webdriver::keys;
use e2e_tests::desktop::{App, Desktop};
use e2e_tests::server::{EMAIL, Options, PASSWORD, TestServer};
use serde_json::json;

use consult_test_support::pulse;

/// One virtual microphone: the tests take turns.
static MICROPHONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SHORT: Duration = Duration::from_secs(20);
const SPEECH: Duration = Duration::from_secs(60);

const PHRASES: [&str; 4] = [
    "blood pressure is normal",
    "the patient reports chest pain",
    "follow up in two weeks",
    "no known drug allergies",
];

/// "ok" when, in the window as it is, the tabs sit on one row and the record
/// button, timer, status and the live transcript's last line are in view;
/// otherwise what is not (the wait's last answer names it).
const SMALL_WINDOW_CHECK: &str = r#"
const inView = (e) => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; };
if (window.innerWidth > 500) return "window still " + window.innerWidth + " wide";
const tabs = [...document.querySelectorAll("nav button")].map((b) => b.offsetTop);
if (new Set(tabs).size !== 1) return "tabs on " + new Set(tabs).size + " rows";
for (const id of ["record", "elapsed", "status-pill", "recording-for"]) {
  if (!inView(document.getElementById(id))) return id + " out of view";
}
const box = document.getElementById("transcript");
const last = [...box.querySelectorAll("p")].pop();
if (!last || !inView(box)) return "transcript out of view";
const b = box.getBoundingClientRect(), l = last.getBoundingClientRect();
if (l.top < b.top || l.bottom > b.bottom + 1) return "last line not in view";
return "ok";
"#;

/// A consultation id as a clinic's system might show it.
const CONSULTATION_ID: &str = "enc-2026-0042";

/// What a test here works in: the microphone to itself, a scratch folder, a server, a desktop.
struct Practice {
    // Dropped in this order: the microphone is let go last.
    desktop: Desktop,
    server: TestServer,
    work: tempfile::TempDir,
    _mic: tokio::sync::MutexGuard<'static, ()>,
}

impl Practice {
    /// Sets it up (screenshots under `name`): where each test but the outage's begins.
    async fn open(name: &str) -> Self {
        let mic = MICROPHONE.lock().await;
        let work = tempfile::tempdir().unwrap();
        let server = TestServer::start(Options::new().grammar(&PHRASES, work.path())).await;
        let desktop = Desktop::with_server(name, &server.http()).await;
        Self {
            desktop,
            server,
            work,
            _mic: mic,
        }
    }
}

/// The finished lines of the live transcript (not the grey provisional one).
async fn finals(app: &App) -> Vec<String> {
    app.session
        .execute(
            "return [...document.querySelectorAll('#transcript p:not(.partial):not(.gap) .words')].map(w => w.textContent);",
            json!([]),
        )
        .await
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Waits until the transcript's finished lines are exactly `expected`.
async fn wait_for_finals(app: &App, expected: &[&str]) {
    let wanted: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    app.wait_for(
        &format!("the transcript {expected:?}"),
        SPEECH,
        async |_| {
            let lines = finals(app).await;
            (lines == wanted).then_some(())
        },
    )
    .await;
}

async fn status(app: &App) -> String {
    app.text("#status-pill").await.unwrap_or_default()
}

async fn wait_status(app: &App, label: &str, timeout: Duration) {
    app.wait_for(&format!("status {label}"), timeout, async |_| {
        (status(app).await == label).then_some(())
    })
    .await;
}

/// Starts recording and says the first phrase, which must come back: a recording under way.
async fn record_the_first_phrase(app: &App, dir: &Path) {
    app.session.click("#record").await.unwrap();
    wait_status(app, "Connected", SHORT).await;
    say(dir, PHRASES[0]).await;
    wait_for_finals(app, &PHRASES[..1]).await;
}

/// Stops the recording and waits until it is uploaded, as every test that records ends.
async fn stop_and_upload(app: &App) {
    app.session.click("#record").await.unwrap();
    wait_status(app, "Uploaded", SPEECH).await;
}

/// Plays `phrase` into the microphone and waits for the player to finish.
async fn say(dir: &Path, phrase: &str) {
    let (wav, _) = pulse::speech_wav(dir, phrase, 0.3, 1.5);
    let played = pulse::play(&wav).wait().await.unwrap();
    assert!(played.success(), "paplay played {phrase:?}");
}

/// Clicks the `label` button in History's row for `reference`.
async fn click_in_row(app: &App, reference: &str, label: &str) {
    let clicked = app
        .session
        .execute(
            "const row = [...document.querySelectorAll('#history-rows tr')].find(r => r.textContent.includes(arguments[0]));\
             const b = row && [...row.querySelectorAll('button')].find(b => b.textContent === arguments[1]);\
             if (b) b.click();\
             return !!b;",
            json!([reference, label]),
        )
        .await
        .unwrap();
    assert_eq!(
        clicked,
        json!(true),
        "no {label:?} button for {reference:?}"
    );
}

/// Presses Tab (Shift+Tab when `backwards`) until `target` has the focus;
/// after every press something must have it.
async fn tab_to(app: &App, target: &str, backwards: bool) {
    let mut path = Vec::new();
    for _ in 0..30 {
        if backwards {
            app.session.chord(&[keys::SHIFT, keys::TAB]).await.unwrap();
        } else {
            app.session.press(&[keys::TAB]).await.unwrap();
        }
        let now = app.session.focused_id().await.unwrap();
        assert_ne!(now, "body", "the focus was lost after {path:?}");
        path.push(now.clone());
        if now == target {
            return;
        }
    }
    panic!("{target} was not reached with the keyboard: {path:?}");
}

/// Selects all of the focused field's text (Ctrl+A) and types `text` over it.
async fn replace_field_text(app: &App, text: &str) {
    app.session.chord(&[keys::CONTROL, "a"]).await.unwrap();
    type_keys(app, text).await;
}

/// Types `text` with the keyboard into whatever has the focus.
async fn type_keys(app: &App, text: &str) {
    let chars: Vec<String> = text.chars().map(String::from).collect();
    let chars: Vec<&str> = chars.iter().map(String::as_str).collect();
    app.session.press(&chars).await.unwrap();
}

async fn sign_in(app: &App) {
    app.sign_in(EMAIL, PASSWORD).await;
}

/// The seconds in "Offline — 12 s recorded on this computer…".
fn offline_secs(detail: &str) -> Option<f64> {
    let rest = detail.strip_prefix("Offline — ")?;
    let (number, unit) = rest.split_once(' ')?;
    (unit.starts_with("s "))
        .then(|| number.parse().ok())
        .flatten()
}

fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(all_files(&path));
        } else {
            found.push((
                path.display().to_string(),
                std::fs::read(&path).unwrap_or_default(),
            ));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, tauri-driver, a Secret Service and PulseAudio; run scripts/test.sh"]
async fn a_doctor_signs_in_once_records_and_finds_the_transcript_in_history() {
    let Practice {
        _mic,
        work,
        server,
        desktop,
    } = Practice::open("first-run").await;
    let url = server.http();

    // 1. First run: sign in; the refresh token is in the keychain, in no file.
    let app = desktop.launch().await;
    assert_eq!(
        app.session
            .visible_text("#signin-server")
            .await
            .unwrap()
            .unwrap_or_default(),
        ""
    );
    sign_in(&app).await;
    app.wait_shown("#view-recorder", SHORT).await;
    app.shot("01-signed-in").await;
    let keychain = Keychain::start(KeychainBackend::Platform);
    let token = keychain
        .load(&EntryKey::refresh_token(&url, EMAIL))
        .await
        .unwrap()
        .expect("the refresh token is in the keychain");
    for (path, bytes) in all_files(desktop.home.path()) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(token.expose()),
            "{path} holds the refresh token"
        );
        assert!(!text.contains(PASSWORD), "{path} holds the password");
    }

    // 2. Quit and relaunch: signed in without a password prompt.
    app.quit().await;
    let app = desktop.launch().await;
    app.wait_shown("#view-recorder", SHORT).await;
    assert_eq!(app.text("#view-signin").await, None, "no sign-in form");
    let account = app.raw_text("#account-line").await.unwrap_or_default();
    assert!(account.contains(EMAIL), "{account}");
    app.shot("02-relaunched-signed-in").await;

    // 3. Record: the phrase comes back, exactly, in the live transcript.
    app.type_into("#reference", "Room 4, 10:30").await;
    // The consultation's id as the clinic's system shows it, pasted in.
    app.type_into("#consultation-id", CONSULTATION_ID).await;
    // Space starts it; the button keeps the keyboard focus for the Stop.
    app.session.send_keys("#record", " ").await.unwrap();
    wait_status(&app, "Connected", SHORT).await;
    assert_eq!(app.session.focused_id().await.unwrap(), "record");
    assert_eq!(
        app.text("#recording-for").await.as_deref(),
        Some("Recording: Room 4, 10:30"),
        "whose consultation it is stays beside the timer"
    );
    app.shot("03-recording-connected").await;
    say(work.path(), PHRASES[0]).await;
    wait_for_finals(&app, &PHRASES[..1]).await;
    app.shot("04-live-transcript").await;

    // 5. The smallest window: one row of tabs; the button, the timer, the
    // status and the transcript's last line all in view while recording.
    app.session.set_window_size(480, 560).await.unwrap();
    app.wait_for("the small-window layout", SHORT, async |s| {
        s.execute(SMALL_WINDOW_CHECK, json!([]))
            .await
            .ok()
            .filter(|v| v.as_str() == Some("ok"))
    })
    .await;
    app.shot("04b-small-window").await;
    app.session.set_window_size(960, 720).await.unwrap();

    // 6. Stop (Space again): the screen starts clean for the next patient;
    // the history lists it as uploaded; the export holds the text.
    app.session.send_keys("#record", " ").await.unwrap();
    wait_status(&app, "Uploaded", SPEECH).await;
    assert_eq!(app.session.focused_id().await.unwrap(), "record");
    assert_eq!(app.session.field_value("#reference").await.unwrap(), "");
    assert_eq!(
        app.session.field_value("#consultation-id").await.unwrap(),
        ""
    );
    assert!(
        finals(&app).await.is_empty(),
        "the last patient's text is gone"
    );
    assert_eq!(app.text("#recording-for").await, None);
    app.shot("05-ready-for-the-next-patient").await;

    // The next patient: only their words, under their reference.
    app.type_into("#reference", "Room 5, 11:00").await;
    app.session.send_keys("#record", " ").await.unwrap();
    wait_status(&app, "Connected", SHORT).await;
    assert_eq!(
        app.text("#recording-for").await.as_deref(),
        Some("Recording: Room 5, 11:00")
    );
    say(work.path(), PHRASES[1]).await;
    wait_for_finals(&app, &PHRASES[1..2]).await;
    app.session.send_keys("#record", " ").await.unwrap();
    wait_status(&app, "Uploaded", SPEECH).await;
    assert!(finals(&app).await.is_empty());

    app.session
        .click("nav button[data-view=history]")
        .await
        .unwrap();
    app.wait_text("#history-rows", "Room 4, 10:30", SHORT).await;
    app.wait_text("#history-rows", "Room 5, 11:00", SHORT).await;
    app.wait_for("both uploaded", SHORT, async |_| {
        let rows = app.raw_text("#history-rows").await.unwrap_or_default();
        (rows.matches("Uploaded").count() == 2).then_some(())
    })
    .await;
    app.shot("05-history").await;
    click_in_row(&app, "Room 5, 11:00", "Open").await;
    app.wait_text("#history-transcript", PHRASES[1], SHORT)
        .await;
    assert_eq!(
        app.raw_text("#history-transcript .words").await.as_deref(),
        Some(PHRASES[1]),
        "the second consultation holds only its own words"
    );
    // Each line carries its time from the start; clicking the time marks
    // the line and brings it into view among its neighbours.
    let time = app
        .raw_text("#history-transcript time")
        .await
        .unwrap_or_default();
    assert!(time.starts_with("0:0"), "the line's time: {time:?}");
    app.session.click("#history-transcript a").await.unwrap();
    app.wait_for("the clicked line marked as current", SHORT, async |_| {
        app.raw_text("#history-transcript p[aria-current=true] .words")
            .await
            .filter(|words| words == PHRASES[1])
    })
    .await;
    app.shot("05b-line-in-context").await;
    assert!(
        server.session_dir(CONSULTATION_ID).is_dir(),
        "the server filed it under the clinic's id"
    );
    click_in_row(&app, "Room 4, 10:30", "Open").await;
    app.wait_text(
        "#history-detail-id",
        &format!("Consultation ID: {CONSULTATION_ID}"),
        SHORT,
    )
    .await;
    click_in_row(&app, "Room 4, 10:30", "Export .txt").await;
    let note = app.wait_text("#history-note", "Saved to ", SHORT).await;
    let path = note.trim_start_matches("Saved to ").trim();
    let exported = std::fs::read_to_string(path).unwrap();
    assert!(
        exported.starts_with("[0:0") && exported.ends_with(&format!("] {}\n", PHRASES[0])),
        "the export is the transcript, with each line's time: {exported}"
    );
    let name = Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let today = consult_recorder::clock::utc_text(consult_recorder::clock::unix_secs());
    assert!(
        name.starts_with(&format!("consultation-{}-", &today[..10]))
            && name.ends_with("-Room-4--10-30.txt"),
        "the file is named by date and reference: {name}"
    );
    app.shot("06-exported").await;

    // "Show in folder" opens the desktop's file manager on the export's
    // folder (a stand-in here, which writes down what it was asked to open).
    app.session.click("#history-show").await.unwrap();
    let asked = app
        .wait_for("the file manager", SHORT, async |_| {
            std::fs::read_to_string(desktop.home.path().join(e2e_tests::desktop::OPENED_LOG))
                .ok()
                .filter(|text| !text.is_empty())
        })
        .await;
    assert_eq!(
        asked.trim(),
        Path::new(path).parent().unwrap().display().to_string()
    );
    app.wait_text("#history-note", "Opened the folder of ", SHORT)
        .await;

    // Copy: to the clipboard, or selected for Ctrl+C where it is refused.
    app.session.click("#history-copy").await.unwrap();
    let copied = app.wait_text("#history-note", "ranscript", SHORT).await;
    assert!(
        copied == "Transcript copied." || copied.contains("press Ctrl+C"),
        "{copied}"
    );

    // History with its rows, a transcript open: no serious accessibility
    // fault either.
    let mut report = vec![("history with rows", accessibility_violations(&app).await)];

    // Delete asks in the app's own dialog, Cancel focused; Cancel keeps it.
    click_in_row(&app, "Room 4, 10:30", "Delete").await;
    app.wait_for("the delete dialog", SHORT, async |s| {
        s.execute(
            "return document.getElementById('confirm-delete').open;",
            json!([]),
        )
        .await
        .ok()
        .and_then(|open| open.as_bool())
        .filter(|open| *open)
    })
    .await;
    assert_eq!(
        app.session.focused_id().await.unwrap(),
        "confirm-delete-cancel"
    );
    app.shot("07-delete-asks").await;
    report.push(("delete dialog", accessibility_violations(&app).await));
    assert_no_serious_violations(&report);
    app.session.click("#confirm-delete-cancel").await.unwrap();
    app.wait_text("#history-rows", "Room 4, 10:30", SHORT).await;
    for reference in ["Room 4, 10:30", "Room 5, 11:00"] {
        click_in_row(&app, reference, "Delete").await;
        app.session.click("#confirm-delete-confirm").await.unwrap();
        app.wait_for("the row gone", SHORT, async |_| {
            let rows = app.raw_text("#history-rows").await.unwrap_or_default();
            (!rows.contains(reference)).then_some(())
        })
        .await;
    }
    app.wait_shown("#history-empty", SHORT).await;

    // 7. Sign out and in again (a shared clinic computer): nothing of the
    // last consultation is on screen, not even a reference typed but unused.
    app.session
        .click("nav button[data-view=recorder]")
        .await
        .unwrap();
    app.type_into("#reference", "Room 9, Mrs Shah").await;
    app.session
        .click("nav button[data-view=settings]")
        .await
        .unwrap();
    app.session.click("#signout").await.unwrap();
    app.wait_shown("#view-signin", SHORT).await;
    sign_in(&app).await;
    app.wait_shown("#view-recorder", SHORT).await;
    assert_eq!(app.session.field_value("#reference").await.unwrap(), "");
    assert!(finals(&app).await.is_empty());
    assert_eq!(
        app.text("#history-detail").await,
        None,
        "no transcript left open"
    );
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, tauri-driver, a Secret Service and PulseAudio; run scripts/test.sh"]
async fn a_server_outage_and_a_revoked_sign_in_lose_no_word() {
    let _mic = MICROPHONE.lock().await;
    let work = tempfile::tempdir().unwrap();
    // Short access tokens: the recording lives through several refreshes.
    let options = || {
        Options::new()
            .grammar(&PHRASES, work.path())
            .with(|c| c.access_ttl = 15)
    };
    let server = TestServer::start(options()).await;
    let url = server.http();
    let addr = server.server.addr();
    let desktop = Desktop::with_server("outage", &url).await;
    let app = desktop.launch_signed_in(EMAIL, PASSWORD).await;
    record_the_first_phrase(&app, work.path()).await;

    // 4. The server stops: reconnecting, then offline with the kept time
    // growing while the doctor goes on talking.
    let stopped_at = std::time::Instant::now();
    let dir = server.stop().await;
    // Said in the banner, without a click; the wait is printed, not timed.
    app.wait_text(
        "#banner",
        "Connection lost — still recording safely on this computer; the text will catch up",
        SHORT,
    )
    .await;
    println!(
        "outage banner shown {} ms after the server stopped",
        stopped_at.elapsed().as_millis()
    );
    wait_status(&app, "Reconnecting", SHORT).await;
    app.shot("01-reconnecting").await;
    wait_status(&app, "Offline", SHORT).await;
    let first = app
        .wait_for("an offline time", SHORT, async |_| {
            offline_secs(&app.raw_text("#status-detail").await.unwrap_or_default())
        })
        .await;
    say(work.path(), PHRASES[1]).await;
    app.wait_for("the offline time to grow", SHORT, async |_| {
        offline_secs(&app.raw_text("#status-detail").await.unwrap_or_default())
            .filter(|now| *now > first + 2.0)
    })
    .await;
    app.session.click("#status-pill").await.unwrap(); // the detail, for the picture
    app.shot("02-offline-buffering").await;
    let server = TestServer::start_in(options().bind(addr), dir).await;
    app.wait_for("the outage banner to go", SPEECH, async |_| {
        app.text("#banner").await.is_none().then_some(())
    })
    .await;
    // Back: the backlog goes up, then live again; every phrase once, in order.
    app.wait_for("catching up or connected", SPEECH, async |_| {
        matches!(status(&app).await.as_str(), "Catching up" | "Connected").then_some(())
    })
    .await;
    app.shot("03-back-online").await;
    wait_status(&app, "Connected", SPEECH).await;
    say(work.path(), PHRASES[2]).await;
    wait_for_finals(&app, &PHRASES[..3]).await;
    app.shot("04-all-phrases").await;

    // 5. IT revokes every sign-in: the banner asks to sign in again, the
    // recording carries on, and after signing in nothing is missing.
    let revoked = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{url}/admin/revoke-refresh-tokens"))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    app.wait_text("#banner", "Please sign in again", SPEECH)
        .await;
    assert_eq!(
        app.text("#record").await.as_deref(),
        Some("Stop recording"),
        "the recording goes on"
    );
    say(work.path(), PHRASES[3]).await;
    app.shot("05-sign-in-needed").await;
    app.type_into("#signin-password", PASSWORD).await;
    app.session.click("#signin-submit").await.unwrap();
    app.wait_for("the banner to go", SHORT, async |_| {
        app.text("#banner").await.is_none().then_some(())
    })
    .await;
    wait_for_finals(&app, &PHRASES).await;
    app.shot("06-complete-after-sign-in").await;
    stop_and_upload(&app).await;
    app.quit().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, tauri-driver, a Secret Service and PulseAudio; run scripts/test.sh"]
async fn words_said_during_a_pause_appear_nowhere_and_its_clock_stops() {
    let practice = Practice::open("pause").await;
    let app = practice.desktop.launch_signed_in(EMAIL, PASSWORD).await;
    record_the_first_phrase(&app, practice.work.path()).await;

    // Pause, and the room goes on talking: none of it is recorded.
    app.session.click("#pause").await.unwrap();
    app.wait_text("#status-pill", "Paused", SHORT).await;
    assert_eq!(app.text("#pause").await.as_deref(), Some("Resume"));
    let clock_at_pause = app.text("#elapsed").await;
    say(practice.work.path(), PHRASES[1]).await;
    assert_eq!(
        app.text("#elapsed").await,
        clock_at_pause,
        "the clock stands still while paused"
    );
    app.shot("01-paused").await;

    app.session.click("#pause").await.unwrap();
    app.wait_text("#pause", "Pause", SHORT).await;
    say(practice.work.path(), PHRASES[2]).await;
    wait_for_finals(&app, &[PHRASES[0], PHRASES[2]]).await;
    let marker = app.raw_text("#transcript .gap").await.unwrap_or_default();
    assert!(
        marker.contains("Paused here"),
        "the pause is marked: {marker:?}"
    );
    app.shot("02-resumed").await;
    stop_and_upload(&app).await;

    // What the server recognised, as History keeps it: nothing of the pause.
    app.session
        .click("nav button[data-view=history]")
        .await
        .unwrap();
    app.wait_text("#history-rows", "Uploaded", SHORT).await;
    app.session.click("#history-rows button").await.unwrap();
    app.wait_text("#history-transcript", PHRASES[2], SHORT)
        .await;
    let kept: Vec<String> = serde_json::from_value(
        app.session
            .execute(
                "return [...document.querySelectorAll('#history-transcript .words')].map(w => w.textContent);",
                json!([]),
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(kept, vec![PHRASES[0], PHRASES[2]]);
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, tauri-driver, a Secret Service and PulseAudio; run scripts/test.sh"]
async fn an_unplugged_microphone_is_reported_and_recording_carries_on() {
    let practice = Practice::open("microphone").await;
    let app = practice.desktop.launch_signed_in(EMAIL, PASSWORD).await;
    record_the_first_phrase(&app, practice.work.path()).await;
    // No logind in the window's world (see the harness): the doctor is told
    // the computer may sleep, apart from any microphone notice.
    app.wait_text("#awake-note", "may go to sleep", SHORT).await;

    // 7. Unplug: the window says so; plug back: it says so and goes on.
    let mut replug = pulse::Replug { armed: true };
    pulse::unplug();
    let lost = app.wait_text("#mic-note", "icrophone", SHORT).await;
    app.shot("01-unplugged").await;
    replug.armed = false;
    pulse::plug_in();
    app.wait_for("the microphone to come back", SHORT, async |_| {
        app.text("#mic-note").await.filter(|note| *note != lost)
    })
    .await;
    app.shot("02-plugged-back").await;
    assert_eq!(app.text("#record").await.as_deref(), Some("Stop recording"));
    say(practice.work.path(), PHRASES[1]).await;
    wait_for_finals(&app, &PHRASES[..2]).await;
    app.shot("03-speech-after-replug").await;
    stop_and_upload(&app).await;
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, tauri-driver, a Secret Service and PulseAudio; run scripts/test.sh"]
async fn a_link_from_the_clinic_system_opens_the_consultation_and_records_after_the_doctor_confirms()
 {
    let Practice {
        _mic,
        work,
        server,
        desktop,
    } = Practice::open("deep-link").await;
    let app = desktop.launch_signed_in(EMAIL, PASSWORD).await;
    app.quit().await;

    // The clinic system opens a link: the app starts with it, signed in,
    // and asks before recording anything.
    let id = "ENC-2026-0077";
    let link = format!(
        "consult-recorder://record?session_id={id}&reference=Room%205%2C%20Mrs%20Patel&language=en-GB"
    );
    let app = desktop.launch_with(&[&link]).await;
    app.wait_shown("#link-offer", SHORT).await;
    let offer = app
        .raw_text("#link-offer-details")
        .await
        .unwrap_or_default();
    for part in [id, "Room 5, Mrs Patel", "en-GB"] {
        assert!(offer.contains(part), "{part} in {offer:?}");
    }
    app.shot("01-link-offered").await;
    assert_eq!(
        app.text("#record").await.as_deref(),
        Some("Start recording")
    );
    assert!(
        !server.session_dir(id).exists(),
        "nothing reached the server before the doctor confirmed"
    );

    app.session.click("#link-offer-start").await.unwrap();
    wait_status(&app, "Connected", SHORT).await;
    assert_eq!(app.text("#link-offer").await, None, "the offer is gone");
    assert_eq!(
        app.session
            .execute("return document.activeElement.id;", json!([]))
            .await
            .unwrap(),
        json!("record"),
        "the Stop button has the focus"
    );
    say(work.path(), PHRASES[1]).await;
    wait_for_finals(&app, &PHRASES[1..2]).await;
    app.shot("02-recording-from-link").await;

    // A link while recording: the desktop starts a second copy, which hands
    // the link over and exits; the running one refuses it, naming it.
    let busy = desktop
        .launch_again(&["consult-recorder://record?session_id=ENC-2026-0078"])
        .await;
    assert!(busy.success(), "the second launch handed over: {busy}");
    let refused = app.wait_text("#link-refused", "ENC-2026-0078", SHORT).await;
    assert!(refused.contains("already running"), "{refused}");
    assert_eq!(app.text("#record").await.as_deref(), Some("Stop recording"));
    app.shot("03-second-link-refused").await;

    stop_and_upload(&app).await;
    assert!(
        server.session_dir(id).is_dir(),
        "the server filed it under the link's id"
    );

    // A malformed link is refused with its reason and starts nothing.
    let malformed = desktop
        .launch_again(&["consult-recorder://record?reference=Room%206"])
        .await;
    assert!(malformed.success(), "{malformed}");
    app.wait_text("#link-refused", "session_id is missing", SHORT)
        .await;
    assert_eq!(app.text("#link-offer").await, None);
    assert_eq!(
        app.text("#record").await.as_deref(),
        Some("Start recording")
    );
    app.shot("04-malformed-link-refused").await;
    app.quit().await;
}

/// axe-core's rules for WCAG 2.0–2.2 A and AA, run inside the app's WebKit.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } })
  .then((r) => done(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }))))
  .catch((e) => done("axe failed: " + e));
"#;

/// The violations axe-core finds in what the window shows now.
async fn accessibility_violations(app: &App) -> Vec<serde_json::Value> {
    let axe = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/node_modules/axe-core/axe.min.js"),
    )
    .expect("axe-core is installed with the UI's npm packages (scripts/build-ui.sh)");
    app.session
        .execute(&format!("{axe}\nreturn typeof axe;"), json!([]))
        .await
        .unwrap();
    let found = app.session.execute_async(AXE_RUN, json!([])).await.unwrap();
    match found {
        serde_json::Value::Array(violations) => violations,
        other => panic!("axe-core did not run: {other}"),
    }
}

/// Prints what axe found in each view and fails on anything serious or
/// critical.
fn assert_no_serious_violations(report: &[(&str, Vec<serde_json::Value>)]) {
    let mut serious = Vec::new();
    for (view, violations) in report {
        println!(
            "accessibility, {view}: {} kinds of violation",
            violations.len()
        );
        for v in violations {
            println!("  {view}: {v}");
            if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                serious.push(format!("{view}: {v}"));
            }
        }
    }
    assert!(serious.is_empty(), "serious or critical: {serious:#?}");
}

/// WCAG's contrast ratio of two `#rrggbb` colours.
fn contrast(a: &str, b: &str) -> f64 {
    let luminance = |hex: &str| {
        let hex = hex.trim().trim_start_matches('#');
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    };
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, tauri-driver, a Secret Service and PulseAudio; run scripts/test.sh"]
async fn every_view_passes_an_automated_accessibility_check() {
    let practice = Practice::open("accessibility").await;
    let app = practice.desktop.launch().await;
    app.wait_shown("#view-signin", SHORT).await;
    let mut report = Vec::new();
    report.push(("sign-in", accessibility_violations(&app).await));

    // The keyboard alone: sign in, start, stop, change views; where the
    // focus is is checked after every key.
    assert_eq!(app.session.focused_id().await.unwrap(), "signin-title");
    tab_to(&app, "signin-email", false).await;
    type_keys(&app, EMAIL).await;
    tab_to(&app, "signin-password", false).await;
    type_keys(&app, PASSWORD).await;
    app.session.press(&[keys::ENTER]).await.unwrap();
    app.wait_shown("#view-recorder", SHORT).await;
    assert_eq!(app.session.focused_id().await.unwrap(), "recorder-title");
    report.push(("record", accessibility_violations(&app).await));
    tab_to(&app, "record", false).await;
    app.session.press(&[keys::SPACE]).await.unwrap();
    wait_status(&app, "Connected", SHORT).await;
    assert_eq!(app.session.focused_id().await.unwrap(), "record");
    app.session.press(&[keys::SPACE]).await.unwrap();
    wait_status(&app, "Uploaded", SPEECH).await;
    assert_eq!(app.session.focused_id().await.unwrap(), "record");
    for view in ["history", "settings", "about"] {
        tab_to(&app, &format!("tab-{view}"), true).await;
        app.session.press(&[keys::ENTER]).await.unwrap();
        app.wait_shown(&format!("#view-{view}"), SHORT).await;
        assert_eq!(
            app.session.focused_id().await.unwrap(),
            format!("{view}-title"),
            "the focus moves to the view's heading"
        );
        report.push((view, accessibility_violations(&app).await));
        if view == "settings" {
            // A shortcut that cannot work is refused beside its field; a good
            // one is "Saved". Typed, and the form sent, with the keyboard.
            tab_to(&app, "settings-shortcut", false).await;
            replace_field_text(&app, "Ctrl+Banana").await;
            app.session.press(&[keys::ENTER]).await.unwrap();
            app.wait_text(
                "#settings-global_shortcut-error",
                "is not a shortcut",
                SHORT,
            )
            .await;
            assert_eq!(app.text("#settings-saved").await, None);
            assert_eq!(app.session.focused_id().await.unwrap(), "settings-shortcut");
            replace_field_text(&app, "CommandOrControl+Shift+R").await;
            app.session.press(&[keys::ENTER]).await.unwrap();
            app.wait_text("#settings-saved", "Saved.", SHORT).await;
            assert_eq!(app.text("#settings-global_shortcut-error").await, None);
            assert_eq!(app.session.focused_id().await.unwrap(), "settings-shortcut");
        }
    }
    assert_no_serious_violations(&report);

    // What axe does not measure: the focus ring and the level bar against
    // what they sit on (WCAG 2.2, 1.4.11: 3:1 for parts of the interface).
    let colours = app
        .session
        .execute(
            "const s = getComputedStyle(document.documentElement);\
             return ['--focus', '--bg', '--panel', '--ok', '--warn', '--error'].map((v) => s.getPropertyValue(v).trim());",
            json!([]),
        )
        .await
        .unwrap();
    let colours: Vec<String> = serde_json::from_value(colours).unwrap();
    let [focus, page, panel, ok, warn, error] = &colours[..] else {
        panic!("{colours:?}");
    };
    for background in [page, panel] {
        let ratio = contrast(focus, background);
        assert!(
            ratio >= 3.0,
            "focus ring {focus} on {background}: {ratio:.2}:1"
        );
    }
    for fill in [ok, warn, error] {
        let ratio = contrast(fill, "#ffffff");
        assert!(
            ratio >= 3.0,
            "level bar {fill} on its white track: {ratio:.2}:1"
        );
    }
    app.quit().await;
}
