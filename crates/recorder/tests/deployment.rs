//! What clinic IT does: a system-wide configuration file with locked keys,
//! `diagnose` naming what is wrong (and its exit code), and a clinic proxy.
//! The CLI runs as a separate process against the reference server; the proxy
//! is a real tinyproxy.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use consult_test_support::cli::in_home;
use tokio::process::Command;

mod support;
use support::{EMAIL, PASSWORD, ServerHome, consultation_wav, text};

/// The CLI with its folders in `home`, the keyutils keychain, `system` as the
/// administrator's file and `env` added.
async fn cli(
    home: &Path,
    system: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Output {
    let mut command = in_home(Path::new(env!("CARGO_BIN_EXE_consult-cli")), home);
    command
        .args(args)
        .env("CONSULT_KEYCHAIN", "keyutils")
        .env("CONSULT_SYSTEM_CONFIG", system)
        .env_remove("CONSULT_SERVER")
        .env_remove("CONSULT_PROFILE")
        .env_remove("CONSULT_PASSWORD")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .envs(env.iter().copied());
    support::run_with_input(command, stdin).await
}

/// The checks of a `diagnose --json` report, as (area, name, outcome, detail).
fn checks(output: &Output) -> Vec<(String, String, String, String)> {
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(output)));
    assert_eq!(
        report["exit_code"].as_i64(),
        output.status.code().map(i64::from),
        "the report's exit code is the process's"
    );
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let field = |name: &str| c[name].as_str().unwrap().to_owned();
            (
                field("area"),
                field("name"),
                field("outcome"),
                field("detail"),
            )
        })
        .collect()
}

