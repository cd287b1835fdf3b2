//! `sessions`, `resend`, `upload`, `transcript`: the history of recordings.

use consult_recorder::audio::WavSource;
use consult_recorder::auth::{Keychain, TokenManager};
use consult_recorder::config::Resolved;
use consult_recorder::paths::AppDirs;
use consult_recorder::session::{Session, SessionSetup};
use consult_recorder::store::{SessionRecord, SessionState, Store};

use super::{open_store, sender_options, signed_in_tokens};
use crate::args::TranscriptFormat;
use crate::failure::{Failure, other};
use crate::output::follow;

/// `sessions`: every recording with its upload state.
pub fn sessions(dirs: &AppDirs, keychain: &Keychain, json: bool) -> Result<(), Failure> {
    let sessions = open_store(dirs, keychain)?.list().map_err(other)?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&sessions).expect("records serialise")
        );
    } else if sessions.is_empty() {
        println!("no sessions");
    } else {
        for s in sessions {
            println!(
                "{}  {:>8}  {:>7.1} s recorded  {:>7.1} s pending  {}",
                s.id,
                format!("{:?}", s.state).to_lowercase(),
                s.duration_secs(),
                consult_recorder::protocol::samples_to_secs(s.pending_samples()),
                s.reference
            );
        }
    }
    Ok(())
}

/// `resend`: sends a finished session again from its first sample.
pub async fn resend(
    dirs: &AppDirs,
    keychain: &Keychain,
    config: &Resolved,
    session_id: &str,
) -> Result<(), Failure> {
    let store = open_store(dirs, keychain)?;
    let record = store
        .get(session_id)
        .map_err(other)?
        .ok_or_else(|| Failure::other(format!("no session {session_id}")))?;
    if matches!(
        record.state,
        SessionState::Recording | SessionState::Uploading
    ) {
        return Err(Failure::other(format!(
            "session {session_id} is still being sent; `upload` finishes it"
        )));
    }
    let spool = consult_recorder::session::spool_path(&dirs.spool(), session_id);
    if !spool.exists() {
        return Err(Failure::other(format!(
            "the audio of session {session_id} is no longer on this computer (retention)"
        )));
    }
    let (tokens, _) = signed_in_tokens(dirs, keychain, config, None).await?;
    store.restart_upload(session_id).map_err(other)?;
    let session = start_upload(&record, dirs, store, &tokens, config)?;
    follow(session, &tokens).await
}

/// `upload`: sends every session's unconfirmed audio.
pub async fn upload(dirs: &AppDirs, keychain: &Keychain, config: &Resolved) -> Result<(), Failure> {
    let store = open_store(dirs, keychain)?;
    let pending = consult_recorder::session::pending(&store).map_err(other)?;
    if pending.is_empty() {
        eprintln!("nothing to upload");
        return Ok(());
    }
    let (tokens, _) = signed_in_tokens(dirs, keychain, config, None).await?;
    let mut failed = 0;
    for record in pending {
        let session = start_upload(&record, dirs, store.clone(), &tokens, config)?;
        if follow(session, &tokens).await.is_err() {
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(Failure::other(format!(
            "{failed} session(s) could not be uploaded"
        )));
    }
    Ok(())
}

/// `transcript`: a session's transcript as text or JSON.
pub fn transcript(
    dirs: &AppDirs,
    keychain: &Keychain,
    session_id: &str,
    format: TranscriptFormat,
) -> Result<(), Failure> {
    let store = open_store(dirs, keychain)?;
    if store.get(session_id).map_err(other)?.is_none() {
        return Err(Failure::other(format!("no session {session_id}")));
    }
    let segments = store.segments(session_id).map_err(other)?;
    match format {
        TranscriptFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&segments).expect("segments serialise")
            )
        }
        TranscriptFormat::Txt => {
            for segment in segments {
                println!("{}", segment.text);
            }
        }
    }
    Ok(())
}

/// Starts sending what the spool of a recorded session holds.
fn start_upload(
    record: &SessionRecord,
    dirs: &AppDirs,
    store: Store,
    tokens: &TokenManager,
    config: &Resolved,
) -> Result<Session, Failure> {
    let setup = SessionSetup {
        id: record.id.clone(),
        reference: record.reference.clone(),
        profile: record.profile,
        server: record.server.clone(),
        spool_dir: dirs.spool(),
        store,
        tokens: tokens.clone(),
        options: sender_options(config),
    };
    Session::start::<WavSource>(setup, None).map_err(other)
}
