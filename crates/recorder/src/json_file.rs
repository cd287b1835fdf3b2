//! The small JSON files in the config folder (the remembered account, the
//! person's settings): read whole, written whole, errors that name the file.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a JSON file could not be read, written or removed.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {reason}")]
pub struct JsonFileError {
    action: &'static str,
    path: PathBuf,
    reason: String,
}

impl JsonFileError {
    fn new(action: &'static str, path: &Path, reason: impl ToString) -> Self {
        Self {
            action,
            path: path.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// The file's value, or `None` when there is no file.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, JsonFileError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| JsonFileError::new("reading", path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(JsonFileError::new("reading", path, e)),
    }
}

/// Writes the value whole: a temporary file renamed over the old one, so a
/// crash leaves either the old or the new file, never half of one.
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), JsonFileError> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .map_err(|e| JsonFileError::new("creating the folder of", path, e))?;
    }
    let json =
        serde_json::to_vec_pretty(value).map_err(|e| JsonFileError::new("writing", path, e))?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, json).map_err(|e| JsonFileError::new("writing", path, e))?;
    std::fs::rename(&temporary, path).map_err(|e| JsonFileError::new("replacing", path, e))
}

/// Removes the file; one already gone is not an error.
pub fn remove(path: &Path) -> Result<(), JsonFileError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(JsonFileError::new("removing", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_reads_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("folder/value.json");
        assert_eq!(read::<Vec<u32>>(&path).unwrap(), None);
        write(&path, &vec![1u32, 2]).unwrap();
        assert_eq!(read::<Vec<u32>>(&path).unwrap(), Some(vec![1, 2]));
        assert!(
            !path.with_extension("json.tmp").exists(),
            "no temporary left"
        );
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert_eq!(read::<Vec<u32>>(&path).unwrap(), None);
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("value.json");
        std::fs::write(&path, b"{not json").unwrap();
        let err = read::<Vec<u32>>(&path).unwrap_err().to_string();
        assert!(
            err.starts_with("reading ") && err.contains("value.json"),
            "{err}"
        );
    }
}
