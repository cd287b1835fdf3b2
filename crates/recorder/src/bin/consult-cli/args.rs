//! The command line as typed: commands, flags and their help.

use clap::{Args, Parser, Subcommand, ValueEnum};
use consult_recorder::store::Profile;

/// Consult Recorder on the command line.
#[derive(Debug, Parser)]
#[command(name = "consult-cli", version, about)]
pub struct Cli {
    /// Which keychain holds the refresh token.
    #[arg(long, value_enum, env = "CONSULT_KEYCHAIN", default_value_t = KeychainChoice::Platform, global = true)]
    pub keychain: KeychainChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeychainChoice {
    /// Secret Service (Linux), Keychain (macOS), Credential Manager (Windows).
    Platform,
    /// Linux kernel keyutils (session keyring).
    Keyutils,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    Record(RecordArgs),
    /// List recorded sessions with their upload state.
    Sessions {
        #[arg(long)]
        json: bool,
    },
    /// Send every session's unconfirmed audio; prints progress as JSON lines.
    Upload,
    /// Send a session sent to a seed server again from its first sample, e.g.
    /// when that server (which never confirms storage) turns out to have lost it.
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
pub enum TranscriptFormat {
    Txt,
    Json,
}

/// `--profile`, as typed (the model's `Profile` knows nothing of clap).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProfileArg {
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

/// `record`'s flags.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Record from this 16 kHz mono 16-bit WAV file instead of the microphone.
    #[arg(long, value_name = "FILE.wav")]
    pub input: Option<std::path::PathBuf>,
    /// The microphone to use (an id from `devices`), remembered for next
    /// time. Default: the remembered one, else the system's.
    #[arg(long, conflicts_with = "input")]
    pub device: Option<String>,
    /// Feed the file at this multiple of real time (0: as fast as possible).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// The consultation's id from the clinic's system (letters, digits, `-`
    /// and `_`); an id already in the history continues that session.
    /// A new id by default.
    #[arg(long)]
    pub session_id: Option<String>,
    /// The server's protocol (default: the configured one, else v1).
    #[arg(long, value_enum)]
    pub profile: Option<ProfileArg>,
    /// The server (default: the one signed in to).
    #[arg(long)]
    pub server: Option<String>,
    /// The doctor's reference for this consultation.
    #[arg(long, default_value = "")]
    pub reference: String,
    /// The patient agreed to the recording (required when the administrator
    /// set `require_consent`); stored with the session, as in the app.
    #[arg(long)]
    pub consent_confirmed: bool,
}
