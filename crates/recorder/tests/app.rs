//! The app controller as the desktop shell drives it, without a window: sign
//! in, record (a WAV file stands in for the microphone here; the microphone
//! has its own tests), watch the events, then use the history — against the
//! reference server recognising real speech, with a real keychain (keyutils).

#![cfg(target_os = "linux")]

use std::path::Path;
use std::time::Duration;

use consult_recorder::app::{App, AppOptions, ErrorKind, ExportFormat, RecordingRequest};
use consult_recorder::audio::WavSource;
use consult_recorder::auth::{Keychain, KeychainBackend, Secret};
use consult_recorder::config::{ConfigSources, Key};
use consult_recorder::events::{Event, Status};
use consult_recorder::paths::AppDirs;
use consult_recorder::session::SenderOptions;
use consult_recorder::store::SessionState;
use consult_test_support::stored::seed_files;
use tokio::sync::broadcast::Receiver;

mod support;
use support::{EMAIL, PASSWORD, ServerHome, consultation_wav};

const PHRASE: &str = "blood pressure is normal";

fn options(home: &Path, server: &str) -> AppOptions {
    AppOptions {
        dirs: AppDirs::under(home),
        keychain: Keychain::start(KeychainBackend::Keyutils),
        config: ConfigSources::none().with(Key::Server, server),
        sender: SenderOptions::default(),
    }
}

/// The phrase as 16 kHz mono PCM16, with silence after it so it ends.
fn phrase_wav(dir: &Path) -> std::path::PathBuf {
    let raw = dir.join("raw.wav");
    let wav = dir.join("phrase.wav");
    assert!(
        std::process::Command::new("espeak-ng")
            .args(["-v", "en-us", "-s", "150", "-w"])
            .arg(&raw)
            .arg(PHRASE)
            .status()
            .unwrap()
            .success()
    );
    assert!(
        std::process::Command::new("sox")
            .arg(&raw)
            .args(["-r", "16000", "-c", "1", "-b", "16"])
            .arg(&wav)
            .args(["pad", "0.5", "1.5"])
            .status()
            .unwrap()
            .success()
    );
    wav
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Waits for the first event matching `wanted`, for up to a minute: real
/// speech is recognised at its own pace.
async fn until(events: &mut Receiver<Event>, wanted: impl Fn(&Event) -> bool) -> Event {
    support::next_matching(events, Duration::from_secs(60), wanted).await
}

/// Picks the status events that report `wanted`.
fn status_is(wanted: Status) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::Status { status, .. } if *status == wanted)
}

