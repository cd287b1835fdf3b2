//! `record`: one consultation from the microphone (or a WAV file) to the server.

use consult_recorder::audio::{MicSource, WavSource};
use consult_recorder::auth::{Keychain, TokenManager, TokenUnavailable};
use consult_recorder::config::Resolved;
use consult_recorder::paths::AppDirs;
use consult_recorder::session::{Session, SessionSetup};

use super::microphone::chosen_microphone;
use super::{open_store, sender_options, signed_in_tokens};
use crate::args::RecordArgs;
use crate::failure::{Failure, other};
use crate::output::follow;

/// `record`: records until Ctrl-C (or the file's end) and follows the upload.
pub async fn record(
    dirs: &AppDirs,
    keychain: &Keychain,
    config: &Resolved,
    args: RecordArgs,
) -> Result<(), Failure> {
    let RecordArgs {
        input,
        device,
        speed,
        session_id,
        server,
        reference,
        ..
    } = args;
    let given_id = session_id.clone();
    let id = match session_id {
        Some(given) => {
            consult_recorder::consultation::check_session_id(&given).map_err(|e| Failure {
                code: 2,
                message: format!("--session-id: {e}"),
            })?
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let (tokens, server) = signed_in_tokens(dirs, keychain, config, server).await?;
    let id = match &config.server_profile.create_session {
        Some(call) if given_id.is_none() => {
            clinic_id(
                &server,
                call,
                &tokens,
                &reference,
                config.language.as_deref(),
            )
            .await?
        }
        _ => id,
    };
    let setup = SessionSetup {
        id,
        reference,
        profile: config.profile,
        server,
        spool_dir: dirs.spool(),
        store: open_store(dirs, keychain)?,
        tokens: tokens.clone(),
        options: sender_options(config),
    };
    let session = match input {
        Some(input) => {
            let source = WavSource::open(&input, speed).map_err(other)?;
            Session::start(setup, Some(source))
        }
        None => {
            let device = chosen_microphone(dirs, device)?;
            let mic = MicSource::open(device.as_deref()).map_err(other)?;
            if let Some(reason) = &mic.fallback_reason {
                eprintln!("warning: {reason}");
            }
            eprintln!("recording from {}", mic.device.name);
            Session::start(setup, Some(mic))
        }
    }
    .map_err(other)?;
    follow(session, &tokens).await
}

/// The consultation id the clinic's server creates (the server profile's
/// `create_session_*` keys). Exit code 4 when it cannot be reached, as for
/// sign-in; nothing is recorded without an id the server knows.
async fn clinic_id(
    server: &str,
    call: &consult_recorder::server_profile::CreateSession,
    tokens: &TokenManager,
    reference: &str,
    language: Option<&str>,
) -> Result<String, Failure> {
    let token = tokens.access_token().await.map_err(|e| Failure {
        code: match e {
            TokenUnavailable::Offline(_) => 4,
            _ => 3,
        },
        message: format!("no consultation was created, nothing recorded: {e}"),
    })?;
    consult_recorder::clinic_session::create(server, call, &token, reference, language)
        .await
        .map_err(|e| Failure {
            code: match e {
                consult_recorder::clinic_session::CreateSessionError::Unreachable(_) => 4,
                _ => 1,
            },
            message: format!("no consultation was created, nothing recorded: {e}"),
        })
}
