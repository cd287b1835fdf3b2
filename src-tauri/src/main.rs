//! Consult Recorder desktop app: a thin Tauri shell over the `consult-recorder` library.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
#![deny(clippy::unwrap_used)]

use consult_recorder::app::{App, AppOptions};
use consult_recorder::auth::{Keychain, KeychainBackend};
use consult_recorder::config::ConfigSources;
use consult_recorder::paths::AppDirs;
use consult_recorder::session::SenderOptions;
use consult_recorder::{logging, settings};
use tauri::Manager;

const USAGE: &str =
    "usage: consult-recorder [--version | diagnose [--json] [--listen SECONDS] | LINK]
  (no arguments)  open the recorder window
  LINK            open it ready to record a consultation from the clinic's
                  system (consult-recorder://record?session_id=…; the doctor
                  confirms first)
  --version       print the version
  diagnose        check configuration, storage, keychain, server, sign-in and
                  microphone; exit code 0 when nothing failed (see the deployment guide)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let diagnose = match words.as_slice() {
        [] => None,
        [link] if consult_recorder_app::deep_links::is_link_argument(link) => None,
        ["--version"] => {
            println!("consult-recorder {}", consult_recorder::VERSION);
            return;
        }
        ["diagnose", rest @ ..] => match parse_diagnose(rest) {
            Some(options) => Some(options),
            None => exit_usage(),
        },
        ["--help" | "-h"] => {
            println!("{USAGE}");
            return;
        }
        _ => exit_usage(),
    };
    let Some(dirs) = AppDirs::for_user() else {
        eprintln!("error: this system reports no home folder");
        std::process::exit(1);
    };
    let config = ConfigSources::load();
    let resolved = config.resolve(&settings::load(&dirs.config).unwrap_or_default());
    let stderr_filter = std::env::var("CONSULT_LOG").unwrap_or_else(|_| "warn".into());
    let log_name = if diagnose.is_some() {
        "diagnose"
    } else {
        "consult-recorder"
    };
    match logging::init(
        &dirs.logs,
        log_name,
        resolved.log_level.as_str(),
        &stderr_filter,
    ) {
        Ok(path) => {
            tracing::info!(log = %path.display(), version = consult_recorder::VERSION, "starting")
        }
        Err(reason) => eprintln!("warning: {reason}"),
    }
    for problem in &resolved.problems {
        tracing::warn!(%problem, "configuration ignored");
    }
    let options = AppOptions {
        dirs,
        keychain: Keychain::start(KeychainBackend::Platform),
        config,
        sender: SenderOptions::default(),
    };
    let app = match App::open(options) {
        Ok(app) => app,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(8);
        }
    };
    if let Some((json, listen)) = diagnose {
        std::process::exit(run_diagnose(&app, json, listen));
    }
    let builder = tauri::Builder::default()
        // First: a second launch only focuses the first (one recorder per mic
        // and spool); a link it carries reaches the first through the deep-link plugin.
        .plugin(tauri_plugin_single_instance::init(|handle, _args, _cwd| {
            consult_recorder_app::focus_main(handle);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(consult_recorder_app::shortcuts::plugin())
        .setup(|tauri_app| {
            let handle = tauri_app.handle().clone();
            consult_recorder_app::install_tray(&handle)?;
            handle.manage(consult_recorder_app::commands::GlobalShortcutInUse);
            consult_recorder_app::shortcuts::register(&handle);
            consult_recorder_app::forward_events(handle.clone());
            consult_recorder_app::deep_links::install(&handle);
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

/// `diagnose [--json] [--listen SECONDS]`
fn parse_diagnose(rest: &[&str]) -> Option<(bool, f64)> {
    let mut json = false;
    let mut listen = 1.0;
    let mut words = rest.iter();
    while let Some(word) = words.next() {
        match *word {
            "--json" => json = true,
            "--listen" => {
                listen = words
                    .next()?
                    .parse()
                    .ok()
                    .filter(|s: &f64| (0.0..=60.0).contains(s))?
            }
            _ => return None,
        }
    }
    Some((json, listen))
}

fn exit_usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

/// Runs the checks without opening a window (IT runs this over SSH).
fn run_diagnose(app: &App, json: bool, listen: f64) -> i32 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime starts");
    let report = runtime.block_on(app.diagnose(std::time::Duration::from_secs_f64(listen)));
    print!("{}", report.printable(json));
    i32::from(report.exit_code)
}
