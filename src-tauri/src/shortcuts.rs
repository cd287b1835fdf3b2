//! The global shortcuts: one starts or stops recording from any application
//! (configurable in Settings; `CommandOrControl+Shift+R` by default), the
//! other pauses or resumes it (`CommandOrControl+Shift+P`).

use consult_recorder::app::{App, RecordingRequest};
use consult_recorder::settings::{DEFAULT_GLOBAL_SHORTCUT, PAUSE_SHORTCUT};
use tauri::plugin::TauriPlugin;
use tauri::{Manager, Runtime};
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutState};

/// The plugin, with the handler that toggles recording or the pause.
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|handle, shortcut, event| {
            if event.state() != ShortcutState::Pressed {
                return;
            }
            if PAUSE_SHORTCUT.parse::<Shortcut>().ok().as_ref() == Some(shortcut) {
                toggle_pause(handle);
            } else {
                toggle_recording(handle);
            }
        })
        .build()
}

/// (Re)registers the shortcut from the settings. A shortcut another program
/// holds is logged, not fatal: the window's own keys still work.
pub fn register<R: Runtime>(handle: &tauri::AppHandle<R>) {
    let wanted = handle
        .state::<App>()
        .snapshot()
        .settings
        .global_shortcut
        .unwrap_or_else(|| DEFAULT_GLOBAL_SHORTCUT.to_owned());
    let shortcuts = handle.global_shortcut();
    let _ = shortcuts.unregister_all();
    match wanted.parse::<Shortcut>() {
        Ok(shortcut) => {
            if let Err(err) = shortcuts.register(shortcut) {
                tracing::warn!(shortcut = %wanted, error = %err, "global shortcut unavailable");
            }
        }
        Err(err) => {
            tracing::warn!(shortcut = %wanted, error = %err, "global shortcut not understood")
        }
    }
    match PAUSE_SHORTCUT.parse::<Shortcut>() {
        Ok(pause) if Some(&pause) != wanted.parse::<Shortcut>().ok().as_ref() => {
            if let Err(err) = shortcuts.register(pause) {
                tracing::warn!(shortcut = PAUSE_SHORTCUT, error = %err, "pause shortcut unavailable");
            }
        }
        Ok(_) => {
            tracing::warn!("the recording shortcut is the pause shortcut; only recording is kept")
        }
        Err(err) => tracing::warn!(error = %err, "pause shortcut not understood"),
    }
}

fn toggle_pause<R: Runtime>(handle: &tauri::AppHandle<R>) {
    if let Err(err) = handle.state::<App>().toggle_pause() {
        tracing::info!(error = %err, "pause shortcut: nothing to pause");
    }
}

fn toggle_recording<R: Runtime>(handle: &tauri::AppHandle<R>) {
    let app = handle.state::<App>().inner().clone();
    if app.stop_recording().is_none() {
        tauri::async_runtime::spawn(async move {
            if let Err(err) = app.start_recording(&RecordingRequest::default()).await {
                tracing::warn!(error = %err, "shortcut: recording did not start");
            }
        });
    }
}
