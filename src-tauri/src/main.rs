//! Consult Recorder desktop app: a thin Tauri shell over the `consult-recorder` library.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use consult_recorder::app::{App, AppOptions};
use consult_recorder::auth::{Keychain, KeychainBackend};
use consult_recorder::paths::AppDirs;
use consult_recorder::session::SenderOptions;
use consult_recorder::store::Profile;
use tauri::Manager;

fn main() {
    if std::env::args().any(|a| a == "--version") {
        println!("consult-recorder {}", consult_recorder::VERSION);
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONSULT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Some(dirs) = AppDirs::for_user() else {
        eprintln!("error: this system reports no home folder");
        std::process::exit(1);
    };
    let options = AppOptions {
        dirs,
        keychain: Keychain::start(KeychainBackend::Platform),
        server: std::env::var("CONSULT_SERVER").ok(),
        server_locked: std::env::var("CONSULT_SERVER_LOCKED").is_ok_and(|v| v == "1"),
        profile: Profile::V1,
        sender: SenderOptions::default(),
    };
    let app = match App::open(options) {
        Ok(app) => app,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    };
    let builder = tauri::Builder::default()
        // First: a second launch only focuses the first (one recorder per mic and spool).
        .plugin(tauri_plugin_single_instance::init(|handle, _args, _cwd| {
            consult_recorder_app::focus_main(handle);
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(consult_recorder_app::shortcuts::plugin())
        .setup(|tauri_app| {
            let handle = tauri_app.handle().clone();
            consult_recorder_app::install_tray(&handle)?;
            handle.manage(consult_recorder_app::commands::GlobalShortcutInUse);
            consult_recorder_app::shortcuts::register(&handle);
            consult_recorder_app::forward_events(handle.clone());
            let app = handle.state::<App>().inner().clone();
            tauri::async_runtime::spawn(async move {
                app.start_up().await;
            });
            Ok(())
        });
    consult_recorder_app::with_app(builder, app)
        .run(tauri::generate_context!())
        .expect("the Consult Recorder window could not start");
}
