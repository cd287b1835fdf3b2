//! `sessions`, `resend`, `upload`, `transcript`: the history of recordings.

use consult_recorder::app::{AppError, ErrorKind};
use consult_recorder::auth::Keychain;
use consult_recorder::config::ConfigSources;
use consult_recorder::paths::AppDirs;

use super::{open_app, open_store, signed_in};
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

/// `resend`: sends a session sent to a seed server again from its first
/// sample, by the app's rule (see `App::begin_resend`).
pub async fn resend(
    dirs: &AppDirs,
    keychain: &Keychain,
    sources: ConfigSources,
    session_id: &str,
) -> Result<(), Failure> {
    let app = open_app(dirs, keychain, sources)?;
    let refused = |err: AppError| match err.kind {
        ErrorKind::NotFound => Failure::other(format!("no session {session_id}")),
        _ => err.into(),
    };
    // What this computer can tell is checked before the server is asked.
    app.check_resend(session_id).map_err(refused)?;
    signed_in(&app, None).await?;
    let session = app.begin_resend(session_id).map_err(refused)?;
    follow(session, app.subscribe()).await
}

/// `upload`: sends every session's unconfirmed audio, one after the other.
/// Sessions made for another server wait for a sign-in to it (and count as
/// not uploaded): a token is never sent to a server it was not issued by.
pub async fn upload(
    dirs: &AppDirs,
    keychain: &Keychain,
    sources: ConfigSources,
) -> Result<(), Failure> {
    let app = open_app(dirs, keychain, sources)?;
    let waiting = app.pending_uploads()?;
    if waiting.sendable.is_empty() && waiting.elsewhere.is_empty() {
        eprintln!("nothing to upload");
        return Ok(());
    }
    signed_in(&app, None).await?;
    let pending = app.pending_uploads()?;
    for record in &pending.elsewhere {
        eprintln!(
            "warning: session {} was recorded for {}: sign in to that server to upload it",
            record.id, record.server
        );
    }
    let mut failed = pending.elsewhere.len();
    for record in &pending.sendable {
        let session = app.begin_upload(record)?;
        if follow(session, app.subscribe()).await.is_err() {
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
