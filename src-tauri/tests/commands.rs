//! The shell's commands through Tauri's mock runtime: what the webview sends,
//! what it gets back, against the real reference server and a real keychain
//! (the kernel's keyutils, so no desktop session is needed). Only the window is
//! mocked: there is no display in a command test.

#![cfg(target_os = "linux")]

use consult_recorder::app::{App, AppOptions};
use consult_recorder::auth::{Keychain, KeychainBackend};
use consult_recorder::config::{ConfigSources, SystemFile};
use consult_recorder::paths::AppDirs;
use consult_recorder::session::SenderOptions;
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;

const EMAIL: &str = "doctor@clinic.test";
const PASSWORD: &str = "correct horse battery staple";

struct Harness {
    _runtime: tokio::runtime::Runtime,
    _server: transcribe_server::RunningServer,
    url: String,
    _home: tempfile::TempDir,
    _app: tauri::App<MockRuntime>,
    webview: tauri::WebviewWindow<MockRuntime>,
}

fn harness() -> Harness {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut config = transcribe_server::ServerConfig::for_tests(home.path().join("server"));
    config.users = vec![format!("{EMAIL}:{PASSWORD}")];
    config.recognizer = transcribe_server::RecognizerKind::Off;
    let server = runtime.block_on(transcribe_server::start(config)).unwrap();
    let url = server.http_url();
    let options = AppOptions {
        dirs: AppDirs::under(home.path()),
        keychain: Keychain::start(KeychainBackend::Keyutils),
        // As an administrator would: the server fixed in the system file.
        config: ConfigSources::from_system_file(SystemFile::parse(
            &home.path().join("config.toml"),
            &format!("server = \"{url}\"\nlocked = [\"server\"]\n"),
        )),
        sender: SenderOptions::default(),
    };
    let app = consult_recorder_app::with_app(mock_builder(), App::open(options).unwrap())
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Harness {
        _runtime: runtime,
        _server: server,
        url,
        _home: home,
        _app: app,
        webview,
    }
}

impl Harness {
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }
}

#[test]
fn the_first_screen_shows_the_server_it_was_given_and_nobody_signed_in() {
    let h = harness();
    let snapshot = h.invoke("snapshot", json!({})).unwrap();
    assert_eq!(snapshot["auth"]["state"], "signed_out");
    assert_eq!(snapshot["server"], h.url.as_str());
    assert_eq!(snapshot["server_locked"], true);
    assert_eq!(snapshot["config"]["locked"], json!(["server"]));
    assert_eq!(snapshot["config"]["origins"]["server"]["layer"], "system");
    assert_eq!(snapshot["recording"], Value::Null);
    assert_eq!(snapshot["version"], consult_recorder::VERSION);
}

#[test]
#[ignore = "needs a keyutils session keyring; run scripts/test.sh"]
fn sign_in_errors_are_sentences_and_a_good_password_signs_in() {
    let h = harness();
    let wrong = h
        .invoke(
            "sign_in",
            json!({"server": h.url, "email": EMAIL, "password": "not it"}),
        )
        .unwrap_err();
    assert_eq!(wrong["kind"], "wrong_password");
    assert_eq!(
        wrong["message"],
        "Wrong e-mail or password. Please try again."
    );

    let elsewhere = h
        .invoke(
            "sign_in",
            json!({"server": "https://elsewhere.example", "email": EMAIL, "password": PASSWORD}),
        )
        .unwrap_err();
    assert_eq!(elsewhere["kind"], "locked", "{elsewhere}");

    let signed = h
        .invoke(
            "sign_in",
            json!({"server": h.url, "email": EMAIL, "password": PASSWORD}),
        )
        .unwrap();
    assert_eq!(signed["auth"]["state"], "signed_in");
    assert_eq!(signed["auth"]["account"], EMAIL);
    assert_eq!(signed["clock_warning"], Value::Null);
    let shown = signed.to_string();
    assert!(!shown.contains(PASSWORD), "no password in what the UI gets");

    let out = h.invoke("sign_out", json!({})).unwrap();
    assert_eq!(out["auth"]["state"], "signed_out");
}

#[test]
fn commands_refuse_bad_input_before_it_reaches_the_core() {
    let h = harness();
    let unknown = "0b7e8f0e-2f1c-4d3a-9c55-5a1d6f0a9b11";
    for (command, args, kind) in [
        (
            "transcript",
            json!({"id": "../../etc/passwd"}),
            "invalid_input",
        ),
        ("delete_session", json!({ "id": unknown }), "not_found"),
        ("resend_session", json!({ "id": unknown }), "not_found"),
        ("resend_session", json!({"id": "../x"}), "invalid_input"),
        (
            "save_settings",
            json!({"settings": {"language": "en_GB; rm -rf"}}),
            "invalid_input",
        ),
    ] {
        let refused = h.invoke(command, args.clone()).unwrap_err();
        assert_eq!(refused["kind"], kind, "{command} {args}");
    }
    let unknown_field = h.invoke("export_transcript", json!({"id": "ab", "format": "pdf"}));
    assert!(
        unknown_field.is_err(),
        "an unknown export format is refused"
    );
    let long_reference = h
        .invoke("start_recording", json!({"reference": "x".repeat(201)}))
        .unwrap_err();
    assert_eq!(long_reference["kind"], "invalid_input");
    assert_eq!(h.invoke("stop_recording", json!({})).unwrap(), Value::Null);
    assert_eq!(h.invoke("sessions", json!({})).unwrap(), json!([]));
}

#[test]
fn settings_are_saved_and_come_back_in_the_snapshot() {
    let h = harness();
    let saved = h
        .invoke(
            "save_settings",
            json!({"settings": {"language": "en-GB", "profile": "seed", "microphone": null, "global_shortcut": null}}),
        )
        .unwrap();
    assert_eq!(saved["settings"]["language"], "en-GB");
    let again = h.invoke("snapshot", json!({})).unwrap();
    assert_eq!(again["settings"]["profile"], "seed");
}

#[test]
fn the_window_may_call_exactly_the_apps_commands() {
    let capability: Value =
        serde_json::from_str(include_str!("../capabilities/default.json")).unwrap();
    let mut granted: Vec<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .filter(|p| p.starts_with("allow-"))
        .collect();
    let mut commands: Vec<String> = consult_recorder_app::command_names::NAMES
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    granted.sort();
    commands.sort();
    assert_eq!(granted, commands);
    // Nothing else: no plugin, file, shell or HTTP permission for the webview.
    let others: Vec<&Value> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p.as_str().unwrap().starts_with("allow-"))
        .collect();
    assert_eq!(
        others,
        vec![
            &json!("core:event:allow-listen"),
            &json!("core:event:allow-unlisten")
        ]
    );
}
