//! What a transcription server stored for a session, read back from its
//! session folder, so every suite checks delivery the same way.

use std::path::{Path, PathBuf};

/// The seed profile's stored connections in `session_dir`, in connection
/// order (none when the folder is missing): each `seed-*` file is one.
pub fn seed_files(session_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(session_dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|path| {
        path.file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("seed-"))
    });
    files.sort();
    files
}

/// The audio of each of the seed profile's stored connections, in order.
pub fn seed_pieces(session_dir: &Path) -> Vec<Vec<u8>> {
    seed_files(session_dir)
        .iter()
        .map(|file| std::fs::read(file).expect("a stored connection reads back"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_pieces_come_in_connection_order_and_other_files_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("seed-0002.pcm"), b"second").unwrap();
        std::fs::write(dir.path().join("seed-0001.pcm"), b"first").unwrap();
        std::fs::write(dir.path().join("audio.pcm"), b"v1").unwrap();
        assert_eq!(
            seed_pieces(dir.path()),
            vec![b"first".to_vec(), b"second".to_vec()]
        );
        assert!(seed_files(&dir.path().join("missing")).is_empty());
    }
}
