//! `record`: one consultation from the microphone (or a WAV file) to the server.

use consult_recorder::app::RecordingRequest;
use consult_recorder::audio::{MicSource, WavSource};
use consult_recorder::auth::Keychain;
use consult_recorder::config::ConfigSources;
use consult_recorder::paths::AppDirs;

use super::microphone::chosen_microphone;
use super::{open_app, signed_in};
use crate::args::RecordArgs;
use crate::failure::{Failure, other};
use crate::output::follow;

/// `record`: records until Ctrl-C (or the file's end) and follows the upload.
/// The app's rules apply (consent, the id, the clinic's id); `--session-id`
/// with an id already in History continues that recording, as after a crash.
pub async fn record(
    dirs: &AppDirs,
    keychain: &Keychain,
    sources: ConfigSources,
    args: RecordArgs,
) -> Result<(), Failure> {
    let RecordArgs {
        input,
        device,
        speed,
        session_id,
        server,
        reference,
        consent_confirmed,
        ..
    } = args;
    let app = open_app(dirs, keychain, sources)?;
    let request = RecordingRequest {
        reference,
        // Only an id given here continues a recording; one the clinic's
        // server makes up must be new.
        continue_existing: session_id.is_some(),
        session_id,
        consent_confirmed,
        language: None,
    };
    // Nothing is opened, and the server is not asked, for a request the app refuses.
    app.check_recording_request(&request)?;
    signed_in(&app, server.as_deref()).await?;
    let request = app.with_clinic_id(&request).await?;
    let session = match input {
        Some(input) => {
            let source = WavSource::open(&input, speed).map_err(other)?;
            app.begin_recording(source, &request)?
        }
        None => {
            let device = chosen_microphone(dirs, device)?;
            let mic = MicSource::open(device.as_deref()).map_err(other)?;
            if let Some(reason) = &mic.fallback_reason {
                eprintln!("warning: {reason}");
            }
            eprintln!("recording from {}", mic.device.name);
            app.begin_recording(mic, &request)?
        }
    };
    follow(session, app.subscribe()).await
}
