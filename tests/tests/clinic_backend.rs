//! A clinic's backend that names everything differently from the seed
//! documents: the independent Python seed backend started with `--api
//! clinic` (other sign-in and refresh paths and fields, tokens nested under
//! `data`, another WebSocket path, the token as a first message, a required
//! language parameter, an Origin check). The recorder is configured only
//! through the administrator's file, as clinic IT would do it, and runs as
//! the separate `consult-cli` process.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use consult_recorder::store::Profile;
use e2e_tests::audio::{unique_pcm, write_wav};
use e2e_tests::reliability::{isolated_cli, lost_and_duplicated};
use e2e_tests::seed_backend::{Architecture, SeedBackend, SeedOptions};
use e2e_tests::server::{EMAIL, PASSWORD};

/// Time runs this much faster than real time for the backend's recogniser
/// and for the recorder's pace alike.
const SPEED: u32 = 4;

/// The `[server_profile]` that describes the clinic variant.
const CLINIC_PROFILE: &str = r#"
[server_profile]
login_path = "/auth/token"
refresh_path = "/auth/token/renew"
login_email_field = "username"
login_password_field = "passcode"
refresh_request_field = "refreshToken"
access_token_field = "data.accessToken"
refresh_token_field = "data.refreshToken"
expires_in_field = "data.expiresIn"
stream_path = "/ws/v2/stream"
token_transport = "first_message"
session_query_param = "consultation"
language_query_param = "language_code"
origin = "https://emr.clinic.example"
"#;

struct Clinic {
    backend: SeedBackend,
    home: tempfile::TempDir,
    system: PathBuf,
}

impl Clinic {
    async fn start(profile: &str) -> Self {
        let mut options = SeedOptions::new(Architecture::Pipeline);
        options.api = "clinic";
        options.time_scale = f64::from(SPEED);
        let backend = SeedBackend::start(options).await;
        let home = tempfile::tempdir().unwrap();
        let system = home.path().join("config.toml");
        std::fs::write(
            &system,
            format!(
                "server = \"{}\"\nprofile = \"seed\"\nlanguage = \"hi-IN\"\nseed_pace = {SPEED}\n{profile}",
                backend.http_url()
            ),
        )
        .unwrap();
        Self {
            backend,
            home,
            system,
        }
    }

    /// The CLI with only the administrator's file to go by: no server,
    /// profile or pace from the environment.
    async fn cli(&self, args: &[&str]) -> Output {
        let run = isolated_cli(self.home.path())
            .args(args)
            .env("CONSULT_SYSTEM_CONFIG", &self.system)
            .env("CONSULT_PASSWORD", PASSWORD)
            .env_remove("CONSULT_PROFILE")
            .env_remove("CONSULT_SEED_PACE")
            .env_remove("CONSULT_LANGUAGE")
            .output();
        // A guard, not a synchronisation: an 8 s recording at 4x takes
        // seconds; a recorder retrying a refused connection would run on.
        tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .unwrap_or_else(|_| panic!("consult-cli {args:?} did not finish within 120 s"))
            .expect("consult-cli runs")
    }

    /// `consult-cli record` of `wav` at the backend's pace with `extra`, as every recording here.
    async fn record(&self, wav: &Path, extra: &[&str]) -> Output {
        let speed = SPEED.to_string();
        let mut args = vec![
            "record",
            "--input",
            wav.to_str().unwrap(),
            "--speed",
            &speed,
        ];
        args.extend_from_slice(extra);
        self.cli(&args).await
    }

    fn wav(&self, pcm: &[u8]) -> PathBuf {
        let path = self.home.path().join("consultation.wav");
        write_wav(&path, pcm);
        path
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The events `consult-cli record` printed, one JSON object a line.
fn events(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// `diagnose --json`'s (name, outcome, detail) of the server checks.
async fn server_checks(clinic: &Clinic) -> Vec<(String, String, String)> {
    let output = clinic.cli(&["diagnose", "--json"]).await;
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&output)));
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["area"] == "server")
        .map(|c| {
            let field = |name: &str| c[name].as_str().unwrap_or_default().to_owned();
            (field("name"), field("outcome"), field("detail"))
        })
        .collect()
}

fn outcome_of<'a>(
    checks: &'a [(String, String, String)],
    name: &str,
) -> &'a (String, String, String) {
    checks
        .iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no {name} check in {checks:?}"))
}

