//! Configuration in layers: built-in defaults < the system-wide file an
//! administrator writes < the person's own settings < the environment (and
//! command-line flags). Keys the administrator locks keep the system file's
//! value whatever the later layers say; the UI shows them read-only and the
//! CLI refuses to override them.
//!
//! A damaged file never stops the app: each bad key is ignored with a
//! [`ConfigProblem`] that names the file, the line and the key.

mod server_table;
mod system;
mod values;

pub use system::{SystemFile, system_config_path};
pub use values::{
    DEFAULT_AUDIO_RETENTION_DAYS, DEFAULT_TRANSCRIPT_RETENTION_DAYS, InvalidValue, Key, Layer,
    LogLevel, Pace,
};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::server_profile::ServerProfile;
use crate::settings::UserSettings;
use crate::store::Profile;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case", tag = "layer", content = "detail")]
pub enum Origin {
    /// Built into the app.
    Default,
    /// The administrator's file (its path).
    System(String),
    /// The person's own settings.
    User,
    /// An environment variable (its name).
    Environment(String),
    /// A command-line flag (its name).
    CommandLine(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::System(path) => write!(f, "{path}"),
            Origin::User => f.write_str("your settings"),
            Origin::Environment(name) => write!(f, "environment variable {name}"),
            Origin::CommandLine(flag) => write!(f, "command-line flag {flag}"),
        }
    }
}

/// Something in a configuration source that was ignored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ConfigProblem {
    /// The file or environment variable.
    pub source: String,
    /// 1-based line in `source`, when it is a file.
    pub line: Option<u32>,
    /// The key that was ignored, when the problem is about one.
    pub key: Option<String>,
    /// What is wrong, and what was done instead.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key \"{key}\"")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A command-line flag tried to change a locked key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{key} is set to {value:?} by your IT administrator in {file} and cannot be changed \
     ({flag} was given)"
)]
pub struct LockedError {
    /// The locked key.
    pub key: Key,
    /// The value the administrator set.
    pub value: String,
    /// The administrator's file that locks it.
    pub file: String,
    /// The flag that tried to change it.
    pub flag: String,
}

/// Why a command-line flag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagRefused {
    /// The administrator locked the key to another value.
    #[error(transparent)]
    Locked(#[from] LockedError),
    /// The key cannot take the value.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
}

/// Everything but the person's own settings: the system file and the
/// environment. Loaded once at start; combined with the current user settings
/// by [`ConfigSources::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSources {
    /// The administrator's file, as read at start.
    pub system: SystemFile,
    /// Environment variables and command-line flags, with their names.
    pub overrides: Layer,
    override_origins: BTreeMap<Key, Origin>,
    override_problems: Vec<ConfigProblem>,
}

impl ConfigSources {
    /// No system file and no overrides: the built-in defaults and the user's settings.
    pub fn none() -> Self {
        Self {
            system: SystemFile::absent(system_config_path()),
            overrides: Layer::default(),
            override_origins: BTreeMap::new(),
            override_problems: Vec::new(),
        }
    }

    /// Only `system`: no environment (tests, embedders).
    pub fn from_system_file(system: SystemFile) -> Self {
        Self {
            system,
            ..Self::none()
        }
    }

    /// Reads the system file (see [`system_config_path`]) and the environment.
    pub fn load() -> Self {
        let mut sources = Self {
            system: SystemFile::load(&system_config_path()),
            ..Self::none()
        };
        sources.read_environment(|name| std::env::var(name).ok());
        sources
    }

    /// Takes `CONSULT_SERVER`, `CONSULT_PROFILE`, … from `lookup`.
    pub fn read_environment(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        for key in Key::ALL {
            let Some(value) = lookup(key.env_var()).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            let origin = Origin::Environment(key.env_var().to_owned());
            if let Err(message) = self.overrides.set(key, value.trim()) {
                self.override_problems.push(ConfigProblem {
                    source: key.env_var().to_owned(),
                    line: None,
                    key: Some(key.name().to_owned()),
                    message: format!("{message}; ignored"),
                });
                continue;
            }
            self.override_origins.insert(key, origin);
        }
    }

    /// A command-line flag: refused when the key is locked to another value.
    pub fn set_from_flag(&mut self, key: Key, flag: &str, value: &str) -> Result<(), FlagRefused> {
        if let Some(locked) = self.locked_value(key)
            && locked != value.trim().trim_end_matches('/')
        {
            return Err(FlagRefused::Locked(LockedError {
                key,
                value: locked,
                file: self.system.path.display().to_string(),
                flag: flag.to_owned(),
            }));
        }
        self.overrides.set(key, value.trim())?;
        self.override_origins
            .insert(key, Origin::CommandLine(flag.to_owned()));
        Ok(())
    }

    /// A key set directly (by tests and embedders), as if from the command line.
    pub fn with(mut self, key: Key, value: &str) -> Self {
        self.overrides
            .set(key, value)
            .expect("a valid value for the key");
        self.override_origins
            .insert(key, Origin::CommandLine(format!("({})", key.name())));
        self
    }

    /// The keys the administrator locked.
    pub fn locked(&self) -> &BTreeSet<Key> {
        &self.system.locked
    }

    fn locked_value(&self, key: Key) -> Option<String> {
        self.system
            .locked
            .contains(&key)
            .then(|| self.system.values.get(key))
            .flatten()
    }

