//! `login`, `logout`, `status`: the doctor's sign-in.

use std::io::BufRead;

use consult_recorder::account::{self, RememberedAccount};
use consult_recorder::auth::{AuthState, Keychain, KeychainVault, Secret, TokenManager};
use consult_recorder::config::Resolved;
use consult_recorder::paths::AppDirs;

use super::manager;
use crate::failure::{Failure, other};

/// `login`: signs in with the password from the environment or stdin.
pub async fn login(
    dirs: &AppDirs,
    keychain: &Keychain,
    config: &Resolved,
    email: &str,
) -> Result<(), Failure> {
    let server = config.server.clone().ok_or(Failure {
        code: 2,
        message: "no server: pass --server, or ask IT to set it in the configuration".into(),
    })?;
    let password = read_password()?;
    let tokens = manager(&server, keychain, config)?;
    tokens.sign_in(email, password).await?;
    let (account, access_expires_at, _) = signed_in(&tokens)?;
    account::save(
        &dirs.config,
        &RememberedAccount {
            server: server.clone(),
            account: account.clone(),
        },
    )
    .map_err(other)?;
    println!(
        "signed in as {account} at {server}; access token valid until {}",
        consult_recorder::clock::utc_text(access_expires_at)
    );
    Ok(())
}

/// `logout`: removes the saved sign-in from the keychain.
pub async fn logout(dirs: &AppDirs, keychain: &Keychain) -> Result<(), Failure> {
    let remembered = account::load(&dirs.config).map_err(other)?;
    let Some(remembered) = remembered else {
        println!("not signed in");
        return Ok(());
    };
    let vault = KeychainVault::new(keychain.clone(), &remembered.server);
    let removed = consult_recorder::auth::RefreshTokenVault::delete(&vault, &remembered.account)
        .await
        .map_err(|e| Failure {
            code: 5,
            message: e.to_string(),
        })?;
    account::forget(&dirs.config).map_err(other)?;
    println!(
        "signed out {} at {}{}",
        remembered.account,
        remembered.server,
        if removed {
            ""
        } else {
            " (nothing was saved in the keychain)"
        }
    );
    Ok(())
}

/// `status`: the account, the server and the token's expiry (never a token).
pub async fn status(
    dirs: &AppDirs,
    keychain: &Keychain,
    config: &Resolved,
    json: bool,
) -> Result<(), Failure> {
    let remembered = account::load(&dirs.config).map_err(other)?;
    let Some(remembered) = remembered else {
        if json {
            println!("{}", serde_json::json!({ "signed_in": false }));
        } else {
            println!("not signed in");
        }
        return Err(Failure {
            code: 3,
            message: "not signed in".into(),
        });
    };
    let tokens = manager(&remembered.server, keychain, config)?;
    tokens.resume(&remembered.account).await?;
    let (_, access_expires_at, clock_skew_secs) = signed_in(&tokens)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "signed_in": true,
                "account": remembered.account,
                "server": remembered.server,
                "access_expires_at": access_expires_at,
                "clock_skew_secs": clock_skew_secs,
            })
        );
    } else {
        println!("account: {}", remembered.account);
        println!("server: {}", remembered.server);
        println!(
            "access token valid until: {}",
            consult_recorder::clock::utc_text(access_expires_at)
        );
        println!("clock skew against the server: {clock_skew_secs} s");
    }
    Ok(())
}

/// The account, access-token expiry and clock skew of a sign-in that just
/// succeeded (any other state here is a bug, reported rather than unwrapped).
fn signed_in(tokens: &TokenManager) -> Result<(String, u64, i64), Failure> {
    match tokens.state() {
        AuthState::SignedIn {
            account,
            access_expires_at,
            clock_skew_secs,
        } => Ok((account, access_expires_at, clock_skew_secs)),
        _ => Err(Failure::other("sign-in did not complete")),
    }
}

fn read_password() -> Result<Secret, Failure> {
    if let Ok(password) = std::env::var("CONSULT_PASSWORD") {
        return Ok(Secret::new(password));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Failure::other(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = Secret::new(line.trim_end_matches(['\r', '\n']));
    zeroize::Zeroize::zeroize(&mut line);
    if password.is_empty() {
        return Err(Failure::other(
            "no password: set CONSULT_PASSWORD or pipe it to standard input",
        ));
    }
    Ok(password)
}
