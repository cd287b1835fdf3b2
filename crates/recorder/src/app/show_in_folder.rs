//! "Show in folder" for an exported transcript: the desktop's own file
//! manager opens where the file is, so a doctor finds it without knowing the
//! path. Only files this app exported can be shown: the window cannot make
//! the desktop open anything else.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::AppError;

/// Why an export cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// Not a file in the export folder named as exports are.
    #[error("{0} is not a transcript this app exported")]
    NotAnExport(String),
    /// No file manager could be started.
    #[error("the file manager could not be started ({program}): {source}")]
    NoFileManager {
        program: String,
        source: std::io::Error,
    },
}

impl From<ShowError> for AppError {
    fn from(err: ShowError) -> Self {
        match err {
            ShowError::NotAnExport(_) => {
                AppError::invalid("That file is not a transcript exported by this app.")
            }
            ShowError::NoFileManager { .. } => AppError::new(
                super::ErrorKind::Other,
                "This computer has no program to show folders. The path above is where the file is.",
            ),
        }
    }
}

/// `file`, once it is known to be an export in `export_folder`.
pub fn checked_export(export_folder: &Path, file: &Path) -> Result<PathBuf, ShowError> {
    let not_export = || ShowError::NotAnExport(file.display().to_string());
    let file = file.canonicalize().map_err(|_| not_export())?;
    let folder = export_folder.canonicalize().map_err(|_| not_export())?;
    let named_as_export = file
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("consultation-"));
    if file.parent() == Some(folder.as_path()) && named_as_export && file.is_file() {
        Ok(file)
    } else {
        Err(not_export())
    }
}

/// The command that shows `file` in this platform's file manager: selected
/// where the file manager can be asked to (Windows, macOS), else its folder
/// opened (Linux's `xdg-open` opens folders, it cannot select a file).
pub fn command(file: &Path) -> Command {
    if cfg!(target_os = "windows") {
        let mut command = Command::new("explorer.exe");
        // Explorer wants "/select," and the path as one argument.
        let mut select = std::ffi::OsString::from("/select,");
        select.push(file);
        command.arg(select);
        command
    } else if cfg!(target_os = "macos") {
        let mut command = Command::new("open");
        command.arg("-R").arg(file);
        command
    } else {
        let mut command = Command::new("xdg-open");
        command.arg(file.parent().unwrap_or(file));
        command
    }
}

/// Starts the file manager on `file` and returns at once; the child is
/// waited for on a thread of its own so it leaves no zombie behind.
pub fn show(file: &Path) -> Result<(), ShowError> {
    let mut command = command(file);
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|source| ShowError::NoFileManager {
            program: program.clone(),
            source,
        })?;
    std::thread::spawn(move || {
        if let Ok(status) = child.wait()
            && !status.success()
        {
            tracing::warn!(%status, %program, "the file manager reported a failure");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_exported_into_the_export_folder_are_shown() {
        let dir = tempfile::tempdir().unwrap();
        let exports = dir.path().join("Downloads");
        std::fs::create_dir(&exports).unwrap();
        let export = exports.join("consultation-2026-12-03-2136-Room-4.txt");
        std::fs::write(&export, "text\n").unwrap();
        let other = exports.join("notes.txt");
        std::fs::write(&other, "private\n").unwrap();
        let outside = dir.path().join("consultation-elsewhere.txt");
        std::fs::write(&outside, "text\n").unwrap();

        assert_eq!(
            checked_export(&exports, &export).unwrap(),
            export.canonicalize().unwrap()
        );
        for refused in [
            other,
            outside,
            exports.join("consultation-missing.txt"),
            exports.join("../consultation-elsewhere.txt"),
            exports.clone(),
        ] {
            assert!(
                matches!(
                    checked_export(&exports, &refused),
                    Err(ShowError::NotAnExport(_))
                ),
                "{} was accepted",
                refused.display()
            );
        }
    }

    #[test]
    fn each_platform_opens_its_own_file_manager() {
        let file = Path::new("/home/dr/Downloads/consultation-x.txt");
        let command = command(file);
        let args: Vec<_> = command.get_args().collect();
        if cfg!(target_os = "windows") {
            assert_eq!(command.get_program(), "explorer.exe");
            assert_eq!(args.len(), 1);
        } else if cfg!(target_os = "macos") {
            assert_eq!(command.get_program(), "open");
            assert_eq!(args, ["-R", "/home/dr/Downloads/consultation-x.txt"]);
        } else {
            assert_eq!(command.get_program(), "xdg-open");
            assert_eq!(args, ["/home/dr/Downloads"]);
        }
    }
}
