//! `consult-cli`: Consult Recorder without a window, for scripting, tests and IT.
//!
//! Exit codes: 0 success; 1 other failure; 2 usage (including an attempt to
//! change a key the administrator locked); 3 sign-in refused or required;
//! 4 server unreachable or failing; 5 keychain problem; `diagnose` adds
//! 6 microphone, 7 configuration, 8 storage.
//!
//! This file only reads the command line and hands each command to its
//! module under `commands/`; what they print is in `output.rs`.

#![deny(clippy::unwrap_used)]

mod args;
mod commands;
mod failure;
mod output;

use std::process::ExitCode;

use clap::Parser;
use consult_recorder::auth::{Keychain, KeychainBackend};
use consult_recorder::config::{ConfigSources, Key, Resolved};
use consult_recorder::logging;
use consult_recorder::paths::AppDirs;
use consult_recorder::settings;
use consult_recorder::store::Profile;

use args::{Cli, Command, KeychainChoice};
use commands::{history, microphone, record, setup, sign_in};
use failure::Failure;

// One thread: the CLI's work is a few small tasks per 20 ms frame, and
// waking worker threads for each cost more than the work (the streaming
// benchmark: 2.3 % of a core with the multi-thread runtime, 1.8 % without).
// Keychain calls and the microphone have threads of their own.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match prepare(&cli) {
        Ok(context) => run(cli, context).await,
        Err(failure) => Err(failure),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// What every command needs: folders, the configuration in force, logging.
struct Context {
    dirs: AppDirs,
    sources: ConfigSources,
    config: Resolved,
}

fn prepare(cli: &Cli) -> Result<Context, Failure> {
    let dirs =
        AppDirs::for_user().ok_or_else(|| Failure::other("this system reports no home folder"))?;
    let mut sources = ConfigSources::load();
    let (server, profile) = match &cli.command {
        Command::Login { server, .. } => (server.as_deref(), None),
        Command::Record(args) => (args.server.as_deref(), args.profile),
        _ => (None, None),
    };
    let usage = |refused: consult_recorder::config::FlagRefused| Failure {
        code: 2,
        message: refused.to_string(),
    };
    if let Some(server) = server {
        sources
            .set_from_flag(Key::Server, "--server", server)
            .map_err(usage)?;
    }
    if let Some(profile) = profile {
        sources
            .set_from_flag(Key::Profile, "--profile", Profile::from(profile).as_str())
            .map_err(usage)?;
    }
    let config = sources.resolve(&settings::load(&dirs.config).unwrap_or_default());
    let stderr_level = std::env::var("CONSULT_LOG").unwrap_or_else(|_| "warn".into());
    if let Err(reason) = logging::init(
        &dirs.logs,
        "consult-cli",
        config.log_level.as_str(),
        &stderr_level,
    ) {
        eprintln!("warning: {reason}");
    }
    for problem in &config.problems {
        tracing::warn!(%problem, "configuration ignored");
    }
    Ok(Context {
        dirs,
        sources,
        config,
    })
}

/// Hands the command to its module.
async fn run(cli: Cli, context: Context) -> Result<(), Failure> {
    let keychain = Keychain::start(match cli.keychain {
        KeychainChoice::Platform => KeychainBackend::Platform,
        KeychainChoice::Keyutils => KeychainBackend::Keyutils,
    });
    let Context {
        dirs,
        sources,
        config,
    } = context;
    match cli.command {
        Command::Login { email, .. } => sign_in::login(&dirs, &keychain, &config, &email).await,
        Command::Logout => sign_in::logout(&dirs, &keychain).await,
        Command::Status { json } => sign_in::status(&dirs, &keychain, &config, json).await,
        Command::Devices { json } => microphone::devices(&dirs, json),
        Command::Level {
            device,
            seconds,
            json,
        } => microphone::level(&dirs, device, seconds, json).await,
        Command::Record(args) => record::record(&dirs, &keychain, sources, args).await,
        Command::Diagnose { json, listen } => {
            setup::diagnose(dirs, keychain, sources, json, listen).await
        }
        Command::Config { json } => setup::config(&config, json),
        Command::Sessions { json } => history::sessions(&dirs, &keychain, json),
        Command::Resend { session_id } => {
            history::resend(&dirs, &keychain, sources, &session_id).await
        }
        Command::Upload => history::upload(&dirs, &keychain, sources).await,
        Command::Transcript { session_id, format } => {
            history::transcript(&dirs, &keychain, &session_id, format)
        }
    }
}
