//! The person's own choices (the microphone, …), kept in the config folder so
//! the next recording starts with them. No secrets and no patient data here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::Profile;

/// What the person chose; absent fields mean "the default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(default)]
pub struct UserSettings {
    /// The id of the chosen microphone (see `audio::input_devices`).
    pub microphone: Option<String>,
    /// Recognition language (BCP 47, e.g. `en-GB`); the server's default if absent.
    pub language: Option<String>,
    /// The server's protocol; the app's configured one if absent.
    pub profile: Option<Profile>,
    /// Starts or stops recording from anywhere, e.g. `CommandOrControl+Shift+R`.
    pub global_shortcut: Option<String>,
}

/// The global shortcut when none is chosen.
pub const DEFAULT_GLOBAL_SHORTCUT: &str = "CommandOrControl+Shift+R";

impl UserSettings {
    /// Refuses values that cannot be right, with a sentence saying why.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(id) = &self.microphone
            && (id.is_empty() || id.len() > 512 || id.chars().any(char::is_control))
        {
            return Err("That microphone id is not valid.".into());
        }
        if let Some(language) = &self.language {
            check_language(language)?;
        }
        if let Some(shortcut) = &self.global_shortcut {
            check_shortcut(shortcut)?;
        }
        Ok(())
    }
}

/// A BCP 47-shaped language tag such as `en-GB`.
pub fn check_language(language: &str) -> Result<(), String> {
    let well_formed = (2..=35).contains(&language.len())
        && language.split('-').all(|part| {
            (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "\"{language}\" is not a language tag (for example en-GB)."
        ))
    }
}

/// A shortcut the global-shortcut plugin can parse is short plain ASCII.
pub fn check_shortcut(shortcut: &str) -> Result<(), String> {
    if shortcut.is_empty() || shortcut.len() > 64 || !shortcut.is_ascii() {
        Err("That shortcut is not valid (for example CommandOrControl+Shift+R).".into())
    } else {
        Ok(())
    }
}

/// Why the settings could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {reason}")]
pub struct SettingsError {
    action: &'static str,
    path: PathBuf,
    reason: String,
}

const FILE_NAME: &str = "settings.json";

/// The settings file of `config_dir`.
pub fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

/// Reads the settings; a missing file is the defaults.
pub fn load(config_dir: &Path) -> Result<UserSettings, SettingsError> {
    let path = path(config_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| SettingsError {
            action: "reading",
            path,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UserSettings::default()),
        Err(e) => Err(SettingsError {
            action: "reading",
            path,
            reason: e.to_string(),
        }),
    }
}

/// Writes the settings whole (a temporary file renamed over the old one, so
/// a crash leaves either the old or the new settings, never half of them).
pub fn save(config_dir: &Path, settings: &UserSettings) -> Result<(), SettingsError> {
    let path = path(config_dir);
    let fail = |action, e: std::io::Error| SettingsError {
        action,
        path: path.clone(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(config_dir).map_err(|e| fail("creating the folder of", e))?;
    let json = serde_json::to_vec_pretty(settings).expect("plain struct serialises");
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, json).map_err(|e| fail("writing", e))?;
    std::fs::rename(&temporary, &path).map_err(|e| fail("replacing", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_choice_is_loaded_back_and_a_missing_file_is_the_default() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), UserSettings::default());
        let chosen = UserSettings {
            microphone: Some("alsa:hw:1,0".into()),
            language: Some("en-GB".into()),
            ..UserSettings::default()
        };
        assert_eq!(chosen.validate(), Ok(()));
        save(&dir.path().join("nested"), &chosen).unwrap();
        assert_eq!(load(&dir.path().join("nested")).unwrap(), chosen);
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path()), "{ not json").unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("settings.json"), "{err}");
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        for bad in [
            UserSettings {
                language: Some("en_GB; rm".into()),
                ..UserSettings::default()
            },
            UserSettings {
                microphone: Some(String::new()),
                ..UserSettings::default()
            },
            UserSettings {
                global_shortcut: Some("Ctrl+ü".into()),
                ..UserSettings::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
