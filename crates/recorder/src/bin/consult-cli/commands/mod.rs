//! One module per group of commands; what several of them need is here.

pub mod history;
pub mod microphone;
pub mod record;
pub mod setup;
pub mod sign_in;

use consult_recorder::account;
use consult_recorder::auth::{AuthError, Keychain, SignInError, TokenManager};
use consult_recorder::config::Resolved;
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

/// The token manager of the remembered sign-in. A server that cannot be
/// reached now is not an error: recording goes on and uploads wait.
pub async fn signed_in_tokens(
    dirs: &AppDirs,
    keychain: &Keychain,
    config: &Resolved,
    server: Option<String>,
) -> Result<(TokenManager, String), Failure> {
    let remembered = account::load(&dirs.config).map_err(other)?.ok_or(Failure {
        code: 3,
        message: "not signed in: run `consult-cli login` first".into(),
    })?;
    let server = server.unwrap_or_else(|| remembered.server.clone());
    if server.trim_end_matches('/') != remembered.server.trim_end_matches('/') {
        return Err(Failure {
            code: 3,
            message: format!(
                "signed in to {}, not {server}: run `consult-cli login` for it",
                remembered.server
            ),
        });
    }
    let tokens = manager(&server, keychain, config)?;
    match tokens.resume(&remembered.account).await {
        Ok(()) => {}
        Err(SignInError::Auth(err)) if err.is_transient() => {
            eprintln!("warning: {err}; recording anyway, the upload will wait");
        }
        Err(SignInError::Auth(AuthError::SignInRequired(reason))) => {
            eprintln!(
                "warning: sign-in required ({reason}); recording anyway, run `consult-cli login` to upload"
            );
        }
        // The saved sign-in was removed (revoked earlier, or signed out
        // elsewhere): the recording must not be refused for it.
        Err(SignInError::NothingSaved(_)) => {
            eprintln!(
                "warning: no saved sign-in in the keychain; recording anyway, run `consult-cli login` to upload"
            );
        }
        Err(other) => return Err(other.into()),
    }
    Ok((tokens, server))
}

/// The sender's settings from the configuration in force, as the app's.
pub fn sender_options(config: &Resolved) -> SenderOptions {
    SenderOptions::default().configured(config)
}
