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

/// The global shortcut that pauses or resumes a recording (not a setting yet).
pub const PAUSE_SHORTCUT: &str = "CommandOrControl+Shift+P";

/// A setting's value that cannot be right; the message is a sentence the
/// person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSetting {
    /// The microphone id is empty, longer than 512 bytes, or holds a control character.
    #[error("That microphone id is not valid.")]
    Microphone,
    /// The language is not shaped like a BCP 47 tag; holds what was given.
    #[error("\"{0}\" is not a language tag (for example en-GB).")]
    Language(String),
    /// The global shortcut is not modifiers plus one key; holds what was given.
    #[error(
        "\"{0}\" is not a shortcut: use modifiers and one key, for example CommandOrControl+Shift+R."
    )]
    Shortcut(String),
}

impl InvalidSetting {
    /// The field's name as in the settings file (and the settings form).
    pub fn field(&self) -> &'static str {
        match self {
            InvalidSetting::Microphone => "microphone",
            InvalidSetting::Language(_) => "language",
            InvalidSetting::Shortcut(_) => "global_shortcut",
        }
    }
}

impl UserSettings {
    /// Refuses the first value that cannot be right, saying which and why.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if let Some(id) = &self.microphone
            && (id.is_empty() || id.len() > 512 || id.chars().any(char::is_control))
        {
            return Err(InvalidSetting::Microphone);
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
pub fn check_language(language: &str) -> Result<(), InvalidSetting> {
    let well_formed = (2..=35).contains(&language.len())
        && language.split('-').all(|part| {
            (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
    if well_formed {
        Ok(())
    } else {
        Err(InvalidSetting::Language(language.to_owned()))
    }
}

/// Modifier names the global-shortcut plugin accepts.
const MODIFIERS: [&str; 11] = [
    "commandorcontrol",
    "cmdorctrl",
    "command",
    "cmd",
    "control",
    "ctrl",
    "alt",
    "option",
    "shift",
    "super",
    "meta",
];

/// Named keys it accepts besides letters, digits and F1–F24.
const NAMED_KEYS: [&str; 18] = [
    "space",
    "enter",
    "tab",
    "escape",
    "backspace",
    "delete",
    "insert",
    "home",
    "end",
    "pageup",
    "pagedown",
    "up",
    "down",
    "left",
    "right",
    "arrowup",
    "arrowdown",
    "minus",
];

/// A shortcut of one or more modifiers and one key (`CommandOrControl+Shift+R`):
/// a key alone would fire while the doctor types.
pub fn check_shortcut(shortcut: &str) -> Result<(), InvalidSetting> {
    let invalid = || Err(InvalidSetting::Shortcut(shortcut.to_owned()));
    let parts: Vec<String> = shortcut
        .split('+')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    let Some((key, modifiers)) = parts.split_last() else {
        return invalid();
    };
    let key_ok = (key.len() == 1 && key.chars().all(|c| c.is_ascii_alphanumeric()))
        || NAMED_KEYS.contains(&key.as_str())
        || key
            .strip_prefix('f')
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (1..=24).contains(&n));
    if shortcut.len() > 64 || modifiers.is_empty() || !key_ok {
        return invalid();
    }
    if modifiers.iter().any(|m| !MODIFIERS.contains(&m.as_str())) {
        return invalid();
    }
    Ok(())
}

/// Why the settings could not be read or written.
pub type SettingsError = crate::json_file::JsonFileError;

const FILE_NAME: &str = "settings.json";

/// The settings file of `config_dir`.
pub fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

/// Reads the settings; a missing file is the defaults.
pub fn load(config_dir: &Path) -> Result<UserSettings, SettingsError> {
    Ok(crate::json_file::read(&path(config_dir))?.unwrap_or_default())
}

/// Writes the settings whole (a crash leaves either the old or the new
/// settings, never half of them).
pub fn save(config_dir: &Path, settings: &UserSettings) -> Result<(), SettingsError> {
    crate::json_file::write(&path(config_dir), settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_need_modifiers_and_one_known_key() {
        for good in [
            "CommandOrControl+Shift+R",
            "Ctrl+Alt+F9",
            "Super+Space",
            "alt+1",
        ] {
            assert_eq!(check_shortcut(good), Ok(()), "{good}");
        }
        for bad in [
            "R",
            "Ctrl+Banana",
            "Ctrl+",
            "Hyper+R",
            "Ctrl+Shift",
            "",
            "Ctrl+R+T",
        ] {
            assert!(check_shortcut(bad).is_err(), "{bad} was accepted");
        }
        let settings = UserSettings {
            global_shortcut: Some("Ctrl+Banana".into()),
            ..UserSettings::default()
        };
        assert_eq!(
            settings.validate().map_err(|e| e.field()),
            Err("global_shortcut")
        );
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "\"Ctrl+Banana\" is not a shortcut: use modifiers and one key, for example \
             CommandOrControl+Shift+R."
        );
    }

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
