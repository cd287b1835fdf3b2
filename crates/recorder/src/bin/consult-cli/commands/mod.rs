//! One module per group of commands; what several of them need is here.

pub mod history;
pub mod microphone;
pub mod record;
pub mod setup;
pub mod sign_in;

use consult_recorder::app::{App, AppOptions, ErrorKind, Resumed};
use consult_recorder::auth::{Keychain, TokenManager};
use consult_recorder::config::{ConfigSources, Resolved};
use consult_recorder::paths::AppDirs;
use consult_recorder::session::SenderOptions;
use consult_recorder::store::Store;

use crate::failure::{Failure, other};

/// The token manager for `server`, built as the app builds it.
pub fn manager(
    server: &str,
    keychain: &Keychain,
    config: &Resolved,
) -> Result<TokenManager, Failure> {
    consult_recorder::auth::manager_for(server, config.server_profile.auth.clone(), keychain)
        .map_err(other)
}

/// The history database, opened as the app opens it.
pub fn open_store(dirs: &AppDirs, keychain: &Keychain) -> Result<Store, Failure> {
    Store::open_in(dirs, keychain).map_err(other)
}

/// The app's controller over this command line's folders, keychain and
/// configuration: the command line starts its sessions through it, so both
/// follow the same rules (see `consult_recorder::app`).
pub fn open_app(
    dirs: &AppDirs,
    keychain: &Keychain,
    sources: ConfigSources,
) -> Result<App, Failure> {
    App::open(AppOptions {
        dirs: dirs.clone(),
        keychain: keychain.clone(),
        config: sources,
        sender: SenderOptions::default(),
    })
    .map_err(Failure::from)
}

/// Signs in again from the keychain, as the app does at launch. A server
/// that cannot be reached now is not an error: recording goes on and uploads
/// wait. `server` is the one asked for on the command line, if any.
pub async fn signed_in(app: &App, server: Option<&str>) -> Result<(), Failure> {
    let silent = match app.sign_in_silently().await {
        Ok(Some(silent)) => silent,
        Ok(None) => {
            return Err(Failure {
                code: 3,
                message: "not signed in: run `consult-cli login` first".into(),
            });
        }
        Err(err) if err.kind == ErrorKind::Locked => {
            return Err(Failure {
                code: 3,
                message: err.message,
            });
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(server) = server
        && server.trim_end_matches('/') != silent.server
    {
        return Err(Failure {
            code: 3,
            message: format!(
                "signed in to {}, not {server}: run `consult-cli login` for it",
                silent.server
            ),
        });
    }
    match silent.resumed {
        Resumed::Ready => {}
        Resumed::Offline(reason) => {
            eprintln!("warning: {reason}; recording anyway, the upload will wait");
        }
        Resumed::SignInRequired(reason) => eprintln!(
            "warning: sign-in required ({reason}); recording anyway, run `consult-cli login` to upload"
        ),
        // The saved sign-in was removed (revoked earlier, or signed out
        // elsewhere): the recording must not be refused for it.
        Resumed::NothingSaved => eprintln!(
            "warning: no saved sign-in in the keychain; recording anyway, run `consult-cli login` to upload"
        ),
    }
    Ok(())
}
