//! Where the app keeps its files: the operating system's conventional folders.

use std::path::PathBuf;

/// The app's folders for this user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDirs {
    /// Settings and the remembered account.
    pub config: PathBuf,
    /// The history database, the spool and exports.
    pub data: PathBuf,
    /// The cache folder. Nothing is written there (a CLI test checks).
    pub cache: PathBuf,
    /// Log files (rotated, size-capped; no patient data or secrets).
    pub logs: PathBuf,
}

impl AppDirs {
    /// The platform's folders (XDG on Linux, Application Support on macOS,
    /// AppData on Windows). `None` when the system reports no home directory.
    pub fn for_user() -> Option<Self> {
        let dirs =
            directories::ProjectDirs::from("health", "Consult Recorder", "consult-recorder")?;
        let logs = if cfg!(target_os = "macos") {
            directories::BaseDirs::new()?
                .home_dir()
                .join("Library/Logs/Consult Recorder")
        } else {
            // XDG's state folder (~/.local/state) is meant for logs; Windows
            // has none, so the local (not roaming) data folder.
            dirs.state_dir()
                .unwrap_or_else(|| dirs.data_local_dir())
                .join("logs")
        };
        Some(Self {
            config: dirs.config_dir().to_owned(),
            data: dirs.data_dir().to_owned(),
            cache: dirs.cache_dir().to_owned(),
            logs,
        })
    }

    /// All folders under one root (tests, portable setups).
    pub fn under(root: &std::path::Path) -> Self {
        Self {
            config: root.join("config"),
            data: root.join("data"),
            cache: root.join("cache"),
            logs: root.join("logs"),
        }
    }

    /// The history database (sessions, sealed transcripts).
    pub fn store_file(&self) -> PathBuf {
        self.data.join("sessions.sqlite3")
    }

    /// The folder of the recordings' spool files.
    pub fn spool(&self) -> PathBuf {
        self.data.join("spool")
    }
}
