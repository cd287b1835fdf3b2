//! Consult Recorder desktop app: a thin Tauri shell over the `consult-recorder`
//! library.
//!
//! Holds no business logic: the commands, the bridge from the core's events to
//! the web UI, the tray and the shortcuts live here; everything else lives in
//! the library, which tests drive without a window.

#![deny(clippy::unwrap_used)]

pub mod command_names;
pub mod commands;
pub mod deep_links;
pub mod shortcuts;
mod tray;

use consult_recorder::app::App;
use tauri::{Emitter, Manager, Runtime};

/// The name of the one event the UI listens to; its payload is a core `Event`.
pub const EVENT: &str = "recorder-event";

/// Registers the app's state and commands on a builder (the real one, or the
/// mock one in tests).
pub fn with_app<R: Runtime>(builder: tauri::Builder<R>, app: App) -> tauri::Builder<R> {
    builder.manage(app).invoke_handler(tauri::generate_handler![
        commands::snapshot,
        commands::sign_in,
        commands::sign_out,
        commands::devices,
        commands::save_settings,
        commands::start_recording,
        commands::stop_recording,
        commands::pause_recording,
        commands::sessions,
        commands::transcript,
        commands::export_transcript,
        commands::show_export,
        commands::delete_session,
        commands::resend_session,
        commands::diagnostics,
        commands::accept_link,
        commands::dismiss_link,
    ])
}

/// Forwards every core event to the webview, and keeps the tray in step.
pub fn forward_events<R: Runtime>(handle: tauri::AppHandle<R>) {
    let app = handle.state::<App>().inner().clone();
    let mut events = app.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    match &event {
                        consult_recorder::events::Event::Recording { active, .. } => {
                            tray::show_recording(&handle, *active);
                        }
                        consult_recorder::events::Event::Paused { paused, .. } => {
                            tray::show_paused(&handle, *paused);
                        }
                        _ => {}
                    }
                    if let Err(err) = handle.emit(EVENT, &event) {
                        tracing::warn!(error = %err, "cannot reach the window");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the window missed events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

pub use tray::install as install_tray;

/// Brings the main window to the front (a second launch, the tray).
pub fn focus_main<R: Runtime>(handle: &tauri::AppHandle<R>) {
    if let Some(window) = handle.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}