/// The app opened with `options`, signed in to the fixture's server as the
/// test account, and its events from before the sign-in on.
async fn signed_in_app(fixture: &ServerHome, options: AppOptions) -> (App, Receiver<Event>) {
    let app = App::open(options).unwrap();
    let events = app.subscribe();
    app.sign_in(&fixture.url, EMAIL, Secret::new(PASSWORD))
        .await
        .unwrap();
    (app, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
async fn sign_in_record_and_use_the_history_then_sign_in_silently_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        ServerHome::recognising(dir.path(), &[PHRASE, "the patient reports chest pain"]).await;
    let (url, home) = (fixture.url.as_str(), fixture.home.path());
    let app = App::open(options(home, url)).unwrap();
    let mut events = app.subscribe();

    // Recording needs a sign-in; a wrong password says so in words.
    let source = WavSource::open(&phrase_wav(dir.path()), 4.0).unwrap();
    let refused = app
        .start_recording_from(source, &RecordingRequest::default())
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::SignInNeeded);
    let wrong = app
        .sign_in(url, EMAIL, Secret::new("nope"))
        .await
        .unwrap_err();
    assert_eq!(wrong.kind, ErrorKind::WrongPassword);
    let snapshot = app
        .sign_in(url, EMAIL, Secret::new(PASSWORD))
        .await
        .unwrap();
    assert!(matches!(
        snapshot.auth,
        consult_recorder::auth::AuthState::SignedIn { .. }
    ));

    let source = WavSource::open(&phrase_wav(dir.path()), 4.0).unwrap();
    let recording = app
        .start_recording_from(source, &RecordingRequest::with_reference("Room 4, 10:30"))
        .unwrap();
    assert_eq!(app.snapshot().recording.as_ref(), Some(&recording));
    // The pause shortcut's toggle, within the WAV's leading silence.
    let paused = app.toggle_pause().unwrap();
    assert!(paused.paused_since.is_some(), "paused: {paused:?}");
    assert_eq!(app.snapshot().recording.as_ref(), Some(&paused));
    let resumed = app.toggle_pause().unwrap();
    assert_eq!(resumed.paused_since, None, "resumed: {resumed:?}");
    let second = WavSource::open(&phrase_wav(dir.path()), 4.0).unwrap();
    assert_eq!(
        app.start_recording_from(second, &RecordingRequest::default())
            .unwrap_err()
            .kind,
        ErrorKind::AlreadyRecording,
        "one recording at a time"
    );
    let heard = until(
        &mut events,
        |e| matches!(e, Event::Transcript { update, .. } if update.is_final),
    )
    .await;
    let Event::Transcript { update, .. } = heard else {
        unreachable!()
    };
    assert_eq!(update.text, PHRASE);
    until(&mut events, status_is(Status::Complete)).await;
    until(&mut events, |e| {
        matches!(e, Event::Recording { active: false, .. })
    })
    .await;
    assert_eq!(
        app.toggle_pause().unwrap_err().kind,
        ErrorKind::InvalidInput,
        "nothing to pause once stopped"
    );
    assert_eq!(
        app.snapshot().recording,
        None,
        "the file ended the recording"
    );

    // The UI's state and the diagnostics report carry no secret and no words.
    let state = serde_json::to_string(&app.snapshot()).unwrap();
    let report = app.diagnostics().await;
    for shown in [&state, &report] {
        for secret in ["eyJ", PASSWORD, PHRASE] {
            assert!(!shown.contains(secret), "{secret:?} in {shown}");
        }
    }

    // History: listed as uploaded, transcript, export, delete.
    let sessions = app.sessions().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].state, SessionState::Complete);
    assert_eq!(sessions[0].reference, "Room 4, 10:30");
    assert!(!sessions[0].uploading);
    assert_eq!(app.transcript(&recording.id).unwrap()[0].text, PHRASE);
    let exports = dir.path().join("exports");
    let txt = app
        .export(&recording.id, ExportFormat::Txt, Some(exports.clone()))
        .unwrap();
    let txt = std::fs::read_to_string(&txt).unwrap();
    // The phrase starts within the WAV's first seconds: "[0:01] blood …".
    assert!(
        txt.starts_with("[0:0") && txt.ends_with(&format!("] {PHRASE}\n")),
        "{txt}"
    );
    let spool = home
        .join("data/spool")
        .join(format!("{}.spool", recording.id));
    assert!(spool.exists());

    // At rest: neither the words, nor the reference, nor any stretch of the
    // audio is readable in any file the app keeps.
    let speech = std::fs::read(dir.path().join("phrase.wav")).unwrap();
    let speech = &speech[44 + 16_000..speech.len() - 3 * 16_000]; // past the padding
    for (path, bytes) in files_under(home) {
        for plain in [PHRASE, "blood pressure", "Room 4"] {
            assert!(
                !contains(&bytes, plain.as_bytes()),
                "{plain:?} is readable in {}",
                path.display()
            );
        }
        // Runs of real sound only (near-silence could match any zero page).
        let leaked = speech
            .chunks(32)
            .filter(|run| run.iter().collect::<std::collections::HashSet<_>>().len() >= 16)
            .filter(|run| contains(&bytes, run))
            .count();
        assert_eq!(leaked, 0, "audio readable in {}", path.display());
    }

    // Retention, as IT may set it: audio kept 0 days after the server
    // confirmed it goes at once; the transcript stays for its own days.
    let strict = App::open(AppOptions {
        config: ConfigSources::none()
            .with(Key::Server, url)
            .with(Key::AudioRetentionDays, "0"),
        ..options(home, url)
    })
    .unwrap();
    assert_eq!(
        strict.apply_retention().unwrap().audio,
        std::slice::from_ref(&recording.id)
    );
    assert!(!spool.exists(), "the confirmed audio is gone");
    assert_eq!(strict.transcript(&recording.id).unwrap()[0].text, PHRASE);

    // A new start of the app signs in from the keychain, no password asked.
    let again = App::open(options(home, url)).unwrap();
    let snapshot = again.start_up().await;
    assert!(
        matches!(&snapshot.auth, consult_recorder::auth::AuthState::SignedIn { account, .. } if account == EMAIL),
        "{:?}",
        snapshot.auth
    );

    again.delete(&recording.id).unwrap();
    assert!(again.sessions().unwrap().is_empty());
    assert!(!spool.exists(), "the audio is gone from the disk");
    assert_eq!(
        again.transcript(&recording.id).unwrap_err().kind,
        ErrorKind::NotFound
    );
}

