//! The tray icon: shows whether a recording is running and starts or stops
//! one without opening the window.

use consult_recorder::app::{App, RecordingRequest};
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{Manager, Runtime};

const TRAY_ID: &str = "main";

/// Adds the tray icon and its menu.
pub fn install<R: Runtime>(handle: &tauri::AppHandle<R>) -> tauri::Result<()> {
    let start = MenuItem::with_id(handle, "start", "Start recording", true, None::<&str>)?;
    let stop = MenuItem::with_id(handle, "stop", "Stop recording", false, None::<&str>)?;
    let show = MenuItem::with_id(handle, "show", "Show Consult Recorder", true, None::<&str>)?;
    let quit = MenuItem::with_id(handle, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(handle, &[&start, &stop, &show, &quit])?;
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Consult Recorder — not recording")
        .menu(&menu)
        .on_menu_event(|handle, event| match event.id().as_ref() {
            "start" => {
                let app = handle.state::<App>().inner().clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(err) = app.start_recording(&RecordingRequest::default()).await {
                        tracing::warn!(error = %err, "tray: recording did not start");
                    }
                });
            }
            "stop" => {
                handle.state::<App>().stop_recording();
            }
            "show" => crate::focus_main(handle),
            "quit" => {
                if handle.state::<App>().snapshot().recording.is_some() {
                    // Never end a consultation by accident: show the window instead.
                    crate::focus_main(handle);
                } else {
                    handle.exit(0);
                }
            }
            _ => {}
        });
    if let Some(icon) = handle.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(handle)?;
    handle.manage(TrayItems { start, stop });
    Ok(())
}

struct TrayItems<R: Runtime> {
    start: MenuItem<R>,
    stop: MenuItem<R>,
}

/// Updates the tooltip and which of Start/Stop is enabled.
pub fn show_recording<R: Runtime>(handle: &tauri::AppHandle<R>, recording: bool) {
    if let Some(tray) = handle.tray_by_id(TRAY_ID) {
        let tip = if recording {
            "Consult Recorder — recording"
        } else {
            "Consult Recorder — not recording"
        };
        let _ = tray.set_tooltip(Some(tip));
    }
    if let Some(items) = handle.try_state::<TrayItems<R>>() {
        let _ = items.start.set_enabled(!recording);
        let _ = items.stop.set_enabled(recording);
    }
}

/// Says in the tooltip that the recording is paused (or recording again).
pub fn show_paused<R: Runtime>(handle: &tauri::AppHandle<R>, paused: bool) {
    if let Some(tray) = handle.tray_by_id(TRAY_ID) {
        let tip = if paused {
            "Consult Recorder — paused, nothing is recorded"
        } else {
            "Consult Recorder — recording"
        };
        let _ = tray.set_tooltip(Some(tip));
    }
}
