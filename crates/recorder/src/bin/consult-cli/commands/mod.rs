//! One module per group of commands; what several of them need is here.

pub mod history;
pub mod microphone;
pub mod record;
pub mod setup;
pub mod sign_in;

use std::time::Duration;

use consult_recorder::account;
use consult_recorder::auth::{
    AuthClient, AuthError, Keychain, KeychainVault, ManagerOptions, SignInError, TokenManager,
};
use consult_recorder::config::Resolved;
use consult_recorder::crypto::DataKeySource;
use consult_recorder::paths::AppDirs;
use consult_recorder::session::SenderOptions;
use consult_recorder::store::Store;

use crate::failure::{Failure, other};

pub fn manager(
    server: &str,
    keychain: &Keychain,
    config: &Resolved,
) -> Result<TokenManager, Failure> {
    let client = AuthClient::new(
        server,
        config.server_profile.auth.clone(),
        Duration::from_secs(15),
    )
    .map_err(other)?;
    let vault = KeychainVault::new(keychain.clone(), server);
    Ok(TokenManager::start(
        client,
        vault,
        ManagerOptions::default(),
    ))
}

/// The history database; its sealed columns and the spool use the data key
/// from `keychain`.
pub fn open_store(dirs: &AppDirs, keychain: &Keychain) -> Result<Store, Failure> {
    Store::open(
        &dirs.store_file(),
        DataKeySource::keychain(keychain.clone()),
    )
    .map_err(other)
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

/// The sender's settings from the configuration in force.
pub fn sender_options(config: &Resolved) -> SenderOptions {
    SenderOptions {
        seed_pace: config.seed_pace.as_f64(),
        stream: config.server_profile.stream.clone(),
        language: config.language.clone(),
        ..SenderOptions::default()
    }
}