    /// The values in force with `user`'s settings, and where each came from.
    pub fn resolve(&self, user: &UserSettings) -> Resolved {
        let user_layer = Layer::from_user(user);
        let mut values = Layer::default();
        let mut origins = BTreeMap::new();
        let mut problems = self.system.problems.clone();
        problems.extend(self.override_problems.iter().cloned());
        let system_origin = Origin::System(self.system.path.display().to_string());
        for key in Key::ALL {
            let locked = self.system.locked.contains(&key);
            let layers = [
                (self.system.values.get(key), system_origin.clone()),
                (user_layer.get(key), Origin::User),
                (
                    self.overrides.get(key),
                    self.override_origins
                        .get(&key)
                        .cloned()
                        .unwrap_or(Origin::Default),
                ),
            ];
            for (index, (value, origin)) in layers.into_iter().enumerate() {
                let Some(value) = value else { continue };
                if locked && index > 0 && origins.contains_key(&key) {
                    if values.get(key).as_deref() != Some(value.as_str()) {
                        problems.push(ConfigProblem {
                            source: origin.to_string(),
                            line: None,
                            key: Some(key.name().to_owned()),
                            message: format!(
                                "ignored: the administrator locked this key in {}",
                                self.system.path.display()
                            ),
                        });
                    }
                    continue;
                }
                // The person's settings file may have been edited by hand:
                // a bad value there is reported and ignored, never trusted.
                if let Err(message) = values.set(key, &value) {
                    problems.push(ConfigProblem {
                        source: origin.to_string(),
                        line: None,
                        key: Some(key.name().to_owned()),
                        message: format!("{message}; ignored"),
                    });
                    continue;
                }
                origins.insert(key, origin);
            }
            origins.entry(key).or_insert(Origin::Default);
        }
        Resolved {
            server: values.server.clone(),
            profile: values.profile.unwrap_or(Profile::V1),
            language: values.language.clone(),
            global_shortcut: values.global_shortcut.clone(),
            log_level: values.log_level.unwrap_or_default(),
            audio_retention_days: values
                .audio_retention_days
                .unwrap_or(DEFAULT_AUDIO_RETENTION_DAYS),
            transcript_retention_days: values
                .transcript_retention_days
                .unwrap_or(DEFAULT_TRANSCRIPT_RETENTION_DAYS),
            seed_pace: values.seed_pace.unwrap_or(Pace::REAL_TIME),
            require_consent: values.require_consent.unwrap_or(false),
            server_profile: self.system.server_profile.clone(),
            origins,
            locked: self.system.locked.clone(),
            system_file: self.system.path.display().to_string(),
            system_file_found: self.system.found,
            problems,
        }
    }
}

/// The configuration in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Resolved {
    /// The transcription server's address, if any source gives one.
    pub server: Option<String>,
    /// The protocol the server speaks (`v1` unless set).
    pub profile: Profile,
    /// The recognition language; the server's default if `None`.
    pub language: Option<String>,
    /// The recording shortcut; the app's default if `None`.
    pub global_shortcut: Option<String>,
    /// How much the log files say.
    pub log_level: LogLevel,
    /// Days audio is kept once the server confirmed all of it.
    pub audio_retention_days: u32,
    /// Days the transcript is kept on this computer after that.
    pub transcript_retention_days: u32,
    /// Seed profile: seconds of audio sent per second, at most (1 = real time).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seed_pace: Pace,
    /// The doctor must confirm the patient's consent before each recording.
    pub require_consent: bool,
    /// How the server names its paths and fields (the administrator's file only).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub server_profile: ServerProfile,
    /// Where each key's value came from.
    pub origins: BTreeMap<Key, Origin>,
    /// The keys the administrator locked.
    pub locked: BTreeSet<Key>,
    /// Where the administrator's file is (or would be).
    pub system_file: String,
    /// Whether that file exists and could be read.
    pub system_file_found: bool,
    /// What was ignored, and why.
    pub problems: Vec<ConfigProblem>,
}

impl Resolved {
    /// Whether the administrator locked `key`.
    pub fn is_locked(&self, key: Key) -> bool {
        self.locked.contains(&key)
    }

    /// The values in force as one layer.
    fn as_layer(&self) -> Layer {
        Layer {
            server: self.server.clone(),
            profile: Some(self.profile),
            language: self.language.clone(),
            global_shortcut: self.global_shortcut.clone(),
            log_level: Some(self.log_level),
            audio_retention_days: Some(self.audio_retention_days),
            transcript_retention_days: Some(self.transcript_retention_days),
            seed_pace: Some(self.seed_pace),
            require_consent: Some(self.require_consent),
        }
    }

    /// The value in force, as it would be written in the file.
    pub fn value(&self, key: Key) -> Option<String> {
        self.as_layer().get(key)
    }
}

/// A change the person asked for to a key the administrator locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The {} is set by your IT department and cannot be changed here.", .0.label())]
pub struct LockedByIt(pub Key);

/// Keeps the person's settings away from locked keys: a change to a locked
/// key is refused with the sentence to show; unchanged locked values pass.
pub fn check_user_change(resolved: &Resolved, wanted: &UserSettings) -> Result<(), LockedByIt> {
    let wanted = Layer::from_user(wanted);
    let current = resolved.as_layer();
    for key in &resolved.locked {
        if let Some(value) = wanted.get(*key)
            && current.get(*key).as_deref() != Some(value.as_str())
        {
            return Err(LockedByIt(*key));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
