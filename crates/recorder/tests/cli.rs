//! `consult-cli login / status / logout` against the reference server and the
//! real Secret Service: the sign-in survives into a new process, and no token
//! ends up in a file or in anything the CLI printed.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Output;

use consult_recorder::auth::{EntryKey, Keychain, KeychainBackend};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

mod support;
use support::{EMAIL, PASSWORD, reference_server};

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
    let mut command = Command::new(env!("CARGO_BIN_EXE_consult-cli"));
    command.envs(env.iter().copied());
    command
        .args(args)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("CONSULT_LOG", "debug")
        .env_remove("CONSULT_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("consult-cli starts");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    child.wait_with_output().await.unwrap()
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
    assert!(files_under(home.path()).is_empty(), "nothing written");
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
    assert!(
        files_under(home.path()).is_empty(),
        "no fallback file: {:?}",
        files_under(home.path())
    );
}
