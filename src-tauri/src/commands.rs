//! The webview's only way into the app: each command checks its input and
//! calls the core library. No logic of its own.

use consult_recorder::app::{
    App, AppError, ExportFormat, RecordingRequest, RecordingView, SessionView, Snapshot,
};
use consult_recorder::audio::InputDevice;
use consult_recorder::auth::Secret;
use consult_recorder::settings::UserSettings;
use consult_recorder::store::Segment;
use tauri::{AppHandle, Manager, Runtime, State};

/// Session ids are UUIDs or a clinic system's consultation ids (letters,
/// digits, `-`, `_`): anything else is refused before reaching the store.
fn session_id(id: &str) -> Result<&str, AppError> {
    if consult_recorder::consultation::is_valid_session_id(id) {
        Ok(id)
    } else {
        Err(AppError::invalid("That is not a session id."))
    }
}

/// What the UI shows right now.
#[tauri::command]
pub fn snapshot(app: State<'_, App>) -> Snapshot {
    app.snapshot()
}

/// Signs in to `server` with a password. Over-long input is refused before it
/// reaches the core.
#[tauri::command]
pub async fn sign_in(
    app: State<'_, App>,
    server: String,
    email: String,
    password: String,
) -> Result<Snapshot, AppError> {
    if server.len() > 2_048 || email.len() > 320 || password.len() > 4_096 {
        return Err(AppError::invalid("That is too long."));
    }
    app.sign_in(&server, &email, Secret::new(password)).await
}

/// Signs out, removing the sign-in from the keychain; refused while recording.
#[tauri::command]
pub async fn sign_out(app: State<'_, App>) -> Result<Snapshot, AppError> {
    app.sign_out().await
}

/// The microphones, the default first.
#[tauri::command]
pub async fn devices(app: State<'_, App>) -> Result<Vec<InputDevice>, AppError> {
    app.devices().await
}

/// Saves the person's settings, then registers the global shortcut again, as
/// they may have changed it.
#[tauri::command]
pub fn save_settings<R: Runtime>(
    handle: AppHandle<R>,
    app: State<'_, App>,
    settings: UserSettings,
) -> Result<Snapshot, AppError> {
    let snapshot = app.save_settings(&settings)?;
    if handle.try_state::<GlobalShortcutInUse>().is_some() {
        crate::shortcuts::register(&handle);
    }
    Ok(snapshot)
}

/// Present when the global-shortcut plugin runs (not in command tests).
pub struct GlobalShortcutInUse;

/// Starts recording from the chosen microphone. `session_id` is the clinic's
/// consultation id, if any; without one a new id is made.
#[tauri::command]
pub async fn start_recording(
    app: State<'_, App>,
    reference: String,
    session_id: Option<String>,
    consent_confirmed: Option<bool>,
) -> Result<RecordingView, AppError> {
    let request = RecordingRequest {
        reference,
        session_id,
        consent_confirmed: consent_confirmed.unwrap_or(false),
        language: None,
        continue_existing: false,
    };
    app.start_recording(&request).await
}

/// The doctor confirmed the link from the clinic's system that the app
/// offered: what is recorded comes from the link the app read, not the page.
#[tauri::command]
pub async fn accept_link(
    app: State<'_, App>,
    consent_confirmed: Option<bool>,
) -> Result<RecordingView, AppError> {
    app.accept_link(consent_confirmed.unwrap_or(false)).await
}

/// The doctor declined the link from the clinic's system that the app offered.
#[tauri::command]
pub fn dismiss_link(app: State<'_, App>) {
    app.dismiss_link();
}

/// Stops the recording and returns its session id (`None` if none was running).
/// Its upload goes on until the server has it all.
#[tauri::command]
pub fn stop_recording(app: State<'_, App>) -> Option<String> {
    app.stop_recording()
}

/// Pauses (`true`) or resumes the recording; nothing is captured while paused.
#[tauri::command]
pub fn pause_recording(app: State<'_, App>, paused: bool) -> Result<RecordingView, AppError> {
    app.pause_recording(paused)
}

/// The history, newest first.
#[tauri::command]
pub fn sessions(app: State<'_, App>) -> Result<Vec<SessionView>, AppError> {
    app.sessions()
}

/// The settled transcript of session `id`.
#[tauri::command]
pub fn transcript(app: State<'_, App>, id: String) -> Result<Vec<Segment>, AppError> {
    app.transcript(session_id(&id)?)
}

/// Writes the transcript as text or JSON to the Downloads folder (else the
/// app's `exports` folder) and returns the file's path.
#[tauri::command]
pub fn export_transcript(
    app: State<'_, App>,
    id: String,
    format: ExportFormat,
) -> Result<String, AppError> {
    app.export(session_id(&id)?, format, None)
        .map(|path| path.display().to_string())
}

/// Opens the file manager where an export is; only exports are accepted.
#[tauri::command]
pub fn show_export(app: State<'_, App>, path: String) -> Result<(), AppError> {
    app.show_export(std::path::Path::new(&path))
}

/// Deletes a session's audio and transcript from this computer; refused while
/// it is recording or uploading.
#[tauri::command]
pub fn delete_session(app: State<'_, App>, id: String) -> Result<(), AppError> {
    app.delete(session_id(&id)?)
}

/// Sends a session again from its first sample, for a server that never
/// confirms what it stored.
#[tauri::command]
pub fn resend_session(app: State<'_, App>, id: String) -> Result<(), AppError> {
    app.resend(session_id(&id)?)
}

/// Runs the checks (listening to the microphone for a second unless it is
/// recording) and returns the report as text, for "Copy diagnostics".
#[tauri::command]
pub async fn diagnostics(app: State<'_, App>) -> Result<String, AppError> {
    Ok(app.diagnostics().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuids_and_clinic_ids_pass() {
        assert!(session_id("0b7e8f0e-2f1c-4d3a-9c55-5a1d6f0a9b11").is_ok());
        assert!(session_id("ENC_2026-0042").is_ok());
        for bad in ["", "../x", "a b", &"a".repeat(129), "id;drop", "a.b"] {
            assert!(session_id(bad).is_err(), "{bad:?}");
        }
    }
}
