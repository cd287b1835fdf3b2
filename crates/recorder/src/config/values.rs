//! The configurable keys, their checks, and one layer's values.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::settings::{InvalidSetting, UserSettings, check_language, check_shortcut};
use crate::store::Profile;

/// A value a configuration key cannot take; the message says what it could.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    /// The server address is not an http(s) address, or is plain http to
    /// another computer.
    #[error(transparent)]
    Server(#[from] crate::net::ConnectError),
    /// Not `v1` or `seed`; holds the value.
    #[error("\"{0}\" is not a profile (\"v1\" or \"seed\")")]
    Profile(String),
    /// A language or shortcut the person's settings would refuse too.
    #[error(transparent)]
    Setting(#[from] InvalidSetting),
    /// Not a log level's name; holds the value.
    #[error("\"{0}\" is not a log level (error, warn, info, debug or trace)")]
    LogLevel(String),
    /// Not a whole number of days from 0 to 3650; holds the value.
    #[error("\"{0}\" is not a number of days (0 to {MAX_RETENTION_DAYS})")]
    Days(String),
    /// Not a number from 0.25 to 100; holds the value.
    #[error("\"{0}\" is not a pace in multiples of real time (0.25 to 100; 1 is real time)")]
    Pace(String),
    /// Not `true` or `false`; holds the value.
    #[error("\"{0}\" is not true or false")]
    Flag(String),
    /// A configuration file gave a value of the wrong type.
    #[error("expected a string, found {0}")]
    NotAString(&'static str),
}

/// A configuration key an administrator can set and lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Key {
    /// The transcription server's address (`https://…`).
    Server,
    /// The protocol the server speaks (`v1` or `seed`).
    Profile,
    /// The recognition language (BCP 47, e.g. `en-GB`).
    Language,
    /// The shortcut that starts or stops recording from anywhere.
    GlobalShortcut,
    /// How much the log files say.
    LogLevel,
    /// Days audio is kept once the server confirmed all of it.
    AudioRetentionDays,
    /// Days the transcript is kept on this computer after that.
    TranscriptRetentionDays,
    /// Seed profile: seconds of audio sent per second, at most.
    SeedPace,
    /// Whether the doctor must confirm the patient's consent before each recording.
    RequireConsent,
}

/// Days a session's audio is kept after the server confirmed all of it.
pub const DEFAULT_AUDIO_RETENTION_DAYS: u32 = 7;
/// Days a session's transcript is kept on the laptop after that.
pub const DEFAULT_TRANSCRIPT_RETENTION_DAYS: u32 = 30;
/// Longest retention accepted (ten years).
const MAX_RETENTION_DAYS: u32 = 3650;

impl Key {
    /// Every key, in the order they are resolved and listed.
    pub const ALL: [Key; 9] = [
        Key::Server,
        Key::Profile,
        Key::Language,
        Key::GlobalShortcut,
        Key::LogLevel,
        Key::AudioRetentionDays,
        Key::TranscriptRetentionDays,
        Key::SeedPace,
        Key::RequireConsent,
    ];

    /// The name in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            Key::Server => "server",
            Key::Profile => "profile",
            Key::Language => "language",
            Key::GlobalShortcut => "global_shortcut",
            Key::LogLevel => "log_level",
            Key::AudioRetentionDays => "audio_retention_days",
            Key::TranscriptRetentionDays => "transcript_retention_days",
            Key::SeedPace => "seed_pace",
            Key::RequireConsent => "require_consent",
        }
    }

    /// The environment variable that overrides it.
    pub fn env_var(self) -> &'static str {
        match self {
            Key::Server => "CONSULT_SERVER",
            Key::Profile => "CONSULT_PROFILE",
            Key::Language => "CONSULT_LANGUAGE",
            Key::GlobalShortcut => "CONSULT_GLOBAL_SHORTCUT",
            Key::LogLevel => "CONSULT_LOG_LEVEL",
            Key::AudioRetentionDays => "CONSULT_AUDIO_RETENTION_DAYS",
            Key::TranscriptRetentionDays => "CONSULT_TRANSCRIPT_RETENTION_DAYS",
            Key::SeedPace => "CONSULT_SEED_PACE",
            Key::RequireConsent => "CONSULT_REQUIRE_CONSENT",
        }
    }

    /// Words for a sentence ("The server address is set by …").
    pub fn label(self) -> &'static str {
        match self {
            Key::Server => "server address",
            Key::Profile => "server protocol",
            Key::Language => "recognition language",
            Key::GlobalShortcut => "recording shortcut",
            Key::LogLevel => "log detail",
            Key::AudioRetentionDays => "time audio is kept after upload",
            Key::TranscriptRetentionDays => "time transcripts are kept after upload",
            Key::SeedPace => "seed server's audio pace",
            Key::RequireConsent => "patient consent requirement",
        }
    }

    /// The key of this name in the configuration file, if there is one.
    pub fn from_name(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How much the log files say. Never tokens, passwords, audio or transcript
/// text, at any level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Also what the app does, in outline (the default).
    #[default]
    Info,
    /// Also the detail that helps find a fault.
    Debug,
    /// Everything the app can log.
    Trace,
}

