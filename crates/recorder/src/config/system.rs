//! The administrator's file: `config.toml` in the system's configuration
//! folder, read once at start. Unknown or invalid keys are ignored one by one,
//! each with a problem naming the line; a file that is not TOML at all is
//! ignored whole, with the line of the first error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::server_table;
use super::values::InvalidValue;
use super::{ConfigProblem, Key, Layer};
use crate::server_profile::ServerProfile;

/// Points at another system file (for tests and unusual installs). Locks are
/// an administrator's convenience, not a barrier against the computer's
/// user, who could run any program anyway.
pub const SYSTEM_CONFIG_ENV: &str = "CONSULT_SYSTEM_CONFIG";

/// Where the administrator's file is on this operating system.
pub fn system_config_path() -> PathBuf {
    if let Some(path) = std::env::var_os(SYSTEM_CONFIG_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
        PathBuf::from(base)
            .join("Consult Recorder")
            .join("config.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Consult Recorder/config.toml")
    } else {
        PathBuf::from("/etc/consult-recorder/config.toml")
    }
}

/// What the administrator's file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemFile {
    /// Where the file is (or would be).
    pub path: PathBuf,
    /// The file exists and could be read.
    pub found: bool,
    /// The valid values it sets.
    pub values: Layer,
    /// The keys it locks (only keys it gives a valid value).
    pub locked: BTreeSet<Key>,
    /// The `[server_profile]` table over the seed defaults.
    pub server_profile: ServerProfile,
    /// What in the file was ignored, and why, in the order of the file.
    pub problems: Vec<ConfigProblem>,
}

type Document = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

impl SystemFile {
    /// No file at `path`.
    pub fn absent(path: PathBuf) -> Self {
        Self {
            path,
            found: false,
            values: Layer::default(),
            locked: BTreeSet::new(),
            server_profile: ServerProfile::default(),
            problems: Vec::new(),
        }
    }

    /// Reads `path`; a missing file is not a problem.
    pub fn load(path: &Path) -> Self {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::absent(path.to_owned()),
            Err(e) => {
                let mut file = Self::absent(path.to_owned());
                file.problems.push(file.problem(
                    None,
                    None,
                    format!("cannot be read ({e}); its settings are ignored"),
                ));
                file
            }
        }
    }

    /// Interprets `text` as the content of `path`.
    pub fn parse(path: &Path, text: &str) -> Self {
        let mut file = Self::absent(path.to_owned());
        file.found = true;
        let document: Document = match toml::from_str(text) {
            Ok(document) => document,
            Err(e) => {
                let line = e.span().map(|span| line_of(text, span.start));
                file.problems.push(file.problem(
                    line,
                    None,
                    format!(
                        "is not valid TOML ({}); all its settings are ignored",
                        e.message().trim()
                    ),
                ));
                return file;
            }
        };
        let mut locks = None;
        for (name, value) in &document {
            let line = Some(line_of(text, name.span().start));
            if name.get_ref() == "locked" {
                locks = Some((line, value));
                continue;
            }
            if name.get_ref() == server_table::TABLE {
                file.read_server_profile(text, line);
                continue;
            }
            let Some(key) = Key::from_name(name.get_ref()) else {
                let message = format!(
                    "unknown key; ignored (known keys: {}, locked, [server_profile])",
                    Key::ALL.map(Key::name).join(", ")
                );
                file.problems
                    .push(file.problem(line, Some(name.get_ref()), message));
                continue;
            };
            let result = match value.get_ref() {
                toml::Value::String(text) => file.values.set(key, text),
                // Day counts may be written as plain numbers.
                toml::Value::Integer(number)
                    if matches!(key, Key::AudioRetentionDays | Key::TranscriptRetentionDays) =>
                {
                    file.values.set(key, &number.to_string())
                }
                // The pace may be written as a plain number too.
                toml::Value::Integer(number) if key == Key::SeedPace => {
                    file.values.set(key, &number.to_string())
                }
                toml::Value::Float(number) if key == Key::SeedPace => {
                    file.values.set(key, &number.to_string())
                }
                toml::Value::Boolean(flag) if key == Key::RequireConsent => {
                    file.values.set(key, &flag.to_string())
                }
                other => Err(InvalidValue::NotAString(other.type_str())),
            };
            if let Err(message) = result {
                let line = Some(line_of(text, value.span().start));
                file.problems.push(file.problem(
                    line,
                    Some(key.name()),
                    format!("{message}; ignored"),
                ));
            }
        }
        if let Some((line, value)) = locks {
            file.read_locks(text, line, value);
        }
        // Problems in the order of the file, as an administrator reads it.
        file.problems.sort_by_key(|p| p.line);
        file
    }

    /// Parses the file again for the table alone, so each of its keys keeps
    /// its line.
    fn read_server_profile(&mut self, text: &str, line: Option<u32>) {
        #[derive(serde::Deserialize)]
        struct WithTable {
            server_profile: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
        }
        let Ok(parsed) = toml::from_str::<WithTable>(text) else {
            self.problems.push(self.problem(
                line,
                Some(server_table::TABLE),
                "expected a table ([server_profile] followed by its keys); the seed defaults are used"
                    .into(),
            ));
            return;
        };
        let (profile, problems) = server_table::read(&parsed.server_profile);
        self.server_profile = profile;
        for problem in problems {
            let line = Some(line_of(text, problem.offset));
            self.problems
                .push(self.problem(line, Some(&problem.key), problem.message));
        }
    }

    fn read_locks(&mut self, text: &str, line: Option<u32>, value: &Spanned<toml::Value>) {
        let toml::Value::Array(items) = value.get_ref() else {
            self.problems.push(self.problem(
                line,
                Some("locked"),
                "expected a list of key names, e.g. [\"server\", \"profile\"]; nothing is locked"
                    .into(),
            ));
            return;
        };
        for item in items {
            let line = Some(line_of(text, value.span().start));
            match item.as_str().map(|name| (name, Key::from_name(name))) {
                Some((_, Some(key))) if self.values.get(key).is_some() => {
                    self.locked.insert(key);
                }
                Some((name, Some(_))) => self.problems.push(self.problem(
                    line,
                    Some("locked"),
                    format!("\"{name}\" has no valid value in this file, so it cannot be locked"),
                )),
                Some((name, None)) => self.problems.push(self.problem(
                    line,
                    Some("locked"),
                    format!("\"{name}\" is not a key; ignored"),
                )),
                None => self.problems.push(self.problem(
                    line,
                    Some("locked"),
                    "key names must be strings; ignored".into(),
                )),
            }
        }
    }

    fn problem(&self, line: Option<u32>, key: Option<&str>, message: String) -> ConfigProblem {
        ConfigProblem {
            source: self.path.display().to_string(),
            line,
            key: key.map(str::to_owned),
            message,
        }
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> u32 {
    let end = offset.min(text.len());
    let newlines = text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}
