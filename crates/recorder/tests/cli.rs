//! `consult-cli login / status / logout` against the reference server and the
//! real Secret Service: the sign-in survives into a new process, and no token
//! ends up in a file or in anything the CLI printed.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Output;

use consult_recorder::auth::{EntryKey, Keychain, KeychainBackend};
use consult_test_support::cli::in_home;
use tokio::process::Command;

mod support;
use support::{EMAIL, PASSWORD, reference_server, unique_pcm, write_wav};

/// The tests that use the virtual microphone take turns (one unplugs it).
static PULSE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The data key the CLI made in the keychain: the spool is sealed under it.
fn data_key() -> consult_recorder::crypto::DataKey {
    consult_recorder::crypto::DataKeySource::keychain(Keychain::start(KeychainBackend::Platform))
        .get()
        .expect("the CLI's data key is in the keychain")
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

/// Signs the CLI in to `url` as the test account, asserting success.
async fn log_in(home: &Path, url: &str) {
    let login = cli(
        home,
        &["login", "--server", url, "--email", EMAIL],
        Some(&format!("{PASSWORD}\n")),
    )
    .await;
    assert!(login.status.success(), "{}", text(&login));
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
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
    let logs = files_under(&home.join("state"));
    assert!(!logs.is_empty(), "the CLI keeps a log");
    for (path, content) in logs {
        assert!(!content.contains(PASSWORD), "{path} holds the password");
        assert!(!content.contains("eyJ"), "{path} holds a token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn a_new_process_signs_in_silently_and_no_token_leaks() {
    let (server, _server_dir) = reference_server(|c| c.access_ttl = 600).await;
    let url = server.http_url();
    let home = tempfile::tempdir().unwrap();
    let keychain = Keychain::start(KeychainBackend::Platform);
    let key = EntryKey::refresh_token(&url, EMAIL);
    let mut printed = Vec::new();

    let login = cli(
        home.path(),
        &["login", "--server", &url, "--email", EMAIL],
        Some(&format!("{PASSWORD}\n")),
    )
    .await;
    assert!(login.status.success(), "{}", text(&login));
    assert!(text(&login).contains(&format!("signed in as {EMAIL}")));
    printed.push(text(&login));
    let first = keychain
        .load(&key)
        .await
        .unwrap()
        .expect("refresh token in the keychain");

    // A new process: no password, the keychain's token signs it in.
    let status = cli(home.path(), &["status", "--json"], None).await;
    assert!(status.status.success(), "{}", text(&status));
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["signed_in"], true);
    assert_eq!(report["account"], EMAIL);
    assert!(report["access_expires_at"].as_u64().unwrap() > transcribe_server::auth::unix_now());
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

    let logout = cli(home.path(), &["logout"], None).await;
    assert!(logout.status.success(), "{}", text(&logout));
    printed.push(text(&logout));
    assert_eq!(
        keychain.load(&key).await.unwrap(),
        None,
        "logout removed the keychain entry"
    );

    let after = cli(home.path(), &["status"], None).await;
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
    let written = files_under(home.path());
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
    let (server, _server_dir) = reference_server(|_| {}).await;
    let url = server.http_url();
    let home = tempfile::tempdir().unwrap();
    let login = cli(
        home.path(),
        &["login", "--server", &url, "--email", EMAIL],
        Some("wrong\n"),
    )
    .await;
    assert_eq!(login.status.code(), Some(3), "{}", text(&login));
    assert!(text(&login).contains("wrong e-mail or password"));
    let keychain = Keychain::start(KeychainBackend::Platform);
    assert_eq!(
        keychain
            .load(&EntryKey::refresh_token(&url, EMAIL))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        saved_files(home.path()),
        Vec::<String>::new(),
        "nothing saved"
    );
    assert_logs_hold_no_secret(home.path());
}

#[tokio::test]
async fn the_password_is_never_taken_from_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    let output = cli(
        home.path(),
        &[
            "login",
            "--server",
            "http://127.0.0.1:9",
            "--email",
            EMAIL,
            "--password",
            "x",
        ],
        None,
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "clap refuses an unknown flag"
    );
    let output = cli(
        home.path(),
        &["login", "--server", "http://127.0.0.1:9", "--email", EMAIL],
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).contains("no password"), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_sign_in_fails_clearly_and_writes_no_file() {
    let (server, _server_dir) = reference_server(|_| {}).await;
    let url = server.http_url();
    let home = tempfile::tempdir().unwrap();
    let no_bus = [("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")];
    let login = cli_with_env(
        home.path(),
        &["login", "--server", &url, "--email", EMAIL],
        Some(&format!("{PASSWORD}\n")),
        &no_bus,
    )
    .await;
    assert_eq!(login.status.code(), Some(5), "{}", text(&login));
    let message = text(&login);
    assert!(message.contains("no keychain answered"), "{message}");
    assert!(message.contains("never stored in a file"), "{message}");
    assert_eq!(
        saved_files(home.path()),
        Vec::<String>::new(),
        "no fallback file"
    );
    assert_logs_hold_no_secret(home.path());
}

/// Starts `record`, waits until it reports `kill_after` samples recorded, then
/// kills it with SIGKILL. Returns the last `recorded` count it printed.
async fn record_until_killed(home: &Path, args: &[&str], kill_after: u64) -> u64 {
    use tokio::io::AsyncBufReadExt;
    let mut child = cli_command(home, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut recorded = 0;
    while let Ok(Some(line)) =
        tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the recorder keeps reporting")
    {
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
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
    let (server, _server_dir) = reference_server(|_| {}).await;
    let url = server.http_url();
    let home = tempfile::tempdir().unwrap();
    log_in(home.path(), &url).await;

    let source = unique_pcm(60 * 16_000);
    let wav = home.path().join("consultation.wav");
    write_wav(&wav, &source);
    let session = uuid_like();
    let wav_arg = wav.to_string_lossy().into_owned();
    let args = [
        "record",
        "--input",
        wav_arg.as_str(),
        "--speed",
        "10",
        "--session-id",
        session.as_str(),
    ];
    let spool = home
        .path()
        .join("data/consult-recorder/spool")
        .join(format!("{session}.spool"));

    let mut worst_loss = 0u64;
    for kill_after in [100_000u64, 330_000, 640_000] {
        let reported = record_until_killed(home.path(), &args, kill_after).await;
        // What a restart finds: the spool opens cleanly and holds nearly all of it.
        let (_, recovered) =
            consult_recorder::spool::SpoolWriter::open(&spool, &data_key()).unwrap();
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
    let finish = cli(home.path(), &args, None).await;
    assert!(finish.status.success(), "{}", text(&finish));
    let stored = std::fs::read(
        server
            .data_dir()
            .join("sessions")
            .join(&session)
            .join("audio.pcm"),
    )
    .unwrap();
    assert_eq!(stored.len(), source.len());
    assert!(
        stored == source,
        "the server holds the consultation byte for byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn tracing_everything_prints_no_token_in_either_profile() {
    let (server, _server_dir) = reference_server(|_| {}).await;
    let url = server.http_url();
    let home = tempfile::tempdir().unwrap();
    log_in(home.path(), &url).await;
    let keychain = Keychain::start(KeychainBackend::Platform);
    let key = EntryKey::refresh_token(&url, EMAIL);
    let wav = home.path().join("consultation.wav");
    write_wav(&wav, &unique_pcm(2 * 16_000));
    let wav_arg = wav.to_string_lossy().into_owned();
    for profile in ["seed", "v1"] {
        let mut command = cli_command(
            home.path(),
            &[
                "record",
                "--input",
                &wav_arg,
                "--speed",
                "4",
                "--profile",
                profile,
            ],
        );
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
            for (path, content) in files_under(&home.path().join("state")) {
                assert!(
                    !content.contains(secret),
                    "{profile}: {path} holds a secret"
                );
            }
        }
    }
}

/// The seed server's stored connections for `session`, in order, joined.
fn seed_pieces(server: &transcribe_server::RunningServer, session: &str) -> Vec<Vec<u8>> {
    let dir = server.data_dir().join("sessions").join(session);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
    });
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn a_seed_session_ends_as_sent_and_can_be_sent_again_whole() {
    let (server, _server_dir) = reference_server(|_| {}).await;
    let url = server.http_url();
    let home = tempfile::tempdir().unwrap();
    log_in(home.path(), &url).await;
    let source = unique_pcm(4 * 16_000);
    let wav = home.path().join("consultation.wav");
    write_wav(&wav, &source);
    let session = uuid_like();
    let wav_arg = wav.to_string_lossy().into_owned();
    let record = cli_with_env(
        home.path(),
        &[
            "record",
            "--input",
            &wav_arg,
            "--speed",
            "4",
            "--profile",
            "seed",
            "--session-id",
            &session,
        ],
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
    let listed = text(&cli(home.path(), &["sessions"], None).await);
    assert!(
        listed.contains(&session) && listed.contains("sent"),
        "{listed}"
    );
    let first: Vec<u8> = seed_pieces(&server, &session).concat();
    assert_eq!(
        first, source,
        "one clean connection carried the whole consultation"
    );

    let resend = cli(home.path(), &["resend", &session], None).await;
    assert!(resend.status.success(), "{}", text(&resend));
    let pieces = seed_pieces(&server, &session);
    assert_eq!(
        pieces.last().map(Vec::as_slice),
        Some(source.as_slice()),
        "the resend carried the whole session again, from its first sample"
    );
    let refused = cli(home.path(), &["resend", "no-such-session"], None).await;
    assert!(!refused.status.success());
    assert!(text(&refused).contains("no session"), "{}", text(&refused));
}

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
    let (server, _server_dir) = reference_server(|_| {}).await;
    let url = server.http_url();
    let home = tempfile::tempdir().unwrap();
    log_in(home.path(), &url).await;
    let source = unique_pcm(20 * 16_000);
    let wav = home.path().join("consultation.wav");
    write_wav(&wav, &source);
    let session = uuid_like();
    let wav_arg = wav.to_string_lossy().into_owned();

    // The kernel refuses to grow any file past 256 KiB (about 8 s of audio):
    // a disk that fills up during the consultation.
    let mut command = cli_command(
        home.path(),
        &[
            "record",
            "--input",
            &wav_arg,
            "--speed",
            "10",
            "--session-id",
            &session,
        ],
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
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
        .await
        .expect("the recorder ends")
        .unwrap();
    let shown = text(&output);
    assert!(
        !output.status.success(),
        "a session missing audio is not a success"
    );
    let spool = home
        .path()
        .join("data/consult-recorder/spool")
        .join(format!("{session}.spool"));
    let named = spool.display().to_string();
    let failed: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
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
    let (_, recovered) = consult_recorder::spool::SpoolWriter::open(&spool, &data_key()).unwrap();
    assert!(recovered.lost.is_empty());
    assert!(
        recovered.end > 0 && recovered.end < 20 * 16_000,
        "{}",
        recovered.end
    );
    let stored = std::fs::read(
        server
            .data_dir()
            .join("sessions")
            .join(&session)
            .join("audio.pcm"),
    )
    .unwrap();
    assert!(
        stored[..] == source[..recovered.end as usize * 2],
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
    use tokio::io::AsyncBufReadExt;
    let first_phrase = "blood pressure is normal";
    let second_phrase = "the patient reports chest pain";
    let dir = tempfile::tempdir().unwrap();
    let phrases = dir.path().join("phrases.txt");
    std::fs::write(&phrases, format!("{first_phrase}\n{second_phrase}\n")).unwrap();
    let (server, _server_dir) = reference_server(|c| {
        c.recognizer = transcribe_server::RecognizerKind::Pocketsphinx;
        c.phrases = Some(phrases.clone());
    })
    .await;
    let url = server.http_url();
    let home = tempfile::tempdir().unwrap();
    log_in(home.path(), &url).await;
    // Silence around the speech, so the recogniser hears each phrase end.
    let (first_wav, _) = speech_wav(dir.path(), first_phrase, 0.5, 1.5);
    let (second_wav, _) = speech_wav(dir.path(), second_phrase, 0.5, 1.5);

    // Choose the microphone by id: the choice is remembered.
    let devices = cli(home.path(), &["devices", "--json"], None).await;
    let devices: serde_json::Value = serde_json::from_slice(&devices.stdout).unwrap();
    let default = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["is_default"] == true)
        .expect("a default microphone is listed");
    assert_eq!(default["chosen"], false);
    let id = default["id"].as_str().unwrap().to_owned();

    let mut child = cli_command(home.path(), &["record", "--device", &id])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut next_event = async || -> serde_json::Value {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("the recorder answered in time")
            .unwrap()
            .expect("the recorder keeps running");
        serde_json::from_str(&line).unwrap()
    };
    let is_final =
        |e: &serde_json::Value| e["type"] == "transcript" && e["update"]["is_final"] == true;

    // Play once audio is flowing, then wait for the words.
    while next_event().await["type"] != "progress" {}
    let mut player = play(&first_wav);
    let heard = loop {
        let event = next_event().await;
        if is_final(&event) {
            break event["update"]["text"].as_str().unwrap().to_owned();
        }
    };
    assert_eq!(heard, first_phrase, "the exact words came back");
    assert!(player.wait().await.unwrap().success());

    // Unplug: the recorder says so and keeps the session going.
    unplug();
    let mut replug = Replug { armed: true };
    let lost = loop {
        let event = next_event().await;
        if event["type"] == "microphone" && event["change"]["kind"] == "lost" {
            break event;
        }
    };
    println!("shown: {}", lost["message"]);
    replug.armed = false;
    plug_in();
    let restored = loop {
        let event = next_event().await;
        if event["type"] == "microphone" && event["change"]["kind"] == "restored" {
            break event;
        }
    };
    println!("shown: {}", restored["message"]);
    let mut player = play(&second_wav);
    let heard = loop {
        let event = next_event().await;
        if is_final(&event) {
            break event["update"]["text"].as_str().unwrap().to_owned();
        }
    };
    assert_eq!(heard, second_phrase, "speech after re-plugging came back");
    assert!(player.wait().await.unwrap().success());

    // Ctrl-C: capture stops, the upload finishes, the session is complete.
    let pid = child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let mut completed = None;
    loop {
        let next = tokio::time::timeout_at(deadline, lines.next_line()).await;
        let Ok(next) = next else {
            // Whether the recorder is still running (or has exited while
            // something else holds its output open), and what it was doing.
            println!("recorder process: {:?}", child.try_wait());
            for (path, text) in files_under(&home.path().join("state")) {
                println!("{path}:\n{text}");
            }
            panic!("the recording did not finish in time after Ctrl-C");
        };
        let Some(line) = next.unwrap() else {
            break;
        };
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
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
    let spool = home
        .path()
        .join("data/consult-recorder/spool")
        .join(format!("{session}.spool"));
    let (_, recovered) = consult_recorder::spool::SpoolWriter::open(&spool, &data_key()).unwrap();
    assert!(recovered.lost.is_empty(), "{:?}", recovered.lost);
    assert!(recovered.end > 16_000 * 5, "{}", recovered.end);

    // The log files (at trace level) saw the whole session but hold none of
    // its words, and no token or password.
    let logs = files_under(&home.path().join("state"));
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

    let devices = cli(home.path(), &["devices", "--json"], None).await;
    let devices: serde_json::Value = serde_json::from_slice(&devices.stdout).unwrap();
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
