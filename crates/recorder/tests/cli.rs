//! `consult-cli login / status / logout` against the reference server and the
//! real Secret Service: the sign-in survives into a new process, and no token
//! ends up in a file or in anything the CLI printed.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use consult_recorder::auth::{EntryKey, Keychain, KeychainBackend};
use consult_recorder::spool::Recovered;
use consult_test_support::cli::in_home;
use consult_test_support::stored::seed_pieces;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::Instant;

mod support;
use support::{EMAIL, PASSWORD, ServerHome, consultation_wav, text};

/// The tests that use the virtual microphone take turns (one unplugs it).
static PULSE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The data key the CLI made in the keychain: the spool is sealed under it.
fn data_key() -> consult_recorder::crypto::DataKey {
    consult_recorder::crypto::DataKeySource::keychain(Keychain::start(KeychainBackend::Platform))
        .get()
        .expect("the CLI's data key is in the keychain")
}

/// Where the CLI in `home` keeps the spool of `session`.
fn spool_path(home: &Path, session: &str) -> PathBuf {
    home.join("data/consult-recorder/spool")
        .join(format!("{session}.spool"))
}

/// What a restart finds in `spool`, opened under the CLI's data key.
fn reopen_spool(spool: &Path) -> Recovered {
    let (_, recovered) = consult_recorder::spool::SpoolWriter::open(spool, &data_key()).unwrap();
    recovered
}

/// Runs the CLI with its config, data and cache folders inside `home`.
async fn cli(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    cli_with_env(home, args, stdin, &[]).await
}

async fn cli_with_env(
    home: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    let mut command = cli_command(home, args);
    command
        .envs(env.iter().copied())
        .env("CONSULT_LOG", "debug")
        // The log files at their most talkative, so the secret greps mean something.
        .env("CONSULT_LOG_LEVEL", "trace")
        .env_remove("CONSULT_PASSWORD");
    support::run_with_input(command, stdin).await
}

/// The CLI with its config, data and cache folders inside `home`.
fn cli_command(home: &Path, args: &[&str]) -> Command {
    let mut command = in_home(Path::new(env!("CARGO_BIN_EXE_consult-cli")), home);
    command.args(args);
    command
}

/// `login` to `url` as the test account, the right password typed in and
/// `env` added: each sign-in test varies only what surrounds it.
async fn log_in_with_env(home: &Path, url: &str, env: &[(&str, &str)]) -> Output {
    cli_with_env(
        home,
        &["login", "--server", url, "--email", EMAIL],
        Some(&format!("{PASSWORD}\n")),
        env,
    )
    .await
}

/// Signs the CLI in to `url` as the test account, asserting success; returns
/// what it printed.
async fn log_in(home: &Path, url: &str) -> String {
    let login = log_in_with_env(home, url, &[]).await;
    assert!(login.status.success(), "{}", text(&login));
    text(&login)
}

/// A reference server, a CLI home signed in to it, and in that home a
/// consultation file with a fresh session id to record it under: where the
/// recording tests begin.
struct SignedInHome {
    fixture: ServerHome,
    source: Vec<u8>,
    wav: String,
    session: String,
}

impl SignedInHome {
    /// Signs in and writes `seconds` of unique audio as the consultation.
    async fn start(seconds: usize) -> Self {
        let fixture = ServerHome::start(|_| {}).await;
        log_in(fixture.home.path(), &fixture.url).await;
        let (source, wav) = consultation_wav(fixture.home.path(), seconds);
        Self {
            fixture,
            source,
            wav: wav.to_string_lossy().into_owned(),
            session: uuid_like(),
        }
    }

    /// The CLI's home folder.
    fn home(&self) -> &Path {
        self.fixture.home.path()
    }

    /// `record` of the consultation at `speed` times real time, then `more`.
    fn record_args<'a>(&'a self, speed: &'a str, more: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["record", "--input", self.wav.as_str(), "--speed", speed];
        args.extend_from_slice(more);
        args
    }
}

/// Every file under `dir`, as lossy text.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            found.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    found
}