fn outcome(checks: &[(String, String, String, String)], area: &str, name: &str) -> String {
    checks
        .iter()
        .find(|c| c.0 == area && c.1 == name)
        .map(|c| format!("{}: {}", c.2, c.3))
        .unwrap_or_else(|| panic!("no {area}/{name} check in {checks:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
async fn locked_keys_hold_and_diagnose_names_the_failing_layer() {
    let fixture = ServerHome::start(|_| {}).await;
    let (url, home) = (fixture.url.as_str(), fixture.home.path());
    let system = home.join("config.toml");
    std::fs::write(
        &system,
        format!(
            "# set by IT\nserver = \"{url}\"\ncolour = \"blue\"\nprofile = \"v1\"\n\
             locked = [\"server\", \"profile\"]\n"
        ),
    )
    .unwrap();
    let run = |args: &'static [&'static str]| cli(home, &system, args, &[], None);

    // Where each value comes from, and the bad key with its line.
    let config = run(&["config", "--json"]).await;
    assert!(config.status.success(), "{}", text(&config));
    let config: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
    assert_eq!(config["server"], url);
    assert_eq!(config["origins"]["server"]["layer"], "system");
    assert_eq!(config["locked"], serde_json::json!(["server", "profile"]));
    assert_eq!(config["problems"][0]["line"], 3);
    assert_eq!(config["problems"][0]["key"], "colour");

    // Locked keys cannot be overridden from the command line, and it says why.
    let elsewhere = cli(
        home,
        &system,
        &[
            "login",
            "--server",
            "https://elsewhere.example",
            "--email",
            EMAIL,
        ],
        &[],
        Some(PASSWORD),
    )
    .await;
    assert_eq!(elsewhere.status.code(), Some(2), "{}", text(&elsewhere));
    let said = text(&elsewhere);
    assert!(said.contains("IT administrator"), "{said}");
    assert!(said.contains(&system.display().to_string()), "{said}");
    let seed = run(&["record", "--profile", "seed", "--input", "x.wav"]).await;
    assert_eq!(seed.status.code(), Some(2), "{}", text(&seed));
    assert!(text(&seed).contains("profile"), "{}", text(&seed));

    // Sign-in takes the configured server.
    let login = cli(
        home,
        &system,
        &["login", "--email", EMAIL],
        &[],
        Some(PASSWORD),
    )
    .await;
    assert!(login.status.success(), "{}", text(&login));

    // The bad key is a configuration failure (exit 7); everything else works.
    let report = run(&["diagnose", "--json", "--listen", "0"]).await;
    let found = checks(&report);
    assert_eq!(report.status.code(), Some(7), "{found:#?}");
    assert!(outcome(&found, "configuration", "ignored").contains("line 3"));
    for name in ["DNS", "TCP", "HTTP", "clock", "WebSocket"] {
        assert!(
            outcome(&found, "server", name).starts_with("ok"),
            "{found:#?}"
        );
    }
    assert!(outcome(&found, "keychain", "probe entry").starts_with("ok"));
    assert!(outcome(&found, "sign_in", "state").contains("saved sign-in is in the keychain"));
    assert!(outcome(&found, "storage", "spool folder").starts_with("ok"));

    // Fixed file: nothing fails (the empty null-sink microphone is a warning at most).
    std::fs::write(
        &system,
        format!("server = \"{url}\"\nlocked = [\"server\"]\n"),
    )
    .unwrap();
    let report = run(&["diagnose", "--json", "--listen", "0"]).await;
    assert_eq!(report.status.code(), Some(0), "{:#?}", checks(&report));

    // The server goes away: the TCP layer fails, exit 4 (human output too).
    drop(fixture.server);
    let report = run(&["diagnose", "--json", "--listen", "0"]).await;
    let found = checks(&report);
    assert_eq!(report.status.code(), Some(4), "{found:#?}");
    assert!(
        outcome(&found, "server", "TCP").starts_with("failed"),
        "{found:#?}"
    );
    let human = run(&["diagnose", "--listen", "0"]).await;
    assert_eq!(human.status.code(), Some(4));
    assert!(text(&human).contains("[FAIL] TCP:"), "{}", text(&human));
}

/// A tinyproxy on a free loopback port, logging every request; stopped on drop.
struct Tinyproxy {
    child: tokio::process::Child,
    port: u16,
    log: PathBuf,
}

impl Tinyproxy {
    async fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("tinyproxy.log");
        let config = dir.join("tinyproxy.conf");
        // No ConnectPort line: CONNECT is allowed to any port (the server's
        // test port is not 443).
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 60\nLogFile \"{}\"\nLogLevel Connect\n\
                 MaxClients 20\nAllow 127.0.0.1\n",
                log.display()
            ),
        )
        .unwrap();
        let child = Command::new("tinyproxy")
            .args(["-d", "-c"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("tinyproxy is installed (scripts/install-deps.sh)");
        // Ready when it accepts connections.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "tinyproxy did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self { child, port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once("Request (file descriptor ").map(|(_, r)| r))
            .filter_map(|r| r.split_once("): ").map(|(_, request)| request.to_owned()))
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tinyproxy and a keyutils session keyring; run scripts/test.sh"]
async fn sign_in_and_streaming_go_through_the_clinic_proxy_unless_excluded() {
    let fixture = ServerHome::start(|_| {}).await;
    let (url, home) = (fixture.url.as_str(), fixture.home.path());
    let port = url.rsplit(':').next().unwrap().to_owned();
    let system = home.join("config.toml");
    std::fs::write(&system, format!("server = \"{url}\"\n")).unwrap();
    let proxy = Tinyproxy::start(home).await;
    let via_proxy = [("HTTP_PROXY", proxy.url())];
    let env: Vec<(&str, &str)> = via_proxy.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let login = cli(
        home,
        &system,
        &["login", "--email", EMAIL],
        &env,
        Some(PASSWORD),
    )
    .await;
    assert!(login.status.success(), "{}", text(&login));
    let (_, wav) = consultation_wav(home, 3);
    let wav_arg = wav.display().to_string();
    let record = cli(
        home,
        &system,
        &["record", "--input", &wav_arg, "--speed", "0"],
        &env,
        None,
    )
    .await;
    assert!(record.status.success(), "{}", text(&record));
    assert!(text(&record).contains("\"complete\""), "{}", text(&record));

    let seen = proxy.requests();
    assert!(
        seen.iter()
            .any(|r| r.starts_with(&format!("POST {url}/api/v1/auth/login "))),
        "sign-in went through the proxy: {seen:#?}"
    );
    let tunnel = format!("CONNECT 127.0.0.1:{port} ");
    assert!(
        seen.iter().any(|r| r.starts_with(&tunnel)),
        "the WebSocket was tunnelled: {seen:#?}"
    );
    assert!(
        seen.iter().all(|r| !r.contains("token")),
        "no token in anything the proxy saw: {seen:#?}"
    );

    // NO_PROXY exempts the host: the proxy sees nothing more.
    let before = proxy.requests().len();
    let direct = cli(
        home,
        &system,
        &["record", "--input", &wav_arg, "--speed", "0"],
        &[
            ("HTTP_PROXY", proxy.url().as_str()),
            ("NO_PROXY", "localhost,127.0.0.1"),
        ],
        None,
    )
    .await;
    assert!(direct.status.success(), "{}", text(&direct));
    assert_eq!(proxy.requests().len(), before, "{:#?}", proxy.requests());

    // A proxy that is not there: diagnose says so (server layer, exit 4).
    let gone = format!("http://127.0.0.1:{}", proxy.port);
    drop(proxy);
    let report = cli(
        home,
        &system,
        &["diagnose", "--json", "--listen", "0"],
        &[("HTTP_PROXY", gone.as_str())],
        None,
    )
    .await;
    let found = checks(&report);
    assert_eq!(report.status.code(), Some(4), "{found:#?}");
    assert!(
        outcome(&found, "server", "proxy").contains(&format!("proxy 127.0.0.1:{}", &gone[17..])),
        "{found:#?}"
    );
}

/// An ALSA configuration whose default device does not exist: alsa-lib then
/// always prints "Unknown PCM" while cpal opens it, whatever sound hardware
/// the machine running the test has.
fn missing_device_alsa_config(dir: &Path) -> PathBuf {
    let path = dir.join("asound.conf");
    std::fs::write(&path, "pcm.!default \"no_such_device\"\n").unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
async fn diagnose_on_a_machine_without_a_sound_card_prints_only_its_own_report() {
    let home = tempfile::tempdir().unwrap();
    let system = home.path().join("config.toml");
    let alsa = missing_device_alsa_config(home.path());
    let alsa = alsa.to_str().unwrap();
    let output = cli(
        home.path(),
        &system,
        &["diagnose", "--listen", "1"],
        &[
            ("ALSA_CONFIG_PATH", alsa),
            ("PULSE_SERVER", "unix:/nonexistent"),
            ("CONSULT_LOG_LEVEL", "debug"),
        ],
        None,
    )
    .await;
    let said = text(&output);
    assert!(
        said.contains("Microphone"),
        "the report names the microphone: {said}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ALSA lib") && !stderr.contains("no_such_device"),
        "the sound library's messages stay out of the terminal: {stderr}"
    );
    // …and are in the log instead.
    let log = std::fs::read_to_string(
        home.path()
            .join("state/consult-recorder/logs/consult-cli.log"),
    )
    .unwrap_or_default();
    assert!(
        log.contains("Unknown PCM no_such_device"),
        "the log has what the sound library said: {log}"
    );
}