impl LogLevel {
    /// The level's name as the configuration file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace,
        ]
        .into_iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(text))
    }
}

/// Seed profile: how many seconds of audio may go to the server per second,
/// kept in hundredths so the configuration compares exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    hundredths: u32,
}

impl Pace {
    /// Real time: what a Google-style streaming recogniser accepts.
    pub const REAL_TIME: Pace = Pace { hundredths: 100 };
    const MIN: u32 = 25;
    const MAX: u32 = 10_000;

    /// Seconds of audio per second (1.0 is real time).
    pub fn as_f64(self) -> f64 {
        f64::from(self.hundredths) / 100.0
    }

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        value
            .trim()
            .parse::<f64>()
            .ok()
            .map(|pace| (pace * 100.0).round())
            .filter(|h| (f64::from(Self::MIN)..=f64::from(Self::MAX)).contains(h))
            .map(|h| Pace {
                hundredths: h as u32,
            })
            .ok_or_else(|| InvalidValue::Pace(value.to_owned()))
    }
}

impl fmt::Display for Pace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

impl Serialize for Pace {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

/// One layer's values; `None` means "this layer says nothing".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    /// The transcription server's address, without a trailing slash.
    pub server: Option<String>,
    /// The protocol the server speaks.
    pub profile: Option<Profile>,
    /// The recognition language (BCP 47).
    pub language: Option<String>,
    /// The shortcut that starts or stops recording from anywhere.
    pub global_shortcut: Option<String>,
    /// How much the log files say.
    pub log_level: Option<LogLevel>,
    /// Days audio is kept once the server confirmed all of it.
    pub audio_retention_days: Option<u32>,
    /// Days the transcript is kept on this computer after that.
    pub transcript_retention_days: Option<u32>,
    /// Seed profile: seconds of audio sent per second, at most.
    pub seed_pace: Option<Pace>,
    /// Whether the doctor must confirm the patient's consent before each recording.
    pub require_consent: Option<bool>,
}

fn parse_days(value: &str) -> Result<u32, InvalidValue> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|days| *days <= MAX_RETENTION_DAYS)
        .ok_or_else(|| InvalidValue::Days(value.to_owned()))
}

impl Layer {
    /// The keys a person can set in the app.
    pub fn from_user(user: &UserSettings) -> Self {
        Self {
            profile: user.profile,
            language: user.language.clone(),
            global_shortcut: user.global_shortcut.clone(),
            ..Self::default()
        }
    }

    /// The value as text, as it would be written in the file.
    pub fn get(&self, key: Key) -> Option<String> {
        match key {
            Key::Server => self.server.clone(),
            Key::Profile => self.profile.map(|p| p.as_str().to_owned()),
            Key::Language => self.language.clone(),
            Key::GlobalShortcut => self.global_shortcut.clone(),
            Key::LogLevel => self.log_level.map(|l| l.as_str().to_owned()),
            Key::AudioRetentionDays => self.audio_retention_days.map(|d| d.to_string()),
            Key::TranscriptRetentionDays => self.transcript_retention_days.map(|d| d.to_string()),
            Key::SeedPace => self.seed_pace.map(|p| p.to_string()),
            Key::RequireConsent => self.require_consent.map(|b| b.to_string()),
        }
    }

    /// Checks and sets one value; the error says what is wrong with it.
    pub fn set(&mut self, key: Key, value: &str) -> Result<(), InvalidValue> {
        match key {
            Key::Server => {
                let server = value.trim().trim_end_matches('/');
                crate::net::ws_base(server)?;
                self.server = Some(server.to_owned());
            }
            Key::Profile => {
                self.profile = Some(match value {
                    "v1" => Profile::V1,
                    "seed" => Profile::Seed,
                    _ => return Err(InvalidValue::Profile(value.to_owned())),
                });
            }
            Key::Language => {
                check_language(value)?;
                self.language = Some(value.to_owned());
            }
            Key::GlobalShortcut => {
                check_shortcut(value)?;
                self.global_shortcut = Some(value.to_owned());
            }
            Key::LogLevel => {
                self.log_level = Some(
                    LogLevel::parse(value)
                        .ok_or_else(|| InvalidValue::LogLevel(value.to_owned()))?,
                );
            }
            Key::AudioRetentionDays => self.audio_retention_days = Some(parse_days(value)?),
            Key::TranscriptRetentionDays => {
                self.transcript_retention_days = Some(parse_days(value)?)
            }
            Key::SeedPace => self.seed_pace = Some(Pace::parse(value)?),
            Key::RequireConsent => {
                self.require_consent = Some(match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(InvalidValue::Flag(value.to_owned())),
                });
            }
        }
        Ok(())
    }
}