/// The CLI's log files in `home`, as lossy text: what the secret checks read.
fn log_files(home: &Path) -> Vec<(String, String)> {
    files_under(&home.join("state"))
}

/// Files under `home` other than the log files.
fn saved_files(home: &Path) -> Vec<String> {
    files_under(home)
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| !path.contains("/state/consult-recorder/logs/"))
        .collect()
}

/// The log files exist and hold neither the password nor any JWT.
fn assert_logs_hold_no_secret(home: &Path) {
    let logs = log_files(home);
    assert!(!logs.is_empty(), "the CLI keeps a log");
    for (path, content) in logs {
        assert!(!content.contains(PASSWORD), "{path} holds the password");
        assert!(!content.contains("eyJ"), "{path} holds a token");
    }
}

/// The CLI's `devices --json` listing in `home`.
async fn listed_devices(home: &Path) -> Value {
    let devices = cli(home, &["devices", "--json"], None).await;
    serde_json::from_slice(&devices.stdout).unwrap()
}

/// The CLI running `args` in `home` with its JSON events (one a line) to be
/// read as it prints them; standard error is dropped.
fn spawn_reporting(home: &Path, args: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = cli_command(home, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// A running recorder's events, each awaited by one shared deadline.
struct Events {
    lines: Lines<BufReader<ChildStdout>>,
    deadline: Instant,
}

impl Events {
    /// The next event.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout_at(self.deadline, self.lines.next_line())
            .await
            .expect("the recorder answered in time")
            .unwrap()
            .expect("the recorder keeps running");
        serde_json::from_str(&line).unwrap()
    }

    /// The next event `wanted` picks, passing over the others.
    async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let event = self.next().await;
            if wanted(&event) {
                return event;
            }
        }
    }

    /// The words of the next final transcript line.
    async fn next_final_text(&mut self) -> String {
        let event = self
            .until(|e| e["type"] == "transcript" && e["update"]["is_final"] == true)
            .await;
        event["update"]["text"].as_str().unwrap().to_owned()
    }

    /// The next microphone change of `kind` ("lost", "restored").
    async fn microphone_change(&mut self, kind: &str) -> Value {
        self.until(|e| e["type"] == "microphone" && e["change"]["kind"] == kind)
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn a_new_process_signs_in_silently_and_no_token_leaks() {
    let fixture = ServerHome::start(|c| c.access_ttl = 600).await;
    let (url, home) = (&fixture.url, fixture.home.path());
    let keychain = Keychain::start(KeychainBackend::Platform);
    let key = EntryKey::refresh_token(url, EMAIL);
    let mut printed = Vec::new();

    let login = log_in(home, url).await;
    assert!(login.contains(&format!("signed in as {EMAIL}")));
    printed.push(login);
    let first = keychain
        .load(&key)
        .await
        .unwrap()
        .expect("refresh token in the keychain");

    // A new process: no password, the keychain's token signs it in.
    let status = cli(home, &["status", "--json"], None).await;
    assert!(status.status.success(), "{}", text(&status));
    let report: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["signed_in"], true);
    assert_eq!(report["account"], EMAIL);
    assert!(report["access_expires_at"].as_u64().unwrap() > transcribe_server::unix_now());
    printed.push(text(&status));
    let second = keychain
        .load(&key)
        .await
        .unwrap()
        .expect("rotated token saved");
    assert_ne!(
        first, second,
        "the silent sign-in rotated the refresh token"
    );

    let logout = cli(home, &["logout"], None).await;
    assert!(logout.status.success(), "{}", text(&logout));
    printed.push(text(&logout));
    assert_eq!(
        keychain.load(&key).await.unwrap(),
        None,
        "logout removed the keychain entry"
    );

    let after = cli(home, &["status"], None).await;
    assert_eq!(after.status.code(), Some(3), "{}", text(&after));
    printed.push(text(&after));

    // Nothing printed or written holds a token or the password. Access tokens
    // are JWTs, which always start with "eyJ".
    let secrets = [first.expose(), second.expose(), PASSWORD, "eyJ"];
    for output in &printed {
        for secret in secrets {
            assert!(
                !output.contains(secret),
                "the CLI printed a secret: {output}"
            );
        }
    }
    let written = files_under(home);
    assert!(
        written.iter().all(|(path, _)| !path.contains("cache")),
        "{written:?}"
    );
    let log = written
        .iter()
        .find(|(path, _)| path.ends_with("state/consult-recorder/logs/consult-cli.log"))
        .expect("the CLI keeps a log file");
    assert!(
        log.1.contains("signed in from the keychain"),
        "the log saw the sign-in: {}",
        log.1
    );
    for (path, content) in &written {
        for secret in secrets {
            assert!(!content.contains(secret), "{path} holds a secret");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn a_wrong_password_is_refused_and_saves_nothing() {
    let fixture = ServerHome::start(|_| {}).await;
    let (url, home) = (&fixture.url, fixture.home.path());
    let login = cli(
        home,
        &["login", "--server", url, "--email", EMAIL],
        Some("wrong\n"),
    )
    .await;
    assert_eq!(login.status.code(), Some(3), "{}", text(&login));
    assert!(text(&login).contains("wrong e-mail or password"));
    let keychain = Keychain::start(KeychainBackend::Platform);
    assert_eq!(
        keychain
            .load(&EntryKey::refresh_token(url, EMAIL))
            .await
            .unwrap(),
        None
    );
    assert_eq!(saved_files(home), Vec::<String>::new(), "nothing saved");
    assert_logs_hold_no_secret(home);
}

#[tokio::test]
async fn the_password_is_never_taken_from_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    let login = ["login", "--server", "http://127.0.0.1:9", "--email", EMAIL];
    let with_password = [&login[..], &["--password", "x"]].concat();
    let output = cli(home.path(), &with_password, None).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "clap refuses an unknown flag"
    );
    let output = cli(home.path(), &login, None).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).contains("no password"), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_sign_in_fails_clearly_and_writes_no_file() {
    let fixture = ServerHome::start(|_| {}).await;
    let home = fixture.home.path();
    let no_bus = [("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")];
    let login = log_in_with_env(home, &fixture.url, &no_bus).await;
    assert_eq!(login.status.code(), Some(5), "{}", text(&login));
    let message = text(&login);
    assert!(message.contains("no keychain answered"), "{message}");
    assert!(message.contains("never stored in a file"), "{message}");
    assert_eq!(saved_files(home), Vec::<String>::new(), "no fallback file");
    assert_logs_hold_no_secret(home);
}

/// Starts `record`, waits until it reports `kill_after` samples recorded, then
/// kills it with SIGKILL. Returns the last `recorded` count it printed.
async fn record_until_killed(home: &Path, args: &[&str], kill_after: u64) -> u64 {
    let (mut child, mut lines) = spawn_reporting(home, args);
    let mut recorded = 0;
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the recorder keeps reporting")
    {
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["type"] == "progress" {
            recorded = event["recorded"].as_u64().unwrap();
            if recorded >= kill_after {
                break;
            }
        }
    }
    child.start_kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().await.unwrap();
    recorded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn killed_recordings_resume_and_lose_at_most_a_second() {
    let signed_in = SignedInHome::start(60).await;
    let (home, session) = (signed_in.home(), signed_in.session.as_str());
    let args = signed_in.record_args("10", &["--session-id", session]);
    let spool = spool_path(home, session);

    let mut worst_loss = 0u64;
    for kill_after in [100_000u64, 330_000, 640_000] {
        let reported = record_until_killed(home, &args, kill_after).await;
        // What a restart finds: the spool opens cleanly and holds nearly all of it.
        let recovered = reopen_spool(&spool);
        assert!(recovered.lost.is_empty(), "no damaged record after kill -9");
        let lost = reported.saturating_sub(recovered.end);
        println!(
            "kill -9 at {reported} samples: spool kept {}, lost {lost} samples",
            recovered.end
        );
        worst_loss = worst_loss.max(lost);
    }
    println!(
        "audio lost per crash (max): {:.3} s",
        worst_loss as f64 / 16_000.0
    );
    assert!(worst_loss <= 16_000, "at most one second lost per crash");

    // The last run finishes; the server then holds the whole consultation.
    let finish = cli(home, &args, None).await;
    assert!(finish.status.success(), "{}", text(&finish));
    let stored = signed_in.fixture.stored_audio(session);
    assert_eq!(stored.len(), signed_in.source.len());
    assert!(
        stored == signed_in.source,
        "the server holds the consultation byte for byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn tracing_everything_prints_no_token_in_either_profile() {
    let signed_in = SignedInHome::start(2).await;
    let home = signed_in.home();
    let keychain = Keychain::start(KeychainBackend::Platform);
    let key = EntryKey::refresh_token(&signed_in.fixture.url, EMAIL);
    for profile in ["seed", "v1"] {
        let mut command = cli_command(home, &signed_in.record_args("4", &["--profile", profile]));
        command
            // Every library's every event on standard error, and the file at its most talkative.
            .env("CONSULT_LOG", "trace")
            .env("CONSULT_LOG_LEVEL", "trace")
            .env("CONSULT_SEED_PACE", "4");
        let record = support::run_with_input(command, None).await;
        let printed = text(&record);
        assert!(record.status.success(), "{profile}: {printed}");
        assert!(
            printed.contains("TRACE"),
            "{profile}: the trace level was really on"
        );
        let refresh = keychain.load(&key).await.unwrap().expect("still signed in");
        for secret in ["eyJ", refresh.expose(), PASSWORD] {
            assert!(
                !printed.contains(secret),
                "{profile}: a secret was printed at trace level"
            );
            // The log files (the spool and the store are sealed binary, checked elsewhere).
            for (path, content) in log_files(home) {
                assert!(
                    !content.contains(secret),
                    "{profile}: {path} holds a secret"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn a_seed_session_ends_as_sent_and_can_be_sent_again_whole() {
    let signed_in = SignedInHome::start(4).await;
    let (home, session) = (signed_in.home(), signed_in.session.as_str());
    let record = cli_with_env(
        home,
        &signed_in.record_args("4", &["--profile", "seed", "--session-id", session]),
        None,
        &[("CONSULT_SEED_PACE", "4")],
    )
    .await;
    let said = text(&record);
    assert!(record.status.success(), "{said}");
    assert!(
        said.contains("\"state\":\"sent\""),
        "the seed session ends as sent: {said}"
    );
    assert!(
        !said.contains("\"state\":\"complete\""),
        "no seed server confirms storage, so nothing may say complete: {said}"
    );
    let listed = text(&cli(home, &["sessions"], None).await);
    assert!(
        listed.contains(session) && listed.contains("sent"),
        "{listed}"
    );
    let first: Vec<u8> = seed_pieces(&signed_in.fixture.session_dir(session)).concat();
    assert_eq!(
        first, signed_in.source,
        "one clean connection carried the whole consultation"
    );

    let resend = cli(home, &["resend", session], None).await;
    assert!(resend.status.success(), "{}", text(&resend));
    let pieces = seed_pieces(&signed_in.fixture.session_dir(session));
    assert_eq!(
        pieces.last().map(Vec::as_slice),
        Some(signed_in.source.as_slice()),
        "the resend carried the whole session again, from its first sample"
    );
    let refused = cli(home, &["resend", "no-such-session"], None).await;
    assert!(!refused.status.success());
    assert!(text(&refused).contains("no session"), "{}", text(&refused));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn the_command_line_records_and_resends_by_the_apps_rules() {
    let signed_in = SignedInHome::start(2).await;
    let (home, session) = (signed_in.home(), signed_in.session.as_str());
    let consent_required = [("CONSULT_REQUIRE_CONSENT", "true")];

    // The administrator requires consent: without it nothing is recorded.
    let refused = cli_with_env(
        home,
        &signed_in.record_args("0", &["--session-id", session]),
        None,
        &consent_required,
    )
    .await;
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("patient agreed"),
        "{}",
        text(&refused)
    );
    let listed = text(&cli(home, &["sessions"], None).await);
    assert!(!listed.contains(session), "nothing was recorded: {listed}");

    let recorded = cli_with_env(
        home,
        &signed_in.record_args("0", &["--session-id", session, "--consent-confirmed"]),
        None,
        &consent_required,
    )
    .await;
    assert!(recorded.status.success(), "{}", text(&recorded));
    assert!(
        signed_in.fixture.stored_audio(session) == signed_in.source,
        "the server holds the consultation byte for byte"
    );

    // A finished recording is not continued: nothing is added to it.
    let again = cli(
        home,
        &signed_in.record_args("0", &["--session-id", session]),
        None,
    )
    .await;
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("sent in full already"),
        "{}",
        text(&again)
    );

    // A v1 server confirmed every byte: there is nothing to send again.
    let resend = cli(home, &["resend", session], None).await;
    assert_eq!(resend.status.code(), Some(2), "{}", text(&resend));
    assert!(
        text(&resend).contains("does not confirm receipt"),
        "{}",
        text(&resend)
    );
}

/// A fresh session id in the form the recorder makes its own.
fn uuid_like() -> String {
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        rand::random::<u32>(),
        rand::random::<u64>() >> 16
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
// A file-size limit set in the child between fork and exec: the only way to fill the "disk" here.
#[allow(unsafe_code)]
async fn a_full_disk_fails_the_session_by_name_and_corrupts_nothing() {
    let signed_in = SignedInHome::start(20).await;
    let (home, session) = (signed_in.home(), signed_in.session.as_str());

    // The kernel refuses to grow any file past 256 KiB (about 8 s of audio):
    // a disk that fills up during the consultation.
    let mut command = cli_command(
        home,
        &signed_in.record_args("10", &["--session-id", session]),
    );
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 256 * 1024,
                rlim_max: 256 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the recorder ends")
        .unwrap();
    let shown = text(&output);
    assert!(
        !output.status.success(),
        "a session missing audio is not a success"
    );
    let spool = spool_path(home, session);
    let named = spool.display().to_string();
    let failed: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["status"]["state"] == "failed")
        .collect();
    assert!(!failed.is_empty(), "a failed status was shown: {shown}");
    assert!(
        failed
            .iter()
            .all(|e| e["status"]["reason"].as_str().unwrap().contains(&named)),
        "the failure names the spool file: {failed:?}"
    );

    // Nothing on disk is corrupt, and the server holds exactly what was saved.
    let recovered = reopen_spool(&spool);
    assert!(recovered.lost.is_empty());
    assert!(
        recovered.end > 0 && recovered.end < 20 * 16_000,
        "{}",
        recovered.end
    );
    let stored = signed_in.fixture.stored_audio(session);
    assert!(
        stored[..] == signed_in.source[..recovered.end as usize * 2],
        "the saved part arrived intact"
    );
    println!(
        "saved before the disk filled: {:.2} s",
        recovered.end as f64 / 16_000.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service and the PulseAudio null sink; run scripts/test.sh"]
// Ctrl-C is a signal; libc::kill is how a test sends one.
#[allow(unsafe_code)]
async fn microphone_speech_comes_back_as_exact_words_across_an_unplugged_microphone() {
    let _pulse = PULSE.lock().await;
    use support::pulse::{Replug, play, plug_in, speech_wav, unplug};
    let first_phrase = "blood pressure is normal";
    let second_phrase = "the patient reports chest pain";
    let dir = tempfile::tempdir().unwrap();
    let fixture = ServerHome::recognising(dir.path(), &[first_phrase, second_phrase]).await;
    let home = fixture.home.path();
    log_in(home, &fixture.url).await;
    // Silence around the speech, so the recogniser hears each phrase end.
    let (first_wav, _) = speech_wav(dir.path(), first_phrase, 0.5, 1.5);
    let (second_wav, _) = speech_wav(dir.path(), second_phrase, 0.5, 1.5);

    // Choose the microphone by id: the choice is remembered.
    let devices = listed_devices(home).await;
    let default = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["is_default"] == true)
        .expect("a default microphone is listed");
    assert_eq!(default["chosen"], false);
    let id = default["id"].as_str().unwrap().to_owned();

    let (mut child, lines) = spawn_reporting(home, &["record", "--device", &id]);
    let mut events = Events {
        lines,
        deadline: Instant::now() + Duration::from_secs(120),
    };

    // Play once audio is flowing, then wait for the words.
    while events.next().await["type"] != "progress" {}
    let mut player = play(&first_wav);
    let heard = events.next_final_text().await;
    assert_eq!(heard, first_phrase, "the exact words came back");
    assert!(player.wait().await.unwrap().success());

    // Unplug: the recorder says so and keeps the session going.
    unplug();
    let mut replug = Replug { armed: true };
    let lost = events.microphone_change("lost").await;
    println!("shown: {}", lost["message"]);
    replug.armed = false;
    plug_in();
    let restored = events.microphone_change("restored").await;
    println!("shown: {}", restored["message"]);
    let mut player = play(&second_wav);
    let heard = events.next_final_text().await;
    assert_eq!(heard, second_phrase, "speech after re-plugging came back");
    assert!(player.wait().await.unwrap().success());

    // Ctrl-C: capture stops, the upload finishes, the session is complete.
    let pid = child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let mut completed = None;
    loop {
        let next = tokio::time::timeout_at(events.deadline, events.lines.next_line()).await;
        let Ok(next) = next else {
            // Whether the recorder is still running (or has exited while
            // something else holds its output open), and what it was doing.
            println!("recorder process: {:?}", child.try_wait());
            for (path, text) in log_files(home) {
                println!("{path}:\n{text}");
            }
            panic!("the recording did not finish in time after Ctrl-C");
        };
        let Some(line) = next.unwrap() else {
            break;
        };
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["type"] == "status" && event["status"]["state"] == "complete" {
            completed = Some(event["session_id"].as_str().unwrap().to_owned());
        }
    }
    assert!(
        child.wait().await.unwrap().success(),
        "record exits cleanly after Ctrl-C"
    );
    let session = completed.expect("the session was reported complete");

    // The spool is whole: no damaged or missing range across the unplugging.
    let recovered = reopen_spool(&spool_path(home, &session));
    assert!(recovered.lost.is_empty(), "{:?}", recovered.lost);
    assert!(recovered.end > 16_000 * 5, "{}", recovered.end);

    // The log files (at trace level) saw the whole session but hold none of
    // its words, and no token or password.
    let logs = log_files(home);
    assert!(
        logs.iter().any(|(_, text)| text.contains(&session)),
        "the session was logged: {logs:?}"
    );
    for (path, content) in &logs {
        for secret in [
            first_phrase,
            second_phrase,
            "pressure",
            "chest",
            PASSWORD,
            "eyJ",
        ] {
            assert!(!content.contains(secret), "{path} holds {secret:?}");
        }
    }

    let devices = listed_devices(home).await;
    assert!(
        devices
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == id.as_str() && d["chosen"] == true),
        "the chosen microphone is remembered: {devices}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the PulseAudio null sink; run scripts/test.sh"]
async fn level_prints_ten_readings_a_second_and_falls_back_from_a_missing_microphone() {
    let _pulse = PULSE.lock().await;
    let home = tempfile::tempdir().unwrap();
    let output = cli(
        home.path(),
        &[
            "level",
            "--device",
            "no-such-microphone",
            "--seconds",
            "3",
            "--json",
        ],
        None,
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("is not connected; using the default one"),
        "the fallback is explained: {stderr}"
    );
    let readings: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "level")
        .collect();
    // The first audio may take a second or two to arrive after the device starts.
    assert!(
        (8..=31).contains(&readings.len()),
        "about ten readings a second once audio flows: {}",
        readings.len()
    );
    assert!(
        readings
            .iter()
            .all(|r| r["level"]["rms_dbfs"].as_f64().unwrap() <= 0.0)
    );
}
