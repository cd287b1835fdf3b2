//! Where the app keeps its files: the operating system's conventional folders.

use std::path::PathBuf;

/// The app's folders for this user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDirs {
    pub config: PathBuf,
    pub data: PathBuf,
    pub cache: PathBuf,
}

impl AppDirs {
    /// The platform's folders (XDG on Linux, Application Support on macOS,
    /// AppData on Windows). `None` when the system reports no home directory.
    pub fn for_user() -> Option<Self> {
        let dirs =
            directories::ProjectDirs::from("health", "Consult Recorder", "consult-recorder")?;
        Some(Self {
            config: dirs.config_dir().to_owned(),
            data: dirs.data_dir().to_owned(),
            cache: dirs.cache_dir().to_owned(),
        })
    }
}