fn stored_session(backend: &SeedBackend, session: &str) -> PathBuf {
    backend.session_dir(session)
}

fn connected_queries(backend: &SeedBackend) -> Vec<serde_json::Value> {
    backend
        .events()
        .into_iter()
        .filter(|e| e["event"] == "connected")
        .map(|e| e["query"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python; run scripts/test.sh"]
async fn a_backend_with_its_own_names_is_reached_through_the_administrators_file_alone() {
    let clinic = Clinic::start(CLINIC_PROFILE).await;

    let checks = server_checks(&clinic).await;
    for name in ["sign-in path", "refresh path", "WebSocket"] {
        assert_eq!(outcome_of(&checks, name).1, "ok", "{checks:?}");
    }

    let login = clinic.cli(&["login", "--email", EMAIL]).await;
    assert!(login.status.success(), "{}", text(&login));

    // An id that is not a clinic's consultation number is refused before
    // anything is recorded.
    let hostile = clinic
        .cli(&["record", "--input", "x.wav", "--session-id", "../../etc"])
        .await;
    assert_eq!(hostile.status.code(), Some(2), "{}", text(&hostile));
    assert!(
        text(&hostile).contains("letters, digits"),
        "{}",
        text(&hostile)
    );

    let source = unique_pcm(8 * 16_000, 0xC11C);
    let wav = clinic.wav(&source);
    let session = "enc-2026-0042";
    let record = clinic.record(&wav, &["--session-id", session]).await;
    assert!(record.status.success(), "{}", text(&record));
    let printed = events(&record);
    let finals: Vec<&str> = printed
        .iter()
        .filter(|e| e["type"] == "transcript" && e["update"]["is_final"] == true)
        .filter_map(|e| e["update"]["text"].as_str())
        .collect();
    assert!(
        !finals.is_empty() && finals.iter().all(|f| f.starts_with("heard ")),
        "the clinic's text is shown: {}",
        text(&record)
    );
    let last_status = printed
        .iter()
        .rev()
        .find(|e| e["type"] == "status")
        .map(|e| e["status"]["state"].clone());
    assert_eq!(
        last_status,
        Some(serde_json::json!("sent")),
        "{}",
        text(&record)
    );

    let (lost, _) = lost_and_duplicated(
        &source,
        &stored_session(&clinic.backend, session),
        Profile::Seed,
    );
    assert_eq!(lost, 0, "every sample reached the clinic's recogniser");
    let queries = connected_queries(&clinic.backend);
    assert!(!queries.is_empty());
    for query in &queries {
        assert_eq!(query["consultation"], session, "{query}");
        assert_eq!(query["language_code"], "hi-IN", "{query}");
        assert!(query.get("token").is_none(), "no token in the URL: {query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python; run scripts/test.sh"]
async fn diagnose_names_a_wrong_path_and_a_missing_origin() {
    // The seed defaults against the clinic's backend: every name is wrong.
    let clinic = Clinic::start("").await;
    let checks = server_checks(&clinic).await;
    let sign_in = outcome_of(&checks, "sign-in path");
    assert_eq!(sign_in.1, "failed", "{checks:?}");
    assert!(
        sign_in.2.contains("/api/v1/auth/login") && sign_in.2.contains("login_path"),
        "{sign_in:?}"
    );
    let socket = outcome_of(&checks, "WebSocket");
    assert_eq!(socket.1, "failed", "{checks:?}");
    assert!(socket.2.contains("stream_path"), "{socket:?}");

    // Every name right but the Origin the backend's CORS check wants.
    let without_origin = CLINIC_PROFILE.replace("origin = \"https://emr.clinic.example\"\n", "");
    let clinic = Clinic::start(&without_origin).await;
    let checks = server_checks(&clinic).await;
    assert_eq!(outcome_of(&checks, "sign-in path").1, "ok", "{checks:?}");
    let socket = outcome_of(&checks, "WebSocket");
    assert_eq!(socket.1, "failed", "{checks:?}");
    assert!(socket.2.contains("origin"), "{socket:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python; run scripts/test.sh"]
async fn without_an_id_the_recorder_asks_the_clinics_backend_to_create_the_consultation() {
    let create = r#"
create_session_path = "/api/consultations"
create_session_body = '{"patient_ref": "{reference}", "language_code": "{language}"}'
create_session_id_field = "data.consultationId"
"#;
    let clinic = Clinic::start(&format!("{CLINIC_PROFILE}{create}")).await;
    let checks = server_checks(&clinic).await;
    let path = outcome_of(&checks, "consultation path");
    assert_eq!(path.1, "ok", "{checks:?}");
    assert!(
        path.2.contains("HTTP 401"),
        "refused unauthenticated: {path:?}"
    );
    let login = clinic.cli(&["login", "--email", EMAIL]).await;
    assert!(login.status.success(), "{}", text(&login));
    let source = unique_pcm(4 * 16_000, 0xC4EA);
    let wav = clinic.wav(&source);
    let record = clinic
        .record(&wav, &["--reference", "Room 3, \"Mr\" Jones"])
        .await;
    assert!(record.status.success(), "{}", text(&record));

    let created: Vec<serde_json::Value> = clinic
        .backend
        .events()
        .into_iter()
        .filter(|e| e["event"] == "consultation_created")
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["patient_ref"], "Room 3, \"Mr\" Jones");
    assert_eq!(created[0]["language_code"], "hi-IN");
    let session = "CONS-0001";
    let queries = connected_queries(&clinic.backend);
    assert!(!queries.is_empty());
    for query in &queries {
        assert_eq!(query["consultation"], session, "every connection: {query}");
    }
    let (lost, _) = lost_and_duplicated(
        &source,
        &stored_session(&clinic.backend, session),
        Profile::Seed,
    );
    assert_eq!(lost, 0);

    // The backend down: nothing is recorded under a made-up id, and the
    // doctor is told why.
    clinic.backend.kill().await;
    let refused = clinic.record(&wav, &[]).await;
    assert_eq!(refused.status.code(), Some(4), "{}", text(&refused));
    assert!(
        text(&refused).contains("No consultation was created"),
        "{}",
        text(&refused)
    );
    let sessions = clinic.cli(&["sessions", "--json"]).await;
    let listed = String::from_utf8_lossy(&sessions.stdout).to_string();
    assert_eq!(
        listed.matches("\"id\"").count(),
        1,
        "only the first consultation is on this computer: {listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python and a keyutils session keyring; run scripts/test.sh"]
async fn the_app_asks_the_clinics_backend_for_the_id_only_when_the_doctor_gives_none() {
    use consult_recorder::app::{App, AppOptions, RecordingRequest};
    use consult_recorder::auth::{Keychain, KeychainBackend, Secret};
    use consult_recorder::config::{ConfigSources, SystemFile};

    let create = "create_session_path = \"/api/consultations\"\n\
                  create_session_body = '{\"patient_ref\": \"{reference}\"}'\n\
                  create_session_id_field = \"data.consultationId\"\n";
    let clinic = Clinic::start(&format!("{CLINIC_PROFILE}{create}")).await;
    let system = std::fs::read_to_string(&clinic.system).unwrap();
    let app = App::open(AppOptions {
        dirs: consult_recorder::paths::AppDirs::under(clinic.home.path()),
        keychain: Keychain::start(KeychainBackend::Keyutils),
        config: ConfigSources::from_system_file(SystemFile::parse(&clinic.system, &system)),
        sender: Default::default(),
    })
    .unwrap();
    let url = clinic.backend.http_url();
    app.sign_in(&url, EMAIL, Secret::new(PASSWORD))
        .await
        .unwrap();

    let asked = app
        .with_clinic_id(&RecordingRequest::with_reference("Room 9"))
        .await
        .unwrap();
    assert_eq!(asked.session_id.as_deref(), Some("CONS-0001"));
    assert_eq!(asked.reference, "Room 9");
    let given = RecordingRequest {
        session_id: Some("ENC-7".into()),
        ..RecordingRequest::with_reference("Room 9")
    };
    assert_eq!(app.with_clinic_id(&given).await.unwrap(), given);
    let created: Vec<_> = clinic
        .backend
        .events()
        .into_iter()
        .filter(|e| e["event"] == "consultation_created")
        .collect();
    assert_eq!(
        created.len(),
        1,
        "asked once, for the request without an id"
    );
    assert_eq!(created[0]["patient_ref"], "Room 9");
}
