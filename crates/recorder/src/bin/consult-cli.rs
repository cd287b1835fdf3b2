//! `consult-cli`: Consult Recorder without a window, for scripting, tests and IT.
//!
//! Exit codes: 0 success; 1 other failure; 2 usage (including an attempt to
//! change a key the administrator locked); 3 sign-in refused or required;
//! 4 server unreachable or failing; 5 keychain problem; `diagnose` adds
//! 6 microphone, 7 configuration, 8 storage.

#![deny(clippy::unwrap_used)]

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use consult_recorder::account::{self, RememberedAccount};
use consult_recorder::app::{App, AppOptions};
use consult_recorder::audio::dsp::Level;
use consult_recorder::audio::{AudioSource, MicSource, SourceNotice, WavSource};
use consult_recorder::auth::{
    AuthClient, AuthError, AuthState, Keychain, KeychainBackend, KeychainVault, ManagerOptions,
    Secret, SignInError, TokenManager, TokenUnavailable,
};
use consult_recorder::config::{ConfigSources, Key, Origin, Resolved};
use consult_recorder::crypto::DataKeySource;
use consult_recorder::events::{Event, Status};
use consult_recorder::logging;
use consult_recorder::paths::AppDirs;
use consult_recorder::session::{SenderOptions, Session, SessionSetup};
use consult_recorder::settings;
use consult_recorder::store::{Profile, SessionState, Store};

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
        /// (default: the configured one).
        #[arg(long)]
        server: Option<String>,
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
    /// List the microphones (id, name, default, chosen).
    Devices {
        #[arg(long)]
        json: bool,
    },
    /// A live input meter for checking a microphone (Ctrl-C ends it).
    Level {
        /// The microphone (default: the remembered choice, else the system's).
        #[arg(long)]
        device: Option<String>,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<f64>,
        /// Print JSON lines instead of a meter.
        #[arg(long)]
        json: bool,
    },
    /// Record a consultation and stream it; prints events as JSON lines.
    /// Ctrl-C stops recording; the upload then finishes (Ctrl-C again leaves it
    /// pending for `upload`).
    Record {
        /// Record from this 16 kHz mono 16-bit WAV file instead of the microphone.
        #[arg(long, value_name = "FILE.wav")]
        input: Option<std::path::PathBuf>,
        /// The microphone to use (an id from `devices`), remembered for next
        /// time. Default: the remembered one, else the system's.
        #[arg(long, conflicts_with = "input")]
        device: Option<String>,
        /// Feed the file at this multiple of real time (0: as fast as possible).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// The consultation's id from the clinic's system (letters, digits, `-`
        /// and `_`); an id already in the history continues that session.
        /// A new id by default.
        #[arg(long)]
        session_id: Option<String>,
        /// The server's protocol (default: the configured one, else v1).
        #[arg(long, value_enum)]
        profile: Option<ProfileArg>,
        /// The server (default: the one signed in to).
        #[arg(long)]
        server: Option<String>,
        /// The doctor's reference for this consultation.
        #[arg(long, default_value = "")]
        reference: String,
    },
    /// List recorded sessions with their upload state.
    Sessions {
        #[arg(long)]
        json: bool,
    },
    /// Send every session's unconfirmed audio; prints progress as JSON lines.
    Upload,
    /// Send a finished session again from its first sample, e.g. when a seed
    /// server (which never confirms storage) turns out to have lost it.
    Resend {
        /// The session's id (see `sessions`).
        session_id: String,
    },
    /// Check everything a recording needs — configuration, storage, keychain,
    /// server (DNS, TCP, TLS, HTTP, WebSocket, clock), sign-in, microphone —
    /// and exit with the code of the first failing area.
    Diagnose {
        #[arg(long)]
        json: bool,
        /// Seconds to listen to the microphone (0 skips the level check).
        #[arg(long, default_value_t = 1.0)]
        listen: f64,
    },
    /// Show the configuration in force, where each value comes from, and
    /// what was ignored.
    Config {
        #[arg(long)]
        json: bool,
    },
    /// Print a session's transcript.
    Transcript {
        session_id: String,
        #[arg(long, value_enum, default_value_t = TranscriptFormat::Txt)]
        format: TranscriptFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TranscriptFormat {
    Txt,
    Json,
}

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
    let dirs = dirs()?;
    let mut sources = ConfigSources::load();
    let (server, profile) = match &cli.command {
        Command::Login { server, .. } => (server.as_deref(), None),
        Command::Record {
            server, profile, ..
        } => (server.as_deref(), *profile),
        _ => (None, None),
    };
    let usage = |message| Failure { code: 2, message };
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

/// `--profile`, as typed (the model's `Profile` knows nothing of clap).
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileArg {
    Seed,
    V1,
}

impl From<ProfileArg> for Profile {
    fn from(arg: ProfileArg) -> Self {
        match arg {
            ProfileArg::Seed => Profile::Seed,
            ProfileArg::V1 => Profile::V1,
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

fn manager(server: &str, keychain: &Keychain, config: &Resolved) -> Result<TokenManager, Failure> {
    let client = AuthClient::new(
        server,
        config.server_profile.auth.clone(),
        Duration::from_secs(15),
    )
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

async fn run(cli: Cli, context: Context) -> Result<(), Failure> {
    let backend = match cli.keychain {
        KeychainChoice::Platform => KeychainBackend::Platform,
        KeychainChoice::Keyutils => KeychainBackend::Keyutils,
    };
    let keychain = Keychain::start(backend);
    let Context {
        dirs,
        sources,
        config,
    } = context;
    match cli.command {
        Command::Login { email, .. } => {
            let server = config.server.clone().ok_or(Failure {
                code: 2,
                message: "no server: pass --server, or ask IT to set it in the configuration"
                    .into(),
            })?;
            let password = read_password()?;
            let tokens = manager(&server, &keychain, &config)?;
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
                consult_recorder::clock::utc_text(access_expires_at)
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
            let tokens = manager(&remembered.server, &keychain, &config)?;
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
                    consult_recorder::clock::utc_text(access_expires_at)
                );
                println!("clock skew against the server: {clock_skew_secs} s");
            }
            Ok(())
        }
        Command::Devices { json } => {
            let devices = consult_recorder::audio::input_devices()
                .map_err(|e| Failure::other(e.to_string()))?;
            let chosen = settings::load(&dirs.config)
                .map_err(|e| Failure::other(e.to_string()))?
                .microphone;
            if json {
                let listed: Vec<serde_json::Value> = devices
                    .iter()
                    .map(|d| {
                        let mut value = serde_json::to_value(d).expect("devices serialise");
                        value["chosen"] = (chosen.as_deref() == Some(d.id.as_str())).into();
                        value
                    })
                    .collect();
                println!("{}", serde_json::Value::from(listed));
            } else if devices.is_empty() {
                println!("no microphones found");
            } else {
                for d in devices {
                    let mark = if d.is_default { "* " } else { "  " };
                    let note = if chosen.as_deref() == Some(d.id.as_str()) {
                        "  [chosen]"
                    } else {
                        ""
                    };
                    println!("{mark}{}  ({}){note}", d.name, d.id);
                }
            }
            Ok(())
        }
        Command::Level {
            device,
            seconds,
            json,
        } => {
            let device = match device {
                Some(device) => Some(device),
                None => {
                    settings::load(&dirs.config)
                        .map_err(|e| Failure::other(e.to_string()))?
                        .microphone
                }
            };
            level_meter(device.as_deref(), seconds, json).await
        }
        Command::Record {
            input,
            device,
            speed,
            session_id,
            server,
            reference,
            ..
        } => {
            let given_id = session_id.clone();
            let id =
                match session_id {
                    Some(given) => consult_recorder::consultation::check_session_id(&given)
                        .map_err(|e| Failure {
                            code: 2,
                            message: format!("--session-id: {e}"),
                        })?,
                    None => uuid::Uuid::new_v4().to_string(),
                };
            let (tokens, server) = signed_in_tokens(&dirs, &keychain, &config, server).await?;
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
                spool_dir: dirs.data.join("spool"),
                store: open_store(&dirs, &keychain)?,
                tokens: tokens.clone(),
                options: sender_options(&config),
            };
            let session = match input {
                Some(input) => {
                    let source = WavSource::open(&input, speed)
                        .map_err(|e| Failure::other(e.to_string()))?;
                    Session::start(setup, Some(source))
                }
                None => {
                    let device = chosen_microphone(&dirs, device)?;
                    let mic = MicSource::open(device.as_deref())
                        .map_err(|e| Failure::other(e.to_string()))?;
                    if let Some(reason) = &mic.fallback_reason {
                        eprintln!("warning: {reason}");
                    }
                    eprintln!("recording from {}", mic.device.name);
                    Session::start(setup, Some(mic))
                }
            }
            .map_err(|e| Failure::other(e.to_string()))?;
            follow(session, &tokens).await
        }
        Command::Diagnose { json, listen } => {
            let app = App::open(AppOptions {
                dirs,
                keychain,
                config: sources,
                sender: SenderOptions::default(),
            })
            .map_err(|e| Failure {
                code: 8,
                message: e.to_string(),
            })?;
            let listen = Duration::from_secs_f64(listen.clamp(0.0, 60.0));
            let report = app.diagnose(listen).await;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("the report serialises")
                );
            } else {
                print!("{}", report.to_text());
            }
            match report.exit_code {
                0 => Ok(()),
                code => Err(Failure {
                    code,
                    message: "diagnose found a problem (see above)".into(),
                }),
            }
        }
        Command::Config { json } => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&config).expect("the configuration serialises")
                );
            } else {
                print!("{}", describe_config(&config));
            }
            Ok(())
        }
        Command::Sessions { json } => {
            let sessions = open_store(&dirs, &keychain)?
                .list()
                .map_err(|e| Failure::other(e.to_string()))?;
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
        Command::Resend { session_id } => {
            let store = open_store(&dirs, &keychain)?;
            let record = store
                .get(&session_id)
                .map_err(|e| Failure::other(e.to_string()))?
                .ok_or_else(|| Failure::other(format!("no session {session_id}")))?;
            if matches!(
                record.state,
                SessionState::Recording | SessionState::Uploading
            ) {
                return Err(Failure::other(format!(
                    "session {session_id} is still being sent; `upload` finishes it"
                )));
            }
            let spool =
                consult_recorder::session::spool_path(&dirs.data.join("spool"), &session_id);
            if !spool.exists() {
                return Err(Failure::other(format!(
                    "the audio of session {session_id} is no longer on this computer (retention)"
                )));
            }
            let (tokens, _) = signed_in_tokens(&dirs, &keychain, &config, None).await?;
            store
                .restart_upload(&session_id)
                .map_err(|e| Failure::other(e.to_string()))?;
            let session = start_upload(&record, &dirs, store, &tokens, &config)?;
            follow(session, &tokens).await
        }
        Command::Upload => {
            let store = open_store(&dirs, &keychain)?;
            let pending = consult_recorder::session::pending(&store)
                .map_err(|e| Failure::other(e.to_string()))?;
            if pending.is_empty() {
                eprintln!("nothing to upload");
                return Ok(());
            }
            let (tokens, _) = signed_in_tokens(&dirs, &keychain, &config, None).await?;
            let mut failed = 0;
            for record in pending {
                let session = start_upload(&record, &dirs, store.clone(), &tokens, &config)?;
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
        Command::Transcript { session_id, format } => {
            let store = open_store(&dirs, &keychain)?;
            if store
                .get(&session_id)
                .map_err(|e| Failure::other(e.to_string()))?
                .is_none()
            {
                return Err(Failure::other(format!("no session {session_id}")));
            }
            let segments = store
                .segments(&session_id)
                .map_err(|e| Failure::other(e.to_string()))?;
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
    }
}

/// The history database; its sealed columns and the spool use the data key
/// from `keychain`.
fn open_store(dirs: &AppDirs, keychain: &Keychain) -> Result<Store, Failure> {
    Store::open(
        &dirs.data.join("sessions.sqlite3"),
        DataKeySource::keychain(keychain.clone()),
    )
    .map_err(|e| Failure::other(e.to_string()))
}

/// The token manager of the remembered sign-in. A server that cannot be
/// reached now is not an error: recording goes on and uploads wait.
async fn signed_in_tokens(
    dirs: &AppDirs,
    keychain: &Keychain,
    config: &Resolved,
    server: Option<String>,
) -> Result<(TokenManager, String), Failure> {
    let remembered = account::load(&dirs.config)
        .map_err(|e| Failure::other(e.to_string()))?
        .ok_or(Failure {
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

/// The configuration in force as lines of `key = value  (from …)`.
fn describe_config(config: &Resolved) -> String {
    let mut out = format!(
        "system file: {}{}\n",
        config.system_file,
        if config.system_file_found {
            ""
        } else {
            " (not present)"
        }
    );
    let values = [
        (Key::Server, config.server.clone()),
        (Key::Profile, Some(config.profile.as_str().to_owned())),
        (Key::Language, config.language.clone()),
        (Key::GlobalShortcut, config.global_shortcut.clone()),
        (Key::LogLevel, Some(config.log_level.as_str().to_owned())),
    ];
    for (key, value) in values {
        out.push_str(&format!(
            "{key} = {}  (from {}{})\n",
            value.as_deref().unwrap_or("(not set)"),
            config.origins.get(&key).cloned().unwrap_or(Origin::Default),
            if config.is_locked(key) {
                ", locked"
            } else {
                ""
            }
        ));
    }
    for problem in &config.problems {
        out.push_str(&format!("ignored: {problem}\n"));
    }
    out
}

/// Prints the session's events as JSON lines until it completes or fails.
/// Starts sending what the spool of a recorded session holds.
fn start_upload(
    record: &consult_recorder::store::SessionRecord,
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
        spool_dir: dirs.data.join("spool"),
        store,
        tokens: tokens.clone(),
        options: sender_options(config),
    };
    Session::start::<WavSource>(setup, None).map_err(|e| Failure::other(e.to_string()))
}

/// The sender's settings from the configuration in force.
fn sender_options(config: &Resolved) -> SenderOptions {
    SenderOptions {
        seed_pace: config.seed_pace.as_f64(),
        stream: config.server_profile.stream.clone(),
        language: config.language.clone(),
        ..SenderOptions::default()
    }
}

async fn follow(session: Session, tokens: &TokenManager) -> Result<(), Failure> {
    let mut events = session.subscribe();
    if let Some(current) = session.status_event() {
        print_event(&current); // sent before the subscription
    }
    let mut auth = tokens.subscribe();
    let stopper = session.stopper();
    let id = session.id.clone();
    let finished = session.finished();
    tokio::pin!(finished);
    let mut interrupted = false;
    loop {
        tokio::select! {
            result = &mut finished => {
                drain(&mut events);
                return result.map_err(|e| Failure::other(format!("session {id}: {e}")));
            }
            event = events.recv() => match event {
                Ok(event) => print_event(&event),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("warning: {n} events were not shown");
                }
                Err(_) => {}
            },
            event = auth.recv() => {
                if let Ok(event) = event {
                    print_event(&Event::Auth(event));
                }
            }
            _ = tokio::signal::ctrl_c() => {
                if interrupted {
                    return Err(Failure::other("interrupted; the rest will be sent by `consult-cli upload`"));
                }
                interrupted = true;
                stopper.stop();
                eprintln!("stopping: finishing the upload (press Ctrl-C again to leave it for later)");
            }
        }
    }
}

/// The microphone for `record`: the one named (and remembered from now on),
/// else the remembered one.
fn chosen_microphone(dirs: &AppDirs, named: Option<String>) -> Result<Option<String>, Failure> {
    let mut saved = settings::load(&dirs.config).map_err(|e| Failure::other(e.to_string()))?;
    match named {
        Some(id) => {
            if saved.microphone.as_deref() != Some(id.as_str()) {
                saved.microphone = Some(id.clone());
                settings::save(&dirs.config, &saved).map_err(|e| Failure::other(e.to_string()))?;
                eprintln!("this microphone will be used from now on");
            }
            Ok(Some(id))
        }
        None => Ok(saved.microphone),
    }
}

/// Prints the input level ten times a second, and any microphone change.
async fn level_meter(
    device: Option<&str>,
    seconds: Option<f64>,
    json: bool,
) -> Result<(), Failure> {
    let mut mic = MicSource::open(device).map_err(|e| Failure::other(e.to_string()))?;
    if let Some(reason) = &mic.fallback_reason {
        eprintln!("warning: {reason}");
    }
    eprintln!("listening to {}", mic.device.name);
    let mut notices = mic.take_notices().expect("a fresh microphone has notices");
    let capture = tokio::spawn(async move {
        // Frames are only needed to keep the meter running.
        while let Ok(Some(_)) = mic.next_frame().await {}
    });
    let until =
        seconds.map(|s| tokio::time::Instant::now() + std::time::Duration::from_secs_f64(s));
    let ended = async {
        match until {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(ended);
    loop {
        tokio::select! {
            notice = notices.recv() => match notice {
                Some(SourceNotice::Level(level)) if json => println!(
                    "{}",
                    serde_json::json!({"type": "level", "level": level})
                ),
                Some(SourceNotice::Level(level)) => println!("{}", meter_line(&level)),
                Some(SourceNotice::Mic(change)) if json => println!(
                    "{}",
                    serde_json::json!({"type": "microphone", "change": change, "message": change.describe()})
                ),
                Some(SourceNotice::Mic(change)) => eprintln!("{}", change.describe()),
                None => break,
            },
            _ = &mut ended => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    capture.abort();
    Ok(())
}

/// `-23.1 dBFS rms  -9.8 dBFS peak  |##########          |`
fn meter_line(level: &Level) -> String {
    // -60 dBFS (quiet room) to 0 dBFS (clipping) over 40 columns.
    let filled = (((level.peak_dbfs + 60.0) / 60.0).clamp(0.0, 1.0) * 40.0).round() as usize;
    format!(
        "{:6.1} dBFS rms {:6.1} dBFS peak  |{}{}|",
        level.rms_dbfs,
        level.peak_dbfs,
        "#".repeat(filled),
        " ".repeat(40 - filled)
    )
}

fn drain(events: &mut tokio::sync::broadcast::Receiver<Event>) {
    while let Ok(event) = events.try_recv() {
        print_event(&event);
    }
}

fn print_event(event: &Event) {
    // Ten a second: for a meter, not for a log of the session (see `level`).
    if matches!(event, Event::Level { .. }) {
        return;
    }
    println!(
        "{}",
        serde_json::to_string(event).expect("events serialise")
    );
    match event {
        Event::Status {
            status: Status::Failed { reason },
            ..
        } => eprintln!("error: {reason}"),
        Event::Microphone { message, .. } => eprintln!("{message}"),
        _ => {}
    }
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