/// Starts recording `wav` as the clinic's consultation `id`.
fn record_consultation(
    app: &App,
    wav: &Path,
    id: &str,
) -> Result<consult_recorder::app::RecordingView, consult_recorder::app::AppError> {
    app.start_recording_from(
        WavSource::open(wav, 4.0).unwrap(),
        &RecordingRequest {
            reference: "seed".into(),
            session_id: Some(id.into()),
            ..RecordingRequest::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
async fn a_seed_recording_ends_as_sent_and_the_doctor_can_send_it_again() {
    let fixture = ServerHome::start(|_| {}).await;
    let (url, home) = (fixture.url.as_str(), fixture.home.path());
    let app_options = AppOptions {
        config: ConfigSources::none()
            .with(Key::Server, url)
            .with(Key::Profile, "seed")
            // The file plays at four times real time; so may the audio go.
            .with(Key::SeedPace, "4"),
        ..options(home, url)
    };
    let (app, mut events) = signed_in_app(&fixture, app_options).await;
    let (source, wav) = consultation_wav(home, 3);
    // The consultation's id comes from the clinic's system; a hostile one
    // is refused before anything is created.
    let hostile = record_consultation(&app, &wav, "../../elsewhere").unwrap_err();
    assert_eq!(hostile.kind, ErrorKind::InvalidInput);
    assert!(
        hostile.message.contains("letters, digits"),
        "{}",
        hostile.message
    );
    assert!(app.sessions().unwrap().is_empty(), "nothing was created");
    let recording = record_consultation(&app, &wav, "enc-2026-0042").unwrap();
    assert_eq!(
        recording.id, "enc-2026-0042",
        "the clinic's id, not one made up"
    );
    until(&mut events, status_is(Status::Sent)).await;
    let listed = app.sessions().unwrap();
    assert_eq!(
        listed[0].state,
        SessionState::Sent,
        "never complete: seed confirms nothing"
    );

    let again = record_consultation(&app, &wav, "enc-2026-0042").unwrap_err();
    assert!(
        again.message.contains("already has a recording"),
        "{}",
        again.message
    );

    app.resend(&recording.id).unwrap();
    assert_eq!(
        app.resend(&recording.id).unwrap_err().kind,
        ErrorKind::InvalidInput,
        "not twice at once"
    );
    until(&mut events, status_is(Status::Sent)).await;
    let pieces = seed_files(&fixture.session_dir(&recording.id));
    assert!(pieces.len() >= 2, "{pieces:?}");
    assert_eq!(
        std::fs::read(pieces.last().unwrap()).unwrap(),
        source,
        "the second sending carried the whole recording from its first sample"
    );
    assert_eq!(
        app.resend("0b7e8f0e-2f1c-4d3a-9c55-5a1d6f0a9b11")
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
async fn when_the_clinic_requires_consent_start_waits_for_it_and_the_export_records_it() {
    let fixture = ServerHome::start(|_| {}).await;
    let (url, home) = (fixture.url.as_str(), fixture.home.path());
    let system = consult_recorder::config::SystemFile::parse(
        &home.join("config.toml"),
        &format!("server = \"{url}\"\nrequire_consent = true\nlocked = [\"require_consent\"]\n"),
    );
    let app_options = AppOptions {
        config: ConfigSources::from_system_file(system),
        ..options(home, url)
    };
    let (app, mut events) = signed_in_app(&fixture, app_options).await;
    assert!(app.snapshot().config.require_consent);
    let (_, wav) = consultation_wav(home, 2);

    let refused = app
        .start_recording_from(
            WavSource::open(&wav, 4.0).unwrap(),
            &RecordingRequest::with_reference("Room 2"),
        )
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::ConsentNeeded);
    assert!(refused.message.contains("agreed"), "{}", refused.message);
    assert!(app.sessions().unwrap().is_empty(), "nothing was recorded");

    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let recording = app
        .start_recording_from(
            WavSource::open(&wav, 4.0).unwrap(),
            &RecordingRequest {
                reference: "Room 2".into(),
                consent_confirmed: true,
                ..RecordingRequest::default()
            },
        )
        .unwrap();
    until(&mut events, status_is(Status::Complete)).await;

    let exports = home.join("exports");
    let json = app
        .export(&recording.id, ExportFormat::Json, Some(exports.clone()))
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(json["consent"]["confirmed_by"], EMAIL, "{json}");
    let at = json["consent"]["confirmed_at"].as_u64().unwrap();
    assert!(
        at >= before,
        "confirmed when the recording started: {at} < {before}"
    );
    let txt = app
        .export(&recording.id, ExportFormat::Txt, Some(exports))
        .unwrap();
    let txt = std::fs::read_to_string(txt).unwrap();
    assert!(
        txt.contains(&format!(
            "Patient consent to this recording confirmed by {EMAIL} at "
        )),
        "{txt}"
    );
}

/// Waits for the next link event.
async fn next_link_event(events: &mut Receiver<Event>) -> consult_recorder::events::LinkEvent {
    match until(events, |e| matches!(e, Event::Link(_))).await {
        Event::Link(link) => link,
        _ => unreachable!("only link events pass the filter"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
async fn a_link_from_the_clinic_system_waits_for_the_doctor_and_records_that_consultation() {
    use consult_recorder::events::LinkEvent;

    let fixture = ServerHome::start(|_| {}).await;
    let home = fixture.home.path();
    let (app, mut events) = signed_in_app(&fixture, options(home, &fixture.url)).await;
    let (_, wav) = consultation_wav(home, 2);
    let link =
        "consult-recorder://record?session_id=ENC-2026-0042&reference=Room%203&language=en-GB";

    // A link is only offered: nothing records until the doctor confirms.
    let offer = app.offer_link(link).unwrap();
    assert_eq!(offer.session_id, "ENC-2026-0042");
    assert_eq!(offer.reference, "Room 3");
    assert_eq!(
        next_link_event(&mut events).await,
        LinkEvent::Offered {
            link: offer.clone()
        }
    );
    assert_eq!(app.snapshot().link_offer.as_ref(), Some(&offer));
    assert!(app.snapshot().recording.is_none());
    assert!(app.sessions().unwrap().is_empty());

    // A hostile link is refused with a reason and leaves the offer alone.
    for (hostile, reason) in [
        (
            "https://evil.example/record?session_id=x",
            "not Consult Recorder",
        ),
        (
            "consult-recorder://record?reference=Room%203",
            "session_id is missing",
        ),
        (
            "consult-recorder://record?session_id=..%2F..%2Fetc",
            "consultation ID",
        ),
        (
            "consult-recorder://delete?session_id=ENC-1",
            "only \"record\"",
        ),
    ] {
        let refused = app.offer_link(hostile).unwrap_err();
        assert!(
            refused.message.contains(reason),
            "{hostile}: {}",
            refused.message
        );
        assert_eq!(
            next_link_event(&mut events).await,
            LinkEvent::Refused {
                message: refused.message.clone()
            }
        );
    }
    assert_eq!(app.snapshot().link_offer.as_ref(), Some(&offer));

    let recording = app
        .accept_link_from(WavSource::open(&wav, 4.0).unwrap(), false)
        .unwrap();
    assert_eq!(recording.id, "ENC-2026-0042");
    assert_eq!(recording.reference, "Room 3");
    assert_eq!(next_link_event(&mut events).await, LinkEvent::Cleared);
    assert!(app.snapshot().link_offer.is_none());

    // Another link while recording is refused, naming its consultation.
    let busy = app
        .offer_link("consult-recorder://record?session_id=ENC-2026-0043")
        .unwrap_err();
    assert_eq!(busy.kind, ErrorKind::AlreadyRecording);
    assert!(busy.message.contains("ENC-2026-0043"), "{}", busy.message);

    until(&mut events, status_is(Status::Complete)).await;
    // The app lets go of the recording just after the server's last word.
    until(&mut events, |e| {
        matches!(e, Event::Recording { session_id, active: false } if session_id == "ENC-2026-0042")
    })
    .await;
    assert!(
        fixture.session_dir("ENC-2026-0042").is_dir(),
        "the server stored the consultation under the clinic's id"
    );
    let history = app.sessions().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, "ENC-2026-0042");

    // The same link again: that consultation is already in History.
    let again = app.offer_link(link).unwrap_err();
    assert!(
        again.message.contains("already has a recording"),
        "{}",
        again.message
    );
    app.dismiss_link();
    assert!(app.snapshot().link_offer.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
async fn a_recording_made_for_another_server_is_neither_continued_nor_sent_with_this_sign_in() {
    let fixture = ServerHome::start(|_| {}).await;
    let home = fixture.home.path();
    let app_options = options(home, &fixture.url);
    let (app, _events) = signed_in_app(&fixture, app_options.clone()).await;
    // A recording a crash left behind, made while signed in to another server.
    let elsewhere = consult_recorder::store::SessionRecord {
        id: "ENC-ELSEWHERE".into(),
        reference: "Room 1".into(),
        started_at: 0,
        profile: consult_recorder::store::Profile::V1,
        server: "https://elsewhere.example".into(),
        state: SessionState::Recording,
        failure: None,
        samples_recorded: 16_000,
        samples_confirmed: 0,
    };
    consult_recorder::store::Store::open_in(&app_options.dirs, &app_options.keychain)
        .unwrap()
        .create(&elsewhere)
        .unwrap();

    // Continuing it here would send its audio with this server's token.
    let (_, wav) = consultation_wav(home, 1);
    let continued = app
        .start_recording_from(
            WavSource::open(&wav, 0.0).unwrap(),
            &RecordingRequest {
                session_id: Some(elsewhere.id.clone()),
                continue_existing: true,
                ..RecordingRequest::default()
            },
        )
        .unwrap_err();
    assert_eq!(continued.kind, ErrorKind::SignInNeeded, "{continued:?}");
    assert!(
        continued.message.contains("another server"),
        "{continued:?}"
    );

    // Its upload waits for a sign-in to its own server.
    let pending = app.pending_uploads().unwrap();
    assert!(pending.sendable.is_empty(), "{pending:?}");
    assert_eq!(pending.elsewhere, vec![elsewhere.clone()]);
    let Err(refused) = app.begin_upload(&elsewhere) else {
        panic!("another server's recording was sent with this sign-in");
    };
    assert_eq!(refused.kind, ErrorKind::SignInNeeded, "{refused:?}");
    assert!(
        !fixture.session_dir(&elsewhere.id).exists(),
        "nothing of it reached this server"
    );
}
