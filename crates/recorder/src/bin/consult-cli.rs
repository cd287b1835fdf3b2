//! `consult-cli`: Consult Recorder without a window, for scripting, tests and IT.
//!
//! Exit codes: 0 success; 1 other failure; 2 usage; 3 sign-in refused or
//! required; 4 server unreachable or failing; 5 keychain problem.

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use consult_recorder::account::{self, RememberedAccount};
use consult_recorder::auth::{
    AuthClient, AuthError, AuthPaths, AuthState, Keychain, KeychainBackend, KeychainVault,
    ManagerOptions, Secret, SignInError, TokenManager,
};
use consult_recorder::paths::AppDirs;

/// Consult Recorder on the command line.
#[derive(Debug, Parser)]
#[command(name = "consult-cli", version, about)]
struct Cli {
    /// Which keychain holds the refresh token.
    #[arg(long, value_enum, env = "CONSULT_KEYCHAIN", default_value_t = KeychainChoice::Platform, global = true)]
    keychain: KeychainChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KeychainChoice {
    /// Secret Service (Linux), Keychain (macOS), Credential Manager (Windows).
    Platform,
    /// Linux kernel keyutils (session keyring).
    Keyutils,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in. The password is read from the CONSULT_PASSWORD environment
    /// variable or, without it, from the first line of standard input; never
    /// from the command line, where other users could see it.
    Login {
        /// The transcription server, e.g. https://transcribe.clinic.example
        #[arg(long, env = "CONSULT_SERVER")]
        server: String,
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Sign out: remove the saved sign-in from the keychain.
    Logout,
    /// Show the account, the server and the access token's expiry (never a token).
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONSULT_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn other(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<SignInError> for Failure {
    fn from(err: SignInError) -> Self {
        let code = match &err {
            SignInError::Auth(AuthError::WrongCredentials | AuthError::SignInRequired(_))
            | SignInError::NothingSaved(_) => 3,
            SignInError::Auth(_) => 4,
            SignInError::Keychain(_) => 5,
            SignInError::Stopped => 1,
        };
        Self {
            code,
            message: err.to_string(),
        }
    }
}

fn dirs() -> Result<AppDirs, Failure> {
    AppDirs::for_user().ok_or_else(|| Failure::other("this system reports no home folder"))
}

fn manager(server: &str, keychain: &Keychain) -> Result<TokenManager, Failure> {
    let client = AuthClient::new(server, AuthPaths::default(), Duration::from_secs(15))
        .map_err(|e| Failure::other(e.to_string()))?;
    let vault = KeychainVault::new(keychain.clone(), server);
    Ok(TokenManager::start(
        client,
        vault,
        ManagerOptions::default(),
    ))
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

async fn run(cli: Cli) -> Result<(), Failure> {
    let backend = match cli.keychain {
        KeychainChoice::Platform => KeychainBackend::Platform,
        KeychainChoice::Keyutils => KeychainBackend::Keyutils,
    };
    let keychain = Keychain::start(backend);
    let dirs = dirs()?;
    match cli.command {
        Command::Login { server, email } => {
            let password = read_password()?;
            let tokens = manager(&server, &keychain)?;
            tokens.sign_in(&email, password).await?;
            let AuthState::SignedIn {
                account,
                access_expires_at,
                ..
            } = tokens.state()
            else {
                return Err(Failure::other("sign-in did not complete"));
            };
            account::save(
                &dirs.config,
                &RememberedAccount {
                    server: server.clone(),
                    account: account.clone(),
                },
            )
            .map_err(|e| Failure::other(e.to_string()))?;
            println!(
                "signed in as {account} at {server}; access token valid until {}",
                unix_to_utc(access_expires_at)
            );
            Ok(())
        }
        Command::Logout => {
            let remembered =
                account::load(&dirs.config).map_err(|e| Failure::other(e.to_string()))?;
            let Some(remembered) = remembered else {
                println!("not signed in");
                return Ok(());
            };
            let vault = KeychainVault::new(keychain.clone(), &remembered.server);
            let removed =
                consult_recorder::auth::RefreshTokenVault::delete(&vault, &remembered.account)
                    .await
                    .map_err(|e| Failure {
                        code: 5,
                        message: e.to_string(),
                    })?;
            account::forget(&dirs.config).map_err(|e| Failure::other(e.to_string()))?;
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
        Command::Status { json } => {
            let remembered =
                account::load(&dirs.config).map_err(|e| Failure::other(e.to_string()))?;
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
            let tokens = manager(&remembered.server, &keychain)?;
            tokens.resume(&remembered.account).await?;
            let AuthState::SignedIn {
                access_expires_at,
                clock_skew_secs,
                ..
            } = tokens.state()
            else {
                return Err(Failure::other("sign-in did not complete"));
            };
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
                    unix_to_utc(access_expires_at)
                );
                println!("clock skew against the server: {clock_skew_secs} s");
            }
            Ok(())
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` without a date library.
fn unix_to_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
